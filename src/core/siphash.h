/* SipHash-2-4 (Aumasson & Bernstein), inline: the same function as
 * libsodium's crypto_shorthash, without a library call on the per-packet
 * path.  tests/unit/test_siphash.c checks it against libsodium. */
#ifndef SG_CORE_SIPHASH_H
#define SG_CORE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct sg_siphash_key {
	uint64_t k0, k1;         /* the 16 key bytes, little-endian halves */
};

#define SG_SIP_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SG_SIP_ROUND(v0, v1, v2, v3)                                        \
	do {                                                                \
		v0 += v1; v1 = SG_SIP_ROTL(v1, 13); v1 ^= v0; v0 = SG_SIP_ROTL(v0, 32); \
		v2 += v3; v3 = SG_SIP_ROTL(v3, 16); v3 ^= v2;               \
		v0 += v3; v3 = SG_SIP_ROTL(v3, 21); v3 ^= v0;               \
		v2 += v1; v1 = SG_SIP_ROTL(v1, 17); v1 ^= v2; v2 = SG_SIP_ROTL(v2, 32); \
	} while (0)

static inline uint64_t sg_siphash_le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline void sg_siphash_key_from_bytes(struct sg_siphash_key *k, const uint8_t b[16])
{
	k->k0 = sg_siphash_le64(b);
	k->k1 = sg_siphash_le64(b + 8);
}

static inline uint64_t sg_siphash(const struct sg_siphash_key *key, const void *data, size_t len)
{
	const uint8_t *in = data;
	uint64_t v0 = 0x736f6d6570736575ull ^ key->k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ key->k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ key->k0;
	uint64_t v3 = 0x7465646279746573ull ^ key->k1;
	uint64_t b = (uint64_t)len << 56;
	size_t i, full = len & ~(size_t)7;

	for (i = 0; i < full; i += 8) {
		uint64_t m = sg_siphash_le64(in + i);
		v3 ^= m;
		SG_SIP_ROUND(v0, v1, v2, v3);
		SG_SIP_ROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	for (size_t j = 0; j < (len & 7); j++)
		b |= (uint64_t)in[full + j] << (8 * j);
	v3 ^= b;
	SG_SIP_ROUND(v0, v1, v2, v3);
	SG_SIP_ROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	SG_SIP_ROUND(v0, v1, v2, v3);
	SG_SIP_ROUND(v0, v1, v2, v3);
	SG_SIP_ROUND(v0, v1, v2, v3);
	SG_SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

#endif
