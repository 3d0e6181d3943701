/* The io.h interface: option checks, backend dispatch, AUTO fallback,
 * error messages operators can act on. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "io/backend.h"

void sg_io_opts_default(struct sg_io_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->kind = SG_IO_AUTO;
	o->nqueues = 1;
	o->xdp_mode = SG_IO_XDP_AUTO;
	o->zerocopy = true;
	o->rx_ring = SG_IO_DEFAULT_RING;
	o->tx_ring = SG_IO_DEFAULT_RING;
	o->frame_size = SG_IO_DEFAULT_FRAME;
	o->batch = SG_IO_DEFAULT_BATCH;
}

static const char *const kind_names[] = {
	[SG_IO_AUTO] = "auto",
	[SG_IO_AFXDP] = "afxdp",
	[SG_IO_AFPACKET] = "afpacket",
	[SG_IO_PCAP] = "pcap",
	[SG_IO_MEM] = "mem",
};

const char *sg_io_kind_name(enum sg_io_kind k)
{
	if ((unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]))
		return kind_names[k];
	return "?";
}

int sg_io_kind_parse(const char *s, enum sg_io_kind *k)
{
	for (unsigned i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		if (strcmp(s, kind_names[i]) == 0) {
			*k = (enum sg_io_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *hint_for(int e)
{
	switch (e) {
	case EPERM:
	case EACCES:
		return "needs CAP_NET_ADMIN and CAP_NET_RAW (run as root)";
	case EBUSY:
		return "another XDP program or AF_XDP socket holds the interface "
		       "(ip link set dev IF xdp off), or use --io afpacket";
	case ENODEV:
	case ENXIO:
		return "no such interface (check `ip link`)";
	case ENOBUFS:
	case ENOMEM:
		return "not enough (locked) memory for the rings: lower the ring "
		       "sizes or raise RLIMIT_MEMLOCK";
	case EOPNOTSUPP:
		return "the driver lacks this mode; try --io afpacket";
	case ENETDOWN:
		return "the interface is down (ip link set dev IF up)";
	case EINVAL:
		return "bad parameter: check the queue count against `ethtool -l IF` "
		       "and ring sizes (powers of two)";
	case ENOENT:
		return "file not found";
	case ENOSPC:
		/* veth_xdp_set's refusal: the peer's TX queue i must map to
		 * one of our RX queues. */
		return "on veth, native XDP needs at least as many receive "
		       "queues on IF as its peer has transmit queues (ethtool -L "
		       "PEER tx N, or --threads N)";
	default:
		return "";
	}
}

/* Copies a hint with every "IF" replaced by the interface's name, so the
 * operator can paste the command. */
static void subst_if(char *dst, size_t n, const char *src, const char *ifname)
{
	size_t o = 0;
	while (*src && o + 1 < n) {
		if (src[0] == 'I' && src[1] == 'F' && (src[2] == ' ' || src[2] == ')' ||
		    src[2] == '`' || src[2] == 0)) {
			o += (size_t)snprintf(dst + o, n - o, "%s", ifname);
			if (o >= n)
				o = n - 1;
			src += 2;
			continue;
		}
		dst[o++] = *src++;
	}
	dst[o] = 0;
}

int sg_io_fail(struct sg_io_err *err, const char *ifname, int e,
               const char *fmt, ...)
{
	if (e < 0)
		e = -e;
	if (err) {
		char what[224];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		const char *name = strerrorname_np(e);
		char hint[200];
		subst_if(hint, sizeof(hint), hint_for(e), ifname ? ifname : "IF");
		err->err = e;
		snprintf(err->ifname, sizeof(err->ifname), "%s", ifname ? ifname : "");
		int l = snprintf(err->msg, sizeof(err->msg), "%s: %s: %s (%s)%s%s",
		                 ifname ? ifname : "io", what, name ? name : "E?",
		                 strerror(e), *hint ? ": " : "", hint);
		if (l >= (int)sizeof(err->msg))   /* cut short: mark it */
			memcpy(err->msg + sizeof(err->msg) - 4, "...", 4);
	}
	return -e;
}

