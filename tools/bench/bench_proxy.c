/* The proxy core fed from memory: SYN -> cookie SYN-ACK, an ACK flood
 * (ACKs whose ACK number is no cookie, for no connection), the handshake
 * (cookie ACK -> new connection -> server SYN-ACK), and established
 * traffic (per flow two 1514-byte segments server->client and one 64-byte
 * ACK back) over many flows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core/proxy.h"
#include "net/build.h"

#define NOW       (1000ull * 1000000000ull)
#define SYN_SET   4096u
#define SYN_ITERS 4000000u
#define EST_PKTS  6000000u
#define FRAME_CAP 1536u

/* One per thread, in an array: aligned so no thread's counts share a
 * line with the next thread's buffers. */
struct out_bufs {
	uint8_t b[SG_OUT_MAX][SG_OUT_FRAME_MAX];
	struct sg_out out;
} __attribute__((aligned(64)));

static void out_reset(struct out_bufs *o)
{
	sg_out_init(&o->out, o->b[0], SG_OUT_MAX);
}

/* Client t.i talks to one server; addresses differ per flow. */
static void flow_frame(struct sg_tcp_frame *f, unsigned t, unsigned i, int from_client)
{
	static const uint8_t cmac[6] = { 2, 0, 0, 0, 0, 1 }, smac[6] = { 2, 0, 0, 0, 0, 2 };
	uint8_t c[4] = { (uint8_t)(20 + t), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
	uint8_t s[4] = { 192, 0, 2, 10 };

	memset(f, 0, sizeof(*f));
	memcpy(f->src_mac, from_client ? cmac : smac, 6);
	memcpy(f->dst_mac, from_client ? smac : cmac, 6);
	f->family = 4;
	memcpy(f->saddr, from_client ? c : s, 4);
	memcpy(f->daddr, from_client ? s : c, 4);
	f->sport = from_client ? (uint16_t)(1024 + (i & 0x7fff)) : 443;
	f->dport = from_client ? 443 : (uint16_t)(1024 + (i & 0x7fff));
}

static const struct sg_tcp_opts linux_syn = {
	.present = SG_OPT_MSS | SG_OPT_WS | SG_OPT_SACKPERM | SG_OPT_TS,
	.mss = 1460, .wscale = 7, .tsval = 123456,
};

struct flow {
	uint32_t isn, cookie, ts_cookie;
	uint8_t *ack, *synack;           /* handshake frames */
	uint8_t *seg[3];                 /* established frames */
	uint16_t ack_len, synack_len, seg_len[3];
};

/* Output buffers for one burst; one per thread, aligned as out_bufs. */
struct burst_bufs {
	uint8_t b[SG_PROXY_BURST_MAX][SG_OUT_MAX][SG_OUT_FRAME_MAX];
	struct sg_out outs[SG_PROXY_BURST_MAX];
	enum sg_verdict v[SG_PROXY_BURST_MAX];
	uint8_t *frames[SG_PROXY_BURST_MAX];
	uint32_t lens[SG_PROXY_BURST_MAX];
} __attribute__((aligned(64)));

/* The buffers are the burst's for good (set up once, as a worker's TX
 * slots are); only the counts start again. */
static void burst_init(struct burst_bufs *bb)
{
	for (unsigned i = 0; i < SG_PROXY_BURST_MAX; i++)
		sg_out_init(&bb->outs[i], bb->b[i][0], SG_OUT_MAX);
}

static void burst_reset(struct burst_bufs *bb, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		bb->outs[i].n = 0;
}

static void run_burst(struct burst_bufs *bb, struct sg_proxy_worker *w, enum sg_port port, unsigned n)
{
	burst_reset(bb, n);
	sg_proxy_process_burst(w, port, bb->frames, bb->lens, n, NOW, bb->v, bb->outs);
}

struct proxy_state {
	struct sg_proxy *p;
	unsigned threads, flows;
	uint8_t *syns;                   /* threads * SYN_SET frames */
	uint16_t syn_len;
	struct flow *fl;                 /* threads * flows */
	uint8_t *mem;
	struct out_bufs *ob;             /* one per thread */
	struct burst_bufs *bb;           /* one per thread */
};

static void prefix(struct sg_prefix *p, uint8_t family, uint8_t len, const uint8_t *addr)
{
	memset(p, 0, sizeof(*p));
	p->family = family;
	p->len = len;
	memcpy(p->addr, addr, family == 4 ? 4 : 16);
}

/* --defences: what a deployed box runs.  The SYN cache at its defaults
 * (adaptive: under this flood it steps aside), a deny list and first-match
 * rules the flood's SYNs are looked up in and pass (so what is measured is
 * the lookups' cost, then the cookie), and the limiter (state_new). */
static void defences_on(struct sg_proxy_config *cfg)
{
	static const uint8_t deny4[4] = { 198, 51, 100, 0 }, srv_net[4] = { 192, 0, 2, 0 },
	                     other4[4] = { 203, 0, 113, 0 };
	static const uint8_t deny6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x0b, 0xad };
	struct sg_policy_set *s = &cfg->policy;

	prefix(&s->deny[s->ndeny++], 4, 24, deny4);
	prefix(&s->deny[s->ndeny++], 6, 48, deny6);
	prefix(&s->rule[s->nrules].dst, 4, 24, srv_net);
	s->rule[s->nrules].port_lo = s->rule[s->nrules].port_hi = 22;
	s->rule[s->nrules++].action = SG_ACTION_TRACK;
	prefix(&s->rule[s->nrules].dst, 4, 24, srv_net);
	s->rule[s->nrules].port_lo = s->rule[s->nrules].port_hi = 25;
	s->rule[s->nrules++].action = SG_ACTION_DROP;
	prefix(&s->rule[s->nrules].dst, 4, 24, other4);
	s->rule[s->nrules].port_lo = 0;
	s->rule[s->nrules].port_hi = 65535;
	s->rule[s->nrules++].action = SG_ACTION_BYPASS;
	sg_policy_normalize(s);
}

