/*
 * Unit tests for the metrics plugin's replies (plugins/metrics.c), called
 * through the real host services table on the counters of core/metrics:
 * 02..09 wrap at 2^32, 0F carries every counter as u64 in one reply.
 */
#include <check.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "core/log.h"
#include "core/metrics.h"
#include "mass/host.h"
#include "mass/mass_proto.h"
#include "mass/plugin.h"
#include "socks/context.h"

static struct metrics counters;  /* the loop's counters, as the host reads them */
static struct socks_ctx ctx;
static void *handle;
static const struct mass_plugin *plugin;
static struct mass_ctx mctx;   /* the plugin is ABI 1.2 and keeps no state */

static void setup(void)
{
	log_threshold = LOG_ERROR;
	metrics_reset(&counters);
	ctx.metrics = &counters;
	host_set_context(&ctx);
	handle = dlopen(PLUGIN_BUILD_DIR "/metrics.so", RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(handle != NULL, "%s", dlerror());
	plugin = dlsym(handle, MASS_PLUGIN_SYMBOL);
	ck_assert_ptr_nonnull(plugin);
	mctx.size = sizeof(mctx);
	mctx.host = host_services();
}

static void teardown(void)
{
	dlclose(handle);
	host_set_context(NULL);
}

/* Serves index with no parameters; returns the octets sent (status first). */
static size_t serve(uint8_t index, uint8_t *out, size_t cap)
{
	struct mass_request req = { .index = index };
	struct mass_reply r;

	for (size_t i = 0; i < plugin->nindexes; i++) {
		if (plugin->indexes[i].index != index)
			continue;
		ck_assert_str_eq(plugin->indexes[i].signature, "");
		mass_reply_init(&r, out, cap);
		return mass_reply_finish(&r, plugin->indexes[i].serve(&mctx, &req, &r));
	}
	ck_abort_msg("index %02X not served", index);
	return 0;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void seed_near_2_32(void)
{
	counters.historic_connections = (1ull << 32) - 1;
	counters.concurrent_connections = 3;
	counters.max_concurrent_connections = (1ull << 32) + 5;
	counters.read_bytes = (1ull << 32) + 1000;  /* bytes_transferred past 4 GiB */
	counters.read_calls = 2;
	counters.auth_attempts = 0x0102030405060708ull;
	counters.connection_attempts = 1ull << 40;
	counters.write_bytes = 10;
	counters.write_calls = 4;
}

START_TEST(test_all_u64)
{
	static const uint64_t want[8] = {
		(1ull << 32) - 1, 3, (1ull << 32) + 5, (1ull << 32) + 1000,
		0x0102030405060708ull, 1ull << 40, ((1ull << 32) + 1000) / 2, 2
	};
	uint8_t out[256];
	size_t len;

	seed_near_2_32();
	len = serve(0x0F, out, sizeof(out));
	ck_assert_uint_eq(len, 2 + 8 * 8);
	ck_assert_uint_eq(out[0], MASS_STATUS_OK);
	ck_assert_uint_eq(out[1], 8);
	for (int i = 0; i < 8; i++)
		ck_assert_msg(be64(out + 2 + 8 * i) == want[i], "counter %02X: %llu", 2 + i,
			      (unsigned long long)be64(out + 2 + 8 * i));
	/* the exact octets of one value: network byte order */
	ck_assert(memcmp(out + 2 + 8 * 4, "\x01\x02\x03\x04\x05\x06\x07\x08", 8) == 0);
}
END_TEST

/* The same counters through 02..09: the low 32 bits. */
START_TEST(test_u32_wraps)
{
	uint8_t out[16];

	seed_near_2_32();
	ck_assert_uint_eq(serve(0x02, out, sizeof(out)), 5);
	ck_assert(memcmp(out, "\x00\xFF\xFF\xFF\xFF", 5) == 0);
	ck_assert_uint_eq(serve(0x05, out, sizeof(out)), 5);
	ck_assert(memcmp(out, "\x00\x00\x00\x03\xE8", 5) == 0);
	ck_assert_uint_eq(serve(0x07, out, sizeof(out)), 5);
	ck_assert(memcmp(out, "\x00\x00\x00\x00\x00", 5) == 0);
}
END_TEST

START_TEST(test_all_zero)
{
	uint8_t out[256];

	ck_assert_uint_eq(serve(0x0F, out, sizeof(out)), 66);
	ck_assert_uint_eq(out[1], 8);
	for (int i = 2; i < 66; i++)
		ck_assert_uint_eq(out[i], 0);
}
END_TEST

/* A reply buffer too small for 0F fails as a whole (status 01 alone). */
START_TEST(test_all_overflow)
{
	uint8_t out[20];

	ck_assert_uint_eq(serve(0x0F, out, sizeof(out)), 1);
	ck_assert_uint_eq(out[0], MASS_STATUS_ERROR);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_all_u64);
	tcase_add_test(tc, test_u32_wraps);
	tcase_add_test(tc, test_all_zero);
	tcase_add_test(tc, test_all_overflow);
	suite_add_tcase(s, tc);
	return check_main_run(s);
}
