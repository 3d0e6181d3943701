/* Interface preparation through the ethtool ioctl, and its undoing.
 *
 * Promiscuous mode is taken as a PACKET_MR_PROMISC membership on a packet
 * socket we keep open: the kernel counts it and drops it when the socket
 * closes, so even a killed daemon leaves the interface as it found it.
 */
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "daemon/nic.h"

/* Features that make the kernel hand us, or expect from us, frames that
 * were never on the wire (ethtool -k names in parentheses). */
static const char *const offloads[] = {
	"rx-gro",                        /* (gro) */
	"rx-gro-hw",
	"rx-gro-list",
	"rx-udp-gro-forwarding",
	"rx-lro",                        /* (lro) */
	"tx-tcp-segmentation",           /* (tso) */
	"tx-tcp-ecn-segmentation",
	"tx-tcp-mangleid-segmentation",
	"tx-tcp6-segmentation",
	"tx-tcp-accecn-segmentation",
	"tx-generic-segmentation",       /* (gso) */
	"rx-checksum",                   /* (rx) */
	"tx-checksum-ipv4",              /* (tx) */
	"tx-checksum-ip-generic",
	"tx-checksum-ipv6",
	"tx-checksum-sctp",
	"rx-vlan-hw-parse",              /* (rxvlan) */
	"tx-vlan-hw-insert",             /* (txvlan) */
	"rx-vlan-filter",
	"rx-vlan-stag-hw-parse",
	"tx-vlan-stag-hw-insert",
	"rx-vlan-stag-filter",
};
#define NOFFLOADS (sizeof(offloads) / sizeof(offloads[0]))

#define RESTORE_RETRIES  40                     /* x RESTORE_WAIT_NS */
#define RESTORE_WAIT_NS  (50 * 1000 * 1000)

struct sg_nic {
	char ifname[IF_NAMESIZE];
	int fd;                          /* ioctl socket */
	int promisc_fd;                  /* holds the promiscuity, -1 if none */
	sg_io_log_fn log;
	void *log_ctx;
	/* features we turned off: index in the kernel's string set */
	unsigned nfeat_total;
	int changed[NOFFLOADS];
	unsigned nchanged;
	/* channels as found, when we changed them */
	bool channels_changed;
	struct ethtool_channels old_ch;
	unsigned channels_now;
};

void sg_nic_opts_default(struct sg_nic_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->promisc = true;
	o->offloads_off = true;
}

