/*
 * massctl_cli: massctl's command line, parsed and checked without touching
 * the network, and its command table (one row per command, after HAProxy's
 * `struct cli_kw`): each row says how the command is named, documented and
 * checked, which request it sends and how its reply is printed. The help
 * text is generated from the rows. The network is reached only through the
 * struct massctl_io the caller passes, so every command runs in unit tests
 * against a scripted exchange.
 *
 * massctl [-H HOST] [-P PORT] [-u ADMIN:PASS] [-j] [-t SECONDS] [-V] COMMAND [ARG...]
 *
 * Plugins are identified by what the server says, not by number: a command
 * served by a bundled plugin (its row's plugin) asks the info reply (14)
 * first and sends its request only to an index whose row names that
 * plugin; index 14 itself counts as info only when its reply decodes as
 * info and its own row names "info". Without info the documented number is
 * used, with a note (-V, -j).
 */
#ifndef MASS_MASSCTL_CLI_H
#define MASS_MASSCTL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "massctl_wire.h"

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

#define MASSCTL_DEFAULT_HOST "127.0.0.1"
#define MASSCTL_DEFAULT_PORT "8080"
#define MASSCTL_DEFAULT_TIMEOUT 10
#define MASSCTL_MAX_TIMEOUT 3600

struct massctl_cmd;

struct massctl_opts {
	const char *host;
	const char *port;         /* decimal 1..65535, checked */
	unsigned timeout;         /* seconds, 1..MASSCTL_MAX_TIMEOUT */
	bool json;                /* -j; set even when parsing failed later */
	bool verbose;             /* -V: notes on how indexes were found */
	bool help, version;       /* -h/--help, -v/--version: nothing else is checked */
	bool login;               /* admin credentials given (-u or MASS_ADMIN) */
	const char *admin;        /* admin name, in -u's or MASS_ADMIN's text */
	const char *pass;         /* its password, after the first ':' */
	size_t admin_len, pass_len;
	const struct massctl_cmd *cmd;  /* the row of the command given */
	const char *cmd_name;     /* its primary name */
	char **args;              /* the command's arguments */
	int nargs;
};

/*
 * A failure: its exit status and a one-line reason. has_status marks a
 * failure caused by a reply status octet (status). shown marks a failure the
 * command's own output already shows (raw's status, stats' null counters):
 * with -j no error object is printed after it.
 */
struct massctl_fail {
	int code;
	char msg[256];
	bool has_status;
	uint8_t status;
	bool shown;
};

