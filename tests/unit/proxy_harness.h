/* Scenario harness for the proxy core: a scripted client on the WAN port,
 * a scripted server on the LAN port, a fake clock, and helpers that build
 * their frames and read what the core emits.  Every scenario runs in three
 * flavours: IPv4, IPv6, and IPv4 under two VLAN tags (802.1ad + 802.1Q).
 *
 * Seed dump: with SG_TEST_DUMP_DIR set to a directory, every scenario
 * (h_init to h_fini) also writes what h_send and h_tick feed the core to
 * DIR/<test function>.<flavour>.<n>, one line an event:
 *   config <capacity> <unknown_policy> <bad_frame_policy> <uplink_mss_clamp> <shared_key>
 *          <monitor> <signed_syn_policy> <source_share> <halfopen.max_syn_rate>
 *          <ratelimit_on>
 *   frame <port> <now_ns> <frame as hex, before the core rewrites it>
 *   tick <now_ns> <frames the tick emitted>
 * tests/fuzz/make-seeds.sh turns these into fuzz_proxy's seeds.  Without
 * the variable nothing is written and nothing else changes. */
#ifndef SG_TEST_PROXY_HARNESS_H
#define SG_TEST_PROXY_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/proxy.h"
#include "net/build.h"
#include "net/csum.h"
#include "net/pkt.h"

#define H_SEC 1000000000ull
#define H_FRAME_MAX 2048

enum h_flavour { H_V4 = 0, H_V6, H_V4_VLAN, H_FLAVOURS };

static const char *const h_flavour_name[H_FLAVOURS] = { "ipv4", "ipv6", "ipv4+qinq" };

/* One side's TCP options as it sends them in its SYN or SYN-ACK. */
struct h_opts {
	uint16_t mss;        /* 0: no MSS option */
	int      ws;         /* -1: no WS option */
	int      sack;
	int      ts;
};

struct h {
	enum h_flavour fl;
	struct sg_proxy *p;
	struct sg_proxy_worker *w;
	uint64_t now;
	uint8_t outbuf[SG_OUT_MAX][SG_OUT_FRAME_MAX];
	struct sg_out out;
	uint8_t frame[H_FRAME_MAX];
	uint32_t frame_len;
	/* client (WAN) and server (LAN) */
	uint16_t cport, sport;
	uint32_t c_isn, s_isn;
	uint32_t c_ts, s_ts;          /* their timestamp clocks */
	uint32_t s_ts0;               /* the server's TSval in its SYN-ACK */
	struct h_opts copt, sopt;
	/* what each side learnt in the handshake */
	uint32_t cookie, ts_cookie;   /* ISN and TSval the client got */
	uint32_t c_nxt, s_nxt;        /* next SEQ each side sends (own space) */
	uint32_t c_seen_ts;           /* last TSval the client received */
	uint32_t s_seen_ts;           /* last TSval the server received */
	uint16_t syn_mss;             /* what the server was told */
	int      syn_ws, syn_sack, syn_ts;
	FILE    *dump;                /* SG_TEST_DUMP_DIR's file, or NULL */
};

static inline void h_tcp_frame(struct h *h, struct sg_tcp_frame *f, int from_client)
{
	static const uint8_t cmac[6] = { 0x02, 0, 0, 0, 0, 0xc1 };
	static const uint8_t smac[6] = { 0x02, 0, 0, 0, 0, 0x51 };
	static const uint8_t c4[4] = { 198, 51, 100, 7 }, s4[4] = { 192, 0, 2, 10 };
	static const uint8_t c6[16] = { 0x20, 1, 0xd, 0xb8, 0xc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7 };
	static const uint8_t s6[16] = { 0x20, 1, 0xd, 0xb8, 0x5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10 };
	int v6 = h->fl == H_V6;

	memset(f, 0, sizeof(*f));
	memcpy(f->src_mac, from_client ? cmac : smac, 6);
	memcpy(f->dst_mac, from_client ? smac : cmac, 6);
	if (h->fl == H_V4_VLAN) {
		f->nvlan = 2;
		f->vlan[0].tpid = SG_ETH_P_8021AD;
		f->vlan[0].tci = 0x0064;
		f->vlan[1].tpid = SG_ETH_P_8021Q;
		f->vlan[1].tci = 0x2007;
	}
	f->family = v6 ? 6 : 4;
	memcpy(f->saddr, from_client ? (v6 ? c6 : c4) : (v6 ? s6 : s4), v6 ? 16 : 4);
	memcpy(f->daddr, from_client ? (v6 ? s6 : s4) : (v6 ? c6 : c4), v6 ? 16 : 4);
	f->sport = from_client ? h->cport : h->sport;
	f->dport = from_client ? h->sport : h->cport;
}

