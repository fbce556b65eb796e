/* Unit tests for pgsql_quota: the pgsql plugin's share of the fleet's quotas
 * (entries, the additive statement's arrays, commit, failure, pruning). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "../../plugins/pgsql_quota.h"

/* Drained bytes wait in pending until a statement carrying them commits. */
START_TEST(test_drained_bytes_kept_until_written)
{
	struct pg_quotas q = { 0 };
	struct pg_quota *e;
	char *n, *s, *b, *w;

	ck_assert_int_eq(pg_quota_want(&q, "bob", 3, 86400, 86400, 700), 0);
	ck_assert_int_eq(pg_quota_add(&q, "bob", 3, 86400, 100), 0);
	e = pg_quota_find(&q, "bob", 3, 86400);
	ck_assert_ptr_nonnull(e);
	/* no total read yet: the host keeps what it counted itself */
	ck_assert_uint_eq(pg_quota_base(e), 700);
	ck_assert_int_eq(pg_quota_arrays(&q, &n, &s, &b, &w), 1);
	ck_assert_str_eq(n, "{\"bob\"}");
	ck_assert_str_eq(s, "{86400}");
	ck_assert_str_eq(b, "{100}");
	free(n), free(s), free(b), free(w);
	/* more drained while the statement is out; then it fails */
	ck_assert_int_eq(pg_quota_add(&q, "bob", 3, 86400, 50), 0);
	pg_quota_result(&q, "bob", 3, 86400, true, 1000);
	pg_quota_abort(&q);
	e = pg_quota_find(&q, "bob", 3, 86400);
	ck_assert_uint_eq(e->pending, 150);
	ck_assert(!e->known);
	/* the next statement carries both; it commits: the fleet's total counts */
	ck_assert_int_eq(pg_quota_arrays(&q, &n, &s, &b, &w), 1);
	ck_assert_str_eq(b, "{150}");
	free(n), free(s), free(b), free(w);
	ck_assert_int_eq(pg_quota_add(&q, "bob", 3, 86400, 7), 0);
	pg_quota_result(&q, "bob", 3, 86400, true, 5000);
	pg_quota_done(&q);
	e = pg_quota_find(&q, "bob", 3, 86400);
	ck_assert_uint_eq(e->pending, 7);
	ck_assert_uint_eq(e->fleet, 5000);
	ck_assert_uint_eq(pg_quota_base(e), 5007);
	pg_quota_free(&q);
}
END_TEST

/* Names are quoted for a text[] literal; entries sort by name then period. */
START_TEST(test_arrays_quote_and_sort)
{
	struct pg_quotas q = { 0 };
	char *n, *s, *b, *w;

	ck_assert_int_eq(pg_quota_add(&q, "z\"q", 3, 5, 1), 0);
	ck_assert_int_eq(pg_quota_add(&q, "a\\b", 3, 9, 2), 0);
	ck_assert_int_eq(pg_quota_add(&q, "a\\b", 3, 7, 3), 0);
	ck_assert_int_eq(pg_quota_add(&q, "a b,{}", 6, 7, 4), 0);
	ck_assert_int_eq(pg_quota_arrays(&q, &n, &s, &b, &w), 4);
	ck_assert_str_eq(n, "{\"a b,{}\",\"a\\\\b\",\"a\\\\b\",\"z\\\"q\"}");
	ck_assert_str_eq(s, "{7,7,9,5}");
	ck_assert_str_eq(b, "{4,3,2,1}");
	free(n), free(s), free(b), free(w);
	pg_quota_free(&q);
	ck_assert_int_eq(pg_quota_arrays(&q, &n, &s, &b, &w), 0);
	ck_assert_ptr_null(n);
}
END_TEST

/* A rolling period: keyed by its current day, read back from its first. */
START_TEST(test_rolling_reads_from_the_period_start)
{
	struct pg_quotas q = { 0 };
	char *n, *s, *b, *w;

	ck_assert_int_eq(pg_quota_want(&q, "r", 1, 3 * 86400, 86400, 10), 0);
	ck_assert_int_eq(pg_quota_add(&q, "r", 1, 3 * 86400, 5), 0);
	ck_assert_int_eq(pg_quota_add(&q, "r", 1, 2 * 86400, 6), 0);   /* before the roll */
	ck_assert_int_eq(pg_quota_arrays(&q, &n, &s, &b, &w), 2);
	ck_assert_str_eq(s, "{172800,259200}");
	ck_assert_str_eq(b, "{6,5}");
	ck_assert_str_eq(w, "{172800,86400}");
	free(n), free(s), free(b), free(w);
	ck_assert_int_eq(pg_quota_find(&q, "r", 1, 3 * 86400)->tell_start, 86400);
	pg_quota_free(&q);
}
END_TEST