static struct proxy_state *state_new(const struct bench_opts *o)
{
	struct proxy_state *st = calloc(1, sizeof(*st));
	struct sg_proxy_config cfg;
	uint8_t seed[SG_PROXY_SEED_BYTES];

	if (!st)
		return NULL;
	sg_proxy_config_default(&cfg);
	bench_random(seed, sizeof(seed));
	cfg.seed = seed;
	/* --syncache: the cache takes every SYN it may (the benchmark's rate
	 * is far above any threshold, so as many as its size allows);
	 * --ratelimit: every SYN-ACK and MAC check takes a token, at a rate
	 * that never runs dry, so what is measured is the cost of asking. */
	if (o->defences) {
		defences_on(&cfg);
	} else {
		cfg.halfopen.max_syn_rate = o->syncache ? SG_HALFOPEN_MAX_SYN_RATE : 0;
		cfg.halfopen.max_fill_pct = 100;
	}
	cfg.ratelimit_on = o->ratelimit || o->defences;
	cfg.ratelimit.rate = SG_RATELIMIT_RATE_MAX;
	cfg.ratelimit.burst = SG_RATELIMIT_BURST_MAX;
	if (cfg.ct.capacity < 2 * o->flows * o->threads)
		cfg.ct.capacity = 2 * o->flows * o->threads;
	st->threads = o->threads;
	st->flows = o->flows;
	st->ob = aligned_alloc(64, ((sizeof(*st->ob) * o->threads) + 63) & ~(size_t)63);
	st->bb = aligned_alloc(64, ((sizeof(*st->bb) * o->threads) + 63) & ~(size_t)63);
	if (!st->ob || !st->bb || sg_proxy_create(&cfg, o->threads, &st->p)) {
		free(st->ob);
		free(st->bb);
		free(st);
		return NULL;
	}
	/* Fault the output buffers in now: a worker's TX ring is mapped long
	 * before traffic, and the page faults would otherwise land in the
	 * timed loop (over a millisecond, a tenth of a handshake run). */
	memset(st->ob, 0, sizeof(*st->ob) * o->threads);
	/* The same for the table, as the daemon does once its workers run. */
	if (sg_proxy_populate(st->p))
		fprintf(stderr, "synguard-bench: the connection table could not be populated: "
		        "its page faults are timed\n");
	memset(st->bb, 0, sizeof(*st->bb) * o->threads);
	for (unsigned t = 0; t < o->threads; t++)
		burst_init(&st->bb[t]);
	return st;
}

