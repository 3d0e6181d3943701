/* afxdp backend: AF_XDP sockets through libxdp.
 *
 * Queue q owns one umem.  The lan socket and the wan socket of queue q are
 * both bound to it (XDP_SHARED_UMEM; each (device, queue) has its own fill
 * and completion ring), so forwarding is handing a received umem address
 * to the other port's TX ring:
 *
 *            +-------------- free stack (worker q) <------------+
 *            v                                                  |
 *   lan fill -> lan RX -> worker -> wan TX -> wan completion ---+
 *   wan fill -> wan RX -> worker -> lan TX -> lan completion ---+
 *                           \-> release ------------------------+
 *
 * Every umem chunk is in exactly one of: a fill ring, an RX ring, the
 * worker's hands, a TX ring, a completion ring, the free stack.  All of it
 * is touched by worker q alone, so no locks.
 *
 * A receive queue without a socket would have its frames passed to the
 * host stack by libxdp's program, unseen by us: each port must have
 * exactly nqueues receive queues (check_port refuses otherwise).
 *
 * Modes are tried best first; the first that binds both ports wins and is
 * used for every queue: native + zero-copy, native + copy, skb + copy.
 * libxdp attaches its default redirect program (through its dispatcher
 * when bpffs is mounted, which we ensure) and takes it off again when the
 * last socket closes.
 */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include "io/backend.h"
#include "io/xdp_host.h"

#define KICK_MAX        64      /* sendto() calls per flush; each moves <= 32 */
#define XDP_HEADROOM    256     /* XDP_PACKET_HEADROOM: copy mode puts frames after it */
#define ETH_FRAME_OVERHEAD 22   /* Ethernet header + two VLAN tags */
#define MAX_CHUNK       4096    /* largest aligned umem chunk: a page */
#define BUSY_RETRIES    40      /* x BUSY_WAIT_NS: wait for a queue to be let go */
#define BUSY_WAIT_NS    (50 * 1000 * 1000)

struct xport {                  /* one (port, queue) */
	struct xsk_socket *xsk;
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	/* Ring sizes as configured: libxdp's ring structs are read only
	 * through its functions. */
	uint32_t tx_size, fill_size, comp_size;
	uint32_t tx_outstanding;    /* submitted, not yet completed */
	uint32_t fill_target;
};

struct xq {                     /* one queue: umem + both ports */
	struct xsk_umem *umem;
	uint8_t *area;
	size_t area_len;
	uint64_t *free;             /* stack of chunk addresses */
	uint32_t nfree;
	uint32_t nframes;
	struct xport port[SG_IO_PORTS];
};

struct mode {
	uint32_t xdp_flags;
	uint16_t bind_flags;
	const char *name;
};

struct afx {
	struct xq *q;               /* [nq] */
	int ifindex[SG_IO_PORTS];
	uint32_t xdp_flags;         /* mode in use */
	bool opened;
};

static inline uint64_t chunk(const struct sg_io *io, uint64_t addr)
{
	return addr & ~(uint64_t)(io->opts.frame_size - 1);
}

static inline void free_push(struct xq *x, uint64_t addr)
{
	/* Every chunk is in one place only, so this cannot overflow unless a
	 * caller gives a frame back twice; then the stack must not be overrun. */
	if (x->nfree < x->nframes)
		x->free[x->nfree++] = addr;
}

static void xq_close(struct xq *x)
{
	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		if (x->port[p].xsk)
			xsk_socket__delete(x->port[p].xsk);
		x->port[p].xsk = NULL;
	}
	if (x->umem)
		xsk_umem__delete(x->umem);
	x->umem = NULL;
	if (x->area)
		munmap(x->area, x->area_len);
	x->area = NULL;
	free(x->free);
	x->free = NULL;
}

static void refill(struct xq *x, struct xport *xp)
{
	uint32_t have = xp->fill_size - xsk_prod_nb_free(&xp->fill, xp->fill_size);
	if (have >= xp->fill_target || !x->nfree)
		return;
	uint32_t want = xp->fill_target - have;
	if (want > x->nfree)
		want = x->nfree;
	uint32_t idx;
	uint32_t got = xsk_ring_prod__reserve(&xp->fill, want, &idx);
	for (uint32_t i = 0; i < got; i++)
		*xsk_ring_prod__fill_addr(&xp->fill, idx + i) = x->free[--x->nfree];
	xsk_ring_prod__submit(&xp->fill, got);
}

