/* Worker threads: the only code that touches frames outside the core. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/clock.h"
#include "daemon/worker.h"

_Static_assert(SG_IO_PORTS == SG_PORT_COUNT, "io ports and core ports agree");
_Static_assert(SG_PORT_LAN == 0 && SG_PORT_WAN == 1, "io numbers lan 0, wan 1");
/* Per-port counters are indexed RX_LAN + port. */
_Static_assert(SG_WORKER_STAT_RX_WAN == SG_WORKER_STAT_RX_LAN + SG_PORT_WAN &&
               SG_WORKER_STAT_TX_WAN == SG_WORKER_STAT_TX_LAN + SG_PORT_WAN,
               "worker counters per port follow the port numbers");

static const char *const stat_names[SG_WORKER_STAT__COUNT] = {
#define SG_WORKER_STAT_NAME(id, name) [SG_WORKER_STAT_##id] = name,
	SG_WORKER_STATS_LIST(SG_WORKER_STAT_NAME)
#undef SG_WORKER_STAT_NAME
};

const char *sg_worker_stat_name(enum sg_worker_stat s)
{
	return (unsigned)s < SG_WORKER_STAT__COUNT ? stat_names[s] : "invalid";
}

#define IDLE_SPINS     64     /* empty loops before sleeping in poll() */
#define IDLE_WAIT_MS   5      /* sleep bound: stop flag and ticks stay timely */
#define TICK_ROUNDS_MAX 64    /* tick calls per loop when its output fills up */

struct worker {
	struct sg_worker_stats st;     /* written by this worker only */
	struct sg_workers *ws;
	unsigned id;
	pthread_t thread;
	bool started;
	bool done;                     /* returned by itself: input exhausted */
	int init_rc;                   /* thread_init's result, once ready */
	struct sg_proxy_worker *pw;
	/* per-batch scratch, allocated at start */
	struct sg_io_frame *rx;        /* [batch] */
	struct sg_io_frame *rel;       /* [batch] frames to release */
	struct sg_io_frame *txq[SG_IO_PORTS];   /* [txq_cap] */
	unsigned ntx[SG_IO_PORTS];
	uint8_t *emit;                 /* [emit_cap][SG_OUT_FRAME_MAX] */
	unsigned nemit;
} __attribute__((aligned(64)));

struct sg_workers {
	struct sg_worker_config cfg;
	unsigned n;
	unsigned batch;
	unsigned txq_cap, emit_cap;
	int stop;                      /* atomic */
	struct worker *w;              /* [n] */
	pthread_mutex_t lock;          /* guards nready, with `ready` */
	pthread_cond_t ready;
	unsigned nready;               /* workers past thread_init */
};

static void send_all(struct sg_workers *ws, struct worker *w, unsigned q)
{
	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		unsigned n = w->ntx[p];
		if (!n)
			continue;
		int sent = sg_io_tx_burst(ws->cfg.io, p, q, w->txq[p], n);
		if (sent < 0)
			sent = 0;
		w->st.c[SG_WORKER_STAT_TX_LAN + p] += (unsigned)sent;
		w->st.c[SG_WORKER_STAT_TX_DROPS] += n - (unsigned)sent;
		w->ntx[p] = 0;
	}
	w->nemit = 0;
}

/* Points the core's output slots at free emit buffers, from slot `first`
 * of the emit area on (none when the area is used up). */
static void out_prepare_at(struct sg_workers *ws, struct worker *w, struct sg_out *out,
                           unsigned first)
{
	unsigned room = first < ws->emit_cap ? ws->emit_cap - first : 0;

	sg_out_init(out, w->emit + (size_t)first * SG_OUT_FRAME_MAX, room);
}

/* Queues what the core emitted; returns how many emit slots it used. */
static unsigned out_queue(struct worker *w, struct sg_out *out)
{
	for (unsigned i = 0; i < out->n && i < out->cap; i++) {
		unsigned p = out->f[i].port;
		if (p >= SG_IO_PORTS || out->f[i].len > SG_OUT_FRAME_MAX)
			continue;
		struct sg_io_frame *t = &w->txq[p][w->ntx[p]++];
		t->data = out->f[i].buf;
		t->len = out->f[i].len;
		t->origin = SG_IO_ORIGIN_CALLER;
		t->priv = 0;
		w->st.c[SG_WORKER_STAT_EMITTED]++;
	}
	return out->n < out->cap ? out->n : out->cap;
}

/* Sends a forwarded frame on, gives any other back.  The core has counted
 * the verdict already. */