/* Builds a segment into h->frame, payload bytes filled with a pattern. */
static inline void h_build(struct h *h, int from_client, uint8_t flags, uint32_t seq, uint32_t ack,
                           uint16_t win, const struct sg_tcp_opts *opt, unsigned payload)
{
	static uint8_t data[H_FRAME_MAX];
	struct sg_tcp_frame f;
	int len;

	assert_true(payload < sizeof(data));
	for (unsigned i = 0; i < payload; i++)
		data[i] = (uint8_t)(seq + i);
	h_tcp_frame(h, &f, from_client);
	f.flags = flags;
	f.seq = seq;
	f.ack = ack;
	f.win = win;
	if (opt)
		f.opt = *opt;
	f.payload = data;
	f.payload_len = (uint16_t)payload;
	len = sg_build_tcp(h->frame, sizeof(h->frame), &f);
	assert_true(len > 0);
	h->frame_len = (uint32_t)len;
}

static inline enum sg_verdict h_send(struct h *h, enum sg_port port)
{
	if (h->dump) {
		fprintf(h->dump, "frame %d %llu ", (int)port, (unsigned long long)h->now);
		for (uint32_t i = 0; i < h->frame_len; i++)
			fprintf(h->dump, "%02x", h->frame[i]);
		fputc('\n', h->dump);
	}
	sg_out_init(&h->out, h->outbuf[0], SG_OUT_MAX);
	return sg_proxy_process(h->w, port, h->frame, h->frame_len, h->now, &h->out);
}

static inline int h_tick(struct h *h)
{
	int more;

	sg_out_init(&h->out, h->outbuf[0], SG_OUT_MAX);
	more = sg_proxy_tick(h->w, h->now, &h->out);
	if (h->dump)
		fprintf(h->dump, "tick %llu %u\n", (unsigned long long)h->now, h->out.n);
	return more;
}

/* Advances the clock in 10 ms ticks, collecting nothing; returns the
 * number of frames emitted on `port` meanwhile (-1: any port). */
static inline unsigned h_advance(struct h *h, uint64_t ns, int port)
{
	unsigned n = 0;

	for (uint64_t end = h->now + ns; h->now < end;) {
		h->now += 10 * 1000 * 1000ull;
		h_tick(h);
		for (unsigned i = 0; i < h->out.n; i++)
			if (port < 0 || h->out.f[i].port == port)
				n++;
	}
	return n;
}

/* Parses emitted frame i, asserting it is TCP with a valid checksum. */
static inline void h_out(struct h *h, unsigned i, enum sg_port port, struct sg_pkt *p)
{
	assert_true(i < h->out.n);
	assert_int_equal(h->out.f[i].port, port);
	assert_int_equal(sg_pkt_parse(p, h->out.f[i].buf, h->out.f[i].len), SG_PKT_TCP);
	assert_true(sg_pkt_tcp_csum_ok(p));
}

/* The forwarded frame (h->frame, rewritten in place). */
static inline void h_fwd(struct h *h, struct sg_pkt *p)
{
	assert_int_equal(sg_pkt_parse(p, h->frame, h->frame_len), SG_PKT_TCP);
	assert_true(sg_pkt_tcp_csum_ok(p));
}