static void nlog(const struct sg_nic *n, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void nlog(const struct sg_nic *n, int level, const char *fmt, ...)
{
	if (!n->log)
		return;
	char msg[320];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n->log(n->log_ctx, level, msg);
}

static int ethtool(struct sg_nic *n, void *cmd)
{
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", n->ifname);
	ifr.ifr_data = cmd;
	int r = ioctl(n->fd, SIOCETHTOOL, &ifr);
	return r < 0 ? -errno : r;
}

static const char *ename(int e)
{
	const char *s = strerrorname_np(e < 0 ? -e : e);
	return s ? s : "E?";
}

static int set_promisc(struct sg_nic *n)
{
	n->promisc_fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (n->promisc_fd < 0)
		return -errno;
	struct packet_mreq mr = {0};
	mr.mr_ifindex = (int)if_nametoindex(n->ifname);
	mr.mr_type = PACKET_MR_PROMISC;
	if (setsockopt(n->promisc_fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr,
	               sizeof(mr)) < 0) {
		int e = -errno;
		close(n->promisc_fd);
		n->promisc_fd = -1;
		return e;
	}
	return 0;
}

/* Index of every name in offloads[] within the kernel's feature strings
 * (-1 when this kernel does not know it). */
static int feature_indexes(struct sg_nic *n, int idx[NOFFLOADS])
{
	struct {
		struct ethtool_sset_info hdr;
		uint32_t buf[1];
	} si = { .hdr = { .cmd = ETHTOOL_GSSET_INFO,
	                  .sset_mask = 1ull << ETH_SS_FEATURES } };
	int r = ethtool(n, &si);
	if (r < 0)
		return r;
	unsigned count = si.hdr.sset_mask ? si.hdr.data[0] : 0;
	if (!count || count > 1024)
		return -EOPNOTSUPP;
	struct ethtool_gstrings *gs = calloc(1, sizeof(*gs) + count * ETH_GSTRING_LEN);
	if (!gs)
		return -ENOMEM;
	gs->cmd = ETHTOOL_GSTRINGS;
	gs->string_set = ETH_SS_FEATURES;
	gs->len = count;
	r = ethtool(n, gs);
	if (r < 0) {
		free(gs);
		return r;
	}
	for (unsigned k = 0; k < NOFFLOADS; k++) {
		idx[k] = -1;
		for (unsigned i = 0; i < count; i++) {
			const char *s = (const char *)gs->data + (size_t)i * ETH_GSTRING_LEN;
			if (strncmp(s, offloads[k], ETH_GSTRING_LEN) == 0) {
				idx[k] = (int)i;
				break;
			}
		}
	}
	free(gs);
	n->nfeat_total = count;
	return 0;
}

static struct ethtool_gfeatures *get_features(struct sg_nic *n)
{
	unsigned blocks = (n->nfeat_total + 31) / 32;
	struct ethtool_gfeatures *g = calloc(1, sizeof(*g) +
	                                     blocks * sizeof(g->features[0]));
	if (!g)
		return NULL;
	g->cmd = ETHTOOL_GFEATURES;
	g->size = blocks;
	if (ethtool(n, g) < 0) {
		free(g);
		return NULL;
	}
	return g;
}

/* Sets requested = on for the features listed by index. */
static int set_features(struct sg_nic *n, const int *idx, unsigned cnt, bool on)
{
	unsigned blocks = (n->nfeat_total + 31) / 32;
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
	int r = ethtool(n, s);
	free(s);
	return r < 0 ? r : 0;
}

static int offloads_off(struct sg_nic *n)
{
	int idx[NOFFLOADS];
	int r = feature_indexes(n, idx);
	if (r < 0)
		return r;
	struct ethtool_gfeatures *g = get_features(n);
	if (!g)
		return -errno ? -errno : -EIO;
	int want[NOFFLOADS];
	unsigned nwant = 0;
	for (unsigned k = 0; k < NOFFLOADS; k++) {
		if (idx[k] < 0)
			continue;
		unsigned b = (unsigned)idx[k] / 32, bit = 1u << ((unsigned)idx[k] % 32);
		if (!(g->features[b].requested & bit) && !(g->features[b].active & bit))
			continue;
		if (!(g->features[b].available & bit) ||
		    (g->features[b].never_changed & bit)) {
			if (g->features[b].active & bit)
				nlog(n, LOG_WARNING, "%s: offload %s is on and fixed by the "
				     "driver; frames may not be wire frames", n->ifname,
				     offloads[k]);
			continue;
		}
		want[nwant++] = idx[k];
		/* Remember what was requested, to put back exactly that. */
		if (g->features[b].requested & bit)
			n->changed[n->nchanged++] = idx[k];
	}
	free(g);
	if (!nwant)
		return 0;
	r = set_features(n, want, nwant, false);
	if (r < 0)
		return r;
	g = get_features(n);
	if (!g)
		return 0;
	for (unsigned k = 0; k < NOFFLOADS; k++) {
		if (idx[k] < 0)
			continue;
		unsigned b = (unsigned)idx[k] / 32, bit = 1u << ((unsigned)idx[k] % 32);
		if ((g->features[b].active & bit) && (g->features[b].available & bit))
			nlog(n, LOG_WARNING, "%s: offload %s is still on; turn it off "
			     "with `ethtool -K %s %s off`", n->ifname, offloads[k],
			     n->ifname, offloads[k]);
	}
	free(g);
	return 0;
}

static void set_channels(struct sg_nic *n, unsigned want)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	int r = ethtool(n, &ch);
	if (r < 0) {
		nlog(n, LOG_WARNING, "%s: reading the queue count: %s; assuming the "
		     "driver has %u queue(s) (check `ethtool -l %s`)", n->ifname,
		     ename(r), want, n->ifname);
		return;
	}
	struct ethtool_channels nw = ch;
	nw.cmd = ETHTOOL_SCHANNELS;
	if (ch.max_combined) {
		n->channels_now = ch.combined_count;
		if (ch.combined_count == want)
			return;
		if (want > ch.max_combined) {
			nlog(n, LOG_WARNING, "%s: %u queues wanted, the driver has at "
			     "most %u combined channels; lower --threads", n->ifname,
			     want, ch.max_combined);
			return;
		}
		nw.combined_count = want;
	} else if (ch.max_rx && ch.max_tx) {
		/* veth: separate rx and tx queue counts. */
		n->channels_now = ch.rx_count;
		if (ch.rx_count == want && ch.tx_count == want)
			return;
		if (want > ch.max_rx || want > ch.max_tx) {
			nlog(n, LOG_WARNING, "%s: %u queues wanted, the device has at "
			     "most %u rx / %u tx queues; lower --threads", n->ifname,
			     want, ch.max_rx, ch.max_tx);
			return;
		}
		nw.rx_count = want;
		nw.tx_count = want;
	} else {
		return;
	}
	r = ethtool(n, &nw);
	if (r < 0) {
		nlog(n, LOG_WARNING, "%s: setting %u queues: %s; set them with "
		     "`ethtool -L %s combined %u` or match --threads", n->ifname,
		     want, ename(r), n->ifname, want);
		return;
	}
	n->old_ch = ch;
	n->channels_changed = true;
	n->channels_now = want;
	nlog(n, LOG_INFO, "%s: queue count set to %u", n->ifname, want);
}

