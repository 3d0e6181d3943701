/* An established proxied connection: each segment rewritten in place so
 * that neither end notices the proxy (SEQ/ACK, SACK edges, timestamps,
 * windows; SACK and timestamps stripped where the server lacks them),
 * under the FIN and RST rules; and ICMP errors that quote such a segment.
 * Private to src/core. */
#ifndef SG_CORE_SPLICE_H
#define SG_CORE_SPLICE_H

#include "core/context.h"

/* Client -> server, and server -> client; out takes a challenge ACK. */
enum sg_verdict sg_splice_c2s(struct sg_proxy_worker *w, struct sg_conn *c, struct sg_pkt *p,
                              struct sg_out *out);
enum sg_verdict sg_splice_s2c(struct sg_proxy_worker *w, struct sg_conn *c, struct sg_pkt *p,
                              struct sg_out *out);

/* An ICMP or ICMPv6 error received on port (always forwarded): when it
 * travels to the client and quotes a server->client segment of a proxied
 * connection, the quoted SEQ is put in the client's space, with the quoted
 * TCP checksum and the ICMP checksum kept valid. */
void sg_splice_icmp(struct sg_proxy_worker *w, struct sg_pkt *p, enum sg_port port);

#endif