static inline void h_check_identity(struct h *h, const struct sg_pkt *p, int from_client)
{
	struct sg_tcp_frame f;

	h_tcp_frame(h, &f, from_client);
	assert_int_equal(p->family, f.family);
	assert_memory_equal(sg_pkt_saddr(p), f.saddr, f.family == 4 ? 4 : 16);
	assert_memory_equal(sg_pkt_daddr(p), f.daddr, f.family == 4 ? 4 : 16);
	assert_memory_equal(p->data, f.dst_mac, 6);
	assert_memory_equal(p->data + 6, f.src_mac, 6);
	assert_int_equal(p->sport, f.sport);
	assert_int_equal(p->dport, f.dport);
	assert_int_equal(p->nvlan, f.nvlan);
	for (unsigned i = 0; i < f.nvlan; i++) {
		assert_int_equal(p->vlan[i].tpid, f.vlan[i].tpid);
		assert_int_equal(p->vlan[i].tci, f.vlan[i].tci);
	}
}

static inline struct sg_tcp_opts h_syn_opts(const struct h_opts *o, uint32_t tsval, uint32_t tsecr)
{
	struct sg_tcp_opts t = { 0 };

	if (o->mss) {
		t.present |= SG_OPT_MSS;
		t.mss = o->mss;
	}
	if (o->ws >= 0) {
		t.present |= SG_OPT_WS;
		t.wscale = (uint8_t)o->ws;
	}
	if (o->sack)
		t.present |= SG_OPT_SACKPERM;
	if (o->ts) {
		t.present |= SG_OPT_TS;
		t.tsval = tsval;
		t.tsecr = tsecr;
	}
	return t;
}

static const uint8_t h_seed[SG_PROXY_SEED_BYTES] = {
	0x5b, 0x19, 0xe7, 0x02, 0x8c, 0x33, 0xd0, 0x6e, 0xa1, 0x47, 0xfc, 0x25, 0x90, 0x0b, 0x6d, 0xb3,
	0x14, 0xc8, 0x7e, 0x59, 0x22, 0xaf, 0x03, 0xd6, 0x68, 0x91, 0x3c, 0xe5, 0x4a, 0xb7, 0x0f, 0x86,
};

/* The scenarios check the cookie handshake; the SYN cache, which takes
 * SYNs first while they come slowly, is switched on only by its own. */
static bool h_syn_cache;

/* Opens the scenario's dump file when SG_TEST_DUMP_DIR is set: the first
 * free name of <who>.<flavour>.<n>. */
static inline void h_dump_open(struct h *h, const char *who, const struct sg_proxy_config *cfg)
{
	const char *dir = getenv("SG_TEST_DUMP_DIR");
	char path[512];

	if (!dir || !*dir)
		return;
	for (unsigned n = 0; !h->dump && n < 1000; n++) {
		snprintf(path, sizeof(path), "%s/%s.%s.%u", dir, who, h_flavour_name[h->fl], n);
		h->dump = fopen(path, "wx");
	}
	assert_non_null(h->dump);
	fprintf(h->dump, "config %u %u %u %u %d %d %u %u %u %d\n", cfg->ct.capacity,
	        cfg->unknown_policy, cfg->bad_frame_policy, cfg->uplink_mss_clamp,
	        cfg->shared_key != NULL, cfg->monitor, cfg->signed_syn_policy, cfg->source_share,
	        cfg->halfopen.max_syn_rate, cfg->ratelimit_on);
}

/* h_init(h, fl, cfg): the scenario's name is its test function's, for the
 * seed dump. */
#define h_init(h, fl, cfg_in) h_init_named((h), (fl), (cfg_in), __func__)

static inline void h_init_named(struct h *h, enum h_flavour fl, const struct sg_proxy_config *cfg_in,
                                const char *who)
{
	struct sg_proxy_config cfg;

	memset(h, 0, sizeof(*h));
	h->fl = fl;
	if (cfg_in) {
		cfg = *cfg_in;
	} else {
		sg_proxy_config_default(&cfg);
		cfg.ct.capacity = 1024;
	}
	if (!cfg.seed)
		cfg.seed = h_seed;      /* deterministic runs */
	if (!h_syn_cache)
		cfg.halfopen.max_syn_rate = 0;
	assert_int_equal(sg_proxy_create(&cfg, 1, &h->p), 0);
	h->w = sg_proxy_worker(h->p, 0);
	h->now = 1000 * H_SEC;
	h->cport = 40001;
	h->sport = 80;
	h->c_isn = 0x10000000u;
	h->s_isn = 0xf0000000u;      /* seq_offset wraps: tests the arithmetic */
	h->c_ts = 5000;
	h->s_ts = 900000;
	h->copt = (struct h_opts){ .mss = 1460, .ws = 7, .sack = 1, .ts = 1 };
	h->sopt = (struct h_opts){ .mss = 1400, .ws = 9, .sack = 1, .ts = 1 };
	h_dump_open(h, who, &cfg);
}

