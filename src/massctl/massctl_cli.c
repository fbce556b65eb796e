/* massctl_cli: command-line parsing and request building. See massctl_cli.h. */
#include "massctl_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "massctl_wire.h"
#include "auth/cred.h"

const char massctl_usage[] =
	"usage: massctl [-H HOST] [-P PORT] [-u ADMIN:PASS] [-j] [-t SECONDS] COMMAND [ARG...]\n"
	"       massctl -h | -v\n"
	"commands:\n"
	"  indexes                 list the served indexes (00)\n"
	"  users                   list the SOCKS users (01)\n"
	"  stats                   print the counters (02..09)\n"
	"  add-user NAME PASS      add a SOCKS user (0A)\n"
	"  del-user NAME           delete a SOCKS user (0B)\n"
	"  auth on|off             SOCKS authentication (0C)\n"
	"  dissectors on|off       password dissectors (0D)\n"
	"  raw INDEX [PARAM...]    send any index; PARAM is text (sent as LENGTH+DATA)\n"
	"                          or x:HEX (sent as raw octets)\n"
	"options:\n"
	"  -H HOST    management host, name or address (default " MASSCTL_DEFAULT_HOST ")\n"
	"  -P PORT    management port (default " MASSCTL_DEFAULT_PORT ")\n"
	"  -u ADMIN:PASS  admin login (default: $MASS_ADMIN; none: no login offered)\n"
	"  -j         print JSON\n"
	"  -t SECONDS time allowed for each connection (default 10)\n"
	"  -h         this help;  -v  version\n";

struct massctl_cmd_desc {
	const char *name;
	enum massctl_cmd cmd;
	int min_args, max_args;   /* max -1: unbounded */
	const char *synopsis;
};

static const struct massctl_cmd_desc massctl_cmds[] = {
	{ "indexes", MASSCTL_CMD_INDEXES, 0, 0, "indexes" },
	{ "users", MASSCTL_CMD_USERS, 0, 0, "users" },
	{ "stats", MASSCTL_CMD_STATS, 0, 0, "stats" },
	{ "add-user", MASSCTL_CMD_ADD_USER, 2, 2, "add-user NAME PASS" },
	{ "del-user", MASSCTL_CMD_DEL_USER, 1, 1, "del-user NAME" },
	{ "auth", MASSCTL_CMD_AUTH, 1, 1, "auth on|off" },
	{ "dissectors", MASSCTL_CMD_DISSECTORS, 1, 1, "dissectors on|off" },
	{ "raw", MASSCTL_CMD_RAW, 1, -1, "raw INDEX [PARAM...]" },
};

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

static int massctl_cli_options(struct massctl_opts *o, int argc, char **argv,
			       char *err, size_t errlen)
{
	int c;

	optind = 0;   /* glibc: a full restart, so tests can parse repeatedly */
	opterr = 0;
	while ((c = getopt(argc, argv, "+H:P:u:jt:hv")) != -1) {
		switch (c) {
		case 'H':
			if (optarg[0] == '\0') {
				snprintf(err, errlen, "-H: empty host");
				return -1;
			}
			o->host = optarg;
			break;
		case 'P':
			if (massctl_cli_port(optarg, err, errlen) < 0)
				return -1;
			o->port = optarg;
			break;
		case 'u':
			if (massctl_cli_admin(o, optarg, "-u", err, errlen) < 0)
				return -1;
			break;
		case 'j':
			o->json = true;
			break;
		case 't':
			if (massctl_cli_timeout(optarg, &o->timeout, err, errlen) < 0)
				return -1;
			break;
		case 'h':
			o->help = true;
			break;
		case 'v':
			o->version = true;
			break;
		default:
			if (strchr("HPut", optopt))
				snprintf(err, errlen, "-%c needs an argument", optopt);
			else
				snprintf(err, errlen, "unknown option -%c", optopt);
			return -1;
		}
	}
	return 0;
}

static int massctl_cli_onoff(const char *cmd, const char *s, char *err, size_t errlen)
{
	if (strcmp(s, "on") == 0 || strcmp(s, "off") == 0)
		return 0;
	snprintf(err, errlen, "%s: expected on or off, not '%s'", cmd, s);
	return -1;
}

