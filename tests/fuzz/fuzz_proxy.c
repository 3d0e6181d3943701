/* libFuzzer harness for the proxy core: any frames, on either port, on any
 * worker, alone or in bursts, at any time, must give verdicts without a
 * crash or an out-of-bounds access, and keep the invariants the public API
 * lets us see (check_* below).
 *
 * Every input runs on a proxy of its own, configured by the input's first
 * three bytes, so a crash replays from its file alone (a proxy kept across
 * inputs made every finding depend on all the inputs before it).  The
 * table's memory is recycled between inputs (__wrap_mmap below).
 *
 * Input format:
 *
 *   [config 0] [config 1] [config 2] [record] ...   any truncation is fine
 *
 *   config 0  bit 0   two workers (else one)
 *             bit 1   unknown_policy = forward
 *             bit 2   bad_frame_policy = forward
 *             bit 3   uplink_mss_clamp = 1400
 *             bit 4-5 table capacity 64, 16 (full-table paths), 256, 1024
 *             bit 6-7 clock at start: 1000 s, 0 (a daemon started at
 *                     boot), 10 min before the 32-bit millisecond clock
 *                     wraps, or 10 min before it reaches 2^31 ms
 *   config 1  bit 0   timeouts divided by 64: expiry in few records
 *             bit 1   monitor
 *             bit 2   signed_syn_policy = drop
 *             bit 3   no per-source quota (source_share 100)
 *             bit 4   cookies from a shared key, not the seed
 *             bit 5   rst_slack = 0
 *             bit 6   evict_idle_s = 5
 *             bit 7   sources are /21 and /61 prefixes (not whole bytes)
 *   config 2  bit 0-1 SYN cache: off, as shipped, quick to turn to
 *                     cookies, never turning
 *             bit 2-3 rate limits: off, as shipped, 1/s per /24 and /64,
 *                     1/s per /32 and /128
 *             bit 4-5 policy: none, rules, allow and deny lists, track by
 *                     default (policy_preset())
 *             bit 6   learned server options live 1 s
 *             bit 7   unused
 *   Sizes (table capacity aside) are small so a proxy is quick to make.
 *
 *   record  [op] [cap]? [dt] ...
 *     op    bit 0-1 kind: 0 frame, 1 burst, 2 tick, 3 control
 *           bit 2   port (0 LAN, 1 WAN: enum sg_port)
 *           bit 3   worker (modulo the workers)
 *           bit 4-6 burst: frame count, index into burst_n[]
 *                   tick: bit 4 ticks every worker; bit 5 makes dt
 *                   a sleep, in long units
 *                   control: bits 4-5 say what the [dt] byte does:
 *                   0 sets the cookie clock offset to dt * 8 s, 1 takes
 *                   the worker offline, 2 reloads the configuration
 *                   (reload(), dt its options), 3 tries a reload that
 *                   changes a size, which must be refused
 *           bit 7   a [cap] byte follows: the buffers lent for each
 *                   frame's output are cap % (SG_OUT_MAX + 1), not all
 *     dt    time advance before the record: (dt & 63) units of
 *           1 ms, 10 ms, 250 ms or 1 s (dt >> 6), so the SYN retransmits
 *           (1 to 16 s) are a few records away; a sleep counts in units
 *           of 1 min, 5 min, 15 min or 1 h, for the states' timeouts
 *           (45 s to 24 h; 3 h of simulated time at most per input)
 *     frame [len hi] [len lo] [len & 0x3fff bytes].  Bits 14-15 of len:
 *           0  the harness fixes the IPv4 header and TCP checksums first:
 *              mutation alone almost never gets them right, and they
 *              gate every state change from the WAN;
 *           1  the same, and in a frame record a flood: FLOOD_N copies,
 *              the i-th with TCP source port + i, one call each (a full
 *              table, a source over its quota);
 *           2  the frame goes in as it is;
 *           3  as an endpoint with checksum offload sends it: the TCP or
 *              UDP checksum field holds the pseudo-header sum, which the
 *              core finishes
 *     burst count x frame
 *
 * After a frame or burst record its worker ticks, as the daemon's worker
 * does after each batch (src/daemon/worker.c); a tick record lets time
 * pass without traffic.  tests/fuzz/make-seeds.sh writes seeds in this
 * format from the unit tests' scenarios. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>

#include "core/flow.h"
#include "core/policy.h"
#include "core/proxy.h"
#include "core/secret.h"
#include "net/csum.h"
#include "net/pkt.h"

#define CHECK(c) do {                                                          \
	if (!(c)) {                                                            \
		fprintf(stderr, "fuzz_proxy: %s:%d: invariant failed: %s\n",   \
		        __FILE__, __LINE__, #c);                               \
		abort();                                                       \
	}                                                                      \
} while (0)

#define MS 1000000ull
/* One more than a source's smallest quota (SG_QUOTA_MIN_LIMIT). */
#define FLOOD_N 65
#define NWORKERS_MAX 2
#define FRAME_LEN_MASK 0x3fff

/* The seed of tests/unit/proxy_harness.h: the seeds made from the unit
 * tests carry cookie ACKs that only this seed's cookies accept. */
static const uint8_t seed[SG_PROXY_SEED_BYTES] = {
	0x5b, 0x19, 0xe7, 0x02, 0x8c, 0x33, 0xd0, 0x6e, 0xa1, 0x47, 0xfc, 0x25, 0x90, 0x0b, 0x6d, 0xb3,
	0x14, 0xc8, 0x7e, 0x59, 0x22, 0xaf, 0x03, 0xd6, 0x68, 0x91, 0x3c, 0xe5, 0x4a, 0xb7, 0x0f, 0x86,
};

