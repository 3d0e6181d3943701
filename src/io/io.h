/* Frame I/O for the two ports of the bridge, one interface, four backends.
 *
 *   afxdp     AF_XDP sockets (libxdp), one per (port, queue); the lan and
 *             wan sockets of queue i share one umem, so a received frame is
 *             forwarded by handing its umem address to the other port's TX
 *             ring: no copy in user space.
 *   afpacket  PACKET_MMAP: TPACKET_V3 RX blocks, TX ring sent in batches,
 *             PACKET_FANOUT_HASH across the queues; works on any interface.
 *             GSO super-frames of peers with TSO arrive whole and leave cut
 *             into the segments their sender's kernel would have cut.
 *   pcap      offline: RX reads capture files (one per port), TX appends to
 *             a capture file.  One queue.
 *   mem       in-memory single-producer/single-consumer rings, for tests
 *             and the benchmark (sg_io_mem_inject / sg_io_mem_take).
 *
 * Both ports are opened together (sg_io_open) because AF_XDP shares one
 * umem per queue between them.  Port numbers are those of enum sg_port in
 * core/proxy.h (0 = lan, 1 = wan); io does not include the core.
 *
 * Threading: everything on (port, q) for a given queue q is called by one
 * thread (worker q).  sg_io_stats may be called from any thread.
 *
 * Frame ownership, per (port, queue):
 *   sg_io_rx_burst hands out frames that point into the backend's buffers.
 *   Each one must be given back, before the next sg_io_rx_burst on the same
 *   (port, queue), either to sg_io_tx_burst (forward it, possibly rewritten
 *   in place, same or shorter length) or to sg_io_release (drop it).
 *   Frames the caller built itself are passed to sg_io_tx_burst with
 *   origin = SG_IO_ORIGIN_CALLER; the backend copies them.
 *
 * All functions returning int return 0 (or a count) or a negative errno.
 */
#ifndef SG_IO_IO_H
#define SG_IO_IO_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg_limits.h"

#define SG_IO_PORTS        2      /* lan, wan: same numbering as enum sg_port */
#define SG_IO_BATCH_MAX    256    /* largest burst any call handles */

#define SG_IO_DEFAULT_RING   2048 /* descriptors per RX/TX ring */
#define SG_IO_DEFAULT_FRAME  2048 /* bytes per buffer */
#define SG_IO_DEFAULT_BATCH  64

enum sg_io_kind {
	SG_IO_AUTO = 0,   /* afxdp, else afpacket (the reason is logged) */
	SG_IO_AFXDP,
	SG_IO_AFPACKET,
	SG_IO_PCAP,
	SG_IO_MEM,
};

enum sg_io_xdp_mode {
	SG_IO_XDP_AUTO = 0,  /* native (drv) where the driver has it, else skb */
	SG_IO_XDP_DRV,
	SG_IO_XDP_SKB,
};

/* Log levels are syslog's (LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG), and
 * SG_IO_LOG_TRACE below debug: libbpf's and libxdp's info and debug lines,
 * hundreds per start, shown only when asked for (synguard -vv). */
#define SG_IO_LOG_TRACE 8
typedef void (*sg_io_log_fn)(void *ctx, int level, const char *msg);

