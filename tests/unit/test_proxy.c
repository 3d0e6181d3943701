/* Proxy core scenarios: every path of the state machine.
 * Each runs for IPv4, IPv6 and VLAN-tagged IPv4 (proxy_harness.h). */
#include "proxy_harness.h"

#include "net/bytes.h"
#include "net/tcpopt.h"

/* ---- proxied connections ---- */

static void test_proxied_handshake_data_and_four_way_close(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;
		struct sg_pkt p;

		h_init(&h, fl, NULL);
		h_proxied_open(&h);
		assert_int_equal(h.syn_mss, fl == H_V6 ? 1440 : 1460);
		assert_int_equal(h.syn_ws, 7);
		assert_true(h.syn_sack && h.syn_ts);
		h_c2s_data(&h, 100);
		h_s2c_data(&h, 1000);
		h_c2s_data(&h, 1);

		/* Client closes: FIN, server ACKs and closes, client's last ACK. */
		h_client_ack(&h, h.c_nxt, h.cookie + 1 + (h.s_nxt - h.s_isn - 1), 0);
		h.frame[SG_ETH_HLEN + (fl == H_V4_VLAN ? 8 : 0) + (fl == H_V6 ? 40 : 20) + 13] |= SG_TCP_FIN;
		assert_int_equal(sg_pkt_parse(&p, h.frame, h.frame_len), SG_PKT_TCP);
		sg_pkt_tcp_csum_fill(&p);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		h_fwd(&h, &p);
		assert_int_equal(p.tcp_flags & SG_TCP_FIN, SG_TCP_FIN);
		assert_int_equal(p.ack, h.s_nxt);
		h.c_nxt++;

		struct sg_tcp_opts o = { .present = SG_OPT_TS, .tsval = ++h.s_ts, .tsecr = h.c_ts };
		h_build(&h, 0, SG_TCP_ACK | SG_TCP_FIN, h.s_nxt, h.c_nxt, 501, &o, 0);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		h_fwd(&h, &p);
		assert_int_equal(p.seq, h.s_nxt - h.s_isn + h.cookie);
		h.s_nxt++;

		h_client_ack(&h, h.c_nxt, h.cookie + 1 + (h.s_nxt - h.s_isn - 1), 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		h_fwd(&h, &p);
		assert_int_equal(p.ack, h.s_nxt);
		assert_int_equal(h_stat(&h, SG_STAT_PROXIED_OPEN), 1);

		/* TIME_WAIT still passes a retransmitted final FIN and ACK. */
		h_build(&h, 0, SG_TCP_ACK | SG_TCP_FIN, h.s_nxt - 1, h.c_nxt, 501, &o, 0);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		h_client_ack(&h, h.c_nxt, h.cookie + 1 + (h.s_nxt - h.s_isn - 1), 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		/* ... and goes away after its 120 s. */
		h_advance(&h, 121 * H_SEC, -1);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 0);
		h_fini(&h);
	}
}

static void test_client_syn_retransmitted_gets_the_same_cookie(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;
		uint32_t first;

		uint32_t first_ts;

		h_init(&h, fl, NULL);
		h_client_syn(&h);
		first = h.cookie;
		first_ts = h.ts_cookie;
		h.now += H_SEC;
		h_client_syn(&h);
		/* Without timestamps the same epoch gives the same cookie; with
		 * them the clock moved, and either SYN-ACK is good. */
		h.copt.ts = 0;
		h_client_syn(&h);
		uint32_t plain = h.cookie;
		h.now += H_SEC;
		h_client_syn(&h);
		assert_int_equal(h.cookie, plain);
		h.copt.ts = 1;
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 0);   /* no state */
		h.cookie = first;
		h.ts_cookie = first_ts;
		h.c_seen_ts = first_ts;
		h_client_ack_cookie(&h);
		h_server_synack(&h);
		h_c2s_data(&h, 10);
		h_fini(&h);
	}
}

static void test_client_ack_retransmitted_while_waiting_resends_syn(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;
		struct sg_pkt p;

		h_init(&h, fl, NULL);
		h_client_syn(&h);
		h_client_ack_cookie(&h);
		h.c_ts--;   /* the very same ACK again */
		h_client_ack(&h, h.c_isn + 1, h.cookie + 1, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_CONSUME);
		assert_int_equal(h.out.n, 1);
		h_out(&h, 0, SG_PORT_LAN, &p);
		assert_int_equal(p.tcp_flags, SG_TCP_SYN);
		assert_int_equal(p.seq, h.c_isn);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 1);
		h_server_synack(&h);
		h_fini(&h);
	}
}

static void test_syn_to_server_backs_off_then_client_gets_rst(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;
		uint64_t t0;
		unsigned sent[6] = { 0 };
		uint64_t at[6] = { 0 };
		unsigned n = 0, rst = 0;
		struct sg_pkt p;

		h_init(&h, fl, NULL);
		h_client_syn(&h);
		h_client_ack_cookie(&h);
		t0 = h.now;
		while (h.now < t0 + 40 * H_SEC) {
			h.now += 10 * 1000 * 1000ull;
			h_tick(&h);
			for (unsigned i = 0; i < h.out.n; i++) {
				h_out(&h, i, h.out.f[i].port, &p);
				if (h.out.f[i].port == SG_PORT_LAN) {
					assert_int_equal(p.tcp_flags, SG_TCP_SYN);
					assert_int_equal(p.seq, h.c_isn);
					if (n < 6)
						at[n] = h.now - t0;
					sent[n < 6 ? n : 5]++;
					n++;
				} else {
					assert_int_equal(p.tcp_flags, SG_TCP_RST | SG_TCP_ACK);
					assert_int_equal(p.seq, h.cookie + 1);
					h_check_identity(&h, &p, 0);
					rst++;
				}
			}
		}
		/* Re-sent after 1, 2, 4 and 8 s: at 1, 3, 7, 15 s; 5 tries in all. */
		assert_int_equal(n, SG_PROXY_SYN_TRIES - 1);
		uint64_t want[4] = { 1, 3, 7, 15 };
		for (unsigned i = 0; i < 4; i++) {
			assert_true(at[i] >= want[i] * H_SEC);
			assert_true(at[i] < want[i] * H_SEC + 300 * 1000 * 1000ull);
		}
		assert_int_equal(rst, 1);
		assert_int_equal(h_stat(&h, SG_STAT_SERVER_TIMEOUT), 1);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 0);
		h_fini(&h);
	}
}

static void test_server_synack_retransmitted_is_acked_again(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;
		struct sg_pkt p;
		struct sg_tcp_opts o;

		h_init(&h, fl, NULL);
		h_proxied_open(&h);
		o = h_syn_opts(&h.sopt, h.s_ts0, h.s_seen_ts);
		h_build(&h, 0, SG_TCP_SYN | SG_TCP_ACK, h.s_isn, h.c_isn + 1, 65160, &o, 0);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_CONSUME);
		assert_int_equal(h.out.n, 1);
		h_out(&h, 0, SG_PORT_LAN, &p);
		assert_int_equal(p.tcp_flags, SG_TCP_ACK);
		assert_int_equal(p.ack, h.s_isn + 1);
		h_c2s_data(&h, 5);
		h_fini(&h);
	}
}

static void test_proxied_closed_port_gives_client_the_rst_it_expects(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;
		struct sg_pkt p;

		h_init(&h, fl, NULL);
		h_client_syn(&h);
		h_client_ack_cookie(&h);
		h_build(&h, 0, SG_TCP_RST | SG_TCP_ACK, 0, h.c_isn + 1, 0, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		h_fwd(&h, &p);
		assert_int_equal(p.tcp_flags, SG_TCP_RST | SG_TCP_ACK);
		assert_int_equal(p.seq, h.cookie + 1);
		assert_int_equal(p.ack, h.c_isn + 1);
		assert_int_equal(h_stat(&h, SG_STAT_SERVER_REFUSED), 1);
		/* No further SYN to the server. */
		assert_int_equal(h_advance(&h, 20 * H_SEC, SG_PORT_LAN), 0);
		h_fini(&h);
	}
}

