/*
 * Fuzz target: the users file parser (users_parse). Whatever it accepts
 * must hold only names and passwords the protocol allows, no name twice,
 * at most max users, entries flagged hashed exactly when cred_is_hash()
 * says so, and must parse again identically from the file image
 * users_save() would write (one "name:password" line per user). Passwords
 * are compared as stored strings, not with users_check(): crypt(3) is slow
 * on purpose, and a stored hash is not its own password.
 */
#include <string.h>

#include "fuzz.h"
#include "auth/users.h"
#include "auth/cred.h"

static void fuzz_users_reparse(const struct users *u)
{
	struct users again;
	char err[256];
	char *img = malloc(u->len * (2 * USERS_FIELD_MAX + 2) + 1);
	size_t off = 0;

	FUZZ_CHECK(img != NULL);
	for (size_t i = 0; i < u->len; i++)
		off += (size_t)sprintf(img + off, "%s:%s\n", u->list[i].name, u->list[i].pass);
	FUZZ_CHECK(users_init(&again, u->max, NULL) == 0);
	FUZZ_CHECK(users_parse(&again, img, off, err, sizeof(err)) == 0);
	FUZZ_CHECK(again.len == u->len);
	for (size_t i = 0; i < u->len; i++) {
		const struct user *a = &u->list[i], *b = &again.list[i];

		FUZZ_CHECK(users_find(&again, a->name, a->name_len) == (long)i);
		FUZZ_CHECK(b->pass_len == a->pass_len && memcmp(b->pass, a->pass, a->pass_len) == 0);
		FUZZ_CHECK(b->hashed == a->hashed);
	}
	users_free(&again);
	free(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct users u;
	char err[256];
	unsigned max = size > 0 ? data[0] : 0;

	if (size > 0) {
		data++;
		size--;
	}
	FUZZ_CHECK(users_init(&u, max, NULL) == 0);
	if (users_parse(&u, (const char *)data, size, err, sizeof(err)) == 0) {
		FUZZ_CHECK(u.len <= u.max);
		for (size_t i = 0; i < u.len; i++) {
			const struct user *a = &u.list[i];

			FUZZ_CHECK(cred_valid_name(a->name, a->name_len));
			FUZZ_CHECK(cred_valid_pass(a->pass, a->pass_len));
			FUZZ_CHECK(strlen(a->name) == a->name_len && strlen(a->pass) == a->pass_len);
			FUZZ_CHECK(users_find(&u, a->name, a->name_len) == (long)i);
			FUZZ_CHECK(a->hashed == cred_is_hash(a->pass, a->pass_len));
			FUZZ_CHECK(a->line >= 1);
		}
		fuzz_users_reparse(&u);
	} else {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
	}
	users_free(&u);
	return 0;
}
