/* The counters of every layer (workers, I/O, proxy, conntrack), summed
 * over the workers into one snapshot for the control socket, and the
 * notice that bad TCP checksums call for.  main.c takes a snapshot a
 * second and at the end. */
#ifndef SG_DAEMON_COUNTERS_H
#define SG_DAEMON_COUNTERS_H

#include <stdint.h>

#include "core/proxy.h"
#include "daemon/ctl.h"
#include "daemon/metrics_render.h"
#include "daemon/worker.h"
#include "io/io.h"

/* Every counter set into *s, stamped with the monotonic clock; proxy may
 * be NULL (no proxy counters then).  A set that outgrows the snapshot is
 * logged once. */
void sg_counters_snapshot(struct sg_workers *workers, struct sg_io *io, struct sg_proxy *proxy,
                          struct sg_snapshot *s);

/* Every worker's counters apart, for /metrics (metrics_render.h): plain
 * reads of memory each worker alone writes, so a worker never waits for
 * it.  proxy may be NULL. */
void sg_counters_per_worker(struct sg_workers *workers, struct sg_io *io, struct sg_proxy *proxy,
                            struct sg_metrics_snap *s);

/* What the bad-checksum notice remembers between snapshots; zeroed at
 * the start. */
struct sg_csum_notice {
	uint64_t logged_ns;        /* last bad-checksum notice; 0: none yet */
	uint64_t seen;             /* drop_bad_checksum at the last snapshot looked at */
	uint64_t unlogged;         /* drops since that notice */
};

/* Logs the bad checksums dropped since the last snapshot looked at: at
 * once, then at most every 10 s. */
void sg_counters_notice_csum(struct sg_csum_notice *n, const struct sg_snapshot *now);

#endif
