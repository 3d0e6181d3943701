/* afpacket backend: PACKET_MMAP, one socket per (port, queue).
 *
 * One mapping per socket, RX ring first, TX ring after it:
 *
 *   RX (TPACKET_V3): block_nr blocks of RX_BLOCK bytes; the kernel fills a
 *   block with variable-size frames and hands the whole block over
 *   (TP_STATUS_USER) when it is full or RX_RETIRE_MS has passed.
 *     | block desc | tpacket3_hdr | sockaddr_ll | .. | frame | .. next ..|
 *   TX (TPACKET_V3 frames, fixed size tx_frame):
 *     | tpacket3_hdr (48) | frame ... |
 *   We fill frames, mark them TP_STATUS_SEND_REQUEST and kick the kernel
 *   with one sendto() per burst, and again at flush for as long as any
 *   wait (the kernel leaves them when the driver refuses one).
 *
 * Queues: the sockets of a port join one PACKET_FANOUT_HASH group, so a
 * flow stays on one queue.  PACKET_IGNORE_OUTGOING keeps our own
 * transmissions out of RX; PACKET_QDISC_BYPASS skips the qdisc.
 *
 * The kernel strips the outer VLAN tag into tp_vlan_tci before packet
 * sockets see a frame; we put it back so the core sees the wire frame.
 *
 * Peers with offloads (veth and virtio ends of containers and VMs, TSO and
 * TX checksum on by default) hand the port GSO super-frames of up to 64 KiB
 * with partial checksums, frames no wire carries.  PACKET_VNET_HDR puts a
 * struct virtio_net_hdr in front of every frame, both ways.  On receive it
 * says GSO type and size (a super-frame arrives whole in an RX block); it
 * travels to TX in sg_io_frame.priv, so a forwarded super-frame, rewritten
 * by the core (sequence numbers, windows), is cut here into the segments
 * the peer's kernel would have cut (io/gso.c), each in a TX slot: the flow
 * keeps its order, and nothing depends on the port's own TSO, which the
 * daemon turns off (the kernel drops a frame it must segment on the qdisc
 * bypass).  On transmit the header leaves the TCP/UDP checksum to the
 * kernel or the device (NEEDS_CSUM), so segments cost no pass over their
 * payload here.
 * Whatever cannot be carried is counted and logged once, with the setting
 * that avoids it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include "io/backend.h"
#include "io/gso.h"

#define RX_BLOCK        (256u * 1024)   /* bytes per RX block */
#define RX_RETIRE_MS    1               /* a partly filled block waits this long */
#define TX_BLOCK        (64u * 1024)
#define VLAN_HLEN       4
#define TX_DATA_OFF     TPACKET_ALIGN(sizeof(struct tpacket3_hdr))
#define VNET_HLEN       sizeof(struct virtio_net_hdr)

/* A received frame's virtio_net_hdr, kept in sg_io_frame.priv until TX:
 * bits 0-7 flags, 8-15 gso_type, 16-31 gso_size; 0 for a plain frame.  The
 * legacy header is in host byte order (vio_le() is the host's). */
#define META_FLAGS(m)     ((uint8_t)(m))
#define META_GSO_TYPE(m)  ((uint8_t)((m) >> 8))
#define META_GSO_SIZE(m)  ((uint16_t)((m) >> 16))

struct pq {                         /* one (port, queue) */
	int fd;
	uint8_t *map;
	size_t map_len;
	/* RX */
	uint8_t *rx;
	unsigned rx_nblk;
	unsigned blk;                   /* block being read */
	uint32_t blk_left;              /* frames left in it (0: not opened) */
	uint8_t *next;                  /* next frame in it */
	unsigned ret_from, ret_n;       /* blocks to hand back at next rx */
	/* TX */
	uint8_t *tx;
	unsigned tx_nfr;
	uint32_t tx_frame;
	unsigned tx_head;
	bool unkicked;                  /* frames marked since the last kick */
	unsigned vnet;                  /* VNET_HLEN, or 0 without PACKET_VNET_HDR */
	/* what was logged once already (worker only) */
	bool said_rx_big, said_tx_big;
	/* kernel counters, accumulated: PACKET_STATISTICS resets on read */
	pthread_mutex_t kst_lock;
	uint64_t kdrops;
};

