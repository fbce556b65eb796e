/*
 * config: mass.ini. See config.h.
 *
 * inih splits the file into sections and "key = value" pairs; this file
 * decides what they mean. Fixed keys are described by one static table (type,
 * bounds, field offset); the free-form sections ([acl], [users], [admins],
 * [indexes], [plugin NAME]) have a handler each. inih is fed through a reader
 * that counts lines, because the library does not hand line numbers to
 * handlers, and that checks what inih passes over silently (section names,
 * lines inih would join as continuations).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/hex.h"
#include "core/log.h"
#include "auth/users.h"
#include "auth/cred.h"
#include "route/egress.h"

#define CONFIG_FILE_MAX (1024 * 1024)
#define CONFIG_NAME_MAX 32         /* plugin names: NAME.so, [plugin NAME] */
#define CONFIG_SERVERS_MAX 8       /* [socks] resolver entries */
#define CONFIG_USER_MAX 32         /* [socks] user */

/*
 * Default strings are static: config_defaults() allocates nothing, so a
 * freed configuration is the defaults. Only strings that are not one of
 * these are freed.
 */
static char config_any4[] = "0.0.0.0";
static char config_any6[] = "::";
static char config_local4[] = "127.0.0.1";
static char config_stderr[] = "-";
static char config_pkglibdir[] = PKGLIBDIR;

static bool config_owned(const char *s)
{
	return s && s != config_any4 && s != config_any6 && s != config_local4 &&
	       s != config_stderr && s != config_pkglibdir;
}

static void config_release(char **s)
{
	if (config_owned(*s))
		free(*s);
	*s = NULL;
}

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen[0] = config_any4;
	c->listen[1] = config_any6;
	c->listen_len = 2;
	c->port = 1080;
	c->auth = true;
	c->dissectors = true;
	c->max_users = 64;
	c->access_log = config_stderr;
	c->connect_timeout = 10;
	c->idle_timeout = 300;
	c->shutdown_timeout = 5;
	c->handshake_timeout = 10;
	c->fin_timeout = 60;
	c->commands = CMD_CONNECT | CMD_BIND | CMD_UDP;
	dissect_default_ports(c->dissector_ports);
	c->mgmt_listen[0] = config_local4;
	c->mgmt_listen_len = 1;
	c->mgmt_port = 8080;
	c->mgmt_auth = true;
	c->mgmt_timeout = 10;
	c->mgmt_max_connections = 64;
	c->mgmt_max_unauthenticated = 32;
	c->max_buffer_memory = 256;
	c->plugins_strict = true;
	c->strict_files = true;
	c->plugins_dir = config_pkglibdir;
	c->quota_flush = 5;
}

void config_list_clear(struct config_list *list)
{
	for (size_t i = 0; i < list->len; i++) {
		free(list->items[i].key);
		free(list->items[i].value);
	}
	free(list->items);
	memset(list, 0, sizeof(*list));
}

void config_free(struct config *c)
{
	for (size_t i = 0; i < c->listen_len; i++)
		config_release(&c->listen[i]);
	for (size_t i = 0; i < c->mgmt_listen_len; i++)
		config_release(&c->mgmt_listen[i]);
	config_release(&c->path);
	config_release(&c->users_file);
	config_release(&c->password_hash);
	config_release(&c->access_log);
	config_release(&c->resolver);
	config_release(&c->user);
	config_release(&c->log_level);
	config_release(&c->plugins_dir);
	config_list_clear(&c->acl);
	for (size_t i = 0; i < c->upstreams.len; i++)   /* URLs may hold passwords */
		explicit_bzero(c->upstreams.items[i].value, strlen(c->upstreams.items[i].value));
	config_list_clear(&c->upstreams);
	config_list_clear(&c->routes);
	config_list_clear(&c->class_egress);
	config_list_clear(&c->class_egress_mode);
	config_list_clear(&c->class_route);
	config_list_clear(&c->users);
	config_list_clear(&c->admins);
	config_list_clear(&c->user_classes);
	config_release(&c->quota_file);
	limits_class_table_free(&c->classes);
	for (size_t i = 0; i < 256; i++)
		free(c->indexes[i]);
	for (size_t i = 0; i < c->plugins_len; i++) {
		free(c->plugins[i].name);
		free(c->plugins[i].module);
		config_list_clear(&c->plugins[i].keys);
	}
	free(c->plugins);
	config_defaults(c);
}

int config_set_string(char **dst, const char *src)
{
	char *copy = NULL;

	if (src && !(copy = strdup(src)))
		return -1;
	config_release(dst);
	*dst = copy;
	return 0;
}

int config_list_add(struct config_list *list, const char *key, const char *value, int line)
{
	struct config_kv kv = { strdup(key), strdup(value), line };

	if (!kv.key || !kv.value)
		goto fail;
	if (list->len == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 8;
		struct config_kv *items = realloc(list->items, cap * sizeof(*items));

		if (!items)
			goto fail;
		list->items = items;
		list->cap = cap;
	}
	list->items[list->len++] = kv;
	return 0;
fail:
	free(kv.key);
	free(kv.value);
	return -1;
}

static const struct config_kv *config_list_find(const struct config_list *list,
						const char *key)
{
	for (size_t i = 0; i < list->len; i++)
		if (strcmp(list->items[i].key, key) == 0)
			return &list->items[i];
	return NULL;
}