static const uint64_t dt_unit[4] = { 1 * MS, 10 * MS, 250 * MS, 1000 * MS };
static const uint64_t sleep_unit[4] = { 60000 * MS, 300000 * MS, 900000 * MS, 3600000 * MS };

/* Simulated time one input may cover.  A tick walks the timer wheel in
 * 64 ms slots, ~5 ns each with sg_ct_expire left out of the coverage
 * instrumentation (coverage-ignore.txt), so an hour costs ~0.3 ms and a
 * day, the established timeout, ~8 ms: inputs that slow would leave the
 * fuzzer at a few hundred executions a second.  3 h reach every default
 * timeout but that one; timeouts / 64 (configuration bit 1.0, or a
 * reload's bit 3) bring it to 22 min. */
#define TIME_BUDGET_NS (3 * 3600000ull * MS)

/* Burst sizes: SG_PROXY_BURST_MAX + 1 makes the core split the burst. */
static const unsigned burst_n[8] = { 1, 2, 3, 4, 8, 16, 32, SG_PROXY_BURST_MAX + 1 };
#define BURST_MAX (SG_PROXY_BURST_MAX + 1)

struct input {
	const uint8_t *p;
	size_t n;
};

static uint8_t get_u8(struct input *in)
{
	uint8_t b = 0;

	if (in->n) {
		b = *in->p++;
		in->n--;
	}
	return b;
}

/* What the harness knows independently of the core. */
struct run {
	struct sg_proxy *p;
	uint8_t conf[3];              /* the configuration bytes */
	const struct sg_proxy_config *cfg;   /* the latest, which each call picks up */
	unsigned nworkers;
	uint64_t now, time_left;
	uint64_t frames[NWORKERS_MAX], verdicts[NWORKERS_MAX][3], from_wan[NWORKERS_MAX];
	uint64_t monitored[NWORKERS_MAX];   /* frames decided in monitor mode */
	bool stale[NWORKERS_MAX];     /* not called since the last reload */
	bool offline[NWORKERS_MAX];   /* said so, and not called since */
	/* Monitor mode and no clamp since the start: no connection was ever
	 * proxied, so every frame passes as it came. */
	bool pure_monitor;
};

/* FUZZ_PROXY_ALLOW=name,... relaxes the checks of open issues, reported
 * with an input in tests/fuzz/crashes/fuzz_proxy/, so that a campaign can
 * look past them; scripts/test.sh replays those inputs without it.
 *   monitor-cookie  in monitor mode a valid cookie ACK still opens a
 *                   proxied connection, whose segments are then
 *                   rewritten (crashes/fuzz_proxy/monitor-cookie-ack-*) */
static bool allow_monitor_cookie;

/* What a frame was before the core saw it (the core rewrites in place). */
struct before {
	enum sg_pkt_class cls;
	struct sg_pkt pkt;          /* parsed from copy */
	uint8_t *copy;
	bool tcp_ok;                /* TCP, whole, valid checksum */
	bool icmp_ok;               /* ICMP(v6), valid checksum */
	bool partial;               /* TCP or UDP checksum left to finish */
	unsigned csum_off;          /* where that checksum is, when partial */
	bool unknown_wan;           /* TCP from WAN of no connection in the table */
	enum sg_policy_action action;   /* what the policy says of its flow */
};

/* A call of worker wid picks the latest configuration up. */
static void called(struct run *r, unsigned wid)
{
	r->stale[wid] = false;
	r->offline[wid] = false;
}

/* FUZZ_PROXY_TRACE=1 prints what each record did and the counters at the
 * end: to read a crash input or check that a seed does what its scenario
 * did. */
static int trace = -1;

static void trace_counters(const struct run *r)
{
	for (unsigned i = 0; i < r->nworkers; i++) {
		const struct sg_stats *st = sg_proxy_stats(sg_proxy_worker(r->p, i));

		for (unsigned s = 0; s < SG_STAT__COUNT; s++)
			if (st->c[s])
				fprintf(stderr, "  w%u %s %llu\n", i, sg_stat_name((enum sg_stat)s),
				        (unsigned long long)st->c[s]);
	}
	fprintf(stderr, "  table %u/%u\n", sg_ct_count(sg_proxy_table(r->p)),
	        sg_ct_capacity(sg_proxy_table(r->p)));
}

static bool icmp_csum_ok(const struct sg_pkt *p)
{
	const uint8_t *m = sg_pkt_l4(p);
	size_t mlen = (size_t)(p->l3_end - p->l4_off);
	uint64_t s = 0;

	if (p->first_frag || p->l4_off == 0 || p->l3_end < p->l4_off)
		return false;
	if (p->family == 6)
		s = sg_csum_pseudo6(sg_pkt_saddr(p), sg_pkt_daddr(p), SG_IPPROTO_ICMPV6, (uint32_t)mlen);
	return sg_csum_finish(sg_csum_partial(m, mlen, s)) == 0;
}

/* The table's key for p as the core builds it (core/context.h,
 * sg_flow_from_pkt): oriented WAN host first, VLAN ids included. */