static void reclaim(struct sg_io *io, struct xq *x, struct xport *xp)
{
	uint32_t idx;
	uint32_t n = xsk_ring_cons__peek(&xp->comp, xp->comp_size, &idx);
	for (uint32_t i = 0; i < n; i++)
		free_push(x, chunk(io, *xsk_ring_cons__comp_addr(&xp->comp, idx + i)));
	xsk_ring_cons__release(&xp->comp, n);
	xp->tx_outstanding -= n;
}

static int xq_open(struct sg_io *io, struct xq *x, unsigned q,
                   const struct mode *m, bool retry_busy, struct sg_io_err *err)
{
	const struct sg_io_opts *o = &io->opts;
	uint32_t fill_size = o->rx_ring * 2;
	/* Enough for both fill rings at target, both RX rings full, both TX
	 * rings full and a burst in the worker's hands. */
	x->nframes = 4 * o->rx_ring + 2 * o->tx_ring + 2 * SG_IO_BATCH_MAX;
	x->area_len = (size_t)x->nframes * o->frame_size;
	x->area = mmap(NULL, x->area_len, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (x->area == MAP_FAILED) {
		x->area = NULL;
		return sg_io_fail(err, io->ifname[0], errno, "umem of %zu bytes",
		                  x->area_len);
	}
	x->free = malloc(sizeof(*x->free) * x->nframes);
	if (!x->free)
		return sg_io_fail(err, io->ifname[0], ENOMEM, "umem free list");
	x->nfree = 0;
	for (uint32_t i = x->nframes; i-- > 0;)
		free_push(x, (uint64_t)i * o->frame_size);

	struct xsk_umem_config uc = {
		.fill_size = fill_size,
		.comp_size = o->tx_ring,
		.frame_size = o->frame_size,
		.frame_headroom = 0,
		.flags = 0,
	};
	struct xport *lan = &x->port[0];
	int rc = xsk_umem__create(&x->umem, x->area, x->area_len, &lan->fill,
	                          &lan->comp, &uc);
	if (rc) {
		x->umem = NULL;
		return sg_io_fail(err, io->ifname[0], rc, "AF_XDP umem, queue %u", q);
	}

	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		struct xport *xp = &x->port[p];
		struct xsk_socket_config sc = {
			.rx_size = o->rx_ring,
			.tx_size = o->tx_ring,
			.libxdp_flags = 0,
			.xdp_flags = m->xdp_flags,
			.bind_flags = m->bind_flags,
		};
		/* A socket of a failed attempt in another mode lets go of its
		 * queue only once the kernel's deferred release has run: until
		 * then binding the queue again gives EBUSY. */
		for (int t = 0; ; t++) {
			rc = xsk_socket__create_shared(&xp->xsk, io->ifname[p], q,
			                               x->umem, &xp->rx, &xp->tx,
			                               &xp->fill, &xp->comp, &sc);
			if (rc != -EBUSY || !retry_busy || t >= BUSY_RETRIES)
				break;
			nanosleep(&(struct timespec){ 0, BUSY_WAIT_NS }, NULL);
		}
		if (rc) {
			xp->xsk = NULL;
			return sg_io_fail(err, io->ifname[p], rc,
			                  "AF_XDP socket (%s), queue %u", m->name, q);
		}
		xp->tx_size = o->tx_ring;
		xp->fill_size = fill_size;
		xp->comp_size = o->tx_ring;
		xp->fill_target = o->rx_ring;
		xp->tx_outstanding = 0;
	}
	for (unsigned p = 0; p < SG_IO_PORTS; p++)
		refill(x, &x->port[p]);
	return 0;
}

static void afx_close(struct sg_io *io)
{
	struct afx *a = io->priv;
	if (!a)
		return;
	sg_xdp_host_listen(io);
	if (a->q)
		for (unsigned q = 0; q < io->nq; q++)
			xq_close(&a->q[q]);
	for (unsigned p = 0; p < SG_IO_PORTS; p++)
		if (a->ifindex[p] && a->opened)
			sg_xdp_host_check_prog_left(io, a->ifindex[p], p);
	sg_xdp_host_quiet(LOG_WARNING);
	free(a->q);
	free(a);
	io->priv = NULL;
}

static bool zc_bound(struct xport *xp)
{
	struct xdp_options opt = {0};
	socklen_t l = sizeof(opt);
	if (getsockopt(xsk_socket__fd(xp->xsk), SOL_XDP, XDP_OPTIONS, &opt, &l))
		return false;
	return opt.flags & XDP_OPTIONS_ZEROCOPY;
}

/* What AF_XDP cannot serve on port p is refused before anything is set
 * up.  May raise the umem chunk to a page for a large MTU. */
