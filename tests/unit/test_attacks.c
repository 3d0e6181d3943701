/* What one spoofed segment from the WAN can make the core do to a live
 * connection: FIN and RST that change state only with a valid checksum
 * and a sequence number in the receiver's window, ACKs that cannot walk
 * the sequence tracking somewhere an attacker knows, and a tracking that
 * is anchored at each side's real numbers wherever in the 32-bit space
 * they start.  Each runs for IPv4, IPv6 and QinQ-tagged IPv4. */
#include "proxy_harness.h"

#include "net/bytes.h"
#include "net/csum.h"
#include "core/quota.h"

/* Builds a bare segment from the client (WAN) or the server (LAN). */
static void seg(struct h *h, int from_client, uint8_t flags, uint32_t seq, uint32_t ack,
                uint16_t win, unsigned payload)
{
	h_build(h, from_client, flags, seq, ack, win, NULL, payload);
}

/* Spoils the TCP checksum of h->frame. */
static void spoil_checksum(struct h *h)
{
	struct sg_pkt p;

	assert_int_equal(sg_pkt_parse(&p, h->frame, h->frame_len), SG_PKT_TCP);
	sg_pkt_l4(&p)[17] ^= 0x5a;
	assert_false(sg_pkt_tcp_csum_ok(&p));
}

static uint32_t conn_count(struct h *h)
{
	return sg_ct_count(sg_proxy_table(h->p));
}

/* The client's ACK number for everything the server sent so far. */
static uint32_t client_ack(const struct h *h)
{
	return h->cookie + 1 + (h->s_nxt - h->s_isn - 1);
}

static void test_fin_with_bad_checksum_or_out_of_window_fixes_nothing(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;
		struct sg_pkt p;

		h_init(&h, fl, NULL);
		h.copt.ts = 0;
		h_proxied_open(&h);
		h_c2s_data(&h, 100);
		h_s2c_data(&h, 100);
		/* A spoofed FIN with a bad checksum at the right place... */
		seg(&h, 1, SG_TCP_FIN | SG_TCP_ACK, h.c_nxt + 7, client_ack(&h), 500, 0);
		spoil_checksum(&h);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_BAD_CSUM), 1);
		/* ... and one far outside the server's window. */
		seg(&h, 1, SG_TCP_FIN | SG_TCP_ACK, h.c_nxt + 0x40000000u, client_ack(&h), 500, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_FIN_INVALID), 1);
		/* The client's own FIN still passes, and its retransmission. */
		for (int i = 0; i < 2; i++) {
			seg(&h, 1, SG_TCP_FIN | SG_TCP_ACK, h.c_nxt, client_ack(&h), 500, 0);
			assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
			h_fwd(&h, &p);
			assert_true(p.tcp_flags & SG_TCP_FIN);
		}
		assert_int_equal(h_stat(&h, SG_STAT_DROP_FIN_CHANGED), 0);
		/* Now that FIN is fixed, one elsewhere is dropped. */
		seg(&h, 1, SG_TCP_FIN | SG_TCP_ACK, h.c_nxt + 3, client_ack(&h), 500, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_FIN_CHANGED), 1);
		h_fini(&h);
	}
}

static void test_spoofed_acks_cannot_walk_the_sequence_for_a_rst(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;

		h_init(&h, fl, NULL);
		h.copt.ts = 0;
		h_proxied_open(&h);
		h_c2s_data(&h, 100);
		h_s2c_data(&h, 100);
		/* Steps of 2^30 take a walk once around the space; each is
		 * outside the server's window and forwarded without teaching
		 * anything. */
		for (uint32_t i = 1; i <= 3; i++) {
			seg(&h, 1, SG_TCP_ACK, h.c_nxt + i * 0x40000000u, client_ack(&h), 500, 10);
			assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		}
		/* A RST where the walk would have led: dropped, nothing closed. */
		seg(&h, 1, SG_TCP_RST, h.c_nxt + 0x40000000u + 10, 0, 0, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		seg(&h, 1, SG_TCP_RST, h.c_nxt + 3 * 0x40000000u + 10, 0, 0, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_RST_INVALID), 2);
		h_advance(&h, 60 * H_SEC, -1);
		assert_int_equal(conn_count(&h), 1);
		/* The connection carries on both ways. */
		h_c2s_data(&h, 50);
		h_s2c_data(&h, 50);
		/* A RST with a bad checksum at the exact place closes nothing. */
		seg(&h, 1, SG_TCP_RST, h.c_nxt, 0, 0, 0);
		spoil_checksum(&h);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		h_advance(&h, 60 * H_SEC, -1);
		assert_int_equal(conn_count(&h), 1);
		h_fini(&h);
	}
}