int config_acl_rules(const struct config *c, struct acl_rules *rules)
{
	struct acl_rule_text *items = NULL;

	if (c->acl.len > 0 && (items = calloc(c->acl.len, sizeof(*items))) == NULL)
		return -1;
	for (size_t i = 0; i < c->acl.len; i++)
		items[i] = (struct acl_rule_text){ c->acl.items[i].key, c->acl.items[i].value,
						   c->acl.items[i].line };
	*rules = (struct acl_rules){ items, c->acl.len, c->path };
	return 0;
}

const struct config_plugin *config_plugin_find(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->plugins_len; i++)
		if (strcmp(c->plugins[i].name, name) == 0)
			return &c->plugins[i];
	return NULL;
}

/*
 * Splits a comma list: calls item() on each trimmed element (in a bounded
 * buffer). An empty value is an empty list; an empty element is an error.
 */
static int config_split(const char *value, int (*item)(const char *s, void *arg,
						      char *err, size_t errlen),
			void *arg, char *err, size_t errlen)
{
	char buf[256];
	const char *p = value;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return 0;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		if (len == 0) {
			snprintf(err, errlen, "empty list element");
			return -1;
		}
		if (len >= sizeof(buf)) {
			snprintf(err, errlen, "list element longer than %zu characters",
				 sizeof(buf) - 1);
			return -1;
		}
		memcpy(buf, p, len);
		buf[len] = '\0';
		if (item(buf, arg, err, errlen) != 0)
			return -1;
		if (!end)
			return 0;
		p = end + 1;
	}
}

static bool config_is_ip(const char *s)
{
	unsigned char addr[16];

	return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

struct config_listen_acc {
	char *addrs[CONFIG_MAX_LISTEN];
	size_t len;
};

static int config_listen_item(const char *s, void *arg, char *err, size_t errlen)
{
	struct config_listen_acc *acc = arg;

	if (!config_is_ip(s)) {
		snprintf(err, errlen, "\"%s\" is not a numeric IPv4 or IPv6 address", s);
		return -1;
	}
	for (size_t i = 0; i < acc->len; i++) {
		if (strcmp(acc->addrs[i], s) == 0) {
			snprintf(err, errlen, "address %s listed twice", s);
			return -1;
		}
	}
	if (acc->len == CONFIG_MAX_LISTEN) {
		snprintf(err, errlen, "more than %d addresses", CONFIG_MAX_LISTEN);
		return -1;
	}
	acc->addrs[acc->len] = strdup(s);
	if (!acc->addrs[acc->len]) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -1;
	}
	acc->len++;
	return 0;
}

int config_parse_listen(char **addrs, size_t *len, const char *value, char *err, size_t errlen)
{
	struct config_listen_acc acc = { .len = 0 };

	int rc = config_split(value, config_listen_item, &acc, err, errlen);

	if (rc == 0 && acc.len == 0) {
		snprintf(err, errlen, "no address given");
		rc = -1;
	}
	if (rc != 0) {
		for (size_t i = 0; i < acc.len; i++)
			free(acc.addrs[i]);
		return -1;
	}
	for (size_t i = 0; i < *len; i++)
		config_release(&addrs[i]);
	memcpy(addrs, acc.addrs, acc.len * sizeof(*addrs));
	*len = acc.len;
	return 0;
}

static bool config_same_list(char *const *a, size_t alen, char *const *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

bool config_same_listen(const struct config *a, const struct config *b)
{
	return a->port == b->port && a->mgmt_port == b->mgmt_port &&
	       config_same_list(a->listen, a->listen_len, b->listen, b->listen_len) &&
	       config_same_list(a->mgmt_listen, a->mgmt_listen_len, b->mgmt_listen,
				b->mgmt_listen_len);
}

/* Replaces the list dst by copies of src's strings; all or nothing. */
static int config_copy_list(char **dst, size_t *dst_len, char *const *src, size_t src_len)
{
	char *copy[CONFIG_MAX_LISTEN];

	for (size_t i = 0; i < src_len; i++) {
		copy[i] = strdup(src[i]);
		if (copy[i] == NULL) {
			while (i > 0)
				free(copy[--i]);
			return -1;
		}
	}
	for (size_t i = 0; i < *dst_len; i++)
		config_release(&dst[i]);
	memcpy(dst, copy, src_len * sizeof(*dst));
	*dst_len = src_len;
	return 0;
}

int config_copy_listen(struct config *dst, const struct config *src)
{
	if (config_copy_list(dst->listen, &dst->listen_len, src->listen, src->listen_len) < 0 ||
	    config_copy_list(dst->mgmt_listen, &dst->mgmt_listen_len, src->mgmt_listen,
			     src->mgmt_listen_len) < 0)
		return -1;
	dst->port = src->port;
	dst->mgmt_port = src->mgmt_port;
	return 0;
}

/* ---- values: one parser per type of the key table */

static int config_number(const char *s, unsigned long min, unsigned long max,
			 unsigned long *out)
{
	unsigned long v = 0, d;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		d = (unsigned long)(*s - '0');
		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v < min)
		return -1;
	*out = v;
	return 0;
}