struct afp {
	struct pq *pq[SG_IO_PORTS];     /* [nq] */
};

static void pq_close(struct pq *p)
{
	if (p->map && p->map != MAP_FAILED)
		munmap(p->map, p->map_len);
	if (p->fd >= 0)
		close(p->fd);
	pthread_mutex_destroy(&p->kst_lock);
	p->fd = -1;
	p->map = NULL;
}

static int if_mtu(const char *ifname, int fd)
{
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0)
		return 1500;
	return ifr.ifr_mtu;
}

/* The socket before its rings: version, loss, and the virtio_net_hdr in
 * front of every frame (it must be asked for before the rings exist). */
static int pq_socket(struct sg_io *io, struct pq *p, unsigned port, struct sg_io_err *err)
{
	const char *ifn = io->ifname[port];
	const int one = 1;
	int v = TPACKET_V3;

	p->fd = socket(AF_PACKET, SOCK_RAW, 0);   /* 0: nothing arrives before bind */
	if (p->fd < 0)
		return sg_io_fail(err, ifn, errno, "AF_PACKET socket");
	if (setsockopt(p->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0)
		return sg_io_fail(err, ifn, errno, "PACKET_VERSION V3");
	/* A frame the driver refuses is skipped, not left to stall the ring. */
	if (setsockopt(p->fd, SOL_PACKET, PACKET_LOSS, &one, sizeof(one)) < 0)
		return sg_io_fail(err, ifn, errno, "PACKET_LOSS");
	p->vnet = VNET_HLEN;
	if (setsockopt(p->fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0) {
		p->vnet = 0;
		sg_io_log(io, LOG_WARNING, "%s: PACKET_VNET_HDR: %s: GSO super-frames from peers "
		          "with TSO cannot be forwarded; on each peer: ethtool -K PEER tso off gso off",
		          ifn, strerror(errno));
	}
	return 0;
}

static int pq_rings(struct sg_io *io, struct pq *p, unsigned port, struct sg_io_err *err)
{
	const char *ifn = io->ifname[port];
	size_t rx_bytes = (size_t)io->opts.rx_ring * 2048;
	struct tpacket_req3 rq = {0};
	/* A block holds a whole GSO super-frame (64 KiB) several times over. */
	rq.tp_block_size = RX_BLOCK;
	rq.tp_block_nr = rx_bytes / RX_BLOCK < 4 ? 4 : rx_bytes / RX_BLOCK;
	rq.tp_frame_size = 2048;
	rq.tp_frame_nr = rq.tp_block_size / rq.tp_frame_size * rq.tp_block_nr;
	rq.tp_retire_blk_tov = RX_RETIRE_MS;
	if (setsockopt(p->fd, SOL_PACKET, PACKET_RX_RING, &rq, sizeof(rq)) < 0)
		return sg_io_fail(err, ifn, errno, "PACKET_RX_RING %u x %u bytes",
		                  rq.tp_block_nr, rq.tp_block_size);
	p->rx_nblk = rq.tp_block_nr;

	/* Room for the largest frame the MTU allows plus two tags; GSO
	 * super-frames are cut to that. */
	int mtu = if_mtu(ifn, p->fd);
	p->tx_frame = sg_io_pow2_ceil(TX_DATA_OFF + p->vnet + mtu + ETH_HLEN + 2 * VLAN_HLEN);
	if (p->tx_frame < io->opts.frame_size)
		p->tx_frame = io->opts.frame_size;
	struct tpacket_req3 tq = {0};
	tq.tp_block_size = p->tx_frame > TX_BLOCK ? p->tx_frame : TX_BLOCK;
	tq.tp_frame_size = p->tx_frame;
	unsigned per_blk = tq.tp_block_size / tq.tp_frame_size;
	tq.tp_block_nr = (io->opts.tx_ring + per_blk - 1) / per_blk;
	tq.tp_frame_nr = tq.tp_block_nr * per_blk;
	if (setsockopt(p->fd, SOL_PACKET, PACKET_TX_RING, &tq, sizeof(tq)) < 0)
		return sg_io_fail(err, ifn, errno, "PACKET_TX_RING %u x %u bytes",
		                  tq.tp_block_nr, tq.tp_block_size);
	p->tx_nfr = tq.tp_frame_nr;

	size_t rx_len = (size_t)rq.tp_block_size * rq.tp_block_nr;
	p->map_len = rx_len + (size_t)tq.tp_block_size * tq.tp_block_nr;
	p->map = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE,
	              MAP_SHARED | MAP_LOCKED | MAP_POPULATE, p->fd, 0);
	if (p->map == MAP_FAILED) {
		/* MAP_LOCKED can fail under a low RLIMIT_MEMLOCK: try unlocked. */
		p->map = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE,
		              MAP_SHARED | MAP_POPULATE, p->fd, 0);
		if (p->map == MAP_FAILED)
			return sg_io_fail(err, ifn, errno, "mmap of %zu bytes of rings",
			                  p->map_len);
	}
	p->rx = p->map;
	p->tx = p->map + rx_len;
	return 0;
}