static void test_rst_in_the_window_is_challenged_and_the_answer_closes(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;
		struct sg_pkt p;

		h_init(&h, fl, NULL);
		h.copt.ts = 0;
		h_proxied_open(&h);
		h_c2s_data(&h, 300);
		h_s2c_data(&h, 700);
		/* The client sent 2000 bytes synguard never saw, then RST: in
		 * the server's window, not at the sequence synguard expects. */
		seg(&h, 1, SG_TCP_RST, h.c_nxt + 2000, 0, 0, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		assert_int_equal(h.out.n, 1);
		h_out(&h, 0, SG_PORT_WAN, &p);
		h_check_identity(&h, &p, 0);
		assert_int_equal(p.tcp_flags, SG_TCP_ACK);
		assert_int_equal(p.seq, h.s_nxt - h.s_isn + h.cookie);   /* in the client's space */
		assert_int_equal(p.ack, h.c_nxt);
		assert_true(p.win > 0);
		assert_int_equal(h_stat(&h, SG_STAT_RST_CHALLENGED), 1);
		/* The client answers with a RST at the ACK it was sent. */
		seg(&h, 1, SG_TCP_RST, p.ack, 0, 0, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		h_advance(&h, 46 * H_SEC, -1);
		assert_int_equal(conn_count(&h), 0);

		/* The same from the server's side, in its own space. */
		h_fini(&h);
		h_init(&h, fl, NULL);
		h.copt.ts = 0;
		h_proxied_open(&h);
		h_c2s_data(&h, 300);
		h_s2c_data(&h, 700);
		seg(&h, 0, SG_TCP_RST, h.s_nxt + 5000, 0, 0, 0);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_DROP);
		assert_int_equal(h.out.n, 1);
		h_out(&h, 0, SG_PORT_LAN, &p);
		h_check_identity(&h, &p, 1);
		assert_int_equal(p.seq, h.c_nxt);
		assert_int_equal(p.ack, h.s_nxt);
		seg(&h, 0, SG_TCP_RST, p.ack, 0, 0, 0);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		h_fwd(&h, &p);
		assert_int_equal(p.seq, h.s_nxt - h.s_isn + h.cookie);
		h_fini(&h);
	}
}

/* A LAN host opens a connection with ISN lan_isn; the WAN host answers
 * with wan_isn; some data each way. */
static void tracked_open(struct h *h, uint32_t lan_isn, uint32_t wan_isn)
{
	struct sg_tcp_opts o = h_syn_opts(&(struct h_opts){ 1460, 7, 1, 0 }, 0, 0);

	h_build(h, 0, SG_TCP_SYN, lan_isn, 0, 64240, &o, 0);
	assert_int_equal(h_send(h, SG_PORT_LAN), SG_VERDICT_FORWARD);
	h_build(h, 1, SG_TCP_SYN | SG_TCP_ACK, wan_isn, lan_isn + 1, 64240, &o, 0);
	assert_int_equal(h_send(h, SG_PORT_WAN), SG_VERDICT_FORWARD);
	seg(h, 0, SG_TCP_ACK, lan_isn + 1, wan_isn + 1, 500, 100);
	assert_int_equal(h_send(h, SG_PORT_LAN), SG_VERDICT_FORWARD);
	seg(h, 1, SG_TCP_ACK, wan_isn + 1, lan_isn + 101, 500, 1000);
	assert_int_equal(h_send(h, SG_PORT_WAN), SG_VERDICT_FORWARD);
}

static void test_tracked_rst_is_judged_at_the_real_sequence_anywhere_in_the_space(void **state)
{
	(void)state;
	static const uint32_t isns[] = { 0x00000010u, 0x7ffffff0u, 0x80000000u, 0xc0000001u,
	                                 0xfffffff0u };
	FOR_EACH_FLAVOUR(fl) {
		for (unsigned i = 0; i < sizeof(isns) / sizeof(isns[0]); i++) {
			uint32_t lan_isn = isns[i], wan_isn = isns[(i + 2) % 5] ^ 0x01234567u;
			struct h h;

			h_init(&h, fl, NULL);
			tracked_open(&h, lan_isn, wan_isn);
			/* Blind RSTs near 0 and half the space away: dropped. */
			seg(&h, 1, SG_TCP_RST, 5, 0, 0, 0);
			assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
			seg(&h, 1, SG_TCP_RST, wan_isn + 1001 + 0x80000000u, 0, 0, 0);
			assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
			h_advance(&h, 60 * H_SEC, -1);
			assert_int_equal(conn_count(&h), 1);
			/* The WAN host's own RST, at its next sequence, closes. */
			seg(&h, 1, SG_TCP_RST, wan_isn + 1001, 0, 0, 0);
			assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
			h_advance(&h, 46 * H_SEC, -1);
			assert_int_equal(conn_count(&h), 0);
			h_fini(&h);
		}
	}
}

