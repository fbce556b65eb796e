/*
 * <mass/plugin.h>: the plugin ABI of socks5d's MASS management server.
 *
 * This header is the whole SDK and its manual. A plugin is a shared object
 * (build it with `cc -shared -fPIC $(pkg-config --cflags --libs mass-plugin)`) that
 * exports exactly one symbol:
 *
 *	const struct mass_plugin mass_plugin = { MASS_PLUGIN_IDENTITY, ... };
 *
 * The descriptor declares, statically, which MASS indexes the plugin serves
 * and the parameter signature of each. The host reads the request bytes off
 * the socket, frames the parameters from that signature, and calls the
 * handler with them; the handler builds its reply fields through the host
 * services table. A plugin never touches a socket.
 *
 * Loading. At start and at every reload (SIGHUP) the host builds a whole
 * new set from mass.ini, in this order:
 *   1. each plugin's file (NAME.so in [plugins] dir, or its `module`) is
 *      read as it is at that moment into a private copy (an unlinked memfd,
 *      else an unlinked temporary file) and the copy is dlopen()ed
 *      (RTLD_NOW | RTLD_LOCAL), never the file itself. The file must be a
 *      regular file of at most 64 MiB holding a whole ELF shared object.
 *   2. the identity fields are checked before anything else is read:
 *      magic == MASS_PLUGIN_MAGIC; abi_major equal to the host's; abi_minor
 *      <= the host's; size at least the descriptor size of that minor.
 *      A mismatch is reported as "x.so built for ABI 1.3, host has 1.2".
 *   3. the index table is checked (00, the core's, and FF, reserved, never
 *      claimed; no index twice; every signature valid; since 1.2 each
 *      entry sets exactly one of handler and serve, and each reply_layout
 *      given is valid, see "Reply layouts"), then the whole [indexes]
 *      section against the set: every index mass.ini gives a plugin must
 *      be in its table, and no index goes to two plugins. An index mass.ini
 *      gives a plugin that is not in its table fails that plugin ("does
 *      not serve index NN (FILE:LINE)"), like any other check: at start
 *      all its indexes answer 02, at reload the reload is refused. A
 *      descriptor name other than the one mass.ini uses is only a warning
 *      ("plugin NAME (FILE): descriptor names itself OTHER"): mass.ini's
 *      name is the one used.
 *   4. init() is called on each plugin only once every static check of the
 *      whole set (steps 1 to 3, for every plugin) has run, and at reload
 *      only when all of them passed.
 * The rule is the same at start and at reload; only the outcome of a
 * failure differs. At start a plugin that fails any step (its init
 * included) is dropped, the log names it, the reason and every index it
 * leaves, those indexes answer 02, and the rest of the set starts. At
 * reload any failure, anywhere in the set, keeps the running set as it was
 * (the candidate's inits are then undone by their fini), and the log says
 * why. Each plugin loaded is logged as
 * "plugin NAME (FILE): loaded NAME version VERSION", FILE being the file
 * mass.ini names and NAME/VERSION the descriptor's strings.
 *
 * Updating a plugin: replace its file by any means, `install -m 0755
 * new.so DIR/NAME.so`, `cp new.so DIR/NAME.so` (even over the running file,
 * same inode) or `mv` within a file system, then send SIGHUP. The running
 * set never reads the file again, so it cannot crash while the file
 * changes, and the reload loads the file's new bytes (never an object
 * loaded before from the same path). Finish writing before the SIGHUP: a
 * file caught half-written is refused ("truncated ELF object") and the old
 * set keeps running. As the object is loaded from /proc/self/fd/N (so /proc
 * must be mounted), $ORIGIN in a plugin's RUNPATH does not name the
 * plugin's directory: give dependencies an absolute RUNPATH.
 *
 * Compatibility rule: ABI major versions are incompatible with each other;
 * within a major, every structure here only grows at the end, and a minor
 * bump adds fields there. A plugin built for minor m runs on any host of the
 * same major with minor >= m.
 *
 * What each minor added: 1.0 the descriptor, index table and the host
 * services up to reply_count_end. 1.1 (every field after reply_count_end in
 * struct mass_host, and the types of the "ABI 1.1" part below): server
 * info, session events, authentication providers, loop services (timers
 * and descriptor watches), deferred replies, session control, the index
 * and plugin tables, and (appended before 1.1 was released, so check
 * MASS_HOST_HAS) users_add_async. A 1.1 plugin that wants to run on a 1.0 host
 * too checks host->abi_minor >= 1 (or host->size) before touching them.
 * 1.2 (the "ABI 1.2" parts below): the call context (struct mass_ctx)
 * handed to init_ctx, fini_ctx, serve and every callback registered
 * through a *_ctx service, so a plugin needs no global and no stored host
 * pointer; reply_u64; a cancel notice for a deferred reply whose client
 * left (reply_defer_ctx); the off-loop password service (password_verify,
 * password_hash); and an optional reply layout per index (reply_layout),
 * which index_info and the info plugin publish so that clients (massctl raw
 * and -j) can decode a third party's replies. A 1.2 plugin runs only on a
 * 1.2 host (the loader refuses it on an older one). Appended later in 1.2
 * (check MASS_HOST_HAS(host, usage_each)): the per-user limits services
 * (usage_each .. class_each, struct mass_usage).
 *
 * Writing a 1.2 plugin: set init_ctx and fini_ctx (not init and fini) in
 * the descriptor and serve (not handler) in each index; keep your state in
 * ctx->state and reach the host as ctx->host; register callbacks with the
 * *_ctx services. The minimal shape:
 *
 *	static int ping(struct mass_ctx *ctx, const struct mass_request *req,
 *			struct mass_reply *reply)
 *	{
 *		(void)req;
 *		return ctx->host->reply_str(reply, "pong", 4) == 0 ?
 *		       MASS_STATUS_OK : MASS_STATUS_ERROR;
 *	}
 *	static const struct mass_index table[] = {
 *		{ .index = 0x80, .signature = "", .usage = "ping",
 *		  .serve = ping, .reply_layout = "answer:str" },
 *	};
 *	const struct mass_plugin mass_plugin = { MASS_PLUGIN_IDENTITY,
 *		.name = "ping", .version = "1.0.0", .description = "ping",
 *		MASS_PLUGIN_INDEXES(table) };
 *
 * Link with -Wl,--no-undefined (a missing symbol is then a link error, not
 * a load failure on the server) and -fvisibility=hidden (only mass_plugin
 * is exported: this header marks it visible); `pkg-config --cflags --libs
 * mass-plugin` gives both.
 *
 * Threading contract: init, fini (init_ctx, fini_ctx, serve), every handler and every callback a
 * plugin registers (event, timer, watch, authentication provider) run on
 * the event-loop thread that owns the plugin set, one at a time: the host
 * never calls into a plugin concurrently, nor re-enters it from inside a
 * host service it called (a service that would, defers the work: see
 * session_close). They must not block (no blocking network calls, no
 * sleeping, no waiting for locks); one that does stalls every SOCKS
 * tunnel. Do I/O with the loop services (watch_add) on non-blocking
 * descriptors, wait with timer_add, answer later with reply_defer.
 *
 * Registrations and release (ABI 1.1). Every object a plugin registers
 * (subscription, timer, watch, provider, deferred reply, pending
 * authentication; since 1.2 also a password_verify or password_hash in
 * flight) belongs to the load that registered it: a host service called
 * from inside init, a handler or a callback of that load (1.2: the load
 * whose context the *_ctx service was given). When the
 * load ends (its fini returned, at a reload or exit, or its init failed)
 * the host removes and frees all of them, so a fini that forgets leaks
 * nothing and no callback ever reaches an unloaded object. Descriptors the
 * plugin opened stay the plugin's: close them in fini (the host only stops
 * watching them).
 *
 * State is per load: a reload (SIGHUP) loads the new set, calls init on it,
 * and only then fini on the old set, so for a while two loads of the same
 * plugin are alive, each with its own state. Keep everything in what init
 * stores in *state (ctx->state in 1.2), nothing in static variables: each load is a separate
 * copy of the object, with statics of its own, fresh at every reload.
 */
