/*
 * escape: the one escaper for text that came from the network (names,
 * users, plugin strings) on its way into a log, the daemon's or the access
 * log, so a line always stays one line: \t, \n and \\ as such, every other
 * octet outside 0x20-0x7e (CR, ESC, NUL, bytes >= 0x7f) as \xHH. Pure.
 */
#ifndef MASS_ESCAPE_H
#define MASS_ESCAPE_H

#include <stddef.h>

/* Room for n octets escaped (4 per octet at most) and the NUL. */
#define ESCAPE_SIZE(n) ((n) * 4 + 1)

/*
 * Escapes src (len octets, NUL included as an octet) into dst (dstlen
 * bytes, always NUL-terminated when dstlen > 0); an octet whose escape does
 * not fit whole ends the output there. Returns dst.
 */
char *escape_text(char *dst, size_t dstlen, const char *src, size_t len);

/* escape_text() of a NUL-terminated string; NULL is written as "-". Returns dst. */
char *escape_str(char *dst, size_t dstlen, const char *src);

#endif