static int massctl_cli_name(const char *cmd, const char *s, char *err, size_t errlen)
{
	if (cred_valid_name(s, strlen(s)))
		return 0;
	snprintf(err, errlen, "%s: not a valid user name (1..255 printable characters, no ':')",
		 cmd);
	return -1;
}

/* Checks a command's arguments by building its request into scratch space. */
static int massctl_cli_check_args(const struct massctl_opts *o, char *err, size_t errlen)
{
	static uint8_t scratch[MASSCTL_REQ_MAX];
	size_t used;

	switch (o->cmd) {
	case MASSCTL_CMD_ADD_USER:
		if (massctl_cli_name(o->cmd_name, o->args[0], err, errlen) < 0)
			return -1;
		if (!cred_valid_pass(o->args[1], strlen(o->args[1]))) {
			snprintf(err, errlen, "%s: not a valid password (1..255 printable characters)",
				 o->cmd_name);
			return -1;
		}
		return 0;
	case MASSCTL_CMD_DEL_USER:
		return massctl_cli_name(o->cmd_name, o->args[0], err, errlen);
	case MASSCTL_CMD_AUTH:
	case MASSCTL_CMD_DISSECTORS:
		return massctl_cli_onoff(o->cmd_name, o->args[0], err, errlen);
	case MASSCTL_CMD_RAW:
		return massctl_cli_request(o, scratch, sizeof(scratch), &used, err, errlen);
	default:
		return 0;
	}
}

int massctl_cli_parse(struct massctl_opts *o, int argc, char **argv,
		      const char *env_admin, char *err, size_t errlen)
{
	const struct massctl_cmd_desc *d = NULL;

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
	for (size_t i = 0; i < sizeof(massctl_cmds) / sizeof(massctl_cmds[0]); i++)
		if (strcmp(argv[optind], massctl_cmds[i].name) == 0)
			d = &massctl_cmds[i];
	if (!d) {
		snprintf(err, errlen, "unknown command '%s' (try -h)", argv[optind]);
		return -1;
	}
	o->cmd = d->cmd;
	o->cmd_name = d->name;
	o->args = argv + optind + 1;
	o->nargs = argc - optind - 1;
	if (o->nargs < d->min_args || (d->max_args >= 0 && o->nargs > d->max_args)) {
		snprintf(err, errlen, "usage: massctl [OPTION...] %s", d->synopsis);
		return -1;
	}
	return massctl_cli_check_args(o, err, errlen);
}

static int massctl_cli_raw(const struct massctl_opts *o, uint8_t *buf, size_t cap,
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
	static const uint8_t fixed[] = {
		[MASSCTL_CMD_INDEXES] = MASSCTL_IX_INDEXES,
		[MASSCTL_CMD_USERS] = MASSCTL_IX_USERS,
		[MASSCTL_CMD_ADD_USER] = MASSCTL_IX_ADD_USER,
		[MASSCTL_CMD_DEL_USER] = MASSCTL_IX_DEL_USER,
		[MASSCTL_CMD_AUTH] = MASSCTL_IX_AUTH,
		[MASSCTL_CMD_DISSECTORS] = MASSCTL_IX_DISSECTORS,
	};

	if (cap < 2) {
		snprintf(err, errlen, "request buffer too small");
		return -1;
	}
	if (o->cmd == MASSCTL_CMD_RAW)
		return massctl_cli_raw(o, buf, cap, used, err, errlen);
	if (o->cmd == MASSCTL_CMD_STATS) {
		snprintf(err, errlen, "stats sends one request per counter");
		return -1;
	}
	buf[0] = fixed[o->cmd];
	*used = 1;
	switch (o->cmd) {
	case MASSCTL_CMD_ADD_USER:
		return massctl_put_string(buf, cap, used, o->args[0], strlen(o->args[0]),
					  err, errlen) < 0 ||
		       massctl_put_string(buf, cap, used, o->args[1], strlen(o->args[1]),
					  err, errlen) < 0 ? -1 : 0;
	case MASSCTL_CMD_DEL_USER:
		return massctl_put_string(buf, cap, used, o->args[0], strlen(o->args[0]),
					  err, errlen);
	case MASSCTL_CMD_AUTH:
	case MASSCTL_CMD_DISSECTORS:
		/* The protocol's '00' means on; massctl sends '01' for off. */
		buf[(*used)++] = strcmp(o->args[0], "on") == 0 ? 0x00 : 0x01;
		return 0;
	default:
		return 0;
	}
}
