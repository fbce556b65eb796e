/*
 * base64: strict RFC 4648 decoding and encoding of the padded standard
 * alphabet, as used by HTTP Basic and SASL. Pure and bounded: it never
 * writes past outcap.
 */
#ifndef MASS_BASE64_H
#define MASS_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* The decoded size of inlen base64 characters, at most. */
#define BASE64_DECODED_MAX(inlen) (((inlen) / 4u) * 3u)

/*
 * Decodes in[0..inlen) into out. Returns 0 and sets *outlen on success.
 * Returns -1 (out partly written, *outlen untouched) when the input is not
 * canonical padded base64: a length not a multiple of 4, a character outside
 * the alphabet, '=' anywhere but the last one or two places, or a result
 * longer than outcap. The empty string decodes to nothing.
 */
int base64_decode(const char *in, size_t inlen, uint8_t *out, size_t outcap, size_t *outlen);

/* The encoded size of inlen bytes, without the terminating NUL. */
#define BASE64_ENCODED_LEN(inlen) ((((inlen) + 2u) / 3u) * 4u)

/*
 * Encodes in[0..inlen) into out, padded, NUL-terminated. Returns the length
 * written (without the NUL), or -1 (out untouched) when outcap is smaller
 * than BASE64_ENCODED_LEN(inlen) + 1.
 */
long base64_encode(const uint8_t *in, size_t inlen, char *out, size_t outcap);

#endif
