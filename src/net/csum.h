/* Internet checksums: RFC 1071 full sums, RFC 1624 incremental updates.
 *
 * One's-complement arithmetic has two zeros (0x0000 and 0xffff).  A field
 * updated incrementally must end up equal to what a full recompute gives;
 * RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), is used because it never turns
 * a correct 0x0000 into 0xffff or the reverse the way eqn. 2 can.
 *
 * Sums are accumulated as 64-bit partial sums (sg_csum_partial) and folded
 * once at the end, so callers can chain a pseudo-header and several buffers.
 */
#ifndef SG_NET_CSUM_H
#define SG_NET_CSUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net/bytes.h"

/* Adds the bytes of buf to a running partial sum.  buf may have any
 * alignment and any length; an odd trailing byte is padded with zero as
 * RFC 1071 says.  Chaining is only correct when every buffer but the last
 * has an even length. */
uint64_t sg_csum_partial(const void *buf, size_t len, uint64_t sum);

/* Folds a partial sum to 16 bits (not complemented).  Partial sums are
 * kept in memory order (words loaded in host order, RFC 1071 §2(B)), so the
 * result, like sg_csum_finish's, is in network byte order: ntohs() gives
 * the arithmetic value.  Only an all-zero sum folds to 0x0000; any other
 * sum congruent to zero folds to 0xffff. */
static inline uint16_t sg_csum_fold(uint64_t sum)
{
	/* Adding a word to itself rotated by half its width puts hi + lo,
	 * end-around carry included, into the top half (the carry out of the
	 * bottom half is the one the sum needs): two rotate-adds instead of
	 * four mask-shift-adds, on every packet. */
	uint32_t x = (uint32_t)((sum + (sum << 32 | sum >> 32)) >> 32);

	return (uint16_t)((x + (x << 16 | x >> 16)) >> 16);
}

/* The finished checksum (complemented fold) of a partial sum, in network
 * byte order as it is stored in a header. */
uint16_t sg_csum_finish(uint64_t sum);

/* Pseudo-header partial sums (RFC 793 §3.1, RFC 8200 §8.1).  Addresses in
 * network byte order; l4_len is the TCP/UDP header + payload length. */
/* Inline: every TCP segment's partial-checksum check computes it. */
static inline uint64_t sg_csum_pseudo4(const uint8_t saddr[4], const uint8_t daddr[4],
                                       uint8_t proto, uint32_t l4_len)
{
	uint32_t s, d;

	/* RFC 793 §3.1: saddr, daddr, zero, proto, 16-bit TCP length; proto
	 * and length as the big-endian bytes they stand for, in memory order
	 * like everything else. */
	memcpy(&s, saddr, 4);
	memcpy(&d, daddr, 4);
	return (uint64_t)s + d + htobe32(((uint32_t)proto << 16) | (l4_len & 0xffffu));
}
uint64_t sg_csum_pseudo6(const uint8_t saddr[16], const uint8_t daddr[16],
                         uint8_t proto, uint32_t l4_len);

/* The one way to change checksummed data in place (RFC 1624 eqn. 3,
 * HC' = ~(~HC + ~m + m')): rewrite any number of 2- or 4-byte fields of a
 * region, then update its checksum field once; the per-packet path
 * rewrites up to a dozen fields of a TCP header, and folding once instead
 * of once per field is measurably cheaper.
 *   struct sg_csum_edit e = { 0 };
 *   sg_csum_edit32(&e, region, off, val);   ... any number, any offsets
 *   sg_csum_edit_apply(&e, csum);
 * val is in host order and stored big-endian.  off counts from an even
 * offset of the checksummed data (the TCP header start is one) and may be
 * odd: a byte-swap distributes over one's complement addition, so such a
 * field is summed word by word swapped (RFC 1071 §2(B)).  The rewritten
 * bytes must not overlap the checksum field. */
struct sg_csum_edit {
	uint64_t sum;            /* one's complement sum of ~old + new words */
};

/* Stores v big-endian at p and adds the word, as it sits in memory, to
 * the partial sum *sum.  Builders sum checksums from the values as they
 * write them: reading just-written header bytes back in wider loads would
 * stall on store forwarding, on every frame synguard makes. */
static inline void sg_csum_put32(uint8_t *p, uint32_t v, uint64_t *sum)
{
	uint32_t w = htobe32(v);

	memcpy(p, &w, 4);
	*sum += w;
}

/* Inline: the per-packet path edits two to a dozen fields per frame, and
 * as calls they kept the sum in memory instead of a register. */

/* ~old + new of a field, in memory order; at an odd offset every byte sits
 * in the other half of its 16-bit word, and the folded contribution is
 * byte-swapped (RFC 1071 §2(B)).  A 32-bit add is a sum of its two 16-bit
 * halves modulo 0xffff, as 2^16 = 1 there. */
static inline uint64_t sg_csum__delta(uint64_t d, size_t off)
{
	if (off & 1) {
		uint16_t f = sg_csum_fold(d);

		d = (uint16_t)((f >> 8) | (f << 8));
	}
	return d;
}

static inline void sg_csum_edit16(struct sg_csum_edit *e, uint8_t *region, size_t off, uint16_t val)
{
	uint8_t *p = region + off;
	uint16_t old, new = htobe16(val);

	memcpy(&old, p, 2);
	memcpy(p, &new, 2);
	e->sum += sg_csum__delta((uint64_t)(uint16_t)~old + new, off);
}

static inline void sg_csum_edit32(struct sg_csum_edit *e, uint8_t *region, size_t off, uint32_t val)
{
	uint8_t *p = region + off;
	uint32_t old, new = htobe32(val);

	memcpy(&old, p, 4);
	memcpy(p, &new, 4);
	e->sum += sg_csum__delta((uint64_t)(uint32_t)~old + new, off);
}

static inline void sg_csum_edit_apply(struct sg_csum_edit *e, uint8_t csum[2])
{
	uint16_t c;
	uint64_t s;

	if (!e->sum)
		return;
	memcpy(&c, csum, 2);
	s = (uint16_t)~c;
	s += e->sum;
	c = (uint16_t)~sg_csum_fold(s);
	memcpy(csum, &c, 2);
	e->sum = 0;
}

/* One field, one update: the shorthand of edit + apply. */
static inline void sg_csum_set16(uint8_t *region, size_t off, uint8_t csum[2], uint16_t val)
{
	struct sg_csum_edit e = { 0 };

	sg_csum_edit16(&e, region, off, val);
	sg_csum_edit_apply(&e, csum);
}

static inline void sg_csum_set32(uint8_t *region, size_t off, uint8_t csum[2], uint32_t val)
{
	struct sg_csum_edit e = { 0 };

	sg_csum_edit32(&e, region, off, val);
	sg_csum_edit_apply(&e, csum);
}

#endif
