/*
 * massctl_cli: command-line parsing, the command table and its handlers.
 * See massctl_cli.h.
 */
#include "massctl_cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "massctl_hash.h"
#include "massctl_layout.h"
#include "auth/cred.h"
#include "core/layout.h"

/* index 1A, served by plugins/upstreams.c (mass-protocol(7)) */
#define MASSCTL_IX_UPSTREAMS 0x1A
#define MASSCTL_UPSTREAMS_LAYOUT "upstreams:[name:str,parent:str,state:u8,down_since:u64," \
	"fails:u32,last_error:str]"

static massctl_print_fn massctl_print_users;
static massctl_print_fn massctl_print_sessions, massctl_print_kick, massctl_print_user_stats;
static massctl_print_fn massctl_print_classes, massctl_print_user_limits;
static massctl_print_fn massctl_print_upstreams;
static massctl_build_fn massctl_build_raw;
static massctl_run_fn massctl_run_stats, massctl_run_help, massctl_run_hash, massctl_run_indexes;
static massctl_run_fn massctl_run_info, massctl_run_raw;
static int massctl_ask(const struct massctl_io *io, uint8_t ix, uint8_t *rep, size_t cap,
		       struct massctl_reply *r, struct massctl_fail *f);

/*
 * The command table: one row per command (see struct massctl_cmd for the
 * fields). The help lists the rows in this order.
 *
 */
const struct massctl_cmd massctl_cmds[] = {
	{ .names = { "indexes" }, .args = "",
	  .help = "list the served indexes (with plugin and usage when info is served)",
	  .index = MASSCTL_NO_INDEX, .run = massctl_run_indexes },
	{ .names = { "users" }, .args = "", .help = "list the SOCKS users",
	  .index = MASSCTL_IX_USERS, .params = "", .print = massctl_print_users },
	{ .names = { "stats" }, .args = "", .help = "print the counters (0F, or 02..09)",
	  .index = MASSCTL_NO_INDEX, .run = massctl_run_stats },
	{ .names = { "add-user" }, .args = "NAME PASS", .help = "add a SOCKS user",
	  .min_args = 2, .max_args = 2, .index = MASSCTL_IX_ADD_USER, .params = "np",
	  .status01 = "user exists or cannot be added", .arg_in_msg = true },
	{ .names = { "del-user" }, .args = "NAME", .help = "delete a SOCKS user",
	  .min_args = 1, .max_args = 1, .index = MASSCTL_IX_DEL_USER, .params = "n",
	  .status01 = "no such user or cannot be deleted", .arg_in_msg = true },
	{ .names = { "auth" }, .args = "on|off", .help = "SOCKS authentication",
	  .min_args = 1, .max_args = 1, .index = MASSCTL_IX_AUTH, .params = "o" },
	{ .names = { "dissectors" }, .args = "on|off", .help = "password dissectors",
	  .min_args = 1, .max_args = 1, .index = MASSCTL_IX_DISSECTORS, .params = "o" },
	{ .names = { "sessions" }, .args = "", .help = "list the live SOCKS sessions",
	  .index = MASSCTL_IX_SESSIONS, .plugin = "sessions", .params = "",
	  .print = massctl_print_sessions },
	{ .names = { "kill" }, .args = "ID", .help = "close the session ID (from sessions)",
	  .min_args = 1, .max_args = 1, .index = MASSCTL_IX_KILL, .plugin = "sessions", .params = "s",
	  .status01 = "no such session", .arg_in_msg = true },
	{ .names = { "kick" }, .args = "USER", .help = "close every session of USER",
	  .min_args = 1, .max_args = 1, .index = MASSCTL_IX_KICK, .plugin = "sessions", .params = "n",
	  .print = massctl_print_kick, .arg_in_msg = true },
	{ .names = { "user-stats" }, .args = "",
	  .help = "per-user connections and bytes since the plugin loaded",
	  .index = MASSCTL_IX_USER_STATS, .plugin = "sessions", .params = "",
	  .print = massctl_print_user_stats },
	{ .names = { "classes" }, .args = "", .help = "the classes of per-user limits in force",
	  .index = MASSCTL_IX_CLASSES, .plugin = "limits", .params = "",
	  .print = massctl_print_classes },
	{ .names = { "user-limits" }, .args = "NAME",
	  .help = "NAME's class, quota usage, live rate and sessions",
	  .min_args = 1, .max_args = 1, .index = MASSCTL_IX_USER_LIMITS, .plugin = "limits",
	  .params = "n", .print = massctl_print_user_limits, .status01 = "no such user",
	  .arg_in_msg = true },
	{ .names = { "set-class" }, .args = "NAME CLASS", .help = "move NAME to CLASS (live tunnels too)",
	  .min_args = 2, .max_args = 2, .index = MASSCTL_IX_SET_CLASS, .plugin = "limits|pgsql",
	  .params = "ns", .status01 = "no such user or class, or the class cannot be stored",
	  .arg_in_msg = true },
	{ .names = { "reset-usage" }, .args = "NAME", .help = "start NAME's quota usage again from 0",
	  .min_args = 1, .max_args = 1, .index = MASSCTL_IX_RESET_USAGE, .plugin = "limits",
	  .params = "n", .status01 = "no such user", .arg_in_msg = true },
	{ .names = { "upstreams" }, .args = "",
	  .help = "the upstream proxies' parents: state, down since, failures, last error",
	  .index = MASSCTL_IX_UPSTREAMS, .plugin = "upstreams", .params = "",
	  .print = massctl_print_upstreams },
	{ .names = { "info" }, .args = "", .help = "daemon version, uptime, plugin of each index",
	  .index = MASSCTL_IX_INFO, .plugin = "info", .params = "", .run = massctl_run_info },
	{ .names = { "raw" }, .args = "INDEX [PARAM...]",
	  .help = "send any index; PARAM is text (sent as LENGTH+DATA)\nor x:HEX (sent as raw octets); "
		  "the reply by its layout\nwhen info describes it",
	  .min_args = 1, .max_args = -1, .index = MASSCTL_NO_INDEX,
	  .build = massctl_build_raw, .run = massctl_run_raw },
	{ .names = { "hash" }, .args = "[-m METHOD] [-c COST]",
	  .help = "read a password (no echo on a terminal, else one line of stdin)\n"
		  "and print its crypt(3) string for mass.ini or a users file; no server",
	  .max_args = 4, .index = MASSCTL_NO_INDEX, .run = massctl_run_hash },
	{ .names = { "help" }, .args = "", .help = "this help (also -h, --help)",
	  .index = MASSCTL_NO_INDEX, .run = massctl_run_help },
};

const size_t massctl_ncmds = sizeof(massctl_cmds) / sizeof(massctl_cmds[0]);

static const char massctl_options_help[] =
	"options:\n"
	"  -H HOST    management host, name or address (default " MASSCTL_DEFAULT_HOST ")\n"
	"  -P PORT    management port (default " MASSCTL_DEFAULT_PORT ")\n"
	"  -u ADMIN:PASS  admin login (default: $MASS_ADMIN; none: no login offered)\n"
	"  -j         print JSON (also a JSON error object on failure)\n"
	"  -t SECONDS time allowed for each connection (default 10)\n"
	"  -V         notes on standard error on how each index was found\n"
	"  -h, --help this help;  -v, --version  the version\n";

