/* The virtio_net_hdr of frames going out of a port with PACKET_VNET_HDR
 * (afpacket.c): GSO super-frames of peers with TSO/GSO cut into the
 * segments the peer's kernel would have cut, and checksums left partial
 * for the kernel or the device to finish (NEEDS_CSUM).
 *
 * Pure functions of the frame: no ring, no socket.  The caller asks for
 * one segment at a time and gives each its own TX slot, so a super-frame
 * keeps its flow's order in one ring:
 *
 *   why = sg_gso_start(&g, data, len, type, size, room);
 *   while (!why && sg_gso_more(&g))
 *       slot_len = sg_gso_next(&g, slot, &vh);
 */
#ifndef SG_IO_GSO_H
#define SG_IO_GSO_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stdint.h>

#include "net/pkt.h"

/* Most segments one super-frame may take: a peer's tiny gso_size must not
 * fill the ring with one frame. */
#define SG_GSO_SEG_MAX 512

struct sg_gso {                   /* one super-frame being cut */
	const uint8_t *data;
	struct sg_pkt p;              /* the super-frame, parsed */
	uint32_t hlen;                /* its headers, repeated in each segment */
	uint32_t plen;                /* its payload */
	uint32_t mss;
	uint32_t at, i;               /* next segment: payload offset, number */
};

/* Parses super-frame data[0, len) with the peer's gso_type and gso_size:
 * NULL when it can be cut into segments of at most room bytes, else why
 * not (a sentence for the log). */
const char *sg_gso_start(struct sg_gso *g, uint8_t *data, uint32_t len, uint8_t gso_type,
                         uint16_t gso_size, uint32_t room);

/* Segments left (a super-frame without payload still makes one). */
bool sg_gso_more(const struct sg_gso *g);

/* Writes the next segment into d (room bytes) and its header into *vh;
 * returns its length. */
uint32_t sg_gso_next(struct sg_gso *g, uint8_t *d, struct virtio_net_hdr *vh);

/* The header a plain frame goes out with.  needs_csum: the peer left its
 * checksum partial (it came with NEEDS_CSUM). */
void sg_gso_plain(uint8_t *data, uint32_t len, bool needs_csum, struct virtio_net_hdr *vh);

#endif