static int config_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int config_port_item(const char *s, void *arg, char *err, size_t errlen)
{
	struct dissect_ports *acc = arg;
	unsigned long v;

	if (config_number(s, 1, 65535, &v) != 0) {
		snprintf(err, errlen, "\"%s\" is not a port from 1 to 65535", s);
		return -1;
	}
	for (size_t i = 0; i < acc->len; i++) {
		if (acc->ports[i] == v) {
			snprintf(err, errlen, "port %lu listed twice", v);
			return -1;
		}
	}
	if (acc->len == DISSECT_MAX_PORTS) {
		snprintf(err, errlen, "more than %d ports", DISSECT_MAX_PORTS);
		return -1;
	}
	acc->ports[acc->len++] = (uint16_t)v;
	return 0;
}

static int config_cidr_item(const char *s, void *arg, char *err, size_t errlen)
{
	struct config_cidrs *acc = arg;

	if (acc->len == CONFIG_MAX_PROXY) {
		snprintf(err, errlen, "more than %d blocks", CONFIG_MAX_PROXY);
		return -1;
	}
	return net_cidr_parse(s, &acc->nets[acc->len++], err, errlen);
}

static int config_command_item(const char *s, void *arg, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		unsigned bit;
	} commands[] = { { "connect", CMD_CONNECT }, { "bind", CMD_BIND }, { "udp", CMD_UDP } };
	unsigned *acc = arg;

	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++) {
		if (strcmp(s, commands[i].name) != 0)
			continue;
		if (*acc & commands[i].bit) {
			snprintf(err, errlen, "command %s listed twice", s);
			return -1;
		}
		*acc |= commands[i].bit;
		return 0;
	}
	snprintf(err, errlen, "unknown command \"%s\" (expected connect, bind or udp)", s);
	return -1;
}

/* "ip", "ip:port" (IPv4), "[ip]" or "[ip]:port" (IPv6): what c-ares takes. */
static int config_server_item(const char *s, void *arg, char *err, size_t errlen)
{
	unsigned *count = arg;
	char host[64];
	const char *port = NULL, *colon = strchr(s, ':');
	unsigned long v;
	size_t len;

	if (config_is_ip(s)) {
		len = 0;
	} else if (s[0] == '[') {
		const char *close = strchr(s, ']');

		len = close ? (size_t)(close - s - 1) : sizeof(host);
		if (len < sizeof(host) && close[1] == ':')
			port = close + 2;
		else if (len < sizeof(host) && close[1] != '\0')
			len = sizeof(host);
		if (len < sizeof(host)) {
			memcpy(host, s + 1, len);
			host[len] = '\0';
		}
		if (len >= sizeof(host) || !strchr(host, ':') || !config_is_ip(host))
			goto bad;
	} else if (colon && !strchr(colon + 1, ':') && (size_t)(colon - s) < sizeof(host)) {
		len = (size_t)(colon - s);
		memcpy(host, s, len);
		host[len] = '\0';
		port = colon + 1;
		if (strchr(host, ':') || !config_is_ip(host))
			goto bad;
	} else {
		goto bad;
	}
	if (port && config_number(port, 1, 65535, &v) != 0)
		goto bad;
	if (++*count > CONFIG_SERVERS_MAX) {
		snprintf(err, errlen, "more than %d servers", CONFIG_SERVERS_MAX);
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "\"%s\" is not a numeric address with an optional port "
		 "(1.2.3.4, 1.2.3.4:53, ::1 or [::1]:53)", s);
	return -1;
}

static int config_check_resolver(const char *value, char *err, size_t errlen)
{
	unsigned count = 0;

	return config_split(value, config_server_item, &count, err, errlen);
}

static int config_check_user(const char *value, char *err, size_t errlen)
{
	size_t len = strlen(value);

	if (len > CONFIG_USER_MAX || value[0] == '-' ||
	    strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789._-") != len) {
		snprintf(err, errlen, "not a user name (letters, digits, '.', '_' and '-', "
			 "at most %d, not starting with '-')", CONFIG_USER_MAX);
		return -1;
	}
	return 0;
}

static int config_check_hash(const char *value, char *err, size_t errlen)
{
	char methods[128];

	if (cred_method_supported(value))
		return 0;
	snprintf(err, errlen, "unknown or unsupported hash method (this system has: %s)",
		 cred_methods(methods, sizeof(methods)));
	return -1;
}

static int config_check_log_level(const char *value, char *err, size_t errlen)
{
	enum log_level level;

	if (log_level_parse(value, &level) == 0)
		return 0;
	snprintf(err, errlen, "\"%s\" is not a log level (error, warn, info or debug)", value);
	return -1;
}

static bool config_valid_plugin_name(const char *s)
{
	size_t len = strlen(s);

	return len >= 1 && len <= CONFIG_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789_-") == len;
}

/* ---- the key table */

enum config_type {
	CT_BOOL,      /* bool */
	CT_UINT,      /* unsigned, min..max */
	CT_PORT,      /* uint16_t, 0..65535 (0: an ephemeral port) */
	CT_STRING,    /* char *; see empty and check */
	CT_LISTEN,    /* char *[CONFIG_MAX_LISTEN] with its count at len_off */
	CT_PORTS,     /* struct dissect_ports, may be empty */
	CT_COMMANDS,  /* unsigned, enum config_command bits, not empty */
	CT_CIDRS,     /* struct config_cidrs, may be empty */
};

enum config_empty {
	EMPTY_ERROR,    /* an empty value is refused */
	EMPTY_NULL,     /* an empty value stores NULL ("none") */
	EMPTY_DEFAULT,  /* an empty value restores the static default dflt */
};