#ifndef MASS_PLUGIN_H
#define MASS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MASS_PLUGIN_MAGIC 0x4D415353u  /* "MASS" */
#define MASS_ABI_MAJOR 1
#define MASS_ABI_MINOR 2

/* The name of the one symbol the host looks up. */
#define MASS_PLUGIN_SYMBOL "mass_plugin"

/* Reply status octets (the first octet of every reply). */
enum mass_status {
	MASS_STATUS_OK = 0x00,           /* success; the fields follow */
	MASS_STATUS_ERROR = 0x01,        /* server error, or valid in form but not doable */
	MASS_STATUS_UNSUPPORTED = 0x02,  /* index not supported */
	MASS_STATUS_USER_LIMIT = 0x03,   /* user limit reached */
	/* ABI 1.1. Not an octet, never sent: a handler returns it after
	 * reply_defer() to answer later (see "Deferred replies"). Returned
	 * without a reply_defer() in that call, it is answered 01 and logged. */
	MASS_STATUS_PENDING = 0x100
};

/* Severity for host->log(); the same scale as the daemon's log. */
enum mass_log_level {
	MASS_LOG_ERROR = 0,
	MASS_LOG_WARN = 1,
	MASS_LOG_INFO = 2,
	MASS_LOG_DEBUG = 3
};

/*
 * Signatures: one character per parameter, in order.
 *   'b'  one raw octet
 *   's'  LENGTH (one octet, 0..255) then LENGTH octets of DATA
 * "" means no parameters; "ss" two strings; "sb" a string then an octet.
 * At most MASS_PARAMS_MAX characters. A table entry breaking this refuses
 * the plugin with the reason, e.g. "index 0E: invalid signature "sx":
 * 'x' at position 2 is neither 'b' nor 's'".
 *
 * A request is framed from the signature alone (MASS requests carry no
 * length), so a client that sends fewer parameters than the signature
 * says cannot be told from a slow one until it says it is done. Since 1.1
 * the host answers such a request 01 at once when the client shuts its
 * side down (its FIN) in the middle of the parameters (massctl does, after
 * every request), and logs "management: PEER index NN: request cut short:
 * K of N parameters (signature "SIG"), answered 01"; a client that just
 * stops is still dropped without a reply after the management timeout
 * (mass-protocol(7)), with the same line ending "dropped".
 */
#define MASS_PARAMS_MAX 8

/* One framed parameter. data stays valid for the duration of the handler
 * call only, and data[len] is always 0 so a string can be used as C text
 * (it may still hold other 0 octets: use len). */
struct mass_param {
	const uint8_t *data;
	size_t len;  /* 1 for 'b', 0..255 for 's' */
};

/* A framed request, as handed to a handler. */
struct mass_request {
	uint8_t index;
	uint8_t nparams;                          /* strlen(signature) */
	struct mass_param params[MASS_PARAMS_MAX];
};

/* The reply being built; opaque, written only through the host services. */
struct mass_reply;

/*
 * ABI 1.2: the call context. One per load of a 1.2 plugin, made by the host
 * before init_ctx and valid until fini_ctx returns; the same pointer is
 * handed to init_ctx, fini_ctx, every serve and every callback registered
 * through a *_ctx service, so a plugin reaches the host services and its
 * own state from the argument alone. The host fills size and host; the
 * plugin owns state (init_ctx sets it; the host never reads it). Do not
 * keep the pointer past fini_ctx.
 */
struct mass_ctx {
	uint32_t size;                  /* sizeof(struct mass_ctx) in the host */
	const struct mass_host *host;   /* the services (never NULL) */
	void *state;                    /* the plugin's: what init_ctx stored */
};

/*
 * A handler: serves one request. state is what init stored.
 * Returns a mass_status. On MASS_STATUS_OK the fields appended to reply are
 * sent after the status octet; on any other status they are discarded and
 * the status goes alone. If the reply overflowed (see reply_* below) the
 * host sends MASS_STATUS_ERROR whatever is returned; so it does for a
 * status outside 00..03 (and MASS_STATUS_PENDING, ABI 1.1). Since 1.1
 * each of these is logged as "plugin NAME: index NN: REASON", REASON
 * saying which: "reply overflowed (more than 65536 octets)", "string
 * field of N octets (at most 255)", "count N (at most 255)", "status N is not
 * a reply status".
 */
typedef int mass_handler_fn(void *state, const struct mass_request *req,
			    struct mass_reply *reply);

/* ABI 1.2: the same, with the call context (ctx->state is what init_ctx
 * stored). Same statuses and rules as mass_handler_fn. */
typedef int mass_serve_fn(struct mass_ctx *ctx, const struct mass_request *req,
			  struct mass_reply *reply);

/*
 * Reply layouts (ABI 1.2, struct mass_index.reply_layout). A layout
 * describes the fields a MASS_STATUS_OK reply carries after the status
 * octet, as comma-separated NAME:TYPE, TYPE one of
 *   u8    one octet
 *   u32   four octets, big-endian
 *   u64   eight octets, big-endian
 *   str   LENGTH (one octet) then LENGTH octets
 * or NAME:[FIELDS] for a COUNT-prefixed list: one count octet, then COUNT
 * records of FIELDS (the shape reply_count_begin/_end writes). NAME is
 * 1..32 of [a-z0-9_]. Example:
 *   "sessions:[id:u64,user:str,client:str,port:u32]"
 * The host checks the layout when it loads the plugin (a bad one refuses
 * the plugin with the reason) but not each reply against it: describe
 * what you send. index_info and the info plugin (14) publish it, and massctl
 * decodes replies by it (`massctl raw`, -j). NULL: undescribed.
 */