static int pq_open(struct sg_io *io, struct pq *p, unsigned port, unsigned q,
                   int ifindex, struct sg_io_err *err)
{
	const char *ifn = io->ifname[port];
	const int one = 1;
	int rc = pq_socket(io, p, port, err);

	if (rc == 0)
		rc = pq_rings(io, p, port, err);
	if (rc)
		return rc;
	if (setsockopt(p->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0)
		sg_io_log(io, LOG_DEBUG, "%s: PACKET_QDISC_BYPASS: %s", ifn,
		          strerror(errno));
	if (setsockopt(p->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0)
		return sg_io_fail(err, ifn, errno, "PACKET_IGNORE_OUTGOING "
		                  "(kernel >= 4.20 needed)");

	struct sockaddr_ll sll = {0};
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifindex;
	if (bind(p->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return sg_io_fail(err, ifn, errno, "bind AF_PACKET, queue %u", q);

	if (io->nq > 1) {
		/* One group per port; the id only has to be unique on this host. */
		int id = (int)((getpid() * 2u + port) & 0xffff);
		int arg = id | (PACKET_FANOUT_HASH << 16);
		if (setsockopt(p->fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) < 0)
			return sg_io_fail(err, ifn, errno, "PACKET_FANOUT hash, queue %u", q);
	}
	return 0;
}

static void afp_close(struct sg_io *io)
{
	struct afp *a = io->priv;
	if (!a)
		return;
	for (unsigned port = 0; port < SG_IO_PORTS; port++) {
		if (!a->pq[port])
			continue;
		for (unsigned q = 0; q < io->nq; q++)
			pq_close(&a->pq[port][q]);
		free(a->pq[port]);
	}
	free(a);
	io->priv = NULL;
}

static int afp_open(struct sg_io *io, struct sg_io_err *err)
{
	struct afp *a = calloc(1, sizeof(*a));
	if (!a)
		return sg_io_fail(err, NULL, ENOMEM, "afpacket state");
	io->priv = a;
	int rc = 0;
	for (unsigned port = 0; port < SG_IO_PORTS; port++) {
		a->pq[port] = calloc(io->nq, sizeof(struct pq));
		if (!a->pq[port]) {
			rc = sg_io_fail(err, NULL, ENOMEM, "afpacket state");
			goto fail;
		}
		for (unsigned q = 0; q < io->nq; q++) {
			a->pq[port][q].fd = -1;
			pthread_mutex_init(&a->pq[port][q].kst_lock, NULL);
		}
	}
	for (unsigned port = 0; port < SG_IO_PORTS; port++) {
		int ifindex = (int)if_nametoindex(io->ifname[port]);
		if (!ifindex) {
			rc = sg_io_fail(err, io->ifname[port], ENODEV, "AF_PACKET open");
			goto fail;
		}
		for (unsigned q = 0; q < io->nq; q++) {
			rc = pq_open(io, &a->pq[port][q], port, q, ifindex, err);
			if (rc)
				goto fail;
		}
		snprintf(io->desc[port], sizeof(io->desc[port]),
		         "afpacket TPACKET_V3, %u queue%s%s, %s", io->nq,
		         io->nq > 1 ? "s" : "", io->nq > 1 ? " (fanout hash)" : "",
		         a->pq[port][0].vnet ? "virtio_net_hdr (GSO, partial checksums)"
		                             : "no GSO (PACKET_VNET_HDR refused)");
	}
	return 0;
fail:
	afp_close(io);
	return rc;
}

static inline struct pq *pq_of(struct sg_io *io, unsigned port, unsigned q)
{
	struct afp *a = io->priv;
	return &a->pq[port][q];
}

static inline struct tpacket_block_desc *blk_desc(struct pq *p, unsigned b)
{
	return (struct tpacket_block_desc *)(p->rx + (size_t)b * RX_BLOCK);
}

static void return_blocks(struct pq *p)
{
	for (unsigned i = 0; i < p->ret_n; i++) {
		struct tpacket_block_desc *bd = blk_desc(p, (p->ret_from + i) % p->rx_nblk);
		__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL,
		                 __ATOMIC_RELEASE);
	}
	p->ret_n = 0;
}

/* The virtio_net_hdr the kernel wrote in front of frame h, as priv. */
static inline uint64_t rx_meta(const struct pq *p, const struct tpacket3_hdr *h)
{
	struct virtio_net_hdr vh;

	if (!p->vnet)
		return 0;
	memcpy(&vh, (const uint8_t *)h + h->tp_mac - VNET_HLEN, VNET_HLEN);
	/* DATA_VALID says nothing TX can use. */
	return (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) | (uint64_t)vh.gso_type << 8 |
	       (uint64_t)vh.gso_size << 16;
}

/* A frame cut to what an RX block holds: a peer's GSO frames above 64 KiB
 * (BIG TCP) or GRO on the port.  Said once; counted in rx_bad. */
static void rx_too_big(struct sg_io *io, struct pq *p, unsigned port, uint32_t len)
{
	if (p->said_rx_big)
		return;
	p->said_rx_big = true;
	sg_io_log(io, LOG_WARNING, "%s: dropped a %u-byte frame, more than an RX block holds "
	          "(%u bytes): GRO on %s (ethtool -K %s gro off) or GSO frames above 64 KiB "
	          "from a peer (on the peer: ip link set dev PEER gso_max_size 65536)",
	          io->ifname[port], len, RX_BLOCK, io->ifname[port], io->ifname[port]);
}

/* Frame h of the current block as f, the outer VLAN tag back in place.
 * False when it is dropped (counted). */
static bool rx_frame(struct sg_io *io, struct pq *p, unsigned port, struct sg_io_stats *st,
                     struct tpacket3_hdr *h, struct sg_io_frame *f)
{
	uint8_t *d = (uint8_t *)h + h->tp_mac;
	uint32_t len = h->tp_snaplen;

	if (h->tp_snaplen < h->tp_len || len < ETH_HLEN) {
		st->c[SG_IO_STAT_RX_BAD]++;
		if (h->tp_snaplen < h->tp_len)
			rx_too_big(io, p, port, h->tp_len);
		return false;
	}
	/* Read before the tag below overwrites the header's last bytes. */
	f->priv = rx_meta(p, h);
	if (h->tp_status & TP_STATUS_VLAN_VALID) {
		/* The header and sockaddr_ll end well before tp_mac (and the
		 * virtio_net_hdr, read above), so the 4 bytes in front of the
		 * frame are ours to use. */
		if (h->tp_mac < sizeof(*h) + VLAN_HLEN) {
			st->c[SG_IO_STAT_RX_BAD]++;
			return false;
		}
		uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) &&
		                h->hv1.tp_vlan_tpid ? h->hv1.tp_vlan_tpid : ETH_P_8021Q;
		uint16_t tag[2] = { htons(tpid), htons(h->hv1.tp_vlan_tci) };
		memmove(d - VLAN_HLEN, d, 2 * ETH_ALEN);
		d -= VLAN_HLEN;
		memcpy(d + 2 * ETH_ALEN, tag, VLAN_HLEN);
		len += VLAN_HLEN;
	}
	if (META_GSO_TYPE(f->priv) != VIRTIO_NET_HDR_GSO_NONE)
		st->c[SG_IO_STAT_RX_GSO]++;
	f->data = d;
	f->len = len;
	f->origin = 1 + port;
	st->c[SG_IO_STAT_RX_BYTES] += len;
	return true;
}

static int afp_rx(struct sg_io *io, unsigned port, unsigned q,
                  struct sg_io_frame *f, unsigned max)
{
	struct pq *p = pq_of(io, port, q);
	struct sg_io_stats *st = sg_io_st(io, port, q);
	unsigned n = 0;

	return_blocks(p);
	while (n < max) {
		if (!p->blk_left) {
			/* Wrapped onto blocks this burst still holds: they look
			 * ready (TP_STATUS_USER) but were read already. */
			if (p->ret_n >= p->rx_nblk)
				break;
			struct tpacket_block_desc *bd = blk_desc(p, p->blk);
			uint32_t status = __atomic_load_n(&bd->hdr.bh1.block_status,
			                                  __ATOMIC_ACQUIRE);
			if (!(status & TP_STATUS_USER))
				break;
			p->blk_left = bd->hdr.bh1.num_pkts;
			p->next = (uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt;
			if (!p->blk_left) {
				/* Empty (the kernel does not hand these over, but
				 * if it did): give it back in order with the rest. */
				if (!p->ret_n)
					p->ret_from = p->blk;
				p->ret_n++;
				p->blk = (p->blk + 1) % p->rx_nblk;
				continue;
			}
		}
		struct tpacket3_hdr *h = (struct tpacket3_hdr *)p->next;
		p->next += h->tp_next_offset;
		p->blk_left--;
		if (!p->blk_left) {
			if (!p->ret_n)
				p->ret_from = p->blk;
			p->ret_n++;
			p->blk = (p->blk + 1) % p->rx_nblk;
		}
		if (rx_frame(io, p, port, st, h, &f[n]))
			n++;
	}
	st->c[SG_IO_STAT_RX_FRAMES] += n;
	return (int)n;
}

static inline uint32_t tx_status(const struct pq *p, unsigned i)
{
	const struct tpacket3_hdr *h = (const struct tpacket3_hdr *)
		(p->tx + (size_t)i * p->tx_frame);
	return __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
}

static inline bool tx_busy(const struct pq *p, unsigned i)
{
	return tx_status(p, i) & (TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING);
}

/* Frames marked for sending that the kernel has not taken yet.  It takes
 * them in ring order, so if any waits, the last one marked does. */
static bool tx_waiting(const struct pq *p)
{
	return tx_status(p, (p->tx_head + p->tx_nfr - 1) % p->tx_nfr) &
	       TP_STATUS_SEND_REQUEST;
}

static void kick(struct pq *p)
{
	/* When the driver refuses a frame (ENOBUFS: link down, queue full)
	 * the kernel stops at it and leaves it and the rest SEND_REQUEST;
	 * they go with the next sendto, and nothing but us makes one. */
	(void)sendto(p->fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
	p->unkicked = false;
}

struct afp_tx {                 /* a tx burst in progress */
	struct sg_io *io;
	unsigned port;
	struct pq *p;
	struct sg_io_stats *st;
	bool kicked;
};

/* Where the next TX slot's frame goes, behind its virtio_net_hdr; NULL
 * when that slot is still the kernel's even after a kick. */
static uint8_t *slot_get(struct afp_tx *t)
{
	struct pq *p = t->p;

	if (tx_busy(p, p->tx_head) && !t->kicked) {
		kick(p);
		t->kicked = true;
	}
	if (tx_busy(p, p->tx_head))
		return NULL;
	return p->tx + (size_t)p->tx_head * p->tx_frame + TX_DATA_OFF + p->vnet;
}

/* Marks the slot slot_get gave, holding len bytes of frame, for sending. */
static void slot_send(struct pq *p, const struct virtio_net_hdr *vh, uint32_t len)
{
	struct tpacket3_hdr *h = (struct tpacket3_hdr *)(p->tx + (size_t)p->tx_head * p->tx_frame);

	memcpy((uint8_t *)h + TX_DATA_OFF, vh, p->vnet);
	h->tp_len = p->vnet + len;
	h->tp_snaplen = h->tp_len;
	h->tp_next_offset = 0;
	__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
	p->tx_head = (p->tx_head + 1) % p->tx_nfr;
	p->unkicked = true;
}

/* A frame nothing here can carry: counted, said once. */
static bool tx_too_big(struct afp_tx *t, const struct sg_io_frame *f, const char *why)
{
	t->st->c[SG_IO_STAT_TX_OVERSIZE]++;
	if (!t->p->said_tx_big) {
		t->p->said_tx_big = true;
		sg_io_log(t->io, LOG_WARNING, "%s: dropped a %u-byte frame: %s (a TX slot holds "
		          "%u bytes)", t->io->ifname[t->port], f->len, why,
		          (unsigned)(t->p->tx_frame - TX_DATA_OFF - t->p->vnet));
	}
	return false;
}

/* A super-frame from a peer with TSO/GSO: what it is and whether its
 * segments fit a slot decide; then it is cut, one segment per TX slot.
 * False when not all of them went. */
static bool afp_put_gso(struct afp_tx *t, const struct sg_io_frame *f)
{
	struct sg_gso g;
	const char *why = sg_gso_start(&g, f->data, f->len, META_GSO_TYPE(f->priv),
	                               META_GSO_SIZE(f->priv),
	                               t->p->tx_frame - TX_DATA_OFF - t->p->vnet);

	if (why)
		return tx_too_big(t, f, why);
	while (sg_gso_more(&g)) {
		struct virtio_net_hdr vh;
		uint8_t *d = slot_get(t);

		if (!d)
			return false;
		slot_send(t->p, &vh, sg_gso_next(&g, d, &vh));
	}
	t->st->c[SG_IO_STAT_TX_GSO]++;
	return true;
}

/* Copies f into the next TX frame and marks it for sending, unless f does
 * not fit or that frame is still the kernel's even after a kick. */
static bool afp_put(void *ctx, const struct sg_io_frame *f)
{
	struct afp_tx *t = ctx;
	struct pq *p = t->p;
	struct virtio_net_hdr vh;
	uint8_t *d;

	if (f->origin != SG_IO_ORIGIN_CALLER && META_GSO_TYPE(f->priv) != VIRTIO_NET_HDR_GSO_NONE)
		return afp_put_gso(t, f);
	if (f->len > p->tx_frame - TX_DATA_OFF - p->vnet)
		return tx_too_big(t, f, "larger than the MTU (is the MTU of this port below "
		                  "the other's?)");
	d = slot_get(t);
	if (!d)
		return false;
	if (p->vnet && f->origin != SG_IO_ORIGIN_CALLER)
		sg_gso_plain(f->data, f->len, META_FLAGS(f->priv) & VIRTIO_NET_HDR_F_NEEDS_CSUM, &vh);
	else
		memset(&vh, 0, sizeof(vh));
	memcpy(d, f->data, f->len);
	slot_send(p, &vh, f->len);
	return true;
}

static int afp_tx(struct sg_io *io, unsigned port, unsigned q,
                  struct sg_io_frame *f, unsigned n)
{
	struct afp_tx t = { io, port, pq_of(io, port, q), sg_io_st(io, port, q), false };
	unsigned sent = sg_io_tx_each(t.st, f, n, afp_put, &t);
	if (t.p->unkicked)
		kick(t.p);
	return (int)sent;
}

/* Whatever still waits in a TX ring (a kick refused, a full ring) is
 * retried here, whether or not anything new was queued. */
static void afp_flush(struct sg_io *io, unsigned q)
{
	for (unsigned port = 0; port < SG_IO_PORTS; port++) {
		struct pq *p = pq_of(io, port, q);
		if (tx_waiting(p))
			kick(p);
	}
}

static int afp_fd(struct sg_io *io, unsigned port, unsigned q)
{
	return pq_of(io, port, q)->fd;
}

static void afp_kstats(struct sg_io *io, unsigned port, unsigned q,
                       struct sg_io_stats *st)
{
	struct pq *p = pq_of(io, port, q);
	struct tpacket_stats_v3 ks = {0};
	socklen_t l = sizeof(ks);
	pthread_mutex_lock(&p->kst_lock);
	if (getsockopt(p->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &l) == 0)
		p->kdrops += ks.tp_drops;
	st->c[SG_IO_STAT_RX_KERNEL_DROPS] += p->kdrops;
	pthread_mutex_unlock(&p->kst_lock);
}

const struct sg_io_ops sg_io_afpacket_ops = {
	.name = "afpacket",
	.open = afp_open,
	.close = afp_close,
	.rx = afp_rx,
	.tx = afp_tx,
	/* no release: blocks go back whole, at the next rx burst */
	.flush = afp_flush,
	.fd = afp_fd,
	.kstats = afp_kstats,
};
