/* Privileges after set-up (see privs.h). */
#include "daemon/privs.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

/* What undoing the set-up needs, measured (tests/e2e/privs.sh): the
 * ethtool features and channels, the ports' IPv6 sysctl and the netlink
 * half of taking libxdp's program off need CAP_NET_ADMIN; libxdp finding
 * its program again (BPF_PROG_GET_FD_BY_ID) needs CAP_SYS_ADMIN, for which
 * CAP_BPF does not do.  Sockets already open need nothing: CAP_NET_RAW and
 * CAP_IPC_LOCK are checked when a packet socket or a umem is made, not
 * when it is used. */
static const struct {
	unsigned need;
	cap_value_t cap;
} keep[] = {
	{ SG_PRIVS_NIC, CAP_NET_ADMIN },
	{ SG_PRIVS_XDP, CAP_NET_ADMIN },
	{ SG_PRIVS_XDP, CAP_SYS_ADMIN },
};
#define NKEEP (sizeof(keep) / sizeof(keep[0]))

static bool kept(unsigned need, cap_value_t c)
{
	for (size_t i = 0; i < NKEEP; i++)
		if ((keep[i].need & need) && keep[i].cap == c)
			return true;
	return false;
}

/* Permitted (and, for the teardown, effective) = what we keep and have. */
static int set_kept(unsigned need, cap_t now, bool effective)
{
	cap_t want = cap_init();
	int rc = 0;

	if (!want)
		return -errno;
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (!kept(need, c) || cap_get_flag(now, c, CAP_PERMITTED, &v) != 0 || v != CAP_SET)
			continue;
		cap_set_flag(want, CAP_PERMITTED, 1, &c, CAP_SET);
		if (effective)
			cap_set_flag(want, CAP_EFFECTIVE, 1, &c, CAP_SET);
	}
	if (cap_set_proc(want) != 0)
		rc = -errno;
	cap_free(want);
	return rc;
}

int sg_privs_drop(unsigned need, char *err, size_t errlen)
{
	cap_t now;
	int rc;

	/* Nothing we could exec (we exec nothing) gains privileges. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		rc = -errno;
		snprintf(err, errlen, "no_new_privs: %s", strerror(-rc));
		return rc;
	}
	if (cap_reset_ambient() != 0 && errno != EINVAL) {
		rc = -errno;
		snprintf(err, errlen, "clearing ambient capabilities: %s", strerror(-rc));
		return rc;
	}
	/* The bounding set needs CAP_SETPCAP: while we still have it. */
	now = cap_get_proc();
	if (!now) {
		rc = -errno;
		snprintf(err, errlen, "reading capabilities: %s", strerror(-rc));
		return rc;
	}
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		if (kept(need, c) || !CAP_IS_SUPPORTED(c) || cap_get_bound(c) != 1)
			continue;
		/* EPERM: not root, only file capabilities and no CAP_SETPCAP;
		 * no_new_privs still keeps what is gone from coming back. */
		if (cap_drop_bound(c) != 0 && errno != EPERM) {
			rc = -errno;
			snprintf(err, errlen, "dropping capability %d from the bounding set: %s",
			         (int)c, strerror(-rc));
			cap_free(now);
			return rc;
		}
	}
	rc = set_kept(need, now, false);
	cap_free(now);
	if (rc)
		snprintf(err, errlen, "dropping capabilities: %s", strerror(-rc));
	return rc;
}

int sg_privs_drop_thread(void)
{
	cap_t none = cap_init();
	int rc = 0;

	if (!none)
		return -errno;
	if (cap_set_proc(none) != 0)
		rc = -errno;
	cap_free(none);
	return rc;
}

int sg_privs_raise(void)
{
	cap_t now = cap_get_proc();
	int rc;

	if (!now)
		return -errno;
	/* Only what sg_privs_drop left permitted can come back. */
	rc = set_kept(SG_PRIVS_NIC | SG_PRIVS_XDP, now, true);
	cap_free(now);
	return rc;
}