/* One served index, in the plugin's static table. */
struct mass_index {
	uint8_t index;          /* 0x01..0xFE; third parties take 0x80..0xFE (mass-protocol(7)) */
	const char *signature;  /* see above; never NULL */
	const char *usage;      /* one line for humans, e.g. "add user: NAME PASS" */
	mass_handler_fn *handler;  /* 1.0, 1.1; NULL in a 1.2 entry that sets serve */
	/* ABI 1.2 (read only when the descriptor's abi_minor >= 2 and its
	 * index_size covers them) */
	mass_serve_fn *serve;      /* called instead of handler when set; an entry
				    * must set exactly one of handler and serve */
	const char *reply_layout;  /* see "Reply layouts"; NULL: undescribed */
};

/* One key = value of the plugin's [plugin NAME] section in mass.ini. */
struct mass_config_item {
	const char *key;
	const char *value;
	unsigned line;          /* line in file, 0 when unknown */
};

/* The plugin's own [plugin NAME] section (the "module" key included). */
struct mass_config {
	const char *file;       /* mass.ini path, for messages; may be "" */
	size_t count;
	const struct mass_config_item *items;
};

/* ===================================================================== *
 * ABI 1.1 types. Each structure the host fills starts with `size`, the
 * sizeof() of that structure in the host: fields only ever get appended,
 * so a plugin built for a later minor checks size before reading a field
 * newer than the host. Text pointers in them are NUL-terminated, printable
 * ASCII unless said otherwise, and valid only for the call they are handed
 * to, unless said otherwise: copy what you keep.
 * ===================================================================== */

/* One bound listening socket. */
struct mass_listen_addr {
	const char *addr;       /* numeric address, e.g. "127.0.0.1", "::1" */
	uint16_t port;          /* as bound (an ephemeral port resolved) */
};

/*
 * Server info (host->server_info()). Valid until the plugin's fini (a
 * reload hands the new load a new one). Nothing in it changes while the
 * load lives.
 */
struct mass_server_info {
	uint32_t size;
	const char *version;        /* the daemon's version, e.g. "0.4.0" */
	int64_t start_time;         /* when the daemon started, Unix seconds;
				     * a reload does not change it */
	const char *config_file;    /* the mass.ini in force, as given; "" for none */
	const char *plugin_dir;     /* the directory NAME.so are loaded from */
	size_t nsocks;              /* SOCKS listeners... */
	const struct mass_listen_addr *socks;
	size_t nmgmt;               /* ...and MASS listeners, as bound */
	const struct mass_listen_addr *mgmt;
};

/*
 * Session events (host->subscribe()). One SOCKS client connection is one
 * session, with an id unique for the life of the process (never 0, never
 * reused). Its events, in this order, each at most once:
 *
 *   ACCEPTED       the connection was accepted (client, client_port)
 *   AUTHENTICATED  an RFC 1929 sub-negotiation was decided: user, ok
 *                  (1 accepted, 0 refused; a refused session is CLOSED next)
 *   REQUEST        the request was read: command, destination as the
 *                  client named it (a domain name or an address),
 *                  destination_port
 *   ESTABLISHED    the request succeeded (REP 00 sent): bound, bound_port
 *                  (the proxy's side: CONNECT's local address, BIND's or
 *                  UDP ASSOCIATE's relay address)
 *   CREDENTIAL     a password dissector saw a credential in the tunnel
 *                  (any number of times, between ESTABLISHED and CLOSED):
 *                  protocol, cred_user, cred_pass (network text: may hold
 *                  any octet, NUL included; use the lengths)
 *   CLOSED         the session ended, whatever the stage: the fields of the
 *                  earlier events still set, plus bytes_from_client,
 *                  bytes_to_client (payload relayed each way; for a UDP
 *                  association the datagrams' DATA, headers excluded),
 *                  duration_ms, reply (the REP octet sent, 0xFF when none was)
 *
 * Every later event carries the fields of the earlier ones (a CLOSED event
 * says who, from where, to where). Absent text is NULL with length 0.
 *
 * Delivery contract, also for a host running SOCKS sessions on several
 * event loops (a future version): events are delivered on the loop thread
 * that owns the plugin set, never concurrently with any other call into
 * the plugin, in the order above for each session; no order between
 * sessions is promised. Events of sessions on another loop are queued to
 * the plugins' loop, so an event may arrive after the session is gone
 * (session_close() then says so). A callback must not block and should be
 * short: it runs inside the SOCKS engine's step.
 *
 * Cost: the host keeps one subscriber count per event type and checks it
 * with one branch before building an event; a plugin that subscribes to
 * nothing costs nothing.
 */
enum mass_event_type {
	MASS_EVENT_ACCEPTED = 0,
	MASS_EVENT_AUTHENTICATED = 1,
	MASS_EVENT_REQUEST = 2,
	MASS_EVENT_ESTABLISHED = 3,
	MASS_EVENT_CLOSED = 4,
	MASS_EVENT_CREDENTIAL = 5
};
#define MASS_EVENT_TYPES 6
#define MASS_EVENT_BIT(type) (1u << (type))
#define MASS_EVENT_ALL ((1u << MASS_EVENT_TYPES) - 1)

/* SOCKS commands as in RFC 1928 (mass_event.command, mass_session.command). */
enum mass_command {
	MASS_COMMAND_NONE = 0,      /* no request read yet */
	MASS_COMMAND_CONNECT = 1,
	MASS_COMMAND_BIND = 2,
	MASS_COMMAND_UDP_ASSOCIATE = 3
};

struct mass_event {
	uint32_t size;
	uint8_t type;               /* enum mass_event_type */
	uint8_t command;            /* enum mass_command, from REQUEST on */
	uint8_t ok;                 /* AUTHENTICATED: 1 accepted, 0 refused */
	uint8_t reply;              /* CLOSED: REP octet sent; 0xFF none */
	uint64_t session;           /* the session's id */
	const char *client;         /* client address; always set */
	uint16_t client_port;
	uint16_t destination_port;  /* from REQUEST on */
	uint16_t bound_port;        /* from ESTABLISHED on */
	const char *user;           /* from AUTHENTICATED on (even refused); else NULL */
	size_t user_len;
	const char *destination;    /* from REQUEST on */
	const char *bound;          /* from ESTABLISHED on */
	uint64_t bytes_from_client; /* CLOSED: payload octets client -> destination */
	uint64_t bytes_to_client;   /* CLOSED: payload octets destination -> client */
	uint64_t duration_ms;       /* CLOSED: from accept to close */
	const char *protocol;       /* CREDENTIAL: "FTP", "HTTP", "IMAP", "POP3", "SMTP" */
	const char *cred_user;      /* CREDENTIAL: network octets, see above */
	size_t cred_user_len;
	const char *cred_pass;
	size_t cred_pass_len;
	const char *cred_result;    /* CREDENTIAL: "ok", "fail", "?" (no answer seen) */
};

/* An event callback: arg as given to subscribe(). ev is valid for the call only. */
typedef void mass_event_fn(void *arg, const struct mass_event *ev);

