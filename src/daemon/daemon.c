/* What SIGHUP and the control socket share to change a running proxy
 * (see daemon.h). */
#include "daemon/daemon.h"

#include <errno.h>
#include <time.h>

/* The core takes a new configuration once every worker has left the one
 * before the last reload: a tick each, ~10 ms; a second is plenty. */
int sg_daemon_reconfigure(struct sg_daemon *d, const struct sg_proxy_config *pc,
                          struct sg_cfg_fault *why)
{
	int rc = -EAGAIN;

	if (!d->proxy)
		return 0;     /* bridge only: no proxy to configure */
	for (int tries = 0; tries < 100 && rc == -EAGAIN; tries++) {
		rc = sg_proxy_reconfigure(d->proxy, pc, why);
		if (rc == -EAGAIN)
			nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	return rc;
}
