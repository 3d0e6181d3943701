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
 * Each worker calls sg_proxy_tick() at least every SG_PROXY_TICK_NS with
 * the same clock, to run its timers (SYN retransmits to servers, expiry);
 * it may emit frames too.  now_ns is CLOCK_MONOTONIC in nanoseconds (the
 * daemon reads it once per batch).
 */
#ifndef SG_CORE_PROXY_H
#define SG_CORE_PROXY_H

#include <stdint.h>

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

struct sg_proxy;            /* shared tables: one per process */
struct sg_proxy_worker;     /* per-worker state and counters */

/* Everything else (creation from a config, per-worker handles, counters,
 * secret rotation, reload) is declared by the core issue's work below. */

enum sg_verdict sg_proxy_process(struct sg_proxy_worker *w, enum sg_port port,
                                 uint8_t *frame, uint32_t len, uint64_t now_ns,
                                 struct sg_out *out);

void sg_proxy_tick(struct sg_proxy_worker *w, uint64_t now_ns, struct sg_out *out);

#endif
