/*
 * acl: the destination access list of the [acl] section of mass.ini.
 *
 * Every line is one rule, "allow = CONDITIONS" or "deny = CONDITIONS"; a
 * rule matches when all of its conditions do, the first matching rule
 * decides, and a request no rule matches is allowed (end with "deny = all"
 * for a default deny). Conditions, each at most once per rule, separated by
 * blanks:
 *
 *   dest CIDR        the destination address: 10.0.0.0/8, fd00::/8, or one
 *                    address (/32, /128); host bits must be zero
 *   dest-host NAME   the destination as the client named it (ATYP 03):
 *                    "example.com" matches example.com and every name under
 *                    it, ".example.com" only the names under it; case and a
 *                    final dot are ignored; never matches a request by address
 *   port N | N-M     the destination port (1-65535)
 *   src CIDR         the client's address
 *   user NAME        the authenticated user (exactly; never matches a client
 *                    that did not log in)
 *   class NAME       the user's class ([class NAME], limits/limits_class.h);
 *                    a client without a login is in class "default"
 *   all              every request (alone)
 *   dest local       any address of this host: loopback (127.0.0.0/8, ::1),
 *                    the unspecified range and the addresses of the host's
 *                    interfaces: as they are now when the ACL has a live
 *                    view (struct acl_live: kept current by core/netlink.h),
 *                    else as they were when the ACL was built
 *
 * Addresses are judged by where the kernel delivers them. IPv4-mapped IPv6
 * addresses (::ffff:a.b.c.d) are matched as the IPv4 address they reach,
 * so a client cannot dodge an IPv4 rule by writing it as IPv6. The
 * unspecified addresses (0.0.0.0/8, ::, ::ffff:0.0.0.0), which Linux
 * delivers to the host itself, match as themselves and also as loopback
 * (127.0.0.1, ::1): "deny = dest 127.0.0.0/8" denies 0.0.0.0 too. A name
 * that is a numeric address ("0.0.0.0" as ATYP 03) is judged as that
 * address already before resolution, and as every address it resolves to
 * after.
 *
 * Before the user rules come the built-in ones, computed from the sockets
 * actually bound (struct acl_self): "deny" of every socks5d listener (the
 * SOCKS ones and the management ones, whatever port they got, 0 included)
 * on every address the host delivers to it: a listener on one address on
 * that address (and, for a loopback listener, on the unspecified addresses
 * through the rule above); a wildcard listener (0.0.0.0 or ::) on loopback,
 * the unspecified range and every local address of its family. So no
 * client reaches the management server through the proxy, nor chains the
 * proxy through itself. They cannot be overridden. The same rule covers
 * every listener in the live view (struct acl_live): the listening
 * sockets plugins watch (the Prometheus exporter's), added and removed
 * while the ACL is in force; and a wildcard listener's "local" is the
 * live one.
 *
 * One decision function for every command (acl_check): CONNECT, BIND (the
 * requested address, then the peer that connects), UDP ASSOCIATE (the
 * client at association time, then every datagram's destination) all ask
 * it with the same inputs: the client's address, the name as the client
 * gave it, and the address once known. A name is checked before it is
 * resolved, then every address before it is used, so a name cannot smuggle
 * in a denied address. The stages agree: an earlier stage decides only
 * what no later knowledge could change (the verdict; the deciding line may
 * then be an earlier rule's of the same action).
 *
 * Compiling is pure (no sockets, no files: the caller gathers the bound
 * and local addresses) and all-or-nothing; matching is allocation-free
 * and reads nothing but the ACL and its live view (which the loop updates
 * between requests, never during one).
 */
#ifndef MASS_ACL_H
#define MASS_ACL_H

#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>


struct acl;

enum acl_verdict { ACL_ALLOW = 0, ACL_DENY = 1 };

/* ACL_LINE_BUILTIN: a built-in rule; ACL_LINE_DEFAULT: no rule matched. */
#define ACL_LINE_BUILTIN 0
#define ACL_LINE_DEFAULT (-1)

/* Most local addresses an ACL keeps for "dest local" and the built-in rules. */
#define ACL_LOCAL_MAX 256

/*
 * What socks5d itself is, gathered by the caller: every bound listener
 * (address and port as bound: a port 0 asked for is the port got) and the
 * host's local addresses (ports ignored). Loopback and the unspecified
 * addresses count as local without being listed.
 */
