/* The proxy core: decides each frame's fate.  I/O-free, clock injected.
 *
 * Contract with the daemon (src/daemon/worker.c), the benchmark and the
 * tests.  Worker i calls, for every received frame on either port:
 *
 *   verdict = sg_proxy_process(w, port, frame, len, now_ns, &out);
 *
 * - SG_VERDICT_FORWARD: send frame[0..len) (possibly rewritten in place,
 *   same length) out of the OTHER port;
 * - SG_VERDICT_DROP / SG_VERDICT_CONSUME: do not forward it (consume means
 *   the core used it, e.g. a SYN answered with a cookie; drop means it was
 *   refused and a counter says why);
 * - in every case, also send out.f[0..out.n) on their ports.
 *
 * The caller owns the buffers of `out` (e.g. TX ring slots): before each
 * call it sets out.n = 0 and points out.f[i].buf at out.cap >= SG_OUT_MAX
 * buffers of at least SG_OUT_FRAME_MAX bytes each.  The core fills them
 * and sets len and port.
 *
 * After each batch of frames, and at least every SG_PROXY_TICK_NS, each
 * worker calls sg_proxy_tick() with the same clock: it runs the worker's
 * timers (SYN retransmits to servers, expiry) and marks the worker
 * quiescent for the connection table (it must hold no frame of the batch
 * in the core then).  It may emit frames too; when it returns nonzero,
 * `out` filled up and it should be called again after sending them.
 * now_ns is CLOCK_MONOTONIC in nanoseconds, read once per batch.
 */
#ifndef SG_CORE_PROXY_H
#define SG_CORE_PROXY_H

#include <stdint.h>

#include "core/conntrack.h"
#include "core/cookie.h"
#include "core/stats.h"

enum sg_port {
	SG_PORT_LAN = 0,   /* towards the protected servers */
	SG_PORT_WAN = 1,   /* towards the clients */
	SG_PORT_COUNT
};

enum sg_verdict {
	SG_VERDICT_FORWARD = 0,
	SG_VERDICT_DROP,
	SG_VERDICT_CONSUME,
};

#define SG_OUT_MAX        4     /* frames one call can emit */
#define SG_OUT_FRAME_MAX  256   /* an emitted frame never exceeds this */
#define SG_PROXY_TICK_NS  (10 * 1000 * 1000ull)

/* SYNs to a server: the first, then re-sends after 1, 2, 4 and 8 s; the
 * client gets a RST when the server has not answered 16 s after the last. */
#define SG_PROXY_SYN_TRIES 5

struct sg_out_frame {
	uint8_t *buf;
	uint16_t len;
	uint8_t  port;            /* enum sg_port */
};

struct sg_out {
	unsigned n;
	unsigned cap;
	struct sg_out_frame f[SG_OUT_MAX];
};

/* Empties out and points its slots at consecutive SG_OUT_FRAME_MAX-byte
 * buffers starting at bufs, as many as nbufs gives (at most SG_OUT_MAX). */
void sg_out_init(struct sg_out *out, uint8_t *bufs, unsigned nbufs);

enum sg_policy {
	SG_POLICY_DROP = 0,
	SG_POLICY_FORWARD,
};

struct sg_proxy_config {
	struct sg_ct_config ct;
	uint16_t synack_mss4;        /* MSS synguard offers IPv4 clients */
	uint16_t synack_mss6;        /* ... and IPv6 clients */
	uint8_t  synack_wscale;      /* WS offered to clients that send WS, 0..14 */
	uint8_t  bad_frame_policy;   /* enum sg_policy, malformed frames */
	uint8_t  unknown_policy;     /* enum sg_policy, WAN segments of no
	                                known connection (e.g. after a restart) */
	uint16_t uplink_mss_clamp;   /* 0: off; else clamp MSS of LAN-opened SYNs */
	uint16_t rst_slack;          /* bytes an RST's SEQ may differ from the
	                                expected one (RFC 5961 §3 spirit) */
	uint32_t cookie_period_s;    /* secret rotation period; cookies live
	                                one to two periods */
	struct sg_cookie_config cookie;
	const uint8_t *shared_key;   /* NULL: random keys; else 32 bytes shared
	                                by a cluster (then now_ns must be a clock
	                                the boxes share, see docs/cookies.md) */
};

struct sg_proxy;            /* shared tables: one per process */
struct sg_proxy_worker;     /* per-worker state and counters */

void sg_proxy_config_default(struct sg_proxy_config *c);
/* NULL if valid, else a message naming the bad field and its range. */
const char *sg_proxy_config_check(const struct sg_proxy_config *c, unsigned nworkers);

int  sg_proxy_create(const struct sg_proxy_config *c, unsigned nworkers, struct sg_proxy **out);
void sg_proxy_destroy(struct sg_proxy *p);
struct sg_proxy_worker *sg_proxy_worker(struct sg_proxy *p, unsigned i);

enum sg_verdict sg_proxy_process(struct sg_proxy_worker *w, enum sg_port port,
                                 uint8_t *frame, uint32_t len, uint64_t now_ns,
                                 struct sg_out *out);

/* The same for a burst of frames received on one port: parses them all,
 * prefetches their connection entries, then decides each in order, so the
 * memory latency of one frame overlaps the work on the others.  outs[i]
 * is frame i's `out`, prepared as for sg_proxy_process. */
#define SG_PROXY_BURST_MAX 64
void sg_proxy_process_burst(struct sg_proxy_worker *w, enum sg_port port,
                            uint8_t *const frames[], const uint32_t lens[], unsigned n,
                            uint64_t now_ns, enum sg_verdict verdicts[], struct sg_out outs[]);

int sg_proxy_tick(struct sg_proxy_worker *w, uint64_t now_ns, struct sg_out *out);

/* A worker that stops polling for a while (or for good) says so, or
 * connection-table memory freed by the others is never reused. */
void sg_proxy_worker_offline(struct sg_proxy_worker *w);

const struct sg_stats *sg_proxy_stats(const struct sg_proxy_worker *w);
const struct sg_ct_stats *sg_proxy_ct_stats(const struct sg_proxy_worker *w);
struct sg_ct *sg_proxy_table(struct sg_proxy *p);

/* The cookie clock is now_ns + offset.  With a shared key file, the daemon
 * sets offset = CLOCK_REALTIME - CLOCK_MONOTONIC now and then, so boxes
 * agree on cookie epochs while the core still gets one monotonic clock. */
void sg_proxy_set_cookie_clock(struct sg_proxy *p, int64_t offset_ns);

#endif
