/* Interface preparation for a bump in the wire, undone on exit.
 *
 * - promiscuous mode on (frames for any MAC must reach us);
 * - offloads off that hand a packet program frames that were never on the
 *   wire: GRO, LRO, TSO, GSO, rx/tx checksum, rx/tx VLAN offload, VLAN
 *   filtering (ethtool feature strings, ETHTOOL_[GS]FEATURES);
 * - combined channel count = number of workers, where the driver allows
 *   (ETHTOOL_[GS]CHANNELS);
 * - IPv6 off on the port (net.ipv6.conf.IF.disable_ipv6 = 1): a bump in
 *   the wire has no address of its own, link-local included, and sends
 *   nothing of its own.
 * Whatever was changed is remembered and put back by sg_nic_restore, and
 * first written to a journal in the state directory, so that the next
 * start puts back what a daemon that died had changed (nic.c).
 * A failure to change a setting is logged with the interface and what to
 * do; a missing interface, missing privileges, a journal that cannot be
 * written and an interface another synguard holds (-EBUSY) are fatal.
 */
#ifndef SG_DAEMON_NIC_H
#define SG_DAEMON_NIC_H

#include <stdbool.h>

#include "io/io.h"   /* sg_io_log_fn */

struct sg_nic_opts {
	bool promisc;          /* default true */
	bool offloads_off;     /* default true */
	bool ipv6_off;         /* default true */
	unsigned channels;     /* 0: leave the queue count alone */
	const char *state_dir; /* journals of original settings; NULL:
	                          SG_RUN_DIR (daemon/rundir.h) */
	sg_io_log_fn log;
	void *log_ctx;
};

struct sg_nic;

void sg_nic_opts_default(struct sg_nic_opts *o);

/* -ENODEV: no such interface; -EPERM: needs CAP_NET_ADMIN; -EBUSY:
 * another synguard prepared it; other negative errnos: the journal.
 * errbuf gets the message for those. */
int sg_nic_prepare(struct sg_nic **nic, const char *ifname,
                   const struct sg_nic_opts *o, char *errbuf, size_t errlen);

/* Puts back what sg_nic_prepare changed, frees.  NULL is fine. */
void sg_nic_restore(struct sg_nic *nic);

/* Combined channels the interface has now (after prepare), 0 if unknown. */
unsigned sg_nic_channels(const struct sg_nic *nic);

/* True when the interface prepared is gone (deleted, its driver unloaded,
 * moved to another namespace): no interface has its index any more, and
 * the sockets bound to it will never carry a frame again.  A rename is
 * not gone.  NULL is never gone. */
bool sg_nic_gone(const struct sg_nic *nic);

#endif
