/* The running daemon's state, owned by the control thread (main.c) and
 * read by the control socket's commands (ctl_cmds.c).  Workers never see
 * it: they reach the proxy and their ports through their own arguments. */
#ifndef SG_DAEMON_DAEMON_H
#define SG_DAEMON_DAEMON_H

#include <stdbool.h>

#include "core/proxy.h"
#include "daemon/config.h"
#include "daemon/counters.h"
#include "daemon/ctl.h"
#include "daemon/metrics.h"
#include "daemon/events.h"
#include "daemon/handover.h"
#include "daemon/nic.h"
#include "daemon/notify.h"
#include "daemon/worker.h"
#include "io/io.h"

struct sg_daemon {
	struct sg_config cfg;           /* as running: the file, then the control
	                                   socket's changes (ctl_pins.c, ctl_policy.c) */
	struct sg_proxy *proxy;         /* NULL when bridge only */
	struct sg_io *io;
	struct sg_workers *ws;
	struct sg_nic *nic[SG_IO_PORTS];
	struct sg_ctl *ctl;
	struct sg_metrics *metrics;     /* NULL: metrics.listen is off */
	struct sg_snapshot snap[2];     /* snap[cur] the newest, a second apart */
	unsigned cur;
	bool shared_key;
	struct sg_csum_notice csum;
	struct sg_watchdog wd;          /* fed while every worker moves */
	const char *ifname[SG_IO_PORTS];
	uint64_t started_ns;            /* monotonic, when the workers started */
	struct sg_events events;        /* what the log's events remember */
	struct sg_handover ho;          /* the table for the next start */
	const char *stop_request;       /* a command asked the daemon to stop: why */
	int stop_status;                /* the exit status of a stop the daemon decided */
};

/* Hands the core a new proxy configuration (sg_proxy_reconfigure), trying
 * again for up to a second while a worker still uses the one before the
 * last (-EAGAIN).  0 (also bridge only: no proxy), or the core's refusal
 * with *why.  The one way SIGHUP and the control socket change the proxy. */
int sg_daemon_reconfigure(struct sg_daemon *d, const struct sg_proxy_config *pc,
                          struct sg_cfg_fault *why);

#endif
