/* Builders for the frames synguard makes itself: SYN, SYN-ACK, ACK, RST,
 * for IPv4 and IPv6, untagged or with the tags of the frame that caused
 * them.  Every built frame has correct IP and TCP checksums, TTL/hop limit
 * SG_BUILD_TTL, no IP options or extension headers; a payload only when
 * asked (tests and benchmarks send data segments).
 */
#ifndef SG_NET_BUILD_H
#define SG_NET_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "net/pkt.h"

#define SG_BUILD_TTL     64
/* Largest frame a builder writes without payload: 14 + 2*4 + 40 (IPv6) +
 * 60 (TCP). */
#define SG_BUILD_MAXLEN  (SG_ETH_HLEN + 4 * SG_VLAN_MAX + 40 + 60)

/* Everything a built TCP frame needs.  Addresses are 4 or 16 bytes by
 * family, in network order; numbers in host order. */
struct sg_tcp_frame {
	uint8_t  dst_mac[6], src_mac[6];
	uint8_t  nvlan;
	struct sg_vlan_tag vlan[SG_VLAN_MAX];
	uint8_t  family;                 /* 4 or 6 */
	uint8_t  saddr[16], daddr[16];
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t  flags;                  /* SG_TCP_* */
	uint16_t win;
	uint8_t  tos;                    /* IPv4 TOS / IPv6 traffic class */
	uint32_t flow_label;             /* IPv6 only, 20 bits */
	struct sg_tcp_opts opt;          /* only .present and values are read */
	const uint8_t *payload;          /* payload_len bytes, or NULL for zeros */
	uint16_t payload_len;
};

/* Fills f's L2/L3 identity from a parsed frame: the same MACs, tags,
 * addresses and ports (reverse == 0, a frame continuing in the same
 * direction), or all of them swapped (reverse == 1, a reply).  Sequence
 * numbers, flags, window and options are zeroed for the caller to set. */
void sg_build_from_pkt(struct sg_tcp_frame *f, const struct sg_pkt *p, int reverse);

/* Writes f as a frame into buf.  Returns its length, or -ENOSPC. */
int sg_build_tcp(uint8_t *buf, size_t cap, const struct sg_tcp_frame *f);

/* The SYN-ACK answering syn, written from syn's fields in place: what
 * sg_build_from_pkt(reverse) and sg_build_tcp write with SYN|ACK, ACK =
 * syn's SEQ + 1 and the given SEQ, window and options; the SYN path's
 * frame, without the copy into a struct sg_tcp_frame.  Its length, or
 * -ENOSPC. */
int sg_build_synack(uint8_t *buf, size_t cap, const struct sg_pkt *syn, uint32_t seq,
                    uint16_t win, const struct sg_tcp_opts *opt);

#endif