static inline void h_fini(struct h *h)
{
	if (h->dump) {
		fclose(h->dump);
		h->dump = NULL;
	}
	sg_proxy_destroy(h->p);
}

static inline uint64_t h_stat(struct h *h, enum sg_stat s)
{
	return sg_proxy_stats(h->w)->c[s];
}

/* Client SYN -> cookie SYN-ACK.  Checks and records the SYN-ACK. */
static inline void h_client_syn(struct h *h)
{
	struct sg_tcp_opts o = h_syn_opts(&h->copt, h->c_ts, 0);
	struct sg_pkt p;

	h_build(h, 1, SG_TCP_SYN, h->c_isn, 0, 64240, &o, 0);
	assert_int_equal(h_send(h, SG_PORT_WAN), SG_VERDICT_CONSUME);
	assert_int_equal(h->out.n, 1);
	h_out(h, 0, SG_PORT_WAN, &p);
	h_check_identity(h, &p, 0);
	assert_int_equal(p.tcp_flags, SG_TCP_SYN | SG_TCP_ACK);
	assert_int_equal(p.ack, h->c_isn + 1);
	assert_int_equal(p.win, 0);
	assert_true(p.opt.present & SG_OPT_MSS);
	assert_int_equal(!!(p.opt.present & SG_OPT_WS), h->copt.ws >= 0);
	assert_int_equal(!!(p.opt.present & SG_OPT_SACKPERM), !!h->copt.sack);
	assert_int_equal(!!(p.opt.present & SG_OPT_TS), !!h->copt.ts);
	h->cookie = p.seq;
	if (h->copt.ts) {
		assert_int_equal(p.opt.tsecr, h->c_ts);
		h->ts_cookie = p.opt.tsval;
		h->c_seen_ts = p.opt.tsval;
	}
	h->c_nxt = h->c_isn + 1;
}

/* The client's pure ACK of the cookie SYN-ACK (or of anything). */
static inline void h_client_ack(struct h *h, uint32_t seq, uint32_t ack, unsigned payload)
{
	struct sg_tcp_opts o = { 0 };

	if (h->copt.ts) {
		o.present = SG_OPT_TS;
		o.tsval = ++h->c_ts;
		o.tsecr = h->c_seen_ts;
	}
	h_build(h, 1, SG_TCP_ACK | (payload ? SG_TCP_PSH : 0), seq, ack, 502, &o, payload);
}

/* Cookie ACK -> SYN to the server; checks and records the SYN. */
static inline void h_client_ack_cookie(struct h *h)
{
	struct sg_pkt p;

	h_client_ack(h, h->c_isn + 1, h->cookie + 1, 0);
	assert_int_equal(h_send(h, SG_PORT_WAN), SG_VERDICT_CONSUME);
	assert_int_equal(h->out.n, 1);
	h_out(h, 0, SG_PORT_LAN, &p);
	h_check_identity(h, &p, 1);
	assert_int_equal(p.tcp_flags, SG_TCP_SYN);
	assert_int_equal(p.seq, h->c_isn);
	h->syn_mss = (p.opt.present & SG_OPT_MSS) ? p.opt.mss : 0;
	h->syn_ws = (p.opt.present & SG_OPT_WS) ? p.opt.wscale : -1;
	h->syn_sack = !!(p.opt.present & SG_OPT_SACKPERM);
	h->syn_ts = !!(p.opt.present & SG_OPT_TS);
	if (h->syn_ts)
		assert_int_equal(p.opt.tsval, h->c_ts);
	h->s_seen_ts = h->syn_ts ? p.opt.tsval : 0;
}

