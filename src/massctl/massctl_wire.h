/*
 * massctl_wire: the client side of the MASS v1 wire format (see
 * mass-protocol(7)), as pure functions over buffers: building the greeting,
 * the RFC 1929 login and requests, and decoding replies. No sockets here.
 *
 * Every function that can fail returns -1 and writes a one-line reason into
 * err (errlen bytes); nothing is ever read beyond the length it is given.
 */
#ifndef MASS_MASSCTL_WIRE_H
#define MASS_MASSCTL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mass/plugin.h"  /* the reply status octets, enum mass_status */

#define MASSCTL_VER 0x01            /* greeting and login version octet */
#define MASSCTL_METHOD_NONE 0x00
#define MASSCTL_METHOD_LOGIN 0x02
#define MASSCTL_METHOD_REFUSED 0xFF

/* Largest request massctl sends, and largest reply it accepts. */
#define MASSCTL_REQ_MAX 65536
#define MASSCTL_REPLY_MAX (1u << 20)

/*
 * The indexes of the core (00..0D, fixed by the protocol) and the documented
 * numbers of the bundled plugins' indexes. massctl uses a bundled plugin's
 * number only after the info reply (14) says that plugin serves it, or,
 * when info is not served, as a documented fallback (see massctl(1)).
 */
enum massctl_index {
	MASSCTL_IX_INDEXES = 0x00,
	MASSCTL_IX_USERS = 0x01,
	MASSCTL_IX_FIRST_COUNTER = 0x02,
	MASSCTL_IX_LAST_COUNTER = 0x09,
	MASSCTL_IX_ADD_USER = 0x0A,
	MASSCTL_IX_DEL_USER = 0x0B,
	MASSCTL_IX_AUTH = 0x0C,
	MASSCTL_IX_DISSECTORS = 0x0D,
	MASSCTL_IX_COUNTERS64 = 0x0F,   /* every counter as u64, one reply */
	/* the bundled ABI 1.1 plugins (plugins/README.md) */
	MASSCTL_IX_SESSIONS = 0x10,     /* sessions */
	MASSCTL_IX_KILL = 0x11,         /* sessions: close one by id */
	MASSCTL_IX_KICK = 0x12,         /* sessions: close a user's */
	MASSCTL_IX_USER_STATS = 0x13,   /* sessions: per-user totals */
	MASSCTL_IX_INFO = 0x14,         /* info */
	MASSCTL_IX_CLASSES = 0x16,      /* limits: the classes */
	MASSCTL_IX_USER_LIMITS = 0x17,  /* limits: a user's class and usage */
	MASSCTL_IX_SET_CLASS = 0x18,    /* limits: move a user to a class */
	MASSCTL_IX_RESET_USAGE = 0x19   /* limits: reset a user's quota usage */
};

#define MASSCTL_NCOUNTERS (MASSCTL_IX_LAST_COUNTER - MASSCTL_IX_FIRST_COUNTER + 1)

/* The stats name of counter index ix (0x02..0x09), or NULL for any other. */
const char *massctl_counter_name(unsigned ix);

/*
 * Parses an index written in hex: one or two hex digits, optionally after
 * "0x" or "0X" ("e", "0e", "0x0E"). Returns 0 with *ix set, or -1.
 */
int massctl_parse_index(const char *s, uint8_t *ix, char *err, size_t errlen);

/*
 * Decodes an even number of hex digits (either case) into out (cap octets).
 * Returns the number of octets, or -1 on a bad digit, odd length or overflow.
 */
long massctl_hex_decode(const char *s, uint8_t *out, size_t cap, char *err, size_t errlen);

/*
 * Writes len octets as lowercase hex plus a NUL into out (cap >= 2*len+1).
 * Returns 0, or -1 when out is too small (out is then an empty string if cap > 0).
 */
int massctl_hex_encode(const uint8_t *in, size_t len, char *out, size_t cap);

/*
 * Appends LENGTH+DATA (len 0..255) to buf, which holds *used of cap octets.
 * Returns 0 with *used advanced, or -1 (too long, or no room).
 */
int massctl_put_string(uint8_t *buf, size_t cap, size_t *used,
		       const void *data, size_t len, char *err, size_t errlen);

/*
 * Appends one `raw` PARAM: "x:HEX" as the raw octets HEX spells, anything
 * else as LENGTH+DATA of the argument's text. Returns 0 or -1.
 */
int massctl_put_param(uint8_t *buf, size_t cap, size_t *used, const char *arg,
		      char *err, size_t errlen);

/*
 * The greeting: VER NMETHODS METHODS. With a login massctl offers only '02'
 * (so the server always checks the credentials it was given, even with
 * management auth off); without one only '00' (it could not complete '02').
 * Writes 3 octets into buf (cap >= 3) and returns 3, or -1 if cap is short.
 */
int massctl_greeting(bool login, uint8_t *buf, size_t cap);

/*
 * Checks the 2-octet greeting reply against what was offered.
 * Returns the chosen method; -1 for a malformed reply or a method that was
 * not offered; -2 when the server refused every offered method ('FF').
 */
int massctl_greeting_reply(bool login, const uint8_t rep[2], char *err, size_t errlen);

/*
 * The RFC 1929 login '01' ULEN UNAME PLEN PASSWD into buf (cap octets).
 * Returns 0 with *used set, or -1 (a field empty or over 255 octets).
 */
int massctl_login(const char *name, size_t name_len, const char *pass, size_t pass_len,
		  uint8_t *buf, size_t cap, size_t *used, char *err, size_t errlen);