static void test_picked_up_connection_learns_the_sequence_of_each_side(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;

		h_init(&h, fl, NULL);
		/* Mid-stream after a restart: the LAN side first, then the WAN. */
		seg(&h, 0, SG_TCP_ACK, 0x9abcdef0u, 0xf0000010u, 500, 100);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		assert_int_equal(h_stat(&h, SG_STAT_UPLINK_PICKUP), 1);
		seg(&h, 1, SG_TCP_ACK, 0xf0000010u, 0x9abcdef0u + 100, 500, 10);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		seg(&h, 1, SG_TCP_RST, 3, 0, 0, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		seg(&h, 0, SG_TCP_RST, 0x9abcdef0u + 100, 0, 0, 0);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		h_advance(&h, 46 * H_SEC, -1);
		assert_int_equal(conn_count(&h), 0);
		h_fini(&h);
	}
}

/* Turns h->frame into the first fragment of a larger datagram: IPv4's
 * More Fragments flag, or an IPv6 Fragment header with M set. */
static void make_first_fragment(struct h *h)
{
	unsigned l3 = SG_ETH_HLEN + (h->fl == H_V4_VLAN ? 8 : 0);
	uint8_t *ip = h->frame + l3;

	if (h->fl != H_V6) {
		ip[6] |= 0x20;                       /* MF */
		uint16_t c;

		ip[10] = ip[11] = 0;
		c = sg_csum_finish(sg_csum_partial(ip, 20, 0));   /* network order */
		memcpy(ip + 10, &c, 2);
		return;
	}
	memmove(ip + 48, ip + 40, h->frame_len - l3 - 40);
	ip[40] = ip[6];                              /* next header: TCP */
	ip[41] = 0;
	sg_wr16(ip + 42, 0x0001);                    /* offset 0, M */
	sg_wr32(ip + 44, 0x5eed);
	ip[6] = 44;
	sg_wr16(ip + 4, (uint16_t)(sg_rd16(ip + 4) + 8));
	h->frame_len += 8;
}

static void test_fragmented_syn_from_wan_opens_nothing_whatever_the_policy(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct sg_proxy_config cfg;
		struct sg_tcp_opts o;
		struct sg_pkt p;
		struct h h;

		sg_proxy_config_default(&cfg);
		cfg.ct.capacity = 1024;
		cfg.unknown_policy = SG_POLICY_FORWARD;
		h_init(&h, fl, &cfg);
		o = h_syn_opts(&h.copt, h.c_ts, 0);
		h_build(&h, 1, SG_TCP_SYN, h.c_isn, 0, 64240, &o, 0);
		make_first_fragment(&h);
		assert_int_equal(sg_pkt_parse(&p, h.frame, h.frame_len), SG_PKT_TCP);
		assert_true(p.first_frag);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		assert_int_equal(h.out.n, 0);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_FRAGMENT), 1);
		/* An unfragmented SYN on that tuple still meets the cookie. */
		h_client_syn(&h);
		assert_int_equal(conn_count(&h), 0);
		/* Once the connection is open, its fragments are spliced. */
		h_client_ack_cookie(&h);
		h_server_synack(&h);
		h_s2c_data(&h, 10);
		h_client_ack(&h, h.c_nxt, client_ack(&h), 200);
		make_first_fragment(&h);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		assert_int_equal(sg_pkt_parse(&p, h.frame, h.frame_len), SG_PKT_TCP);
		assert_int_equal(p.ack, h.s_nxt);            /* in the server's space */
		h_fini(&h);
	}
}

