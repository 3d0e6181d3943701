/* Inside the control socket's command table (ctl_cmds.c): the signature
 * every command has, and the commands that live in files of their own. */
#ifndef SG_DAEMON_CTL_CMD_H
#define SG_DAEMON_CTL_CMD_H

#include <stdbool.h>

#include "daemon/ctl.h"
#include "daemon/daemon.h"

typedef void sg_ctl_cmd_fn(struct sg_daemon *d, int argc, char **argv, bool json,
                           struct sg_reply *r);

sg_ctl_cmd_fn sg_ctl_status;   /* ctl_status.c */
sg_ctl_cmd_fn sg_ctl_pins;     /* ctl_pins.c */
sg_ctl_cmd_fn sg_ctl_policy;   /* ctl_policy.c */

/* What a change over the socket says of itself, in the reply and the man
 * page alike. */
#define SG_CTL_NOT_SAVED "not saved to the configuration file: a reload (SIGHUP) or a " \
                         "restart goes back to the file"

#endif
