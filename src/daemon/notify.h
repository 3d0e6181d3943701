/* What the daemon tells its service manager (sd_notify(3)): READY=1 once
 * both ports forward, RELOADING=1 / READY=1 around a SIGHUP, STOPPING=1,
 * STATUS= lines, and the watchdog's WATCHDOG=1.  Without NOTIFY_SOCKET in
 * the environment (not started by systemd) every call does nothing.
 *
 * The watchdog vouches for the workers, not only for the control thread
 * that sends it: it is fed only while every worker's loop counter
 * (SG_WORKER_STAT_LOOPS) advances.  A worker loops at least every few
 * milliseconds, idle ones too (they sleep in poll() at most 5 ms), so one
 * that has not moved between two checks is stuck; the pings stop, and
 * after WatchdogSec= systemd kills and restarts synguard. */
#ifndef SG_DAEMON_NOTIFY_H
#define SG_DAEMON_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/worker.h"
#include "sg_limits.h"

/* STATUS= is at most one line of text; printf-style. */
void sg_notify_ready(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sg_notify_reloading(void);
void sg_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sg_notify_stopping(void);

struct sg_watchdog {
	uint64_t interval_ns;           /* between checks */
	bool ping;                      /* systemd wants WATCHDOG=1 */
	uint64_t next_ns;               /* the next check */
	uint64_t loops[SG_MAX_WORKERS]; /* each worker's LOOPS at the last check */
	bool primed;                    /* loops[] holds a first reading */
	int stalled;                    /* the worker last reported stuck, or -1 */
};

/* Reads WATCHDOG_USEC (sd_watchdog_enabled): checks every second, or
 * twice per watchdog period if that is shorter.  Without a watchdog the
 * checks still log a stuck worker; no WATCHDOG=1 is sent. */
void sg_watchdog_init(struct sg_watchdog *wd);

/* Called by the control thread as often as it likes: at most once per
 * interval it compares every worker's loop counter with the last
 * reading and sends WATCHDOG=1 if each has advanced.  A worker that has
 * not is logged (once per stall) and named in STATUS=.  Returns the
 * index of a stuck worker, or -1 (also between checks and without a
 * watchdog). */
int sg_watchdog_check(struct sg_watchdog *wd, const struct sg_workers *ws, uint64_t now_ns);

#endif
