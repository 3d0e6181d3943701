/* Internet checksums: RFC 1071 sums, RFC 1624 incremental updates.
 *
 * Partial sums are kept in "memory order": 16-bit words are loaded in host
 * order straight from the bytes, so no byte is swapped in the loop.  RFC
 * 1071 §2(B) (byte-order independence) makes the folded result, stored back
 * the same way, the checksum in network order.
 */
#include "net/csum.h"

#include <string.h>

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t load32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint16_t load16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* 64-bit one's-complement add: the end-around carry keeps the value
 * congruent modulo 2^64 - 1, a multiple of 0xffff. */
static inline uint64_t add64(uint64_t a, uint64_t b)
{
	uint64_t r = a + b;
	return r + (r < a);
}

uint64_t sg_csum_partial(const void *buf, size_t len, uint64_t sum)
{
	const uint8_t *p = buf;
	/* Two accumulators of 32-bit halves: each add is < 2^32, so neither can
	 * carry out of 64 bits before 2^32 additions (16 GiB). */
	uint64_t a = 0, b = 0;

	while (len >= 32) {
		uint64_t w0 = load64(p), w1 = load64(p + 8);
		uint64_t w2 = load64(p + 16), w3 = load64(p + 24);
		a += (uint32_t)w0 + (w0 >> 32) + (uint32_t)w1 + (w1 >> 32);
		b += (uint32_t)w2 + (w2 >> 32) + (uint32_t)w3 + (w3 >> 32);
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		uint64_t w = load64(p);
		a += (uint32_t)w + (w >> 32);
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		b += load32(p);
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		a += load16(p);
		p += 2;
		len -= 2;
	}
	if (len) {
		/* RFC 1071: the odd byte is the first byte of a zero-padded word. */
		uint16_t t = 0;
		memcpy(&t, p, 1);
		b += t;
	}
	return add64(sum, add64(a, b));
}

uint16_t sg_csum_finish(uint64_t sum)
{
	return (uint16_t)~sg_csum_fold(sum);
}

/* proto and length as the big-endian bytes they stand for in the
 * pseudo-header, loaded in memory order like everything else. */
static inline uint64_t be_u32_mem(uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	                 (uint8_t)(v >> 8), (uint8_t)v };
	return load32(b);
}

uint64_t sg_csum_pseudo6(const uint8_t saddr[16], const uint8_t daddr[16],
                         uint8_t proto, uint32_t l4_len)
{
	/* RFC 8200 §8.1: saddr, daddr, 32-bit length, 3 zero bytes, next hdr. */
	uint64_t s = 0;
	for (int i = 0; i < 16; i += 4)
		s += (uint64_t)load32(saddr + i) + load32(daddr + i);
	return s + be_u32_mem(l4_len) + be_u32_mem(proto);
}