static void apply_verdict(struct worker *w, struct sg_io_frame *f, enum sg_verdict v,
                          unsigned other, unsigned *nrel)
{
	if (v == SG_VERDICT_FORWARD)
		w->txq[other][w->ntx[other]++] = *f;
	else
		w->rel[(*nrel)++] = *f;
}

/* The whole burst to the core at once, so it can prefetch every frame's
 * connection entry before deciding the first.  Each frame gets SG_OUT_MAX
 * emit slots of its own (emit_cap has room for a burst on each port and
 * a tick). */
static void decide_burst(struct sg_workers *ws, struct worker *w, unsigned p, int n,
                         uint64_t now, unsigned *nrel)
{
	uint8_t *frames[SG_IO_BATCH_MAX];
	uint32_t lens[SG_IO_BATCH_MAX];
	enum sg_verdict v[SG_IO_BATCH_MAX];
	struct sg_out outs[SG_IO_BATCH_MAX];
	unsigned base = w->nemit;

	if (n <= 0 || n > SG_IO_BATCH_MAX)
		return;
	for (int i = 0; i < n; i++) {
		frames[i] = w->rx[i].data;
		lens[i] = w->rx[i].len;
		out_prepare_at(ws, w, &outs[i], base + (unsigned)i * SG_OUT_MAX);
	}
	ws->cfg.burst(w->pw, (enum sg_port)p, frames, lens, (unsigned)n, now, v, outs);
	for (int i = 0; i < n; i++) {
		apply_verdict(w, &w->rx[i], v[i], 1 - p, nrel);
		out_queue(w, &outs[i]);
	}
	w->nemit = base + (unsigned)n * SG_OUT_MAX;
	if (w->nemit > ws->emit_cap)
		w->nemit = ws->emit_cap;
}

/* One rx burst on port p of queue q. */
static int serve_port(struct sg_workers *ws, struct worker *w, unsigned q,
                      unsigned p, uint64_t now)
{
	int n = sg_io_rx_burst(ws->cfg.io, p, q, w->rx, ws->batch);
	if (n <= 0)
		return n;
	w->st.c[SG_WORKER_STAT_RX_LAN + p] += (unsigned)n;
	unsigned other = 1 - p;
	if (ws->cfg.bridge_only) {
		memcpy(&w->txq[other][w->ntx[other]], w->rx, sizeof(*w->rx) * (unsigned)n);
		w->ntx[other] += (unsigned)n;
		w->st.c[SG_WORKER_STAT_BRIDGED] += (unsigned)n;
		return n;
	}
	unsigned nrel = 0;
	decide_burst(ws, w, p, n, now, &nrel);
	if (nrel)
		sg_io_release(ws->cfg.io, p, q, w->rel, nrel);
	return n;
}

/* Runs the core's timers; a nonzero return means its output filled up:
 * send and call again, a bounded number of times per loop. */
static void tick(struct sg_workers *ws, struct worker *w, unsigned q, uint64_t now)
{
	struct sg_out out;
	for (unsigned round = 0; round < TICK_ROUNDS_MAX; round++) {
		out_prepare_at(ws, w, &out, w->nemit);
		int more = ws->cfg.tick(w->pw, now, &out);
		w->nemit += out_queue(w, &out);
		if (!more)
			break;
		send_all(ws, w, q);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct sg_workers *ws = w->ws;
	const unsigned q = w->id;
	const bool proxy = !ws->cfg.bridge_only;
	char name[16];
	snprintf(name, sizeof(name), "sg-worker-%u", q);
	pthread_setname_np(pthread_self(), name);
	int rc = ws->cfg.thread_init ? ws->cfg.thread_init() : 0;
	pthread_mutex_lock(&ws->lock);
	w->init_rc = rc;
	ws->nready++;
	pthread_cond_signal(&ws->ready);
	pthread_mutex_unlock(&ws->lock);
	if (rc)
		return NULL;               /* sg_workers_start stops us all */

	uint64_t last_tick = sg_clock_mono_ns();
	unsigned idle = 0;
	while (!__atomic_load_n(&ws->stop, __ATOMIC_RELAXED)) {
		uint64_t now = sg_clock_mono_ns();
		int got = 0, eof = 0;
		for (unsigned p = 0; p < SG_IO_PORTS; p++) {
			int n = serve_port(ws, w, q, p, now);
			if (n == -ENODATA)
				eof++;
			else if (n > 0)
				got += n;
		}
		/* After every batch (the core's quiescent point for its
		 * connection table) and at least every SG_PROXY_TICK_NS. */
		if (proxy && (got || now - last_tick >= SG_PROXY_TICK_NS)) {
			tick(ws, w, q, now);
			last_tick = now;
		}
		send_all(ws, w, q);
		sg_io_flush(ws->cfg.io, q);
		w->st.c[SG_WORKER_STAT_LOOPS]++;
		if (eof == SG_IO_PORTS) {
			__atomic_store_n(&w->done, true, __ATOMIC_RELEASE);
			break;
		}
		if (got) {
			idle = 0;
		} else if (++idle >= IDLE_SPINS) {
			w->st.c[SG_WORKER_STAT_IDLE_WAITS]++;
			sg_io_wait(ws->cfg.io, q, IDLE_WAIT_MS);
		}
	}
	/* Holds nothing of the core's any more: the others need not wait. */
	if (proxy && ws->cfg.offline)
		ws->cfg.offline(w->pw);
	return NULL;
}

static int cpu_for(const struct sg_worker_config *cfg, unsigned i,
                   const cpu_set_t *allowed)
{
	if (cfg->ncpus)
		return cfg->cpus[i % cfg->ncpus];
	int count = CPU_COUNT(allowed);
	if (count <= 0)
		return -1;
	int k = (int)(i % (unsigned)count);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, allowed) && k-- == 0)
			return c;
	return -1;
}

