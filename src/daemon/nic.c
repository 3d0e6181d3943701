/* Interface preparation through the ethtool ioctl, and its undoing.
 *
 * Promiscuous mode is taken as a PACKET_MR_PROMISC membership on a packet
 * socket we keep open: the kernel counts it and drops it when the socket
 * closes, so even a killed daemon leaves promiscuity as it found it.
 *
 * Everything else stays changed when the daemon dies: offloads, queue
 * counts, libxdp's AF_XDP program, the ports' IPv6 sysctls.  So each change
 * is first written to the interface's journal (nic_journal.h), and the
 * next start that finds a dead daemon's journal puts back what it lists
 * (journal_replay below) before it prepares afresh.
 */
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "daemon/nic.h"
#include "daemon/nic_ethtool.h"
#include "daemon/nic_journal.h"
#include "daemon/rundir.h"

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
_Static_assert(NOFFLOADS <= SG_NIC_MAX_OFFLOADS, "a journal must hold every offload");

#define RESTORE_RETRIES  40                     /* x RESTORE_WAIT_NS */
#define RESTORE_WAIT_NS  (50 * 1000 * 1000)
#define LIBXDP_XSK_PROG  "xsk_def_prog"         /* libxdp's AF_XDP redirect program */

struct sg_nic {
	char ifname[IF_NAMESIZE];
	int ifindex;
	struct sg_ethtool et;            /* its ioctl socket */
	int promisc_fd;                  /* holds the promiscuity, -1 if none */
	struct sg_nic_journal j;
	sg_io_log_fn log;
	void *log_ctx;
	struct sg_nic_undo u;
	unsigned channels_now;
};

void sg_nic_opts_default(struct sg_nic_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->promisc = true;
	o->offloads_off = true;
	o->ipv6_off = true;
}

#define nlog(x, level, ...) sg_io_logf((x)->log, (x)->log_ctx, level, __VA_ARGS__)


/* libxdp's AF_XDP program, left attached by a daemon that died; only
 * that program, so another user's XDP stays where it is. */
static void xdp_detach_leftover(struct sg_nic *n)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(n->ifindex);
	struct xdp_program *prog = NULL;
	int r = 0;

	if (libxdp_get_error(mp) || !mp)
		return;
	if (xdp_multiprog__is_legacy(mp)) {
		prog = xdp_multiprog__main_prog(mp);
		if (prog && strcmp(xdp_program__name(prog), LIBXDP_XSK_PROG) == 0)
			r = xdp_multiprog__detach(mp);
		else
			prog = NULL;
	} else {
		while ((prog = xdp_multiprog__next_prog(prog, mp)))
			if (strcmp(xdp_program__name(prog), LIBXDP_XSK_PROG) == 0)
				break;
		if (prog)
			r = xdp_program__detach(prog, n->ifindex, xdp_multiprog__attach_mode(mp), 0);
	}
	if (prog && r < 0)
		nlog(n, LOG_WARNING, "%s: removing the AF_XDP program a previous synguard left: "
		     "%s; remove it with `ip link set dev %s xdp off`", n->ifname, sg_errno_name(r),
		     n->ifname);
	else if (prog)
		nlog(n, LOG_INFO, "%s: removed the AF_XDP program a previous synguard left",
		     n->ifname);
	xdp_multiprog__close(mp);
}

/* The offloads[] name of a kernel feature index, or NULL. */
static const char *offload_name(struct sg_nic *n, int feature)
{
	int idx[NOFFLOADS];

	if (sg_ethtool_feature_indexes(&n->et, offloads, NOFFLOADS, idx) < 0)
		return NULL;
	for (unsigned k = 0; k < NOFFLOADS; k++)
		if (idx[k] == feature)
			return offloads[k];
	return NULL;
}

static void undo_apply(struct sg_nic *n, const struct sg_nic_undo *u, bool crashed);

/* Features of u whose "requested" bit is still off. */
static unsigned still_off(struct sg_nic *n, const struct sg_nic_undo *u, int out[NOFFLOADS])
{
	struct ethtool_gfeatures *g = sg_ethtool_get_features(&n->et);
	unsigned cnt = 0;

	if (!g)
		return 0;
	for (unsigned k = 0; k < u->nfeat; k++) {
		unsigned b = (unsigned)u->feat[k] / 32, bit = 1u << ((unsigned)u->feat[k] % 32);

		if (!(g->features[b].requested & bit))
			out[cnt++] = u->feat[k];
	}
	free(g);
	return cnt;
}

