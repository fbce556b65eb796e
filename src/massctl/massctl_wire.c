/* massctl_wire: MASS v1 client encoding and reply decoding. See massctl_wire.h. */
#include "massctl_wire.h"

#include <stdio.h>
#include <string.h>

#include "core/hex.h"
#include "core/layout.h"
#include "auth/cred.h"

static const char *const massctl_counter_names[MASSCTL_NCOUNTERS] = {
	"historic_connections",
	"concurrent_connections",
	"max_concurrent_connections",
	"bytes_transferred",
	"auth_attempts",
	"connection_attempts",
	"avg_bytes_per_read",
	"avg_bytes_per_write",
};

const char *massctl_counter_name(unsigned ix)
{
	if (ix < MASSCTL_IX_FIRST_COUNTER || ix > MASSCTL_IX_LAST_COUNTER)
		return NULL;
	return massctl_counter_names[ix - MASSCTL_IX_FIRST_COUNTER];
}

int massctl_parse_index(const char *s, uint8_t *ix, char *err, size_t errlen)
{
	const char *p = s;
	unsigned v = 0;
	size_t n;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	n = strlen(p);
	if (n < 1 || n > 2)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		int d = hex_digit(p[i]);

		if (d < 0)
			goto bad;
		v = v * 16 + (unsigned)d;
	}
	*ix = (uint8_t)v;
	return 0;
bad:
	snprintf(err, errlen, "'%s' is not an index (one or two hex digits, e.g. 0e or 0x0E)", s);
	return -1;
}

long massctl_hex_decode(const char *s, uint8_t *out, size_t cap, char *err, size_t errlen)
{
	size_t n = strlen(s);

	if (n % 2) {
		snprintf(err, errlen, "'%s': odd number of hex digits", s);
		return -1;
	}
	if (n / 2 > cap) {
		snprintf(err, errlen, "'%.16s...': longer than %zu octets", s, cap);
		return -1;
	}
	for (size_t i = 0; i < n; i += 2) {
		int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);

		if (hi < 0 || lo < 0) {
			snprintf(err, errlen, "'%s': not a hex digit at position %zu",
				 s, i + 1 + (hi >= 0));
			return -1;
		}
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

int massctl_hex_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	static const char digits[] = "0123456789abcdef";

	if (cap == 0)
		return -1;
	if (len > (cap - 1) / 2) {
		out[0] = '\0';
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
	return 0;
}

int massctl_put_string(uint8_t *buf, size_t cap, size_t *used,
		       const void *data, size_t len, char *err, size_t errlen)
{
	if (len > 255) {
		snprintf(err, errlen, "a parameter is %zu octets long (at most 255)", len);
		return -1;
	}
	if (*used > cap || cap - *used < 1 + len) {
		snprintf(err, errlen, "request longer than %zu octets", cap);
		return -1;
	}
	buf[(*used)++] = (uint8_t)len;
	if (len)
		memcpy(buf + *used, data, len);
	*used += len;
	return 0;
}

int massctl_put_param(uint8_t *buf, size_t cap, size_t *used, const char *arg,
		      char *err, size_t errlen)
{
	long n;

	if (strncmp(arg, "x:", 2) != 0)
		return massctl_put_string(buf, cap, used, arg, strlen(arg), err, errlen);
	if (*used > cap) {
		snprintf(err, errlen, "request longer than %zu octets", cap);
		return -1;
	}
	n = massctl_hex_decode(arg + 2, buf + *used, cap - *used, err, errlen);
	if (n < 0)
		return -1;
	*used += (size_t)n;
	return 0;
}

int massctl_greeting(bool login, uint8_t *buf, size_t cap)
{
	if (cap < 3)
		return -1;
	buf[0] = MASSCTL_VER;
	buf[1] = 1;
	buf[2] = login ? MASSCTL_METHOD_LOGIN : MASSCTL_METHOD_NONE;
	return 3;
}

int massctl_greeting_reply(bool login, const uint8_t rep[2], char *err, size_t errlen)
{
	uint8_t offered = login ? MASSCTL_METHOD_LOGIN : MASSCTL_METHOD_NONE;

	if (rep[0] != MASSCTL_VER) {
		snprintf(err, errlen, "greeting reply has version %02x, not 01", rep[0]);
		return -1;
	}
	if (rep[1] == MASSCTL_METHOD_REFUSED) {
		snprintf(err, errlen, login ? "server refused the login method"
			 : "server requires an admin login (use -u or MASS_ADMIN)");
		return -2;
	}
	if (rep[1] != offered) {
		snprintf(err, errlen, "server chose method %02x, which was not offered", rep[1]);
		return -1;
	}
	return rep[1];
}

int massctl_login(const char *name, size_t name_len, const char *pass, size_t pass_len,
		  uint8_t *buf, size_t cap, size_t *used, char *err, size_t errlen)
{
	if (name_len < 1 || pass_len < 1) {
		snprintf(err, errlen, "admin name and password must not be empty");
		return -1;
	}
	if (cap < 1) {
		snprintf(err, errlen, "login longer than %zu octets", cap);
		return -1;
	}
	buf[0] = MASSCTL_VER;
	*used = 1;
	if (massctl_put_string(buf, cap, used, name, name_len, err, errlen) < 0 ||
	    massctl_put_string(buf, cap, used, pass, pass_len, err, errlen) < 0)
		return -1;
	return 0;
}

int massctl_login_reply(const uint8_t rep[2], char *err, size_t errlen)
{
	if (rep[0] != MASSCTL_VER) {
		snprintf(err, errlen, "login reply has version %02x, not 01", rep[0]);
		return -1;
	}
	if (rep[1] == 0x02) {
		/* mass-protocol(7): busy, the password was not checked (no penalty) */
		snprintf(err, errlen, "admin login not checked: the server is busy (status 02); "
			 "try again");
		return -2;
	}
	if (rep[1] != 0x00) {
		snprintf(err, errlen, "admin login refused (status %02x)", rep[1]);
		return -2;
	}
	return 0;
}

int massctl_reply_split(const uint8_t *buf, size_t len, struct massctl_reply *r,
			char *err, size_t errlen)
{
	if (len == 0) {
		snprintf(err, errlen, "connection closed without a reply");
		return -1;
	}
	r->status = buf[0];
	r->data = buf + 1;
	r->len = len - 1;
	return 0;
}

/*
 * Common to the typed decoders: a failure status stands alone. Returns 1
 * when the caller should decode fields (status 00), 0 for a well-formed
 * failure, -1 when malformed.
 */
static int massctl_decode_status(const struct massctl_reply *r, char *err, size_t errlen)
{
	if (r->status == MASS_STATUS_OK)
		return 1;
	if (r->len == 0)
		return 0;
	snprintf(err, errlen, "status %02x followed by %zu unexpected octets", r->status, r->len);
	return -1;
}

static int massctl_decode_end(const struct massctl_reply *r, size_t used,
			      char *err, size_t errlen)
{
	if (used == r->len)
		return 0;
	snprintf(err, errlen, "reply has %zu octets after its last field", r->len - used);
	return -1;
}

static int massctl_short(const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "reply truncated in %s", what);
	return -1;
}

