/* /run/synguard: where the daemon keeps what must outlive a crash but not
 * a reboot (the interfaces' original settings, nic.c) and its control
 * socket (ctl.c).  Files there are trusted when read back, so the
 * directory must be ours alone. */
#ifndef SG_DAEMON_RUNDIR_H
#define SG_DAEMON_RUNDIR_H

#include <stddef.h>

#define SG_RUN_DIR "/run/synguard"

/* Creates dir (mode 0700) if it is missing, then refuses one that is not a
 * real directory, not owned by the user we run as (root), or writable by
 * group or others: 0, or a negative errno with the fix in err. */
int sg_rundir_prepare(const char *dir, char *err, size_t errlen);

#endif