struct config_key {
	const char *section;
	const char *name;
	enum config_type type;
	size_t off;
	unsigned long min, max;              /* CT_UINT */
	size_t len_off;                      /* CT_LISTEN */
	enum config_empty empty;             /* CT_STRING */
	char *dflt;                          /* CT_STRING with EMPTY_DEFAULT */
	int (*check)(const char *value, char *err, size_t errlen); /* CT_STRING */
};

#define CK_BOOL(s, k, f) { s, k, CT_BOOL, offsetof(struct config, f), 0, 0, 0, 0, 0, 0 }
#define CK_UINT(s, k, f, lo, hi) \
	{ s, k, CT_UINT, offsetof(struct config, f), lo, hi, 0, 0, 0, 0 }
#define CK_PORT(s, k, f) { s, k, CT_PORT, offsetof(struct config, f), 0, 65535, 0, 0, 0, 0 }
#define CK_STR(s, k, f, empty, dflt, check) \
	{ s, k, CT_STRING, offsetof(struct config, f), 0, 0, 0, empty, dflt, check }
#define CK_LISTEN(s, k, f, n) \
	{ s, k, CT_LISTEN, offsetof(struct config, f), 0, 0, offsetof(struct config, n), 0, 0, 0 }
#define CK_PORTS(k, d) \
	{ "dissectors", k, CT_PORTS, offsetof(struct config, dissector_ports[d]), 0, 0, 0, 0, 0, 0 }

static const struct config_key config_keys[] = {
	CK_LISTEN("socks", "listen", listen, listen_len),
	CK_PORT("socks", "port", port),
	CK_BOOL("socks", "auth", auth),
	CK_BOOL("socks", "dissectors", dissectors),
	CK_STR("socks", "users_file", users_file, EMPTY_NULL, NULL, NULL),
	CK_BOOL("socks", "strict_files", strict_files),
	CK_UINT("socks", "max_users", max_users, 0, CONFIG_MAX_USERS_LIMIT),
	CK_STR("socks", "password_hash", password_hash, EMPTY_NULL, NULL, config_check_hash),
	CK_UINT("socks", "password_cost", password_cost, 0, 999999999),
	CK_STR("socks", "access_log", access_log, EMPTY_ERROR, NULL, NULL),
	CK_UINT("socks", "connect_timeout", connect_timeout, 1, 86400),
	CK_UINT("socks", "idle_timeout", idle_timeout, 1, 86400),
	CK_UINT("socks", "shutdown_timeout", shutdown_timeout, 1, 86400),
	CK_UINT("socks", "handshake_timeout", handshake_timeout, 1, 86400),
	CK_UINT("socks", "fin_timeout", fin_timeout, 1, 86400),
	CK_UINT("socks", "max_clients", max_clients, 0, 1000000),
	CK_STR("socks", "resolver", resolver, EMPTY_NULL, NULL, config_check_resolver),
	{ "socks", "commands", CT_COMMANDS, offsetof(struct config, commands), 0, 0, 0, 0, 0, 0 },
	CK_STR("socks", "user", user, EMPTY_NULL, NULL, config_check_user),
	CK_STR("socks", "log_level", log_level, EMPTY_NULL, NULL, config_check_log_level),
	{ "socks", "proxy_protocol", CT_CIDRS, offsetof(struct config, proxy_protocol),
	  0, 0, 0, 0, 0, 0 },
	CK_UINT("socks", "max_buffer_memory", max_buffer_memory, 1, 1048576),
	CK_BOOL("socks", "http_connect", http_connect),
	CK_STR("socks", "quota_file", quota_file, EMPTY_NULL, NULL, NULL),
	CK_UINT("socks", "quota_flush", quota_flush, 1, 3600),
#define CK_DISSECTOR(id, key, ...) CK_PORTS(key, DISSECT_##id),
	DISSECT_PROTOCOLS(CK_DISSECTOR)
#undef CK_DISSECTOR
	CK_LISTEN("management", "listen", mgmt_listen, mgmt_listen_len),
	CK_PORT("management", "port", mgmt_port),
	CK_BOOL("management", "auth", mgmt_auth),
	CK_UINT("management", "timeout", mgmt_timeout, 1, 86400),
	CK_UINT("management", "max_connections", mgmt_max_connections, 1, 10000),
	CK_UINT("management", "max_unauthenticated", mgmt_max_unauthenticated, 1, 10000),
	CK_STR("plugins", "dir", plugins_dir, EMPTY_DEFAULT, config_pkglibdir, NULL),
	CK_BOOL("plugins", "strict", plugins_strict),
};

#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(*config_keys))

/* ---- parsing */

struct config_parser {
	struct config *c;
	const char *path;
	char *err;
	size_t errlen;
	bool failed;
	/* the reader */
	const char *buf;
	size_t len, pos;
	int line;                    /* the line inih is working on */
	int pending;                 /* a key line inih has not handed over yet */
	char section[50];            /* the current section (inih's limit, MAX_SECTION) */
	int seen[CONFIG_NKEYS];      /* line each table key was set on, or 0 */
	int *class_lines;            /* the header line of each class of c->classes */
};