static int check_port(struct sg_io *io, struct afx *a, unsigned p,
                      struct sg_io_err *err)
{
	const char *ifn = io->ifname[p];
	a->ifindex[p] = (int)if_nametoindex(ifn);
	if (!a->ifindex[p])
		return sg_io_fail(err, ifn, ENODEV, "AF_XDP open");

	/* Socket i serves receive queue i; a queue without one is a silent
	 * hole in the bridge. */
	unsigned have = sg_xdp_host_rx_queues(ifn);
	if (have && have < io->nq)
		return sg_io_fail(err, ifn, EINVAL, "AF_XDP: %u receive queue%s for "
		                  "%u threads, one per queue; fix: `ethtool -L %s "
		                  "combined %u` or --threads %u", have,
		                  have > 1 ? "s" : "", io->nq, ifn, io->nq, have);
	if (have > io->nq)
		return sg_io_fail(err, ifn, EINVAL, "AF_XDP: %u receive queues for "
		                  "%u thread%s: frames on queue %u%s would bypass us "
		                  "to the host stack; fix: `ethtool -L %s combined %u` "
		                  "or --threads %u", have, io->nq, io->nq > 1 ? "s" : "",
		                  io->nq, have - io->nq > 1 ? " and up" : "", ifn,
		                  io->nq, have);

	/* One chunk holds one frame (no multi-buffer): the largest frame the
	 * MTU allows, with two tags, after the kernel's XDP headroom. */
	unsigned mtu = sg_xdp_host_mtu(ifn);
	unsigned need = mtu + ETH_FRAME_OVERHEAD + XDP_HEADROOM;
	if (need > MAX_CHUNK)
		return sg_io_fail(err, ifn, EMSGSIZE, "MTU %u is too large for "
		                  "AF_XDP without multi-buffer (at most %u); use --io "
		                  "afpacket or a smaller MTU", mtu,
		                  MAX_CHUNK - ETH_FRAME_OVERHEAD - XDP_HEADROOM);
	if (need > io->opts.frame_size) {
		sg_io_log(io, LOG_INFO, "%s: MTU %u needs %u-byte umem chunks", ifn,
		          mtu, MAX_CHUNK);
		io->opts.frame_size = MAX_CHUNK;
	}
	return 0;
}

/* Best first; the first that binds every queue of both ports is used. */
static const struct mode all_modes[] = {
	{ XDP_FLAGS_DRV_MODE, XDP_ZEROCOPY | XDP_USE_NEED_WAKEUP, "native, zero-copy" },
	{ XDP_FLAGS_DRV_MODE, XDP_COPY | XDP_USE_NEED_WAKEUP,     "native, copy" },
	{ XDP_FLAGS_SKB_MODE, XDP_COPY | XDP_USE_NEED_WAKEUP,     "skb, copy" },
};
#define NMODES (sizeof(all_modes) / sizeof(all_modes[0]))

/* The modes the options allow, best first. */
static unsigned choose_modes(const struct sg_io_opts *o, struct mode modes[NMODES])
{
	unsigned nm = 0;
	for (unsigned i = 0; i < NMODES; i++) {
		bool drv = all_modes[i].xdp_flags == XDP_FLAGS_DRV_MODE;
		bool zc = all_modes[i].bind_flags & XDP_ZEROCOPY;
		if (zc && !o->zerocopy)
			continue;
		if (o->xdp_mode == SG_IO_XDP_DRV && !drv)
			continue;
		if (o->xdp_mode == SG_IO_XDP_SKB && drv)
			continue;
		modes[nm++] = all_modes[i];
	}
	return nm;
}

/* Opens every queue in the first of modes[] that binds them all.  On
 * failure err tells the best mode's reason, unless that mode merely was
 * unsupported. */
static int try_modes(struct sg_io *io, struct afx *a, const struct mode *modes,
                     unsigned nm, const struct mode **used, struct sg_io_err *err)
{
	struct sg_io_err first = { .err = 0 };
	for (unsigned i = 0; i < nm; i++) {
		struct sg_io_err e = { .err = 0 };
		int rc = 0;
		for (unsigned q = 0; q < io->nq && !rc; q++)
			rc = xq_open(io, &a->q[q], q, &modes[i], i > 0, &e);
		if (!rc) {
			*used = &modes[i];
			/* A driver without the better mode is no news; a refusal
			 * of it is: the operator gets a slower path and can fix
			 * why (a veth's peer with more TX queues than ours). */
			if (first.err && first.err != EOPNOTSUPP)
				sg_io_log(io, LOG_WARNING, "AF_XDP falls back to %s "
				          "mode: %s", modes[i].name, first.msg);
			return 0;
		}
		if (!first.err || (first.err == EOPNOTSUPP && e.err != EOPNOTSUPP))
			first = e;
		sg_io_log(io, LOG_DEBUG, "AF_XDP %s failed: %s", modes[i].name, e.msg);
		for (unsigned q = 0; q < io->nq; q++)
			xq_close(&a->q[q]);
		/* A busy device or missing rights will not improve in another mode. */
		if (rc == -EBUSY || rc == -EPERM || rc == -ENODEV)
			break;
	}
	if (!first.err)
		sg_io_fail(&first, io->ifname[0], EOPNOTSUPP, "AF_XDP: no mode left to try");
	if (err)
		*err = first;
	return -first.err;
}