static void state_free(void *p)
{
	struct proxy_state *st = p;

	sg_proxy_destroy(st->p);
	free(st->syns);
	free(st->fl);
	free(st->mem);
	free(st->ob);
	free(st->bb);
	free(st);
}

/* ---- syn ---- */

static int prepare_handshakes(struct proxy_state *st, uint8_t **cursor);

/* --defences: one handshake with the flood's server first, so learn.c
 * knows it and every SYN's offer looks it up and finds it, as on a box
 * that has been running.  The handshake is thread 0's first flow of the
 * handshake scenario (no flood SYN has its tuple), run through the same
 * proxy.  0, or -1 if it did not complete. */
static int teach_server(struct proxy_state *st)
{
	struct proxy_state one = *st;
	struct sg_proxy_worker *w = sg_proxy_worker(st->p, 0);
	struct out_bufs *ob = &st->ob[0];
	uint8_t mem[2 * 192], *cursor = mem;
	struct flow fl;

	one.threads = 1;
	one.flows = 1;
	one.fl = &fl;
	if (prepare_handshakes(&one, &cursor))
		return -1;
	out_reset(ob);
	sg_proxy_process(w, SG_PORT_WAN, fl.ack, fl.ack_len, NOW, &ob->out);
	out_reset(ob);
	sg_proxy_process(w, SG_PORT_LAN, fl.synack, fl.synack_len, NOW, &ob->out);
	out_reset(ob);
	return sg_learn_count(sg_proxy_learn(st->p)) >= 1 ? 0 : -1;
}

static void *syn_setup(const struct bench_opts *o)
{
	struct proxy_state *st = state_new(o);

	if (!st)
		return NULL;
	st->syns = malloc((size_t)o->threads * SYN_SET * 128);
	for (unsigned t = 0; t < o->threads; t++)
		for (unsigned i = 0; i < SYN_SET; i++) {
			struct sg_tcp_frame f;
			uint32_t r = (i + 1) * 2654435761u + t;

			flow_frame(&f, t, r & 0xffffff, 1);
			f.flags = SG_TCP_SYN;
			f.seq = r;
			f.win = 64240;
			f.opt = linux_syn;
			st->syn_len = (uint16_t)sg_build_tcp(st->syns + ((size_t)t * SYN_SET + i) * 128, 128, &f);
		}
	if (o->defences && teach_server(st)) {
		fprintf(stderr, "synguard-bench: syn --defences: the server was not learned\n");
		state_free(st);
		return NULL;
	}
	return st;
}

/* Frames per call, as a worker hands them over (SG_IO_DEFAULT_BATCH). */
#define SYN_BURST 64

static void syn_run(void *p, unsigned t, struct bench_sample *s)
{
	struct proxy_state *st = p;
	struct sg_proxy_worker *w = sg_proxy_worker(st->p, t);
	struct out_bufs *ob = &st->ob[t];
	struct burst_bufs *bb = &st->bb[t];
	uint8_t *base = st->syns + (size_t)t * SYN_SET * 128;
	unsigned synacks = 0;
	uint64_t t0 = bench_now_ns();

	for (unsigned i = 0; i < SYN_ITERS; i += SYN_BURST) {
		for (unsigned k = 0; k < SYN_BURST; k++) {
			bb->frames[k] = base + (size_t)((i + k) % SYN_SET) * 128;
			bb->lens[k] = st->syn_len;
		}
		run_burst(bb, w, SG_PORT_WAN, SYN_BURST);
		for (unsigned k = 0; k < SYN_BURST; k++)
			synacks += bb->outs[k].n;
		out_reset(ob);
		sg_proxy_tick(w, NOW, &ob->out);
	}
	s->ns = (double)(bench_now_ns() - t0);
	s->ops = synacks;
	sg_proxy_worker_offline(w);
}

/* ---- ackflood ---- */

/* SYN_SET ACKs per thread from random sources (random address below the
 * thread's /8, random port), with random sequence and ACK numbers and a
 * timestamp option whose TSecr is random too: what a flood of spoofed
 * ACKs looks like.  Each one takes the whole path a WAN frame without a
 * connection takes: parse, flow hash, table lookup (a miss), cookie check
 * (a failure), drop (counted as drop_unknown_connection).  A random ACK number passes the check with
 * probability 2^-27 (docs/cookies.md); a frame that did would be counted
 * and named on stderr.  Rate = frames fed / time. */