static void flow_of(struct sg_flow *k, const struct sg_pkt *p, enum sg_port port)
{
	const uint8_t *s = sg_pkt_saddr(p), *d = sg_pkt_daddr(p);
	uint16_t v0 = sg_pkt_vid(p, 0), v1 = sg_pkt_vid(p, 1);

	if (port == SG_PORT_WAN)
		sg_flow_make(k, p->family, s, p->sport, d, p->dport, v0, v1);
	else
		sg_flow_make(k, p->family, d, p->dport, s, p->sport, v0, v1);
}

static void before_take(struct run *r, unsigned wid, enum sg_port port, const uint8_t *frame,
                        uint32_t len, struct before *b)
{
	memset(b, 0, sizeof(*b));
	b->copy = malloc(len ? len : 1);
	CHECK(b->copy);
	memcpy(b->copy, frame, len);
	b->cls = sg_pkt_parse(&b->pkt, b->copy, len);
	if (b->cls == SG_PKT_TCP && !b->pkt.first_frag)
		b->tcp_ok = sg_pkt_tcp_csum_ok(&b->pkt);
	if (b->cls == SG_PKT_IP_OTHER &&
	    (b->pkt.l4proto == SG_IPPROTO_ICMP || b->pkt.l4proto == SG_IPPROTO_ICMPV6))
		b->icmp_ok = icmp_csum_ok(&b->pkt);
	if ((b->cls == SG_PKT_TCP || b->cls == SG_PKT_IP_OTHER) && sg_pkt_l4_csum_partial(&b->pkt)) {
		b->partial = true;
		b->csum_off = b->pkt.l4_off + (b->pkt.l4proto == SG_IPPROTO_TCP ? 16u : 6u);
	}
	if (b->cls == SG_PKT_TCP && port == SG_PORT_WAN) {
		struct sg_ct *ct = sg_proxy_table(r->p);
		struct sg_flow k;

		flow_of(&k, &b->pkt, port);
		b->unknown_wan = sg_ct_lookup(ct, wid, &k, sg_ct_hash(ct, &k)) == NULL;
		b->action = sg_policy_decide(&r->cfg->policy, b->pkt.family, sg_pkt_saddr(&b->pkt),
		                             sg_pkt_daddr(&b->pkt), b->pkt.dport);
	}
}

/* The frame as it came, but for a checksum the core finished (an
 * endpoint's offload left it partial). */
static bool unchanged(const uint8_t *frame, uint32_t len, const struct before *b)
{
	if (!b->partial)
		return memcmp(frame, b->copy, len) == 0;
	return memcmp(frame, b->copy, b->csum_off) == 0 &&
	       memcmp(frame + b->csum_off + 2, b->copy + b->csum_off + 2, len - b->csum_off - 2) == 0;
}

static bool same_addr(const struct sg_pkt *a, const uint8_t *aa, const struct sg_pkt *b,
                      const uint8_t *ba)
{
	return a->family == b->family && memcmp(aa, ba, sg_pkt_addr_len(a)) == 0;
}

/* Every emitted frame: fits, is on a port, parses as TCP with valid IP
 * and TCP checksums.  When it answers frame b (not a tick), it belongs to
 * b's flow: back to b's sender on b's port, onwards from b's sender on
 * the other port. */
static void check_out(const struct sg_out *out, unsigned cap, enum sg_port port,
                      const struct before *b)
{
	CHECK(out->n <= cap);
	for (unsigned i = 0; i < out->n; i++) {
		const struct sg_out_frame *f = &out->f[i];
		struct sg_pkt p;

		CHECK(f->len <= SG_OUT_FRAME_MAX);
		CHECK(f->port == SG_PORT_LAN || f->port == SG_PORT_WAN);
		CHECK(sg_pkt_parse(&p, f->buf, f->len) == SG_PKT_TCP);
		CHECK(sg_pkt_tcp_csum_ok(&p));
		if (!b)
			continue;
		const struct sg_pkt *in = &b->pkt;
		bool back = f->port == port;

		CHECK(sg_pkt_vid(&p, 0) == sg_pkt_vid(in, 0) && sg_pkt_vid(&p, 1) == sg_pkt_vid(in, 1));
		CHECK(same_addr(&p, sg_pkt_saddr(&p), in, back ? sg_pkt_daddr(in) : sg_pkt_saddr(in)));
		CHECK(same_addr(&p, sg_pkt_daddr(&p), in, back ? sg_pkt_saddr(in) : sg_pkt_daddr(in)));
		CHECK(p.sport == (back ? in->dport : in->sport));
		CHECK(p.dport == (back ? in->sport : in->dport));
	}
}

static void check_frame(struct run *r, unsigned wid, enum sg_port port, uint8_t *frame,
                        uint32_t len, enum sg_verdict v, const struct sg_out *out, unsigned cap,
                        struct before *b)
{
	CHECK(v == SG_VERDICT_FORWARD || v == SG_VERDICT_DROP || v == SG_VERDICT_CONSUME);
	if (trace)
		fprintf(stderr, "t=%llu.%03llu w%u %s len %u class %d flags %02x: %s, %u out\n",
		        (unsigned long long)(r->now / 1000000000u),
		        (unsigned long long)(r->now / MS % 1000), wid, port == SG_PORT_WAN ? "wan" : "lan",
		        len, b->cls, b->cls == SG_PKT_TCP ? b->pkt.tcp_flags : 0,
		        v == SG_VERDICT_FORWARD ? "forward" : v == SG_VERDICT_DROP ? "drop" : "consume",
		        out->n);
	r->frames[wid]++;
	r->verdicts[wid][v]++;
	r->from_wan[wid] += port == SG_PORT_WAN;
	r->monitored[wid] += r->cfg->monitor;