/* Records the first error: "PATH:LINE: [section] key: reason". Returns 0 for inih. */
__attribute__((format(printf, 4, 5)))
static int config_fail(struct config_parser *p, const char *section, const char *key,
		       const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	if (p->failed)
		return 0;
	p->failed = true;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%d: [%s]%s%s: %s", p->path, p->line, section,
		 key ? " " : "", key ? key : "", reason);
	return 0;
}

static void *config_field(struct config *c, const struct config_key *k)
{
	return (char *)c + k->off;
}

/*
 * Stores one fixed key's value by its type. One switch over the key
 * table's types, kept whole (about 70 lines) so each type's parse and store
 * reads in one place. Returns 1, or config_fail()'s result.
 */
static int config_set_value(struct config_parser *p, const struct config_key *k,
			    const char *section, const char *key, const char *value)
{
	void *field = config_field(p->c, k);
	char why[256];
	unsigned long v;

	switch (k->type) {
	case CT_BOOL:
		if (config_bool(value, field) != 0)
			return config_fail(p, section, key,
					   "expected on/off, yes/no, true/false or 1/0");
		return 1;
	case CT_UINT:
	case CT_PORT:
		if (config_number(value, k->min, k->max, &v) != 0)
			return config_fail(p, section, key, "expected an integer from %lu to %lu",
					   k->min, k->max);
		if (k->type == CT_PORT)
			*(uint16_t *)field = (uint16_t)v;
		else
			*(unsigned *)field = (unsigned)v;
		return 1;
	case CT_LISTEN:
		if (config_parse_listen(field, (size_t *)((char *)p->c + k->len_off), value,
					why, sizeof(why)) != 0)
			return config_fail(p, section, key, "%s", why);
		return 1;
	case CT_PORTS: {
		struct dissect_ports ports = { .len = 0 };

		if (config_split(value, config_port_item, &ports, why, sizeof(why)) != 0)
			return config_fail(p, section, key, "%s", why);
		*(struct dissect_ports *)field = ports;
		return 1;
	}
	case CT_CIDRS: {
		struct config_cidrs nets = { .len = 0 };

		if (config_split(value, config_cidr_item, &nets, why, sizeof(why)) != 0)
			return config_fail(p, section, key, "%s", why);
		*(struct config_cidrs *)field = nets;
		return 1;
	}
	case CT_COMMANDS: {
		unsigned bits = 0;

		if (config_split(value, config_command_item, &bits, why, sizeof(why)) != 0)
			return config_fail(p, section, key, "%s", why);
		if (bits == 0)
			return config_fail(p, section, key, "no command given");
		*(unsigned *)field = bits;
		return 1;
	}
	case CT_STRING:
		break;
	}
	if (*value == '\0' && k->empty == EMPTY_ERROR)
		return config_fail(p, section, key, "empty value");
	if (*value == '\0') {
		config_release(field);
		*(char **)field = k->empty == EMPTY_DEFAULT ? k->dflt : NULL;
		return 1;
	}
	if (k->check && k->check(value, why, sizeof(why)) != 0)
		return config_fail(p, section, key, "%s", why);
	if (config_set_string(field, value) != 0)
		return config_fail(p, section, key, "%s", strerror(ENOMEM));
	return 1;
}

static int config_on_table(struct config_parser *p, const char *section, const char *key,
			   const char *value)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key *k = &config_keys[i];

		if (strcmp(k->section, section) != 0 || strcmp(k->name, key) != 0)
			continue;
		if (p->seen[i])
			return config_fail(p, section, key, "duplicate key (first set on line %d)",
					   p->seen[i]);
		p->seen[i] = p->line;
		return config_set_value(p, k, section, key, value);
	}
	return config_fail(p, section, key, "unknown key");
}

static int config_add(struct config_parser *p, struct config_list *list, const char *section,
		      const char *key, const char *value)
{
	if (config_list_add(list, key, value, p->line) != 0)
		return config_fail(p, section, key, "%s", strerror(ENOMEM));
	return 1;
}

static int config_on_acl(struct config_parser *p, const char *section, const char *key,
			 const char *value)
{
	/* Rules repeat keys (allow, deny) on purpose: order is the meaning. */
	return config_add(p, &p->c->acl, section, key, value);
}

/* [upstreams] (names and URLs checked when the routes are built) and [routes] */
static int config_on_routes(struct config_parser *p, const char *section, const char *key,
			    const char *value)
{
	return config_add(p, strcmp(section, "routes") == 0 ? &p->c->routes : &p->c->upstreams,
			  section, key, value);
}

/*
 * A [users] value "PASSWORD class=NAME": the last blank-separated word names
 * the user's class when it is "class=" and a valid class name. Returns the
 * length of the password part (the whole value when there is no such word)
 * and the class in *cls (NULL when none).
 */
static size_t config_user_value(const char *value, const char **cls)
{
	const char *sp = strrchr(value, ' ');

	*cls = NULL;
	if (sp == NULL || sp == value || strncmp(sp + 1, "class=", 6) != 0 ||
	    !limits_class_name_valid(sp + 7))
		return strlen(value);
	*cls = sp + 7;
	while (sp > value && sp[-1] == ' ')
		sp--;
	return (size_t)(sp - value);
}

const char *config_user_class(const struct config *c, const char *name)
{
	const struct config_kv *kv = config_list_find(&c->user_classes, name);

	return kv ? kv->value : NULL;
}