/* Column where help text starts: two spaces, then names and args padded to 24. */
#define MASSCTL_HELP_COL 26

/* "name|alias ARGS" into buf. */
static void massctl_cmd_synopsis(const struct massctl_cmd *c, char *buf, size_t cap)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < MASSCTL_CMD_NAMES && c->names[i]; i++)
		n += (size_t)snprintf(buf + (n < cap ? n : cap - 1), n < cap ? cap - n : 1,
				      "%s%s", i ? "|" : "", c->names[i]);
	if (c->args[0] && n < cap)
		snprintf(buf + n, cap - n, " %s", c->args);
}

void massctl_cli_usage(FILE *out)
{
	fputs("usage: massctl [-H HOST] [-P PORT] [-u ADMIN:PASS] [-j] [-t SECONDS] [-V]\n"
	      "               COMMAND [ARG...]\n"
	      "       massctl -h | --help | -v | --version\n"
	      "commands:\n", out);
	for (size_t i = 0; i < massctl_ncmds; i++) {
		const struct massctl_cmd *c = &massctl_cmds[i];
		const char *h = c->help, *nl;
		char syn[128];

		massctl_cmd_synopsis(c, syn, sizeof(syn));
		fprintf(out, "  %-*s", MASSCTL_HELP_COL - 2, syn);
		if (strlen(syn) >= MASSCTL_HELP_COL - 2)
			fprintf(out, "\n%*s", MASSCTL_HELP_COL, "");
		while ((nl = strchr(h, '\n')) != NULL) {
			fprintf(out, "%.*s\n%*s", (int)(nl - h), h, MASSCTL_HELP_COL, "");
			h = nl + 1;
		}
		fputs(h, out);
		if (c->index != MASSCTL_NO_INDEX)
			fprintf(out, " (%02X)", (unsigned)c->index);
		fputc('\n', out);
	}
	fputs(massctl_options_help, out);
}

const struct massctl_cmd *massctl_cmd_lookup(const struct massctl_cmd *table, size_t n,
					     const char *name)
{
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < MASSCTL_CMD_NAMES && table[i].names[j]; j++)
			if (strcmp(table[i].names[j], name) == 0)
				return &table[i];
	return NULL;
}

int massctl_fail_set(struct massctl_fail *f, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	f->code = code;
	return -1;
}

int massctl_exit_for_status(uint8_t status)
{
	switch (status) {
	case MASS_STATUS_OK:
		return MASSCTL_EXIT_OK;
	case MASS_STATUS_ERROR:
		return MASSCTL_EXIT_SERVER_ERROR;
	case MASS_STATUS_UNSUPPORTED:
		return MASSCTL_EXIT_UNSUPPORTED;
	case MASS_STATUS_USER_LIMIT:
		return MASSCTL_EXIT_USER_LIMIT;
	default:
		return MASSCTL_EXIT_OTHER_STATUS;
	}
}

static int massctl_cli_port(const char *s, char *err, size_t errlen)
{
	char *end;
	long v;

	v = strtol(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || v < 1 || v > 65535) {
		snprintf(err, errlen, "-P: '%s' is not a port (1..65535)", s);
		return -1;
	}
	return 0;
}

static int massctl_cli_timeout(const char *s, unsigned *out, char *err, size_t errlen)
{
	char *end;
	long v;

	v = strtol(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || v < 1 || v > MASSCTL_MAX_TIMEOUT) {
		snprintf(err, errlen, "-t: '%s' is not a number of seconds (1..%d)",
			 s, MASSCTL_MAX_TIMEOUT);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* Splits ADMIN:PASS at the first ':' and checks both against the rules. */
static int massctl_cli_admin(struct massctl_opts *o, const char *s, const char *from,
			     char *err, size_t errlen)
{
	const char *colon = strchr(s, ':');

	if (!colon) {
		snprintf(err, errlen, "%s: expected ADMIN:PASS", from);
		return -1;
	}
	o->admin = s;
	o->admin_len = (size_t)(colon - s);
	o->pass = colon + 1;
	o->pass_len = strlen(colon + 1);
	if (!cred_valid_name(o->admin, o->admin_len) ||
	    !cred_valid_pass(o->pass, o->pass_len)) {
		snprintf(err, errlen, "%s: admin name and password must be 1..255 "
			 "printable characters", from);
		return -1;
	}
	o->login = true;
	return 0;
}

/* Why getopt refused arg (the argument it was at; optopt its short option). */
static int massctl_cli_bad_option(const char *arg, int opt, char *why, size_t len)
{
	if (strncmp(arg, "--", 2) == 0)   /* a long option */
		return snprintf(why, len, strchr(arg, '=') ? "%s: takes no argument"
				: "unknown option %s", arg);
	if (opt && strchr("HPut", opt))
		return snprintf(why, len, "-%c needs an argument", opt);
	return snprintf(why, len, "unknown option -%c", opt);
}

/*
 * Every option is looked at even after a bad one, so that -j anywhere among
 * them still turns the usage error into JSON; the first error is reported.
 */
static int massctl_cli_options(struct massctl_opts *o, int argc, char **argv,
			       char *err, size_t errlen)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	bool bad = false;
	int c, at = 1;   /* the argument getopt starts this round at */

	optind = 0;   /* glibc: a full restart, so tests can parse repeatedly */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+H:P:u:jt:hvV", longopts, NULL)) != -1) {
		const char *arg = argv[at < argc ? at : argc - 1];
		char why[256];
		int r = 0;

		at = optind;

		switch (c) {
		case 'H':
			if (optarg[0] == '\0')
				r = snprintf(why, sizeof(why), "-H: empty host");
			else
				o->host = optarg;
			break;
		case 'P':
			if (massctl_cli_port(optarg, why, sizeof(why)) < 0)
				r = 1;
			else
				o->port = optarg;
			break;
		case 'u':
			r = massctl_cli_admin(o, optarg, "-u", why, sizeof(why)) < 0;
			break;
		case 'j':
			o->json = true;
			break;
		case 't':
			r = massctl_cli_timeout(optarg, &o->timeout, why, sizeof(why)) < 0;
			break;
		case 'h':
			o->help = true;
			break;
		case 'v':
			o->version = true;
			break;
		case 'V':
			o->verbose = true;
			break;
		default:
			r = massctl_cli_bad_option(arg, optopt, why, sizeof(why));
			break;
		}
		if (r && !bad)
			snprintf(err, errlen, "%s", why);
		bad = bad || r;
	}
	return bad ? -1 : 0;
}

