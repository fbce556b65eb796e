/* addr: socket address comparisons. See addr.h. */
#include "addr.h"

#include <netinet/in.h>
#include <string.h>

#include "net.h"

socklen_t addr_len(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return sizeof(struct sockaddr_in);
	if (sa->sa_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	return 0;
}

bool addr_is_unspecified(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

/*
 * The 4 octets of an IPv4 or IPv4-mapped address into out, or the 16 of
 * another IPv6 address. Returns how many, 0 for other families.
 */
static size_t addr_host(const struct sockaddr *sa, uint8_t out[16])
{
	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(out, a->s6_addr + 12, 4);
			return 4;
		}
		memcpy(out, a->s6_addr, 16);
		return 16;
	}
	return 0;
}

bool addr_same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	uint8_t ha[16], hb[16];
	size_t la = addr_host(a, ha), lb = addr_host(b, hb);

	return la != 0 && la == lb && memcmp(ha, hb, la) == 0;
}

bool addr_same(const struct sockaddr *a, const struct sockaddr *b)
{
	return addr_same_ip(a, b) && net_port(a) == net_port(b);
}
