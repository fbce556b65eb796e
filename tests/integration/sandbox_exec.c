/*
 * sandbox_exec: runs a program under one of the restrictions the systemd
 * unit (etc/socks5d.service.in) puts socks5d under, for
 * tests/integration/test_service.py on machines where the unit itself
 * cannot run under systemd.
 *
 *   sandbox_exec [-a LIST] [-d LIST] [-w] [-m] -- PROGRAM ARGS...
 *
 *   -a LIST  SystemCallFilter=LIST: only these system calls (comma-separated
 *            names); every other one fails with EPERM
 *            (SystemCallErrorNumber=EPERM)
 *   -d LIST  SystemCallFilter=~LIST: these fail with EPERM
 *   -w       MemoryDenyWriteExecute= as systemd up to 256 does it, by
 *            seccomp: mmap with PROT_WRITE and PROT_EXEC, mprotect and
 *            pkey_mprotect with PROT_EXEC, shmat with SHM_EXEC fail (EPERM)
 *   -m       MemoryDenyWriteExecute= as the kernel does it since 6.3:
 *            prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)
 *
 * Names this libseccomp does not know are skipped, as systemd skips them.
 * Each option loads a filter of its own (the kernel applies the strictest
 * answer of all). Exits 77 when the kernel lacks what an option needs
 * (the test then says SKIP), 2 on bad usage, 1 when a filter cannot be
 * built; otherwise it becomes PROGRAM.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <unistd.h>

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#endif
#ifndef PR_MDWE_REFUSE_EXEC_GAIN
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif

/* Adds action for each name of the comma-separated list. Returns 0 or -1. */
static int sandbox_rules(scmp_filter_ctx ctx, uint32_t action, char *list)
{
	for (char *name = strtok(list, ","); name != NULL; name = strtok(NULL, ",")) {
		int nr = seccomp_syscall_resolve_name(name);

		if (nr == __NR_SCMP_ERROR)
			continue;
		if (seccomp_rule_add(ctx, action, nr, 0) < 0) {
			fprintf(stderr, "sandbox_exec: rule for %s refused\n", name);
			return -1;
		}
	}
	return 0;
}

static int sandbox_load(scmp_filter_ctx ctx)
{
	int rc = seccomp_load(ctx);

	seccomp_release(ctx);
	if (rc < 0)
		fprintf(stderr, "sandbox_exec: seccomp_load: %s\n", strerror(-rc));
	return rc < 0 ? -1 : 0;
}

static int sandbox_filter(uint32_t dflt, uint32_t action, char *list)
{
	scmp_filter_ctx ctx = seccomp_init(dflt);

	if (ctx == NULL || sandbox_rules(ctx, action, list) < 0)
		return -1;
	return sandbox_load(ctx);
}

/* systemd's seccomp version of MemoryDenyWriteExecute= (src/shared/seccomp-util.c). */
static int sandbox_wx_filter(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	uint32_t no = SCMP_ACT_ERRNO(EPERM);

	if (ctx == NULL ||
	    seccomp_rule_add(ctx, no, SCMP_SYS(mmap), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC | PROT_WRITE, PROT_EXEC | PROT_WRITE)) < 0 ||
	    seccomp_rule_add(ctx, no, SCMP_SYS(mprotect), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)) < 0 ||
	    seccomp_rule_add(ctx, no, SCMP_SYS(pkey_mprotect), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)) < 0 ||
	    seccomp_rule_add(ctx, no, SCMP_SYS(shmat), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, SHM_EXEC, SHM_EXEC)) < 0) {
		fprintf(stderr, "sandbox_exec: cannot build the W^X filter\n");
		return -1;
	}
	return sandbox_load(ctx);
}

int main(int argc, char **argv)
{
	char *allow = NULL, *deny = NULL;
	int wx = 0, mdwe = 0, opt;

	while ((opt = getopt(argc, argv, "a:d:wm")) != -1) {
		switch (opt) {
		case 'a': allow = optarg; break;
		case 'd': deny = optarg; break;
		case 'w': wx = 1; break;
		case 'm': mdwe = 1; break;
		default:
			fprintf(stderr, "usage: sandbox_exec [-a LIST] [-d LIST] [-w] [-m] -- PROGRAM ARGS...\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "sandbox_exec: no program\n");
		return 2;
	}
	/* what NoNewPrivileges=yes does, and what an unprivileged filter needs */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		perror("sandbox_exec: PR_SET_NO_NEW_PRIVS");
		return 1;
	}
	if (mdwe && prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) < 0) {
		fprintf(stderr, "sandbox_exec: PR_SET_MDWE: %s\n", strerror(errno));
		return errno == EINVAL ? 77 : 1;
	}
	if (wx && sandbox_wx_filter() < 0)
		return 1;
	if (deny != NULL && sandbox_filter(SCMP_ACT_ALLOW, SCMP_ACT_ERRNO(EPERM), deny) < 0)
		return 1;
	/* last: it may forbid seccomp() itself */
	if (allow != NULL && sandbox_filter(SCMP_ACT_ERRNO(EPERM), SCMP_ACT_ALLOW, allow) < 0)
		return 1;
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "sandbox_exec: %s: %s\n", argv[optind], strerror(errno));
	return 127;
}