static void free_all(struct sg_workers *ws)
{
	if (ws->w) {
		for (unsigned i = 0; i < ws->n; i++) {
			struct worker *w = &ws->w[i];
			free(w->rx);
			free(w->rel);
			for (unsigned p = 0; p < SG_IO_PORTS; p++)
				free(w->txq[p]);
			free(w->emit);
		}
	}
	pthread_cond_destroy(&ws->ready);
	pthread_mutex_destroy(&ws->lock);
	free(ws->w);
	free(ws);
}

/* The configuration as the workers will use it: the core's functions
 * unless a test brought its own. */
static int check_config(struct sg_workers *ws, char *errbuf, size_t errlen)
{
	if (ws->cfg.bridge_only)
		return 0;
	if (!ws->cfg.burst && !ws->cfg.tick) {
		ws->cfg.burst = sg_proxy_process_burst;
		ws->cfg.tick = sg_proxy_tick;
		ws->cfg.offline = sg_proxy_worker_offline;
	} else if (!ws->cfg.burst || !ws->cfg.tick) {
		snprintf(errbuf, errlen, "workers: burst and tick go together");
		return -EINVAL;
	}
	if (!ws->cfg.proxy) {
		snprintf(errbuf, errlen, "workers: proxy mode without proxy handles");
		return -EINVAL;
	}
	return 0;
}

static int alloc_workers(struct sg_workers *ws)
{
	ws->w = calloc(ws->n, sizeof(*ws->w));
	if (!ws->w)
		return -ENOMEM;
	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];
		w->ws = ws;
		w->id = i;
		w->pw = ws->cfg.bridge_only ? NULL : ws->cfg.proxy[i];
		w->rx = calloc(ws->batch, sizeof(*w->rx));
		w->rel = calloc(ws->batch, sizeof(*w->rel));
		for (unsigned p = 0; p < SG_IO_PORTS; p++)
			w->txq[p] = calloc(ws->txq_cap, sizeof(*w->txq[p]));
		w->emit = calloc(ws->emit_cap, SG_OUT_FRAME_MAX);
		if (!w->rx || !w->rel || !w->txq[0] || !w->txq[1] || !w->emit)
			return -ENOMEM;
	}
	return 0;
}