/* A [users] entry with its class split off (see config_user_value). */
static int config_on_user(struct config_parser *p, const char *section, const char *key,
			  const char *value)
{
	const char *cls;
	size_t len = config_user_value(value, &cls);
	char *pass = strndup(value, len);
	int rc;

	if (pass == NULL)
		return config_fail(p, section, key, "%s", strerror(ENOMEM));
	if (cls != NULL && config_list_find(&p->c->users, key) == NULL &&
	    config_list_add(&p->c->user_classes, key, cls, p->line) != 0)
		rc = config_fail(p, section, key, "%s", strerror(ENOMEM));
	else
		rc = config_add(p, &p->c->users, section, key, pass);
	free(pass);
	return rc;
}

static int config_on_credentials(struct config_parser *p, const char *section,
				 const char *key, const char *value)
{
	struct config_list *list = strcmp(section, "users") == 0 ? &p->c->users : &p->c->admins;
	const struct config_kv *old = config_list_find(list, key);
	const char *cls = NULL;
	size_t plen = list == &p->c->users ? config_user_value(value, &cls) : strlen(value);

	if (old)
		return config_fail(p, section, key, "duplicate key (first set on line %d)",
				   old->line);
	if (!cred_valid_name(key, strlen(key)))
		return config_fail(p, section, key,
				   "invalid name (1..255 printable ASCII characters, no ':')");
	if (!cred_valid_pass(value, plen))
		return config_fail(p, section, key,
				   "invalid password (1..255 printable ASCII characters)");
	if (list == &p->c->users)
		return config_on_user(p, section, key, value);
	return config_add(p, list, section, key, value);
}

/* "0A", "0a" or "0x0A": exactly two hex digits. Returns the octet or -1. */
static int config_index(const char *s)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (strlen(s) != 2 || hex_digit(s[0]) < 0 || hex_digit(s[1]) < 0)
		return -1;
	return hex_digit(s[0]) * 16 + hex_digit(s[1]);
}

static int config_on_index(struct config_parser *p, const char *section, const char *key,
			   const char *value)
{
	int i = config_index(key);

	if (i < 0)
		return config_fail(p, section, key,
				   "not an index (two hex digits, 01 to FE, as 0A or 0x0A)");
	if (i == 0)
		return config_fail(p, section, key, "index 00 is the core's, always on");
	if (i == 0xFF)
		return config_fail(p, section, key, "index FF is reserved");
	if (p->c->index_lines[i])
		return config_fail(p, section, key, "duplicate key (first set on line %d)",
				   p->c->index_lines[i]);
	if (!config_valid_plugin_name(value))
		return config_fail(p, section, key, "invalid plugin name (letters, digits, "
				   "'_' and '-', at most %d)", CONFIG_NAME_MAX);
	p->c->indexes[i] = strdup(value);
	if (!p->c->indexes[i])
		return config_fail(p, section, key, "%s", strerror(ENOMEM));
	p->c->index_lines[i] = p->line;
	return 1;
}

/* The NAME of "plugin NAME", or NULL when section is not a valid one. */
static const char *config_plugin_section(const char *section)
{
	const char *name;

	if (strncmp(section, "plugin", 6) != 0 || (section[6] != ' ' && section[6] != '\t'))
		return NULL;
	name = section + 6 + strspn(section + 6, " \t");
	return config_valid_plugin_name(name) ? name : NULL;
}

static struct config_plugin *config_plugin_get(struct config *c, const char *name)
{
	struct config_plugin *plugins;

	for (size_t i = 0; i < c->plugins_len; i++)
		if (strcmp(c->plugins[i].name, name) == 0)
			return &c->plugins[i];
	plugins = realloc(c->plugins, (c->plugins_len + 1) * sizeof(*plugins));
	if (!plugins)
		return NULL;
	c->plugins = plugins;
	memset(&plugins[c->plugins_len], 0, sizeof(*plugins));
	plugins[c->plugins_len].name = strdup(name);
	if (!plugins[c->plugins_len].name)
		return NULL;
	return &plugins[c->plugins_len++];
}

static int config_on_plugin(struct config_parser *p, const char *section, const char *key,
			    const char *value)
{
	struct config_plugin *plugin = config_plugin_get(p->c, config_plugin_section(section));
	const struct config_kv *old;

	if (!plugin)
		return config_fail(p, section, key, "%s", strerror(ENOMEM));
	old = config_list_find(&plugin->keys, key);
	if (old)
		return config_fail(p, section, key, "duplicate key (first set on line %d)",
				   old->line);
	if (strcmp(key, "module") == 0) {
		if (value[0] != '/')
			return config_fail(p, section, key, "not an absolute path");
		if (config_set_string(&plugin->module, value) != 0)
			return config_fail(p, section, key, "%s", strerror(ENOMEM));
	}
	return config_add(p, &plugin->keys, section, key, value);
}

/* The NAME of "class NAME", or NULL when section is not one. */
static const char *config_class_section(const char *section)
{
	if (strncmp(section, "class", 5) != 0 || (section[5] != ' ' && section[5] != '\t'))
		return NULL;
	return section + 5 + strspn(section + 5, " \t");
}

