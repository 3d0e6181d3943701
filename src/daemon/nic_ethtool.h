/* The ethtool ioctl (SIOCETHTOOL) as nic.c uses it: features by their
 * names in the kernel's string set, and the MAC a journal header names.
 * Apart so nic.c reads as what it changes and why, not how to ask. */
#ifndef SG_DAEMON_NIC_ETHTOOL_H
#define SG_DAEMON_NIC_ETHTOOL_H

#include <linux/ethtool.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

struct sg_ethtool {
	char ifname[IF_NAMESIZE];
	int fd;                          /* any socket, for the ioctls */
	unsigned nfeat_total;            /* features the kernel has, once known */
};

/* One ETHTOOL_* command on cmd: its result, or a negative errno. */
int sg_ethtool(struct sg_ethtool *et, void *cmd);

/* Index of every one of names[] within the kernel's feature strings (-1
 * when this kernel does not know it); learns nfeat_total.  0 or -errno. */
int sg_ethtool_feature_indexes(struct sg_ethtool *et, const char *const names[],
                               unsigned nnames, int idx[]);

/* The feature words (free() them), NULL with errno set.  Needs
 * nfeat_total: call sg_ethtool_feature_indexes first. */
struct ethtool_gfeatures *sg_ethtool_get_features(struct sg_ethtool *et);

/* Sets requested = on for the features listed by index. */
int sg_ethtool_set_features(struct sg_ethtool *et, const int *idx, unsigned cnt, bool on);

/* aa:bb:cc:dd:ee:ff into out; 0 or -errno. */
int sg_ethtool_mac_text(struct sg_ethtool *et, char *out, size_t cap);

#endif