	/* Only a TCP segment makes the core say anything. */
	CHECK(out->n == 0 || b->cls == SG_PKT_TCP);
	check_out(out, cap, port, b->cls == SG_PKT_TCP ? b : NULL);
	/* A spoofable WAN source gets no amplification: one frame in, at
	 * most one frame out (the SYN-ACK, the SYN to the server, a
	 * challenge ACK). */
	if (port == SG_PORT_WAN)
		CHECK(out->n <= 1);
	/* The point of the proxy: nothing from an unverified WAN client
	 * reaches the LAN, unless policy.unknown says to forward, the box
	 * only watches, the policy bypasses the flow or tracks its SYN, or a
	 * signed SYN is to be tracked (no cookie can be signed). */
	if (b->unknown_wan && r->cfg->unknown_policy == SG_POLICY_DROP && !r->cfg->monitor &&
	    b->action != SG_ACTION_BYPASS &&
	    !(b->action == SG_ACTION_TRACK && (b->pkt.tcp_flags & SG_TCP_SYN)) &&
	    !((b->pkt.opt.present & SG_OPT_SIGNED) && r->cfg->signed_syn_policy == SG_SIGNED_SYN_TRACK))
		CHECK(v != SG_VERDICT_FORWARD);
	/* Monitor mode: every frame passes and synguard says nothing. */
	if (r->cfg->monitor)
		CHECK(v == SG_VERDICT_FORWARD && out->n == 0);
	if (r->pure_monitor && allow_monitor_cookie) {
		uint64_t ok = 0;

		for (unsigned i = 0; i < r->nworkers; i++)
			ok += sg_proxy_stats(sg_proxy_worker(r->p, i))->c[SG_STAT_COOKIE_OK];
		r->pure_monitor = ok == 0;
	}
	if (r->pure_monitor)
		CHECK(unchanged(frame, len, b));

	if (v == SG_VERDICT_FORWARD) {
		struct sg_pkt p;

		switch (b->cls) {
		case SG_PKT_TCP:
			/* Rewrites keep a valid segment valid and in its flow;
			 * a partial checksum is finished. */
			if (b->tcp_ok || b->partial) {
				CHECK(sg_pkt_parse(&p, frame, len) == SG_PKT_TCP);
				CHECK(sg_pkt_tcp_csum_ok(&p));
				CHECK(p.sport == b->pkt.sport && p.dport == b->pkt.dport);
				CHECK(same_addr(&p, sg_pkt_saddr(&p), &b->pkt, sg_pkt_saddr(&b->pkt)));
				CHECK(same_addr(&p, sg_pkt_daddr(&p), &b->pkt, sg_pkt_daddr(&b->pkt)));
				CHECK(p.payload_len == b->pkt.payload_len);
			}
			break;
		case SG_PKT_IP_OTHER:
			/* ICMP quotes are translated with their checksum. */
			if (b->icmp_ok) {
				CHECK(sg_pkt_parse(&p, frame, len) == SG_PKT_IP_OTHER);
				CHECK(icmp_csum_ok(&p));
			}
			if (b->pkt.l4proto != SG_IPPROTO_ICMP && b->pkt.l4proto != SG_IPPROTO_ICMPV6)
				CHECK(unchanged(frame, len, b));
			break;
		default:
			/* Bridged as they came. */
			CHECK(memcmp(frame, b->copy, len) == 0);
			break;
		}
	}
	free(b->copy);
	b->copy = NULL;
}

/* The counters add up to what the harness handed in; the table holds no
 * more than its capacity and exactly what was inserted and not freed. */
static void check_counters(struct run *r)
{
	struct sg_ct *ct = sg_proxy_table(r->p);
	uint64_t live = 0;

	for (unsigned i = 0; i < r->nworkers; i++) {
		struct sg_proxy_worker *w = sg_proxy_worker(r->p, i);
		const struct sg_stats *st = sg_proxy_stats(w);
		const struct sg_ct_stats *cs = sg_proxy_ct_stats(w);
		uint64_t bad = 0, freed = 0;

		/* Monitor mode counts what it would have done and forwards. */
		CHECK(st->c[SG_STAT_FORWARDED] + st->c[SG_STAT_DROPPED] + st->c[SG_STAT_CONSUMED] ==
		      r->frames[i]);
		CHECK(st->c[SG_STAT_MONITOR_PASSED] <= r->monitored[i]);
		CHECK(st->c[SG_STAT_DROPPED] >= r->verdicts[i][SG_VERDICT_DROP]);
		CHECK(st->c[SG_STAT_CONSUMED] >= r->verdicts[i][SG_VERDICT_CONSUME]);
		CHECK(st->c[SG_STAT_DROPPED] + st->c[SG_STAT_CONSUMED] <=
		      r->verdicts[i][SG_VERDICT_DROP] + r->verdicts[i][SG_VERDICT_CONSUME] +
		      st->c[SG_STAT_MONITOR_PASSED]);
		CHECK(st->c[SG_STAT_RX_WAN] == r->from_wan[i]);
		CHECK(st->c[SG_STAT_RX_WAN] + st->c[SG_STAT_RX_LAN] == r->frames[i]);
		CHECK(st->c[SG_STAT_RX_TCP] + st->c[SG_STAT_RX_IP_OTHER] + st->c[SG_STAT_RX_NOT_IP] +
		      st->c[SG_STAT_RX_FRAGMENT] + st->c[SG_STAT_RX_BAD] == r->frames[i]);
		for (unsigned j = 0; j < SG_BAD__COUNT; j++)
			bad += st->bad[j];
		CHECK(bad == st->c[SG_STAT_RX_BAD]);

		for (unsigned s = 0; s < SG_CT_STATE_COUNT; s++)
			freed += cs->expired[s];
		CHECK(cs->expired[SG_CT_FREE] == 0);
		freed += cs->c[SG_CT_STAT_EVICT_CLOSING] + cs->c[SG_CT_STAT_EVICT_EMBRYONIC] +
		         cs->c[SG_CT_STAT_EVICT_IDLE];
		CHECK(freed <= cs->c[SG_CT_STAT_INSERTS]);
		CHECK(cs->c[SG_CT_STAT_RECLAIMED] <= freed);
		live += cs->c[SG_CT_STAT_INSERTS] - freed;
	}
	CHECK(sg_ct_count(ct) <= sg_ct_capacity(ct));
	CHECK(sg_ct_count(ct) == live);
}