/* A subscription, a timer, a watch, a provider: opaque handles. */
struct mass_subscription;
struct mass_timer;
struct mass_watch;
struct mass_provider;
struct mass_auth;

/* A timer callback; timer is the handle timer_add() returned. */
typedef void mass_timer_fn(void *arg, struct mass_timer *timer);

/* Readiness bits for watches (watch_add, watch_set, and the callback). */
enum mass_watch_events {
	MASS_WATCH_READ = 1,        /* readable, or the peer closed */
	MASS_WATCH_WRITE = 2,       /* writable */
	MASS_WATCH_ERROR = 4        /* only reported: error or hang-up on fd */
};

/* A watch callback: what happened on fd (MASS_WATCH_* bits). Level-triggered:
 * it is called again while the condition holds. */
typedef void mass_watch_fn(void *arg, struct mass_watch *watch, int fd, int events);

/*
 * Authentication providers (host->auth_provider_add()). The order of a
 * login decision, for both realms:
 *   1. the built-in store: the SOCKS users (RFC 1929 on the SOCKS port) or
 *      [admins] (MASS login). A name the store holds is decided by it
 *      alone (a wrong password is a failure; no provider is asked), also
 *      when that check is itself asynchronous (a slow password hash).
 *   2. a name the store does not hold goes to the providers of that realm,
 *      in registration order: the plugins in the order of the set (the
 *      order of their first index in [indexes]), each plugin's providers in
 *      the order it added them. The first that answers ALLOW or DENY
 *      decides; DECLINE passes on to the next; when none decides, the
 *      login fails.
 * A provider that answers PENDING keeps the session waiting in its
 * authentication stage (the loop keeps running) until it calls
 * auth_complete() on the handle, at most timeout_ms (as given to
 * auth_provider_add). A timeout, a provider's fini, or any verdict other
 * than ALLOW, DENY, DECLINE or (1.2) BUSY is a login failure, logged as
 * "plugin NAME: authentication of USER: REASON". Each decision by a
 * provider is logged at debug level.
 */
enum mass_auth_realm {
	MASS_AUTH_SOCKS = 1,        /* RFC 1929 on the SOCKS port */
	MASS_AUTH_ADMIN = 2         /* the MASS admin login */
};

enum mass_auth_verdict {
	MASS_AUTH_ALLOW = 0,        /* the credentials are good */
	MASS_AUTH_DENY = 1,         /* they are not: the login fails */
	MASS_AUTH_DECLINE = 2,      /* not mine: ask the next provider */
	MASS_AUTH_PENDING = 3,      /* only as a provider's return: complete later */
	/* ABI 1.2: the provider could not check now (the host's password
	 * service refused the job: its queue is full). Answered as the
	 * built-in store answers a full queue: a SOCKS login is closed
	 * without a status, a MASS login gets status 01 02 ("busy"); never
	 * a wrong password, and no source earns a login delay. A 1.1 host
	 * treats it as "not a verdict" (a failure). */
	MASS_AUTH_BUSY = 4
};

/* What a provider is asked. The pointers are valid for the call only. */
struct mass_auth_query {
	uint32_t size;
	uint8_t realm;              /* enum mass_auth_realm */
	uint64_t session;           /* SOCKS session id; 0 for an admin login */
	const char *client;         /* client address */
	uint16_t client_port;
	const char *user;           /* 1..255 octets, network text (use the length) */
	size_t user_len;
	const char *pass;           /* 1..255 octets, network text */
	size_t pass_len;
};

/*
 * A provider: returns a verdict now, or MASS_AUTH_PENDING and later calls
 * host->auth_complete(pending, verdict) exactly once. pending stays valid
 * until that call, even after the timeout passed or the client left (the
 * host has then decided already: the call only frees the handle); the host
 * frees handles still open when the plugin's load ends.
 */
typedef int mass_auth_fn(void *arg, const struct mass_auth_query *q, struct mass_auth *pending);

/* ABI 1.2: the callbacks of the *_ctx services. Each is the 1.1 callback
 * with the call context first (the registering load's); arg is the
 * plugin's as given at registration. Same contracts as their 1.1 twins. */
typedef void mass_event_ctx_fn(struct mass_ctx *ctx, void *arg, const struct mass_event *ev);
typedef void mass_timer_ctx_fn(struct mass_ctx *ctx, void *arg, struct mass_timer *timer);
typedef void mass_watch_ctx_fn(struct mass_ctx *ctx, void *arg, struct mass_watch *watch,
			       int fd, int events);
typedef int mass_auth_ctx_fn(struct mass_ctx *ctx, void *arg, const struct mass_auth_query *q,
			     struct mass_auth *pending);
/* A deferred reply's cancel notice (reply_defer_ctx). */
typedef void mass_reply_cancel_fn(struct mass_ctx *ctx, void *arg, struct mass_reply *later);
/* Completions of the password service: match 1 matches, 0 does not, -1
 * could not check (the crypt string is malformed or of an unknown method);
 * hash is the new crypt(3) string, or NULL with err saying why. Both
 * strings are valid for the call only. */
typedef void mass_verify_done_fn(struct mass_ctx *ctx, void *arg, int match);
typedef void mass_hash_done_fn(struct mass_ctx *ctx, void *arg, const char *hash,
			       const char *err);

/*
 * Per-user limits (ABI 1.2, appended later in 1.2: check
 * MASS_HOST_HAS(host, usage_each)). A user's usage in its class's
 * current period, as usage_each() and usage_get() describe it; the host
 * sets size. Strings are valid for the callback (usage_each) or until the
 * next host service call (usage_get) only; user is not NUL-terminated,
 * class_name is.
 */
struct mass_usage {
	uint32_t size;
	const char *user;            /* the user's name (user_len octets) */
	size_t user_len;
	const char *class_name;      /* the user's class ("default" when none) */
	int64_t period_start;        /* Unix seconds, UTC; 0: the class has no quota */
	uint64_t used;               /* bytes both directions in the period (the
					fleet total when shared: usage_fleet_set) */
	uint64_t quota;              /* bytes per period; 0: none */
	uint64_t rate_up, rate_down; /* bytes/s over the last whole second */
	uint32_t sessions;           /* live sessions (CONNECT, BIND, UDP) */
	uint64_t delayed_bytes;      /* bytes that waited for the rate limit */
	uint64_t refused;            /* requests refused by a limit */
};

/* usage_each's callback: return 0 to go on, anything else to stop. */
typedef int mass_usage_fn(struct mass_ctx *ctx, void *arg, const struct mass_usage *u);
/* usage_drain's callback: bytes counted locally for user (len octets)
 * in the period starting period_start since the last drain. */
typedef void mass_usage_drain_fn(struct mass_ctx *ctx, void *arg, const char *user, size_t len,
				 int64_t period_start, uint64_t bytes);
/* class_each's callback: a class name and its one-line description;
 * return 0 to go on, anything else to stop. */
typedef int mass_class_fn(struct mass_ctx *ctx, void *arg, const char *name,
			  const char *describe);

