/* acl: destination access rules. See acl.h. */
#include "acl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/net.h"
#include "core/netlink.h"

#define ACL_HOST_MAX 255          /* a DNS name, as SOCKS5 carries it */
#define ACL_TOKEN_MAX 300

enum acl_cond {
	ACL_HAS_DEST = 1,
	ACL_HAS_SRC = 2,
	ACL_HAS_PORT = 4,
	ACL_HAS_HOST = 8,
	ACL_HAS_ALL = 16,
	ACL_HAS_USER = 32,
	ACL_HAS_CLASS = 64
};

#define ACL_CLASS_MAX 32          /* limits_class.h's LIMITS_CLASS_NAME_MAX */

/* Addresses are struct net_cidr (net.h): a rule's block, or one host as a
 * full-length block; IPv4 kept as such (mapped addresses are unmapped first). */

struct acl_rule {
	uint8_t action;               /* enum acl_verdict */
	uint8_t has;                  /* enum acl_cond bits */
	bool host_under_only;         /* ".example.com": not the name itself */
	bool dest_local;              /* "dest local": any address of this host */
	bool tcp_only;                /* a built-in rule: socks5d listens on TCP only */
	uint16_t port_lo, port_hi;
	struct net_cidr dest, src;
	char host[ACL_HOST_MAX + 1];  /* lower case, without leading or final dot */
	int line;
	char user[256];               /* "user NAME": exactly (case-sensitive) */
	char cls[ACL_CLASS_MAX + 1];  /* "class NAME" */
};

struct acl {
	struct acl_rule *rules;
	size_t len, cap;
	size_t builtin;                /* the first rules, built in */
	struct net_cidr *local;         /* "dest local": loopback, unspecified, the host's */
	size_t nlocal;
	const struct acl_live *live;    /* what socks5d is now (acl.h), or NULL */
};

/* A condition's value against what is known: no, yes, or not known yet. */
enum acl_tri { ACL_NO, ACL_YES, ACL_UNKNOWN };

/* --- compiling --- */

static int acl_push(struct acl *a, const struct acl_rule *r)
{
	if (a->len == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		struct acl_rule *grown = realloc(a->rules, cap * sizeof(*grown));

		if (grown == NULL)
			return -1;
		a->rules = grown;
		a->cap = cap;
	}
	a->rules[a->len++] = *r;
	return 0;
}

/* "a.b.c.d[/n]" or "v6[/n]", by the one CIDR parser (net.h). Returns 0, or -1 with why set. */
static int acl_parse_net(const char *text, struct net_cidr *n, const char **why)
{
	char err[160];

	if (net_cidr_parse(text, n, err, sizeof(err)) == 0)
		return 0;
	*why = strstr(err, "host bits") ? "host bits set after the prefix length"
	     : strstr(err, "prefix length") ? "prefix length too long for the address family"
	     : "not an address or CIDR block";
	return -1;
}

static int acl_parse_uint16(const char *s, size_t len, uint16_t *out)
{
	unsigned long v = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int acl_parse_ports(const char *text, struct acl_rule *r, const char **why)
{
	const char *dash = strchr(text, '-');
	size_t len = strlen(text);

	*why = "expected a port or a range N-M of ports 1-65535";
	if (dash == NULL) {
		if (acl_parse_uint16(text, len, &r->port_lo) < 0)
			return -1;
		r->port_hi = r->port_lo;
		return 0;
	}
	if (acl_parse_uint16(text, (size_t)(dash - text), &r->port_lo) < 0 ||
	    acl_parse_uint16(dash + 1, len - (size_t)(dash - text) - 1, &r->port_hi) < 0)
		return -1;
	if (r->port_lo > r->port_hi) {
		*why = "empty port range (first port above the last)";
		return -1;
	}
	return 0;
}

static bool acl_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

static int acl_parse_host(const char *text, struct acl_rule *r, const char **why)
{
	size_t len = strlen(text);

	*why = "expected a host name or .suffix (letters, digits, '-', '_', '.')";
	if (*text == '.') {
		r->host_under_only = true;
		text++;
		len--;
	}
	if (len > 0 && text[len - 1] == '.')
		len--;
	if (len == 0 || len > ACL_HOST_MAX || text[0] == '.')
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!acl_host_char(text[i]) || (text[i] == '.' && text[i + 1] == '.'))
			return -1;
		r->host[i] = (char)(text[i] >= 'A' && text[i] <= 'Z' ? text[i] - 'A' + 'a' : text[i]);
	}
	r->host[len] = '\0';
	return 0;
}

