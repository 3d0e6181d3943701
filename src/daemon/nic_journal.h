/* The crash journal of an interface's original settings (nic.c changes
 * them, this file records them).
 *
 * Most of what nic.c changes stays changed when the daemon dies, so each
 * change is first written to SG_RUN_DIR/nic-NETNS-IFNAME (a tmpfs: it
 * survives a crash, not a reboot, like the settings it records), one line
 * per original setting, appended before the change is made:
 *
 *   synguard-nic 1 IFNAME IFINDEX MAC     who this journal is about
 *   xdp none                              no XDP program was attached
 *   offload NAME                          was on; turned off
 *   channels RX TX OTHER COMBINED         the queue counts as found
 *   sysctl NAME VALUE                     net.ipv6.conf.IF.NAME as found
 *
 * The daemon holds an flock on the journal while it runs.  The next start
 * that finds it unlocked and not empty restores what it lists (its writer
 * died), then starts it afresh; a locked one means another synguard has
 * the interface.  A clean stop restores and removes it.
 *
 * This file knows the format and the file, not the settings: what a line
 * means to the interface is nic.c's, which reads a journal back into a
 * struct sg_nic_undo and applies it.
 */
#ifndef SG_DAEMON_NIC_JOURNAL_H
#define SG_DAEMON_NIC_JOURNAL_H

#include <limits.h>
#include <linux/ethtool.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#include "io/io.h"   /* sg_io_log_fn */

/* Offloads one journal can name: nic.c's list, with room to grow. */
#define SG_NIC_MAX_OFFLOADS 32

/* What to put back: the original settings that were changed. */
struct sg_nic_undo {
	int feat[SG_NIC_MAX_OFFLOADS];   /* features to turn back on: index in
	                                    the kernel's string set */
	unsigned nfeat;
	bool channels;                   /* old_ch holds the counts as found */
	struct ethtool_channels old_ch;
	bool xdp_none;                   /* no XDP program was attached */
	int disable_ipv6;                /* as found; -1: not changed */
};

struct sg_nic_journal {
	char ifname[IF_NAMESIZE];
	char path[PATH_MAX];
	int fd;                          /* flock'ed while we run, -1 if none */
	int err;                         /* errno of a failed sg_nic_journal_add */
	sg_io_log_fn log;
	void *log_ctx;
};

/* Before open: no file, nothing logged to yet. */
void sg_nic_journal_init(struct sg_nic_journal *j, const char *ifname,
                         sg_io_log_fn log, void *log_ctx);

/* Prepares dir and takes the interface's journal there, locked.
 * -EBUSY: another synguard holds it; errbuf gets the message. */
int sg_nic_journal_open(struct sg_nic_journal *j, const char *dir, char *errbuf,
                        size_t errlen);

/* What a dead daemon left, into *u (disable_ipv6 -1 when absent).  Offload
 * lines are kept when their name is one of names[] and idx[] has the
 * kernel's index for it.  False when there is nothing to restore: an
 * empty journal, or one about another interface that had this name (its
 * header differs from IFINDEX and MAC; only reported). */
bool sg_nic_journal_read(struct sg_nic_journal *j, int ifindex, const char *mac,
                         const char *const names[], const int idx[], unsigned nnames,
                         struct sg_nic_undo *u);

/* Empties the journal and writes its header: from here on it is ours. */
int sg_nic_journal_restart(struct sg_nic_journal *j, int ifindex, const char *mac,
                           char *errbuf, size_t errlen);

/* Appends one line: on return the change it announces may be made, and
 * the daemon's death from here on leaves the line for the next start (it
 * is written, not synced: a reboot resets what it records).
 * A failure is also kept in j->err. */
int sg_nic_journal_add(struct sg_nic_journal *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* errbuf gets "IF: WHAT PATH: ERRNO; the interface is left as it is";
 * returns -e. */
int sg_nic_journal_fail(const struct sg_nic_journal *j, char *errbuf, size_t errlen,
                        const char *what, int e);

/* Unlocks and removes it (a clean stop).  Without an open journal, nothing. */
void sg_nic_journal_close(struct sg_nic_journal *j);

#endif
