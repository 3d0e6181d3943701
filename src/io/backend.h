/* Private to src/io: what every backend provides behind io.h. */
#ifndef SG_IO_BACKEND_H
#define SG_IO_BACKEND_H

#include "io/io.h"

/* A backend with nothing to do for release, flush, wait or kstats leaves
 * it NULL. */
struct sg_io_ops {
	const char *name;
	int  (*open)(struct sg_io *io, struct sg_io_err *err);
	void (*close)(struct sg_io *io);
	int  (*rx)(struct sg_io *io, unsigned port, unsigned q,
	           struct sg_io_frame *f, unsigned max);
	int  (*tx)(struct sg_io *io, unsigned port, unsigned q,
	           struct sg_io_frame *f, unsigned n);
	void (*release)(struct sg_io *io, unsigned port, unsigned q,
	                struct sg_io_frame *f, unsigned n);
	void (*flush)(struct sg_io *io, unsigned q);
	/* sg_io_wait: a backend with descriptors gives fd, polled readable
	 * when (port, q) has frames, and sg_io_wait polls both ports'; one
	 * without may give wait. */
	int  (*fd)(struct sg_io *io, unsigned port, unsigned q);
	void (*wait)(struct sg_io *io, unsigned q, int timeout_ms);
	/* Adds what the kernel counts (drops) to st; st already holds ours. */
	void (*kstats)(struct sg_io *io, unsigned port, unsigned q,
	               struct sg_io_stats *st);
};

struct sg_io {
	const struct sg_io_ops *ops;
	enum sg_io_kind kind;
	unsigned nq;
	struct sg_io_opts opts;
	char ifname[SG_IO_PORTS][IF_NAMESIZE];
	char desc[SG_IO_PORTS][128];
	/* [port][q], written by worker q only. */
	struct sg_io_stats *st[SG_IO_PORTS];
	void *priv;
};

extern const struct sg_io_ops sg_io_afxdp_ops;
extern const struct sg_io_ops sg_io_afpacket_ops;
extern const struct sg_io_ops sg_io_pcap_ops;
extern const struct sg_io_ops sg_io_mem_ops;

/* Fills err: "<ifname>: <what>: <ENAME>: <hint>". Returns -e. */
int sg_io_fail(struct sg_io_err *err, const char *ifname, int e,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void sg_io_log(const struct sg_io *io, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The smallest power of two >= v (1 for 0); 0 when there is none in 32
 * bits.  v is one exactly when v == sg_io_pow2_ceil(v). */
static inline uint32_t sg_io_pow2_ceil(uint32_t v)
{
	if (v <= 1)
		return 1;
	if (v > 1u << 31)
		return 0;
	return 1u << (32 - __builtin_clz(v - 1));
}

/* The TX loop of a backend that copies every frame out: put takes one
 * frame, or refuses it (no room, too long) and it is counted as a drop.
 * Returns how many were taken.  Inline, so put is called directly. */
static inline unsigned sg_io_tx_each(struct sg_io_stats *st,
                                     const struct sg_io_frame *f, unsigned n,
                                     bool (*put)(void *ctx, const struct sg_io_frame *f),
                                     void *ctx)
{
	unsigned sent = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!put(ctx, &f[i])) {
			st->c[SG_IO_STAT_TX_DROPS]++;
			continue;
		}
		st->c[SG_IO_STAT_TX_BYTES] += f[i].len;
		sent++;
	}
	st->c[SG_IO_STAT_TX_FRAMES] += sent;
	return sent;
}

static inline struct sg_io_stats *sg_io_st(struct sg_io *io, unsigned port,
                                           unsigned q)
{
	return &io->st[port][q];
}

#endif