/* Sets f (code and a printf-style reason) and returns -1. */
int massctl_fail_set(struct massctl_fail *f, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * What a command may use to do its work: the exchange (one connection:
 * connect, log in, send req, read the reply to EOF into rep, at most cap
 * octets; returns the reply's length, or -1 with f set), its context, where
 * output goes, and where notes go (standard error).
 */
struct massctl_io {
	long (*exchange)(void *ctx, const uint8_t *req, size_t len, uint8_t *rep, size_t cap,
			 struct massctl_fail *f);
	void *ctx;
	FILE *out;
	FILE *note;
};

/*
 * A row's handlers. Each returns 0 on success, or -1 with its reason
 * (build: in err; print and run: in f).
 *
 * build: the request (index octet, then parameters) into buf (cap octets),
 *   *used set. Also the argument check: parsing builds every request once
 *   into scratch space, so a bad argument is a usage error before any
 *   connection.
 * print: a split reply to the request req; checks its framing (malformed:
 *   MASSCTL_EXIT_PROTOCOL), fails on a status other than 00 (see
 *   massctl_status_fail) and otherwise prints the result on out, as text or
 *   JSON per o->json.
 * run: the whole command, when it is more than one request and one reply
 *   (stats) or needs no server at all (help, and later hash).
 */
typedef int massctl_build_fn(const struct massctl_opts *o, uint8_t *buf, size_t cap,
			     size_t *used, char *err, size_t errlen);
typedef int massctl_print_fn(const struct massctl_opts *o, const uint8_t *req, size_t req_len,
			     const struct massctl_reply *r, FILE *out, struct massctl_fail *f);
typedef int massctl_run_fn(const struct massctl_opts *o, const struct massctl_io *io,
			   struct massctl_fail *f);

#define MASSCTL_CMD_NAMES 3       /* a name and up to two aliases */
#define MASSCTL_NO_INDEX (-1)

/*
 * One command. To add one, add a row to massctl_cmds[] in massctl_cli.c
 * (and its handlers if the defaults do not fit); usage, help, argument
 * checks and dispatch follow from the row. Fields:
 *
 * names   the primary name first, then aliases; unused slots NULL.
 * args    the argument synopsis in usage and help ("NAME PASS"; "" for none).
 * help    one line for the generated help; "\n" starts a continuation line.
 * min_args, max_args  the argument count; max_args -1: unbounded.
 * index   the request's index octet, or MASSCTL_NO_INDEX (then build or run
 *         is required); with an index the help line ends in " (XX)".
 * plugin  the bundled plugin whose documented index `index` is (NULL: a core
 *         index, sent as is; "a|b": either plugin may serve it); see the
 *         contract above.
 * params  with the default build: one letter per argument, each sent in
 *         order after the index octet:
 *           'n' a user name (1..255 printable, no ':'), LENGTH+DATA
 *           'p' a password (1..255 printable), LENGTH+DATA
 *           'o' on|off, one octet: 00 on, 01 off (the protocol's encoding)
 *           's' any text of 0..255 octets, LENGTH+DATA
 * build   NULL: index then params as above.
 * print   NULL: massctl_print_empty (no fields; -j prints {"status":"00"}).
 * run     NULL: build, one exchange, print.
 * status01  what status 01 means for this command (NULL: "server error").
 * arg_in_msg  failure messages name the first argument ("add-user bob: ...").
 */
struct massctl_cmd {
	const char *names[MASSCTL_CMD_NAMES];
	const char *args;
	const char *help;
	int min_args, max_args;
	int index;
	const char *plugin;
	const char *params;
	massctl_build_fn *build;
	massctl_print_fn *print;
	massctl_run_fn *run;
	const char *status01;
	bool arg_in_msg;
};

/* The command table, in the order the help lists it. */
extern const struct massctl_cmd massctl_cmds[];
extern const size_t massctl_ncmds;

/* The row in table (n rows) one of whose names is name, or NULL. */
const struct massctl_cmd *massctl_cmd_lookup(const struct massctl_cmd *table, size_t n,
					     const char *name);

/*
 * Parses argv (getopt is restarted, so it may be called repeatedly).
 * env_admin is the value of MASS_ADMIN or NULL; -u wins over it. Checks the
 * command, its argument count, and every name, password, on/off word, index
 * and PARAM it can check without the server. Returns 0, or -1 with a
 * one-line reason in err (exit status MASSCTL_EXIT_USAGE); o->json is set
 * whenever -j was among the options, also after a failure.
 */
int massctl_cli_parse(struct massctl_opts *o, int argc, char **argv,
		      const char *env_admin, char *err, size_t errlen);

/*
 * Builds the single request of the parsed command into buf (cap octets).
 * Returns 0 with *used set, or -1 with err set (also for a command that
 * sends no single request: stats, help).
 */
int massctl_cli_request(const struct massctl_opts *o, uint8_t *buf, size_t cap,
			size_t *used, char *err, size_t errlen);

/*
 * Runs the parsed command through io. Returns 0, or -1 with f set (its
 * code is the exit status).
 */
int massctl_cmd_run(const struct massctl_opts *o, const struct massctl_io *io,
		    struct massctl_fail *f);

/*
 * The index serving the documented index `documented` of the bundled plugin
 * `plugin`, found through the info reply (one exchange). Returns 1 with *ix
 * set when info names the plugin there; 0 with *ix = documented when info
 * is not served or index 14 is not the info plugin (noted on io->note with
 * -V or -j); -1 with f set when info is served and does not list the plugin
 * at that index (MASSCTL_EXIT_UNSUPPORTED), or the exchange failed.
 */
int massctl_find_index(const struct massctl_opts *o, const struct massctl_io *io,
		       const char *plugin, uint8_t documented, uint8_t *ix, struct massctl_fail *f);

/* Sets f for a reply status other than 00, in the words of o's command; returns -1. */
int massctl_status_fail(const struct massctl_opts *o, uint8_t status, struct massctl_fail *f);

/* The default print: a reply with no fields. */
massctl_print_fn massctl_print_empty;

/* Writes the generated usage and help on out. */
void massctl_cli_usage(FILE *out);

/*
 * Writes the -j error object for f on one line:
 *   {"error":"REASON","exit":N}                         usage errors (command NULL)
 *   {"command":"NAME","error":"REASON","exit":N}        any other failure
 * plus ,"status":"XX" before the closing brace when a reply status caused it.
 */
void massctl_json_fail(FILE *out, const char *command, const struct massctl_fail *f);

#endif
