/* mem backend: frames live in memory rings, for tests and the benchmark.
 *
 * Per (port, queue) two single-producer/single-consumer rings of fixed
 * slots (frame_size bytes each):
 *
 *   rx: sg_io_mem_inject (any one thread)  ->  sg_io_rx_burst (worker q)
 *   tx: sg_io_tx_burst (worker q)          ->  sg_io_mem_take (any one thread)
 *
 *        tail                      head
 *         v                         v
 *   [ .. | pending | ready ...     | free ... ]
 *
 * rx_burst hands out slots in place (zero-copy) and only moves the tail
 * past them at the next rx_burst, which is when io.h says they are back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/backend.h"

struct ring {
	uint32_t head;              /* written by the producer */
	uint8_t pad0[60];
	uint32_t tail;              /* written by the consumer */
	uint8_t pad1[60];
	uint32_t mask;
	uint32_t slot_size;
	uint32_t pending;           /* rx: handed out, not yet retired */
	uint32_t *len;
	uint8_t *buf;
};

struct mem_q {
	struct ring rx, tx;
};

struct mem {
	struct mem_q *q[SG_IO_PORTS];   /* [nq] */
};

static int ring_init(struct ring *r, unsigned n, unsigned slot)
{
	memset(r, 0, sizeof(*r));
	r->mask = n - 1;
	r->slot_size = slot;
	r->len = calloc(n, sizeof(*r->len));
	r->buf = calloc(n, slot);
	return r->len && r->buf ? 0 : -ENOMEM;
}

static void ring_free(struct ring *r)
{
	free(r->len);
	free(r->buf);
}

static inline uint8_t *slot(struct ring *r, uint32_t i)
{
	return r->buf + (size_t)(i & r->mask) * r->slot_size;
}

static void mem_close(struct sg_io *io)
{
	struct mem *m = io->priv;
	if (!m)
		return;
	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		if (!m->q[p])
			continue;
		for (unsigned q = 0; q < io->nq; q++) {
			ring_free(&m->q[p][q].rx);
			ring_free(&m->q[p][q].tx);
		}
		free(m->q[p]);
	}
	free(m);
	io->priv = NULL;
}

static int mem_open(struct sg_io *io, struct sg_io_err *err)
{
	struct mem *m = calloc(1, sizeof(*m));
	if (!m)
		return sg_io_fail(err, NULL, ENOMEM, "mem rings");
	io->priv = m;
	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		m->q[p] = calloc(io->nq, sizeof(struct mem_q));
		if (!m->q[p])
			goto nomem;
		for (unsigned q = 0; q < io->nq; q++) {
			if (ring_init(&m->q[p][q].rx, io->opts.rx_ring, io->opts.frame_size) ||
			    ring_init(&m->q[p][q].tx, io->opts.tx_ring, io->opts.frame_size))
				goto nomem;
		}
		snprintf(io->desc[p], sizeof(io->desc[p]), "mem, %u queue%s",
		         io->nq, io->nq > 1 ? "s" : "");
	}
	return 0;
nomem:
	mem_close(io);
	return sg_io_fail(err, NULL, ENOMEM, "mem rings");
}

static int mem_rx(struct sg_io *io, unsigned port, unsigned q,
                  struct sg_io_frame *f, unsigned max)
{
	struct mem *m = io->priv;
	struct ring *r = &m->q[port][q].rx;
	uint32_t tail = r->tail + r->pending;
	if (r->pending) {
		__atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
		r->pending = 0;
	}
	uint32_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	uint32_t n = head - tail;
	if (n > max)
		n = max;
	struct sg_io_stats *st = sg_io_st(io, port, q);
	for (uint32_t i = 0; i < n; i++) {
		f[i].data = slot(r, tail + i);
		f[i].len = r->len[(tail + i) & r->mask];
		f[i].origin = 1 + port;
		f[i].priv = tail + i;
		st->c[SG_IO_STAT_RX_BYTES] += f[i].len;
	}
	st->c[SG_IO_STAT_RX_FRAMES] += n;
	r->pending = n;
	return (int)n;
}

struct mem_tx {                 /* a tx burst in progress */
	struct ring *r;
	uint32_t head, tail;
};

static bool mem_put(void *ctx, const struct sg_io_frame *f)
{
	struct mem_tx *t = ctx;
	struct ring *r = t->r;
	if (f->len > r->slot_size || t->head - t->tail > r->mask)
		return false;
	memcpy(slot(r, t->head), f->data, f->len);
	r->len[t->head & r->mask] = f->len;
	t->head++;
	return true;
}

static int mem_tx(struct sg_io *io, unsigned port, unsigned q,
                  struct sg_io_frame *f, unsigned n)
{
	struct mem *m = io->priv;
	struct ring *r = &m->q[port][q].tx;
	struct mem_tx t = { r, r->head, __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) };
	unsigned sent = sg_io_tx_each(sg_io_st(io, port, q), f, n, mem_put, &t);
	__atomic_store_n(&r->head, t.head, __ATOMIC_RELEASE);
	return (int)sent;
}

static bool mem_ready(struct sg_io *io, unsigned q)
{
	struct mem *m = io->priv;
	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		struct ring *r = &m->q[p][q].rx;
		if (__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) != r->tail + r->pending)
			return true;
	}
	return false;
}

static void mem_wait(struct sg_io *io, unsigned q, int timeout_ms)
{
	const struct timespec step = { 0, 200 * 1000 };
	for (int i = 0; i < timeout_ms * 5 && !mem_ready(io, q); i++)
		nanosleep(&step, NULL);
}

const struct sg_io_ops sg_io_mem_ops = {
	.name = "mem",
	.open = mem_open,
	.close = mem_close,
	.rx = mem_rx,
	.tx = mem_tx,
	/* no release: slots are retired all at once at the next rx burst */
	.wait = mem_wait,
};

int sg_io_mem_inject(struct sg_io *io, unsigned port, unsigned q,
                     const uint8_t *frame, uint32_t len)
{
	if (io->kind != SG_IO_MEM || port >= SG_IO_PORTS || q >= io->nq)
		return -EINVAL;
	struct mem *m = io->priv;
	struct ring *r = &m->q[port][q].rx;
	if (len > r->slot_size)
		return -EMSGSIZE;
	uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	if (r->head - tail > r->mask)
		return -ENOBUFS;
	memcpy(slot(r, r->head), frame, len);
	r->len[r->head & r->mask] = len;
	__atomic_store_n(&r->head, r->head + 1, __ATOMIC_RELEASE);
	return 0;
}

int sg_io_mem_take(struct sg_io *io, unsigned port, unsigned q,
                   uint8_t *buf, uint32_t cap, uint32_t *len)
{
	if (io->kind != SG_IO_MEM || port >= SG_IO_PORTS || q >= io->nq)
		return -EINVAL;
	struct mem *m = io->priv;
	struct ring *r = &m->q[port][q].tx;
	uint32_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	if (head == r->tail)
		return -EAGAIN;
	uint32_t l = r->len[r->tail & r->mask];
	if (l > cap)
		return -EMSGSIZE;
	memcpy(buf, slot(r, r->tail), l);
	*len = l;
	__atomic_store_n(&r->tail, r->tail + 1, __ATOMIC_RELEASE);
	return 0;
}
