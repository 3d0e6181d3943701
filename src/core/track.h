/* Tracked connections, never proxied or rewritten but for an optional MSS
 * clamp of their LAN SYN and SYN-ACK: those opened from LAN (and picked
 * up mid-stream from LAN, e.g. after a restart), so their WAN replies are
 * not taken for attacks; and those opened from WAN that a cookie cannot
 * serve (signed SYNs, policy, monitor mode).  Private to src/core. */
#ifndef SG_CORE_TRACK_H
#define SG_CORE_TRACK_H

#include "core/context.h"

/* LAN, no live connection (or `old`, a closing one, when p is a SYN):
 * starts tracking p's connection, or lets a stray RST through. */
enum sg_verdict sg_track_open(struct sg_proxy_worker *w, struct sg_pkt *p,
                              const struct sg_flow_ref *fr, struct sg_conn *old);

/* WAN, no live connection (or `old`, a closing one): a SYN to be tracked,
 * not answered with a cookie (a signed SYN, a policy, monitor mode).  Only
 * with a valid checksum and within its source's quota. */
enum sg_verdict sg_track_open_wan(struct sg_proxy_worker *w, struct sg_pkt *p,
                                  const struct sg_flow_ref *fr, struct sg_conn *old);

/* A segment of a tracked connection, sent by the host on `port`'s side;
 * out takes a challenge ACK. */
enum sg_verdict sg_track_segment(struct sg_proxy_worker *w, struct sg_conn *c,
                                 struct sg_pkt *p, enum sg_port port, struct sg_out *out);

#endif