/* Server SYN-ACK -> ACK to server + window update to client. */
static inline void h_server_synack(struct h *h)
{
	struct sg_tcp_opts o = h_syn_opts(&h->sopt, h->s_ts, h->s_seen_ts);
	struct sg_pkt p;

	if (!h->syn_ts)
		o.present &= (uint8_t)~SG_OPT_TS;
	if (!h->syn_sack)
		o.present &= (uint8_t)~SG_OPT_SACKPERM;
	if (h->syn_ws < 0)
		o.present &= (uint8_t)~SG_OPT_WS;
	h->s_ts0 = h->s_ts;
	h_build(h, 0, SG_TCP_SYN | SG_TCP_ACK, h->s_isn, h->c_isn + 1, 65160, &o, 0);
	assert_int_equal(h_send(h, SG_PORT_LAN), SG_VERDICT_CONSUME);
	assert_int_equal(h->out.n, 2);
	h_out(h, 0, SG_PORT_LAN, &p);
	h_check_identity(h, &p, 1);
	assert_int_equal(p.tcp_flags, SG_TCP_ACK);
	assert_int_equal(p.seq, h->c_isn + 1);
	assert_int_equal(p.ack, h->s_isn + 1);
	assert_true(p.win > 0);
	h_out(h, 1, SG_PORT_WAN, &p);
	h_check_identity(h, &p, 0);
	assert_int_equal(p.tcp_flags, SG_TCP_ACK);
	assert_int_equal(p.seq, h->cookie + 1);
	assert_int_equal(p.ack, h->c_isn + 1);
	assert_true(p.win > 0);
	if (h->copt.ts) {
		assert_true(p.opt.present & SG_OPT_TS);
		assert_int_equal(p.opt.tsval, h->ts_cookie);
	}
	h->s_nxt = h->s_isn + 1;
}

static inline void h_proxied_open(struct h *h)
{
	h_client_syn(h);
	h_client_ack_cookie(h);
	h_server_synack(h);
}

/* Client sends `len` bytes; asserts the server gets them translated. */
static inline void h_c2s_data(struct h *h, unsigned len)
{
	struct sg_pkt p;

	h_client_ack(h, h->c_nxt, h->cookie + 1 + (h->s_nxt - h->s_isn - 1), len);
	assert_int_equal(h_send(h, SG_PORT_WAN), SG_VERDICT_FORWARD);
	h_fwd(h, &p);
	assert_int_equal(p.seq, h->c_nxt);
	assert_int_equal(p.ack, h->s_nxt);
	assert_int_equal(p.payload_len, len);
	if (h->syn_ts && (h->sopt.ts)) {
		assert_true(p.opt.present & SG_OPT_TS);
		assert_int_equal(p.opt.tsval, h->c_ts);
		assert_int_equal(p.opt.tsecr, h->s_ts);
	}
	h->c_nxt += len;
}

/* Server sends `len` bytes; asserts the client gets them translated. */
static inline void h_s2c_data(struct h *h, unsigned len)
{
	struct sg_tcp_opts o = { 0 };
	struct sg_pkt p;

	if (h->syn_ts && h->sopt.ts) {
		o.present = SG_OPT_TS;
		o.tsval = ++h->s_ts;
		o.tsecr = h->c_ts;
	}
	h_build(h, 0, SG_TCP_ACK | SG_TCP_PSH, h->s_nxt, h->c_nxt, 501, &o, len);
	assert_int_equal(h_send(h, SG_PORT_LAN), SG_VERDICT_FORWARD);
	h_fwd(h, &p);
	assert_int_equal(p.seq, h->s_nxt - h->s_isn + h->cookie);
	assert_int_equal(p.ack, h->c_nxt);
	assert_int_equal(p.payload_len, len);
	if (h->copt.ts && h->sopt.ts) {
		assert_int_equal(p.opt.tsval, h->s_ts + h->ts_cookie - h->s_ts0);
		h->c_seen_ts = p.opt.tsval;
	}
	h->s_nxt += len;
}

#define FOR_EACH_FLAVOUR(fl) for (enum h_flavour fl = H_V4; fl < H_FLAVOURS; fl++)

#endif
