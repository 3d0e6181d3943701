/* Frames synguard makes itself, into the output slots the caller lent
 * (verdict.h): a slot, and the addressing of a frame towards either end of
 * a known connection.  Private to src/core. */
#ifndef SG_CORE_EMIT_H
#define SG_CORE_EMIT_H

#include <stdbool.h>

#include "core/conn.h"
#include "core/context.h"
#include "net/build.h"

/* The next free output slot, or NULL (counted) when the caller gave none. */
struct sg_out_frame *sg_emit_slot(struct sg_proxy_worker *w, struct sg_out *out);

/* Builds f into the next slot, to leave on port; false when there was no
 * slot (counted) or the frame did not fit. */
bool sg_emit(struct sg_proxy_worker *w, struct sg_out *out, enum sg_port port,
             const struct sg_tcp_frame *f);

/* The SYN-ACK answering syn (sg_build_synack), to WAN; false as sg_emit. */
bool sg_emit_synack(struct sg_proxy_worker *w, struct sg_out *out, const struct sg_pkt *syn,
                    uint32_t seq, uint16_t win, const struct sg_tcp_opts *opt);

/* The L2/L3/L4 identity of a segment of connection c travelling to the
 * server, or to the client; the rest of f is zero. */
void sg_emit_to_server(struct sg_tcp_frame *f, const struct sg_conn *c);
void sg_emit_to_client(struct sg_tcp_frame *f, const struct sg_conn *c);

/* The ACK the receiver of RST p would send p's sender, `from`: a challenge
 * ACK (RFC 5961 §3.2) with the receiver's next SEQ, the sequence the
 * sender must reset with, and the receiver's window.  Counted.  Nothing
 * when the record does not know those numbers yet. */
void sg_emit_challenge_ack(struct sg_proxy_worker *w, struct sg_out *out, const struct sg_conn *c,
                           const struct sg_pkt *p, enum sg_dir from);

#endif