static void rst_case(struct h *h, int from_client, int32_t off, enum sg_verdict want)
{
	struct sg_pkt p;

	if (from_client)
		h_build(h, 1, SG_TCP_RST, (uint32_t)(h->c_nxt + (uint32_t)off), 0, 0, NULL, 0);
	else
		h_build(h, 0, SG_TCP_RST, (uint32_t)(h->s_nxt + (uint32_t)off), 0, 0, NULL, 0);
	assert_int_equal(h_send(h, from_client ? SG_PORT_WAN : SG_PORT_LAN), want);
	if (want == SG_VERDICT_FORWARD) {
		h_fwd(h, &p);
		assert_int_equal(p.seq, from_client ? h->c_nxt + (uint32_t)off
		                                    : h->s_nxt + (uint32_t)off - h->s_isn + h->cookie);
	}
}

static void test_rst_both_ways_on_proxied_connection_checked_for_sequence(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		for (int from_client = 0; from_client <= 1; from_client++) {
			struct h h;

			h_init(&h, fl, NULL);
			h_proxied_open(&h);
			h_c2s_data(&h, 300);
			h_s2c_data(&h, 700);
			/* Blind RSTs far from the expected sequence are dropped. */
			rst_case(&h, from_client, 100000, SG_VERDICT_DROP);
			rst_case(&h, from_client, -5000, SG_VERDICT_DROP);
			assert_int_equal(h_stat(&h, SG_STAT_DROP_RST_INVALID), 2);
			/* One within a few bytes closes the connection. */
			rst_case(&h, from_client, 3, SG_VERDICT_FORWARD);
			h_advance(&h, 46 * H_SEC, -1);
			assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 0);
			h_fini(&h);
		}
	}
}

static void test_fin_retransmits_both_ways_pass_and_a_moved_fin_is_dropped(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;
		struct sg_tcp_opts o;

		h_init(&h, fl, NULL);
		h.copt.ts = 0;
		h_proxied_open(&h);
		h_c2s_data(&h, 10);
		for (int i = 0; i < 3; i++) {
			h_build(&h, 1, SG_TCP_FIN | SG_TCP_ACK, h.c_nxt, h.cookie + 1, 500, NULL, 0);
			assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		}
		h_build(&h, 1, SG_TCP_FIN | SG_TCP_ACK, h.c_nxt + 5, h.cookie + 1, 500, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		memset(&o, 0, sizeof(o));
		for (int i = 0; i < 3; i++) {
			h_build(&h, 0, SG_TCP_FIN | SG_TCP_ACK, h.s_nxt, h.c_nxt + 1, 500, NULL, 0);
			assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		}
		h_build(&h, 0, SG_TCP_FIN | SG_TCP_ACK, h.s_nxt + 9, h.c_nxt + 1, 500, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_DROP);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_FIN_CHANGED), 2);
		h_fini(&h);
	}
}

static void test_many_segments_both_ways_interleaved(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;

		h_init(&h, fl, NULL);
		h_proxied_open(&h);
		for (int i = 0; i < 10000; i++)
			h_s2c_data(&h, 1448);            /* server -> client */
		h_c2s_data(&h, 0);                   /* client ACKs all */
		for (int i = 0; i < 10000; i++)
			h_c2s_data(&h, 1000);            /* client -> server */
		for (int i = 0; i < 10000; i++) {    /* both, interleaved */
			h_c2s_data(&h, (unsigned)(i % 1400));
			h_s2c_data(&h, (unsigned)((i * 7) % 1400));
		}
		assert_int_equal(h_stat(&h, SG_STAT_DROPPED), 0);
		h_fini(&h);
	}
}

/* The client's ACK of the cookie SYN-ACK was lost: the window it was
 * given is zero, so all it sends are window probes, empty at SEQ = ISN
 * (Linux) or one byte at ISN + 1.  Either opens the connection; the byte
 * is dropped and sent again once the window opens. */
static void test_window_probes_open_a_connection_whose_ack_was_lost(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		for (int empty = 0; empty <= 1; empty++) {
			struct h h;
			struct sg_pkt p;

			h_init(&h, fl, NULL);
			h_client_syn(&h);
			if (empty)
				h_client_ack(&h, h.c_isn, h.cookie + 1, 0);
			else
				h_client_ack(&h, h.c_isn + 1, h.cookie + 1, 1);
			assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_CONSUME);
			assert_int_equal(h.out.n, 1);
			assert_int_equal(h_stat(&h, SG_STAT_COOKIE_PROBE), (uint64_t)empty);
			h_out(&h, 0, SG_PORT_LAN, &p);
			assert_int_equal(p.tcp_flags, SG_TCP_SYN);
			assert_int_equal(p.seq, h.c_isn);
			h.syn_ts = 1;
			h.syn_sack = 1;
			h.syn_ws = 7;
			h.s_seen_ts = p.opt.tsval;
			h_server_synack(&h);
			h_c2s_data(&h, 1);
			h_fini(&h);
		}
	}
}

static void test_forged_and_stale_acks_open_nothing(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;

		h_init(&h, fl, NULL);
		h_client_syn(&h);
		h_client_ack(&h, h.c_isn + 1, h.cookie + 2, 0);        /* wrong cookie */
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		h.now += 65 * H_SEC;                                   /* too late */
		h_client_ack(&h, h.c_isn + 1, h.cookie + 1, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		assert_int_equal(h.out.n, 0);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 0);
		h_fini(&h);
	}
}

/* ---- options: what each end sees ---- */

