/* massctl_hash: make a crypt(3) hash of a password. See massctl_hash.h. */
#include "massctl_hash.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth/cred.h"

static void hash_usage(void)
{
	char methods[128];

	fprintf(stderr, "usage: massctl hash [-m METHOD] [-c COST]\n"
			"  reads a password (from the terminal without echo, or the first\n"
			"  line of standard input) and prints its crypt(3) hash\n"
			"  METHOD: %s (default %s)\n"
			"  COST: the method's cost parameter (default: libcrypt's)\n",
		cred_methods(methods, sizeof(methods)), CRED_DEFAULT_METHOD);
}

/*
 * Reads one line from fd into buf (cap octets) one octet at a time, so that
 * nothing past the line is consumed. Returns its length without the line
 * end ("\n" or "\r\n"), or -1 on EOF before any octet, a read error, or a
 * line longer than cap - 1 (the rest of it is not read).
 */
static ssize_t hash_read_line(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	bool any = false;
	char c;

	for (;;) {
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		any = true;
		if (c == '\n')
			break;
		if (len + 1 >= cap)
			return -1;
		buf[len++] = c;
	}
	if (!any)
		return -1;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	return (ssize_t)len;
}

/* Prompts on stderr and reads a line from the terminal (echo already off). */
static ssize_t hash_prompt(const char *prompt, char *buf, size_t cap)
{
	ssize_t n;

	fputs(prompt, stderr);
	fflush(stderr);
	n = hash_read_line(STDIN_FILENO, buf, cap);
	fputc('\n', stderr);
	return n;
}

/*
 * Reads the password twice from the terminal with echo off. Echo goes off
 * before the first prompt (what is typed after the prompt is never shown)
 * and comes back with TCSANOW, so that nothing typed ahead is lost. Returns
 * its length, -1 when nothing was read, -2 when the two differ.
 */
static ssize_t hash_read_tty(char *pass, size_t cap)
{
	char again[CRED_HASH_MAX + 1];
	struct termios old, quiet;
	ssize_t n, m = -1;

	if (tcgetattr(STDIN_FILENO, &old) != 0)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0)
		return -1;
	n = hash_prompt("Password: ", pass, cap);
	if (n >= 0)
		m = hash_prompt("Again: ", again, sizeof(again));
	(void)tcsetattr(STDIN_FILENO, TCSANOW, &old);
	if (n >= 0 && (m != n || memcmp(again, pass, (size_t)n) != 0))
		n = -2;
	explicit_bzero(again, sizeof(again));
	return n;
}

/* Reads the password into pass (cap octets): from the terminal, or a line of stdin. */
static ssize_t hash_read_pass(char *pass, size_t cap)
{
	if (!isatty(STDIN_FILENO))
		return hash_read_line(STDIN_FILENO, pass, cap);
	return hash_read_tty(pass, cap);
}

/* Parses the options; returns 0 or 2 (usage). */
static int hash_options(int argc, char **argv, const char **method, unsigned long *cost)
{
	for (int i = 1; i < argc; i++) {
		char *end;

		if (strcmp(argv[i], "-m") == 0 && i + 1 < argc) {
			*method = argv[++i];
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			errno = 0;
			*cost = strtoul(argv[++i], &end, 10);
			if (errno || end == argv[i] || *end || argv[i][0] == '-')
				return 2;
		} else {
			return 2;
		}
	}
	return 0;
}

/* The hash on out: a line, or with json {"hash":"..."} (a crypt string
 * needs no escaping: its alphabet is [A-Za-z0-9./$,=-]). */
static int hash_print(FILE *out, bool json, const char *hash)
{
	fprintf(out, json ? "{\"hash\":\"%s\"}\n" : "%s\n", hash);
	return fflush(out) == 0 && !ferror(out) ? 0 : 1;
}

int massctl_hash_run(int argc, char **argv, bool json, FILE *out, char *err, size_t errlen)
{
	const char *method = NULL;
	unsigned long cost = 0;
	char pass[CRED_HASH_MAX + 1], hash[CRED_HASH_MAX], methods[128];
	ssize_t n;
	int len;

	if (hash_options(argc, argv, &method, &cost) != 0) {
		snprintf(err, errlen, "usage: massctl hash [-m METHOD] [-c COST] (METHOD: %s)",
			 cred_methods(methods, sizeof(methods)));
		return 2;
	}
	if (method && !cred_method_supported(method)) {
		snprintf(err, errlen, "unknown or unsupported method '%s' (this system has: %s)",
			 method, cred_methods(methods, sizeof(methods)));
		return 2;
	}
	n = hash_read_pass(pass, sizeof(pass));
	if (n < 0) {
		snprintf(err, errlen, "%s", n == -2 ? "the passwords differ" :
			 "no password read (one line of 1..255 characters)");
		explicit_bzero(pass, sizeof(pass));
		return 1;
	}
	len = cred_hash_make(method, cost, pass, (size_t)n, hash, sizeof(hash), err, errlen);
	explicit_bzero(pass, sizeof(pass));
	if (len < 0)
		return 1;
	if (hash_print(out, json, hash) != 0) {
		snprintf(err, errlen, "writing the hash: %s", strerror(errno));
		return 1;
	}
	return 0;
}

int massctl_hash_main(int argc, char **argv)
{
	char err[256] = "";
	int r = massctl_hash_run(argc, argv, false, stdout, err, sizeof(err));

	if (r == 2 && strncmp(err, "usage:", 6) == 0)
		hash_usage();
	else if (r != 0)
		fprintf(stderr, "massctl hash: %s\n", err);
	return r;
}
