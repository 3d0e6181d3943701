/* The connection table's keyed hash and key compare.  Private to
 * conntrack.c; apart so the hash can be read (and replaced) on its own.
 *
 * Keys are read in the 8-byte words (4 at the end) sg_flow_make stores:
 * reading them in other widths right after they were built would stall on
 * store forwarding, on every packet. */
#ifndef SG_CORE_CT_HASH_H
#define SG_CORE_CT_HASH_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/flow.h"

/* Words of NH input: the 44-byte flow key, zero-padded to an even count. */
#define CT_HASH_WORDS 12
_Static_assert(SG_FLOW_BYTES == 11 * 4, "sg_ct_key_hash reads 11 words of key");

struct ct_hash_key {
	uint32_t nh[CT_HASH_WORDS];
	uint64_t mult;              /* odd */
};

static inline uint64_t ct_key_word(const struct sg_flow *k, unsigned i)
{
	uint64_t w;

	memcpy(&w, (const uint8_t *)k + 8 * i, 8);
	return w;
}

/* The key's last 4 bytes (family and padding), past its five words. */
static inline uint32_t ct_key_tail(const struct sg_flow *k)
{
	uint32_t t;

	memcpy(&t, (const uint8_t *)k + 40, 4);
	return t;
}

/* The bucket hash: NH (the inner hash of UMAC, RFC 4418 §5.2) over the
 * key's 32-bit words under a random key that never leaves the process:
 * two different flows get the same 64-bit value with a chance below 2^-32,
 * so no source can aim at one chain.  A keyed mix then spreads the values
 * over the bucket bits.  That is all the table needs from its hash, at a
 * fraction of SipHash's cost on every packet; the SYN cookies, which must
 * resist forgery, keep SipHash. */
static inline uint32_t sg_ct_key_hash(const struct ct_hash_key *key, const struct sg_flow *k)
{
	const uint32_t *nh = key->nh;
	uint64_t h = 0, w;

	/* The widths sg_flow_make stores in (see flow.h). */
#pragma GCC unroll 5
	for (unsigned i = 0; i < 5; i++) {
		w = ct_key_word(k, i);
		h += (uint64_t)((uint32_t)w + nh[2 * i]) * (uint32_t)((w >> 32) + nh[2 * i + 1]);
	}
	h += (uint64_t)(ct_key_tail(k) + nh[10]) * nh[11];
	/* A bijection, so distinct NH values stay distinct; it spreads them
	 * over the bucket bits, which NH alone leaves in arithmetic
	 * progressions when one field counts up (a scan of ports). */
	h ^= h >> 32;
	h *= key->mult;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return (uint32_t)(h ^ (h >> 32));
}

/* Word by word, in the widths sg_flow_make stores (a block copy into a
 * local array would be read back across its stores and stall). */
static inline bool sg_ct_key_eq(const struct sg_flow *a, const struct sg_flow *b)
{
	uint64_t d = 0;

#pragma GCC unroll 5
	for (unsigned i = 0; i < 5; i++)
		d |= ct_key_word(a, i) ^ ct_key_word(b, i);
	return !(d | (ct_key_tail(a) ^ ct_key_tail(b)));
}
_Static_assert(sizeof(struct sg_flow) == 44, "sg_ct_key_eq compares 44 bytes");

#endif
