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
#include "daemon/events.h"
#include "daemon/nic.h"
#include "daemon/worker.h"
#include "io/io.h"

struct sg_daemon {
	struct sg_config cfg;
	struct sg_proxy *proxy;         /* NULL when bridge only */
	struct sg_io *io;
	struct sg_workers *ws;
	struct sg_nic *nic[SG_IO_PORTS];
	struct sg_ctl *ctl;
	struct sg_snapshot snap[2];     /* snap[cur] the newest, a second apart */
	unsigned cur;
	bool shared_key;
	struct sg_csum_notice csum;
	struct sg_events events;        /* what the log's events remember */
	uint64_t started_ns;            /* running since (monotonic) */
};

#endif