/* Output buffers lent for one call: exactly cap frames' worth on the
 * heap, so a write past the last one is caught. */
static uint8_t *lend(struct sg_out *out, unsigned cap)
{
	uint8_t *bufs = malloc(cap ? (size_t)cap * SG_OUT_FRAME_MAX : 1);

	CHECK(bufs);
	sg_out_init(out, bufs, cap);
	CHECK(out->cap == cap);
	return bufs;
}

static void tick(struct run *r, unsigned wid, unsigned first_cap)
{
	struct sg_proxy_worker *w = sg_proxy_worker(r->p, wid);
	unsigned cap = first_cap;

	/* Called again while it says its output filled up, as the daemon
	 * does; each round either sends or defers the timers it met, so the
	 * rounds are bounded by the entries. */
	for (unsigned round = 0;; round++) {
		struct sg_out out;
		uint8_t *bufs = lend(&out, cap);
		int more;

		CHECK(round <= sg_ct_capacity(sg_proxy_table(r->p)) + 1);
		more = sg_proxy_tick(w, r->now, &out);
		called(r, wid);
		if (trace && out.n)
			fprintf(stderr, "t=%llu.%03llu w%u tick: %u out\n",
			        (unsigned long long)(r->now / 1000000000u),
			        (unsigned long long)(r->now / MS % 1000), wid, out.n);
		check_out(&out, cap, SG_PORT_LAN, NULL);
		free(bufs);
		if (!more)
			break;
		cap = SG_OUT_MAX;
	}
}

static void advance(struct run *r, uint8_t dt, bool sleep)
{
	uint64_t ns = (dt & 63) * (sleep ? sleep_unit : dt_unit)[dt >> 6];

	if (ns > r->time_left)
		ns = r->time_left;
	r->time_left -= ns;
	r->now += ns;
}

/* Makes the IPv4 header checksum and the TCP checksum of f valid, where
 * the frame has them. */
static void fix_checksums(uint8_t *f, uint32_t len)
{
	struct sg_pkt p;
	enum sg_pkt_class cls = sg_pkt_parse(&p, f, len);

	if (cls == SG_PKT_BAD && p.bad == SG_BAD_IP4_CSUM) {
		uint8_t *ip = f + p.l3_off;
		uint16_t c = 0;

		memcpy(ip + 10, &c, 2);
		c = sg_csum_finish(sg_csum_partial(ip, (size_t)(ip[0] & 0x0f) * 4, 0));
		memcpy(ip + 10, &c, 2);
		cls = sg_pkt_parse(&p, f, len);
	}
	if (cls == SG_PKT_TCP && !p.first_frag)
		sg_pkt_tcp_csum_fill(&p);
}

/* Reads one frame of the input into its own heap buffer, exactly its
 * length, so the core's reads past it are caught. */
static uint8_t *take_frame(struct input *in, uint32_t *len, bool *flood)
{
	uint32_t n = (uint32_t)get_u8(in) << 8;
	unsigned mode;
	uint8_t *f;

	n |= get_u8(in);
	mode = n >> 14;
	if (flood)
		*flood = mode == 1;
	n &= FRAME_LEN_MASK;
	if (n > in->n)
		n = (uint32_t)in->n;
	f = malloc(n ? n : 1);
	CHECK(f);
	memcpy(f, in->p, n);
	in->p += n;
	in->n -= n;
	if (mode != 2)
		fix_checksums(f, n);
	if (mode == 3) {
		struct sg_pkt p;
		enum sg_pkt_class cls = sg_pkt_parse(&p, f, n);

		if (cls == SG_PKT_TCP || cls == SG_PKT_IP_OTHER)
			sg_pkt_l4_csum_prepare(&p);
	}
	*len = n;
	return f;
}

static void one_frame(struct run *r, unsigned wid, enum sg_port port, unsigned cap,
                      struct input *in)
{
	struct sg_proxy_worker *w = sg_proxy_worker(r->p, wid);
	uint32_t len;
	bool flood;
	uint8_t *frame = take_frame(in, &len, &flood);
	uint8_t *orig = malloc(len ? len : 1);
	struct sg_pkt p;

