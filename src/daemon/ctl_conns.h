/* synguardctl conns: the tracked connections, filtered, bounded. */
#ifndef SG_DAEMON_CTL_CONNS_H
#define SG_DAEMON_CTL_CONNS_H

#include <stdbool.h>

#include "daemon/ctl.h"

struct sg_daemon;

#define SG_CONNS_DEFAULT_LIMIT 1000u
#define SG_CONNS_MAX_LIMIT     100000u

/* The control command: conns [FILTER...] (synguardctl(8)). */
void sg_ctl_conns(struct sg_daemon *d, int argc, char **argv, bool json, struct sg_reply *r);

#endif
