/* Worker threads: worker i serves queue i of both ports.
 *
 * Loop of one worker:
 *   now = CLOCK_MONOTONIC (once per batch)
 *   for port in lan, wan:
 *     rx burst -> bridge every frame (forward to the other port), or hand
 *                 the whole burst to sg_proxy_process_burst -> a verdict
 *                 per frame (forward / drop / consume) + emitted frames
 *   sg_proxy_tick after each batch and at least every SG_PROXY_TICK_NS
 *   tx burst per port (forwarded and emitted frames, batched)
 *   sleep in poll() (at most 5 ms) when idle; sg_proxy_worker_offline at exit
 *
 * sg_workers_start() returns once every worker runs (past its
 * thread_init); sg_workers_stop()
 * raises the stop flag, joins, frees.  Counters are per worker, written by
 * that worker only and read (without locks) by the control thread.
 *
 * The daemon's sequence (tests/e2e/sg-bridge.c does exactly this):
 *   sg_nic_prepare(lan), sg_nic_prepare(wan)   (not for pcap/mem)
 *   sg_io_open(&io, {lan, wan}, &opts, &err)   print err.msg on failure
 *   sg_workers_start(&ws, &cfg, msg, len)      signals stay with the caller
 *   ... wait for a signal, or sg_workers_finished() (pcap replay done) ...
 *   sg_workers_halt(ws); read sg_workers_stats / sg_io_stats (final)
 *   sg_workers_stop(ws); sg_io_close(io); sg_nic_restore(x2)
 */
#ifndef SG_DAEMON_WORKER_H
#define SG_DAEMON_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/proxy.h"
#include "io/io.h"

/* Same signatures as sg_proxy_process_burst / sg_proxy_tick /
 * sg_proxy_worker_offline (core/proxy.h): tests put fakes in their place
 * and the worker runs the one code path it runs in production. */
typedef void (*sg_worker_burst_fn)(struct sg_proxy_worker *w, enum sg_port port,
                                   uint8_t *const frames[], const uint32_t lens[],
                                   unsigned n, uint64_t now_ns,
                                   enum sg_verdict verdicts[], struct sg_out outs[]);
typedef int (*sg_worker_tick_fn)(struct sg_proxy_worker *w, uint64_t now_ns,
                                 struct sg_out *out);
typedef void (*sg_worker_offline_fn)(struct sg_proxy_worker *w);

struct sg_worker_config {
	struct sg_io *io;            /* opened; one worker per queue */
	const int *cpus;             /* pin worker i to cpus[i % ncpus] ... */
	unsigned ncpus;              /* ... or, when 0, round-robin over the
	                                CPUs this process may run on */
	bool no_pin;                 /* do not pin at all */
	unsigned batch;              /* frames per rx burst; 0: SG_IO_DEFAULT_BATCH */
	bool bridge_only;            /* forward every frame unchanged */
	/* Proxy mode: one handle per worker, [sg_io_nqueues(io)], e.g.
	 * sg_proxy_worker(proxy, i).  With burst and tick both NULL the
	 * core's sg_proxy_process_burst / sg_proxy_tick /
	 * sg_proxy_worker_offline are used; tests may set their own (offline
	 * may stay NULL then). */
	struct sg_proxy_worker **proxy;
	sg_worker_burst_fn burst;
	sg_worker_tick_fn tick;
	sg_worker_offline_fn offline;
	/* Called first in each worker thread, before any frame (the daemon:
	 * sg_privs_drop_thread).  A negative errno from any worker makes
	 * sg_workers_start fail.  NULL: nothing. */
	int (*thread_init)(void);
};

/* The workers' own counters, named once here (as core/stats.h names the
 * core's).  What the core decides about a frame (forwarded, consumed,
 * dropped) is counted by the core alone (sg_proxy_stats); in bridge-only
 * mode, where the core is not called, the worker counts what it bridged. */
#define SG_WORKER_STATS_LIST(X)                                                \
	X(RX_LAN,     "rx_lan_frames")    /* received, per port (lan, wan) */  \
	X(RX_WAN,     "rx_wan_frames")                                         \
	X(TX_LAN,     "tx_lan_frames")    /* queued for sending, per port */   \
	X(TX_WAN,     "tx_wan_frames")                                         \
	X(TX_DROPS,   "tx_drops")         /* lost for lack of TX room */       \
	X(BRIDGED,    "bridged")          /* bridge-only: sent on unchanged */ \
	X(EMITTED,    "emitted")          /* frames the core built */          \
	X(LOOPS,      "loops")                                                 \
	X(IDLE_WAITS, "idle_waits")       /* sleeps in sg_io_wait */

enum sg_worker_stat {
#define SG_WORKER_STAT_ENUM(id, name) SG_WORKER_STAT_##id,
	SG_WORKER_STATS_LIST(SG_WORKER_STAT_ENUM)
#undef SG_WORKER_STAT_ENUM
	SG_WORKER_STAT__COUNT
};

struct sg_worker_stats {
	uint64_t c[SG_WORKER_STAT__COUNT];
};

/* Stable snake_case names, for the control socket and logs. */
const char *sg_worker_stat_name(enum sg_worker_stat s);

struct sg_workers;

/* Starts sg_io_nqueues(cfg->io) workers.  On failure returns -errno and a
 * message in errbuf ("worker 1: pthread_setaffinity_np cpu 3: EINVAL"). */
int sg_workers_start(struct sg_workers **ws, const struct sg_worker_config *cfg,
                     char *errbuf, size_t errlen);

/* Stops the workers and waits for them; counters are final afterwards
 * (read them, then sg_workers_stop).  Idempotent. */
void sg_workers_halt(struct sg_workers *ws);

/* Stops (if still running), joins and frees.  NULL is fine. */
void sg_workers_stop(struct sg_workers *ws);

unsigned sg_workers_count(const struct sg_workers *ws);

/* Counters of worker i, or of all workers summed when i == SG_WORKERS_ALL. */
#define SG_WORKERS_ALL (~0u)
void sg_workers_stats(const struct sg_workers *ws, unsigned i,
                      struct sg_worker_stats *st);

/* True once every worker has returned by itself: their input is exhausted
 * (pcap replay).  The daemon then stops as on SIGTERM. */
bool sg_workers_finished(const struct sg_workers *ws);

#endif