static void *ackflood_setup(const struct bench_opts *o)
{
	struct proxy_state *st = state_new(o);
	uint32_t rnd[5];

	if (!st)
		return NULL;
	st->syns = malloc((size_t)o->threads * SYN_SET * 128);
	if (!st->syns) {
		state_free(st);
		return NULL;
	}
	for (unsigned t = 0; t < o->threads; t++)
		for (unsigned i = 0; i < SYN_SET; i++) {
			struct sg_tcp_frame f;

			bench_random(rnd, sizeof(rnd));
			flow_frame(&f, t, rnd[0] & 0xffffff, 1);
			f.sport = (uint16_t)(1024 + rnd[1] % 64512);
			f.flags = SG_TCP_ACK;
			f.seq = rnd[2];
			f.ack = rnd[3];
			f.win = 502;
			f.opt = (struct sg_tcp_opts){ .present = SG_OPT_TS, .tsval = 123457, .tsecr = rnd[4] };
			st->syn_len = (uint16_t)sg_build_tcp(st->syns + ((size_t)t * SYN_SET + i) * 128, 128, &f);
		}
	return st;
}

static void ackflood_run(void *p, unsigned t, struct bench_sample *s)
{
	struct proxy_state *st = p;
	struct sg_proxy_worker *w = sg_proxy_worker(st->p, t);
	struct out_bufs *ob = &st->ob[t];
	struct burst_bufs *bb = &st->bb[t];
	uint8_t *base = st->syns + (size_t)t * SYN_SET * 128;
	unsigned fed = 0, passed = 0;
	uint64_t t0 = bench_now_ns();

	for (unsigned i = 0; i < SYN_ITERS; i += SYN_BURST) {
		for (unsigned k = 0; k < SYN_BURST; k++) {
			bb->frames[k] = base + (size_t)((i + k) % SYN_SET) * 128;
			bb->lens[k] = st->syn_len;
		}
		run_burst(bb, w, SG_PORT_WAN, SYN_BURST);
		for (unsigned k = 0; k < SYN_BURST; k++)
			passed += bb->v[k] != SG_VERDICT_DROP || bb->outs[k].n != 0;
		fed += SYN_BURST;
		out_reset(ob);
		sg_proxy_tick(w, NOW, &ob->out);
	}
	s->ns = (double)(bench_now_ns() - t0);
	s->ops = fed;
	if (passed)
		fprintf(stderr, "synguard-bench: ackflood: thread %u: %u of %u frames not dropped "
		        "(a random ACK passed the cookie check?)\n", t, passed, fed);
	sg_proxy_worker_offline(w);
}

/* ---- handshakes and established flows ---- */

static int build_into(uint8_t **slot, uint16_t *len, uint8_t **cursor, const struct sg_tcp_frame *f)
{
	int n = sg_build_tcp(*cursor, FRAME_CAP, f);

	if (n < 0)
		return -1;
	*slot = *cursor;
	*len = (uint16_t)n;
	*cursor += (n + 63) & ~63;
	return 0;
}

/* Runs each flow's SYN through the proxy for its cookie and builds the
 * client's ACK and the server's SYN-ACK. */