static void vlogf(sg_io_log_fn fn, void *ctx, int level, const char *fmt, va_list ap)
{
	char msg[512];     /* room for a whole struct sg_io_err message and more */

	if (!fn)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fn(ctx, level, msg);
}

void sg_io_logf(sg_io_log_fn fn, void *ctx, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlogf(fn, ctx, level, fmt, ap);
	va_end(ap);
}

void sg_io_log(const struct sg_io *io, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlogf(io->opts.log, io->opts.log_ctx, level, fmt, ap);
	va_end(ap);
}

const char *sg_errno_name(int e)
{
	const char *s = strerrorname_np(e < 0 ? -e : e);

	return s ? s : "E?";
}

static const struct sg_io_ops *ops_for(enum sg_io_kind k)
{
	switch (k) {
	case SG_IO_AFXDP:    return &sg_io_afxdp_ops;
	case SG_IO_AFPACKET: return &sg_io_afpacket_ops;
	case SG_IO_PCAP:     return &sg_io_pcap_ops;
	case SG_IO_MEM:      return &sg_io_mem_ops;
	default:             return NULL;
	}
}

static bool pow2(unsigned v)
{
	return v == sg_io_pow2_ceil(v);
}

static int check_opts(const struct sg_io_opts *o, struct sg_io_err *err)
{
	if (o->nqueues < 1 || o->nqueues > SG_MAX_WORKERS)
		return sg_io_fail(err, NULL, EINVAL, "queue count %u not in 1..%u",
		                  o->nqueues, SG_MAX_WORKERS);
	if (!pow2(o->rx_ring) || !pow2(o->tx_ring) || o->rx_ring < 64 ||
	    o->tx_ring < 64 || o->rx_ring > 65536 || o->tx_ring > 65536)
		return sg_io_fail(err, NULL, EINVAL,
		                  "ring sizes %u/%u: powers of two in 64..65536",
		                  o->rx_ring, o->tx_ring);
	if (!pow2(o->frame_size) || o->frame_size < 2048 || o->frame_size > 4096)
		return sg_io_fail(err, NULL, EINVAL,
		                  "frame size %u: 2048 or 4096", o->frame_size);
	if (o->batch < 1 || o->batch > SG_IO_BATCH_MAX)
		return sg_io_fail(err, NULL, EINVAL, "batch %u not in 1..%u",
		                  o->batch, SG_IO_BATCH_MAX);
	return 0;
}

static int open_kind(struct sg_io *io, enum sg_io_kind k, struct sg_io_err *err)
{
	io->kind = k;
	io->ops = ops_for(k);
	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		memset(io->st[p], 0, sizeof(*io->st[p]) * io->nq);
		io->desc[p][0] = 0;
	}
	io->priv = NULL;
	return io->ops->open(io, err);
}

int sg_io_open(struct sg_io **iop, const char *const ifname[SG_IO_PORTS],
               const struct sg_io_opts *o, struct sg_io_err *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
	*iop = NULL;
	int rc = check_opts(o, err);
	if (rc)
		return rc;
	for (unsigned p = 0; p < SG_IO_PORTS; p++)
		if (!ifname[p] || strlen(ifname[p]) >= IF_NAMESIZE)
			return sg_io_fail(err, ifname[p], EINVAL,
			                  "interface name missing or too long");
	if (o->kind == SG_IO_PCAP && o->nqueues != 1)
		return sg_io_fail(err, NULL, EINVAL, "pcap replay has one queue");

	struct sg_io *io = calloc(1, sizeof(*io));
	if (!io)
		return sg_io_fail(err, NULL, ENOMEM, "allocating io");
	io->opts = *o;
	io->nq = o->nqueues;
	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		snprintf(io->ifname[p], IF_NAMESIZE, "%s", ifname[p]);
		io->st[p] = calloc(io->nq, sizeof(struct sg_io_stats));
		if (!io->st[p]) {
			rc = sg_io_fail(err, NULL, ENOMEM, "allocating io");
			goto fail;
		}
	}

	if (o->kind == SG_IO_AUTO) {
		struct sg_io_err xerr = {0};
		rc = open_kind(io, SG_IO_AFXDP, &xerr);
		if (rc) {
			sg_io_log(io, LOG_WARNING, "io auto: AF_XDP unavailable (%s); "
			          "falling back to AF_PACKET", xerr.msg);
			rc = open_kind(io, SG_IO_AFPACKET, err);
		}
	} else if (ops_for(o->kind)) {
		rc = open_kind(io, o->kind, err);
	} else {
		rc = sg_io_fail(err, NULL, EINVAL, "unknown io kind %d", o->kind);
	}
	if (rc)
		goto fail;
	*iop = io;
	return 0;