static void test_client_and_server_option_matrix(void **state)
{
	(void)state;
	static const int cws[] = { -1, 0, 7, 10, 14 };
	static const struct h_opts servers[] = {
		{ 1400, 9, 1, 1 },    /* other MSS, other WS */
		{ 1460, -1, 1, 1 },   /* no WS */
		{ 1380, 2, 0, 1 },    /* no SACK */
		{ 1460, 7, 1, 0 },    /* no TS */
		{ 536, -1, 0, 0 },    /* nothing */
	};
	unsigned runs = 0;

	FOR_EACH_FLAVOUR(fl)
	for (unsigned a = 0; a < sizeof(cws) / sizeof(cws[0]); a++)
	for (unsigned bits = 0; bits < 4; bits++)
	for (unsigned s = 0; s < sizeof(servers) / sizeof(servers[0]); s++) {
		struct h h;
		struct sg_pkt p;

		h_init(&h, fl, NULL);
		h.copt = (struct h_opts){ .mss = bits & 1 ? 1300 : 9000, .ws = cws[a],
		                          .sack = bits & 2 ? 1 : 0, .ts = (bits + s) & 1 };
		h.sopt = servers[s];
		h_proxied_open(&h);

		/* The server was told the client's options, never more. */
		assert_true(h.syn_mss <= h.copt.mss || h.syn_mss == (fl == H_V6 ? 1220 : 536));
		assert_int_equal(h.syn_ws, h.copt.ws);
		assert_int_equal(h.syn_sack, h.copt.sack);
		assert_int_equal(h.syn_ts, h.copt.ts);

		/* Windows: a client window reaches the server as the same byte
		 * count (within scaling granularity, never zero). */
		h_client_ack(&h, h.c_nxt, h.cookie + 1, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		h_fwd(&h, &p);
		{
			int c_shift = h.copt.ws >= 0 ? h.copt.ws : 0;
			int s_sees = (h.copt.ws >= 0 && h.sopt.ws >= 0) ? h.copt.ws : 0;
			uint64_t real = (uint64_t)502 << c_shift;
			uint64_t want = real >> s_sees;

			if (want > 65535)
				want = 65535;
			assert_int_equal(p.win, want);
			/* Server TS missing: the client's TS option is gone. */
			if (h.copt.ts && !h.sopt.ts)
				assert_false(p.opt.present & SG_OPT_TS);
		}
		/* Server window 501 scaled by its own shift, as the client sees it. */
		h_build(&h, 0, SG_TCP_ACK, h.s_isn + 1, h.c_nxt, 501, NULL, 0);
		if (h.copt.ts && h.sopt.ts) {
			struct sg_tcp_opts o = { .present = SG_OPT_TS, .tsval = h.s_ts + 1, .tsecr = h.c_ts };
			h_build(&h, 0, SG_TCP_ACK, h.s_isn + 1, h.c_nxt, 501, &o, 0);
		}
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		h_fwd(&h, &p);
		{
			int s_shift = (h.copt.ws >= 0 && h.sopt.ws >= 0) ? h.sopt.ws : 0;
			int c_sees = h.copt.ws >= 0 ? 7 : 0;   /* synguard offers 7 */
			uint64_t want = ((uint64_t)501 << s_shift) >> c_sees;

			if (want > 65535)
				want = 65535;
			if (want == 0)
				want = 1;
			assert_int_equal(p.win, want);
			assert_int_equal(p.seq, h.cookie + 1);
		}
		h_fini(&h);
		runs++;
	}
	assert_int_equal(runs, 3 * 5 * 4 * 5);
}

static void test_sack_after_one_nop_is_translated_with_valid_checksum(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;
		struct sg_pkt p;
		uint8_t opts[40];
		unsigned n = 0;

		h_init(&h, fl, NULL);
		h.copt.ts = 0;
		h_proxied_open(&h);
		h_s2c_data(&h, 1000);
		/* NOP, SACK(2 blocks) at offset 21: odd, then NOP padding. */
		uint32_t l1 = h.cookie + 1 + 1000, r1 = l1 + 500, l2 = r1 + 1000, r2 = l2 + 100;
		opts[n++] = SG_TCPOPT_NOP;
		opts[n++] = SG_TCPOPT_SACK;
		opts[n++] = 18;
		uint32_t e[4] = { l1, r1, l2, r2 };
		for (int i = 0; i < 4; i++) {
			opts[n++] = (uint8_t)(e[i] >> 24);
			opts[n++] = (uint8_t)(e[i] >> 16);
			opts[n++] = (uint8_t)(e[i] >> 8);
			opts[n++] = (uint8_t)e[i];
		}
		opts[n++] = SG_TCPOPT_NOP;
		assert_int_equal(n, 20);
		/* Build a plain ACK, then splice the options in by hand. */
		h_build(&h, 1, SG_TCP_ACK, h.c_nxt, h.cookie + 1 + 1000, 500, NULL, 0);
		{
			unsigned l2o = SG_ETH_HLEN + (fl == H_V4_VLAN ? 8 : 0);
			uint8_t *ip = h.frame + l2o;
			uint8_t *tcp = ip + (fl == H_V6 ? 40 : 20);

			memcpy(tcp + 20, opts, n);
			tcp[12] = (uint8_t)((20 + n) / 4) << 4;
			h.frame_len += n;
			if (fl == H_V6) {
				ip[5] = (uint8_t)(ip[5] + n);
			} else {
				uint16_t c;

				ip[3] = (uint8_t)(ip[3] + n);
				ip[10] = ip[11] = 0;
				c = sg_csum_finish(sg_csum_partial(ip, 20, 0));
				memcpy(ip + 10, &c, 2);
			}
			assert_int_equal(sg_pkt_parse(&p, h.frame, h.frame_len), SG_PKT_TCP);
			assert_int_equal(p.opt.sack_off, 21);
			sg_pkt_tcp_csum_fill(&p);
		}
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		h_fwd(&h, &p);   /* asserts the checksum */
		assert_int_equal(p.opt.sack_blocks, 2);
		uint8_t *t = sg_pkt_l4(&p);
		for (int i = 0; i < 4; i++) {
			unsigned off = sg_tcpopt_sack_edge(&p.opt, (unsigned)i / 2) + 4u * ((unsigned)i & 1);
			uint32_t v = (uint32_t)t[off] << 24 | (uint32_t)t[off + 1] << 16 |
			             (uint32_t)t[off + 2] << 8 | t[off + 3];
			assert_int_equal(v, e[i] - h.cookie + h.s_isn);
		}
		assert_int_equal(p.ack, h.s_isn + 1 + 1000);
		h_fini(&h);
	}
}

static void test_sack_is_stripped_when_the_server_lacks_it(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;
		struct sg_pkt p;

		h_init(&h, fl, NULL);
		h.copt.ts = 0;
		h.sopt.sack = 0;
		h_proxied_open(&h);
		struct sg_tcp_opts none = { 0 };
		(void)none;
		/* A client SACK block: 4 bytes of NOPs + SACK(1). */
		h_build(&h, 1, SG_TCP_ACK, h.c_nxt, h.cookie + 1, 500, NULL, 0);
		{
			unsigned l2o = SG_ETH_HLEN + (fl == H_V4_VLAN ? 8 : 0);
			uint8_t *ip = h.frame + l2o, *tcp = ip + (fl == H_V6 ? 40 : 20);
			static const uint8_t o[12] = { 1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2 };

			memcpy(tcp + 20, o, 12);
			tcp[12] = (32 / 4) << 4;
			h.frame_len += 12;
			if (fl == H_V6) {
				ip[5] = (uint8_t)(ip[5] + 12);
			} else {
				uint16_t c;

				ip[3] = (uint8_t)(ip[3] + 12);
				ip[10] = ip[11] = 0;
				c = sg_csum_finish(sg_csum_partial(ip, 20, 0));
				memcpy(ip + 10, &c, 2);
			}
			assert_int_equal(sg_pkt_parse(&p, h.frame, h.frame_len), SG_PKT_TCP);
			sg_pkt_tcp_csum_fill(&p);
		}
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		h_fwd(&h, &p);
		assert_false(p.opt.present & SG_OPT_SACK);
		assert_int_equal(h_stat(&h, SG_STAT_SACK_STRIPPED), 1);
		h_fini(&h);
	}
}

/* ---- connections opened from LAN: tracked, not proxied ---- */