static void describe(struct sg_io *io, struct afx *a, const struct mode *used)
{
	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		bool zc = zc_bound(&a->q[0].port[p]);
		snprintf(io->desc[p], sizeof(io->desc[p]),
		         "afxdp %s mode, %s, %u queue%s, shared umem per queue, %s",
		         used->xdp_flags == XDP_FLAGS_DRV_MODE ? "native" : "skb",
		         zc ? "zero-copy" : "copy", io->nq, io->nq > 1 ? "s" : "",
		         sg_xdp_host_dispatcher_used(a->ifindex[p]) ? "libxdp dispatcher" :
		         "single program (no libxdp dispatcher)");
	}
}

static int afx_open(struct sg_io *io, struct sg_io_err *err)
{
	struct afx *a = calloc(1, sizeof(*a));
	if (!a)
		return sg_io_fail(err, NULL, ENOMEM, "afxdp state");
	io->priv = a;
	a->q = calloc(io->nq, sizeof(*a->q));
	if (!a->q) {
		afx_close(io);
		return sg_io_fail(err, NULL, ENOMEM, "afxdp state");
	}
	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		int rc = check_port(io, a, p, err);
		if (rc) {
			afx_close(io);
			return rc;
		}
	}

	sg_xdp_host_listen(io);
	sg_xdp_host_prepare(io);
	struct mode modes[NMODES];
	unsigned nm = choose_modes(&io->opts, modes);
	const struct mode *used = NULL;
	int rc = try_modes(io, a, modes, nm, &used, err);
	sg_xdp_host_quiet(rc ? LOG_WARNING : LOG_DEBUG);
	if (rc) {
		afx_close(io);
		return rc;
	}
	a->xdp_flags = used->xdp_flags;
	a->opened = true;
	describe(io, a, used);
	return 0;
}

static inline struct xq *xq_of(struct sg_io *io, unsigned q)
{
	struct afx *a = io->priv;
	return &a->q[q];
}

static int afx_rx(struct sg_io *io, unsigned port, unsigned q,
                  struct sg_io_frame *f, unsigned max)
{
	struct xq *x = xq_of(io, q);
	struct xport *xp = &x->port[port];
	struct sg_io_stats *st = sg_io_st(io, port, q);
	uint32_t idx;
	uint32_t n = xsk_ring_cons__peek(&xp->rx, max, &idx);
	if (!n) {
		if (xsk_ring_prod__needs_wakeup(&xp->fill))
			(void)recvfrom(xsk_socket__fd(xp->xsk), NULL, 0, MSG_DONTWAIT,
			               NULL, NULL);
		return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&xp->rx, idx + i);
		f[i].data = xsk_umem__get_data(x->area, d->addr);
		f[i].len = d->len;
		f[i].origin = 1 + port;
		f[i].priv = d->addr;
		st->c[SG_IO_STAT_RX_BYTES] += d->len;
	}
	xsk_ring_cons__release(&xp->rx, n);
	st->c[SG_IO_STAT_RX_FRAMES] += n;
	return (int)n;
}

/* Submitted descriptors the kernel has not taken from the TX ring yet. */
static bool tx_waiting(struct xport *xp)
{
	return xsk_prod_nb_free(&xp->tx, xp->tx_size) < xp->tx_size;
}