/* Reads a journal a daemon that died left, puts back what it lists.
 * Offloads the kernel would not take back yet go to *carry, to be kept
 * in the new journal: a veth cannot have its segmentation offloads while
 * its peer still has an XDP program, which the peer's own replay removes
 * only later. */
static void journal_replay(struct sg_nic *n, const char *mac, struct sg_nic_undo *carry)
{
	struct sg_nic_undo u;
	int idx[NOFFLOADS];

	if (sg_ethtool_feature_indexes(&n->et, offloads, NOFFLOADS, idx) < 0)
		memset(idx, -1, sizeof(idx));
	if (!sg_nic_journal_read(&n->j, n->ifindex, mac, offloads, idx, NOFFLOADS, &u))
		return;
	nlog(n, LOG_NOTICE, "%s: a previous synguard did not stop cleanly; restoring the "
	     "settings it recorded in %s", n->ifname, n->j.path);
	undo_apply(n, &u, true);
	carry->nfeat = still_off(n, &u, carry->feat);
}

/* Takes the interface's journal: restores from one a dead daemon left,
 * then starts it afresh with the header. */
static int journal_open(struct sg_nic *n, const char *dir, char *errbuf, size_t errlen)
{
	struct sg_nic_undo carry = { .disable_ipv6 = -1 };
	char mac[32];
	int r;

	r = sg_nic_journal_open(&n->j, dir, errbuf, errlen);
	if (r < 0)
		return r;
	if (sg_ethtool_mac_text(&n->et, mac, sizeof(mac)) < 0)
		mac[0] = 0;
	journal_replay(n, mac, &carry);
	r = sg_nic_journal_restart(&n->j, n->ifindex, mac, errbuf, errlen);
	if (r < 0)
		return r;
	for (unsigned k = 0; k < carry.nfeat; k++) {
		const char *name = offload_name(n, carry.feat[k]);

		if (name && sg_nic_journal_add(&n->j, "offload %s", name) < 0)
			return sg_nic_journal_fail(&n->j, errbuf, errlen, "cannot write", n->j.err);
		if (name)
			n->u.feat[n->u.nfeat++] = carry.feat[k];
	}
	return 0;
}

/* net.ipv6.conf.IF.NAME; a '.' in IF (a VLAN, eth0.100) is a '/' there. */
static void ipv6_conf_path(const struct sg_nic *n, const char *name, char *out, size_t cap)
{
	char ifn[IF_NAMESIZE];

	snprintf(ifn, sizeof(ifn), "%s", n->ifname);
	for (char *p = ifn; *p; p++)
		if (*p == '.')
			*p = '/';
	snprintf(out, cap, "/proc/sys/net/ipv6/conf/%s/%s", ifn, name);
}