static void test_direct_handshake_and_close_are_tracked_untouched(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;
		struct sg_pkt p;
		struct sg_tcp_opts o = h_syn_opts(&(struct h_opts){ 1460, 7, 1, 1 }, 1, 0);

		h_init(&h, fl, NULL);
		/* The LAN host is the client here: it sends from the "server" side. */
		h_build(&h, 0, SG_TCP_SYN, 500, 0, 64240, &o, 0);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		h_fwd(&h, &p);
		assert_int_equal(p.seq, 500);
		h_build(&h, 1, SG_TCP_SYN | SG_TCP_ACK, 9000, 501, 64240, &o, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		h_fwd(&h, &p);
		assert_int_equal(p.seq, 9000);                 /* not a cookie */
		h_build(&h, 0, SG_TCP_ACK, 501, 9001, 500, NULL, 100);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		h_build(&h, 1, SG_TCP_ACK, 9001, 601, 500, NULL, 1000);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		h_fwd(&h, &p);
		assert_int_equal(p.seq, 9001);
		h_build(&h, 0, SG_TCP_ACK | SG_TCP_FIN, 601, 10001, 500, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		h_build(&h, 1, SG_TCP_ACK | SG_TCP_FIN, 10001, 602, 500, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		h_build(&h, 0, SG_TCP_ACK, 602, 10002, 500, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		assert_int_equal(h_stat(&h, SG_STAT_SYNACK_SENT), 0);
		assert_int_equal(h_stat(&h, SG_STAT_UPLINK_TRACKED), 1);
		h_advance(&h, 121 * H_SEC, -1);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 0);
		h_fini(&h);
	}
}

static void test_direct_closed_port_and_rst_both_ways(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;

		h_init(&h, fl, NULL);
		h_build(&h, 0, SG_TCP_SYN, 500, 0, 64240, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		h_build(&h, 1, SG_TCP_RST | SG_TCP_ACK, 0, 501, 0, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		h_fini(&h);

		for (int from_lan = 0; from_lan <= 1; from_lan++) {
			h_init(&h, fl, NULL);
			h_build(&h, 0, SG_TCP_SYN, 500, 0, 64240, NULL, 0);
			assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
			h_build(&h, 1, SG_TCP_SYN | SG_TCP_ACK, 9000, 501, 64240, NULL, 0);
			assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
			h_build(&h, 0, SG_TCP_ACK, 501, 9001, 500, NULL, 0);
			assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
			if (from_lan)
				h_build(&h, 0, SG_TCP_RST, 501, 0, 0, NULL, 0);
			else
				h_build(&h, 1, SG_TCP_RST, 9001, 0, 0, NULL, 0);
			assert_int_equal(h_send(&h, from_lan ? SG_PORT_LAN : SG_PORT_WAN), SG_VERDICT_FORWARD);
			h_advance(&h, 46 * H_SEC, -1);
			assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 0);
			h_fini(&h);
		}
	}
}

static void test_direct_syn_and_synack_retransmits_pass(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;

		h_init(&h, fl, NULL);
		for (int i = 0; i < 3; i++) {
			h_build(&h, 0, SG_TCP_SYN, 500, 0, 64240, NULL, 0);
			assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		}
		for (int i = 0; i < 3; i++) {
			h_build(&h, 1, SG_TCP_SYN | SG_TCP_ACK, 9000, 501, 64240, NULL, 0);
			assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		}
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 1);
		h_fini(&h);
	}
}

static void test_uplink_mss_clamp_rewrites_large_mss_only(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct sg_proxy_config cfg;
		struct h h;
		struct sg_pkt p;
		struct sg_tcp_opts o = h_syn_opts(&(struct h_opts){ 1460, 7, 1, 1 }, 1, 0);

		sg_proxy_config_default(&cfg);
		cfg.ct.capacity = 64;
		cfg.uplink_mss_clamp = 1400;
		h_init(&h, fl, &cfg);
		h_build(&h, 0, SG_TCP_SYN, 500, 0, 64240, &o, 0);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		h_fwd(&h, &p);
		assert_int_equal(p.opt.mss, 1400);
		h_fini(&h);
	}
}

/* ---- timeouts, table limits, bad input ---- */

static void test_each_state_times_out(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;

		/* Uplink SYN_SENT: 240 s. */
		h_init(&h, fl, NULL);
		h_build(&h, 0, SG_TCP_SYN, 500, 0, 64240, NULL, 0);
		h_send(&h, SG_PORT_LAN);
		h_advance(&h, 239 * H_SEC, -1);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 1);
		h_advance(&h, 2 * H_SEC, -1);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 0);
		h_fini(&h);

		/* Uplink SYN_RECV (the WAN host answered): 240 s. */
		h_init(&h, fl, NULL);
		h_build(&h, 0, SG_TCP_SYN, 500, 0, 64240, NULL, 0);
		h_send(&h, SG_PORT_LAN);
		h_advance(&h, 100 * H_SEC, -1);
		h_build(&h, 1, SG_TCP_SYN | SG_TCP_ACK, 9000, 501, 64240, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		h_advance(&h, 239 * H_SEC, -1);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 1);
		h_advance(&h, 2 * H_SEC, -1);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 0);
		h_fini(&h);

		/* Established: 86400 s, kept alive by traffic. */
		h_init(&h, fl, NULL);
		h_proxied_open(&h);
		h.now += 80000 * H_SEC;
		h_tick(&h);
		h_c2s_data(&h, 1);
		h.now += 80000 * H_SEC;
		h_advance(&h, 10 * H_SEC, -1);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 1);
		h.now += 6400 * H_SEC;
		h_advance(&h, 10 * H_SEC, -1);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 0);
		h_fini(&h);

		/* One FIN: 7440 s. */
		h_init(&h, fl, NULL);
		h.copt.ts = 0;
		h_proxied_open(&h);
		h_build(&h, 1, SG_TCP_FIN | SG_TCP_ACK, h.c_nxt, h.cookie + 1, 500, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		h.now += 7430 * H_SEC;
		h_advance(&h, 1 * H_SEC, -1);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 1);
		h_advance(&h, 20 * H_SEC, -1);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 0);
		h_fini(&h);

		/* Both FINs: 240 s. */
		h_init(&h, fl, NULL);
		h.copt.ts = 0;
		h_proxied_open(&h);
		h_build(&h, 1, SG_TCP_FIN | SG_TCP_ACK, h.c_nxt, h.cookie + 1, 500, NULL, 0);
		h_send(&h, SG_PORT_WAN);
		h_build(&h, 0, SG_TCP_FIN | SG_TCP_ACK, h.s_nxt, h.c_nxt, 500, NULL, 0);
		h_send(&h, SG_PORT_LAN);
		h_advance(&h, 230 * H_SEC, -1);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 1);
		h_advance(&h, 20 * H_SEC, -1);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 0);
		h_fini(&h);
	}
}

static void test_full_table_refuses_new_connections_and_keeps_old_ones(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct sg_proxy_config cfg;
		struct h h;

		sg_proxy_config_default(&cfg);
		cfg.ct.capacity = 16;
		h_init(&h, fl, &cfg);
		h_proxied_open(&h);
		uint16_t first = h.cport;
		uint32_t cookie = h.cookie, ts_cookie = h.ts_cookie, seen = h.c_seen_ts;
		/* Fill the rest with established uplink connections. */
		for (int i = 0; i < 15; i++) {
			h.cport = (uint16_t)(50000 + i);
			h_build(&h, 0, SG_TCP_ACK, 1, 1, 500, NULL, 0);
			assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		}
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 16);
		/* A new client proves its cookie but there is no room: it gets
		 * the RST it would accept rather than hang. */
		h.cport = 60000;
		h_client_syn(&h);
		h_client_ack(&h, h.c_isn + 1, h.cookie + 1, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		assert_int_equal(h.out.n, 1);
		{
			struct sg_pkt p;

			h_out(&h, 0, SG_PORT_WAN, &p);
			h_check_identity(&h, &p, 0);
			assert_int_equal(p.tcp_flags, SG_TCP_RST);
			assert_int_equal(p.seq, h.cookie + 1);
		}
		assert_int_equal(h_stat(&h, SG_STAT_DROP_TABLE_FULL), 1);
		assert_int_equal(h_stat(&h, SG_STAT_RST_REFUSED), 1);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 16);
		/* The established proxied connection still flows. */
		h.cport = first;
		h.c_nxt = h.c_isn + 1;
		h.cookie = cookie;
		h.ts_cookie = ts_cookie;
		h.c_seen_ts = seen;
		h_s2c_data(&h, 100);
		h_c2s_data(&h, 100);
		h_fini(&h);
	}
}

static void test_closing_entry_is_replaced_by_a_new_connection(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;

		h_init(&h, fl, NULL);
		h_proxied_open(&h);
		h_c2s_data(&h, 10);
		rst_case(&h, 1, 0, SG_VERDICT_FORWARD);      /* CLOSED */
		h.c_isn += 100000;
		h.s_isn += 777;
		h_proxied_open(&h);                           /* same tuple */
		h_c2s_data(&h, 10);
		h_s2c_data(&h, 10);
		assert_int_equal(h_stat(&h, SG_STAT_CONN_REPLACED), 1);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 1);
		h_fini(&h);
	}
}

