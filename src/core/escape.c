/* escape: network text made safe for a log line. See escape.h. */
#include "escape.h"

#include <string.h>

/* Writes c, escaped, at d if all of it fits before end; NULL if not. */
static char *escape_octet(char *d, const char *end, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[4];
	size_t n = 0;

	if (c == '\t' || c == '\n' || c == '\\') {
		tmp[n++] = '\\';
		tmp[n++] = c == '\t' ? 't' : c == '\n' ? 'n' : '\\';
	} else if (c < 0x20 || c >= 0x7f) {
		tmp[n++] = '\\';
		tmp[n++] = 'x';
		tmp[n++] = hex[c >> 4];
		tmp[n++] = hex[c & 15];
	} else {
		tmp[n++] = (char)c;
	}
	if ((size_t)(end - d) < n)
		return NULL;
	memcpy(d, tmp, n);
	return d + n;
}

char *escape_text(char *dst, size_t dstlen, const char *src, size_t len)
{
	char *d = dst;
	const char *end = dst + dstlen - 1;  /* room for the NUL */

	if (dstlen == 0)
		return dst;
	for (size_t i = 0; i < len; i++) {
		char *next = escape_octet(d, end, (unsigned char)src[i]);

		if (next == NULL)
			break;
		d = next;
	}
	*d = '\0';
	return dst;
}

char *escape_str(char *dst, size_t dstlen, const char *src)
{
	if (src == NULL)
		src = "-";
	return escape_text(dst, dstlen, src, strlen(src));
}