/* The class of a [class NAME] header, made when first seen; NULL with err set. */
static struct limits_class *config_class_get(struct config_parser *p, const char *section,
					     char *err, size_t errlen)
{
	struct limits_class_table *t = &p->c->classes;
	size_t before = t->len;
	struct limits_class *c;
	int *lines;

	if (t->list == NULL && limits_class_table_init(t) != 0) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	before = t->len;
	c = limits_class_table_get(t, config_class_section(section), err, errlen);
	if (c == NULL || t->len == before)
		return c;
	lines = realloc(p->class_lines, t->len * sizeof(*lines));
	if (lines == NULL) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	memset(lines + before, 0, (t->len - before) * sizeof(*lines));
	lines[t->len - 1] = p->line;
	p->class_lines = lines;
	return c;
}

/*
 * The route keys of a [class NAME] section (socks/routes.h): egress (a list
 * of addresses and IPv6 prefixes), egress_mode (random or sticky), route
 * (an upstream of [upstreams] or direct). Returns -1 for another key.
 */
static int config_on_class_route(struct config_parser *p, const char *section,
				 const char *cls, const char *key, const char *value)
{
	struct config_list *list = strcmp(key, "egress") == 0 ? &p->c->class_egress
				 : strcmp(key, "egress_mode") == 0 ? &p->c->class_egress_mode
				 : strcmp(key, "route") == 0 ? &p->c->class_route : NULL;
	struct egress_spec spec;
	enum egress_mode mode;
	char why[256];
	size_t n = strlen(value);

	if (list == NULL)
		return -1;
	if (config_list_find(list, cls) != NULL)
		return config_fail(p, section, key, "duplicate key");
	egress_init(&spec);
	if (list == &p->c->class_egress && egress_parse(&spec, value, why, sizeof(why)) < 0)
		return config_fail(p, section, key, "%s", why);
	if (list == &p->c->class_egress_mode && egress_mode_parse(value, &mode, why, sizeof(why)) < 0)
		return config_fail(p, section, key, "%s", why);
	if (list == &p->c->class_route && (n == 0 || n > 63 || strspn(value,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != n))
		return config_fail(p, section, key, "an upstream's name, or direct");
	return config_add(p, list, section, cls, value);
}

/* One key of a [class NAME] section: limits_class_set() says what is valid. */
static int config_on_class(struct config_parser *p, const char *section, const char *key,
			   const char *value)
{
	char why[256];
	struct limits_class *c = config_class_get(p, section, why, sizeof(why));
	unsigned keys;
	int rc;

	if (c == NULL)
		return config_fail(p, section, NULL, "%s", why);
	rc = config_on_class_route(p, section, c->name, key, value);
	if (rc >= 0)
		return rc;
	keys = c->keys;
	if (limits_class_set(c, key, value, why, sizeof(why)) != 0)
		return config_fail(p, section, key, "%s", why);
	if (c->keys == keys)
		return config_fail(p, section, key, "duplicate key");
	return 1;
}

typedef int (*config_section_fn)(struct config_parser *p, const char *section,
				 const char *key, const char *value);

static const struct {
	const char *name;
	config_section_fn handle;
} config_sections[] = {
	{ "socks", config_on_table },
	{ "dissectors", config_on_table },
	{ "acl", config_on_acl },
	{ "users", config_on_credentials },
	{ "management", config_on_table },
	{ "admins", config_on_credentials },
	{ "plugins", config_on_table },
	{ "indexes", config_on_index },
	{ "upstreams", config_on_routes },
	{ "routes", config_on_routes },
};

static config_section_fn config_section_handler(const char *section)
{
	for (size_t i = 0; i < sizeof(config_sections) / sizeof(*config_sections); i++)
		if (strcmp(config_sections[i].name, section) == 0)
			return config_sections[i].handle;
	if (config_class_section(section))
		return config_on_class;
	return config_plugin_section(section) ? config_on_plugin : NULL;
}

static int config_on_key(void *user, const char *section, const char *key, const char *value)
{
	struct config_parser *p = user;
	config_section_fn handle;

	p->pending = 0;
	if (p->failed)
		return 0;
	if (*section == '\0')
		return config_fail(p, section, key, "key outside any section");
	handle = config_section_handler(section);
	if (!handle)
		return config_fail(p, section, NULL, "unknown section");
	if (*key == '\0')
		return config_fail(p, section, NULL, "empty key");
	return handle(p, section, key, value);
}

static void config_syntax_error(struct config_parser *p, int line)
{
	p->line = line;
	config_fail(p, p->section, NULL, "syntax error (expected [section] or key = value)");
}

/*
 * Looks at the line inih is about to get: section headers are checked here
 * (inih would accept any), and a line that inih would join to the key above
 * as a continuation is refused rather than misread.
 */
static void config_check_line(struct config_parser *p, const char *line)
{
	const char *s, *close;
	size_t len;

	if (p->line == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0)
		line += 3;
	s = line + strspn(line, " \t");
	if (*s == '\0' || *s == '\r' || *s == '\n' || *s == ';' || *s == '#')
		return;
	if (s != line) {
		config_fail(p, p->section, NULL,
			    "indented line (only comments may be indented)");
		return;
	}
	if (*s != '[') {
		p->pending = p->line;
		return;
	}
	close = strchr(s, ']');
	len = close ? (size_t)(close - s - 1) : 0;
	if (!close) {
		config_syntax_error(p, p->line);
		return;
	}
	if (len >= sizeof(p->section)) {
		config_fail(p, p->section, NULL, "section name longer than %zu characters",
			    sizeof(p->section) - 1);
		return;
	}
	memcpy(p->section, s + 1, len);
	p->section[len] = '\0';
	/* An empty [plugin NAME] (or [class NAME]) still exists. */
	if (config_class_section(p->section)) {
		char why[256];

		if (!config_class_get(p, p->section, why, sizeof(why)))
			config_fail(p, p->section, NULL, "%s", why);
	} else if (config_plugin_section(p->section) &&
	    !config_plugin_get(p->c, config_plugin_section(p->section)))
		config_fail(p, p->section, NULL, "%s", strerror(ENOMEM));
	else if (!config_section_handler(p->section))
		config_fail(p, p->section, NULL, "%s",
			    strncmp(p->section, "plugin ", 7) == 0 ||
			    strncmp(p->section, "plugin\t", 7) == 0 ?
			    "invalid plugin name (letters, digits, '_' and '-')" :
			    "unknown section");
}

/* inih's fgets-like reader over the file image; whole lines or nothing. */
static char *config_reader(char *str, int num, void *stream)
{
	struct config_parser *p = stream;
	const char *start = p->buf + p->pos, *nl;
	size_t n;

	if (p->pending)
		config_syntax_error(p, p->pending);
	if (p->failed || p->pos >= p->len)
		return NULL;
	nl = memchr(start, '\n', p->len - p->pos);
	n = nl ? (size_t)(nl - start) + 1 : p->len - p->pos;
	p->line++;
	if (num < 3 || n > (size_t)num - 1) {
		config_fail(p, p->section, NULL, "line longer than %d characters", num - 3);
		return NULL;
	}
	memcpy(str, start, n);
	str[n] = '\0';
	p->pos += n;
	config_check_line(p, str);
	return p->failed ? NULL : str;
}

/*
 * Each class checked whole (limits_class_check), and each [users] class=
 * naming one that exists.
 */
static void config_finish_classes(struct config_parser *p)
{
	struct config *c = p->c;
	char why[256], section[LIMITS_CLASS_NAME_MAX + 8];
	const char *key;

	if (c->classes.list == NULL && limits_class_table_init(&c->classes) != 0) {
		config_fail(p, "", NULL, "%s", strerror(ENOMEM));
		return;
	}
	for (size_t i = 0; i < c->classes.len && !p->failed; i++) {
		if (limits_class_check(&c->classes.list[i], &key, why, sizeof(why)) == 0)
			continue;
		p->line = p->class_lines && p->class_lines[i] ? p->class_lines[i] : p->line;
		snprintf(section, sizeof(section), "class %s", c->classes.list[i].name);
		config_fail(p, section, key, "%s", why);
	}
	for (size_t i = 0; i < c->user_classes.len && !p->failed; i++) {
		const struct config_kv *kv = &c->user_classes.items[i];

		if (limits_class_table_find(&c->classes, kv->value))
			continue;
		p->line = kv->line;
		config_fail(p, "users", kv->key, "unknown class \"%s\" (no [class %s] section)",
			    kv->value, kv->value);
	}
}

/* Checks that need the whole file. */
static void config_finish(struct config_parser *p)
{
	const struct config *c = p->c;

	if (c->users.len > c->max_users) {
		const struct config_kv *kv = &c->users.items[c->max_users];

		p->line = kv->line;
		config_fail(p, "users", kv->key, "more users than max_users (%u)", c->max_users);
	}
	config_finish_classes(p);
}

static char *config_read(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, CONFIG_FILE_MAX + 1, f);
	if (ferror(f) || *len > CONFIG_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path,
			 ferror(f) ? strerror(errno) : "larger than 1 MiB");
		free(buf);
		buf = NULL;
	} else {
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

static void config_parse(struct config_parser *p)
{
	const char *nul = memchr(p->buf, '\0', p->len);
	int rc;

	if (nul) {
		for (const char *s = p->buf; s <= nul; s++)
			p->line += s == p->buf || s[-1] == '\n';
		config_fail(p, "", NULL, "NUL character in the file");
		return;
	}
	rc = ini_parse_stream(config_reader, p, config_on_key, p);
	if (p->pending)
		config_syntax_error(p, p->pending);
	if (rc > 0 && !p->failed)
		config_syntax_error(p, rc);
	if (rc < 0 && !p->failed) {
		p->line = 0;
		config_fail(p, "", NULL, "%s", strerror(ENOMEM));
	}
	if (!p->failed)
		config_finish(p);
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	size_t len;
	char *buf;
	int rc;

	config_defaults(c);
	buf = config_read(path, &len, err, errlen);
	if (!buf)
		return -1;
	rc = config_load_buffer(c, path, buf, len, err, errlen);
	free(buf);
	return rc;
}

int config_load_buffer(struct config *c, const char *name, const char *buf, size_t len,
		       char *err, size_t errlen)
{
	struct config_parser p = { .c = c, .path = name, .err = err, .errlen = errlen,
				   .buf = buf, .len = len };

	config_defaults(c);
	if (len > CONFIG_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than 1 MiB", name);
		return -1;
	}
	config_parse(&p);
	free(p.class_lines);
	if (!p.failed && config_set_string(&c->path, name) != 0) {
		snprintf(err, errlen, "%s: %s", name, strerror(ENOMEM));
		p.failed = true;
	}
	if (p.failed) {
		config_free(c);
		return -1;
	}
	return 0;
}