/* -ENOENT when this kernel has no IPv6 (nothing to turn off then). */
static int ipv6_conf_get(const struct sg_nic *n, const char *name, int *v)
{
	char path[128];
	FILE *f;
	int ok;

	ipv6_conf_path(n, name, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	ok = fscanf(f, "%d", v) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

static int ipv6_conf_set(const struct sg_nic *n, const char *name, int v)
{
	char path[128];
	FILE *f;
	int r = 0;

	ipv6_conf_path(n, name, path, sizeof(path));
	f = fopen(path, "we");
	if (!f)
		return -errno;
	if (fprintf(f, "%d\n", v) < 0)
		r = -errno;
	if (fclose(f) != 0 && !r)
		r = -errno;
	return r;
}

/* The ports are a wire, not hosts: no IPv6 address (link-local included),
 * so the kernel sends nothing of its own out of them (neighbour and router
 * solicitations, MLD reports) and takes no router advertisement. */
static int ipv6_off(struct sg_nic *n)
{
	int v, r = ipv6_conf_get(n, "disable_ipv6", &v);

	if (r == -ENOENT)
		return 0;
	if (r < 0 || v == 1) {
		if (r < 0)
			nlog(n, LOG_WARNING, "%s: reading net.ipv6.conf.%s.disable_ipv6: %s",
			     n->ifname, n->ifname, sg_errno_name(r));
		return 0;
	}
	r = sg_nic_journal_add(&n->j, "sysctl disable_ipv6 %d", v);
	if (r < 0)
		return r;
	n->u.disable_ipv6 = v;
	r = ipv6_conf_set(n, "disable_ipv6", 1);
	if (r < 0)
		nlog(n, LOG_WARNING, "%s: turning IPv6 off: %s; the port may send frames of "
		     "its own (`sysctl -w net.ipv6.conf.%s.disable_ipv6=1`)", n->ifname,
		     sg_errno_name(r), n->ifname);
	return 0;
}

/* Records that no XDP program is attached, so the next start removes the
 * AF_XDP program if we die holding it. */
static int note_xdp(struct sg_nic *n)
{
	__u32 id = 0;

	if (bpf_xdp_query_id(n->ifindex, 0, &id) != 0 || id != 0)
		return 0;
	n->u.xdp_none = true;
	return sg_nic_journal_add(&n->j, "xdp none");
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

static int offloads_off(struct sg_nic *n)
{
	int idx[NOFFLOADS];
	int r = sg_ethtool_feature_indexes(&n->et, offloads, NOFFLOADS, idx);
	if (r < 0)
		return r;
	struct ethtool_gfeatures *g = sg_ethtool_get_features(&n->et);
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
		if (g->features[b].requested & bit) {
			r = sg_nic_journal_add(&n->j, "offload %s", offloads[k]);
			if (r < 0) {
				free(g);
				return r;
			}
			n->u.feat[n->u.nfeat++] = idx[k];
		}
	}
	free(g);
	if (!nwant)
		return 0;
	r = sg_ethtool_set_features(&n->et, want, nwant, false);
	if (r < 0)
		return r;
	g = sg_ethtool_get_features(&n->et);
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

/* Only a failure to record is returned: the rest is logged. */
static int set_channels(struct sg_nic *n, unsigned want)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	int r = sg_ethtool(&n->et, &ch);
	if (r < 0) {
		nlog(n, LOG_WARNING, "%s: reading the queue count: %s; assuming the "
		     "driver has %u queue(s) (check `ethtool -l %s`)", n->ifname,
		     sg_errno_name(r), want, n->ifname);
		return 0;
	}
	struct ethtool_channels nw = ch;
	nw.cmd = ETHTOOL_SCHANNELS;
	if (ch.max_combined) {
		n->channels_now = ch.combined_count;
		if (ch.combined_count == want)
			return 0;
		if (want > ch.max_combined) {
			nlog(n, LOG_WARNING, "%s: %u queues wanted, the driver has at "
			     "most %u combined channels; lower --threads", n->ifname,
			     want, ch.max_combined);
			return 0;
		}
		nw.combined_count = want;
	} else if (ch.max_rx && ch.max_tx) {
		/* veth: separate rx and tx queue counts. */
		n->channels_now = ch.rx_count;
		if (ch.rx_count == want && ch.tx_count == want)
			return 0;
		if (want > ch.max_rx || want > ch.max_tx) {
			nlog(n, LOG_WARNING, "%s: %u queues wanted, the device has at "
			     "most %u rx / %u tx queues; lower --threads", n->ifname,
			     want, ch.max_rx, ch.max_tx);
			return 0;
		}
		nw.rx_count = want;
		nw.tx_count = want;
	} else {
		return 0;
	}
	r = sg_nic_journal_add(&n->j, "channels %u %u %u %u", ch.rx_count, ch.tx_count,
	                ch.other_count, ch.combined_count);
	if (r < 0)
		return r;
	n->u.old_ch = ch;
	n->u.channels = true;
	r = sg_ethtool(&n->et, &nw);
	if (r < 0) {
		nlog(n, LOG_WARNING, "%s: setting %u queues: %s; set them with "
		     "`ethtool -L %s combined %u` or match --threads", n->ifname,
		     want, sg_errno_name(r), n->ifname, want);
		return 0;
	}
	n->channels_now = want;
	nlog(n, LOG_INFO, "%s: queue count set to %u", n->ifname, want);
	return 0;
}

/* Puts back what u lists.  After a crash (the journal of a dead daemon)
 * libxdp's AF_XDP program goes too: nobody else took it off. */
static void undo_apply(struct sg_nic *n, const struct sg_nic_undo *u, bool crashed)
{
	/* First: while an XDP program is attached, a veth's peer cannot have
	 * its segmentation offloads back (veth_xdp_set takes them out of the
	 * peer's hw_features), and the kernel ignores asking for them. */
	if (crashed && u->xdp_none)
		xdp_detach_leftover(n);
	if (u->channels) {
		struct ethtool_channels ch = u->old_ch;
		/* AF_XDP sockets let go of their queues in deferred work after
		 * close; until then fewer queues are refused with EINVAL. */
		int r;
		for (int t = 0; ; t++) {
			ch.cmd = ETHTOOL_SCHANNELS;
			r = sg_ethtool(&n->et, &ch);
			if (r != -EINVAL || t >= RESTORE_RETRIES)
				break;
			nanosleep(&(struct timespec){ 0, RESTORE_WAIT_NS }, NULL);
		}
		if (r < 0)
			nlog(n, LOG_WARNING, "%s: restoring the queue count: %s; set it "
			     "back with `ethtool -L %s`", n->ifname, sg_errno_name(r), n->ifname);
	}
	if (u->nfeat) {
		int r = sg_ethtool_set_features(&n->et, u->feat, u->nfeat, true);
		if (r < 0)
			nlog(n, LOG_WARNING, "%s: restoring offloads: %s; turn them back "
			     "on with `ethtool -K %s ...`", n->ifname, sg_errno_name(r), n->ifname);
	}
	if (u->disable_ipv6 >= 0) {
		int r = ipv6_conf_set(n, "disable_ipv6", u->disable_ipv6);
		if (r < 0)
			nlog(n, LOG_WARNING, "%s: restoring IPv6: %s; `sysctl -w "
			     "net.ipv6.conf.%s.disable_ipv6=%d`", n->ifname, sg_errno_name(r),
			     n->ifname, u->disable_ipv6);
	}
}

/* The changes, each recorded before it is made; only a failure to record
 * or missing privileges stop it. */
static int prepare(struct sg_nic *n, const struct sg_nic_opts *o, char *errbuf, size_t errlen)
{
	int r = note_xdp(n);

	if (r == 0 && o->ipv6_off)
		r = ipv6_off(n);
	if (r < 0)
		return sg_nic_journal_fail(&n->j, errbuf, errlen, "cannot write", n->j.err);
	if (o->promisc) {
		r = set_promisc(n);
		if (r == -EPERM || r == -EACCES) {
			snprintf(errbuf, errlen, "%s: promiscuous mode: %s: needs "
			         "CAP_NET_ADMIN and CAP_NET_RAW (run as root)", n->ifname,
			         sg_errno_name(r));
			return r;
		}
		if (r < 0)
			nlog(n, LOG_WARNING, "%s: promiscuous mode: %s; frames for other "
			     "MACs may not arrive (`ip link set %s promisc on`)",
			     n->ifname, sg_errno_name(r), n->ifname);
	}
	if (o->offloads_off) {
		r = offloads_off(n);
		if (r == -EPERM) {
			snprintf(errbuf, errlen, "%s: changing offloads: EPERM: needs "
			         "CAP_NET_ADMIN (run as root)", n->ifname);
			return r;
		}
		if (n->j.err)
			return sg_nic_journal_fail(&n->j, errbuf, errlen, "cannot write", n->j.err);
		if (r < 0)
			nlog(n, LOG_WARNING, "%s: turning offloads off: %s; do it with "
			     "`ethtool -K %s gro off lro off tso off gso off rx off tx off "
			     "rxvlan off txvlan off rx-vlan-filter off`", n->ifname, sg_errno_name(r),
			     n->ifname);
	}
	if (o->channels && set_channels(n, o->channels) < 0)
		return sg_nic_journal_fail(&n->j, errbuf, errlen, "cannot write", n->j.err);
	return 0;
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
	snprintf(n->et.ifname, sizeof(n->et.ifname), "%s", ifname);
	n->ifindex = (int)if_nametoindex(ifname);
	n->promisc_fd = -1;
	sg_nic_journal_init(&n->j, ifname, o->log, o->log_ctx);
	n->u.disable_ipv6 = -1;
	n->log = o->log;
	n->log_ctx = o->log_ctx;
	n->et.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->et.fd < 0)
		n->et.fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->et.fd < 0) {
		int e = errno;
		snprintf(errbuf, errlen, "%s: control socket: %s", ifname,
		         sg_errno_name(e));
		free(n);
		return -e;
	}
	int r = journal_open(n, o->state_dir ? o->state_dir : SG_RUN_DIR, errbuf, errlen);
	if (r == 0)
		r = prepare(n, o, errbuf, errlen);
	if (r < 0) {
		sg_nic_restore(n);
		return r;
	}
	*nicp = n;
	return 0;
}

void sg_nic_restore(struct sg_nic *n)
{
	if (!n)
		return;
	undo_apply(n, &n->u, false);
	sg_nic_journal_close(&n->j);
	if (n->promisc_fd >= 0)
		close(n->promisc_fd);
	if (n->et.fd >= 0)
		close(n->et.fd);
	free(n);
}

unsigned sg_nic_channels(const struct sg_nic *n)
{
	return n->channels_now;
}

bool sg_nic_gone(const struct sg_nic *n)
{
	char name[IF_NAMESIZE];

	return n && !if_indextoname((unsigned)n->ifindex, name) && errno == ENXIO;
}