static int prepare_handshakes(struct proxy_state *st, uint8_t **cursor)
{
	for (unsigned t = 0; t < st->threads; t++) {
		struct sg_proxy_worker *w = sg_proxy_worker(st->p, t);

		for (unsigned i = 0; i < st->flows; i++) {
			struct flow *fl = &st->fl[(size_t)t * st->flows + i];
			struct sg_tcp_frame f;
			uint8_t syn[128];
			struct sg_pkt sa;
			int n;

			fl->isn = (i + 1) * 40503u + t;
			flow_frame(&f, t, i, 1);
			f.flags = SG_TCP_SYN;
			f.seq = fl->isn;
			f.win = 64240;
			f.opt = linux_syn;
			n = sg_build_tcp(syn, sizeof(syn), &f);
			out_reset(&st->ob[t]);
			sg_proxy_process(w, SG_PORT_WAN, syn, (uint32_t)n, NOW, &st->ob[t].out);
			if (st->ob[t].out.n != 1 ||
			    sg_pkt_parse(&sa, st->ob[t].out.f[0].buf, st->ob[t].out.f[0].len) != SG_PKT_TCP)
				return -1;
			fl->cookie = sa.seq;
			fl->ts_cookie = sa.opt.tsval;

			f.flags = SG_TCP_ACK;
			f.seq = fl->isn + 1;
			f.ack = fl->cookie + 1;
			f.win = 502;
			f.opt = (struct sg_tcp_opts){ .present = SG_OPT_TS, .tsval = 123457, .tsecr = fl->ts_cookie };
			if (build_into(&fl->ack, &fl->ack_len, cursor, &f))
				return -1;

			flow_frame(&f, t, i, 0);
			f.flags = SG_TCP_SYN | SG_TCP_ACK;
			f.seq = 0x80000000u + i;
			f.ack = fl->isn + 1;
			f.win = 65160;
			f.opt = linux_syn;
			f.opt.tsval = 777;
			f.opt.tsecr = 123457;
			if (build_into(&fl->synack, &fl->synack_len, cursor, &f))
				return -1;
		}
	}
	return 0;
}

static void *handshake_setup(const struct bench_opts *o)
{
	struct proxy_state *st = state_new(o);
	size_t n = (size_t)o->threads * o->flows;
	uint8_t *cursor;

	if (!st)
		return NULL;
	st->fl = calloc(n, sizeof(*st->fl));
	st->mem = malloc(n * 2 * 192);
	cursor = st->mem;
	if (!st->fl || !st->mem || prepare_handshakes(st, &cursor)) {
		state_free(st);
		return NULL;
	}
	return st;
}

#define HS_BURST 64          /* as SYN_BURST */

static void handshake_run(void *p, unsigned t, struct bench_sample *s)
{
	struct proxy_state *st = p;
	struct sg_proxy_worker *w = sg_proxy_worker(st->p, t);
	struct out_bufs *ob = &st->ob[t];
	struct burst_bufs *bb = &st->bb[t];
	struct flow *fl = &st->fl[(size_t)t * st->flows];
	unsigned done = 0;
	uint64_t t0 = bench_now_ns();

	/* As a worker sees them: a burst of client ACKs on WAN, then a burst
	 * of the servers' SYN-ACKs on LAN. */
	for (unsigned i = 0; i + HS_BURST <= st->flows; i += HS_BURST) {
		for (unsigned k = 0; k < HS_BURST; k++) {
			bb->frames[k] = fl[i + k].ack;
			bb->lens[k] = fl[i + k].ack_len;
		}
		run_burst(bb, w, SG_PORT_WAN, HS_BURST);
		for (unsigned k = 0; k < HS_BURST; k++) {
			bb->frames[k] = fl[i + k].synack;
			bb->lens[k] = fl[i + k].synack_len;
		}
		run_burst(bb, w, SG_PORT_LAN, HS_BURST);
		for (unsigned k = 0; k < HS_BURST; k++)
			done += bb->outs[k].n == 2;
		out_reset(ob);
		sg_proxy_tick(w, NOW, &ob->out);
	}
	s->ns = (double)(bench_now_ns() - t0);
	s->ops = done;
	sg_proxy_worker_offline(w);
}

