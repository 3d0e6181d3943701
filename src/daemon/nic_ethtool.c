/* The ethtool ioctl for nic.c: features by name, the MAC. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>

#include "daemon/nic_ethtool.h"

int sg_ethtool(struct sg_ethtool *et, void *cmd)
{
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", et->ifname);
	ifr.ifr_data = cmd;
	int r = ioctl(et->fd, SIOCETHTOOL, &ifr);
	return r < 0 ? -errno : r;
}

int sg_ethtool_mac_text(struct sg_ethtool *et, char *out, size_t cap)
{
	struct ifreq ifr = {0};
	const unsigned char *m = (const unsigned char *)ifr.ifr_hwaddr.sa_data;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", et->ifname);
	if (ioctl(et->fd, SIOCGIFHWADDR, &ifr) < 0)
		return -errno;
	snprintf(out, cap, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return 0;
}

int sg_ethtool_feature_indexes(struct sg_ethtool *et, const char *const names[],
                               unsigned nnames, int idx[])
{
	/* The header's flexible array gets room for one set's length; a
	 * struct wrapping it would be a GNU extension clang refuses. */
	_Alignas(struct ethtool_sset_info) unsigned char raw[sizeof(struct ethtool_sset_info) +
	                                                    sizeof(uint32_t)] = { 0 };
	struct ethtool_sset_info *si = (struct ethtool_sset_info *)raw;

	si->cmd = ETHTOOL_GSSET_INFO;
	si->sset_mask = 1ull << ETH_SS_FEATURES;
	int r = sg_ethtool(et, si);
	if (r < 0)
		return r;
	unsigned count = si->sset_mask ? si->data[0] : 0;
	if (!count || count > 1024)
		return -EOPNOTSUPP;
	struct ethtool_gstrings *gs = calloc(1, sizeof(*gs) + count * ETH_GSTRING_LEN);
	if (!gs)
		return -ENOMEM;
	gs->cmd = ETHTOOL_GSTRINGS;
	gs->string_set = ETH_SS_FEATURES;
	gs->len = count;
	r = sg_ethtool(et, gs);
	if (r < 0) {
		free(gs);
		return r;
	}
	for (unsigned k = 0; k < nnames; k++) {
		idx[k] = -1;
		for (unsigned i = 0; i < count; i++) {
			const char *s = (const char *)gs->data + (size_t)i * ETH_GSTRING_LEN;
			if (strncmp(s, names[k], ETH_GSTRING_LEN) == 0) {
				idx[k] = (int)i;
				break;
			}
		}
	}
	free(gs);
	et->nfeat_total = count;
	return 0;
}

struct ethtool_gfeatures *sg_ethtool_get_features(struct sg_ethtool *et)
{
	unsigned blocks = (et->nfeat_total + 31) / 32;
	struct ethtool_gfeatures *g = calloc(1, sizeof(*g) +
	                                     blocks * sizeof(g->features[0]));
	if (!g)
		return NULL;
	g->cmd = ETHTOOL_GFEATURES;
	g->size = blocks;
	if (sg_ethtool(et, g) < 0) {
		free(g);
		return NULL;
	}
	return g;
}

int sg_ethtool_set_features(struct sg_ethtool *et, const int *idx, unsigned cnt, bool on)
{
	unsigned blocks = (et->nfeat_total + 31) / 32;
	struct ethtool_sfeatures *s = calloc(1, sizeof(*s) +
	                                     blocks * sizeof(s->features[0]));
	if (!s)
		return -ENOMEM;
	s->cmd = ETHTOOL_SFEATURES;
	s->size = blocks;
	for (unsigned k = 0; k < cnt; k++) {
		unsigned b = (unsigned)idx[k] / 32, bit = 1u << ((unsigned)idx[k] % 32);
		s->features[b].valid |= bit;
		if (on)
			s->features[b].requested |= bit;
	}
	int r = sg_ethtool(et, s);
	free(s);
	return r < 0 ? r : 0;
}