int massctl_decode_indexes(const struct massctl_reply *r, uint8_t *out, size_t *n,
			   char *err, size_t errlen)
{
	int st = massctl_decode_status(r, err, errlen);
	size_t count;

	if (st <= 0)
		return st;
	if (r->len < 1)
		return massctl_short("the index count", err, errlen);
	count = r->data[0];
	if (r->len - 1 < count)
		return massctl_short("the index list", err, errlen);
	for (size_t i = 0; i < count; i++) {
		if (i > 0 && r->data[1 + i] <= r->data[i]) {
			snprintf(err, errlen, "index list not ascending at %02x", r->data[1 + i]);
			return -1;
		}
		out[i] = r->data[1 + i];
	}
	*n = count;
	return massctl_decode_end(r, 1 + count, err, errlen);
}

int massctl_decode_users(const struct massctl_reply *r, struct massctl_name *out,
			 size_t *n, char *err, size_t errlen)
{
	int st = massctl_decode_status(r, err, errlen);
	size_t count, pos = 1;

	if (st <= 0)
		return st;
	if (r->len < 1)
		return massctl_short("the user count", err, errlen);
	count = r->data[0];
	for (size_t i = 0; i < count; i++) {
		size_t len;

		if (pos >= r->len)
			return massctl_short("a name length", err, errlen);
		len = r->data[pos++];
		if (r->len - pos < len)
			return massctl_short("a name", err, errlen);
		if (!cred_valid_name((const char *)r->data + pos, len)) {
			snprintf(err, errlen, "user %zu in the reply is not a valid name", i + 1);
			return -1;
		}
		out[i].name = (const char *)r->data + pos;
		out[i].len = len;
		pos += len;
	}
	*n = count;
	return massctl_decode_end(r, pos, err, errlen);
}

int massctl_decode_u32(const struct massctl_reply *r, uint32_t *v, char *err, size_t errlen)
{
	int st = massctl_decode_status(r, err, errlen);
	const uint8_t *d = r->data;

	if (st <= 0)
		return st;
	if (r->len < 4)
		return massctl_short("the counter", err, errlen);
	*v = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
	return massctl_decode_end(r, 4, err, errlen);
}