/* Formats a message for a log callback; nothing when fn is NULL. */
void sg_io_logf(sg_io_log_fn fn, void *ctx, int level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* An errno's name ("EBUSY"), for e or -e. */
const char *sg_errno_name(int e);

struct sg_io_opts {
	enum sg_io_kind kind;
	unsigned nqueues;            /* 1..SG_MAX_WORKERS (a worker per queue); pcap: 1;
	                              * afxdp: each interface's receive queue count */
	enum sg_io_xdp_mode xdp_mode;
	bool zerocopy;               /* AF_XDP: try zero-copy before copy mode */
	unsigned rx_ring;            /* descriptors, power of two */
	unsigned tx_ring;            /* descriptors, power of two */
	unsigned frame_size;         /* AF_XDP umem chunk: power of two, 2048..4096 */
	unsigned batch;              /* frames per burst, <= SG_IO_BATCH_MAX */
	const char *pcap_in[SG_IO_PORTS];  /* pcap: captures read as RX (NULL: none) */
	const char *pcap_out;        /* pcap: TX of both ports goes here (NULL: discard) */
	sg_io_log_fn log;            /* optional */
	void *log_ctx;
};

/* Why sg_io_open failed, ready to print:
 *   "lan0: AF_XDP socket, queue 0: EBUSY: another XDP program is attached; ..."
 */
struct sg_io_err {
	int err;                     /* positive errno */
	char ifname[IF_NAMESIZE];
	char msg[320];
};

/* Who owns a frame's buffer: the caller, or the RX side of a port. */
#define SG_IO_ORIGIN_CALLER 0u    /* 1 + port for received frames */

struct sg_io_frame {
	uint8_t *data;
	uint32_t len;
	uint32_t origin;             /* SG_IO_ORIGIN_CALLER or set by rx_burst */
	uint64_t priv;               /* backend's: umem address, slot ... */
};

/* Counters of one (port, queue); monotonic since open.  An array indexed
 * by enum sg_io_stat, so readers list them by name without knowing each. */
#define SG_IO_STATS_LIST(X)                                                    \
	X(RX_FRAMES,       "rx_frames")                                        \
	X(RX_BYTES,        "rx_bytes")                                         \
	X(TX_FRAMES,       "tx_frames")       /* queued for sending */         \
	X(TX_BYTES,        "tx_bytes")                                         \
	/* the kernel's count: dropped before we saw them (ring full) */       \
	X(RX_KERNEL_DROPS, "rx_kernel_drops")                                  \
	X(RX_BAD,          "rx_bad")          /* truncated or oversized */     \
	X(TX_DROPS,        "tx_drops")        /* no TX slot or buffer */       \
	/* GSO super-frames from peers with TSO/GSO (afpacket), received whole */ \
	X(RX_GSO,          "rx_gso")                                           \
	X(TX_GSO,          "tx_gso")          /* of them cut into segments, sent */ \
	X(TX_OVERSIZE,     "tx_oversize")     /* too large to send: dropped, also in tx_drops */

enum sg_io_stat {
#define SG_IO_STAT_ENUM(id, name) SG_IO_STAT_##id,
	SG_IO_STATS_LIST(SG_IO_STAT_ENUM)
#undef SG_IO_STAT_ENUM
	SG_IO_STAT__COUNT
};

struct sg_io_stats {
	uint64_t c[SG_IO_STAT__COUNT];
};

/* Stable snake_case names, for logs, the control socket and metrics. */
const char *sg_io_stat_name(enum sg_io_stat s);

struct sg_io;

void sg_io_opts_default(struct sg_io_opts *o);

/* Opens both ports.  ifname[port] names the interface (pcap, mem: a label
 * used in messages).  SG_IO_AUTO tries afxdp then afpacket and logs why it
 * fell back.  Needs CAP_NET_ADMIN + CAP_NET_RAW for afxdp/afpacket. */
int sg_io_open(struct sg_io **io, const char *const ifname[SG_IO_PORTS],
               const struct sg_io_opts *o, struct sg_io_err *err);
void sg_io_close(struct sg_io *io);

enum sg_io_kind sg_io_kind(const struct sg_io *io);
unsigned sg_io_nqueues(const struct sg_io *io);
/* One line on what was opened, e.g. "afxdp native copy, 2 queues". */
const char *sg_io_describe(const struct sg_io *io, unsigned port);
const char *sg_io_kind_name(enum sg_io_kind k);
int sg_io_kind_parse(const char *s, enum sg_io_kind *k);

/* Up to max (<= SG_IO_BATCH_MAX) received frames; 0 when none,
 * -ENODATA when the source is exhausted for good (pcap at end of file). */
int sg_io_rx_burst(struct sg_io *io, unsigned port, unsigned q,
                   struct sg_io_frame *f, unsigned max);

/* Sends n frames on (port, q).  Takes every frame: received ones are sent
 * zero-copy where the backend can, or copied and released; what cannot be
 * sent (ring full) is counted in tx_drops and released.  Returns the
 * number actually queued for sending. */
int sg_io_tx_burst(struct sg_io *io, unsigned port, unsigned q,
                   struct sg_io_frame *f, unsigned n);

/* Gives received frames back without sending them. */
void sg_io_release(struct sg_io *io, unsigned port, unsigned q,
                   struct sg_io_frame *f, unsigned n);

/* Pushes out what tx_burst queued, reclaims completed TX buffers and
 * refills RX.  Called once per worker loop iteration. */
void sg_io_flush(struct sg_io *io, unsigned q);

/* Sleeps until queue q has frames on either port or timeout_ms passes. */
void sg_io_wait(struct sg_io *io, unsigned q, int timeout_ms);

void sg_io_stats(struct sg_io *io, unsigned port, unsigned q,
                 struct sg_io_stats *st);

/* mem backend only (-EINVAL otherwise).  inject: a frame to be received on
 * (port, q); -ENOBUFS when the ring is full.  take: the oldest frame sent
 * on (port, q) into buf; -EAGAIN when none, -EMSGSIZE when cap is short.
 * One thread may inject/take while the worker of q runs. */
int sg_io_mem_inject(struct sg_io *io, unsigned port, unsigned q,
                     const uint8_t *frame, uint32_t len);
int sg_io_mem_take(struct sg_io *io, unsigned port, unsigned q,
                   uint8_t *buf, uint32_t cap, uint32_t *len);

#endif
