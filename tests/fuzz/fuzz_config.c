/*
 * Fuzz target: mass.ini as config_load() reads it (inih and every key
 * checker), from a memfd since the loader takes a path; an accepted file is
 * then compiled into its ACL. A refusal must name the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "socks/acl.h"
#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	struct acl *acl;
	struct acl_rules rules;
	char path[64], err[512];
	int fd = memfd_create("mass.ini", MFD_CLOEXEC);

	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (config_load(&c, path, err, sizeof(err)) == 0) {
		FUZZ_CHECK(c.path != NULL && strcmp(c.path, path) == 0);
		FUZZ_CHECK(c.listen_len <= CONFIG_MAX_LISTEN && c.max_users <= CONFIG_MAX_USERS_LIMIT);
		FUZZ_CHECK(config_acl_rules(&c, &rules) == 0);
		acl = acl_compile(&rules, NULL, err, sizeof(err));
		free((void *)rules.items);
		if (acl == NULL)
			FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0);
		acl_free(acl);
		config_free(&c);
	} else {
		FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0);
	}
	close(fd);
	return 0;
}