static void kick_tx(struct xport *xp)
{
	/* Copy mode sends at most 32 descriptors per sendto (EAGAIN: more
	 * left); stop once the kernel has taken every submitted one. */
	int fd = xsk_socket__fd(xp->xsk);
	for (int i = 0; i < KICK_MAX; i++) {
		if (!xsk_ring_prod__needs_wakeup(&xp->tx))
			return;
		if (sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
			return;
		if (errno != EAGAIN && errno != EBUSY)
			return;
		if (!tx_waiting(xp))
			return;
	}
}

/* Whether f can go on a TX ring.  A frame of the caller's needs a free
 * chunk to be copied into: *chunks counts those left.  Called twice per
 * frame, to count and to fill, with the same answers both times. */
static bool tx_fits(const struct sg_io *io, const struct sg_io_frame *f,
                    uint32_t *chunks)
{
	uint32_t fs = io->opts.frame_size;
	if (f->origin != SG_IO_ORIGIN_CALLER)
		return f->len <= fs - (f->priv & (fs - 1));
	if (!*chunks || f->len > fs)
		return false;
	(*chunks)--;
	return true;
}

/* The umem address f goes out from: its own chunk, or a free one it is
 * copied into. */
static uint64_t tx_addr(struct xq *x, const struct sg_io_frame *f)
{
	if (f->origin != SG_IO_ORIGIN_CALLER)
		return f->priv;
	uint64_t addr = x->free[--x->nfree];
	memcpy(xsk_umem__get_data(x->area, addr), f->data, f->len);
	return addr;
}

static int afx_tx(struct sg_io *io, unsigned port, unsigned q,
                  struct sg_io_frame *f, unsigned n)
{
	struct xq *x = xq_of(io, q);
	struct xport *xp = &x->port[port];
	struct sg_io_stats *st = sg_io_st(io, port, q);

	reclaim(io, x, xp);
	/* Count what will be written, then reserve exactly that many. */
	uint32_t room = xsk_prod_nb_free(&xp->tx, n);
	uint32_t chunks = x->nfree, take = 0;
	for (unsigned i = 0; i < n && take < room; i++)
		take += tx_fits(io, &f[i], &chunks);
	uint32_t idx = 0;
	if (take && xsk_ring_prod__reserve(&xp->tx, take, &idx) != take)
		take = 0;           /* not after nb_free said there is room */

	uint32_t used = 0;
	chunks = x->nfree;
	for (unsigned i = 0; i < n; i++) {
		if (used == take || !tx_fits(io, &f[i], &chunks)) {
			if (f[i].origin != SG_IO_ORIGIN_CALLER)
				free_push(x, chunk(io, f[i].priv));
			st->c[SG_IO_STAT_TX_DROPS]++;
			continue;
		}
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&xp->tx, idx + used);
		d->addr = tx_addr(x, &f[i]);
		d->len = f[i].len;
		d->options = 0;
		st->c[SG_IO_STAT_TX_BYTES] += f[i].len;
		used++;
	}
	if (used) {
		xsk_ring_prod__submit(&xp->tx, used);
		xp->tx_outstanding += used;
		st->c[SG_IO_STAT_TX_FRAMES] += used;
		kick_tx(xp);
	}
	return (int)used;
}

static void afx_release(struct sg_io *io, unsigned port, unsigned q,
                        struct sg_io_frame *f, unsigned n)
{
	(void)port;
	struct xq *x = xq_of(io, q);
	for (unsigned i = 0; i < n; i++)
		if (f[i].origin != SG_IO_ORIGIN_CALLER)
			free_push(x, chunk(io, f[i].priv));
}

static void afx_flush(struct sg_io *io, unsigned q)
{
	struct xq *x = xq_of(io, q);
	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		struct xport *xp = &x->port[p];
		reclaim(io, x, xp);
		/* Kick only for descriptors the kernel has not taken yet (the
		 * last sendto stopped at its budget); sent-but-not-completed
		 * ones need no syscall. */
		if (xp->tx_outstanding && tx_waiting(xp))
			kick_tx(xp);
	}
	for (unsigned p = 0; p < SG_IO_PORTS; p++)
		refill(x, &x->port[p]);
}

static int afx_fd(struct sg_io *io, unsigned port, unsigned q)
{
	return xsk_socket__fd(xq_of(io, q)->port[port].xsk);
}

static void afx_kstats(struct sg_io *io, unsigned port, unsigned q,
                       struct sg_io_stats *st)
{
	struct xdp_statistics xs = {0};
	socklen_t l = sizeof(xs);
	if (getsockopt(afx_fd(io, port, q), SOL_XDP, XDP_STATISTICS, &xs, &l) == 0)
		st->c[SG_IO_STAT_RX_KERNEL_DROPS] += xs.rx_dropped + xs.rx_ring_full;
}

const struct sg_io_ops sg_io_afxdp_ops = {
	.name = "afxdp",
	.open = afx_open,
	.close = afx_close,
	.rx = afx_rx,
	.tx = afx_tx,
	.release = afx_release,
	.flush = afx_flush,
	.fd = afx_fd,
	.kstats = afx_kstats,
};