static void test_unknown_midstream_from_wan_dropped_from_lan_picked_up(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;

		h_init(&h, fl, NULL);
		h_build(&h, 1, SG_TCP_ACK, 100, 200, 500, NULL, 10);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_UNKNOWN), 1);
		h_build(&h, 0, SG_TCP_ACK, 200, 100, 500, NULL, 10);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		assert_int_equal(h_stat(&h, SG_STAT_UPLINK_PICKUP), 1);
		h_build(&h, 1, SG_TCP_ACK, 100, 210, 500, NULL, 10);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		h_fini(&h);
	}
}

static void test_bad_frames_counted_and_handled_by_policy(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		for (int policy = SG_POLICY_DROP; policy <= SG_POLICY_FORWARD; policy++) {
			struct sg_proxy_config cfg;
			struct h h;

			sg_proxy_config_default(&cfg);
			cfg.ct.capacity = 64;
			cfg.bad_frame_policy = (uint8_t)policy;
			h_init(&h, fl, &cfg);
			h_build(&h, 1, SG_TCP_ACK, 1, 1, 1, NULL, 0);
			h.frame_len = SG_ETH_HLEN + (fl == H_V4_VLAN ? 8 : 0) + 10;   /* cut short */
			assert_int_equal(h_send(&h, SG_PORT_WAN),
			                 policy ? SG_VERDICT_FORWARD : SG_VERDICT_DROP);
			assert_int_equal(h_stat(&h, SG_STAT_RX_BAD), 1);
			assert_int_equal(sg_proxy_stats(h.w)->bad[fl == H_V6 ? SG_BAD_IP6_TRUNC : SG_BAD_IP4_TRUNC], 1);
			h_fini(&h);
		}
	}
}

static void test_syn_with_bad_checksum_gets_no_cookie(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;
		struct sg_tcp_opts o = h_syn_opts(&(struct h_opts){ 1460, 7, 1, 1 }, 1, 0);

		h_init(&h, fl, NULL);
		h_build(&h, 1, SG_TCP_SYN, 1, 0, 100, &o, 0);
		h.frame[h.frame_len - 1] ^= 0x40;   /* corrupt an option byte */
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		assert_int_equal(h.out.n, 0);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_BAD_CSUM), 1);
		h_fini(&h);
	}
}

/* ---- ICMP errors quoting a proxied connection ---- */

static void test_icmp_packet_too_big_quote_is_translated(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;
		struct sg_pkt p, outer, in;

		h_init(&h, fl, NULL);
		h_proxied_open(&h);
		h_s2c_data(&h, 1000);
		/* The segment the client saw (translated), as a WAN router quotes it. */
		uint8_t seg[H_FRAME_MAX];
		uint32_t seglen = h.frame_len;
		memcpy(seg, h.frame, seglen);
		unsigned l2 = SG_ETH_HLEN + (fl == H_V4_VLAN ? 8 : 0);
		unsigned iphl = fl == H_V6 ? 40 : 20;
		uint32_t client_seq = h.s_nxt - 1000 - h.s_isn + h.cookie;

		/* Frame: same L2 as a WAN->LAN frame, IP from a router to the server. */
		h_build(&h, 1, SG_TCP_ACK, 1, 1, 1, NULL, 0);
		uint8_t *ip = h.frame + l2;
		uint8_t *icmp = ip + iphl;
		unsigned quote = iphl + 28;
		if (fl == H_V6) {
			ip[6] = SG_IPPROTO_ICMPV6;
			icmp[0] = 2; icmp[1] = 0; icmp[2] = icmp[3] = 0;
			icmp[4] = 0; icmp[5] = 0; icmp[6] = 0x05; icmp[7] = 0x00;  /* MTU 1280 */
			memcpy(icmp + 8, seg + l2, quote);
			ip[4] = 0; ip[5] = (uint8_t)(8 + quote);
			h.frame_len = l2 + 40 + 8 + quote;
			uint64_t s = sg_csum_pseudo6(ip + 8, ip + 24, SG_IPPROTO_ICMPV6, 8 + quote);
			uint16_t c = sg_csum_finish(sg_csum_partial(icmp, 8 + quote, s));
			memcpy(icmp + 2, &c, 2);
		} else {
			ip[9] = SG_IPPROTO_ICMP;
			icmp[0] = 3; icmp[1] = 4; icmp[2] = icmp[3] = 0;
			icmp[4] = 0; icmp[5] = 0; icmp[6] = 0x05; icmp[7] = 0x78;  /* MTU 1400 */
			memcpy(icmp + 8, seg + l2, quote);
			uint16_t tl = (uint16_t)(20 + 8 + quote), c;
			ip[2] = (uint8_t)(tl >> 8); ip[3] = (uint8_t)tl;
			ip[10] = ip[11] = 0;
			c = sg_csum_finish(sg_csum_partial(ip, 20, 0));
			memcpy(ip + 10, &c, 2);
			h.frame_len = l2 + tl;
			c = sg_csum_finish(sg_csum_partial(icmp, 8 + quote, 0));
			memcpy(icmp + 2, &c, 2);
		}
		assert_int_equal(sg_pkt_parse(&outer, h.frame, h.frame_len), SG_PKT_IP_OTHER);
		assert_int_equal(sg_pkt_parse_icmp_quote(&outer, &in), 0);
		assert_int_equal(in.seq, client_seq);

		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		assert_int_equal(sg_pkt_parse(&outer, h.frame, h.frame_len), SG_PKT_IP_OTHER);
		assert_int_equal(sg_pkt_parse_icmp_quote(&outer, &in), 0);
		/* The server finds its own sequence number in the quote... */
		assert_int_equal(in.seq, h.s_nxt - 1000);
		/* ... and the ICMP checksum is right. */
		uint8_t *m = sg_pkt_l4(&outer);
		size_t mlen = outer.l3_end - outer.l4_off;
		uint64_t s = fl == H_V6 ? sg_csum_pseudo6(sg_pkt_saddr(&outer), sg_pkt_daddr(&outer),
		                                         SG_IPPROTO_ICMPV6, (uint32_t)mlen) : 0;
		assert_int_equal(sg_csum_finish(sg_csum_partial(m, mlen, s)), 0);
		assert_int_equal(h_stat(&h, SG_STAT_ICMP_TRANSLATED), 1);
		(void)p;
		h_fini(&h);
	}
}

/* Replaces h->frame with an ICMP error travelling from WAN to the server:
 * IPv4 destination unreachable / fragmentation needed, or ICMPv6 Packet
 * Too Big.  It quotes the IP header and the first tcp_quote TCP bytes of
 * seg, a frame as the client received it, and is followed by pad bytes of
 * Ethernet padding (0xa5) that are in the frame but not in the IP packet.
 * Returns the frame offset of the quoted TCP header. */
