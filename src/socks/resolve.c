/* resolve: c-ares driven by the event loop. See resolve.h. */
#include "resolve.h"

#include <ares.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/net.h"

/* See resolve.h for why these numbers. */
#define RESOLVE_TIMEOUT_MS 1500
#define RESOLVE_TRIES 2

#define RESOLVE_CONTAINER(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct resolve_query {
	struct resolver *r;
	resolve_fn *fn;
	void *data;
	uint16_t port;
	int cancelled;
	int starting;                 /* inside ares_getaddrinfo() of resolve_start */
	struct resolve_query *next;   /* in r->ready */
	enum resolve_status status;
	size_t count;
	struct sockaddr_storage addrs[RESOLVE_MAX_ADDRS];
};

struct resolver {
	struct loop *loop;
	ares_channel channel;
	int channel_ok;
	int depth;                    /* c-ares calls or deliveries in progress */
	int doomed;                   /* resolver_destroy() was called */
	struct loop_timer timer;      /* c-ares' next retransmission or timeout */
	/*
	 * Queries c-ares finished before resolve_start() returned their handle:
	 * their callbacks run from ready_timer, never inside resolve_start().
	 */
	struct loop_timer ready_timer;
	struct resolve_query *ready, **ready_tail;
};

static void resolver_free(struct resolver *r);

/* --- bracketing c-ares calls, so that destroy waits for them to unwind --- */

static void resolver_enter(struct resolver *r)
{
	r->depth++;
}

static void resolver_on_timer(struct loop *loop, struct loop_timer *t);

/* c-ares wants to be called again after ares_timeout(); arm the loop timer. */
static void resolver_rearm(struct resolver *r)
{
	struct timeval tv;
	uint64_t ms;

	if (ares_timeout(r->channel, NULL, &tv) == NULL) {
		loop_timer_stop(r->loop, &r->timer);
		return;
	}
	/* rounded up: firing early would only cost an idle round */
	ms = (uint64_t)tv.tv_sec * 1000u + ((uint64_t)tv.tv_usec + 999u) / 1000u;
	loop_timer_start(r->loop, &r->timer, ms, resolver_on_timer);
}

static void resolver_leave(struct resolver *r)
{
	if (--r->depth > 0)
		return;
	if (r->doomed)
		resolver_free(r);
	else
		resolver_rearm(r);
}

/* --- the loop's side: readiness and timeouts handed to c-ares --- */

static void resolver_on_io(struct loop *loop, int fd, void *data, int events)
{
	struct resolver *r = data;

	(void)loop;
	resolver_enter(r);
	ares_process_fd(r->channel,
			(events & LOOP_READ) ? fd : ARES_SOCKET_BAD,
			(events & LOOP_WRITE) ? fd : ARES_SOCKET_BAD);
	resolver_leave(r);
}

static void resolver_on_timer(struct loop *loop, struct loop_timer *t)
{
	struct resolver *r = RESOLVE_CONTAINER(t, struct resolver, timer);

	(void)loop;
	resolver_enter(r);
	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolver_leave(r);
}

/* c-ares opens, changes or closes a socket: mirror it in the loop. */
static void resolver_on_sock_state(void *data, ares_socket_t fd, int readable,
				   int writable)
{
	struct resolver *r = data;
	int events = (readable ? LOOP_READ : 0) | (writable ? LOOP_WRITE : 0);

	if (events == 0) {
		loop_remove(r->loop, fd);
		return;
	}
	/* on failure the query still ends, by c-ares' timeout */
	if (loop_add(r->loop, fd, events, resolver_on_io, r) < 0)
		log_warn("resolver: cannot watch DNS socket %d: %s", fd,
			 strerror(errno));
}

/* --- results --- */

static enum resolve_status resolve_status_of(int status, size_t count)
{
	switch (status) {
	case ARES_SUCCESS:
		return count > 0 ? RESOLVE_OK : RESOLVE_NOT_FOUND;
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
	case ARES_ENONAME:
		return RESOLVE_NOT_FOUND;
	default:
		return RESOLVE_FAILED;
	}
}

static void resolve_add_node(struct resolve_query *q,
			     const struct ares_addrinfo_node *node)
{
	struct sockaddr_storage *ss = &q->addrs[q->count];
	size_t len;

	if (node->ai_addr == NULL)
		return;
	if (node->ai_family == AF_INET)
		len = sizeof(struct sockaddr_in);
	else if (node->ai_family == AF_INET6)
		len = sizeof(struct sockaddr_in6);
	else
		return;
	if ((size_t)node->ai_addrlen < len)
		return;
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, node->ai_addr, len);
	net_set_port(ss, q->port);
	q->count++;
}

static void resolve_collect(struct resolve_query *q, int status,
			    const struct ares_addrinfo *ai)
{
	const struct ares_addrinfo_node *node;

	q->count = 0;
	if (status == ARES_SUCCESS && ai != NULL)
		for (node = ai->nodes; node != NULL && q->count < RESOLVE_MAX_ADDRS;
		     node = node->ai_next)
			resolve_add_node(q, node);
	q->status = resolve_status_of(status, q->count);
}