int massctl_decode_counters64(const struct massctl_reply *r, uint64_t *out,
			      char *err, size_t errlen)
{
	int st = massctl_decode_status(r, err, errlen);
	size_t count;

	if (st <= 0)
		return st;
	if (r->len < 1)
		return massctl_short("the counter count", err, errlen);
	count = r->data[0];
	if (count < MASSCTL_NCOUNTERS) {
		snprintf(err, errlen, "reply has %zu counters, fewer than %d", count,
			 MASSCTL_NCOUNTERS);
		return -1;
	}
	if ((r->len - 1) / 8 < count)
		return massctl_short("the counters", err, errlen);
	for (size_t i = 0; i < MASSCTL_NCOUNTERS; i++) {
		const uint8_t *d = r->data + 1 + 8 * i;
		uint64_t v = 0;

		for (int k = 0; k < 8; k++)
			v = v << 8 | d[k];
		out[i] = v;
	}
	return massctl_decode_end(r, 1 + 8 * count, err, errlen);
}

int massctl_decode_empty(const struct massctl_reply *r, char *err, size_t errlen)
{
	int st = massctl_decode_status(r, err, errlen);

	if (st <= 0)
		return st;
	return massctl_decode_end(r, 0, err, errlen);
}

size_t massctl_json_string(const char *s, size_t len, char *out, size_t cap)
{
	static const char digits[] = "0123456789abcdef";
	size_t n = 0;
	char tmp[7];

#define MASSCTL_EMIT(c) do { if (n + 1 < cap) out[n] = (c); n++; } while (0)
	MASSCTL_EMIT('"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t k = 0;

		if (c == '"' || c == '\\') {
			tmp[k++] = '\\';
			tmp[k++] = (char)c;
		} else if (c < 0x20 || c > 0x7E) {
			memcpy(tmp, "\\u00", 4);
			k = 4;
			tmp[k++] = digits[c >> 4];
			tmp[k++] = digits[c & 15];
		} else {
			tmp[k++] = (char)c;
		}
		for (size_t j = 0; j < k; j++)
			MASSCTL_EMIT(tmp[j]);
	}
	MASSCTL_EMIT('"');
#undef MASSCTL_EMIT
	if (cap > 0)
		out[n < cap ? n : cap - 1] = '\0';
	return n;
}

/* ---------------------------------------------------------------- ABI 1.1 plugins' replies */

/* A cursor over a reply's fields: every read checks the room left. */
struct massctl_cursor {
	const uint8_t *d;
	size_t len, off;
	const char *short_in;        /* the field that ran short, once one did */
};