static unsigned icmp_error_quoting(struct h *h, const uint8_t *seg, unsigned tcp_quote, unsigned pad)
{
	unsigned l2 = SG_ETH_HLEN + (h->fl == H_V4_VLAN ? 8 : 0);
	unsigned iphl = h->fl == H_V6 ? 40 : 20;
	unsigned quote = iphl + tcp_quote;
	unsigned mlen = 8 + quote;

	h_build(h, 1, SG_TCP_ACK, 1, 1, 1, NULL, 0);
	uint8_t *ip = h->frame + l2;
	uint8_t *icmp = ip + iphl;
	uint16_t c;

	assert_true(l2 + iphl + mlen + pad <= sizeof(h->frame));
	memcpy(icmp + 8, seg + l2, quote);
	if (h->fl == H_V6) {
		ip[6] = SG_IPPROTO_ICMPV6;
		ip[4] = (uint8_t)(mlen >> 8); ip[5] = (uint8_t)mlen;
		icmp[0] = 2; icmp[1] = 0; icmp[2] = icmp[3] = 0;
		icmp[4] = 0; icmp[5] = 0; icmp[6] = 0x05; icmp[7] = 0x00;  /* MTU 1280 */
		uint64_t s = sg_csum_pseudo6(ip + 8, ip + 24, SG_IPPROTO_ICMPV6, mlen);
		c = sg_csum_finish(sg_csum_partial(icmp, mlen, s));
	} else {
		uint16_t tl = (uint16_t)(20 + mlen);
		ip[9] = SG_IPPROTO_ICMP;
		ip[2] = (uint8_t)(tl >> 8); ip[3] = (uint8_t)tl;
		ip[10] = ip[11] = 0;
		c = sg_csum_finish(sg_csum_partial(ip, 20, 0));
		memcpy(ip + 10, &c, 2);
		icmp[0] = 3; icmp[1] = 4; icmp[2] = icmp[3] = 0;
		icmp[4] = 0; icmp[5] = 0; icmp[6] = 0x05; icmp[7] = 0x78;  /* MTU 1400 */
		c = sg_csum_finish(sg_csum_partial(icmp, mlen, 0));
	}
	memcpy(icmp + 2, &c, 2);
	memset(icmp + mlen, 0xa5, pad);
	h->frame_len = l2 + iphl + mlen + pad;
	return l2 + iphl + 8 + iphl;
}

/* True when the ICMP or ICMPv6 checksum of the parsed frame verifies. */
static bool icmp_csum_ok(const struct sg_pkt *outer)
{
	const uint8_t *m = sg_pkt_l4(outer);
	size_t mlen = (size_t)(outer->l3_end - outer->l4_off);
	uint64_t s = outer->family == 6 ?
		sg_csum_pseudo6(sg_pkt_saddr(outer), sg_pkt_daddr(outer), SG_IPPROTO_ICMPV6, (uint32_t)mlen) : 0;

	return sg_csum_finish(sg_csum_partial(m, mlen, s)) == 0;
}

/* Sends h->frame from WAN out of a heap buffer of exactly its length, so
 * a sanitizer sees any access past the frame's end. */
static enum sg_verdict send_wan_exact(struct h *h)
{
	uint8_t *buf = malloc(h->frame_len);
	enum sg_verdict v;

	assert_non_null(buf);
	memcpy(buf, h->frame, h->frame_len);
	sg_out_init(&h->out, h->outbuf[0], SG_OUT_MAX);
	v = sg_proxy_process(h->w, SG_PORT_WAN, buf, h->frame_len, h->now, &h->out);
	memcpy(h->frame, buf, h->frame_len);
	free(buf);
	return v;
}

/* The segment the client received, with the server's own SEQ and the
 * TCP checksum a whole segment then has: what the server must find quoted. */
static void as_the_server_sent_it(uint8_t *seg, uint32_t len, uint32_t server_seq)
{
	struct sg_pkt p;

	assert_int_equal(sg_pkt_parse(&p, seg, len), SG_PKT_TCP);
	sg_wr32(sg_pkt_l4(&p) + 4, server_seq);
	sg_pkt_tcp_csum_fill(&p);
}

/* A server -> client data segment as the client received it, kept aside
 * for an ICMP error to quote. */
struct client_seg {
	uint8_t b[H_FRAME_MAX];
	uint32_t len;
	uint32_t server_seq;    /* its SEQ as the server sent it */
	unsigned tcp_off, tcp_len;
};

static void capture_s2c_segment(struct h *h, unsigned payload, struct client_seg *s)
{
	h_s2c_data(h, payload);
	s->len = h->frame_len;
	s->server_seq = h->s_nxt - payload;
	s->tcp_off = SG_ETH_HLEN + (h->fl == H_V4_VLAN ? 8 : 0) + (h->fl == H_V6 ? 40 : 20);
	s->tcp_len = s->len - s->tcp_off;
	memcpy(s->b, h->frame, s->len);
}

static void test_icmp_whole_quote_gets_server_seq_and_valid_tcp_and_icmp_checksums(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;
		struct sg_pkt outer, in;
		struct client_seg seg;

		h_init(&h, fl, NULL);
		h_proxied_open(&h);
		capture_s2c_segment(&h, 101, &seg);   /* odd: the checksums pad the last byte */
		uint32_t server_seq = seg.server_seq;
		unsigned tcp_len = seg.tcp_len;

		icmp_error_quoting(&h, seg.b, tcp_len, 0);
		assert_int_equal(sg_pkt_parse(&outer, h.frame, h.frame_len), SG_PKT_IP_OTHER);
		assert_int_equal(sg_pkt_parse_icmp_quote(&outer, &in), 0);
		/* The quote is what the client got: translated, checksum valid. */
		assert_int_equal(in.l4_len, tcp_len);
		assert_int_equal(in.seq, server_seq - h.s_isn + h.cookie);
		assert_true(sg_pkt_tcp_csum_ok(&in));
		assert_true(icmp_csum_ok(&outer));

		assert_int_equal(send_wan_exact(&h), SG_VERDICT_FORWARD);
		assert_int_equal(h_stat(&h, SG_STAT_ICMP_TRANSLATED), 1);
		assert_int_equal(sg_pkt_parse(&outer, h.frame, h.frame_len), SG_PKT_IP_OTHER);
		assert_int_equal(sg_pkt_parse_icmp_quote(&outer, &in), 0);
		assert_int_equal(in.seq, server_seq);
		assert_true(sg_pkt_tcp_csum_ok(&in));
		assert_true(icmp_csum_ok(&outer));
		h_fini(&h);
	}
}

static void test_icmp_quote_of_any_length_fixes_seq_and_tcp_checksum_only_if_quoted(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;
		struct sg_pkt outer, in;
		struct client_seg seg;
		uint8_t want[H_FRAME_MAX];

		h_init(&h, fl, NULL);
		h_proxied_open(&h);
		capture_s2c_segment(&h, 40, &seg);
		uint32_t server_seq = seg.server_seq;
		unsigned tcp_len = seg.tcp_len;
		memcpy(want, seg.b, seg.len);
		as_the_server_sent_it(want, seg.len, server_seq);
		const uint8_t *want_tcp = want + seg.tcp_off, *seg_tcp = seg.b + seg.tcp_off;

		/* RFC 792's 8 bytes, the checksum field cut in half, just whole,
		 * and more; each with and without Ethernet padding behind it. */
		const unsigned quotes[] = { 8, 12, 16, 17, 18, 19, 20, tcp_len - 1, tcp_len };
		for (unsigned qi = 0; qi < sizeof(quotes) / sizeof(quotes[0]); qi++) {
			for (unsigned pad = 0; pad <= 12; pad += 12) {
				unsigned q = quotes[qi];
				unsigned at = icmp_error_quoting(&h, seg.b, q, pad);
				uint64_t before = h_stat(&h, SG_STAT_ICMP_TRANSLATED);

				assert_int_equal(send_wan_exact(&h), SG_VERDICT_FORWARD);
				assert_int_equal(h_stat(&h, SG_STAT_ICMP_TRANSLATED), before + 1);
				assert_int_equal(sg_pkt_parse(&outer, h.frame, h.frame_len), SG_PKT_IP_OTHER);
				assert_int_equal(sg_pkt_parse_icmp_quote(&outer, &in), 0);
				assert_int_equal(in.l4_off, at);
				assert_int_equal(in.l4_len, q);
				assert_int_equal(in.seq, server_seq);
				assert_true(icmp_csum_ok(&outer));
				/* Ports and SEQ as the server sent them; the checksum
				 * field as it now fits them, or untouched when cut. */
				assert_memory_equal(h.frame + at, want_tcp, q < 16 ? q : 16);
				if (q >= 18)
					assert_memory_equal(h.frame + at + 16, want_tcp + 16, 2);
				else if (q > 16)
					assert_memory_equal(h.frame + at + 16, seg_tcp + 16, q - 16);
				/* Everything behind the checksum field is the client's
				 * view still (the fix is to SEQ only). */
				if (q > 18)
					assert_memory_equal(h.frame + at + 18, seg_tcp + 18, q - 18);
				if (q == tcp_len)
					assert_true(sg_pkt_tcp_csum_ok(&in));
				for (unsigned i = 0; i < pad; i++)
					assert_int_equal(h.frame[at + q + i], 0xa5);
			}
		}
		h_fini(&h);
	}
}