static void *established_setup(const struct bench_opts *o)
{
	struct proxy_state *st = state_new(o);
	size_t n = (size_t)o->threads * o->flows;
	uint8_t *cursor;

	if (!st)
		return NULL;
	st->fl = calloc(n, sizeof(*st->fl));
	st->mem = malloc(n * (2 * 192 + 2 * FRAME_CAP + 128));
	cursor = st->mem;
	if (!st->fl || !st->mem || prepare_handshakes(st, &cursor)) {
		state_free(st);
		return NULL;
	}
	for (unsigned t = 0; t < o->threads; t++) {
		struct sg_proxy_worker *w = sg_proxy_worker(st->p, t);

		for (unsigned i = 0; i < o->flows; i++) {
			struct flow *fl = &st->fl[(size_t)t * o->flows + i];
			struct sg_tcp_frame f;

			out_reset(&st->ob[t]);
			sg_proxy_process(w, SG_PORT_WAN, fl->ack, fl->ack_len, NOW, &st->ob[t].out);
			out_reset(&st->ob[t]);
			sg_proxy_process(w, SG_PORT_LAN, fl->synack, fl->synack_len, NOW, &st->ob[t].out);
			if (st->ob[t].out.n != 2) {
				state_free(st);
				return NULL;
			}
			for (unsigned k = 0; k < 2; k++) {
				flow_frame(&f, t, i, 0);
				f.flags = SG_TCP_ACK;
				f.seq = 0x80000000u + i + 1 + k * 1448;
				f.ack = fl->isn + 1;
				f.win = 501;
				f.opt = (struct sg_tcp_opts){ .present = SG_OPT_TS, .tsval = 778, .tsecr = 123457 };
				f.payload_len = 1448;               /* 1514-byte frames */
				if (build_into(&fl->seg[k], &fl->seg_len[k], &cursor, &f)) {
					state_free(st);
					return NULL;
				}
			}
			flow_frame(&f, t, i, 1);
			f.flags = SG_TCP_ACK;
			f.seq = fl->isn + 1;
			f.ack = fl->cookie + 1 + 2 * 1448;
			f.win = 502;
			f.opt = (struct sg_tcp_opts){ .present = SG_OPT_TS, .tsval = 123458, .tsecr = fl->ts_cookie };
			if (build_into(&fl->seg[2], &fl->seg_len[2], &cursor, &f)) {
				state_free(st);
				return NULL;
			}
		}
	}
	return st;
}

/* Flows per round: their 2 server segments arrive as one LAN burst of 64
 * (a worker's default rx batch, SG_IO_DEFAULT_BATCH), their client ACKs as
 * one WAN burst. */
#define EST_GROUP 32

static void established_run(void *p, unsigned t, struct bench_sample *s)
{
	struct proxy_state *st = p;
	struct sg_proxy_worker *w = sg_proxy_worker(st->p, t);
	struct out_bufs *ob = &st->ob[t];
	struct burst_bufs *bb = &st->bb[t];
	struct flow *fl = &st->fl[(size_t)t * st->flows];
	unsigned forwarded = 0, pkts = 0;
	uint64_t t0 = bench_now_ns();

	while (pkts < EST_PKTS) {
		for (unsigned i = 0; i + EST_GROUP <= st->flows; i += EST_GROUP) {
			unsigned n = 0;

			for (unsigned f = i; f < i + EST_GROUP; f++)
				for (unsigned k = 0; k < 2; k++) {
					bb->frames[n] = fl[f].seg[k];
					bb->lens[n++] = fl[f].seg_len[k];
				}
			run_burst(bb, w, SG_PORT_LAN, n);
			for (unsigned k = 0; k < n; k++)
				forwarded += bb->v[k] == SG_VERDICT_FORWARD;
			n = 0;
			for (unsigned f = i; f < i + EST_GROUP; f++) {
				bb->frames[n] = fl[f].seg[2];
				bb->lens[n++] = fl[f].seg_len[2];
			}
			run_burst(bb, w, SG_PORT_WAN, n);
			for (unsigned k = 0; k < n; k++)
				forwarded += bb->v[k] == SG_VERDICT_FORWARD;
			pkts += 3 * EST_GROUP;
			out_reset(ob);
			sg_proxy_tick(w, NOW, &ob->out);
		}
	}
	s->ns = (double)(bench_now_ns() - t0);
	s->ops = forwarded;
	sg_proxy_worker_offline(w);
}

const struct bench_scenario bench_syn = {
	.name = "syn", .target_per_core = 20e6,          /* targets: per core, on an idle machine */
	.setup = syn_setup, .run = syn_run, .teardown = state_free,
};
const struct bench_scenario bench_ackflood = {
	.name = "ackflood",
	.setup = ackflood_setup, .run = ackflood_run, .teardown = state_free,
};
const struct bench_scenario bench_handshake = {
	.name = "handshake", .target_per_core = 5e6,
	.setup = handshake_setup, .run = handshake_run, .teardown = state_free,
};
const struct bench_scenario bench_established = {
	.name = "established", .target_per_core = 25e6,    /* over 1 M flows */
	.setup = established_setup, .run = established_run, .teardown = state_free,
};
