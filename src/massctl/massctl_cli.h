/*
 * massctl_cli: massctl's command line, parsed and checked without touching
 * the network, and the request each command sends.
 *
 * massctl [-H HOST] [-P PORT] [-u ADMIN:PASS] [-j] [-t SECONDS] COMMAND [ARG...]
 */
#ifndef MASS_MASSCTL_CLI_H
#define MASS_MASSCTL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses (sysexits(3) numbers for failures outside the protocol). */
enum massctl_exit {
	MASSCTL_EXIT_OK = 0,
	MASSCTL_EXIT_SERVER_ERROR = 1,  /* status 01 */
	MASSCTL_EXIT_UNSUPPORTED = 2,   /* status 02 */
	MASSCTL_EXIT_USER_LIMIT = 3,    /* status 03 */
	MASSCTL_EXIT_OTHER_STATUS = 4,  /* any other status (raw only) */
	MASSCTL_EXIT_USAGE = 64,        /* EX_USAGE */
	MASSCTL_EXIT_UNAVAILABLE = 69,  /* EX_UNAVAILABLE: resolve, connect, timeout, I/O */
	MASSCTL_EXIT_SOFTWARE = 70,     /* EX_SOFTWARE: out of memory */
	MASSCTL_EXIT_IOERR = 74,        /* EX_IOERR: writing the output failed */
	MASSCTL_EXIT_PROTOCOL = 76,     /* EX_PROTOCOL: a malformed or truncated reply */
	MASSCTL_EXIT_NOPERM = 77        /* EX_NOPERM: login refused or required */
};

/* The exit status for a reply status octet. */
int massctl_exit_for_status(uint8_t status);

enum massctl_cmd {
	MASSCTL_CMD_INDEXES,
	MASSCTL_CMD_USERS,
	MASSCTL_CMD_STATS,
	MASSCTL_CMD_ADD_USER,
	MASSCTL_CMD_DEL_USER,
	MASSCTL_CMD_AUTH,
	MASSCTL_CMD_DISSECTORS,
	MASSCTL_CMD_RAW
};

#define MASSCTL_DEFAULT_HOST "127.0.0.1"
#define MASSCTL_DEFAULT_PORT "8080"
#define MASSCTL_DEFAULT_TIMEOUT 10
#define MASSCTL_MAX_TIMEOUT 3600

struct massctl_opts {
	const char *host;
	const char *port;         /* decimal 1..65535, checked */
	unsigned timeout;         /* seconds, 1..MASSCTL_MAX_TIMEOUT */
	bool json;
	bool help, version;       /* -h / -v: nothing else is checked */
	bool login;               /* admin credentials given (-u or MASS_ADMIN) */
	const char *admin;        /* admin name, in -u's or MASS_ADMIN's text */
	const char *pass;         /* its password, after the first ':' */
	size_t admin_len, pass_len;
	enum massctl_cmd cmd;
	const char *cmd_name;
	char **args;              /* the command's arguments */
	int nargs;
};

/*
 * Parses argv (getopt is restarted, so it may be called repeatedly).
 * env_admin is the value of MASS_ADMIN or NULL; -u wins over it. Checks the
 * command, its argument count, and every name, password, on/off word, index
 * and PARAM it can check without the server. Returns 0, or -1 with a
 * one-line reason in err (exit status MASSCTL_EXIT_USAGE).
 */
int massctl_cli_parse(struct massctl_opts *o, int argc, char **argv,
		      const char *env_admin, char *err, size_t errlen);

/*
 * Builds the single request of every command but stats (which sends one
 * request per counter: a single index octet each). Returns 0 with *used
 * set, or -1 with err set.
 */
int massctl_cli_request(const struct massctl_opts *o, uint8_t *buf, size_t cap,
			size_t *used, char *err, size_t errlen);

/* The usage text. */
extern const char massctl_usage[];

#endif