/* Appends one argument as parameter kind k (a params letter). */
static int massctl_cli_param(const struct massctl_opts *o, char k, const char *arg,
			     uint8_t *buf, size_t cap, size_t *used, char *err, size_t errlen)
{
	size_t len = strlen(arg);

	switch (k) {
	case 'n':
		if (!cred_valid_name(arg, len)) {
			snprintf(err, errlen, "%s: not a valid user name (1..255 printable "
				 "characters, no ':')", o->cmd_name);
			return -1;
		}
		break;
	case 'p':
		if (!cred_valid_pass(arg, len)) {
			snprintf(err, errlen, "%s: not a valid password (1..255 printable "
				 "characters)", o->cmd_name);
			return -1;
		}
		break;
	case 'o':
		if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0) {
			snprintf(err, errlen, "%s: expected on or off, not '%s'", o->cmd_name, arg);
			return -1;
		}
		if (*used >= cap) {
			snprintf(err, errlen, "request longer than %zu octets", cap);
			return -1;
		}
		/* The protocol's '00' means on; massctl sends '01' for off. */
		buf[(*used)++] = strcmp(arg, "on") == 0 ? 0x00 : 0x01;
		return 0;
	case 's':
		break;
	default:
		snprintf(err, errlen, "%s: parameter kind '%c' unknown", o->cmd_name, k);
		return -1;
	}
	if (massctl_put_string(buf, cap, used, arg, len, err, errlen) < 0)
		return -1;
	return 0;
}

/* The default build: the row's index, then one parameter per argument. */
static int massctl_build_params(const struct massctl_opts *o, uint8_t *buf, size_t cap,
				size_t *used, char *err, size_t errlen)
{
	const char *kinds = o->cmd->params ? o->cmd->params : "";

	if ((size_t)o->nargs != strlen(kinds)) {
		snprintf(err, errlen, "%s: %d argument(s) for %zu parameter(s)", o->cmd_name,
			 o->nargs, strlen(kinds));
		return -1;
	}
	buf[0] = (uint8_t)o->cmd->index;
	*used = 1;
	for (int i = 0; i < o->nargs; i++)
		if (massctl_cli_param(o, kinds[i], o->args[i], buf, cap, used, err, errlen) < 0)
			return -1;
	return 0;
}

static int massctl_build_raw(const struct massctl_opts *o, uint8_t *buf, size_t cap,
			     size_t *used, char *err, size_t errlen)
{
	char why[192];

	if (massctl_parse_index(o->args[0], &buf[0], err, errlen) < 0)
		return -1;
	*used = 1;
	for (int i = 1; i < o->nargs; i++) {
		if (massctl_put_param(buf, cap, used, o->args[i], why, sizeof(why)) < 0) {
			snprintf(err, errlen, "raw: PARAM %d: %s", i, why);
			return -1;
		}
	}
	return 0;
}

int massctl_cli_request(const struct massctl_opts *o, uint8_t *buf, size_t cap,
			size_t *used, char *err, size_t errlen)
{
	const struct massctl_cmd *c = o->cmd;

	if (cap < 2) {
		snprintf(err, errlen, "request buffer too small");
		return -1;
	}
	if (c->build)
		return c->build(o, buf, cap, used, err, errlen);
	if (c->index != MASSCTL_NO_INDEX)
		return massctl_build_params(o, buf, cap, used, err, errlen);
	snprintf(err, errlen, "%s sends no single request", o->cmd_name);
	return -1;
}

int massctl_cli_parse(struct massctl_opts *o, int argc, char **argv,
		      const char *env_admin, char *err, size_t errlen)
{
	static uint8_t scratch[MASSCTL_REQ_MAX];
	const struct massctl_cmd *c;
	size_t used;

	memset(o, 0, sizeof(*o));
	o->host = MASSCTL_DEFAULT_HOST;
	o->port = MASSCTL_DEFAULT_PORT;
	o->timeout = MASSCTL_DEFAULT_TIMEOUT;
	if (massctl_cli_options(o, argc, argv, err, errlen) < 0)
		return -1;
	if (o->help || o->version)
		return 0;
	if (!o->login && env_admin && env_admin[0] &&
	    massctl_cli_admin(o, env_admin, "MASS_ADMIN", err, errlen) < 0)
		return -1;
	if (optind >= argc) {
		snprintf(err, errlen, "no command given (try -h)");
		return -1;
	}
	c = massctl_cmd_lookup(massctl_cmds, massctl_ncmds, argv[optind]);
	if (!c) {
		snprintf(err, errlen, "unknown command '%s' (try -h)", argv[optind]);
		return -1;
	}
	o->cmd = c;
	o->cmd_name = c->names[0];
	o->args = argv + optind + 1;
	o->nargs = argc - optind - 1;
	if (o->nargs < c->min_args || (c->max_args >= 0 && o->nargs > c->max_args)) {
		char syn[128];

		massctl_cmd_synopsis(c, syn, sizeof(syn));
		snprintf(err, errlen, "usage: massctl [OPTION...] %s", syn);
		return -1;
	}
	/* Building the request once checks every argument before any connection. */
	if ((c->build || c->index != MASSCTL_NO_INDEX) &&
	    massctl_cli_request(o, scratch, sizeof(scratch), &used, err, errlen) < 0)
		return -1;
	return 0;
}

int massctl_status_fail(const struct massctl_opts *o, uint8_t status, struct massctl_fail *f)
{
	const char *why;

	switch (status) {
	case MASS_STATUS_ERROR:
		why = o->cmd && o->cmd->status01 ? o->cmd->status01 : "server error";
		break;
	case MASS_STATUS_UNSUPPORTED:
		why = "index not supported by the server";
		break;
	case MASS_STATUS_USER_LIMIT:
		why = "user limit reached";
		break;
	default:
		why = "request failed";
		break;
	}
	massctl_fail_set(f, massctl_exit_for_status(status), "%s (status %02x)", why, status);
	f->has_status = true;
	f->status = status;
	return -1;
}

/* A malformed reply: the decoder already wrote the reason into f->msg. */
static int massctl_protocol(struct massctl_fail *f)
{
	f->code = MASSCTL_EXIT_PROTOCOL;
	return -1;
}

/* Prints a name as a JSON string: at most 255 octets, so 6 * 255 + 3 always fits. */
static void massctl_json_print(FILE *out, const char *s, size_t len)
{
	char buf[6 * 255 + 3];

	massctl_json_string(s, len, buf, sizeof(buf));
	fputs(buf, out);
}

static int massctl_print_users(const struct massctl_opts *o, const uint8_t *req,
			       size_t req_len, const struct massctl_reply *r, FILE *out,
			       struct massctl_fail *f)
{
	static struct massctl_name names[256];
	size_t n = 0;

	(void)req, (void)req_len;
	if (massctl_decode_users(r, names, &n, f->msg, sizeof(f->msg)) < 0)
		return massctl_protocol(f);
	if (r->status != MASS_STATUS_OK)
		return massctl_status_fail(o, r->status, f);
	if (o->json)
		fputs("{\"users\":[", out);
	for (size_t i = 0; i < n; i++) {
		if (o->json) {
			if (i)
				fputc(',', out);
			massctl_json_print(out, names[i].name, names[i].len);
		} else {
			fprintf(out, "%.*s\n", (int)names[i].len, names[i].name);
		}
	}
	if (o->json)
		fputs("]}\n", out);
	return 0;
}

/* Network text for humans: printable ASCII as is, other octets as \xHH. */
static void massctl_text_print(FILE *out, const struct massctl_name *s)
{
	massctl_text_put(out, s->name, s->len);
}

