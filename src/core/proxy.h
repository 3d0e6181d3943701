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
 * call it prepares out with sg_out_init (verdict.h), lending it up to
 * SG_OUT_MAX buffers of SG_OUT_FRAME_MAX bytes.  The core fills them and
 * sets len and port.
 *
 * After each batch of frames, and at least every SG_PROXY_TICK_NS, each
 * worker calls sg_proxy_tick() with the same clock: it runs the worker's
 * timers (SYN retransmits to servers, expiry) and marks the worker
 * quiescent for the connection table (it must hold no frame of the batch
 * in the core then).  It may emit frames too; when it returns nonzero,
 * `out` filled up and it should be called again after sending them.
 * now_ns is CLOCK_MONOTONIC in nanoseconds, read once per batch.
 *
 * The core does no I/O: it reads no clock (now_ns is given), no entropy
 * (config.h's seed is given) and no file (a shared cookie key is given).
 * Inside, the work is split along a connection's life: handshake.c (SYN
 * to established), splice.c (established), track.c (LAN-opened), on the
 * record and transitions of conn.h over the table of conntrack.h.
 */
#ifndef SG_CORE_PROXY_H
#define SG_CORE_PROXY_H

#include <stdint.h>

#include "core/config.h"
#include "core/conntrack.h"
#include "core/stats.h"
#include "core/verdict.h"

#define SG_PROXY_TICK_NS  (10 * 1000 * 1000ull)

struct sg_proxy;            /* shared tables: one per process */
struct sg_proxy_worker;     /* per-worker state and counters */
struct sg_halfopen;
struct sg_learn;

/* c->seed is required (config.h); -EINVAL when it is missing or c fails
 * sg_proxy_config_check. */
int  sg_proxy_create(const struct sg_proxy_config *c, unsigned nworkers, struct sg_proxy **out);

/* A reload while the workers run: applies every option of c but those
 * that size memory or key tables (SG_CFG_RESTART names the first such
 * option that differs; nothing is applied then).  Workers pick the new
 * configuration up at their next call; -EAGAIN while one still uses the
 * configuration before the previous reload (call again after a tick).
 * One thread at a time. */
int  sg_proxy_reconfigure(struct sg_proxy *p, const struct sg_proxy_config *c,
                          struct sg_cfg_fault *why);
void sg_proxy_destroy(struct sg_proxy *p);
/* Faults in the memory of the connection table and the rate limiter,
 * which sg_proxy_create maps untouched (pages.h: 0, -EOPNOTSUPP, -errno).
 * Any thread, also while the workers run: call it once they forward, off
 * their path. */
int  sg_proxy_populate(struct sg_proxy *p);
/* Replaces the learn table's pins (sg_learn_set_pins: 0, -EINVAL, -ENOSPC;
 * nothing changes on error).  Control thread, any time. */
int  sg_proxy_set_pins(struct sg_proxy *p, const struct sg_learn_pin *pins, unsigned n);
struct sg_proxy_worker *sg_proxy_worker(struct sg_proxy *p, unsigned i);

enum sg_verdict sg_proxy_process(struct sg_proxy_worker *w, enum sg_port port,
                                 uint8_t *frame, uint32_t len, uint64_t now_ns,
                                 struct sg_out *out);

/* The same for a burst of frames received on one port, decided in order
 * with the same results, but pipelined: while one frame is decided, the
 * next ones are parsed and their connection entries prefetched, so the
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
/* The SYN cache and the learn table, for their metrics (sg_halfopen_stats,
 * sg_halfopen_count, sg_halfopen_cookies_only, sg_learn_count,
 * sg_learn_pins): reads any thread may make while the workers run. */
const struct sg_halfopen *sg_proxy_halfopen(const struct sg_proxy *p);
const struct sg_learn *sg_proxy_learn(const struct sg_proxy *p);

/* The cookie clock is now_ns + offset.  With a shared key file, the daemon
 * sets offset = CLOCK_REALTIME - CLOCK_MONOTONIC now and then, so boxes
 * agree on cookie epochs while the core still gets one monotonic clock. */
void sg_proxy_set_cookie_clock(struct sg_proxy *p, int64_t offset_ns);

/* The cookie key epoch in use at now_ns (the monotonic clock the workers
 * are fed) and the epoch's length: a new epoch is a key rotation, which
 * the daemon logs.  Any thread. */
uint32_t sg_proxy_cookie_epoch(const struct sg_proxy *p, uint64_t now_ns);
uint32_t sg_proxy_cookie_period_s(const struct sg_proxy *p);

#endif