/*
 * Upstream proxies (ABI 1.2, appended later in 1.2: check
 * MASS_HOST_HAS(host, upstream_each)): one parent of one [upstreams]
 * entry of mass.ini and its failover state; the host sets size. Strings
 * are NUL-terminated and valid for the callback only. parent is the URL
 * without its credentials: credentials never reach a plugin.
 */
enum mass_upstream_state {
	MASS_UPSTREAM_UP = 0,       /* no failure since it last worked */
	MASS_UPSTREAM_FAILING = 1,  /* failures in a row, fewer than max_fails */
	MASS_UPSTREAM_DOWN = 2,     /* skipped until fail_timeout has passed */
	MASS_UPSTREAM_PROBE = 3     /* fail_timeout passed: the next request probes it */
};

struct mass_upstream {
	uint32_t size;
	const char *name;            /* the upstream's name */
	const char *parent;          /* "socks5://HOST:PORT" or "http://HOST:PORT" */
	uint8_t state;               /* enum mass_upstream_state */
	int64_t down_since;          /* Unix seconds it went down, 0: not down */
	uint32_t fails;              /* failures in a row */
	const char *last_error;      /* the last failure's reason, "" none */
};

/* upstream_each's callback: return 0 to go on, anything else to stop. */
typedef int mass_upstream_fn(struct mass_ctx *ctx, void *arg, const struct mass_upstream *u);

/*
 * Session control (host->sessions_each()). A snapshot of one live
 * session, valid for the callback only.
 */
enum mass_session_state {
	MASS_SESSION_GREETING = 0,  /* reading the method greeting */
	MASS_SESSION_AUTH = 1,      /* RFC 1929 sub-negotiation (or its decision) */
	MASS_SESSION_REQUEST = 2,   /* reading the request */
	MASS_SESSION_CONNECTING = 3,/* resolving or connecting */
	MASS_SESSION_RELAYING = 4,  /* CONNECT tunnel up */
	MASS_SESSION_BIND = 5,      /* BIND: waiting for, or relaying with, the peer */
	MASS_SESSION_UDP = 6,       /* UDP ASSOCIATE relaying */
	MASS_SESSION_CLOSING = 7    /* flushing before the close */
};

struct mass_session {
	uint32_t size;
	uint8_t state;              /* enum mass_session_state */
	uint8_t command;            /* enum mass_command */
	uint64_t id;
	const char *user;           /* NULL when not (yet) authenticated */
	size_t user_len;
	const char *client;
	uint16_t client_port;
	uint16_t destination_port;
	const char *destination;    /* as named by the client; NULL before REQUEST */
	uint64_t bytes_from_client; /* payload relayed so far (UDP: datagrams' DATA) */
	uint64_t bytes_to_client;
	uint64_t age_ms;            /* since accept */
};

/* Called once per live session; return 0 to go on, anything else to stop. */
typedef int mass_session_fn(void *arg, const struct mass_session *s);

/* A served index, as host->index_info() describes it. */
struct mass_index_info {
	uint32_t size;
	uint8_t index;
	const char *plugin;         /* plugin name; "core" for 00 */
	const char *plugin_version; /* descriptor version (core: the daemon's) */
	const char *signature;
	const char *usage;          /* the table's usage line ("" when NULL) */
	/* ABI 1.2 (check size): the index's reply layout, NULL when undescribed */
	const char *reply_layout;
};

/* One plugin of the set in force, as host->plugin_info() describes it. */
struct mass_plugin_info {
	uint32_t size;
	const char *name;           /* as [indexes] names it */
	const char *path;           /* the file, as mass.ini gives it or implies */
	const char *version;        /* descriptor strings; NULL when not loaded */
	const char *description;
	uint8_t loaded;             /* 1: initialised and serving; 0: failed */
	const char *error;          /* why not, when loaded is 0 (may be NULL) */
};

/*
 * The host services table, handed to init (1.2: ctx->host, for every
 * call). A 1.0/1.1 plugin keeps the pointer; it stays valid until fini. Versioned and sized like the descriptor: fields only ever get
 * appended, so check `size` before using a field newer than your minor.
 * Every function is to be called on the loop thread only.
 */
struct mass_host {
	uint16_t abi_major;     /* MASS_ABI_MAJOR of the host */
	uint16_t abi_minor;     /* MASS_ABI_MINOR of the host */
	uint32_t size;          /* sizeof(struct mass_host) in the host */

	/* --- counters (read only) --- */

	/* The full 64-bit value behind index 0x02..0x09 (MASS sends it modulo
	 * 2^32). 0 for any other index. */
	uint64_t (*counter)(uint8_t index);

	/* --- SOCKS users store --- */

	/* Number of users now (at most 255). */
	size_t (*users_count)(void);
	/* Name of user i (0 <= i < users_count()), its length in *len; NULL
	 * when i is out of range. Valid until the next users_add/users_del. */
	const char *(*users_name)(size_t i, size_t *len);
	/* Adds a user, persisting it when the server has a users_file.
	 * Returns MASS_STATUS_OK; MASS_STATUS_USER_LIMIT at max_users;
	 * MASS_STATUS_ERROR when the name exists, a field breaks the rules
	 * (1..255 printable octets, no ':' in a name) or saving failed. */
	int (*users_add)(const char *name, size_t name_len,
			 const char *pass, size_t pass_len);
	/* Deletes a user, persisting likewise. Returns MASS_STATUS_OK, or
	 * MASS_STATUS_ERROR when there is no such user or saving failed. */
	int (*users_del)(const char *name, size_t name_len);

	/* --- switches (last until restart or reload) --- */

	int (*auth_get)(void);               /* 1: SOCKS auth required */
	void (*auth_set)(int on);
	int (*dissectors_get)(void);         /* 1: password dissectors on */
	void (*dissectors_set)(int on);

	/* --- log: one line in the daemon's log, prefixed by the plugin --- */
	void (*log)(int level, const char *fmt, ...)
		__attribute__((format(printf, 2, 3)));

	/* --- reply builder ---
	 * Every call appends to the reply's fields. The reply is bounded
	 * (MASS_REPLY_MAX octets); a call that does not fit, or breaks a rule
	 * below, marks the reply failed: it is then answered MASS_STATUS_ERROR.
	 * All return 0, or -1 once the reply has failed. */
	int (*reply_u8)(struct mass_reply *r, uint8_t v);
	int (*reply_u32)(struct mass_reply *r, uint32_t v);  /* big-endian */
	/* LENGTH + DATA; len above 255 fails the reply. */
	int (*reply_str)(struct mass_reply *r, const void *data, size_t len);
	int (*reply_bytes)(struct mass_reply *r, const void *data, size_t len);
	/* A COUNT-prefixed list: reply_count_begin() reserves the COUNT octet
	 * and returns a mark (negative once failed); append the items, then
	 * reply_count_end(r, mark, n) writes n there (n above 255 fails). */
	long (*reply_count_begin)(struct mass_reply *r);
	int (*reply_count_end)(struct mass_reply *r, long mark, size_t n);

