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

/* Opens (creating, 0600) and locks path for as long as *fd stays open:
 * the lock goes with the process, so a daemon that dies frees it.  0;
 * -EBUSY when a live process holds it; another negative errno otherwise.
 * flags are added to open's (e.g. O_APPEND). */
int sg_rundir_lock(const char *path, int flags, int *fd);

/* Removes path, then lets go of the lock: nobody can find it unlocked and
 * take it for a dead daemon's. */
void sg_rundir_unlock(const char *path, int fd);

#endif