struct acl_self {
	const struct sockaddr_storage *listeners;
	size_t nlisteners;
	const struct sockaddr_storage *local;
	size_t nlocal;               /* beyond ACL_LOCAL_MAX the rest is ignored */
	const struct acl_live *live; /* NULL: none; else it must outlive the ACL */
};

/*
 * What socks5d is, live, owned by the loop's owner and read by every ACL
 * compiled with it: the host's addresses as the kernel announces them
 * (host; NULL: the list of acl_self.local is used) and the listening
 * sockets that appeared after start (a plugin's: the host adds one when a
 * plugin watches a listening socket, and removes it with the watch).
 */
#define ACL_LIVE_LISTENERS 64

struct netlink_addrs;

struct acl_live {
	const struct netlink_addrs *host;
	struct sockaddr_storage listeners[ACL_LIVE_LISTENERS];
	size_t nlisteners;
};

/* Adds a bound listener (address and port). Returns 0, or -1 when full (logged by the caller). */
int acl_live_listener_add(struct acl_live *live, const struct sockaddr *addr);

/* Removes one entry equal to addr (address and port), if any. */
void acl_live_listener_del(struct acl_live *live, const struct sockaddr *addr);

/*
 * The user rules as written, in file order: one [acl] line each (action
 * "allow" or "deny", the conditions, the line number), and the file they
 * come from (NULL: "(defaults)"), for messages. The caller owns the
 * strings; acl_compile() keeps none of them.
 */
struct acl_rule_text {
	const char *action;
	const char *conditions;
	int line;
};

struct acl_rules {
	const struct acl_rule_text *items;
	size_t len;
	const char *path;
};

/*
 * Compiles rules behind the built-in rules for self (NULL: none, for
 * tests of the user rules alone). Returns the ACL, or NULL with "PATH:LINE:
 * [acl] KEY: reason" (or "out of memory") in err.
 */
struct acl *acl_compile(const struct acl_rules *rules, const struct acl_self *self,
			char *err, size_t errlen);

/* Frees an ACL (NULL is fine). */
void acl_free(struct acl *acl);

/* Number of rules, the built-in ones included. */
size_t acl_rule_count(const struct acl *acl);

/* Number of built-in rules (they come first). */
size_t acl_builtin_count(const struct acl *acl);

/*
 * One request as known at one stage. src: the client (NULL when unknown:
 * src rules then do not match). dst: the address (AF_INET or AF_INET6,
 * port included) once known, else NULL. name: the destination as the
 * client named it (ATYP 03), or NULL. port: the destination port when dst
 * is NULL and name is not. With neither dst nor name the destination is not
 * known at all (UDP ASSOCIATE before any datagram, BIND naming no peer):
 * only what no destination could change is decided.
 */
struct acl_request {
	const struct sockaddr *src;
	const char *name;
	const struct sockaddr *dst;
	uint16_t port;
};

/* Who asks, for the user and class conditions (acl_check_as). */
struct acl_who {
	const char *user;            /* the authenticated user, NULL: none */
	const char *cls;             /* the user's class name, NULL: "default" */
};

/*
 * The verdict for req. Before the address is known, ACL_DENY only when the
 * answer is deny whatever it turns out to be, and ACL_ALLOW means "go on
 * and check again once known". A dst of another family is denied (nothing
 * to connect to). *line (when not NULL) gets the mass.ini line of the
 * deciding rule, ACL_LINE_BUILTIN or ACL_LINE_DEFAULT. A NULL acl allows
 * everything.
 */
enum acl_verdict acl_check(const struct acl *acl, const struct acl_request *req, int *line);

/* The same for a client known as who (NULL: no login, class default). */
enum acl_verdict acl_check_as(const struct acl *acl, const struct acl_request *req,
			      const struct acl_who *who, int *line);

/*
 * acl_check_as for a UDP datagram's destination: the built-in rules keep
 * clients off socks5d's own listeners, which are TCP; a UDP port of the
 * same number is another service, judged by the rules of mass.ini alone.
 */
enum acl_verdict acl_check_datagram(const struct acl *acl, const struct acl_request *req,
				    const struct acl_who *who, int *line);

#endif
