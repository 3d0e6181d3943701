/* The notable events of a running daemon, one log line each (the wording
 * is in docs/synguard.8, LOGGING).  The control thread looks once a second
 * (sg_events_observe); what it sees is compared with what it saw before
 * by sg_events_step, a pure function of two samples, so each event, its
 * threshold and its rate limit are tested without a daemon.  Workers
 * never log: they count, and the events are read off their counters.
 *
 *   port state     a port's operstate goes down (warning) or up (notice)
 *   table full     the connection table refuses or evicts: at once, then
 *                  at most every 10 s with the count since (warning)
 *   key rotation   the cookie key's epoch changes (info: routine, every
 *                  cookie.period seconds)
 *   SYN flood      SYN/s reaches log.flood_syn_rate (warning); it ends
 *                  after SG_EVENTS_FLOOD_QUIET_S seconds in a row under
 *                  half of it (notice): the gap is the hysteresis
 *   drop samples   each drop reason that counted: at most a line per
 *                  reason per 10 s, with the count since its last (debug)
 */
#ifndef SG_DAEMON_EVENTS_H
#define SG_DAEMON_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/proxy.h"
#include "daemon/ctl.h"
#include "io/io.h"

#define SG_EVENTS_FLOOD_RATE_DEFAULT 10000u
#define SG_EVENTS_FLOOD_RATE_MAX     100000000u
#define SG_EVENTS_FLOOD_QUIET_S      5
#define SG_EVENTS_EVERY_NS           (10 * 1000000000ull)

/* Lines go here: level is syslog's, line has no newline. */
typedef void (*sg_events_emit_fn)(void *ctx, int level, const char *line);

enum sg_link { SG_LINK_UNKNOWN = 0, SG_LINK_UP, SG_LINK_DOWN };

/* What the control thread saw at one moment. */
struct sg_events_sample {
	const struct sg_snapshot *snap;        /* the counters, stamped at_ns */
	enum sg_link link[SG_IO_PORTS];        /* UNKNOWN: could not tell */
	char operstate[SG_IO_PORTS][16];       /* the kernel's word, for the line */
	bool has_cookie;                       /* a proxy: the next two are set */
	uint32_t cookie_epoch;
	uint32_t cookie_period_s;
	unsigned flood_syn_rate;               /* the threshold now (reloadable) */
};

/* What the events remember between samples.  sg_events_init it. */
struct sg_events {
	char ifname[SG_IO_PORTS][IF_NAMESIZE];
	bool primed;                           /* a first sample was seen */
	enum sg_link link[SG_IO_PORTS];
	bool epoch_seen;
	uint32_t epoch;
	/* SYN flood */
	bool flood;
	unsigned quiet_s;                      /* seconds in a row under half */
	uint64_t flood_since_ns, flood_last_ns, flood_peak, flood_synack0;
	/* table full */
	uint64_t full_logged_ns, full_since_ns, full_refused, full_evicted;
	/* drop samples, by the counter's index in the snapshot */
	uint64_t drop_seen[SG_CTL_MAX_COUNTERS];
	uint64_t drop_since_ns[SG_CTL_MAX_COUNTERS];
	uint64_t drop_logged_ns[SG_CTL_MAX_COUNTERS];
};

void sg_events_init(struct sg_events *e, const char *const ifname[SG_IO_PORTS]);

/* Compares cur with what e remembers (prev: the snapshot before cur's,
 * for rates; NULL for the first sample, which only primes e, and says
 * so only of a port that is down) and emits a line per event. */
void sg_events_step(struct sg_events *e, const struct sg_snapshot *prev,
                    const struct sg_events_sample *cur, sg_events_emit_fn emit, void *ctx);

/* A port's state from /sys/class/net/IF/operstate ("up" and "unknown",
 * which drivers without a carrier notion report, are up). */
enum sg_link sg_events_read_link(const char *ifname, char *operstate, size_t cap);

/* The control thread's once a second: reads the ports and the cookie
 * epoch (proxy may be NULL), then sg_events_step into the log. */
void sg_events_observe(struct sg_events *e, struct sg_proxy *proxy, unsigned flood_syn_rate,
                       const struct sg_snapshot *prev, const struct sg_snapshot *cur);

/* The start and the stop, one line each (into the log). */
struct sg_events_start {
	const char *version;
	const char *ifname[SG_IO_PORTS];
	const char *io;                        /* the backend's name */
	unsigned workers;
	bool bridge_only;
	uint32_t table_capacity;               /* 0 when bridge only */
};
void sg_events_started(const struct sg_events_start *s, sg_events_emit_fn emit, void *ctx);
/* reason: why it stops ("SIGTERM", "input exhausted"); last: the final
 * counters (NULL: none). */
void sg_events_stopped(const char *reason, uint64_t uptime_ns, const struct sg_snapshot *last,
                       sg_events_emit_fn emit, void *ctx);

/* An emit function that writes to the daemon's log (log.h). */
void sg_events_to_log(void *ctx, int level, const char *line);

#endif