/* A user or class name: copied as written (1..cap-1 octets). */
static int acl_parse_name(const char *text, char *out, size_t cap, const char **why)
{
	size_t len = strlen(text);

	if (len == 0 || len >= cap) {
		*why = cap > ACL_CLASS_MAX + 1 ? "a user name is 1..255 characters"
					       : "a class name is 1..32 characters";
		return -1;
	}
	memcpy(out, text, len + 1);
	return 0;
}

/* Copies the next blank-separated token of *s into tok. Returns its length, 0 at the end. */
static size_t acl_token(const char **s, char *tok, size_t toklen, bool *too_long)
{
	const char *p = *s;
	size_t n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	while (*p != '\0' && *p != ' ' && *p != '\t') {
		if (n + 1 < toklen)
			tok[n] = *p;
		else
			*too_long = true;
		n++;
		p++;
	}
	tok[n < toklen ? n : toklen - 1] = '\0';
	*s = p;
	return n;
}

/* One condition keyword and its argument. Returns 0, or -1 with why set. */
static int acl_parse_cond(struct acl_rule *r, const char *kw, const char *arg, const char **why)
{
	static const struct { const char *kw; uint8_t bit; } kws[] = {
		{ "dest", ACL_HAS_DEST }, { "src", ACL_HAS_SRC }, { "port", ACL_HAS_PORT },
		{ "dest-host", ACL_HAS_HOST }, { "user", ACL_HAS_USER }, { "class", ACL_HAS_CLASS },
	};
	uint8_t bit = 0;

	for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
		if (strcmp(kw, kws[i].kw) == 0)
			bit = kws[i].bit;
	if (bit == 0) {
		*why = "unknown condition (dest, dest-host, port, src, user, class or all)";
		return -1;
	}
	if (r->has & bit) {
		*why = "a condition given twice in one rule";
		return -1;
	}
	if (arg == NULL) {
		*why = "a condition without its value";
		return -1;
	}
	r->has |= bit;
	switch (bit) {
	case ACL_HAS_DEST:
		if (strcmp(arg, "local") == 0) {
			r->dest_local = true;
			return 0;
		}
		return acl_parse_net(arg, &r->dest, why);
	case ACL_HAS_SRC: return acl_parse_net(arg, &r->src, why);
	case ACL_HAS_USER: return acl_parse_name(arg, r->user, sizeof(r->user), why);
	case ACL_HAS_CLASS: return acl_parse_name(arg, r->cls, sizeof(r->cls), why);
	case ACL_HAS_PORT: return acl_parse_ports(arg, r, why);
	default: return acl_parse_host(arg, r, why);
	}
}

/* Parses "CONDITIONS" into r. Returns 0, or -1 with why set. */
static int acl_parse_conds(struct acl_rule *r, const char *value, const char **why)
{
	char kw[ACL_TOKEN_MAX], arg[ACL_TOKEN_MAX];
	bool too_long = false;

	while (acl_token(&value, kw, sizeof(kw), &too_long) > 0) {
		if (strcmp(kw, "all") == 0) {
			r->has |= ACL_HAS_ALL;
			continue;
		}
		if (acl_token(&value, arg, sizeof(arg), &too_long) == 0) {
			if (too_long)
				break;
			return acl_parse_cond(r, kw, NULL, why);
		}
		if (too_long)
			break;
		if (acl_parse_cond(r, kw, arg, why) < 0)
			return -1;
	}
	if (too_long) {
		*why = "a word longer than a host name";
		return -1;
	}
	if (r->has == 0) {
		*why = "a rule needs a condition (dest, dest-host, port, src, user, class or all)";
		return -1;
	}
	if ((r->has & ACL_HAS_ALL) && r->has != ACL_HAS_ALL) {
		*why = "'all' stands alone";
		return -1;
	}
	return 0;
}

