/* Connections opened from LAN (and connections picked up mid-stream from
 * LAN, e.g. after a restart): tracked so their WAN replies are not taken
 * for attacks, never proxied or rewritten, but for an optional MSS clamp
 * of their SYN and SYN-ACK.  Private to src/core. */
#ifndef SG_CORE_TRACK_H
#define SG_CORE_TRACK_H

#include "core/context.h"

/* LAN, no live connection (or `old`, a closing one, when p is a SYN):
 * starts tracking p's connection, or lets a stray RST through. */
enum sg_verdict sg_track_open(struct sg_proxy_worker *w, struct sg_pkt *p,
                              const struct sg_flow_ref *fr, struct sg_conn *old);

/* A segment of a tracked connection, sent by the host on `port`'s side;
 * out takes a challenge ACK. */
enum sg_verdict sg_track_segment(struct sg_proxy_worker *w, struct sg_conn *c,
                                 struct sg_pkt *p, enum sg_port port, struct sg_out *out);

#endif