	CHECK(orig);
	memcpy(orig, frame, len);
	for (unsigned i = 0; i < (flood ? FLOOD_N : 1); i++) {
		struct before b;
		struct sg_out out;
		uint8_t *bufs = lend(&out, cap);
		enum sg_verdict v;

		if (i) {
			/* The core rewrote the last copy in place: start again
			 * from the input's, on the next source port. */
			memcpy(frame, orig, len);
			if (sg_pkt_parse(&p, frame, len) == SG_PKT_TCP)
				sg_pkt_tcp_set16(&p, 0, (uint16_t)(p.sport + i));
		}
		before_take(r, wid, port, frame, len, &b);
		v = sg_proxy_process(w, port, frame, len, r->now, &out);
		called(r, wid);
		check_frame(r, wid, port, frame, len, v, &out, cap, &b);
		free(bufs);
	}
	free(orig);
	free(frame);
}

static void burst(struct run *r, unsigned wid, enum sg_port port, unsigned n, unsigned cap,
                  struct input *in)
{
	static uint8_t *frames[BURST_MAX], *bufs[BURST_MAX];
	static uint32_t lens[BURST_MAX];
	static enum sg_verdict v[BURST_MAX];
	static struct sg_out outs[BURST_MAX];
	static struct before b[BURST_MAX];
	unsigned m = 0;

	/* A burst that runs out of input is the frames it got. */
	while (m < n && (m == 0 || in->n > 0)) {
		frames[m] = take_frame(in, &lens[m], NULL);
		bufs[m] = lend(&outs[m], cap);
		m++;
	}
	/* Taken before the call: the core decides the frames in order, so an
	 * earlier frame may open a later one's connection; the unknown-flow
	 * check is for single frames only. */
	for (unsigned i = 0; i < m; i++) {
		before_take(r, wid, port, frames[i], lens[i], &b[i]);
		b[i].unknown_wan = false;
	}
	sg_proxy_process_burst(sg_proxy_worker(r->p, wid), port, frames, lens, m, r->now, v, outs);
	called(r, wid);
	for (unsigned i = 0; i < m; i++) {
		check_frame(r, wid, port, frames[i], lens[i], v[i], &outs[i], cap, &b[i]);
		free(bufs[i]);
		free(frames[i]);
	}
}

/* Policy presets (configuration bit 2.4-5), around the addresses of
 * tests/unit/proxy_harness.h's client (198.51.100.7, 2001:db8:c::7) and
 * server (192.0.2.10, 2001:db8:5::a), whose port 80 every preset proxies
 * so the seeds keep working: 1 rules by destination, 2 allow and deny
 * lists, 3 track by default. */
static void policy_preset(struct sg_policy_set *s, unsigned which)
{
	static const struct { const char *dst; uint16_t lo, hi; enum sg_policy_action a; } rules[][4] = {
		[1] = { { "192.0.2.10", 22, 22, SG_ACTION_TRACK },
		        { "192.0.2.0/24", 443, 443, SG_ACTION_BYPASS },
		        { "2001:db8:5::/48", 25, 25, SG_ACTION_DROP },
		        { "2001:db8:5::a", 0, 79, SG_ACTION_BYPASS } },
		[3] = { { "192.0.2.10", 80, 80, SG_ACTION_PROXY },
		        { "2001:db8:5::a", 80, 80, SG_ACTION_PROXY },
		        { "0.0.0.0/0", 53, 53, SG_ACTION_BYPASS },
		        { "::/0", 0, 1023, SG_ACTION_DROP } },
	};
	struct sg_cfg_fault why;

	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; (which == 1 || which == 3) && i < 4; i++) {
		CHECK(sg_prefix_parse(rules[which][i].dst, &s->rule[i].dst) == 0);
		s->rule[i].port_lo = rules[which][i].lo;
		s->rule[i].port_hi = rules[which][i].hi;
		s->rule[i].action = rules[which][i].a;
		s->nrules++;
	}
	if (which == 2) {
		CHECK(sg_prefix_parse("198.51.100.0/28", &s->allow[s->nallow++]) == 0);
		CHECK(sg_prefix_parse("2001:db8:c::7", &s->allow[s->nallow++]) == 0);
		CHECK(sg_prefix_parse("198.51.100.8/29", &s->deny[s->ndeny++]) == 0);
		CHECK(sg_prefix_parse("203.0.113.0/24", &s->deny[s->ndeny++]) == 0);
	}
	if (which == 3)
		s->default_action = SG_ACTION_TRACK;
	sg_policy_normalize(s);
	CHECK(sg_policy_check(s, &why) == 0);
}

/* The configuration of an input: its three configuration bytes, then,
 * from a reload on, the reload's byte (reload < 0: none yet).  A reload's
 * byte sets only what a reload may change:
 *   bit 0 unknown_policy forward    bit 4 monitor
 *   bit 1 bad_frame_policy forward  bit 5 signed_syn_policy drop
 *   bit 2 uplink_mss_clamp 1400     bit 6 rst_slack 0
 *   bit 3 timeouts / 64             bit 7 the smallest offers and the
 *                                         tightest limits
 * and the configuration bytes give the same from bits 0.1-3 and 1.0-2. */