static int acl_add_rule(struct acl *a, const struct acl_rule_text *kv, const char *path,
			char *err, size_t errlen)
{
	struct acl_rule r;
	const char *why = NULL;

	memset(&r, 0, sizeof(r));
	r.line = kv->line;
	if (strcmp(kv->action, "allow") == 0)
		r.action = ACL_ALLOW;
	else if (strcmp(kv->action, "deny") == 0)
		r.action = ACL_DENY;
	else
		why = "unknown key (allow or deny)";
	if (why != NULL || acl_parse_conds(&r, kv->conditions, &why) < 0) {
		snprintf(err, errlen, "%s:%d: [acl] %s: %s", path ? path : "(defaults)",
			 kv->line, kv->action, why);
		return -1;
	}
	if (acl_push(a, &r) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* The address of sa as an acl_net host (mapped IPv4 unmapped). Returns false for other families. */
static bool acl_host_of(const struct sockaddr *sa, struct net_cidr *n, uint16_t *port)
{
	size_t len;

	memset(n, 0, sizeof(*n));
	len = sa != NULL ? net_host(sa, n->addr) : 0;
	if (len == 0)
		return false;
	n->family = len == 4 ? AF_INET : AF_INET6;
	n->prefix = (uint8_t)(len * 8);
	*port = net_port(sa);
	return true;
}

/* Loopback and the unspecified range: always local, whatever the interfaces say. */
static const struct net_cidr acl_always_local[] = {
	{ AF_INET, 8, { 127 } },
	{ AF_INET, 8, { 0 } },
	{ AF_INET6, 128, { [15] = 1 } },
	{ AF_INET6, 128, { 0 } },
};

#define ACL_ALWAYS_LOCAL (sizeof(acl_always_local) / sizeof(acl_always_local[0]))

static int acl_set_local(struct acl *a, const struct acl_self *self)
{
	size_t n = ACL_ALWAYS_LOCAL;
	size_t extra = self != NULL ? self->nlocal : 0;

	if (extra > ACL_LOCAL_MAX)
		extra = ACL_LOCAL_MAX;
	a->local = calloc(n + extra, sizeof(*a->local));
	if (a->local == NULL)
		return -1;
	memcpy(a->local, acl_always_local, sizeof(acl_always_local));
	a->nlocal = n;
	for (size_t i = 0; i < extra; i++) {
		uint16_t unused;

		if (acl_host_of((const struct sockaddr *)&self->local[i], &a->local[a->nlocal],
				&unused))
			a->nlocal++;
	}
	return 0;
}

/* 0.0.0.0/8 or :: (mapped already unmapped): what Linux delivers to the host itself. */
static bool acl_unspecified(const struct net_cidr *h)
{
	static const uint8_t zero[16];

	return h->family == AF_INET ? h->addr[0] == 0 : memcmp(h->addr, zero, 16) == 0;
}

/*
 * The built-in rule of one bound listener: its own address on its port,
 * or, for a wildcard listener, every local address on its port. Returns
 * false for a socket not bound (nothing to protect).
 */
static bool acl_listener_rule(const struct sockaddr_storage *ss, struct acl_rule *r)
{
	uint16_t port;

	memset(r, 0, sizeof(*r));
	if (!acl_host_of((const struct sockaddr *)ss, &r->dest, &port) || port == 0)
		return false;
	r->action = ACL_DENY;
	r->has = ACL_HAS_DEST | ACL_HAS_PORT;
	r->port_lo = r->port_hi = port;
	r->line = ACL_LINE_BUILTIN;
	r->dest_local = acl_unspecified(&r->dest);
	r->tcp_only = true;
	return true;
}

static int acl_add_listener(struct acl *a, const struct sockaddr_storage *ss)
{
	struct acl_rule r;

	if (!acl_listener_rule(ss, &r))
		return 0;
	if (acl_push(a, &r) < 0)
		return -1;
	a->builtin++;
	return 0;
}

int acl_live_listener_add(struct acl_live *live, const struct sockaddr *addr)
{
	socklen_t len = net_addr_len(addr);

	if (len == 0 || live->nlisteners == ACL_LIVE_LISTENERS)
		return -1;
	memset(&live->listeners[live->nlisteners], 0, sizeof(live->listeners[0]));
	memcpy(&live->listeners[live->nlisteners], addr, len);
	live->nlisteners++;
	return 0;
}

void acl_live_listener_del(struct acl_live *live, const struct sockaddr *addr)
{
	for (size_t i = 0; i < live->nlisteners; i++)
		if (net_same((const struct sockaddr *)&live->listeners[i], addr)) {
			live->listeners[i] = live->listeners[--live->nlisteners];
			return;
		}
}

struct acl *acl_compile(const struct acl_rules *rules, const struct acl_self *self,
			char *err, size_t errlen)
{
	struct acl *a = calloc(1, sizeof(*a));

	if (a == NULL || acl_set_local(a, self) < 0)
		goto oom;
	a->live = self != NULL ? self->live : NULL;
	for (size_t i = 0; self != NULL && i < self->nlisteners; i++)
		if (acl_add_listener(a, &self->listeners[i]) < 0)
			goto oom;
	for (size_t i = 0; i < rules->len; i++) {
		if (acl_add_rule(a, &rules->items[i], rules->path, err, errlen) < 0) {
			acl_free(a);
			return NULL;
		}
	}
	return a;
oom:
	snprintf(err, errlen, "out of memory");
	acl_free(a);
	return NULL;
}

void acl_free(struct acl *acl)
{
	if (acl == NULL)
		return;
	free(acl->rules);
	free(acl->local);
	free(acl);
}

size_t acl_rule_count(const struct acl *acl)
{
	return acl ? acl->len : 0;
}

size_t acl_builtin_count(const struct acl *acl)
{
	return acl ? acl->builtin : 0;
}

/* --- matching --- */

static bool acl_net_has(const struct net_cidr *net, const struct net_cidr *host)
{
	unsigned full = net->prefix / 8, rest = net->prefix % 8;

	if (net->family != host->family)
		return false;
	if (memcmp(net->addr, host->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((net->addr[full] ^ host->addr[full]) & (uint8_t)(0xffu << (8 - rest))) == 0;
}

/* Whether name (length len, final dot removed) is r->host or lies under it. */
static bool acl_host_matches(const struct acl_rule *r, const char *name, size_t len)
{
	size_t hlen = strlen(r->host);

	if (len == hlen)
		return !r->host_under_only && strncasecmp(name, r->host, len) == 0;
	if (len < hlen + 1)
		return false;
	return name[len - hlen - 1] == '.' && strncasecmp(name + len - hlen, r->host, hlen) == 0;
}

/*
 * What is known about one request. has_dest false before resolution;
 * has_alias when dest is unspecified (alias: the loopback address the
 * kernel delivers it to); unknown when neither name nor address is known.
 */
struct acl_query {
	const char *name;
	size_t name_len;
	struct net_cidr src, dest, alias;
	bool has_src, has_dest, has_alias, unknown, udp;
	uint16_t port;
	const char *user, *cls;       /* acl_request's; cls NULL is "default" */
};

/* Loopback and the unspecified range, then the host's addresses: live when known. */
static bool acl_is_local(const struct acl *acl, const struct net_cidr *h)
{
	bool live = acl->live != NULL && acl->live->host != NULL;
	size_t n = live ? ACL_ALWAYS_LOCAL : acl->nlocal;

	for (size_t i = 0; i < n; i++)
		if (acl_net_has(&acl->local[i], h))
			return true;
	return live && netlink_addrs_has(acl->live->host, h);
}

static bool acl_dest_matches(const struct acl *acl, const struct acl_rule *r,
			     const struct acl_query *q)
{
	if (r->dest_local)
		return acl_is_local(acl, &q->dest);
	return acl_net_has(&r->dest, &q->dest) ||
	       (q->has_alias && acl_net_has(&r->dest, &q->alias));
}

/* A NO anywhere wins over an UNKNOWN: the rule cannot match whatever comes later. */
static enum acl_tri acl_rule_matches(const struct acl *acl, const struct acl_rule *r,
				     const struct acl_query *q)
{
	enum acl_tri t = ACL_YES;

	/* a UDP port of the same number is another service than the listener */
	if (r->tcp_only && q->udp)
		return ACL_NO;
	if (r->has & ACL_HAS_ALL)
		return ACL_YES;
	if ((r->has & ACL_HAS_SRC) && (!q->has_src || !acl_net_has(&r->src, &q->src)))
		return ACL_NO;
	/* who asks is known whenever a rule is checked: none before authentication */
	if ((r->has & ACL_HAS_USER) && (q->user == NULL || strcmp(q->user, r->user) != 0))
		return ACL_NO;
	if ((r->has & ACL_HAS_CLASS) && strcmp(q->cls ? q->cls : "default", r->cls) != 0)
		return ACL_NO;
	if (r->has & ACL_HAS_PORT) {
		if (q->unknown)
			t = ACL_UNKNOWN;
		else if (q->port < r->port_lo || q->port > r->port_hi)
			return ACL_NO;
	}
	if (r->has & ACL_HAS_HOST) {
		if (q->unknown)
			t = ACL_UNKNOWN;
		else if (q->name == NULL || !acl_host_matches(r, q->name, q->name_len))
			return ACL_NO;
	}
	if (r->has & ACL_HAS_DEST) {
		if (!q->has_dest)
			t = ACL_UNKNOWN;
		else if (!acl_dest_matches(acl, r, q))
			return ACL_NO;
	}
	return t;
}

/*
 * First match, with what is not known yet: a rule that may match later
 * (UNKNOWN) is passed over only while every such rule has the action of
 * the first rule that matches now, since whichever of them matches in the
 * end decides the same; otherwise the answer waits (ALLOW: check again).
 * So the built-in deny rules, whose address is not known before
 * resolution, do not hide a "deny = src ..." behind them.
 */
/* One rule of acl_decide(). Returns true when it decides (*v set). */
static bool acl_step(const struct acl *acl, const struct acl_rule *r, const struct acl_query *q,
		     unsigned *pending, int *line, enum acl_verdict *v)
{
	switch (acl_rule_matches(acl, r, q)) {
	case ACL_NO:
		return false;
	case ACL_YES:
		if (*pending & ~(1u << r->action)) {
			*v = ACL_ALLOW; /* an earlier rule may yet decide otherwise */
			return true;
		}
		*line = r->line;
		*v = (enum acl_verdict)r->action;
		return true;
	case ACL_UNKNOWN:
		*pending |= 1u << r->action;
		return false;
	}
	return false;
}

/* The live listeners (acl_live) come first: built-in rules like the others. */
static enum acl_verdict acl_decide(const struct acl *acl, const struct acl_query *q, int *line)
{
	unsigned pending = 0;         /* bit per action of the UNKNOWN rules passed */
	enum acl_verdict v = ACL_ALLOW;
	struct acl_rule r;

	for (size_t i = 0; acl->live != NULL && i < acl->live->nlisteners; i++)
		if (acl_listener_rule(&acl->live->listeners[i], &r) &&
		    acl_step(acl, &r, q, &pending, line, &v))
			return v;
	for (size_t i = 0; i < acl->len; i++)
		if (acl_step(acl, &acl->rules[i], q, &pending, line, &v))
			return v;
	return ACL_ALLOW;
}

/*
 * A name that is a numeric address (inet_pton's strict forms) is that
 * address already; a mapped one is unmapped. Returns false for other names.
 */
static bool acl_literal(const char *name, size_t len, struct net_cidr *n)
{
	char buf[INET6_ADDRSTRLEN];
	struct sockaddr_storage ss;
	socklen_t sslen;
	uint16_t unused;

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, name, len);
	buf[len] = '\0';
	if (net_parse_addr(buf, 0, &ss, &sslen, NULL, 0) < 0)
		return false;
	return acl_host_of((const struct sockaddr *)&ss, n, &unused);
}

static void acl_set_alias(struct acl_query *q)
{
	q->has_alias = acl_unspecified(&q->dest);
	if (!q->has_alias)
		return;
	memset(&q->alias, 0, sizeof(q->alias));
	q->alias.family = q->dest.family;
	if (q->dest.family == AF_INET) {
		q->alias.prefix = 32;
		q->alias.addr[0] = 127;
		q->alias.addr[3] = 1;
	} else {
		q->alias.prefix = 128;
		q->alias.addr[15] = 1;
	}
}

/* The one decision: a request by who (NULL: no login), for a datagram or not. */
static enum acl_verdict acl_judge(const struct acl *acl, const struct acl_request *req,
				  const struct acl_who *who, bool udp, int *line)
{
	struct acl_query q;
	uint16_t unused;
	int dummy;

	if (line == NULL)
		line = &dummy;
	*line = ACL_LINE_DEFAULT;
	if (acl == NULL)
		return ACL_ALLOW;
	memset(&q, 0, sizeof(q));
	q.name = req->name;
	q.name_len = req->name ? strlen(req->name) : 0;
	if (q.name_len > 0 && q.name[q.name_len - 1] == '.')
		q.name_len--;
	q.has_src = acl_host_of(req->src, &q.src, &unused);
	q.port = req->port;
	if (who != NULL) {
		q.user = who->user;
		q.cls = who->cls;
	}
	q.udp = udp;
	if (req->dst != NULL) {
		if (!acl_host_of(req->dst, &q.dest, &q.port))
			return ACL_DENY; /* not an IP destination: nothing to connect to */
		q.has_dest = true;
	} else if (q.name != NULL) {
		/* as given: "1.2.3.4." is a name, judged once resolved */
		q.has_dest = acl_literal(q.name, strlen(q.name), &q.dest);
	} else {
		q.unknown = true;
	}
	if (q.has_dest)
		acl_set_alias(&q);
	return acl_decide(acl, &q, line);
}

enum acl_verdict acl_check(const struct acl *acl, const struct acl_request *req, int *line)
{
	return acl_judge(acl, req, NULL, false, line);
}

enum acl_verdict acl_check_as(const struct acl *acl, const struct acl_request *req,
			      const struct acl_who *who, int *line)
{
	return acl_judge(acl, req, who, false, line);
}

enum acl_verdict acl_check_datagram(const struct acl *acl, const struct acl_request *req,
				    const struct acl_who *who, int *line)
{
	return acl_judge(acl, req, who, true, line);
}
