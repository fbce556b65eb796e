/*
 * Fuzz target: the [acl] rule compiler and matcher. The input is a 35-octet
 * query (a flags octet, client and destination IPv6 addresses, which may be
 * IPv4-mapped, and the port) then text: the first line is the destination
 * name, every further line a rule "KEY VALUE" (first blank splits). Flag 1
 * adds built-in rules: a listener on the destination address and port and
 * one wildcard listener on that port, the client's address as local. No
 * stage may contradict a later one: a verdict decided with the client
 * alone is the verdict for any name and address, and a decided name
 * verdict is the address verdict for any address (for a numeric name, the
 * address it spells); the deciding line may move to an earlier rule of the
 * same action, never to the default.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/net.h"
#include "socks/acl.h"
#include "fuzz.h"

#define FUZZ_ACL_HEAD 35

#define FUZZ_ACL_RULES 64

/*
 * One rule per line after the first (the name): "ACTION CONDITIONS". The
 * text is copied once into store (len + 1 octets) and cut there in place,
 * with memchr rather than a loop over every octet: a per-octet loop and a
 * 1 KiB copy per line cost more than the compiler under test. A line is
 * cut at 1023 octets; a rule line holding a NUL is skipped.
 */
static void fuzz_acl_rules(struct acl_rules *c, char *store, const char *text, size_t len,
			   char *name, size_t namelen)
{
	struct acl_rule_text *items = (struct acl_rule_text *)c->items;
	size_t line = 0, start = 0;

	memcpy(store, text, len);
	store[len] = '\0';
	while (start <= len) {
		const char *nl = memchr(store + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - store) : len, n = end - start;
		char *buf = store + start, *sp;

		if (n > 1023)
			n = 1023;
		buf[n] = '\0';
		start = end + 1;
		if (line++ == 0) {
			snprintf(name, namelen, "%s", buf);
			continue;
		}
		if (memchr(buf, '\0', n) != NULL)
			continue;
		if (c->len == FUZZ_ACL_RULES)
			break;
		sp = strchr(buf, ' ');
		if (sp != NULL)
			*sp++ = '\0';
		items[c->len] = (struct acl_rule_text){ buf, sp ? sp : "", (int)line };
		c->len++;
	}
}

static void fuzz_acl_addr(struct sockaddr_in6 *sa, const uint8_t *addr, uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin6_family = AF_INET6;
	sa->sin6_port = htons(port);
	memcpy(&sa->sin6_addr, addr, 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct acl_rule_text items[FUZZ_ACL_RULES];
	char *store;
	struct acl_rules c = { items, 0, NULL };
	struct acl *acl;
	struct sockaddr_in6 src, dst, wild;
	struct sockaddr_storage listeners[2], local[1];
	struct acl_self self = { listeners, 2, local, 1, NULL };
	char name[256] = "", err[512];
	uint16_t port;

	if (size < FUZZ_ACL_HEAD)
		return 0;
	port = (uint16_t)(data[33] << 8 | data[34]);
	fuzz_acl_addr(&src, data + 1, 0);
	fuzz_acl_addr(&dst, data + 17, port);
	fuzz_acl_addr(&wild, (const uint8_t[16]){ 0 }, port);
	memcpy(&listeners[0], &dst, sizeof(dst));
	memcpy(&listeners[1], &wild, sizeof(wild));
	memcpy(&local[0], &src, sizeof(src));
	store = malloc(size - FUZZ_ACL_HEAD + 1);
	FUZZ_CHECK(store != NULL);
	fuzz_acl_rules(&c, store, (const char *)data + FUZZ_ACL_HEAD, size - FUZZ_ACL_HEAD,
		       name, sizeof(name));
	acl = acl_compile(&c, (data[0] & 1) ? &self : NULL, err, sizeof(err));
	free(store);
	if (acl != NULL) {
		const char *nm = (data[0] & 2) ? NULL : name;
		struct sockaddr_storage lit;
		socklen_t litlen;
		const struct sockaddr *d = (const struct sockaddr *)&dst;
		int cline = 0, nline = 0, aline = 0;
		enum acl_verdict cv, nv, av;

		/* a numeric name resolves to itself */
		if (nm != NULL && net_parse_addr(nm, port, &lit, &litlen, NULL, 0) == 0)
			d = (const struct sockaddr *)&lit;
		cv = acl_check(acl, &(struct acl_request){ (struct sockaddr *)&src, NULL, NULL, 0 },
			       &cline);
		nv = acl_check(acl, &(struct acl_request){ (struct sockaddr *)&src, nm, NULL, port },
			       &nline);
		av = acl_check(acl, &(struct acl_request){ (struct sockaddr *)&src, nm, d, 0 }, &aline);
		if (cv == ACL_DENY || cline != ACL_LINE_DEFAULT)
			FUZZ_CHECK(cv == av && (aline == cline || aline != ACL_LINE_DEFAULT));
		if (nm != NULL && (nv == ACL_DENY || nline != ACL_LINE_DEFAULT))
			FUZZ_CHECK(nv == av && (aline == nline || aline != ACL_LINE_DEFAULT));
		acl_free(acl);
	} else {
		FUZZ_CHECK(strstr(err, "[acl]") != NULL || strcmp(err, "out of memory") == 0);
	}
	return 0;
}