static void resolve_deliver(struct resolve_query *q)
{
	if (!q->cancelled && !q->r->doomed)
		q->fn(q->data, q->status, q->addrs, q->count);
	free(q);
}

static void resolver_on_ready(struct loop *loop, struct loop_timer *t)
{
	struct resolver *r = RESOLVE_CONTAINER(t, struct resolver, ready_timer);
	struct resolve_query *q;

	(void)loop;
	resolver_enter(r);
	while ((q = r->ready) != NULL) {
		r->ready = q->next;
		if (r->ready == NULL)
			r->ready_tail = &r->ready;
		resolve_deliver(q);
	}
	resolver_leave(r);
}

/* c-ares is done with a query: always called exactly once per query. */
static void resolve_on_done(void *arg, int status, int timeouts,
			    struct ares_addrinfo *ai)
{
	struct resolve_query *q = arg;
	struct resolver *r = q->r;

	(void)timeouts;
	resolve_collect(q, status, ai);
	if (ai != NULL)
		ares_freeaddrinfo(ai);
	if (!q->starting) {
		resolve_deliver(q);
		return;
	}
	q->next = NULL;
	*r->ready_tail = q;
	r->ready_tail = &q->next;
	loop_timer_start(r->loop, &r->ready_timer, 0, resolver_on_ready);
}

/* --- public interface --- */

static int resolver_init_channel(struct resolver *r, const char *servers,
				 char *err, size_t errlen)
{
	static char lookups[] = "fb";
	struct ares_options opts;
	int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
		   ARES_OPT_LOOKUPS | ARES_OPT_FLAGS | ARES_OPT_DOMAINS;
	int rc;

	memset(&opts, 0, sizeof(opts));
	/*
	 * A SOCKS destination is absolute: asked exactly as written, never
	 * completed from resolv.conf's search list ("lo" must not become
	 * lo.test behind a "dest-host lo.test" rule judged on "lo"). The
	 * flag alone is not enough: c-ares 1.18's getaddrinfo ignores it, so
	 * the search list is also set empty (then neither LOCALDOMAIN nor
	 * resolv.conf's search line fills it).
	 */
	opts.flags = ARES_FLAG_NOSEARCH;
	opts.domains = NULL;
	opts.ndomains = 0;
	opts.sock_state_cb = resolver_on_sock_state;
	opts.sock_state_cb_data = r;
	opts.timeout = RESOLVE_TIMEOUT_MS;
	opts.tries = RESOLVE_TRIES;
	opts.lookups = lookups;
	rc = ares_init_options(&r->channel, &opts, mask);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "resolver: %s", ares_strerror(rc));
		return -1;
	}
	r->channel_ok = 1;
	if (servers == NULL)
		return 0;
	rc = ares_set_servers_ports_csv(r->channel, servers);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "resolver: servers '%s': %s", servers,
			 ares_strerror(rc));
		return -1;
	}
	return 0;
}

struct resolver *resolver_create(struct loop *loop, const char *servers,
				 char *err, size_t errlen)
{
	struct resolver *r;
	int rc = ares_library_init(ARES_LIB_INIT_ALL);

	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "resolver: %s", ares_strerror(rc));
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(err, errlen, "resolver: %s", strerror(ENOMEM));
		ares_library_cleanup();
		return NULL;
	}
	r->loop = loop;
	r->ready_tail = &r->ready;
	if (resolver_init_channel(r, servers, err, errlen) < 0) {
		resolver_free(r);
		return NULL;
	}
	return r;
}

static void resolver_free(struct resolver *r)
{
	struct resolve_query *q;

	r->doomed = 1;
	/* completes every pending query with ARES_EDESTRUCTION, silently */
	if (r->channel_ok)
		ares_destroy(r->channel);
	loop_timer_stop(r->loop, &r->timer);
	loop_timer_stop(r->loop, &r->ready_timer);
	while ((q = r->ready) != NULL) {
		r->ready = q->next;
		free(q);
	}
	free(r);
	ares_library_cleanup();
}

void resolver_destroy(struct resolver *r)
{
	if (r == NULL)
		return;
	r->doomed = 1;
	/* called from a callback: the outermost resolver_leave() frees */
	if (r->depth > 0)
		return;
	resolver_free(r);
}

struct resolve_query *resolve_start(struct resolver *r, const char *name,
				    uint16_t port, resolve_fn *fn, void *data)
{
	struct ares_addrinfo_hints hints;
	struct resolve_query *q;
	int doomed;

	if (r->doomed || name == NULL || fn == NULL)
		return NULL;
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return NULL;
	q->r = r;
	q->fn = fn;
	q->data = data;
	q->port = port;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	q->starting = 1;
	resolver_enter(r);
	ares_getaddrinfo(r->channel, name, NULL, &hints, resolve_on_done, q);
	q->starting = 0;
	doomed = r->doomed;
	resolver_leave(r);
	return doomed ? NULL : q;
}

void resolve_cancel(struct resolve_query *q)
{
	/* c-ares cannot abort one query: it completes, and is freed, unseen */
	if (q != NULL)
		q->cancelled = 1;
}