static uint64_t massctl_get(struct massctl_cursor *c, size_t n, const char *what)
{
	uint64_t v = 0;

	if (c->short_in != NULL || c->len - c->off < n) {
		if (c->short_in == NULL)
			c->short_in = what;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v = v << 8 | c->d[c->off + i];
	c->off += n;
	return v;
}

static struct massctl_name massctl_get_str(struct massctl_cursor *c, const char *what)
{
	struct massctl_name s = { "", 0 };
	size_t len = (size_t)massctl_get(c, 1, what);

	if (c->short_in != NULL || c->len - c->off < len) {
		if (c->short_in == NULL)
			c->short_in = what;
		return s;
	}
	s.name = (const char *)c->d + c->off;
	s.len = len;
	c->off += len;
	return s;
}

/* The cursor's verdict: short, trailing octets, or 0. */
static int massctl_cursor_end(const struct massctl_reply *r, const struct massctl_cursor *c,
			      char *err, size_t errlen)
{
	if (c->short_in != NULL)
		return massctl_short(c->short_in, err, errlen);
	return massctl_decode_end(r, c->off, err, errlen);
}

int massctl_decode_sessions(const struct massctl_reply *r, struct massctl_session *out,
			    size_t *n, uint32_t *total, char *err, size_t errlen)
{
	struct massctl_cursor c = { r->data, r->len, 0, NULL };
	int st = massctl_decode_status(r, err, errlen);
	uint32_t count;

	if (st <= 0)
		return st;
	*total = (uint32_t)massctl_get(&c, 4, "the session total");
	count = (uint32_t)massctl_get(&c, 4, "the session count");
	if (count > MASSCTL_SESSIONS_MAX || count > *total) {
		snprintf(err, errlen, "%u sessions listed of %u", count, *total);
		return -1;
	}
	for (*n = 0; *n < count && c.short_in == NULL; (*n)++) {
		struct massctl_session *s = &out[*n];

		s->id = massctl_get(&c, 8, "a session id");
		s->state = (uint8_t)massctl_get(&c, 1, "a session state");
		s->cmd = (uint8_t)massctl_get(&c, 1, "a session command");
		s->user = massctl_get_str(&c, "a session user");
		s->client = massctl_get_str(&c, "a session client");
		s->client_port = (uint16_t)massctl_get(&c, 2, "a client port");
		s->dest = massctl_get_str(&c, "a session destination");
		s->dest_port = (uint16_t)massctl_get(&c, 2, "a destination port");
		s->from_client = massctl_get(&c, 8, "a session byte count");
		s->to_client = massctl_get(&c, 8, "a session byte count");
		s->age_ms = massctl_get(&c, 8, "a session age");
	}
	return massctl_cursor_end(r, &c, err, errlen);
}

int massctl_decode_user_stats(const struct massctl_reply *r, struct massctl_user_stat *out,
			      size_t *n, char *err, size_t errlen)
{
	struct massctl_cursor c = { r->data, r->len, 0, NULL };
	int st = massctl_decode_status(r, err, errlen);
	uint32_t count;

	if (st <= 0)
		return st;
	count = (uint32_t)massctl_get(&c, 4, "the user count");
	if (count > MASSCTL_USER_STATS_MAX) {
		snprintf(err, errlen, "%u users: more than a reply can hold", count);
		return -1;
	}
	for (*n = 0; *n < count && c.short_in == NULL; (*n)++) {
		out[*n].user = massctl_get_str(&c, "a user name");
		out[*n].connections = massctl_get(&c, 8, "a user's connections");
		out[*n].from_client = massctl_get(&c, 8, "a user's byte count");
		out[*n].to_client = massctl_get(&c, 8, "a user's byte count");
	}
	return massctl_cursor_end(r, &c, err, errlen);
}

/* Whether a layout item is the field name (NUL-terminated). */
static bool massctl_item_is(const struct layout_item *it, const char *name)
{
	return it->name_len == strlen(name) && memcmp(it->name, name, it->name_len) == 0;
}

/* layout_fn filling a struct massctl_info from either info layout. */
static int massctl_info_item(void *arg, const struct layout_item *it)
{
	struct massctl_info *out = arg;
	struct massctl_name s = { (const char *)it->data, it->len };
	struct massctl_index_usage *u = &out->ix[out->n];   /* n < 256: COUNT is one octet */

	if (it->event == LAYOUT_RECORD_BEGIN) {
		memset(u, 0, sizeof(*u));
		u->plugin = u->version = u->usage = u->signature = u->layout =
			(struct massctl_name){ "", 0 };
	} else if (it->event == LAYOUT_RECORD_END) {
		out->n++;
	} else if (it->event == LAYOUT_FIELD && it->depth == 0) {
		if (massctl_item_is(it, "version"))
			out->version = s;
		else if (massctl_item_is(it, "start_time"))
			out->start_time = it->value;
		else if (massctl_item_is(it, "uptime"))
			out->uptime = it->value;
	} else if (it->event == LAYOUT_FIELD) {
		if (massctl_item_is(it, "index"))
			u->index = (uint8_t)it->value;
		else if (massctl_item_is(it, "plugin"))
			u->plugin = s;
		else if (massctl_item_is(it, "plugin_version"))
			u->version = s;
		else if (massctl_item_is(it, "usage"))
			u->usage = s;
		else if (massctl_item_is(it, "signature"))
			u->signature = s;
		else if (massctl_item_is(it, "layout"))
			u->layout = s;
	}
	return 0;
}

int massctl_decode_info(const struct massctl_reply *r, struct massctl_info *out,
			char *err, size_t errlen)
{
	int st = massctl_decode_status(r, err, errlen);
	char why12[128], why11[128];

	if (st <= 0)
		return st;
	out->n = 0;
	out->rows12 = true;
	if (layout_decode(MASSCTL_INFO_LAYOUT, r->data, r->len, massctl_info_item, out,
			  why12, sizeof(why12)) == 0)
		return 0;
	out->n = 0;
	out->rows12 = false;
	if (layout_decode(MASSCTL_INFO_LAYOUT_11, r->data, r->len, massctl_info_item, out,
			  why11, sizeof(why11)) == 0)
		return 0;
	out->n = 0;
	/* which of the two the server meant is unknown: both reasons */
	snprintf(err, errlen, "%s (read as a reply before ABI 1.2: %s)", why12, why11);
	return -1;
}

const struct massctl_index_usage *massctl_info_row(const struct massctl_info *info, uint8_t ix)
{
	for (size_t i = 0; i < info->n; i++)
		if (info->ix[i].index == ix)
			return &info->ix[i];
	return NULL;
}

bool massctl_info_serves(const struct massctl_info *info, uint8_t ix, const char *plugin)
{
	const struct massctl_index_usage *u = massctl_info_row(info, ix);

	while (u != NULL && *plugin != '\0') {
		size_t n = strcspn(plugin, "|");

		if (u->plugin.len == n && memcmp(u->plugin.name, plugin, n) == 0)
			return true;
		plugin += n + (plugin[n] == '|');
	}
	return false;
}