static void build_config(struct sg_proxy_config *c, const uint8_t conf[3], int reload)
{
	static const uint32_t capacity[4] = { 64, 16, 256, 1024 };
	/* test_proxy's, for the seeds made from its scenarios. */
	static const uint8_t shared_key[SG_SECRET_MASTER_BYTES] = { 1, 2, 3 };
	static struct sg_policy_set presets[4];
	static bool presets_made;
	uint8_t b = reload >= 0 ? (uint8_t)reload :
	            (uint8_t)(((conf[0] >> 1) & 7) | ((conf[1] & 7) << 3));
	unsigned policy = (conf[2] >> 4) & 3;

	if (!presets_made) {
		for (unsigned i = 0; i < 4; i++)
			policy_preset(&presets[i], i);
		presets_made = true;
	}
	sg_proxy_config_default(c);
	c->seed = seed;
	/* Sizes: small, so each input's proxy is quick to make. */
	c->ct.capacity = capacity[(conf[0] >> 4) & 3];
	c->halfopen.entries = 64;
	c->learn.entries = 64;
	c->ratelimit.entries = 64;
	if (conf[1] & 8)
		c->source_share = SG_SOURCE_SHARE_MAX;
	if (conf[1] & 16)
		c->shared_key = shared_key;
	if (conf[1] & 64)
		c->ct.evict_idle_s = 5;
	if (conf[1] & 128) {
		c->source_prefix4 = 21;
		c->source_prefix6 = 61;
	}
	/* The SYN cache: off (the unit tests' default), as shipped, quick to
	 * turn to cookies, or never. */
	switch (conf[2] & 3) {
	case 0:
		c->halfopen.max_syn_rate = 0;
		break;
	case 2:
		c->halfopen.max_syn_rate = 5;
		c->halfopen.max_fill_pct = 25;
		c->halfopen.timeout_s = SG_HALFOPEN_MIN_TIMEOUT_S;
		break;
	case 3:
		c->halfopen.max_syn_rate = SG_HALFOPEN_MAX_SYN_RATE;
		c->halfopen.max_fill_pct = 100;
		break;
	}
	/* Rate limits: off, as shipped, a token every second (burst 3) per
	 * /24 and /64, or per /32 and /128. */
	c->ratelimit_on = (conf[2] & 12) != 0;
	if ((conf[2] & 12) >= 8) {
		c->ratelimit.rate = 1;
		c->ratelimit.burst = 3;
	}
	if ((conf[2] & 12) == 12) {
		c->ratelimit.prefix4 = 32;
		c->ratelimit.prefix6 = 128;
	}
	if (policy)
		c->policy = presets[policy];
	if (conf[2] & 64)
		c->learn.ttl_s = SG_LEARN_MIN_TTL_S;

	c->unknown_policy = (b & 1) ? SG_POLICY_FORWARD : SG_POLICY_DROP;
	c->bad_frame_policy = (b & 2) ? SG_POLICY_FORWARD : SG_POLICY_DROP;
	c->uplink_mss_clamp = (b & 4) ? 1400 : 0;
	if (b & 8)
		for (unsigned s = SG_CT_SYN_SENT; s < SG_CT_STATE_COUNT; s++) {
			uint32_t t = c->ct.timeout_s[s] / 64;

			c->ct.timeout_s[s] = t < SG_CT_MIN_TIMEOUT_S ? SG_CT_MIN_TIMEOUT_S : t;
		}
	c->monitor = (b & 16) != 0;
	c->signed_syn_policy = (b & 32) ? SG_SIGNED_SYN_DROP : SG_SIGNED_SYN_TRACK;
	if (b & 64)
		c->rst_slack = 0;
	if (b & 128) {
		c->synack_mss4 = SG_TCP_MSS4_MIN;
		c->synack_mss6 = SG_TCP_MSS6_MIN;
		c->synack_wscale = SG_TCP_WSCALE_MAX;
		c->halfopen.max_syn_rate = 1;
		c->halfopen.max_fill_pct = 1;
		c->ratelimit.rate = 1;
		c->ratelimit.burst = 1;
	}
}

/* The configuration the workers use from their next call (sg_proxy_config
 * holds the policy set, 44 kB: kept here rather than copied around). */
static struct sg_proxy_config cfg_now, cfg_next;

static void configure(struct run *r, struct input *in)
{
	static const uint64_t start_ms[4] = {
		1000000ull, 0, (1ull << 32) - 600000ull, (1ull << 31) - 600000ull,
	};

	memset(r, 0, sizeof(*r));
	for (unsigned i = 0; i < 3; i++)
		r->conf[i] = get_u8(in);
	build_config(&cfg_now, r->conf, -1);
	r->cfg = &cfg_now;
	r->nworkers = (r->conf[0] & 1) ? 2 : 1;
	r->pure_monitor = cfg_now.monitor && !cfg_now.uplink_mss_clamp;
	r->now = start_ms[r->conf[0] >> 6] * MS;
	r->time_left = TIME_BUDGET_NS;
	CHECK(sg_proxy_create(&cfg_now, r->nworkers, &r->p) == 0);
}

/* A reload while the workers run: it takes effect at each worker's next
 * call, and is refused (-EAGAIN) exactly while a worker that is not
 * offline has not been called since the previous one. */
static void reload(struct run *r, uint8_t b)
{
	struct sg_cfg_fault why;
	bool waiting = false;
	int rc;

	build_config(&cfg_next, r->conf, b);
	for (unsigned i = 0; i < r->nworkers; i++)
		waiting |= r->stale[i];
	rc = sg_proxy_reconfigure(r->p, &cfg_next, &why);
	CHECK(rc == (waiting ? -EAGAIN : 0));
	if (rc)
		return;
	cfg_now = cfg_next;
	r->pure_monitor &= cfg_now.monitor && !cfg_now.uplink_mss_clamp;
	for (unsigned i = 0; i < r->nworkers; i++)
		r->stale[i] = !r->offline[i];
}

