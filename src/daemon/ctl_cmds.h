/* What the control socket's words mean: the table of commands synguardctl
 * sends, each answered from the running daemon's state. */
#ifndef SG_DAEMON_CTL_CMDS_H
#define SG_DAEMON_CTL_CMDS_H

#include "daemon/ctl.h"

/* An sg_ctl_handler; ctx is the struct sg_daemon. */
void sg_ctl_dispatch(void *ctx, int argc, char **argv, bool json, struct sg_reply *r);

#endif