/* Creates the threads, pinned unless told not to. */
static int spawn(struct sg_workers *ws, char *errbuf, size_t errlen)
{
	const struct sg_worker_config *cfg = &ws->cfg;
	cpu_set_t allowed;
	CPU_ZERO(&allowed);
	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		CPU_SET(0, &allowed);

	/* Workers never take signals: the main thread handles them. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = 0;
	for (unsigned i = 0; i < ws->n; i++) {
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		int cpu = -1;
		if (!cfg->no_pin) {
			cpu = cpu_for(cfg, i, &allowed);
			if (cpu < 0 || cpu >= CPU_SETSIZE) {
				snprintf(errbuf, errlen, "worker %u: no CPU to pin to "
				         "(cpu %d)", i, cpu);
				rc = -EINVAL;
				pthread_attr_destroy(&attr);
				break;
			}
			cpu_set_t one;
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			pthread_attr_setaffinity_np(&attr, sizeof(one), &one);
		}
		int e = pthread_create(&ws->w[i].thread, &attr, worker_main, &ws->w[i]);
		pthread_attr_destroy(&attr);
		if (e) {
			snprintf(errbuf, errlen, "worker %u: pthread_create%s%d: %s (%s)",
			         i, cpu >= 0 ? " pinned to cpu " : "", cpu,
			         strerrorname_np(e), strerror(e));
			rc = -e;
			break;
		}
		ws->w[i].started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* Waits until every started worker is past its thread_init. */
static int wait_ready(struct sg_workers *ws, char *errbuf, size_t errlen)
{
	unsigned started = 0;
	int rc = 0;

	for (unsigned i = 0; i < ws->n; i++)
		started += ws->w[i].started;
	pthread_mutex_lock(&ws->lock);
	while (ws->nready < started)
		pthread_cond_wait(&ws->ready, &ws->lock);
	pthread_mutex_unlock(&ws->lock);
	for (unsigned i = 0; i < ws->n && !rc; i++) {
		rc = ws->w[i].init_rc;
		if (rc)
			snprintf(errbuf, errlen, "worker %u: setting up the thread: %s (%s)", i,
			         strerrorname_np(-rc), strerror(-rc));
	}
	return rc;
}

int sg_workers_start(struct sg_workers **wsp, const struct sg_worker_config *cfg,
                     char *errbuf, size_t errlen)
{
	*wsp = NULL;
	if (!cfg->io) {
		snprintf(errbuf, errlen, "workers: no io");
		return -EINVAL;
	}
	unsigned n = sg_io_nqueues(cfg->io);
	if (n < 1 || n > SG_MAX_WORKERS) {
		snprintf(errbuf, errlen, "workers: %u queues, 1..%u supported", n,
		         SG_MAX_WORKERS);
		return -EINVAL;
	}
	struct sg_workers *ws = calloc(1, sizeof(*ws));
	if (!ws) {
		snprintf(errbuf, errlen, "workers: out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&ws->lock, NULL);
	pthread_cond_init(&ws->ready, NULL);
	ws->cfg = *cfg;
	ws->n = n;
	ws->batch = cfg->batch ? cfg->batch : SG_IO_DEFAULT_BATCH;
	if (ws->batch > SG_IO_BATCH_MAX)
		ws->batch = SG_IO_BATCH_MAX;
	/* A port's TX queue takes the other port's forwarded frames plus
	 * whatever the core emits for both ports' frames and one tick. */
	ws->emit_cap = (2 * ws->batch + 1) * SG_OUT_MAX;
	ws->txq_cap = ws->batch + ws->emit_cap;

	int rc = check_config(ws, errbuf, errlen);
	if (rc) {
		free_all(ws);
		return rc;
	}
	if (alloc_workers(ws)) {
		snprintf(errbuf, errlen, "workers: out of memory");
		free_all(ws);
		return -ENOMEM;
	}
	rc = spawn(ws, errbuf, errlen);
	if (!rc)
		rc = wait_ready(ws, errbuf, errlen);
	if (rc) {
		sg_workers_stop(ws);
		return rc;
	}
	*wsp = ws;
	return 0;
}

void sg_workers_halt(struct sg_workers *ws)
{
	__atomic_store_n(&ws->stop, 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < ws->n; i++) {
		if (ws->w[i].started) {
			pthread_join(ws->w[i].thread, NULL);
			ws->w[i].started = false;
		}
	}
}

void sg_workers_stop(struct sg_workers *ws)
{
	if (!ws)
		return;
	sg_workers_halt(ws);
	free_all(ws);
}

unsigned sg_workers_count(const struct sg_workers *ws)
{
	return ws->n;
}

static void add(struct sg_worker_stats *d, const volatile struct sg_worker_stats *s)
{
	for (unsigned k = 0; k < SG_WORKER_STAT__COUNT; k++)
		d->c[k] += s->c[k];
}

void sg_workers_stats(const struct sg_workers *ws, unsigned i,
                      struct sg_worker_stats *st)
{
	memset(st, 0, sizeof(*st));
	/* Unlocked reads of counters another thread increments: each 64-bit
	 * field is read whole; the sum is a snapshot, not an instant. */
	for (unsigned k = 0; k < ws->n; k++)
		if (i == SG_WORKERS_ALL || i == k)
			add(st, &ws->w[k].st);
}

bool sg_workers_finished(const struct sg_workers *ws)
{
	for (unsigned i = 0; i < ws->n; i++)
		if (!__atomic_load_n(&ws->w[i].done, __ATOMIC_ACQUIRE))
			return false;
	return true;
}