	/* ================= ABI 1.1: check abi_minor >= 1 ================= */

	/* --- server info --- */

	/* The server info (see struct mass_server_info); never NULL. */
	const struct mass_server_info *(*server_info)(void);
	/* The loop's monotonic clock in milliseconds (as the timers see it). */
	uint64_t (*now_ms)(void);

	/* --- session events --- */

	/* Calls fn(arg, event) for every event whose MASS_EVENT_BIT is in mask
	 * (see "Session events"). Returns the subscription, or NULL when out
	 * of memory or mask holds no known type. */
	struct mass_subscription *(*subscribe)(uint32_t mask, mass_event_fn *fn, void *arg);
	/* Ends a subscription (safe from inside its own callback: no further
	 * call is made). NULL is a no-op. */
	void (*unsubscribe)(struct mass_subscription *s);

	/* --- authentication providers --- */

	/* Asks fn for logins of the realms in `realms` (MASS_AUTH_SOCKS |
	 * MASS_AUTH_ADMIN) whose name the built-in store does not hold (see
	 * "Authentication providers"). timeout_ms bounds a PENDING answer:
	 * 0 means 5000, and it is capped at 30000. Returns the provider, or
	 * NULL when out of memory or realms is 0. */
	struct mass_provider *(*auth_provider_add)(unsigned realms, unsigned timeout_ms,
						   mass_auth_fn *fn, void *arg);
	/* Removes a provider; logins it left pending fail now. NULL: no-op. */
	void (*auth_provider_remove)(struct mass_provider *p);
	/* Completes a PENDING answer with MASS_AUTH_ALLOW, MASS_AUTH_DENY,
	 * MASS_AUTH_DECLINE or (1.2) MASS_AUTH_BUSY, and frees pending. Call
	 * it exactly once. */
	void (*auth_complete)(struct mass_auth *pending, int verdict);

	/* --- loop services: timers --- */

	/* Calls fn(arg, timer) after ms milliseconds, then, when repeat_ms is
	 * not 0, every repeat_ms milliseconds until timer_cancel(). A one-shot
	 * timer is freed once its callback returns (do not cancel it after).
	 * A timer added with 0 ms fires in the next round of the loop, never
	 * from inside timer_add. Returns the timer, or NULL when out of memory. */
	struct mass_timer *(*timer_add)(uint64_t ms, uint64_t repeat_ms,
					mass_timer_fn *fn, void *arg);
	/* Cancels and frees a timer not yet fired (or repeating); safe from its
	 * own callback. NULL is a no-op. */
	void (*timer_cancel)(struct mass_timer *t);

	/* --- loop services: descriptor watches --- */

	/* Watches fd, a descriptor the plugin owns and has made non-blocking,
	 * for `events` (MASS_WATCH_READ | MASS_WATCH_WRITE; 0 pauses it).
	 * At most one watch per descriptor. Returns the watch, or NULL with
	 * errno set (EEXIST: fd is already watched; EBADF, ERANGE: fd is not
	 * one the loop can watch; ENOMEM).
	 * A socket already listening (listen() before the watch: the host
	 * asks SO_ACCEPTCONN and getsockname) joins socks5d's own listeners
	 * until the watch is removed: the ACL's built-in rules keep every
	 * SOCKS client away from it, on its address (every local address for
	 * a wildcard one), as from the SOCKS and MASS ports. Nothing to call:
	 * a plugin that serves a port (the Prometheus exporter) is covered by
	 * watching it. (watch_add_ctx alike.) */
	struct mass_watch *(*watch_add)(int fd, int events, mass_watch_fn *fn, void *arg);
	/* Changes what a watch waits for. Returns 0, or -1 with errno set. */
	int (*watch_set)(struct mass_watch *w, int events);
	/* Stops watching and frees the watch; fd is left open (close it after).
	 * Safe from the watch's own callback. NULL is a no-op. */
	void (*watch_remove)(struct mass_watch *w);

	/* --- deferred replies ---
	 * In a handler: later = reply_defer(reply); return MASS_STATUS_PENDING.
	 * The fields already appended are kept; append more to `later` with
	 * the reply_* builders above, from any later callback, then call
	 * reply_send(later, status) exactly once. If reply_send has not been
	 * called when the management timeout ([management] timeout) passes
	 * since the request, the client gets 01 and the log says
	 * "plugin NAME: index NN: no reply within N s"; later stays valid
	 * until reply_send (which then only frees it). The host frees deferred
	 * replies still open when the load ends (their clients get 01). */

	/* Returns the deferred handle, or NULL (out of memory, called outside
	 * a handler, or twice in one): then answer now. */
	struct mass_reply *(*reply_defer)(struct mass_reply *r);
	/* Sends the deferred reply with status (as a handler's return) and
	 * frees it. Returns 0 when the reply was handed to its client's
	 * connection, -1 when it could not be: the management timeout
	 * answered first, or the connection was reset or failed (exactly the
	 * cases in which reply_defer_ctx's cancel runs). A client that closed
	 * normally (FIN) cannot be told from one that half-closed and waits
	 * (massctl half-closes after each request): the reply is written to
	 * it and 0 returned. later is freed in every case. Called from
	 * inside the handler that
	 * deferred it, it only frees later (returns -1): the handler's return
	 * status then answers, with the fields of the handler's reply. */
	int (*reply_send)(struct mass_reply *later, int status);

	/* --- session control --- */

	/* Calls fn once per live SOCKS session, oldest first, until fn returns
	 * non-zero. Returns the number of calls made. */
	size_t (*sessions_each)(mass_session_fn *fn, void *arg);
	/* Closes the session with that id: it is ended after the current
	 * callback returns, before the loop waits again, with its CLOSED
	 * event. Returns MASS_STATUS_OK, or MASS_STATUS_ERROR when no live
	 * session has that id. */
	int (*session_close)(uint64_t id);

	/* --- the index and plugin tables of the set in force --- */

	/* Describes an index of the set the calling load belongs to into *out
	 * (out->size set by the host). Returns 0, or -1 when index is not
	 * served. Strings valid until the load's fini. */
	int (*index_info)(uint8_t index, struct mass_index_info *out);
	/* The plugins of that set named in [indexes], loaded or not: their
	 * number, and plugin i into *out (0, or -1 when i is out of range).
	 * Same lifetime. */
	size_t (*plugin_count)(void);
	int (*plugin_info)(size_t i, struct mass_plugin_info *out);

	/* --- SOCKS users store, off the loop (ABI 1.1, later in 1.1: check
	 * MASS_HOST_HAS(host, users_add_async) and fall back to users_add) --- */

