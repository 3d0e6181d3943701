/* The handshake of a proxied connection, from the client's SYN to the
 * server's SYN-ACK: the cookie SYN-ACK (no state), the cookie ACK that
 * opens the connection and sends the server a SYN, SYN retransmits and
 * their expiry, the server's SYN-ACK (ACK to the server, window update to
 * the client) or refusal.  Private to src/core. */
#ifndef SG_CORE_HANDSHAKE_H
#define SG_CORE_HANDSHAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/conntrack.h"
#include "core/context.h"
#include "core/cookie.h"
#include "core/proxy.h"

/* WAN, no live connection: a SYN, answered with a cookie SYN-ACK that
 * offers what m (the memo of the SYN's destination, current) says the
 * server does.  In a
 * burst (w->syns set) the SYN-ACK is only prepared: its cookie's MAC is
 * made with the burst's others and the frame built by sg_hs_syn_flush;
 * the verdict (CONSUME) stands unless that build fails. */
enum sg_verdict sg_hs_syn(struct sg_proxy_worker *w, struct sg_pkt *p, const struct sg_flow *k,
                          struct sg_dst_memo *m, uint64_t now_ns, struct sg_out *out);

/* The SYNs of a burst waiting for their MACs: what sg_hs_syn decided of
 * each, its cookie's input, and where its SYN-ACK goes.  p and k point
 * into the burst's arrays, alive until the flush. */
struct sg_hs_syn_wait {
	struct sg_pkt *p;
	const struct sg_flow *k;
	struct sg_out *out;
	struct sg_tcp_opts o;            /* what is offered (offer()) */
	uint16_t mss;
	struct sg_cookie_prep prep;
};

struct sg_hs_syn_batch {
	unsigned n;
	struct sg_hs_syn_wait e[SG_PROXY_BURST_MAX];
};

/* Makes the waiting SYNs' MACs together, then their SYN-ACKs, into the
 * out each named; a SYN whose SYN-ACK cannot be built turns its verdict
 * (verdicts[i] for outs + i) to DROP, counted so.  Empties b. */
void sg_hs_syn_flush(struct sg_proxy_worker *w, struct sg_hs_syn_batch *b, struct sg_out outs[],
                     enum sg_verdict verdicts[]);

/* WAN, no live connection (or `old`, a closing one): an ACK.  A verdict
 * when it proved a cookie (CONSUME: a SYN went to the server; DROP: bad
 * checksum or no room in the table), or -1 when it is no cookie ACK.
 * Any segment a client sends after the cookie SYN-ACK proves it: its ACK,
 * data, a FIN, and a window probe (SEQ = ISN, no data), which is all a
 * Linux client sends when its ACK was lost and the window stays shut. */
int sg_hs_cookie_ack(struct sg_proxy_worker *w, struct sg_pkt *p, const struct sg_flow_ref *fr,
                     struct sg_conn *old, uint64_t now_ns, struct sg_out *out);

/* WAN, while the server has not answered (SYN_SENT). */
enum sg_verdict sg_hs_client_waits(struct sg_proxy_worker *w, struct sg_conn *c,
                                   const struct sg_pkt *p, struct sg_out *out);

/* LAN, while the server has not answered (SYN_SENT): its SYN-ACK or RST. */
enum sg_verdict sg_hs_server_answers(struct sg_proxy_worker *w, struct sg_conn *c,
                                     struct sg_pkt *p, struct sg_out *out);

/* LAN, no connection: a SYN-ACK answers a SYN synguard no longer knows
 * (its entry was evicted, or it never sent it): the server gets a RST so
 * its half-open connection goes, and nothing is picked up. */
enum sg_verdict sg_hs_orphan_synack(struct sg_proxy_worker *w, const struct sg_pkt *p,
                                    struct sg_out *out);

/* LAN, established: the server repeats its SYN-ACK (our ACK was lost). */
enum sg_verdict sg_hs_server_repeats(struct sg_proxy_worker *w, struct sg_conn *c,
                                     const struct sg_pkt *p, struct sg_out *out);

/* The timer of a worker's entries (sg_ct_expire's callback; arg is a
 * struct sg_hs_timer): SYN_SENT entries re-send their SYN with backoff,
 * then give the client a RST; others are freed. */
struct sg_hs_timer {
	struct sg_proxy_worker *w;
	struct sg_out *out;
	bool full;               /* out filled up: call again after sending */
};
enum sg_ct_expire_action sg_hs_expire(void *arg, struct sg_conn *c, uint32_t now_ms);

#endif