static const char *massctl_state_name(uint8_t st)
{
	static const char *const names[] = { "greeting", "auth", "request", "connecting",
					     "relaying", "bind", "udp", "closing" };

	return st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

static const char *massctl_cmd_name(uint8_t cmd)
{
	static const char *const names[] = { "-", "connect", "bind", "udp" };

	return cmd < sizeof(names) / sizeof(names[0]) ? names[cmd] : "?";
}

/* One session as a JSON object. */
static void massctl_session_json(FILE *out, const struct massctl_session *s)
{
	fprintf(out, "{\"id\":%" PRIu64 ",\"state\":\"%s\",\"command\":\"%s\",\"user\":",
		s->id, massctl_state_name(s->state), massctl_cmd_name(s->cmd));
	if (s->user.len)
		massctl_json_print(out, s->user.name, s->user.len);
	else
		fputs("null", out);
	fputs(",\"client\":", out);
	massctl_json_print(out, s->client.name, s->client.len);
	fprintf(out, ",\"client_port\":%u,\"destination\":", (unsigned)s->client_port);
	massctl_json_print(out, s->dest.name, s->dest.len);
	fprintf(out, ",\"destination_port\":%u,\"from_client_bytes\":%" PRIu64
		",\"to_client_bytes\":%" PRIu64 ",\"age_ms\":%" PRIu64 "}",
		(unsigned)s->dest_port, s->from_client, s->to_client, s->age_ms);
}

/* sessions: a table, or {"total":N,"sessions":[...]}; total > listed is noted. */
static int massctl_print_sessions(const struct massctl_opts *o, const uint8_t *req,
				  size_t req_len, const struct massctl_reply *r, FILE *out,
				  struct massctl_fail *f)
{
	static struct massctl_session list[MASSCTL_SESSIONS_MAX];
	uint32_t total = 0;
	size_t n = 0;

	(void)req, (void)req_len;
	if (massctl_decode_sessions(r, list, &n, &total, f->msg, sizeof(f->msg)) < 0)
		return massctl_protocol(f);
	if (r->status != MASS_STATUS_OK)
		return massctl_status_fail(o, r->status, f);
	if (o->json) {
		fprintf(out, "{\"total\":%" PRIu32 ",\"sessions\":[", total);
		for (size_t i = 0; i < n; i++) {
			if (i)
				fputc(',', out);
			massctl_session_json(out, &list[i]);
		}
		fputs("]}\n", out);
		return 0;
	}
	fputs("ID\tSTATE\tCMD\tUSER\tCLIENT\tDESTINATION\tFROM_CLIENT\tTO_CLIENT\tAGE_S\n", out);
	for (size_t i = 0; i < n; i++) {
		const struct massctl_session *s = &list[i];

		fprintf(out, "%" PRIu64 "\t%s\t%s\t", s->id, massctl_state_name(s->state),
			massctl_cmd_name(s->cmd));
		if (s->user.len)
			massctl_text_print(out, &s->user);
		else
			fputc('-', out);
		fputc('\t', out);
		massctl_text_print(out, &s->client);
		fprintf(out, ":%u\t", (unsigned)s->client_port);
		if (s->dest.len) {
			massctl_text_print(out, &s->dest);
			fprintf(out, ":%u", (unsigned)s->dest_port);
		} else {
			fputc('-', out);
		}
		fprintf(out, "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\n", s->from_client,
			s->to_client, s->age_ms / 1000);
	}
	if (n < total)
		fprintf(stderr, "massctl: %zu of %" PRIu32 " sessions listed (one reply's worth)\n",
			n, total);
	return 0;
}

/* kick: how many sessions were closed. */
static int massctl_print_kick(const struct massctl_opts *o, const uint8_t *req, size_t req_len,
			      const struct massctl_reply *r, FILE *out, struct massctl_fail *f)
{
	uint32_t n = 0;

	(void)req, (void)req_len;
	if (massctl_decode_u32(r, &n, f->msg, sizeof(f->msg)) < 0)
		return massctl_protocol(f);
	if (r->status != MASS_STATUS_OK)
		return massctl_status_fail(o, r->status, f);
	fprintf(out, o->json ? "{\"closed\":%" PRIu32 "}\n" : "closed %" PRIu32 "\n", n);
	return 0;
}

static int massctl_print_user_stats(const struct massctl_opts *o, const uint8_t *req,
				    size_t req_len, const struct massctl_reply *r, FILE *out,
				    struct massctl_fail *f)
{
	static struct massctl_user_stat list[MASSCTL_USER_STATS_MAX];
	size_t n = 0;

	(void)req, (void)req_len;
	if (massctl_decode_user_stats(r, list, &n, f->msg, sizeof(f->msg)) < 0)
		return massctl_protocol(f);
	if (r->status != MASS_STATUS_OK)
		return massctl_status_fail(o, r->status, f);
	fputs(o->json ? "{\"users\":{" : "USER\tCONNECTIONS\tFROM_CLIENT\tTO_CLIENT\n", out);
	for (size_t i = 0; i < n; i++) {
		if (o->json) {
			if (i)
				fputc(',', out);
			massctl_json_print(out, list[i].user.name, list[i].user.len);
			fprintf(out, ":{\"connections\":%" PRIu64 ",\"from_client_bytes\":%" PRIu64
				",\"to_client_bytes\":%" PRIu64 "}", list[i].connections,
				list[i].from_client, list[i].to_client);
		} else {
			massctl_text_print(out, &list[i].user);
			fprintf(out, "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\n", list[i].connections,
				list[i].from_client, list[i].to_client);
		}
	}
	if (o->json)
		fputs("}}\n", out);
	return 0;
}

/* The layouts of the limits plugin's replies (mass-protocol(7), 16 and 17). */
#define MASSCTL_CLASSES_LAYOUT "classes:[name:str,limits:str]"
#define MASSCTL_USER_LIMITS_LAYOUT "class:str,period_start:u64,used:u64,quota:u64," \
	"rate_up:u64,rate_down:u64,sessions:u32,delayed:u64,refused:u64"

/*
 * A reply printed by its layout: checked whole first, then -j one JSON
 * object (massctl_layout_print), text through fn when given (per item),
 * else one "NAME VALUE" line per field.
 */
static int massctl_print_layout(const struct massctl_opts *o, const struct massctl_reply *r,
				FILE *out, const char *layout, layout_fn *fn,
				struct massctl_fail *f)
{
	if (r->status != MASS_STATUS_OK) {
		if (massctl_decode_empty(r, f->msg, sizeof(f->msg)) < 0)
			return massctl_protocol(f);
		return massctl_status_fail(o, r->status, f);
	}
	if (layout_decode(layout, r->data, r->len, NULL, NULL, f->msg, sizeof(f->msg)) < 0)
		return massctl_protocol(f);
	if (o->json || fn == NULL) {
		massctl_layout_print(out, layout, r->data, r->len, o->json, f->msg, sizeof(f->msg));
		if (o->json)
			fputc('\n', out);
		return 0;
	}
	return layout_decode(layout, r->data, r->len, fn, out, f->msg, sizeof(f->msg)) ? -1 : 0;
}

/* classes as text: "CLASS<TAB>LIMITS" lines under a header. */
static int massctl_class_line(void *arg, const struct layout_item *it)
{
	FILE *out = arg;

	if (it->event == LAYOUT_LIST_BEGIN)
		fputs("CLASS\tLIMITS\n", out);
	else if (it->event == LAYOUT_FIELD && it->type == LAYOUT_STR) {
		massctl_text_put(out, (const char *)it->data, it->len);
		fputc(it->name_len == 4 && memcmp(it->name, "name", 4) == 0 ? '\t' : '\n', out);
	}
	return 0;
}

static int massctl_print_classes(const struct massctl_opts *o, const uint8_t *req,
				 size_t req_len, const struct massctl_reply *r, FILE *out,
				 struct massctl_fail *f)
{
	(void)req, (void)req_len;
	return massctl_print_layout(o, r, out, MASSCTL_CLASSES_LAYOUT, massctl_class_line, f);
}

/* user-limits: "NAME VALUE" lines, or one JSON object. */
static int massctl_print_user_limits(const struct massctl_opts *o, const uint8_t *req,
				     size_t req_len, const struct massctl_reply *r, FILE *out,
				     struct massctl_fail *f)
{
	(void)req, (void)req_len;
	return massctl_print_layout(o, r, out, MASSCTL_USER_LIMITS_LAYOUT, NULL, f);
}

/*
 * upstreams (1A): one "NAME VALUE" line per field, as the reply layout
 * names them (upstreams[N].state: 0 up, 1 failing, 2 down, 3 probe), or
 * the JSON object.
 */
static int massctl_print_upstreams(const struct massctl_opts *o, const uint8_t *req,
				   size_t req_len, const struct massctl_reply *r, FILE *out,
				   struct massctl_fail *f)
{
	(void)req, (void)req_len;
	if (r->status != MASS_STATUS_OK)
		return massctl_status_fail(o, r->status, f);
	if (massctl_layout_print(out, MASSCTL_UPSTREAMS_LAYOUT, r->data, r->len, o->json, f->msg,
				 sizeof(f->msg)) < 0)
		return massctl_protocol(f);
	if (o->json)
		fputc('\n', out);
	return 0;
}

/* One served index: "xx  PLUGIN VERSION  USAGE", or its JSON member. */
static void massctl_usage_print(const struct massctl_opts *o, FILE *out,
				const struct massctl_index_usage *u, bool rows12, bool first)
{
	if (o->json) {
		fprintf(out, "%s\"%02x\":{\"plugin\":", first ? "" : ",", u->index);
		massctl_json_print(out, u->plugin.name, u->plugin.len);
		fputs(",\"version\":", out);
		massctl_json_print(out, u->version.name, u->version.len);
		fputs(",\"usage\":", out);
		massctl_json_print(out, u->usage.name, u->usage.len);
		if (rows12) {
			fputs(",\"signature\":", out);
			massctl_json_print(out, u->signature.name, u->signature.len);
			fputs(",\"layout\":", out);
			massctl_json_print(out, u->layout.name, u->layout.len);
		}
		fputc('}', out);
		return;
	}
	fprintf(out, "%02x  ", u->index);
	massctl_text_print(out, &u->plugin);
	fputc(' ', out);
	massctl_text_print(out, &u->version);
	fputs("  ", out);
	massctl_text_print(out, &u->usage);
	fputc('\n', out);
}

/* Who sees a note: everyone, -V and -j (a guess was made), or -V alone. */
enum massctl_note_level { MASSCTL_NOTE_ALWAYS, MASSCTL_NOTE_GUESS, MASSCTL_NOTE_VERBOSE };

/* "massctl: CMD: note: ..." on io->note, for the readers level names. */
static void massctl_note(const struct massctl_opts *o, const struct massctl_io *io,
			 enum massctl_note_level level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void massctl_note(const struct massctl_opts *o, const struct massctl_io *io,
			 enum massctl_note_level level, const char *fmt, ...)
{
	va_list ap;

	if ((level == MASSCTL_NOTE_GUESS && !o->verbose && !o->json) ||
	    (level == MASSCTL_NOTE_VERBOSE && !o->verbose))
		return;
	fprintf(io->note, "massctl: %s: note: ", o->cmd_name);
	va_start(ap, fmt);
	vfprintf(io->note, fmt, ap);
	va_end(ap);
	fputc('\n', io->note);
}

/* What asking index 14 found. */
enum massctl_info_found {
	MASSCTL_INFO_FAILED = -1,     /* the exchange failed: f is set */
	MASSCTL_INFO_NOT_SERVED = 0,  /* 14 answered a failure status (in *status) */
	MASSCTL_INFO_OK = 1,          /* the info plugin: *info is its reply */
	MASSCTL_INFO_OTHER = 2        /* 14 is some other plugin: why says how we know */
};

/*
 * Asks 14 and decides whether it is the info plugin: its reply must decode
 * as an info reply and its own row must name plugin "info". *info points
 * into a buffer of this function, valid until the next call.
 */
static enum massctl_info_found massctl_get_info(const struct massctl_io *io,
						const struct massctl_info **info, uint8_t *status,
						char *why, size_t whylen, struct massctl_fail *f)
{
	static uint8_t rep[MASSCTL_REPLY_MAX];
	static struct massctl_info got;
	struct massctl_reply r;
	char err[192];

	if (massctl_ask(io, MASSCTL_IX_INFO, rep, sizeof(rep), &r, f) < 0)
		return MASSCTL_INFO_FAILED;
	*status = r.status;
	if (r.status != MASS_STATUS_OK && r.len == 0)
		return MASSCTL_INFO_NOT_SERVED;
	if (massctl_decode_info(&r, &got, err, sizeof(err)) < 0) {
		snprintf(why, whylen, "index 14 is not the info plugin (its reply is no info "
			 "reply: %s)", err);
		return MASSCTL_INFO_OTHER;
	}
	if (!massctl_info_serves(&got, MASSCTL_IX_INFO, "info")) {
		snprintf(why, whylen, "index 14 is not the info plugin (its row does not name "
			 "plugin info)");
		return MASSCTL_INFO_OTHER;
	}
	*info = &got;
	return MASSCTL_INFO_OK;
}

int massctl_find_index(const struct massctl_opts *o, const struct massctl_io *io,
		       const char *plugin, uint8_t documented, uint8_t *ix, struct massctl_fail *f)
{
	const struct massctl_info *info = NULL;
	uint8_t status = 0;
	char why[256] = "";

	*ix = documented;
	switch (massctl_get_info(io, &info, &status, why, sizeof(why), f)) {
	case MASSCTL_INFO_FAILED:
		return -1;
	case MASSCTL_INFO_NOT_SERVED:
		massctl_note(o, io, MASSCTL_NOTE_GUESS, "info (14) not served (status %02x): using the "
			     "documented index %02x of plugin %s", status, documented, plugin);
		return 0;
	case MASSCTL_INFO_OTHER:
		massctl_note(o, io, MASSCTL_NOTE_GUESS, "%s: using the documented index %02x of plugin %s",
			     why, documented, plugin);
		return 0;
	case MASSCTL_INFO_OK:
		break;
	}
	if (massctl_info_serves(info, documented, plugin)) {
		massctl_note(o, io, MASSCTL_NOTE_VERBOSE, "index %02x found by info: plugin %s",
			     documented, plugin);
		return 1;
	}
	massctl_fail_set(f, MASSCTL_EXIT_UNSUPPORTED, massctl_info_row(info, documented)
			 ? "index %02x is served by another plugin than %s (info)"
			 : "index %02x of plugin %s is not served (info)", documented, plugin);
	return -1;
}

/* info's fields, as text or JSON. */
static void massctl_info_print(const struct massctl_opts *o, FILE *out,
			       const struct massctl_info *info)
{
	if (o->json) {
		fputs("{\"version\":", out);
		massctl_json_print(out, info->version.name, info->version.len);
		fprintf(out, ",\"start_time\":%" PRIu64 ",\"uptime\":%" PRIu64 ",\"indexes\":{",
			info->start_time, info->uptime);
	} else {
		fputs("socks5d ", out);
		massctl_text_print(out, &info->version);
		fprintf(out, "\nstarted %" PRIu64 " (Unix time)\nuptime %" PRIu64 " s\n",
			info->start_time, info->uptime);
	}
	for (size_t i = 0; i < info->n; i++)
		massctl_usage_print(o, out, &info->ix[i], info->rows12, i == 0);
	if (o->json)
		fputs("}}\n", out);
}

/* The 00 list, each index with its info row when info is given. */
static void massctl_indexes_print(const struct massctl_opts *o, FILE *out, const uint8_t *ix,
				  size_t n, const struct massctl_info *info)
{
	if (o->json)
		fputs("{\"indexes\":[", out);
	for (size_t i = 0; i < n; i++) {
		const struct massctl_index_usage *u = info ? massctl_info_row(info, ix[i]) : NULL;

		if (o->json)
			fprintf(out, "%s\"%02x\"", i ? "," : "", ix[i]);
		else if (u != NULL)
			massctl_usage_print(o, out, u, info->rows12, false);
		else
			fprintf(out, "%02x\n", ix[i]);
	}
	if (o->json) {
		fputc(']', out);
		if (info && info->n > 0) {
			fputs(",\"usage\":{", out);
			for (size_t j = 0; j < info->n; j++)
				massctl_usage_print(o, out, &info->ix[j], info->rows12, j == 0);
			fputc('}', out);
		}
		fputs("}\n", out);
	}
}

/* Asks 00 into ix (256 octets). Returns 0, or -1 with f set (a failure status too). */
static int massctl_served(const struct massctl_opts *o, const struct massctl_io *io,
			  uint8_t *ix, size_t *n, struct massctl_fail *f)
{
	uint8_t rep[2 + 256];
	struct massctl_reply r;

	if (massctl_ask(io, MASSCTL_IX_INDEXES, rep, sizeof(rep), &r, f) < 0)
		return -1;
	if (massctl_decode_indexes(&r, ix, n, f->msg, sizeof(f->msg)) < 0)
		return massctl_protocol(f);
	if (r.status != MASS_STATUS_OK)
		return massctl_status_fail(o, r.status, f);
	return 0;
}

/*
 * indexes: the served indexes (00); when index 14 is listed and is the info
 * plugin, each with the plugin serving it and its usage. Any other plugin
 * on 14 leaves the plain list, with a note.
 */
static int massctl_run_indexes(const struct massctl_opts *o, const struct massctl_io *io,
			       struct massctl_fail *f)
{
	const struct massctl_info *info = NULL;
	uint8_t ix[256], status = 0;
	char why[256];
	size_t n = 0;

	if (massctl_served(o, io, ix, &n, f) < 0)
		return -1;
	if (memchr(ix, MASSCTL_IX_INFO, n) != NULL) {
		switch (massctl_get_info(io, &info, &status, why, sizeof(why), f)) {
		case MASSCTL_INFO_FAILED:
			return -1;
		case MASSCTL_INFO_OTHER:
			massctl_note(o, io, MASSCTL_NOTE_ALWAYS, "%s: the plain list", why);
			break;
		case MASSCTL_INFO_NOT_SERVED:   /* disabled in between: the plain list */
		case MASSCTL_INFO_OK:
			break;
		}
	}
	massctl_indexes_print(o, io->out, ix, n, info);
	return 0;
}

/*
 * info: the info plugin's reply. When index 14 is served by some other
 * plugin, the plain list of 00 instead, with a note; not served: status 02.
 */
static int massctl_run_info(const struct massctl_opts *o, const struct massctl_io *io,
			    struct massctl_fail *f)
{
	const struct massctl_info *info = NULL;
	uint8_t ix[256], status = 0;
	char why[256];
	size_t n = 0;

	switch (massctl_get_info(io, &info, &status, why, sizeof(why), f)) {
	case MASSCTL_INFO_FAILED:
		return -1;
	case MASSCTL_INFO_NOT_SERVED:
		return massctl_status_fail(o, status, f);
	case MASSCTL_INFO_OTHER:
		massctl_note(o, io, MASSCTL_NOTE_ALWAYS, "%s: the served indexes instead", why);
		if (massctl_served(o, io, ix, &n, f) < 0)
			return -1;
		massctl_indexes_print(o, io->out, ix, n, NULL);
		return 0;
	case MASSCTL_INFO_OK:
		break;
	}
	massctl_info_print(o, io->out, info);
	return 0;
}

int massctl_print_empty(const struct massctl_opts *o, const uint8_t *req, size_t req_len,
			const struct massctl_reply *r, FILE *out, struct massctl_fail *f)
{
	(void)req, (void)req_len;
	if (massctl_decode_empty(r, f->msg, sizeof(f->msg)) < 0)
		return massctl_protocol(f);
	if (r->status != MASS_STATUS_OK)
		return massctl_status_fail(o, r->status, f);
	if (o->json)
		fputs("{\"status\":\"00\"}\n", out);
	return 0;
}

/*
 * The reply layout that info declares for index ix, into buf (256 bytes).
 * Returns 1 when there is one, 0 when there is none (noted with -V/-j), -1
 * when asking failed.
 */
static int massctl_raw_layout(const struct massctl_opts *o, const struct massctl_io *io,
			      uint8_t ix, char *buf, struct massctl_fail *f)
{
	const struct massctl_info *info = NULL;
	const struct massctl_index_usage *u;
	uint8_t status = 0;
	char why[256];

	switch (massctl_get_info(io, &info, &status, why, sizeof(why), f)) {
	case MASSCTL_INFO_FAILED:
		return -1;
	case MASSCTL_INFO_NOT_SERVED:
		massctl_note(o, io, MASSCTL_NOTE_VERBOSE, "info (14) not served: the reply in hex only");
		return 0;
	case MASSCTL_INFO_OTHER:
		massctl_note(o, io, MASSCTL_NOTE_VERBOSE, "%s: the reply in hex only", why);
		return 0;
	case MASSCTL_INFO_OK:
		break;
	}
	u = massctl_info_row(info, ix);
	if (u == NULL || u->layout.len == 0) {
		massctl_note(o, io, MASSCTL_NOTE_VERBOSE, "index %02x declares no reply layout (info): "
			     "the reply in hex only", ix);
		return 0;
	}
	memcpy(buf, u->layout.name, u->layout.len);
	buf[u->layout.len] = '\0';
	return 1;
}

/*
 * raw: prints status and fields in hex whatever the status; after a 00
 * with fields, also the fields by the layout the info row of the index
 * declares (a second exchange). A reply that does not follow its layout
 * is shown in hex and fails as malformed.
 */
static int massctl_raw_print(const struct massctl_opts *o, const struct massctl_io *io,
			     uint8_t ix, const struct massctl_reply *r, struct massctl_fail *f)
{
	char *hex = malloc(2 * r->len + 1), layout[256], why[200] = "";
	int have = 0;
	bool bad = false;

	if (!hex)
		return massctl_fail_set(f, MASSCTL_EXIT_SOFTWARE, "out of memory");
	massctl_hex_encode(r->data, r->len, hex, 2 * r->len + 1);
	if (r->status == MASS_STATUS_OK && r->len > 0 &&
	    (have = massctl_raw_layout(o, io, ix, layout, f)) < 0) {
		free(hex);
		return -1;
	}
	bad = have && layout_decode(layout, r->data, r->len, NULL, NULL, why, sizeof(why)) != 0;
	if (o->json)
		fprintf(io->out, "{\"index\":\"%02x\",\"status\":\"%02x\",\"data\":\"%s\"",
			ix, r->status, hex);
	else
		fprintf(io->out, "status %02x\ndata%s%s\n", r->status, r->len ? " " : "", hex);
	free(hex);
	if (have && !bad && o->json)
		fputs(",\"fields\":", io->out);
	if (have && !bad)
		massctl_layout_print(io->out, layout, r->data, r->len, o->json, why, sizeof(why));
	if (bad && o->json) {
		fputs(",\"layout_error\":", io->out);
		massctl_json_print(io->out, why, strlen(why));
	}
	if (o->json)
		fputs("}\n", io->out);
	if (bad) {
		massctl_fail_set(f, MASSCTL_EXIT_PROTOCOL, "reply does not follow the layout "
				 "of index %02x: %s", ix, why);
		f->shown = o->json;   /* -j: the object says it as layout_error */
		return -1;
	}
	if (r->status != MASS_STATUS_OK) {
		massctl_status_fail(o, r->status, f);
		f->shown = true;
		return -1;
	}
	return 0;
}

/* What to do with the one reply of a single-request command. */
typedef int massctl_done_fn(const struct massctl_opts *o, const struct massctl_io *io,
			    const uint8_t *req, size_t used, const struct massctl_reply *r,
			    struct massctl_fail *f);

/*
 * One request, one reply: builds the request (a bundled plugin's index is
 * first looked up in the info reply), exchanges it, splits the reply and
 * hands it to done.
 */
static int massctl_one_exchange(const struct massctl_opts *o, const struct massctl_io *io,
				massctl_done_fn *done, struct massctl_fail *f)
{
	static uint8_t req[MASSCTL_REQ_MAX];
	struct massctl_reply r;
	uint8_t *rep;
	size_t used;
	long n;
	int ret = -1;

	if (massctl_cli_request(o, req, sizeof(req), &used, f->msg, sizeof(f->msg)) < 0) {
		f->code = MASSCTL_EXIT_USAGE;
		return -1;
	}
	if (o->cmd->plugin != NULL &&
	    massctl_find_index(o, io, o->cmd->plugin, req[0], &req[0], f) < 0)
		return -1;
	rep = malloc(MASSCTL_REPLY_MAX);
	if (!rep)
		return massctl_fail_set(f, MASSCTL_EXIT_SOFTWARE, "out of memory");
	n = io->exchange(io->ctx, req, used, rep, MASSCTL_REPLY_MAX, f);
	if (n >= 0) {
		if (massctl_reply_split(rep, (size_t)n, &r, f->msg, sizeof(f->msg)) < 0)
			massctl_protocol(f);
		else
			ret = done(o, io, req, used, &r, f);
	}
	free(rep);
	return ret;
}

static int massctl_raw_done(const struct massctl_opts *o, const struct massctl_io *io,
			    const uint8_t *req, size_t used, const struct massctl_reply *r,
			    struct massctl_fail *f)
{
	(void)used;
	return massctl_raw_print(o, io, req[0], r, f);
}

/* raw: the request as given, one exchange, then massctl_raw_print. */
static int massctl_run_raw(const struct massctl_opts *o, const struct massctl_io *io,
			   struct massctl_fail *f)
{
	return massctl_one_exchange(o, io, massctl_raw_done, f);
}

/* The default: the row's print (massctl_print_empty when it has none). */
static int massctl_print_done(const struct massctl_opts *o, const struct massctl_io *io,
			      const uint8_t *req, size_t used, const struct massctl_reply *r,
			      struct massctl_fail *f)
{
	massctl_print_fn *print = o->cmd->print ? o->cmd->print : massctl_print_empty;

	return print(o, req, used, r, io->out, f);
}

int massctl_cmd_run(const struct massctl_opts *o, const struct massctl_io *io,
		    struct massctl_fail *f)
{
	if (o->cmd->run)
		return o->cmd->run(o, io, f);
	return massctl_one_exchange(o, io, massctl_print_done, f);
}

/* help -j: {"commands":[{"name":..,"args":..,"help":..,"index":"0a"|null},..]}, from the rows. */
static void massctl_help_json(FILE *out)
{
	fputs("{\"commands\":[", out);
	for (size_t i = 0; i < massctl_ncmds; i++) {
		const struct massctl_cmd *c = &massctl_cmds[i];

		fputs(i ? ",{\"name\":" : "{\"name\":", out);
		massctl_json_print(out, c->names[0], strlen(c->names[0]));
		fputs(",\"args\":", out);
		massctl_json_print(out, c->args, strlen(c->args));
		fputs(",\"help\":", out);
		massctl_json_print(out, c->help, strlen(c->help));
		if (c->index != MASSCTL_NO_INDEX)
			fprintf(out, ",\"index\":\"%02x\"}", (unsigned)c->index);
		else
			fputs(",\"index\":null}", out);
	}
	fputs("]}\n", out);
}

static int massctl_run_help(const struct massctl_opts *o, const struct massctl_io *io,
			    struct massctl_fail *f)
{
	(void)f;
	if (o->json)
		massctl_help_json(io->out);
	else
		massctl_cli_usage(io->out);
	return 0;
}

/*
 * hash: local, no exchange. Its arguments stand right after the command
 * name in argv, so o->args - 1 is the argv that massctl_hash_run() takes
 * (argv[0] "hash"); it prints the hash (-j: as JSON), and its reason for
 * not doing so becomes the failure's, on stderr and in the -j object.
 */
static int massctl_run_hash(const struct massctl_opts *o, const struct massctl_io *io,
			    struct massctl_fail *f)
{
	char why[sizeof(f->msg)] = "no hash made";
	int r;

	r = massctl_hash_run(o->nargs + 1, o->args - 1, o->json, io->out, why, sizeof(why));
	if (r == 0)
		return 0;
	return massctl_fail_set(f, r == 2 ? MASSCTL_EXIT_USAGE : 1, "%s", why);
}

/* One single-octet request whose reply is split into r (rep holds it). */
static int massctl_ask(const struct massctl_io *io, uint8_t ix, uint8_t *rep, size_t cap,
		       struct massctl_reply *r, struct massctl_fail *f)
{
	long n = io->exchange(io->ctx, &ix, 1, rep, cap, f);

	if (n < 0)
		return -1;
	if (massctl_reply_split(rep, (size_t)n, r, f->msg, sizeof(f->msg)) < 0)
		return massctl_protocol(f);
	return 0;
}

/*
 * Whether 0F is the metrics plugin's snapshot: by the info reply when 14 is
 * listed (info_listed) and is info, else by the documented number (noted).
 * Returns 1 yes, 0 no (then the counters one by one), -1 failure.
 */
static int massctl_stats_is_metrics(const struct massctl_opts *o, const struct massctl_io *io,
				    bool info_listed, struct massctl_fail *f)
{
	const struct massctl_info *info = NULL;
	uint8_t status = 0;
	char why[256] = "info (14) not served";

	switch (info_listed ? massctl_get_info(io, &info, &status, why, sizeof(why), f)
		: MASSCTL_INFO_NOT_SERVED) {
	case MASSCTL_INFO_FAILED:
		return -1;
	case MASSCTL_INFO_OK:
		if (massctl_info_serves(info, MASSCTL_IX_COUNTERS64, "metrics"))
			return 1;
		massctl_note(o, io, MASSCTL_NOTE_GUESS, "index 0f is not the metrics plugin's (info): "
			     "the counters 02..09 one by one");
		return 0;
	case MASSCTL_INFO_NOT_SERVED:
		strcpy(why, "info (14) not served");
		break;
	case MASSCTL_INFO_OTHER:
		break;
	}
	massctl_note(o, io, MASSCTL_NOTE_GUESS, "%s: 0f taken as the metrics plugin's counters by its "
		     "documented number", why);
	return 1;
}

/*
 * The snapshot from 0F when index 00 lists it. Returns 1 with vals set, 0
 * when 0F is not served (not listed, or it answers 02, or 00 fails), or -1.
 */
static int massctl_stats_64(const struct massctl_opts *o, const struct massctl_io *io,
			    uint64_t *vals, struct massctl_fail *f)
{
	uint8_t rep[2 + 255 * 8], ix[256];
	struct massctl_reply r;
	size_t n = 0;
	int r64;

	if (massctl_ask(io, MASSCTL_IX_INDEXES, rep, sizeof(rep), &r, f) < 0)
		return -1;
	if (massctl_decode_indexes(&r, ix, &n, f->msg, sizeof(f->msg)) < 0)
		return massctl_protocol(f);
	if (r.status != MASS_STATUS_OK || !memchr(ix, MASSCTL_IX_COUNTERS64, n))
		return 0;
	if ((r64 = massctl_stats_is_metrics(o, io, memchr(ix, MASSCTL_IX_INFO, n) != NULL, f)) <= 0)
		return r64;
	if (massctl_ask(io, MASSCTL_IX_COUNTERS64, rep, sizeof(rep), &r, f) < 0)
		return -1;
	if (massctl_decode_counters64(&r, vals, f->msg, sizeof(f->msg)) < 0)
		return massctl_protocol(f);
	if (r.status == MASS_STATUS_UNSUPPORTED)
		return 0;   /* disabled between the two requests: use 02..09 */
	if (r.status != MASS_STATUS_OK)
		return massctl_status_fail(o, r.status, f);
	return 1;
}

/*
 * The counters one by one (02..09, u32 each); an unserved one is noted and
 * left out. Returns the number left out, or -1.
 */
static int massctl_stats_32(const struct massctl_opts *o, const struct massctl_io *io,
			    uint64_t *vals, bool *have, struct massctl_fail *f)
{
	int missing = 0;

	for (unsigned i = 0; i < MASSCTL_NCOUNTERS; i++) {
		uint8_t ix = (uint8_t)(MASSCTL_IX_FIRST_COUNTER + i), rep[16];
		struct massctl_reply r;
		uint32_t v = 0;

		if (massctl_ask(io, ix, rep, sizeof(rep), &r, f) < 0)
			return -1;
		if (massctl_decode_u32(&r, &v, f->msg, sizeof(f->msg)) < 0)
			return massctl_protocol(f);
		vals[i] = v;
		have[i] = r.status == MASS_STATUS_OK;
		if (r.status == MASS_STATUS_UNSUPPORTED) {
			fprintf(io->note, "massctl: stats: %s (index %02x) not served, skipped\n",
				massctl_counter_name(ix), ix);
			missing++;
		} else if (r.status != MASS_STATUS_OK) {
			return massctl_status_fail(o, r.status, f);
		}
	}
	return missing;
}

/*
 * stats: one snapshot from 0F when the server serves it, else one request
 * per counter (02..09). Nothing is printed before every counter is read.
 */
static int massctl_run_stats(const struct massctl_opts *o, const struct massctl_io *io,
			     struct massctl_fail *f)
{
	uint64_t vals[MASSCTL_NCOUNTERS];
	bool have[MASSCTL_NCOUNTERS];
	int r, missing = 0;

	r = massctl_stats_64(o, io, vals, f);
	if (r < 0)
		return -1;
	for (unsigned i = 0; i < MASSCTL_NCOUNTERS; i++)
		have[i] = true;
	if (r == 0 && (missing = massctl_stats_32(o, io, vals, have, f)) < 0)
		return -1;
	if (o->json)
		fputc('{', io->out);
	for (unsigned i = 0; i < MASSCTL_NCOUNTERS; i++) {
		const char *name = massctl_counter_name(MASSCTL_IX_FIRST_COUNTER + i);

		if (o->json && have[i])
			fprintf(io->out, "%s\"%s\":%" PRIu64, i ? "," : "", name, vals[i]);
		else if (o->json)
			fprintf(io->out, "%s\"%s\":null", i ? "," : "", name);
		else if (have[i])
			fprintf(io->out, "%s %" PRIu64 "\n", name, vals[i]);
	}
	if (o->json)
		fputs("}\n", io->out);
	if (missing) {
		massctl_fail_set(f, MASSCTL_EXIT_UNSUPPORTED,
				 "%d counter(s) not served by the server", missing);
		f->shown = true;
		return -1;
	}
	return 0;
}

void massctl_json_fail(FILE *out, const char *command, const struct massctl_fail *f)
{
	char msg[6 * sizeof(f->msg) + 3];

	massctl_json_string(f->msg, strnlen(f->msg, sizeof(f->msg)), msg, sizeof(msg));
	fputc('{', out);
	if (command) {
		fputs("\"command\":", out);
		massctl_json_print(out, command, strlen(command));
		fputc(',', out);
	}
	fprintf(out, "\"error\":%s,\"exit\":%d", msg, f->code);
	if (f->has_status)
		fprintf(out, ",\"status\":\"%02x\"", f->status);
	fputs("}\n", out);
}