/*
 * Checks the 2-octet login reply. Returns 0 when accepted, -1 when malformed,
 * -2 when the credentials were refused.
 */
int massctl_login_reply(const uint8_t rep[2], char *err, size_t errlen);

/* A reply split into its status octet and the fields after it. */
struct massctl_reply {
	uint8_t status;
	const uint8_t *data;  /* points into the caller's buffer */
	size_t len;
};

/* Splits a whole reply. Returns 0, or -1 when it is empty. */
int massctl_reply_split(const uint8_t *buf, size_t len, struct massctl_reply *r,
			char *err, size_t errlen);

/*
 * Typed decoders for a split reply. Each checks the framing exactly: a
 * failure status must stand alone; on success the fields must fill the
 * reply, no octet short and none left over. They return 0 when the reply is
 * well formed (the caller then looks at r->status; outputs are set only for
 * status '00'), or -1 with err set.
 */

/* 00: LENGTH + LENGTH index octets, strictly ascending. out holds 256. */
int massctl_decode_indexes(const struct massctl_reply *r, uint8_t *out, size_t *n,
			   char *err, size_t errlen);

/* A name inside a reply buffer (not NUL-terminated). */
struct massctl_name {
	const char *name;
	size_t len;
};

/*
 * 01: COUNT, then COUNT x (LENGTH + NAME); every name must follow the
 * protocol's rules (so it is safe to print). out holds 255.
 */
int massctl_decode_users(const struct massctl_reply *r, struct massctl_name *out,
			 size_t *n, char *err, size_t errlen);

/* 02..09: one big-endian u32. */
int massctl_decode_u32(const struct massctl_reply *r, uint32_t *v, char *err, size_t errlen);

/*
 * 0F: COUNT, then COUNT x u64 big-endian: the counters of 02..09 in that
 * order, then any a later server adds (checked for framing, then ignored).
 * COUNT below MASSCTL_NCOUNTERS is malformed. out holds MASSCTL_NCOUNTERS.
 */
int massctl_decode_counters64(const struct massctl_reply *r, uint64_t *out,
			      char *err, size_t errlen);

/* 10: TOTAL u32, N u32, then N records (see plugins/sessions.c). */
struct massctl_session {
	uint64_t id;
	uint8_t state, cmd;
	struct massctl_name user, client, dest;
	uint16_t client_port, dest_port;
	uint64_t from_client, to_client, age_ms;
};

/* Most records one 10 reply can hold (each takes at least 48 octets). */
#define MASSCTL_SESSIONS_MAX (65536 / 48)

/* out holds MASSCTL_SESSIONS_MAX; *total: sessions live (>= *n). */
int massctl_decode_sessions(const struct massctl_reply *r, struct massctl_session *out,
			    size_t *n, uint32_t *total, char *err, size_t errlen);

/* 13: N u32, then N x (USER str, CONNECTIONS u64, FROM u64, TO u64). */
struct massctl_user_stat {
	struct massctl_name user;
	uint64_t connections, from_client, to_client;
};

#define MASSCTL_USER_STATS_MAX (65536 / 26)

/* out holds MASSCTL_USER_STATS_MAX. */
int massctl_decode_user_stats(const struct massctl_reply *r, struct massctl_user_stat *out,
			      size_t *n, char *err, size_t errlen);

/*
 * 14, the info plugin's reply, by its reply layout (core/layout.h). Servers
 * of ABI 1.2 send six fields per row; earlier ones the first four.
 */
#define MASSCTL_INFO_LAYOUT \
	"version:str,start_time:u64,uptime:u64,indexes:[index:u8,plugin:str," \
	"plugin_version:str,usage:str,signature:str,layout:str]"
#define MASSCTL_INFO_LAYOUT_11 \
	"version:str,start_time:u64,uptime:u64,indexes:[index:u8,plugin:str," \
	"plugin_version:str,usage:str]"

struct massctl_index_usage {
	uint8_t index;
	struct massctl_name plugin, version, usage;
	struct massctl_name signature, layout;   /* empty in a row before ABI 1.2 */
};

struct massctl_info {
	struct massctl_name version;
	uint64_t start_time, uptime;
	bool rows12;          /* the rows carry signature and layout */
	size_t n;
	struct massctl_index_usage ix[256];
};

/*
 * Decodes a 14 reply as either layout above (the 1.2 one first). On
 * failure err gives the reason for each. Like every decoder: 0 for
 * a well-formed reply (fields only for status 00), or -1.
 */
int massctl_decode_info(const struct massctl_reply *r, struct massctl_info *out,
			char *err, size_t errlen);

/* The row of index ix in info, or NULL. */
const struct massctl_index_usage *massctl_info_row(const struct massctl_info *info, uint8_t ix);

/* True when the row of ix names plugin (a NUL-terminated name, or several
 * separated by '|': any of them). */
bool massctl_info_serves(const struct massctl_info *info, uint8_t ix, const char *plugin);

/* 0A..0D: no fields. */
int massctl_decode_empty(const struct massctl_reply *r, char *err, size_t errlen);

/*
 * Writes s (len octets) as a JSON string, quotes included, plus a NUL into
 * out. Escapes '"', '\\' and every octet outside 0x20..0x7E (as \u00XX), so
 * the output is plain ASCII. Returns the length the full string needs
 * (without the NUL), like snprintf: a result >= cap means it was truncated.
 */
size_t massctl_json_string(const char *s, size_t len, char *out, size_t cap);

#endif
