/*
 * Fuzz target: the [acl] rule compiler and matcher. The input is a 35-octet
 * query (a flags octet, client and destination IPv6 addresses, which may be
 * IPv4-mapped, and the port) then text: the first line is the destination
 * name, every further line a rule "KEY VALUE" (first blank splits). The
 * name check must never contradict the address check it announces: a
 * decided name verdict is the address verdict for any address.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "socks/acl.h"
#include "config.h"
#include "fuzz.h"

#define FUZZ_ACL_HEAD 35

static void fuzz_acl_rules(struct config *c, const char *text, size_t len, char *name,
			   size_t namelen)
{
	size_t line = 0, start = 0;

	for (size_t i = 0; i <= len; i++) {
		char buf[1024], *sp;
		size_t n;

		if (i < len && text[i] != '\n')
			continue;
		n = i - start < sizeof(buf) - 1 ? i - start : sizeof(buf) - 1;
		memcpy(buf, text + start, n);
		buf[n] = '\0';
		start = i + 1;
		if (line++ == 0) {
			snprintf(name, namelen, "%s", buf);
			continue;
		}
		if (memchr(buf, '\0', n) != NULL)
			continue;
		sp = strchr(buf, ' ');
		if (sp != NULL)
			*sp++ = '\0';
		FUZZ_CHECK(config_list_add(&c->acl, buf, sp ? sp : "", (int)line) == 0);
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
	struct config c;
	struct acl *acl;
	struct sockaddr_in6 src, dst;
	char name[256] = "", err[512];
	uint16_t port;

	if (size < FUZZ_ACL_HEAD)
		return 0;
	port = (uint16_t)(data[33] << 8 | data[34]);
	fuzz_acl_addr(&src, data + 1, 0);
	fuzz_acl_addr(&dst, data + 17, port);
	config_defaults(&c);
	c.mgmt_port = (data[0] & 1) ? port : 0;
	fuzz_acl_rules(&c, (const char *)data + FUZZ_ACL_HEAD, size - FUZZ_ACL_HEAD,
		       name, sizeof(name));
	acl = acl_compile(&c, err, sizeof(err));
	if (acl != NULL) {
		const char *nm = (data[0] & 2) ? NULL : name;
		int nline = 0, aline = 0;
		enum acl_verdict nv = acl_check_name(acl, (struct sockaddr *)&src, nm, port, &nline);
		enum acl_verdict av = acl_check_addr(acl, (struct sockaddr *)&src,
						     (struct sockaddr *)&dst, nm, &aline);

		if (nv == ACL_DENY || nline != ACL_LINE_DEFAULT)
			FUZZ_CHECK(nv == av && nline == aline);
		acl_free(acl);
	} else {
		FUZZ_CHECK(strstr(err, "[acl]") != NULL || strcmp(err, "out of memory") == 0);
	}
	config_free(&c);
	return 0;
}
