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

struct sg_flow {
	uint8_t  wan_addr[16];   /* IPv4 in the first 4 bytes, rest zero */
	uint8_t  lan_addr[16];
	uint16_t wan_port, lan_port;   /* host order */
	uint16_t vid[2];               /* VLAN ids, 0 = no tag */
	uint8_t  family;               /* 4 or 6 */
	uint8_t  pad[3];
};

static inline void sg_flow_make(struct sg_flow *f, uint8_t family,
                                const uint8_t *wan_addr, uint16_t wan_port,
                                const uint8_t *lan_addr, uint16_t lan_port,
                                uint16_t vid0, uint16_t vid1)
{
	size_t alen = family == 4 ? 4 : 16;

	memset(f, 0, sizeof(*f));
	memcpy(f->wan_addr, wan_addr, alen);
	memcpy(f->lan_addr, lan_addr, alen);
	f->wan_port = wan_port;
	f->lan_port = lan_port;
	f->vid[0] = vid0;
	f->vid[1] = vid1;
	f->family = family;
}

#endif
