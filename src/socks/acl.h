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
 *   all              every request (alone)
 *
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are matched as the IPv4
 * address they reach, so a client cannot dodge an IPv4 rule by writing it
 * as IPv6.
 *
 * Before the user rules comes a built-in one protecting the management
 * server: "deny" of the management port (when it is not 0) on every
 * management listen address, on 127.0.0.0/8 and ::1, and on 0.0.0.0 and ::
 * (which the kernel routes to the host itself). A wildcard management
 * listener is also reachable on the host's other addresses: deny those with
 * rules of your own.
 *
 * A request is checked twice: by name before it is resolved
 * (acl_check_name), then every address before it is connected to
 * (acl_check_addr), so a name cannot smuggle in a denied address. The two
 * agree: a name check decides only what no address could change.
 *
 * Compiling is pure (no sockets, no files) and all-or-nothing; matching is
 * pure and allocation-free.
 */
#ifndef MASS_ACL_H
#define MASS_ACL_H

#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>

#include "config.h"

struct acl;

enum acl_verdict { ACL_ALLOW = 0, ACL_DENY = 1 };

/* ACL_LINE_BUILTIN: the management rule; ACL_LINE_DEFAULT: no rule matched. */
#define ACL_LINE_BUILTIN 0
#define ACL_LINE_DEFAULT (-1)

/*
 * Compiles cfg->acl behind the built-in rule for cfg->mgmt_listen and
 * cfg->mgmt_port. Returns the ACL, or NULL with "PATH:LINE: [acl] KEY:
 * reason" (or "out of memory") in err.
 */
struct acl *acl_compile(const struct config *cfg, char *err, size_t errlen);

/* Frees an ACL (NULL is fine). */
void acl_free(struct acl *acl);

/* Number of rules, the built-in ones included. */
size_t acl_rule_count(const struct acl *acl);

/*
 * The verdict for a request for name:port from src, before resolution.
 * ACL_DENY only when the answer is deny whatever the name resolves to;
 * ACL_ALLOW means "go on and check every address". *line (when not NULL)
 * gets the mass.ini line of the deciding rule, ACL_LINE_BUILTIN or
 * ACL_LINE_DEFAULT. A NULL acl allows everything.
 */
enum acl_verdict acl_check_name(const struct acl *acl, const struct sockaddr *src,
				const char *name, uint16_t port, int *line);

/*
 * The verdict for connecting (or sending, for UDP) from src to dst (AF_INET
 * or AF_INET6, port included). name is what the client asked for, or NULL
 * when it gave an address. src may be NULL when unknown (src rules then do
 * not match). *line as for acl_check_name().
 */
enum acl_verdict acl_check_addr(const struct acl *acl, const struct sockaddr *src,
				const struct sockaddr *dst, const char *name, int *line);

#endif