/* What a restart must change: refused, whatever else the reload says. */
static void reload_size(struct run *r, uint8_t b)
{
	struct sg_cfg_fault why;
	struct sg_proxy_config *c = &cfg_next;

	*c = cfg_now;
	switch (b & 7) {
	case 0:
		c->ct.capacity *= 2;
		break;
	case 1:
		c->cookie_period_s = c->cookie_period_s == SG_SECRET_MIN_PERIOD_S ?
		                     SG_SECRET_MIN_PERIOD_S + 1 : SG_SECRET_MIN_PERIOD_S;
		break;
	case 2:
		c->source_share = c->source_share == SG_SOURCE_SHARE_MAX ? 2 : SG_SOURCE_SHARE_MAX;
		break;
	case 3:
		c->source_prefix4 = c->source_prefix4 == 32 ? 16 : 32;
		break;
	case 4:
		c->halfopen.entries *= 2;
		break;
	case 5:
		c->learn.ttl_s = c->learn.ttl_s == SG_LEARN_MIN_TTL_S ? 2 : SG_LEARN_MIN_TTL_S;
		break;
	case 6:
		c->ratelimit.entries *= 2;
		break;
	default:
		c->ratelimit.prefix6 = c->ratelimit.prefix6 == 128 ? 64 : 128;
		break;
	}
	CHECK(sg_proxy_reconfigure(r->p, c, &why) == -EINVAL);
	CHECK(why.rule == SG_CFG_RESTART);
}

/* sg_ct_create maps the table's memory and sg_ct_destroy unmaps it.  In
 * a VM the TLB flush of an munmap cost more than all the rest of an input
 * (half the harness's time went to creating and destroying proxies), so
 * the link wraps both calls (meson.build: -Wl,--wrap) and keeps a few
 * mappings for the next input's table, zeroed as a fresh anonymous mapping
 * would be.  Nothing of an input outlives it, so reuse hides nothing. */
#define MAP_CACHE 8
static struct { void *p; size_t len; } map_cache[MAP_CACHE];
static unsigned map_cached;

void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__real_mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off);
int __real_munmap(void *addr, size_t len);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off);
int __wrap_munmap(void *addr, size_t len);

static void *map_reuse(void *addr, size_t len, int prot, int flags, int fd)
{
	if (!addr && fd == -1 && prot == (PROT_READ | PROT_WRITE) &&
	    (flags & (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)) == (MAP_PRIVATE | MAP_ANONYMOUS))
		for (unsigned i = 0; i < map_cached; i++)
			if (map_cache[i].len == len) {
				void *p = map_cache[i].p;

				map_cache[i] = map_cache[--map_cached];
				memset(p, 0, len);
				return p;
			}
	return NULL;
}

/* With _FILE_OFFSET_BITS=64 (meson's default) the core calls mmap64. */
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = map_reuse(addr, len, prot, flags, fd);

	return p ? p : __real_mmap(addr, len, prot, flags, fd, off);
}

void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	void *p = map_reuse(addr, len, prot, flags, fd);

	return p ? p : __real_mmap64(addr, len, prot, flags, fd, off);
}

int __wrap_munmap(void *addr, size_t len)
{
	if (map_cached < MAP_CACHE) {
		map_cache[map_cached].p = addr;
		map_cache[map_cached].len = len;
		map_cached++;
		return 0;
	}
	return __real_munmap(addr, len);
}

/* ASan keeps 256 MiB of freed memory from reuse by default, so every
 * input's allocations landed on fresh pages (a page fault each); nothing
 * outlives an input here, and 16 MiB still holds many inputs' frees. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=16";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct run r;

	if (trace < 0) {
		const char *allow = getenv("FUZZ_PROXY_ALLOW");

		trace = getenv("FUZZ_PROXY_TRACE") != NULL;
		allow_monitor_cookie = allow && strstr(allow, "monitor-cookie");
	}
	if (size == 0)
		return 0;
	configure(&r, &in);
	while (in.n > 0) {
		uint8_t op = get_u8(&in);
		unsigned kind = op & 3, wid = ((op >> 3) & 1) % r.nworkers;
		enum sg_port port = (enum sg_port)((op >> 2) & 1);
		unsigned cap = (op & 0x80) ? get_u8(&in) % (SG_OUT_MAX + 1) : SG_OUT_MAX;
		uint8_t dt = get_u8(&in);

		switch (kind) {
		case 0:
			advance(&r, dt, false);
			one_frame(&r, wid, port, cap, &in);
			tick(&r, wid, SG_OUT_MAX);
			break;
		case 1:
			advance(&r, dt, false);
			burst(&r, wid, port, burst_n[(op >> 4) & 7], cap, &in);
			tick(&r, wid, SG_OUT_MAX);
			break;
		case 2:
			advance(&r, dt, op & 0x20);
			if (op & 0x10)
				for (unsigned i = 0; i < r.nworkers; i++)
					tick(&r, i, cap);
			else
				tick(&r, wid, cap);
			break;
		default:
			switch ((op >> 4) & 3) {
			case 0:
				sg_proxy_set_cookie_clock(r.p, (int64_t)dt * 8000 * (int64_t)MS);
				break;
			case 1:
				sg_proxy_worker_offline(sg_proxy_worker(r.p, wid));
				r.offline[wid] = true;   /* holds no configuration */
				r.stale[wid] = false;
				break;
			case 2:
				reload(&r, dt);
				break;
			default:
				reload_size(&r, dt);
				break;
			}
			break;
		}
		check_counters(&r);
	}
	if (trace)
		trace_counters(&r);
	sg_proxy_destroy(r.p);
	return 0;
}