int sg_nic_prepare(struct sg_nic **nicp, const char *ifname,
                   const struct sg_nic_opts *o, char *errbuf, size_t errlen)
{
	*nicp = NULL;
	if (strlen(ifname) >= IF_NAMESIZE || !if_nametoindex(ifname)) {
		snprintf(errbuf, errlen, "%s: no such interface: ENODEV (check `ip "
		         "link`)", ifname);
		return -ENODEV;
	}
	struct sg_nic *n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(errbuf, errlen, "%s: out of memory", ifname);
		return -ENOMEM;
	}
	snprintf(n->ifname, sizeof(n->ifname), "%s", ifname);
	n->promisc_fd = -1;
	n->log = o->log;
	n->log_ctx = o->log_ctx;
	n->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->fd < 0)
		n->fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->fd < 0) {
		int e = errno;
		snprintf(errbuf, errlen, "%s: control socket: %s", ifname,
		         ename(e));
		free(n);
		return -e;
	}

	if (o->promisc) {
		int r = set_promisc(n);
		if (r == -EPERM || r == -EACCES) {
			snprintf(errbuf, errlen, "%s: promiscuous mode: %s: needs "
			         "CAP_NET_ADMIN and CAP_NET_RAW (run as root)", ifname,
			         ename(r));
			sg_nic_restore(n);
			return r;
		}
		if (r < 0)
			nlog(n, LOG_WARNING, "%s: promiscuous mode: %s; frames for other "
			     "MACs may not arrive (`ip link set %s promisc on`)",
			     ifname, ename(r), ifname);
	}
	if (o->offloads_off) {
		int r = offloads_off(n);
		if (r == -EPERM) {
			snprintf(errbuf, errlen, "%s: changing offloads: EPERM: needs "
			         "CAP_NET_ADMIN (run as root)", ifname);
			sg_nic_restore(n);
			return r;
		}
		if (r < 0)
			nlog(n, LOG_WARNING, "%s: turning offloads off: %s; do it with "
			     "`ethtool -K %s gro off lro off tso off gso off rx off tx off "
			     "rxvlan off txvlan off rx-vlan-filter off`", ifname, ename(r),
			     ifname);
	}
	if (o->channels)
		set_channels(n, o->channels);
	*nicp = n;
	return 0;
}

void sg_nic_restore(struct sg_nic *n)
{
	if (!n)
		return;
	if (n->channels_changed) {
		struct ethtool_channels ch = n->old_ch;
		ch.cmd = ETHTOOL_SCHANNELS;
		/* AF_XDP sockets let go of their queues in deferred work after
		 * close; until then fewer queues are refused with EINVAL. */
		int r;
		for (int t = 0; ; t++) {
			ch.cmd = ETHTOOL_SCHANNELS;
			r = ethtool(n, &ch);
			if (r != -EINVAL || t >= RESTORE_RETRIES)
				break;
			nanosleep(&(struct timespec){ 0, RESTORE_WAIT_NS }, NULL);
		}
		if (r < 0)
			nlog(n, LOG_WARNING, "%s: restoring the queue count: %s; set it "
			     "back with `ethtool -L %s`", n->ifname, ename(r), n->ifname);
	}
	if (n->nchanged) {
		int r = set_features(n, n->changed, n->nchanged, true);
		if (r < 0)
			nlog(n, LOG_WARNING, "%s: restoring offloads: %s; turn them back "
			     "on with `ethtool -K %s ...`", n->ifname, ename(r), n->ifname);
	}
	if (n->promisc_fd >= 0)
		close(n->promisc_fd);
	if (n->fd >= 0)
		close(n->fd);
	free(n);
}

unsigned sg_nic_channels(const struct sg_nic *n)
{
	return n->channels_now;
}