static void test_non_tcp_and_fragments_are_bridged(void **state)
{
	(void)state;
	struct h h;
	uint8_t arp[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06 };

	h_init(&h, H_V4, NULL);
	memcpy(h.frame, arp, sizeof(arp));
	h.frame_len = sizeof(arp);
	assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
	assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
	assert_int_equal(h_stat(&h, SG_STAT_RX_NOT_IP), 2);
	h_fini(&h);
}

/* ---- bursts ---- */

#define BURST_N 24

static void test_burst_decides_exactly_like_one_frame_at_a_time(void **state)
{
	(void)state;
	static const uint8_t key[SG_SECRET_MASTER_BYTES] = { 1, 2, 3 };
	FOR_EACH_FLAVOUR(fl) {
		struct sg_proxy_config cfg;
		struct h a, b;
		static uint8_t fa[2][BURST_N][H_FRAME_MAX], fb[2][BURST_N][H_FRAME_MAX];
		static uint8_t oa[BURST_N][SG_OUT_MAX][SG_OUT_FRAME_MAX], ob[BURST_N][SG_OUT_MAX][SG_OUT_FRAME_MAX];
		uint32_t len[2][BURST_N];

		sg_proxy_config_default(&cfg);
		cfg.ct.capacity = 1024;
		cfg.shared_key = key;            /* same cookies in both */
		h_init(&a, fl, &cfg);
		h_init(&b, fl, &cfg);
		h_proxied_open(&a);
		h_proxied_open(&b);
		assert_int_equal(a.cookie, b.cookie);

		/* LAN: server data, a bad frame, a segment of no connection.
		 * WAN: client ACKs, a new SYN, a forged cookie ACK. */
		for (int port = 0; port < 2; port++)
			for (unsigned i = 0; i < BURST_N; i++) {
				if (port == SG_PORT_LAN) {
					if (i == 5)
						h_build(&a, 0, SG_TCP_ACK, 7, 7, 1, NULL, 3), a.frame_len = 30;
					else if (i == 9)
						h_build(&a, 0, SG_TCP_ACK, 1, 1, 1, NULL, 0), a.frame[SG_ETH_HLEN + (fl == H_V4_VLAN ? 8 : 0) + (fl == H_V6 ? 8 : 12)] ^= 1;
					else
						h_build(&a, 0, SG_TCP_ACK | SG_TCP_PSH, a.s_isn + 1 + i * 100, a.c_isn + 1, 500, NULL, 100);
				} else {
					if (i == 3)
						h_build(&a, 1, SG_TCP_SYN, 99, 0, 1000, NULL, 0);
					else if (i == 4)
						h_build(&a, 1, SG_TCP_ACK, 100, 12345, 1000, NULL, 0);
					else
						h_build(&a, 1, SG_TCP_ACK, a.c_isn + 1, a.cookie + 1 + i * 100, 500, NULL, 0);
				}
				memcpy(fa[port][i], a.frame, a.frame_len);
				memcpy(fb[port][i], a.frame, a.frame_len);
				len[port][i] = a.frame_len;
			}
		for (int port = 0; port < 2; port++) {
			uint8_t *frames[BURST_N];
			enum sg_verdict vb[BURST_N];
			struct sg_out outs[BURST_N];

			for (unsigned i = 0; i < BURST_N; i++) {
				frames[i] = fb[port][i];
				outs[i].n = 0;
				outs[i].cap = SG_OUT_MAX;
				for (unsigned k = 0; k < SG_OUT_MAX; k++)
					outs[i].f[k].buf = ob[i][k];
			}
			sg_proxy_process_burst(b.w, (enum sg_port)port, frames, len[port], BURST_N, b.now, vb, outs);
			for (unsigned i = 0; i < BURST_N; i++) {
				struct sg_out out = { .n = 0, .cap = SG_OUT_MAX };
				enum sg_verdict va;

				for (unsigned k = 0; k < SG_OUT_MAX; k++)
					out.f[k].buf = oa[i][k];
				va = sg_proxy_process(a.w, (enum sg_port)port, fa[port][i], len[port][i], a.now, &out);
				assert_int_equal(va, vb[i]);
				assert_memory_equal(fa[port][i], fb[port][i], len[port][i]);
				assert_int_equal(out.n, outs[i].n);
				for (unsigned k = 0; k < out.n; k++) {
					assert_int_equal(out.f[k].len, outs[i].f[k].len);
					assert_memory_equal(out.f[k].buf, outs[i].f[k].buf, out.f[k].len);
				}
			}
		}
		assert_memory_equal(sg_proxy_stats(a.w), sg_proxy_stats(b.w), sizeof(struct sg_stats));
		assert_int_equal(h_stat(&a, SG_STAT_SYN_FORWARDED), 1);
		assert_true(h_stat(&a, SG_STAT_RX_BAD) >= 1);
		h_fini(&a);
		h_fini(&b);
	}
}

/* A burst longer than SG_PROXY_BURST_MAX of server segments on a live
 * connection, every other one as an endpoint with TX checksum offload
 * leaves it (the pseudo-header fold): each is decided in the pipeline as
 * alone, each partial one finished before it is spliced, and every frame
 * forwarded carries a valid checksum. */
#define PARTIAL_N (SG_PROXY_BURST_MAX + 13)

static void test_burst_finishes_partial_checksums_before_splicing(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		static uint8_t fb[PARTIAL_N][H_FRAME_MAX];
		static uint8_t ob[PARTIAL_N][SG_OUT_MAX][SG_OUT_FRAME_MAX];
		uint8_t *frames[PARTIAL_N];
		uint32_t len[PARTIAL_N];
		enum sg_verdict v[PARTIAL_N];
		struct sg_out outs[PARTIAL_N];
		struct h h;

		h_init(&h, fl, NULL);
		h_proxied_open(&h);
		for (unsigned i = 0; i < PARTIAL_N; i++) {
			struct sg_pkt p;

			h_build(&h, 0, SG_TCP_ACK | SG_TCP_PSH, h.s_nxt + i * 10, h.c_nxt, 501, NULL, 10);
			if (i & 1) {
				assert_int_equal(sg_pkt_parse(&p, h.frame, h.frame_len), SG_PKT_TCP);
				assert_int_equal(sg_pkt_l4_csum_prepare(&p), 16);
			}
			memcpy(fb[i], h.frame, h.frame_len);
			frames[i] = fb[i];
			len[i] = h.frame_len;
			sg_out_init(&outs[i], ob[i][0], SG_OUT_MAX);
		}
		sg_proxy_process_burst(h.w, SG_PORT_LAN, frames, len, PARTIAL_N, h.now, v, outs);
		for (unsigned i = 0; i < PARTIAL_N; i++) {
			struct sg_pkt p;

			assert_int_equal(v[i], SG_VERDICT_FORWARD);
			assert_int_equal(sg_pkt_parse(&p, fb[i], len[i]), SG_PKT_TCP);
			assert_true(sg_pkt_tcp_csum_ok(&p));
			assert_int_equal(p.seq, h.s_nxt + i * 10 - h.s_isn + h.cookie);
		}
		assert_int_equal(h_stat(&h, SG_STAT_CSUM_COMPLETED), PARTIAL_N / 2);
		h_fini(&h);
	}
}

