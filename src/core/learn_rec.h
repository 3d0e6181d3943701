/* A server's options as learn.c and its pins (learn_pins.c) both store
 * them: the public struct of a note or lookup and of a pin, the 32-bit
 * record that packs it, how two records combine, and the keyed hash of an
 * (address, port) key.  Header only, below both, so the per-packet
 * lookup keeps these inline and neither room calls back into the other.
 */
#ifndef SG_CORE_LEARN_REC_H
#define SG_CORE_LEARN_REC_H

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "net/tcpopt.h"

/* Bits of sg_learned.known: the fields that say something. */
#define SG_LEARN_MSS  0x1
#define SG_LEARN_WS   0x2
#define SG_LEARN_SACK 0x4
#define SG_LEARN_TS   0x8
#define SG_LEARN_ALL  0xf

#define SG_LEARN_WS_NONE 15   /* the server does not scale its window */

struct sg_learned {
	uint16_t mss;     /* the server's MSS option */
	uint8_t  ws;      /* 0..14, or SG_LEARN_WS_NONE (a note's 16.. is 14) */
	bool     sack, ts;
	uint8_t  known;   /* SG_LEARN_* */
};

#define SG_LEARN_PINS_MAX    256

/* An operator's pin: the fields in opts.known, for the addresses of
 * addr/plen (bits past plen are cleared), on one port or (0) all. */
struct sg_learn_pin {
	uint8_t  family;
	uint8_t  plen;            /* 0..32, 0..128 */
	uint16_t port;
	uint8_t  addr[16];        /* IPv4 in the first 4 bytes */
	struct sg_learned opts;
};

/* A key's low 32 bits: the port (0: the address alone), the family, and,
 * in a slot, that the slot is in use; in a pin, the prefix length. */
#define SG_LEARN_K_V6         (1u << 16)
#define SG_LEARN_K_USED       (1u << 17)
#define SG_LEARN_K_PLEN_SHIFT 24

/* A record in 32 bits, the high half of a slot's word: only known fields
 * are non-zero, so two records compare as integers. */
#define SG_LEARN_V_MSS         0xffffu
#define SG_LEARN_V_WS_SHIFT    16
#define SG_LEARN_V_WS          (0xfu << SG_LEARN_V_WS_SHIFT)
#define SG_LEARN_V_SACK        (1u << 20)
#define SG_LEARN_V_TS          (1u << 21)
#define SG_LEARN_V_KNOWN_SHIFT 24

/* The hash's key, drawn once at create from the caller's bytes. */
struct sg_learn_hkey {
	uint32_t nh[6];               /* NH key */
	uint64_t mult;                /* odd */
};

/* NH (RFC 4418 §5.2) over the key's 32-bit words, then a keyed bijective
 * mix: two keys share a bucket with a chance of about 2^-32 over the key
 * plus the bucket count's share, so no one can aim at a bucket. */
static inline uint64_t sg_learn_rec_hash(const struct sg_learn_hkey *hk, uint64_t a0, uint64_t a1,
                                         uint32_t k)
{
	const uint32_t *nh = hk->nh;
	uint64_t h;

	h  = (uint64_t)((uint32_t)a0 + nh[0]) * (uint32_t)((uint32_t)(a0 >> 32) + nh[1]);
	h += (uint64_t)((uint32_t)a1 + nh[2]) * (uint32_t)((uint32_t)(a1 >> 32) + nh[3]);
	h += (uint64_t)(k + nh[4]) * nh[5];
	h ^= h >> 32;
	h *= hk->mult;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

static inline void sg_learn_rec_addr_words(uint8_t family, const uint8_t *addr, uint64_t *a0, uint64_t *a1)
{
	/* Constant-size copies: a variable one is a call on the SYN path. */
	if (family == 4) {
		uint32_t v4;

		memcpy(&v4, addr, 4);
		*a0 = htole64(le32toh(v4));   /* the address's bytes first, as from b[16] */
		*a1 = 0;
	} else {
		memcpy(a0, addr, 8);
		memcpy(a1, addr + 8, 8);
	}
}

/* The first `bits` bits of a word loaded from 8 address bytes. */
static inline uint64_t sg_learn_rec_prefix_mask(int bits)
{
	if (bits <= 0)
		return 0;
	if (bits >= 64)
		return ~0ull;
	return htobe64(~0ull << (64 - bits));
}

static inline uint32_t sg_learn_rec_pack(const struct sg_learned *o)
{
	uint32_t known = o->known & SG_LEARN_ALL, v = 0;

	if ((known & SG_LEARN_MSS) && !o->mss)
		known &= ~(uint32_t)SG_LEARN_MSS;
	if (known & SG_LEARN_MSS)
		v |= o->mss;
	if (known & SG_LEARN_WS)
		v |= (uint32_t)(o->ws > SG_LEARN_WS_NONE ? SG_TCP_WSCALE_MAX : o->ws) << SG_LEARN_V_WS_SHIFT;
	if ((known & SG_LEARN_SACK) && o->sack)
		v |= SG_LEARN_V_SACK;
	if ((known & SG_LEARN_TS) && o->ts)
		v |= SG_LEARN_V_TS;
	return v | known << SG_LEARN_V_KNOWN_SHIFT;
}

static inline void sg_learn_rec_unpack(uint32_t v, struct sg_learned *o)
{
	o->known = (uint8_t)(v >> SG_LEARN_V_KNOWN_SHIFT);
	o->mss = (uint16_t)(v & SG_LEARN_V_MSS);
	o->ws = (uint8_t)((v & SG_LEARN_V_WS) >> SG_LEARN_V_WS_SHIFT);
	o->sack = v & SG_LEARN_V_SACK;
	o->ts = v & SG_LEARN_V_TS;
}

static inline unsigned sg_learn_rec_known_of(uint32_t v)
{
	return v >> SG_LEARN_V_KNOWN_SHIFT;
}

/* dst with the fields it does not know taken from src. */
static inline uint32_t sg_learn_rec_fill(uint32_t dst, uint32_t src)
{
	/* The value bits of each set of known fields, indexed by the set. */
#define M_ SG_LEARN_V_MSS
#define W_ SG_LEARN_V_WS
#define S_ SG_LEARN_V_SACK
#define T_ SG_LEARN_V_TS
	static const uint32_t bits_of[16] = {
		0,       M_,           W_,           M_ | W_,
		S_,      M_ | S_,      W_ | S_,      M_ | W_ | S_,
		T_,      M_ | T_,      W_ | T_,      M_ | W_ | T_,
		S_ | T_, M_ | S_ | T_, W_ | S_ | T_, M_ | W_ | S_ | T_,
	};
#undef M_
#undef W_
#undef S_
#undef T_
	unsigned add = sg_learn_rec_known_of(src) & ~sg_learn_rec_known_of(dst) & SG_LEARN_ALL;

	return dst | (src & bits_of[add]) | add << SG_LEARN_V_KNOWN_SHIFT;
}

#endif