	/* users_add() for a handler that must not stall the loop: the password
	 * is hashed (the server's password_hash and password_cost) by the
	 * host's worker threads, then the user is added with that hash and
	 * persisted on the loop. A password that is already a crypt(3) string
	 * is stored as is, as users_add() does. Checks the request at once: an
	 * invalid field or a taken name returns MASS_STATUS_ERROR, max_users
	 * reached MASS_STATUS_USER_LIMIT, no free worker slot or no memory
	 * MASS_STATUS_ERROR; done is then never called. Otherwise returns
	 * MASS_STATUS_PENDING and calls done(arg, status) later, exactly once,
	 * never from inside this call, with users_add()'s statuses (checked
	 * again then: another add may have taken the name or the last slot
	 * meanwhile). Plaintext entries an old users file still holds are
	 * hashed by the workers in the same operation, before the file is
	 * rewritten. Without a users_file the user lives in memory only, as
	 * a hash all the same. If the calling load ends first, done is never
	 * called (the user may still be added). Typical use in a handler:
	 * later = reply_defer(reply); status = users_add_async(..., later);
	 * if (status != MASS_STATUS_PENDING) reply_send(later, status);
	 * return status; with done calling reply_send(arg, status). */
	int (*users_add_async)(const char *name, size_t name_len, const char *pass,
			       size_t pass_len, void (*done)(void *arg, int status), void *arg);

	/* ================= ABI 1.2: check abi_minor >= 2 ================= *
	 * The *_ctx services take the caller's context first (the one the host
	 * handed to init_ctx, serve or the callback running) and register what
	 * they make to that load, exactly as their 1.1 twins do (released when
	 * the load ends); their callbacks get that context back. A 1.2 plugin
	 * uses them instead of log, subscribe, timer_add, watch_add,
	 * auth_provider_add and reply_defer; the handles they return are
	 * released with the 1.1 services (unsubscribe, timer_cancel,
	 * watch_remove, auth_provider_remove, reply_send), which need no
	 * context. */

	/* Appends v as eight octets, big-endian (as reply_u32). */
	int (*reply_u64)(struct mass_reply *r, uint64_t v);
	/* host->log for the load of ctx (same prefix and levels). */
	void (*log_ctx)(struct mass_ctx *ctx, int level, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
	/* subscribe(), timer_add(), watch_add(), auth_provider_add() with the
	 * call context: same arguments, returns and errors. */
	struct mass_subscription *(*subscribe_ctx)(struct mass_ctx *ctx, uint32_t mask,
						   mass_event_ctx_fn *fn, void *arg);
	struct mass_timer *(*timer_add_ctx)(struct mass_ctx *ctx, uint64_t ms, uint64_t repeat_ms,
					    mass_timer_ctx_fn *fn, void *arg);
	struct mass_watch *(*watch_add_ctx)(struct mass_ctx *ctx, int fd, int events,
					    mass_watch_ctx_fn *fn, void *arg);
	struct mass_provider *(*auth_provider_add_ctx)(struct mass_ctx *ctx, unsigned realms,
						       unsigned timeout_ms,
						       mass_auth_ctx_fn *fn, void *arg);
	/* reply_defer() with a cancel notice: when the reply can no longer be
	 * delivered (the admin's connection was reset or failed, or the
	 * management timeout answered 01 first), cancel(ctx, arg, later) runs
	 * once, on the loop, in a round of its own (never from inside a host
	 * service the plugin called); stop the work behind it there. A client
	 * that only shut down its sending side (a FIN: massctl does after
	 * every request) is still reading, so that is no cancel: TCP does not
	 * tell it from a client that closed altogether until the reply is
	 * written, and such a reply is written (reply_send returns 0) and
	 * dropped by the client's kernel.
	 * later stays valid until reply_send, which the plugin still calls
	 * exactly once (it then returns -1 and only frees later); calling it
	 * from inside cancel is fine. cancel is not called when reply_send came
	 * first, nor when the load ends (fini_ctx is the plugin's notice then).
	 * cancel may be NULL (then this is reply_defer). Returns as
	 * reply_defer. */
	struct mass_reply *(*reply_defer_ctx)(struct mass_ctx *ctx, struct mass_reply *r,
					      mass_reply_cancel_fn *cancel, void *arg);

	/* --- the password service, off the loop ---
	 * The work runs on the host's worker threads (the pool that hashes
	 * slow logins); done runs on the loop, later, exactly once, never from
	 * inside the call, unless the load of ctx ends first (then never).
	 * pass is copied (pass_len octets, 1..255; it may hold any octet).
	 * Both return 0 when queued, -1 when refused (every worker slot busy,
	 * no memory, bad arguments); done is then never called.
	 * password_verify and password_hash cache nothing: every call does
	 * the full work (password_verify_cached, below, may remember). */

	/* Checks pass against crypt, a crypt(3) string of any method the
	 * host's crypt supports (yescrypt $y$, bcrypt $2b$, SHA-512 $6$, ...):
	 * done(ctx, arg, match), match as mass_verify_done_fn says. The
	 * comparison is constant-time. */
	int (*password_verify)(struct mass_ctx *ctx, const char *crypt, const char *pass,
			       size_t pass_len, mass_verify_done_fn *done, void *arg);
	/* Hashes pass with the server's password_hash method and password_cost
	 * (the [socks] keys of mass.ini) and a fresh random salt:
	 * done(ctx, arg, hash, NULL), or done(ctx, arg, NULL, err). */
	int (*password_hash)(struct mass_ctx *ctx, const char *pass, size_t pass_len,
			     mass_hash_done_fn *done, void *arg);
	/* password_verify() for a login whose success may be remembered, as
	 * the server's own users' are: name (name_len octets, 1..255) is the
	 * user crypt belongs to. A success is kept in the host's login cache
	 * (a keyed digest of name, crypt and pass; never the password) and the
	 * same three again are answered from it, still later and on the loop,
	 * without a worker; a changed crypt string misses by itself, a reload
	 * (SIGHUP) forgets everything, a failure is never kept. Same returns
	 * and match values as password_verify. For an authentication
	 * provider's users (the pgsql plugin). */
	int (*password_verify_cached)(struct mass_ctx *ctx, const char *name, size_t name_len,
				      const char *crypt, const char *pass, size_t pass_len,
				      mass_verify_done_fn *done, void *arg);

	/* --- per-user limits (appended later in 1.2: check
	 * MASS_HOST_HAS(host, usage_each)) ---
	 * Classes are mass.ini's [class NAME] sections (mass.ini(5)); every
	 * user has one, `default` when none is set. Usage is counted per user
	 * and per period of the user's class (struct mass_usage). */

	/* Calls fn once per user the usage table knows (users of a class with
	 * some limit, and users holding sessions), in no set order, until fn
	 * returns non-zero. Returns the number of calls made. */
	size_t (*usage_each)(struct mass_ctx *ctx, mass_usage_fn *fn, void *arg);
	/* Describes user (len octets) into *out (out->size set by the host):
	 * a user the built-in store holds, one with a class set through
	 * user_class_set, or one the usage table counts. A user of an
	 * unlimited class with no sessions reads all zeros. Returns 0, or -1
	 * when there is no such user. */
	int (*usage_get)(struct mass_ctx *ctx, const char *user, size_t len,
			 struct mass_usage *out);
	/* Moves user (len octets) to class_name (a NUL-terminated class of the
	 * configuration in force). For a user the built-in store holds, the
	 * class is saved with the user (users file NAME:HASH:CLASS). For users
	 * the store does not hold (a provider's), the class is remembered in
	 * memory, for the provider to set (pgsql calls it when its copy of the
	 * table changes); it lasts until restart. Applies to the user's live
	 * tunnels within 1 s. Returns MASS_STATUS_OK, or MASS_STATUS_ERROR (no
	 * such class; a name breaking the users rules; a built-in-store user
	 * whose file could not be rewritten: the class is then unchanged). */
	int (*user_class_set)(struct mass_ctx *ctx, const char *user, size_t len,
			      const char *class_name);
	/* Sets user's usage in the current period to 0 (the persisted copy at
	 * the next flush). Returns MASS_STATUS_OK, or MASS_STATUS_ERROR when
	 * the usage table does not count that user. */
	int (*usage_reset)(struct mass_ctx *ctx, const char *user, size_t len);
	/* Fleet sharing (pgsql): calls fn once per user with the bytes counted
	 * locally, both directions, since the previous drain, for the counting
	 * slot starting period_start, and forgets them (the next drain starts
	 * from 0). The slot is the period itself for day, week and month, and
	 * the UTC day for `rolling N` (whose window is N such slots). Bytes
	 * counted in a slot that has since rolled are handed out with that
	 * older period_start. Returns the number of calls made. */
	size_t (*usage_drain)(struct mass_ctx *ctx, mass_usage_drain_fn *fn, void *arg);
	/* Fleet sharing: fleet_used is the fleet's total for user in the slot
	 * starting period_start (every instance's drained bytes, as
	 * usage_drain hands them out). The host counts that slot as fleet_used
	 * plus what it counted since its last drain, and enforces the quota on
	 * that (for `rolling N`, with the window's older slots as counted
	 * here). A period_start other than the user's current slot is ignored
	 * (returns MASS_STATUS_OK). Returns MASS_STATUS_OK, or
	 * MASS_STATUS_ERROR when the user's class has no quota (or memory ran
	 * out). */
	int (*usage_fleet_set)(struct mass_ctx *ctx, const char *user, size_t len,
			       int64_t period_start, uint64_t fleet_used);
	/* Calls fn once per class of the configuration in force, `default`
	 * first, with a one-line description of its limits, e.g.
	 * "upload_rate=10M download_rate=10M max_sessions=20 quota=50G/month
	 * action=refuse" ("unlimited" when it sets none). Both strings are
	 * valid for the call only. Stops when fn returns non-zero. Returns
	 * the number of calls made. */
	size_t (*class_each)(struct mass_ctx *ctx, mass_class_fn *fn, void *arg);

	/* --- upstream proxies (appended later in 1.2: check
	 * MASS_HOST_HAS(host, upstream_each)) --- */

	/* Calls fn once per parent of every [upstreams] entry of the
	 * configuration in force, in file order, until fn returns non-zero.
	 * Returns the number of calls made. */
	size_t (*upstream_each)(struct mass_ctx *ctx, mass_upstream_fn *fn, void *arg);
};

/*
 * True when host has `field` (a struct mass_host member) and it is set: for
 * a field appended after the host a plugin may run on was built.
 */
#define MASS_HOST_HAS(host, field) \
	((host)->size >= offsetof(struct mass_host, field) + sizeof((host)->field) && \
	 (host)->field != NULL)

/* Most octets of fields a reply may carry (status octet not included). */
#define MASS_REPLY_MAX 65536

/*
 * The descriptor. Define exactly one, const, named mass_plugin, starting
 * with MASS_PLUGIN_IDENTITY.
 */
struct mass_plugin {
	/* identity: checked before anything else; never moves */
	uint32_t magic;         /* MASS_PLUGIN_MAGIC */
	uint16_t abi_major;     /* MASS_ABI_MAJOR the plugin was built with */
	uint16_t abi_minor;     /* MASS_ABI_MINOR the plugin was built with */
	uint32_t size;          /* sizeof(struct mass_plugin) at build time */

