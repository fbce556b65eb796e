/* base64: see base64.h. */
#include "base64.h"

static const char base64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of c, or -1 when c is not in the alphabet. */
static int base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(const char *in, size_t inlen, uint8_t *out, size_t outcap, size_t *outlen)
{
	size_t pad = 0, n = 0;

	if (inlen % 4 != 0)
		return -1;
	if (inlen > 0 && in[inlen - 1] == '=')
		pad = (inlen > 1 && in[inlen - 2] == '=') ? 2 : 1;
	if (BASE64_DECODED_MAX(inlen) - pad > outcap)
		return -1;
	for (size_t i = 0; i < inlen; i += 4) {
		uint32_t quad = 0;
		size_t chars = (i + 4 == inlen) ? 4 - pad : 4;

		for (size_t j = 0; j < 4; j++) {
			int v = j < chars ? base64_value((unsigned char)in[i + j]) : 0;

			if (v < 0)
				return -1;
			quad = quad << 6 | (uint32_t)v;
		}
		for (size_t j = 0; j + 1 < chars; j++)
			out[n++] = (uint8_t)(quad >> (16 - 8 * j));
	}
	*outlen = n;
	return 0;
}

long base64_encode(const uint8_t *in, size_t inlen, char *out, size_t outcap)
{
	size_t o = 0;

	if (outcap < BASE64_ENCODED_LEN(inlen) + 1)
		return -1;
	for (size_t i = 0; i < inlen; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < inlen)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < inlen)
			v |= in[i + 2];
		out[o++] = base64_alphabet[v >> 18 & 63];
		out[o++] = base64_alphabet[v >> 12 & 63];
		out[o++] = i + 1 < inlen ? base64_alphabet[v >> 6 & 63] : '=';
		out[o++] = i + 2 < inlen ? base64_alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return (long)o;
}
