/*
 * dissect: password dissectors. A dissector is a pure, incremental parser fed
 * the bytes of both directions of one tunnel as they are relayed, split
 * anywhere. It does no I/O, buffers at most DISSECT_LINE_MAX bytes per
 * direction, and reports each credential it sees through a callback once the
 * server has answered the login (so the report says whether it worked).
 *
 * The owner asks dissect_start() at connect time; a NULL answer means the
 * flow is not watched and takes the fast path. A watched flow is fed until
 * dissect_feed() says DISSECT_STOP, then returns to the fast path too: a
 * mail or FTP login is over (or TLS starts), HTTP left HTTP/1.x (a CONNECT
 * tunnel, an upgrade, a body running to the close, bytes that do not
 * parse), or DISSECT_BUDGET bytes of lines went by in one direction without
 * the protocol resetting the count. Bodies and literals skipped by their
 * length are not lines and cost nothing against the budget: HTTP resets it
 * at every message, so a kept-alive connection is inspected request by
 * request for its whole life, its state bounded all along. Those bodies need
 * not even be fed: dissect_pass() says how many bytes the owner may move
 * unseen (by splice), so only start lines, headers and chunk-size lines
 * pass through user space.
 */
#ifndef MASS_DISSECT_H
#define MASS_DISSECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DISSECT_MAX_PORTS 16      /* ports per protocol ([dissectors] key) */
#define DISSECT_LINE_MAX 1024      /* longest line (or header) kept per direction */
#define DISSECT_BUDGET (64 * 1024) /* line bytes per direction (HTTP: per message) */

/*
 * The protocols, the one table of them: X(ID, [dissectors] key, default
 * ports...). It makes the ids (DISSECT_POP3 ...), the configuration keys
 * (config.c), the defaults below and the registry (dissect_registry.c),
 * whose row for ID is DISSECT_PROTO(ID), defined in that protocol's file
 * (dissect_int.h). Adding a protocol is that file and one line here.
 */
#define DISSECT_PROTOCOLS(X) \
	X(POP3, "pop3", 110) \
	X(HTTP, "http", 80, 8080) \
	X(FTP, "ftp", 21) \
	X(IMAP, "imap", 143) \
	X(SMTP, "smtp", 25, 587)

#define DISSECT_ID_(id, key, ...) DISSECT_##id,
enum dissect_protocol { DISSECT_PROTOCOLS(DISSECT_ID_) DISSECT_COUNT };
#undef DISSECT_ID_

/* The ports one protocol watches. */
struct dissect_ports {
	uint16_t ports[DISSECT_MAX_PORTS];
	size_t len;
};

/* Sets every protocol's ports to its default from the table. */
static inline void dissect_default_ports(struct dissect_ports ports[DISSECT_COUNT])
{
#define DISSECT_DEFAULT_(id, key, ...) \
	ports[DISSECT_##id] = (struct dissect_ports){ \
		.ports = { __VA_ARGS__ }, \
		.len = sizeof((uint16_t[]){ __VA_ARGS__ }) / sizeof(uint16_t) };
	DISSECT_PROTOCOLS(DISSECT_DEFAULT_)
#undef DISSECT_DEFAULT_
}

enum dissect_dir { DISSECT_TO_SERVER = 0, DISSECT_TO_CLIENT = 1 };
enum dissect_verdict { DISSECT_CONTINUE = 0, DISSECT_STOP = 1 };

struct dissect_credential {
	const char *protocol;    /* "POP3", "HTTP", "FTP", "IMAP", "SMTP" */
	const char *user;
	size_t user_len;
	const char *pass;
	size_t pass_len;
	const char *result;      /* "ok", "fail" or "?" (no answer seen) */
};

typedef void dissect_report_fn(void *ctx, const struct dissect_credential *cred);

struct dissect;

/*
 * A dissector for a flow to dest_port, or NULL (also on ENOMEM) when none
 * watches it. A port any protocol watches is watched; which protocol reads
 * it is settled by the flow's first line: a client line that is an HTTP
 * request line picks HTTP, a server greeting picks the protocol it belongs
 * to ("+OK" POP3, "* OK" IMAP, "220" SMTP when it says so else FTP), anything
 * else the protocol of the port (the first in table order). Only protocols
 * with ports configured are picked. On a port none watches, first_bytes
 * (the client's first data, may be NULL) that look like an HTTP request
 * still pick HTTP. report(ctx, ...) is called for every credential.
 */
struct dissect *dissect_start(const struct dissect_ports ports[DISSECT_COUNT],
			      uint16_t dest_port, const uint8_t *first_bytes, size_t first_len,
			      dissect_report_fn *report, void *ctx);

/* True when these first client bytes start like an HTTP/1.x request line:
 * a whole "METHOD target HTTP/1.x" line, or the start of one of a common
 * method (GET, POST, ...). */
bool dissect_looks_like_http(const uint8_t *buf, size_t len);

/* Feeds bytes of one direction. Once DISSECT_STOP is returned, stop feeding. */
enum dissect_verdict dissect_feed(struct dissect *d, enum dissect_dir dir,
				  const uint8_t *buf, size_t len);

/*
 * How many of the bytes of dir that follow those fed so far the dissector
 * lets go by unseen (an HTTP body of known length, a chunk's data, a server
 * literal): 0 when it must see the next byte. It counts them as gone: the
 * owner must move exactly that many of dir before feeding dir again (the
 * relay splices them). Asking again before that answers 0.
 */
uint64_t dissect_pass(struct dissect *d, enum dissect_dir dir);

/* Reports anything still pending with result "?" (the tunnel closed) and frees. */
void dissect_free(struct dissect *d);

#endif