	/* ABI 1.0 */
	const char *name;         /* short name, e.g. "users" */
	const char *version;      /* the plugin's own version, e.g. "1.0.0" */
	const char *description;  /* one line */

	const struct mass_index *indexes;  /* the static index table */
	size_t nindexes;
	size_t index_size;        /* sizeof(struct mass_index) at build time */

	/*
	 * Called once per load, after every check passed, with the host
	 * services and the plugin's [plugin NAME] section. Store anything in
	 * *state (NULL is fine); it is passed to each handler and to fini.
	 * Returns 0, or -1 with a one-line reason in err (errlen octets; the
	 * host terminates it, so a reason that fills it is cut, not overrun):
	 * the host logs "plugin NAME (PATH): reason"; at start the plugin's
	 * indexes then answer 02, at reload the old set keeps running (see
	 * Loading above). May be NULL.
	 */
	int (*init)(const struct mass_host *host, const struct mass_config *config,
		    void **state, char *err, size_t errlen);
	/* Frees what init made; called once per successful init. May be NULL. */
	void (*fini)(void *state);

	/*
	 * ABI 1.2: init and fini with the call context. A 1.2 plugin sets
	 * these and leaves init and fini NULL (setting both init and init_ctx
	 * refuses the plugin). init_ctx stores the plugin's state in
	 * ctx->state (it starts NULL); returns as init, err as init. The host
	 * NUL-terminates err itself after the call, so a reason that fills the
	 * buffer is cut, never read past. fini_ctx frees what init_ctx made;
	 * called once per successful init_ctx; ctx is dead after it returns.
	 * Either may be NULL.
	 */
	int (*init_ctx)(struct mass_ctx *ctx, const struct mass_config *config,
			char *err, size_t errlen);
	void (*fini_ctx)(struct mass_ctx *ctx);
};

/* The symbol every plugin defines (declared here so its type is checked). */
extern __attribute__((visibility("default"))) const struct mass_plugin mass_plugin;

/* Fills the identity fields: `const struct mass_plugin mass_plugin =
 * { MASS_PLUGIN_IDENTITY, .name = ..., ... };` */
#define MASS_PLUGIN_IDENTITY \
	.magic = MASS_PLUGIN_MAGIC, .abi_major = MASS_ABI_MAJOR, \
	.abi_minor = MASS_ABI_MINOR, .size = sizeof(struct mass_plugin)

/* Fills indexes, nindexes and index_size from a static array. */
#define MASS_PLUGIN_INDEXES(table) \
	.indexes = (table), .nindexes = sizeof(table) / sizeof((table)[0]), \
	.index_size = sizeof(struct mass_index)

/* Helpers for a parameter's value. */
static inline uint8_t mass_param_u8(const struct mass_request *req, unsigned i)
{
	return req->params[i].len > 0 ? req->params[i].data[0] : 0;
}

#ifdef __cplusplus
}
#endif

#endif
