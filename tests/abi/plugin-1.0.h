/*
 * <mass/plugin.h>: the plugin ABI of socks5d's MASS management server.
 *
 * This header is the whole SDK and its manual. A plugin is a shared object
 * (build it with `cc -shared -fPIC $(pkg-config --cflags mass-plugin)`) that
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
 *      claimed; no index twice; every signature valid), then the whole
 *      [indexes] section against the set: every index mass.ini gives a
 *      plugin must be in its table, and no index goes to two plugins.
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
 * Threading contract: init, fini and every handler run on the server's one
 * event-loop thread. They must not block (no network, no sleeping, no
 * waiting for locks); a handler that does stalls every SOCKS tunnel.
 *
 * State is per load: a reload (SIGHUP) loads the new set, calls init on it,
 * and only then fini on the old set, so for a while two loads of the same
 * plugin are alive, each with its own state. Keep everything in what init
 * stores in *state, nothing in static variables: each load is a separate
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
#define MASS_ABI_MINOR 0

/* The name of the one symbol the host looks up. */
#define MASS_PLUGIN_SYMBOL "mass_plugin"

/* Reply status octets (the first octet of every reply). */
enum mass_status {
	MASS_STATUS_OK = 0x00,           /* success; the fields follow */
	MASS_STATUS_ERROR = 0x01,        /* server error, or valid in form but not doable */
	MASS_STATUS_UNSUPPORTED = 0x02,  /* index not supported */
	MASS_STATUS_USER_LIMIT = 0x03    /* user limit reached */
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
 * At most MASS_PARAMS_MAX characters.
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
 * A handler: serves one request. state is what init stored.
 * Returns a mass_status. On MASS_STATUS_OK the fields appended to reply are
 * sent after the status octet; on any other status they are discarded and
 * the status goes alone. If the reply overflowed (see reply_* below) the
 * host sends MASS_STATUS_ERROR whatever is returned.
 */
typedef int mass_handler_fn(void *state, const struct mass_request *req,
			    struct mass_reply *reply);

/* One served index, in the plugin's static table. */
struct mass_index {
	uint8_t index;          /* 0x01..0xFE */
	const char *signature;  /* see above; never NULL */
	const char *usage;      /* one line for humans, e.g. "add user: NAME PASS" */
	mass_handler_fn *handler;
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

/*
 * The host services table, handed to init. Keep the pointer; it stays valid
 * until fini. Versioned and sized like the descriptor: fields only ever get
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
};

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
	 * Returns 0, or -1 with a one-line reason in err (errlen octets):
	 * the host logs "plugin NAME (PATH): reason"; at start the plugin's
	 * indexes then answer 02, at reload the old set keeps running (see
	 * Loading above). May be NULL.
	 */
	int (*init)(const struct mass_host *host, const struct mass_config *config,
		    void **state, char *err, size_t errlen);
	/* Frees what init made; called once per successful init. May be NULL. */
	void (*fini)(void *state);
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
