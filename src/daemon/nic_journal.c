/* The crash journal of an interface's original settings: its file, its
 * lock and its lines (the format is in nic_journal.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon/nic_journal.h"
#include "daemon/rundir.h"

#define JOURNAL_MAGIC    "synguard-nic 1"
#define JOURNAL_MAX      4096                   /* bytes: a few dozen lines */

#define jlog(x, level, ...) sg_io_logf((x)->log, (x)->log_ctx, level, __VA_ARGS__)


void sg_nic_journal_init(struct sg_nic_journal *j, const char *ifname,
                         sg_io_log_fn log, void *log_ctx)
{
	memset(j, 0, sizeof(*j));
	snprintf(j->ifname, sizeof(j->ifname), "%s", ifname);
	j->fd = -1;
	j->log = log;
	j->log_ctx = log_ctx;
}

int sg_nic_journal_fail(const struct sg_nic_journal *j, char *errbuf, size_t errlen,
                        const char *what, int e)
{
	snprintf(errbuf, errlen, "%s: %s %s: %s; the interface is left as it is", j->ifname,
	         what, j->path, sg_errno_name(e));
	return -e;
}

int sg_nic_journal_add(struct sg_nic_journal *j, const char *fmt, ...)
{
	char line[160];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(line) - 1) {
		j->err = EOVERFLOW;
		return -EOVERFLOW;
	}
	line[len++] = '\n';
	errno = 0;
	/* No fsync: what a line records is the kernel's state, which a reboot
	 * resets, and a written line survives the death of its writer.  An
	 * fsync per line was 80% of preparing a port (32 fsyncs, 41 ms on
	 * ext4; a restart's forwarding gap waits for them). */
	if (write(j->fd, line, (size_t)len) != len) {
		j->err = errno ? errno : EIO;   /* a short write sets none */
		return -j->err;
	}
	return 0;
}

int sg_nic_journal_open(struct sg_nic_journal *j, const char *dir, char *errbuf,
                        size_t errlen)
{
	struct stat ns;
	int r = sg_rundir_prepare(dir, errbuf, errlen);

	if (r < 0)
		return r;
	/* Interface names are per network namespace. */
	if (stat("/proc/self/ns/net", &ns) != 0)
		ns.st_ino = 0;
	snprintf(j->path, sizeof(j->path), "%s/nic-%lu-%s", dir,
	         (unsigned long)ns.st_ino, j->ifname);
	r = sg_rundir_lock(j->path, O_APPEND, &j->fd);
	if (r == -EBUSY) {
		snprintf(errbuf, errlen, "%s: EBUSY: another synguard is using this "
		         "interface (it holds %s)", j->ifname, j->path);
		return r;
	}
	if (r < 0)
		return sg_nic_journal_fail(j, errbuf, errlen, "cannot open and lock", -r);
	return 0;
}

static int name_index(const char *const names[], unsigned nnames, const char *name)
{
	for (unsigned k = 0; k < nnames; k++)
		if (strcmp(names[k], name) == 0)
			return (int)k;
	return -1;
}

bool sg_nic_journal_read(struct sg_nic_journal *j, int ifindex, const char *mac,
                         const char *const names[], const int idx[], unsigned nnames,
                         struct sg_nic_undo *u)
{
	char buf[JOURNAL_MAX + 1], who[128];
	ssize_t len = pread(j->fd, buf, JOURNAL_MAX, 0);
	char *line, *save = NULL;

	memset(u, 0, sizeof(*u));
	u->disable_ipv6 = -1;
	if (len <= 0)
		return false;
	buf[len] = 0;
	snprintf(who, sizeof(who), JOURNAL_MAGIC " %s %d %s", j->ifname, ifindex, mac);
	line = strtok_r(buf, "\n", &save);
	if (!line || strcmp(line, who) != 0) {
		jlog(j, LOG_WARNING, "%s: %s is about another interface (\"%s\"); not restoring from it",
		     j->ifname, j->path, line ? line : "");
		return false;
	}
	/* A line the crash cut short has no newline: strtok_r still returns
	 * it, and sscanf refuses what does not parse whole. */
	while ((line = strtok_r(NULL, "\n", &save))) {
		char name[ETH_GSTRING_LEN + 1];
		struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
		int k, v;

		/* Only the sysctl we change, with a value it may have. */
		if (sscanf(line, "sysctl disable_ipv6 %d", &v) == 1 && (v == 0 || v == 1)) {
			u->disable_ipv6 = v;
		} else if (strcmp(line, "xdp none") == 0) {
			u->xdp_none = true;
		} else if (sscanf(line, "offload %32s", name) == 1 &&
		           (k = name_index(names, nnames, name)) >= 0 && idx[k] >= 0 &&
		           u->nfeat < SG_NIC_MAX_OFFLOADS) {
			u->feat[u->nfeat++] = idx[k];
		} else if (sscanf(line, "channels %u %u %u %u", &ch.rx_count, &ch.tx_count,
		                  &ch.other_count, &ch.combined_count) == 4) {
			u->old_ch = ch;
			u->channels = true;
		} else {
			jlog(j, LOG_WARNING, "%s: %s: ignoring \"%s\"", j->ifname, j->path, line);
		}
	}
	return true;
}

int sg_nic_journal_restart(struct sg_nic_journal *j, int ifindex, const char *mac,
                           char *errbuf, size_t errlen)
{
	if (ftruncate(j->fd, 0) != 0)
		return sg_nic_journal_fail(j, errbuf, errlen, "cannot empty", errno);
	if (sg_nic_journal_add(j, JOURNAL_MAGIC " %s %d %s", j->ifname, ifindex, mac) < 0)
		return sg_nic_journal_fail(j, errbuf, errlen, "cannot write", j->err);
	return 0;
}

void sg_nic_journal_close(struct sg_nic_journal *j)
{
	sg_rundir_unlock(j->path, j->fd);
	j->fd = -1;
}
