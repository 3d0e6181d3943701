/* The Prometheus text exposition (format 0.0.4) of the daemon's counters:
 * what a scrape of /metrics returns (metrics.c serves it).  Rendered from
 * a snapshot of each worker's counters, which the control thread copies
 * from the workers' own memory (counters.c: sg_counters_per_worker); the
 * workers never lock or wait for it.
 *
 * Families and their labels come from one table in metrics_render.c that
 * maps each counter set's names (the X-macro lists of stats.h,
 * ct_config.h, halfopen.h, io.h, worker.h and parse.c's reasons) to a
 * family, a label and the part of the name that is the label's value;
 * docs/synguard.8 (METRICS) lists them. */
#ifndef SG_DAEMON_METRICS_RENDER_H
#define SG_DAEMON_METRICS_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/conntrack.h"
#include "core/halfopen.h"
#include "core/stats.h"
#include "daemon/worker.h"
#include "io/io.h"
#include "sg_limits.h"

/* One worker's counters, copied: its queue's I/O on both ports, its own,
 * and the proxy's (when there is a proxy). */
struct sg_metrics_worker {
	struct sg_worker_stats ws;
	struct sg_io_stats io[SG_IO_PORTS];
	struct sg_stats ps;
	struct sg_ct_stats cs;
	uint64_t halfopen[SG_HALFOPEN_STAT__COUNT];
	bool cookies_only;                  /* the SYN cache stepped aside */
};

struct sg_metrics_snap {
	bool proxy;                         /* false: bridge only, no proxy families */
	uint64_t ct_entries, ct_capacity;   /* the connection table */
	uint64_t syncache_entries;
	uint64_t learned_servers;           /* learn table records in use */
	unsigned nworkers;
	struct sg_metrics_worker w[SG_MAX_WORKERS];
};

/* The exposition of s, with build info naming `version`: a malloc'd,
 * NUL-terminated text of *len bytes, or NULL (out of memory). */
char *sg_metrics_render(const struct sg_metrics_snap *s, const char *version, size_t *len);

#endif