/* A WAN burst of SYNs gets its cookies' MACs made together (handshake.h):
 * the SYN-ACKs are the ones one frame at a time gets, byte for byte, with
 * the SYN cache on and off.  The SYNs differ in port, ISN, options and
 * ECN; among them a bad checksum, an ACK of no connection and a SYN with
 * FIN, so waiting SYNs sit between frames decided at once. */
static void test_burst_of_syns_gets_the_synacks_of_one_at_a_time(void **state)
{
	(void)state;
	static const uint8_t key[SG_SECRET_MASTER_BYTES] = { 9, 8, 7 };
	enum { N = SG_PROXY_BURST_MAX };
	static uint8_t fa[N][H_FRAME_MAX], fb[N][H_FRAME_MAX];
	static uint8_t oa[N][SG_OUT_MAX][SG_OUT_FRAME_MAX], ob[N][SG_OUT_MAX][SG_OUT_FRAME_MAX];

	for (int cache_on = 0; cache_on < 2; cache_on++) {
		FOR_EACH_FLAVOUR(fl) {
			struct sg_proxy_config cfg;
			struct h a, b;
			uint32_t len[N];
			uint8_t *frames[N];
			enum sg_verdict vb[N];
			struct sg_out outs[N];
			unsigned synacks = 0;

			sg_proxy_config_default(&cfg);
			cfg.ct.capacity = 1024;
			cfg.shared_key = key;
			h_syn_cache = cache_on;
			cfg.halfopen.max_syn_rate = SG_HALFOPEN_MAX_SYN_RATE;
			cfg.halfopen.max_fill_pct = 100;
			h_init(&a, fl, &cfg);
			h_init(&b, fl, &cfg);
			h_syn_cache = false;
			for (unsigned i = 0; i < N; i++) {
				struct h_opts co = { .mss = (uint16_t)(i % 7 ? 536 + i * 131 : 0),
				                     .ws = i % 5 ? (int)(i % 15) : -1,
				                     .sack = i % 3 != 0, .ts = i % 4 != 1 };
				struct sg_tcp_opts o = h_syn_opts(&co, 1000 + i, 0);
				uint8_t flags = SG_TCP_SYN | (i % 6 == 2 ? SG_TCP_ECE | SG_TCP_CWR : 0);

				a.cport = (uint16_t)(30000 + i);
				if (i == 11)
					h_build(&a, 1, SG_TCP_ACK, 5, 12345, 1000, NULL, 0);
				else
					h_build(&a, 1, flags, 0x9e3779b9u * (i + 1), 0, (uint16_t)(1000 + i), &o, 0);
				if (i == 17)       /* bad checksum: a bit of the ISN */
					a.frame[SG_ETH_HLEN + (fl == H_V4_VLAN ? 8 : 0) + (fl == H_V6 ? 40 : 20) + 4] ^= 0x40;
				if (i == 23)
					h_build(&a, 1, SG_TCP_SYN | SG_TCP_FIN, 77, 0, 1000, &o, 0);
				memcpy(fa[i], a.frame, a.frame_len);
				memcpy(fb[i], a.frame, a.frame_len);
				len[i] = a.frame_len;
				frames[i] = fb[i];
				outs[i].n = 0;
				outs[i].cap = SG_OUT_MAX;
				for (unsigned k = 0; k < SG_OUT_MAX; k++)
					outs[i].f[k].buf = ob[i][k];
			}
			sg_proxy_process_burst(b.w, SG_PORT_WAN, frames, len, N, b.now, vb, outs);
			for (unsigned i = 0; i < N; i++) {
				struct sg_out out = { .n = 0, .cap = SG_OUT_MAX };
				enum sg_verdict va;

				for (unsigned k = 0; k < SG_OUT_MAX; k++)
					out.f[k].buf = oa[i][k];
				va = sg_proxy_process(a.w, SG_PORT_WAN, fa[i], len[i], a.now, &out);
				assert_int_equal(va, vb[i]);
				assert_int_equal(out.n, outs[i].n);
				for (unsigned k = 0; k < out.n; k++) {
					assert_int_equal(out.f[k].len, outs[i].f[k].len);
					assert_memory_equal(out.f[k].buf, outs[i].f[k].buf, out.f[k].len);
				}
				synacks += out.n;
			}
			assert_memory_equal(sg_proxy_stats(a.w), sg_proxy_stats(b.w), sizeof(struct sg_stats));
			assert_int_equal(h_stat(&b, SG_STAT_SYNACK_SENT), N - 3);
			assert_int_equal(synacks, N - 3);
			assert_int_equal(h_stat(&b, SG_STAT_SYN_CACHED), cache_on ? N - 3 : 0);
			assert_int_equal(h_stat(&b, SG_STAT_DROP_BAD_CSUM), 1);
			assert_int_equal(outs[11].n + outs[17].n + outs[23].n, 0);
			h_fini(&a);
			h_fini(&b);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proxied_handshake_data_and_four_way_close),
		cmocka_unit_test(test_burst_finishes_partial_checksums_before_splicing),
		cmocka_unit_test(test_client_syn_retransmitted_gets_the_same_cookie),
		cmocka_unit_test(test_client_ack_retransmitted_while_waiting_resends_syn),
		cmocka_unit_test(test_syn_to_server_backs_off_then_client_gets_rst),
		cmocka_unit_test(test_server_synack_retransmitted_is_acked_again),
		cmocka_unit_test(test_proxied_closed_port_gives_client_the_rst_it_expects),
		cmocka_unit_test(test_rst_both_ways_on_proxied_connection_checked_for_sequence),
		cmocka_unit_test(test_fin_retransmits_both_ways_pass_and_a_moved_fin_is_dropped),
		cmocka_unit_test(test_many_segments_both_ways_interleaved),
		cmocka_unit_test(test_window_probes_open_a_connection_whose_ack_was_lost),
		cmocka_unit_test(test_forged_and_stale_acks_open_nothing),
		cmocka_unit_test(test_client_and_server_option_matrix),
		cmocka_unit_test(test_sack_after_one_nop_is_translated_with_valid_checksum),
		cmocka_unit_test(test_sack_is_stripped_when_the_server_lacks_it),
		cmocka_unit_test(test_direct_handshake_and_close_are_tracked_untouched),
		cmocka_unit_test(test_direct_closed_port_and_rst_both_ways),
		cmocka_unit_test(test_direct_syn_and_synack_retransmits_pass),
		cmocka_unit_test(test_uplink_mss_clamp_rewrites_large_mss_only),
		cmocka_unit_test(test_each_state_times_out),
		cmocka_unit_test(test_full_table_refuses_new_connections_and_keeps_old_ones),
		cmocka_unit_test(test_closing_entry_is_replaced_by_a_new_connection),
		cmocka_unit_test(test_unknown_midstream_from_wan_dropped_from_lan_picked_up),
		cmocka_unit_test(test_bad_frames_counted_and_handled_by_policy),
		cmocka_unit_test(test_syn_with_bad_checksum_gets_no_cookie),
		cmocka_unit_test(test_icmp_packet_too_big_quote_is_translated),
		cmocka_unit_test(test_icmp_whole_quote_gets_server_seq_and_valid_tcp_and_icmp_checksums),
		cmocka_unit_test(test_icmp_quote_of_any_length_fixes_seq_and_tcp_checksum_only_if_quoted),
		cmocka_unit_test(test_non_tcp_and_fragments_are_bridged),
		cmocka_unit_test(test_burst_decides_exactly_like_one_frame_at_a_time),
		cmocka_unit_test(test_burst_of_syns_gets_the_synacks_of_one_at_a_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
