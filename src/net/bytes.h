/* Big-endian (network order) loads and stores at any alignment: header
 * fields are read and written through these, never through casts.
 *
 * Each is one load or store of the whole field plus a byte swap, never a
 * byte at a time: the compiler does not always merge byte stores, and a
 * wider load of bytes stored one by one cannot be forwarded from the store
 * buffer (a stall of ~15 cycles, on every frame). */
#ifndef SG_NET_BYTES_H
#define SG_NET_BYTES_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t sg_rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return be16toh(v);
}

static inline uint32_t sg_rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static inline void sg_wr16(uint8_t *p, uint16_t v)
{
	v = htobe16(v);
	memcpy(p, &v, 2);
}

static inline void sg_wr32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

#endif
