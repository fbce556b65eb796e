/*
 * sha256: SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), for the verify
 * cache's keyed digests. libcrypt exports no general-purpose digest, and
 * this is the only one the project needs, so it is written here (tested
 * against the FIPS 180-2 examples and the RFC 4231 vectors).
 *
 * Streaming: init, any number of updates, final. Contexts are plain values
 * (no allocation); final wipes the context. Not constant-time with respect
 * to message length (nothing here needs that), constant-time in content.
 */
#ifndef MASS_SHA256_H
#define MASS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_BLOCK 64

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;                 /* message length so far */
	unsigned char buf[SHA256_BLOCK];
	size_t used;                    /* octets waiting in buf */
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
void sha256_final(struct sha256 *c, unsigned char out[SHA256_LEN]);

struct hmac_sha256 {
	struct sha256 inner, outer;
};

/* Keys longer than the block size are hashed first, as RFC 2104 says. */
void hmac_sha256_init(struct hmac_sha256 *c, const void *key, size_t klen);
void hmac_sha256_update(struct hmac_sha256 *c, const void *data, size_t len);
void hmac_sha256_final(struct hmac_sha256 *c, unsigned char out[SHA256_LEN]);

/* One-shot HMAC of a single message. */
void hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
		 unsigned char out[SHA256_LEN]);

#endif