fail:
	for (unsigned p = 0; p < SG_IO_PORTS; p++)
		free(io->st[p]);
	free(io);
	return rc;
}

void sg_io_close(struct sg_io *io)
{
	if (!io)
		return;
	io->ops->close(io);
	for (unsigned p = 0; p < SG_IO_PORTS; p++)
		free(io->st[p]);
	free(io);
}

enum sg_io_kind sg_io_kind(const struct sg_io *io)
{
	return io->kind;
}

unsigned sg_io_nqueues(const struct sg_io *io)
{
	return io->nq;
}

const char *sg_io_describe(const struct sg_io *io, unsigned port)
{
	return port < SG_IO_PORTS ? io->desc[port] : "";
}

int sg_io_rx_burst(struct sg_io *io, unsigned port, unsigned q,
                   struct sg_io_frame *f, unsigned max)
{
	if (max > SG_IO_BATCH_MAX)
		max = SG_IO_BATCH_MAX;
	return io->ops->rx(io, port, q, f, max);
}

int sg_io_tx_burst(struct sg_io *io, unsigned port, unsigned q,
                   struct sg_io_frame *f, unsigned n)
{
	return io->ops->tx(io, port, q, f, n);
}

void sg_io_release(struct sg_io *io, unsigned port, unsigned q,
                   struct sg_io_frame *f, unsigned n)
{
	if (io->ops->release)
		io->ops->release(io, port, q, f, n);
}

void sg_io_flush(struct sg_io *io, unsigned q)
{
	if (io->ops->flush)
		io->ops->flush(io, q);
}

void sg_io_wait(struct sg_io *io, unsigned q, int timeout_ms)
{
	if (!io->ops->fd) {
		if (io->ops->wait)
			io->ops->wait(io, q, timeout_ms);
		return;
	}
	struct pollfd pfd[SG_IO_PORTS];
	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		pfd[p].fd = io->ops->fd(io, p, q);
		pfd[p].events = POLLIN;
		pfd[p].revents = 0;
	}
	(void)poll(pfd, SG_IO_PORTS, timeout_ms);
}

void sg_io_stats(struct sg_io *io, unsigned port, unsigned q,
                 struct sg_io_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (port >= SG_IO_PORTS || q >= io->nq)
		return;
	/* Read counter by counter: the worker may be adding to them right
	 * now; each 64-bit load is whole on the platforms we run on. */
	const volatile uint64_t *c = io->st[port][q].c;
	for (unsigned i = 0; i < SG_IO_STAT__COUNT; i++)
		st->c[i] = c[i];
	if (io->ops->kstats)
		io->ops->kstats(io, port, q, st);
}

static const char *const stat_names[SG_IO_STAT__COUNT] = {
#define SG_IO_STAT_NAME(id, name) [SG_IO_STAT_##id] = name,
	SG_IO_STATS_LIST(SG_IO_STAT_NAME)
#undef SG_IO_STAT_NAME
};

const char *sg_io_stat_name(enum sg_io_stat s)
{
	return (unsigned)s < SG_IO_STAT__COUNT ? stat_names[s] : "invalid";
}
