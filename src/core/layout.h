/*
 * layout: the reply layouts of mass-protocol(7), as pure functions. A
 * layout describes the fields of a successful reply after its status
 * octet, so a client can decode a reply it was not written for (massctl
 * raw and -j) and the host can refuse a plugin whose layout is malformed.
 *
 * Grammar (no spaces anywhere):
 *     layout := "" | field ("," field)*
 *     field  := NAME ":" TYPE | NAME ":[" field ("," field)* "]"
 *     NAME   := [a-z0-9_]{1,32}, unique among its siblings
 *     TYPE   := "u8" | "u32" | "u64" | "str"
 * u32 and u64 are big-endian; str is LENGTH (one octet) + DATA; a list
 * NAME:[FIELDS] is COUNT (one octet) then COUNT records of FIELDS.
 * Example: "total:u32,sessions:[id:u64,user:str,port:u32]".
 * Limits: LAYOUT_MAX_LEN characters, LAYOUT_MAX_FIELDS names, lists nested
 * at most LAYOUT_MAX_DEPTH deep.
 *
 * Decoding treats the reply as hostile: every length is checked against
 * what is left, a short reply is an error naming the field it cut (e.g.
 * "reply truncated: sessions[2].user (str) needs 9 octets, 4 left"), and
 * octets after the last field are an error too. Every record takes at least
 * one octet, so the work is bounded by the reply's length. No allocation.
 *
 * Functions that fail return -1 and write a one-line reason into err
 * (errlen bytes, always NUL-terminated when errlen > 0).
 */
#ifndef MASS_LAYOUT_H
#define MASS_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define LAYOUT_MAX_LEN 1024
#define LAYOUT_MAX_FIELDS 64
#define LAYOUT_MAX_DEPTH 4
#define LAYOUT_NAME_MAX 32

/* 0 when layout follows the grammar and limits above, else -1 with the reason. */
int layout_check(const char *layout, char *err, size_t errlen);

enum layout_type { LAYOUT_U8, LAYOUT_U32, LAYOUT_U64, LAYOUT_STR, LAYOUT_LIST };

/* What a decode callback is told, in reply order. */
enum layout_event {
	LAYOUT_FIELD,         /* a u8, u32, u64 or str field */
	LAYOUT_LIST_BEGIN,    /* a list; value is its COUNT */
	LAYOUT_RECORD_BEGIN,  /* record number value (from 0) of the list name */
	LAYOUT_RECORD_END,
	LAYOUT_LIST_END
};

struct layout_item {
	enum layout_event event;
	const char *name;         /* the field's (records: the list's) name, not NUL-terminated */
	size_t name_len;
	enum layout_type type;    /* LAYOUT_FIELD: the scalar type; else LAYOUT_LIST */
	uint64_t value;           /* u8/u32/u64 value; list count; record number */
	const uint8_t *data;      /* str: its octets (inside the reply), len of them */
	size_t len;
	unsigned depth;           /* 0 at the top; a list's own events (LIST_*,
				     RECORD_*) at its depth, its fields one deeper */
};

/* Called per item; a non-zero return stops the decode, which returns it. */
typedef int layout_fn(void *arg, const struct layout_item *item);

/*
 * Decodes data (len octets: the reply after its status octet) by layout,
 * calling fn (may be NULL: a check only) per item as it goes. Returns 0
 * when the reply fills the layout exactly, -1 with the reason when the
 * layout is malformed or the reply short or long, or fn's non-zero return
 * (err untouched then).
 * Callbacks run before the end is reached: a caller that must print nothing
 * for a bad reply decodes once with fn NULL first.
 */
int layout_decode(const char *layout, const uint8_t *data, size_t len,
		  layout_fn *fn, void *arg, char *err, size_t errlen);

/* The layout name of a type ("u8" ... "str", "list"). */
const char *layout_type_name(enum layout_type t);

#endif
