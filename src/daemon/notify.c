/* sd_notify for the daemon, and the watchdog that vouches for the
 * workers (see notify.h). */
#include "daemon/notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "daemon/clock.h"
#include "daemon/log.h"

/* A STATUS= line: one line, whatever the caller's text holds. */
static void status_text(char *buf, size_t len, const char *fmt, va_list ap)
{
	vsnprintf(buf, len, fmt, ap);
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

void sg_notify_ready(const char *fmt, ...)
{
	char status[256];
	va_list ap;

	va_start(ap, fmt);
	status_text(status, sizeof(status), fmt, ap);
	va_end(ap);
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void sg_notify_status(const char *fmt, ...)
{
	char status[256];
	va_list ap;

	va_start(ap, fmt);
	status_text(status, sizeof(status), fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", status);
}

void sg_notify_reloading(void)
{
	/* MONOTONIC_USEC: systemd 253 and later want it with RELOADING=1 to
	 * tell this reload from an older one; older ones ignore it. */
	sd_notifyf(0, "RELOADING=1\nSTATUS=reloading the configuration\nMONOTONIC_USEC=%llu",
	           (unsigned long long)(sg_clock_mono_ns() / 1000u));
}

void sg_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping: restoring the ports");
}

void sg_watchdog_init(struct sg_watchdog *wd)
{
	uint64_t usec = 0;

	*wd = (struct sg_watchdog){ .stalled = -1 };
	/* Checks every second even without a watchdog: a stuck worker is
	 * worth a log line either way. */
	wd->interval_ns = 1000000000ull;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		if (usec * 1000u / 2 < wd->interval_ns)
			wd->interval_ns = usec * 1000u / 2;
		wd->ping = true;
	}
}

int sg_watchdog_check(struct sg_watchdog *wd, const struct sg_workers *ws, uint64_t now_ns)
{
	unsigned n = sg_workers_count(ws);
	int stuck = -1;

	if (wd->primed && now_ns < wd->next_ns)
		return -1;
	wd->next_ns = now_ns + wd->interval_ns;
	for (unsigned i = 0; i < n && i < SG_MAX_WORKERS; i++) {
		struct sg_worker_stats st;

		sg_workers_stats(ws, i, &st);
		if (wd->primed && st.c[SG_WORKER_STAT_LOOPS] == wd->loops[i] && stuck < 0)
			stuck = (int)i;
		wd->loops[i] = st.c[SG_WORKER_STAT_LOOPS];
	}
	if (!wd->primed) {
		/* Nothing to compare with yet: the workers just started. */
		wd->primed = true;
		if (wd->ping)
			sd_notify(0, "WATCHDOG=1");
		return -1;
	}
	if (stuck >= 0) {
		if (wd->stalled != stuck) {
			sg_log(LOG_ERR, "worker %d made no progress in %llu ms: %s", stuck,
			       (unsigned long long)(wd->interval_ns / 1000000u),
			       wd->ping ? "not feeding the watchdog, systemd will restart synguard"
			                : "it may be stuck");
			sg_notify_status("worker %d stuck", stuck);
		}
		wd->stalled = stuck;
		return stuck;
	}
	if (wd->stalled >= 0) {
		sg_log(LOG_NOTICE, "worker %d moves again", wd->stalled);
		sg_notify_status("running: %u worker%s", n, n == 1 ? "" : "s");
		wd->stalled = -1;
	}
	if (wd->ping)
		sd_notify(0, "WATCHDOG=1");
	return -1;
}