/* A reset here: the host counts less than it was told in the same period. */
START_TEST(test_reset_seen_and_held_until_deleted)
{
	struct pg_quotas q = { 0 };
	struct pg_quota *e;
	char *n, *s, *b, *w;

	ck_assert_int_eq(pg_quota_want(&q, "u", 1, 100, 100, 0), 0);
	ck_assert_int_eq(pg_quota_add(&q, "u", 1, 100, 40), 0);
	ck_assert_int_eq(pg_quota_arrays(&q, &n, &s, &b, &w), 1);
	free(n), free(s), free(b), free(w);
	pg_quota_result(&q, "u", 1, 100, true, 900);
	pg_quota_done(&q);
	e = pg_quota_find(&q, "u", 1, 100);
	pg_quota_told(e, pg_quota_base(e));
	ck_assert_uint_eq(e->told, 900);
	/* more counted: no reset */
	ck_assert_int_eq(pg_quota_want(&q, "u", 1, 100, 100, 950), 0);
	ck_assert_int_eq(pg_quota_add(&q, "u", 1, 100, 50), 0);
	ck_assert_int_eq(pg_quota_arrays(&q, &n, &s, &b, &w), 1);   /* 50 out */
	free(n), free(s), free(b), free(w);
	/* reset while that statement is out: the host counts 3 */
	ck_assert_int_eq(pg_quota_want(&q, "u", 1, 100, 100, 3), 1);
	e = pg_quota_find(&q, "u", 1, 100);
	ck_assert(e->reset_due);
	ck_assert_uint_eq(pg_quota_base(e), 0);
	pg_quota_result(&q, "u", 1, 100, true, 950);   /* from before the DELETE: ignored */
	pg_quota_done(&q);
	ck_assert_uint_eq(e->pending, 0);
	ck_assert_uint_eq(e->fleet, 0);
	pg_quota_unwant(&q);
	pg_quota_prune(&q);                      /* kept until the DELETE is done */
	ck_assert_ptr_nonnull(pg_quota_find(&q, "u", 1, 100));
	e = pg_quota_find(&q, "u", 1, 100);
	pg_quota_reset_done(e);
	ck_assert(!e->reset_due);
	/* the rows gone: a known entry reads 0; one never read learns nothing */
	ck_assert_int_eq(pg_quota_add(&q, "v", 1, 100, 1), 0);
	ck_assert_int_eq(pg_quota_arrays(&q, &n, &s, &b, &w), 2);
	free(n), free(s), free(b), free(w);
	pg_quota_result(&q, "u", 1, 100, false, 0);
	pg_quota_result(&q, "v", 1, 100, false, 0);
	pg_quota_done(&q);
	ck_assert(pg_quota_find(&q, "u", 1, 100)->known);
	ck_assert(!pg_quota_find(&q, "v", 1, 100)->known);
	pg_quota_free(&q);
}
END_TEST

/* An entry goes once nobody wants it and it holds nothing to write. */
START_TEST(test_prune)
{
	struct pg_quotas q = { 0 };
	char *n, *s, *b, *w;

	ck_assert_int_eq(pg_quota_want(&q, "kept", 4, 1, 1, 0), 0);
	ck_assert_int_eq(pg_quota_want(&q, "idle", 4, 1, 1, 0), 0);
	ck_assert_int_eq(pg_quota_add(&q, "old", 3, 0, 9), 0);
	ck_assert_int_eq(pg_quota_add(&q, "sent", 4, 0, 9), 0);
	ck_assert_int_eq(pg_quota_arrays(&q, &n, &s, &b, &w), 4);
	free(n), free(s), free(b), free(w);
	pg_quota_unwant(&q);
	ck_assert_int_eq(pg_quota_want(&q, "kept", 4, 1, 1, 0), 0);
	pg_quota_prune(&q);
	/* "old" and "sent" still hold bytes in flight */
	ck_assert_uint_eq(q.len, 3);
	ck_assert_ptr_null(pg_quota_find(&q, "idle", 4, 1));
	pg_quota_done(&q);
	pg_quota_prune(&q);
	ck_assert_uint_eq(q.len, 1);
	ck_assert_ptr_nonnull(pg_quota_find(&q, "kept", 4, 1));
	pg_quota_free(&q);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pgsql_quota");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_drained_bytes_kept_until_written);
	tcase_add_test(tc, test_arrays_quote_and_sort);
	tcase_add_test(tc, test_prune);
	tcase_add_test(tc, test_reset_seen_and_held_until_deleted);
	tcase_add_test(tc, test_rolling_reads_from_the_period_start);
	suite_add_tcase(s, tc);
	return check_main_run(s);
}
