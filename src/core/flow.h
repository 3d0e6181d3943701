/* A flow's identity as synguard sees it: the host on the WAN side and the
 * host on the LAN side, their ports, and the VLAN ids the frames carry.
 * Oriented by port side, not by who opened the connection, so both
 * directions of a flow give the same value.  The connection table keys on
 * it and the SYN cookie MAC covers it.  Build it with sg_flow_make so the
 * padding and the unused address bytes are zero. */
#ifndef SG_CORE_FLOW_H
#define SG_CORE_FLOW_H

#include <stdint.h>
#include <string.h>

/* Bytes of struct sg_flow, as sg_flow_make writes them. */
#define SG_FLOW_BYTES 44

struct sg_flow {
	uint8_t  wan_addr[16];   /* IPv4 in the first 4 bytes, rest zero */
	uint8_t  lan_addr[16];
	uint16_t wan_port, lan_port;   /* host order */
	uint16_t vid[2];               /* VLAN ids, 0 = no tag */
	uint8_t  family;               /* 4 or 6 */
	uint8_t  pad[3];
};

/* Written in stores at least as wide as the 8-byte words (4 at the end) in
 * which the table hashes and compares keys, and aligned with them: a load
 * that spans several smaller stores cannot be forwarded from them and
 * stalls the core for ~15 cycles, on every packet. */
static inline void sg_flow_make(struct sg_flow *f, uint8_t family,
                                const uint8_t *wan_addr, uint16_t wan_port,
                                const uint8_t *lan_addr, uint16_t lan_port,
                                uint16_t vid0, uint16_t vid1)
{
	const uint16_t ports_vids[4] = { wan_port, lan_port, vid0, vid1 };
	const uint8_t tail[4] = { family, 0, 0, 0 };
	uint8_t *b = (uint8_t *)f;
	uint64_t pv;
	uint32_t t;

	if (family == 4) {
		/* The address in the first 4 bytes of each 8-byte word, on any
		 * byte order (a zero-extended integer would put it in the last 4
		 * on a big-endian host). */
		uint64_t w = 0;

		memcpy(&w, wan_addr, 4);
		memcpy(b, &w, 8);
		w = 0;
		memcpy(&w, lan_addr, 4);
		memcpy(b + 16, &w, 8);
		w = 0;
		memcpy(b + 8, &w, 8);
		memcpy(b + 24, &w, 8);
	} else {
		memcpy(b, wan_addr, 16);
		memcpy(b + 16, lan_addr, 16);
	}
	memcpy(&pv, ports_vids, 8);
	memcpy(&t, tail, 4);
	memcpy(b + 32, &pv, 8);
	memcpy(b + 40, &t, 4);
}

_Static_assert(sizeof(struct sg_flow) == SG_FLOW_BYTES, "sg_flow_make writes 44 bytes");

#endif