static void test_synack_of_an_evicted_handshake_is_reset_not_picked_up(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;
		struct sg_pkt p;
		uint32_t before;

		h_init(&h, fl, NULL);
		h_client_syn(&h);
		h_client_ack_cookie(&h);
		/* Another connection, then the first handshake's entry goes. */
		h.cport++;
		h_client_syn(&h);
		h_client_ack_cookie(&h);
		h.cport--;
		h_advance(&h, 241 * H_SEC, -1);      /* SYN_SENT times out: freed */
		before = conn_count(&h);
		h_build(&h, 0, SG_TCP_SYN | SG_TCP_ACK, h.s_isn, h.c_isn + 1, 65160, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_DROP);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_SYNACK_ORPHAN), 1);
		assert_int_equal(conn_count(&h), before);
		assert_int_equal(h.out.n, 1);
		h_out(&h, 0, SG_PORT_LAN, &p);
		h_check_identity(&h, &p, 1);
		assert_int_equal(p.tcp_flags, SG_TCP_RST);
		assert_int_equal(p.seq, h.c_isn + 1);
		/* Nothing untranslated reaches the client afterwards. */
		h_build(&h, 0, SG_TCP_ACK, h.s_isn + 1, h.c_isn + 1, 501, NULL, 100);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		assert_int_equal(h_stat(&h, SG_STAT_PROXIED_OPEN), 0);
		h_fini(&h);
	}
}

/* A blind FIN that lands in the window ahead of the client's data (one
 * in some 65 000 random tries) is passed on but recorded nowhere: the
 * client's own FIN, where its data ends, still closes. */
static void test_blind_fin_ahead_does_not_block_the_genuine_one(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct h h;

		h_init(&h, fl, NULL);
		h.copt.ts = 0;
		h_proxied_open(&h);
		h_c2s_data(&h, 100);
		h_s2c_data(&h, 100);
		seg(&h, 1, SG_TCP_FIN | SG_TCP_ACK, h.c_nxt + 3000, client_ack(&h), 500, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		h_c2s_data(&h, 50);
		seg(&h, 1, SG_TCP_FIN | SG_TCP_ACK, h.c_nxt, client_ack(&h), 500, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_FIN_CHANGED), 0);
		/* And the server's, and the last ACK: both ends see the end. */
		seg(&h, 0, SG_TCP_FIN | SG_TCP_ACK, h.s_nxt, h.c_nxt + 1, 500, 0);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		h_fini(&h);
	}
}

/* One client that completes real handshakes cannot take the table: past
 * its share it gets RSTs (not silence), others still get in, and what it
 * gives back it may use again. */
static void test_one_source_holds_its_share_and_no_more(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct sg_proxy_config cfg;
		struct sg_pkt p;
		struct h h;

		sg_proxy_config_default(&cfg);
		cfg.ct.capacity = 1024;          /* 2 % of it is below the floor */
		h_init(&h, fl, &cfg);
		for (unsigned i = 0; i < SG_QUOTA_MIN_LIMIT; i++) {
			h.cport = (uint16_t)(20000 + i);
			h_proxied_open(&h);
		}
		h.cport = 30000;
		h_client_syn(&h);
		h_client_ack(&h, h.c_isn + 1, h.cookie + 1, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_SOURCE_QUOTA), 1);
		assert_int_equal(h.out.n, 1);
		h_out(&h, 0, SG_PORT_WAN, &p);
		assert_int_equal(p.tcp_flags, SG_TCP_RST);
		assert_int_equal(p.seq, h.cookie + 1);
		assert_int_equal(conn_count(&h), SG_QUOTA_MIN_LIMIT);
		/* The server side (another source, as the LAN sees it) opens
		 * connections as before. */
		h.cport = 30001;
		seg(&h, 0, SG_TCP_SYN, 777, 0, 64240, 0);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		/* One of the client's connections ends: it may open one more. */
		h.cport = 20000;
		h.c_nxt = h.c_isn + 1;
		seg(&h, 1, SG_TCP_RST, h.c_nxt, 0, 0, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		h_advance(&h, 46 * H_SEC, -1);
		h.cport = 30002;
		h_proxied_open(&h);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_SOURCE_QUOTA), 1);
		h_fini(&h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fin_with_bad_checksum_or_out_of_window_fixes_nothing),
		cmocka_unit_test(test_spoofed_acks_cannot_walk_the_sequence_for_a_rst),
		cmocka_unit_test(test_rst_in_the_window_is_challenged_and_the_answer_closes),
		cmocka_unit_test(test_tracked_rst_is_judged_at_the_real_sequence_anywhere_in_the_space),
		cmocka_unit_test(test_picked_up_connection_learns_the_sequence_of_each_side),
		cmocka_unit_test(test_fragmented_syn_from_wan_opens_nothing_whatever_the_policy),
		cmocka_unit_test(test_synack_of_an_evicted_handshake_is_reset_not_picked_up),
		cmocka_unit_test(test_one_source_holds_its_share_and_no_more),
		cmocka_unit_test(test_blind_fin_ahead_does_not_block_the_genuine_one),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
