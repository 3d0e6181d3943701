/* Decisions before a connection exists: SYNs a cookie cannot serve
 * (signed ones), options a cookie drops on purpose (Fast Open, MPTCP), and
 * monitor mode, which decides and counts but forwards as a bridge would.
 * Each runs for IPv4, IPv6 and QinQ-tagged IPv4. */
#include "proxy_harness.h"

#include <errno.h>

/* A client SYN whose 4 MSS option bytes are replaced by opt[0..4). */
static void syn_with_option(struct h *h, const uint8_t opt[4])
{
	struct sg_tcp_opts o = { .present = SG_OPT_MSS, .mss = 1460 };
	struct sg_pkt p;

	h_build(h, 1, SG_TCP_SYN, h->c_isn, 0, 64240, &o, 0);
	assert_int_equal(sg_pkt_parse(&p, h->frame, h->frame_len), SG_PKT_TCP);
	memcpy(sg_pkt_l4(&p) + p.opt.mss_off, opt, 4);
	sg_pkt_tcp_csum_fill(&p);
}

static void test_signed_syn_is_tracked_not_cookied_and_passes_untouched(void **state)
{
	(void)state;
	static const uint8_t ao[4] = { 29, 4, 7, 7 };
	FOR_EACH_FLAVOUR(fl) {
		struct h h;
		struct sg_pkt p;

		h_init(&h, fl, NULL);
		syn_with_option(&h, ao);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		assert_int_equal(h.out.n, 0);
		h_fwd(&h, &p);
		assert_true(p.opt.present & SG_OPT_SIGNED);
		assert_int_equal(p.seq, h.c_isn);
		assert_int_equal(h_stat(&h, SG_STAT_SYN_SIGNED), 1);
		assert_int_equal(h_stat(&h, SG_STAT_WAN_TRACKED), 1);
		assert_int_equal(h_stat(&h, SG_STAT_SYNACK_SENT), 0);
		/* The server's own SYN-ACK, the client's ACK, data: untouched. */
		h_build(&h, 0, SG_TCP_SYN | SG_TCP_ACK, h.s_isn, h.c_isn + 1, 65160, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		h_fwd(&h, &p);
		assert_int_equal(p.seq, h.s_isn);
		h_build(&h, 1, SG_TCP_ACK, h.c_isn + 1, h.s_isn + 1, 500, NULL, 100);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		h_build(&h, 0, SG_TCP_ACK, h.s_isn + 1, h.c_isn + 101, 500, NULL, 1000);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		h_fwd(&h, &p);
		assert_int_equal(p.seq, h.s_isn + 1);
		assert_int_equal(h_stat(&h, SG_STAT_DROPPED), 0);
		h_fini(&h);

		/* With policy.signed_syn = drop: dropped, counted, nothing kept. */
		struct sg_proxy_config cfg;

		sg_proxy_config_default(&cfg);
		cfg.ct.capacity = 1024;
		cfg.signed_syn_policy = SG_SIGNED_SYN_DROP;
		h_init(&h, fl, &cfg);
		syn_with_option(&h, ao);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		assert_int_equal(h_stat(&h, SG_STAT_SYN_SIGNED), 1);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 0);
		h_fini(&h);
	}
}

static void test_fastopen_and_mptcp_syns_get_a_plain_cookie(void **state)
{
	(void)state;
	static const uint8_t tfo[4] = { 34, 2, 1, 1 };        /* cookie request */
	static const uint8_t mptcp[4] = { 30, 4, 0x01, 0x81 };  /* MP_CAPABLE v1 */
	const uint8_t *opt[2] = { tfo, mptcp };
	FOR_EACH_FLAVOUR(fl) {
		for (int i = 0; i < 2; i++) {
			struct h h;
			struct sg_pkt p;

			h_init(&h, fl, NULL);
			syn_with_option(&h, opt[i]);
			assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_CONSUME);
			h_out(&h, 0, SG_PORT_WAN, &p);
			assert_int_equal(p.tcp_flags, SG_TCP_SYN | SG_TCP_ACK);
			assert_false(p.opt.present & (SG_OPT_FASTOPEN | SG_OPT_MPTCP));
			assert_int_equal(h_stat(&h, i ? SG_STAT_SYN_MPTCP : SG_STAT_SYN_FASTOPEN), 1);
			/* The client falls back; the server hears neither. */
			h.cookie = p.seq;
			h.copt.ts = 0;                   /* it offered none */
			h_client_ack(&h, h.c_isn + 1, h.cookie + 1, 0);
			assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_CONSUME);
			h_out(&h, 0, SG_PORT_LAN, &p);
			assert_int_equal(p.tcp_flags, SG_TCP_SYN);
			assert_false(p.opt.present & (SG_OPT_FASTOPEN | SG_OPT_MPTCP));
			h_fini(&h);
		}
	}
}

static void test_monitor_mode_forwards_everything_while_counting(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct sg_proxy_config cfg;
		struct sg_tcp_opts o;
		struct sg_pkt p;
		struct h h;

		sg_proxy_config_default(&cfg);
		cfg.ct.capacity = 1024;
		cfg.monitor = true;
		h_init(&h, fl, &cfg);
		o = h_syn_opts(&h.copt, h.c_ts, 0);
		/* A SYN reaches the server as it is; the server answers. */
		h_build(&h, 1, SG_TCP_SYN, h.c_isn, 0, 64240, &o, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		assert_int_equal(h.out.n, 0);
		h_fwd(&h, &p);
		assert_int_equal(p.seq, h.c_isn);
		h_build(&h, 0, SG_TCP_SYN | SG_TCP_ACK, h.s_isn, h.c_isn + 1, 65160, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		h_build(&h, 1, SG_TCP_ACK, h.c_isn + 1, h.s_isn + 1, 500, NULL, 10);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		h_fwd(&h, &p);
		assert_int_equal(p.ack, h.s_isn + 1);           /* not translated */
		/* What it would drop is counted, and forwarded all the same. */
		h_build(&h, 1, SG_TCP_ACK, 12345, 678, 500, NULL, 10);   /* unknown */
		h.cport++;
		h_build(&h, 1, SG_TCP_ACK, 12345, 678, 500, NULL, 10);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_UNKNOWN), 1);
		assert_int_equal(h_stat(&h, SG_STAT_MONITOR_PASSED), 1);
		h.frame[SG_ETH_HLEN + (fl == H_V4_VLAN ? 8 : 0)] = 0x47;   /* a broken IP header */
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_BAD_FRAME), 1);
		assert_int_equal(h_stat(&h, SG_STAT_MONITOR_PASSED), 2);
		h_fini(&h);
	}
}

/* A reload while workers run: offers and timeouts change at the next
 * call; sizes are refused by name; a reload waits until every worker
 * left the configuration before the previous one. */
static void test_reload_applies_offers_and_refuses_sizes(void **state)
{
	(void)state;
	struct sg_proxy_config cfg;
	struct sg_cfg_fault why;
	struct sg_pkt p;
	struct h h;

	sg_proxy_config_default(&cfg);
	cfg.ct.capacity = 1024;
	cfg.halfopen.max_syn_rate = 0;   /* cookies, as the harness checks them */
	h_init(&h, H_V4, &cfg);
	h_client_syn(&h);
	cfg.synack_mss4 = 1380;
	cfg.ct.timeout_s[SG_CT_CLOSED] = 5;
	assert_int_equal(sg_proxy_reconfigure(h.p, &cfg, &why), 0);
	h.cport++;
	h_build(&h, 1, SG_TCP_SYN, h.c_isn, 0, 64240, NULL, 0);
	assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_CONSUME);
	h_out(&h, 0, SG_PORT_WAN, &p);
	assert_int_equal(p.opt.mss, 1380);
	/* A connection reset now goes after the new 5 s, not 45. */
	h.cport++;
	h_proxied_open(&h);
	h_build(&h, 1, SG_TCP_RST, h.c_isn + 1, 0, 0, NULL, 0);
	assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
	h_advance(&h, 6 * H_SEC, -1);
	assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 0);
	/* Sizes only change with a restart; nothing is applied then. */
	cfg.ct.capacity = 2048;
	cfg.synack_mss4 = 1300;
	assert_int_equal(sg_proxy_reconfigure(h.p, &cfg, &why), -EINVAL);
	assert_int_equal(why.rule, SG_CFG_RESTART);
	assert_int_equal(why.off, offsetof(struct sg_proxy_config, ct.capacity));
	h.cport++;
	h_build(&h, 1, SG_TCP_SYN, h.c_isn, 0, 64240, NULL, 0);
	assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_CONSUME);
	h_out(&h, 0, SG_PORT_WAN, &p);
	assert_int_equal(p.opt.mss, 1380);
	h_fini(&h);

	/* Two workers: the second reload waits for both to move on. */
	struct sg_proxy *px;
	uint8_t buf[SG_OUT_MAX * SG_OUT_FRAME_MAX];
	struct sg_out out;

	sg_proxy_config_default(&cfg);
	cfg.ct.capacity = 1024;
	cfg.seed = h_seed;
	assert_int_equal(sg_proxy_create(&cfg, 2, &px), 0);
	assert_int_equal(sg_proxy_reconfigure(px, &cfg, &why), 0);
	assert_int_equal(sg_proxy_reconfigure(px, &cfg, &why), -EAGAIN);
	sg_out_init(&out, buf, SG_OUT_MAX);
	sg_proxy_tick(sg_proxy_worker(px, 0), H_SEC, &out);
	assert_int_equal(sg_proxy_reconfigure(px, &cfg, &why), -EAGAIN);
	sg_proxy_worker_offline(sg_proxy_worker(px, 1));      /* holds nothing */
	assert_int_equal(sg_proxy_reconfigure(px, &cfg, &why), 0);
	sg_proxy_destroy(px);
}

static void add_rule(struct sg_policy_set *s, const char *dst, uint16_t lo, uint16_t hi,
                     enum sg_policy_action a)
{
	struct sg_policy_rule *r = &s->rule[s->nrules++];

	assert_int_equal(sg_prefix_parse(dst, &r->dst), 0);
	r->port_lo = lo;
	r->port_hi = hi;
	r->action = a;
}

/* Rules by destination and port, first match; deny and allow lists by
 * source.  What each action does to the frames of a flow. */
static void test_policy_first_match_and_what_each_action_does(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct sg_proxy_config *cfg = calloc(1, sizeof(*cfg));
		const char *srv = fl == H_V6 ? "2001:db8:500::a" : "192.0.2.10";
		const char *net = fl == H_V6 ? "2001:db8:500::/40" : "192.0.2.0/24";
		const char *cli = fl == H_V6 ? "2001:db8:c00::7" : "198.51.100.7";
		struct sg_pkt p;
		struct h h;

		assert_non_null(cfg);
		sg_proxy_config_default(cfg);
		cfg->ct.capacity = 1024;
		add_rule(&cfg->policy, srv, 22, 22, SG_ACTION_DROP);
		add_rule(&cfg->policy, net, 80, 80, SG_ACTION_BYPASS);
		add_rule(&cfg->policy, srv, 8000, 8999, SG_ACTION_TRACK);
		add_rule(&cfg->policy, net, 0, 65535, SG_ACTION_PROXY);
		add_rule(&cfg->policy, srv, 80, 80, SG_ACTION_DROP);      /* never reached */
		sg_policy_normalize(&cfg->policy);
		h_init(&h, fl, cfg);

		h.sport = 22;
		h_build(&h, 1, SG_TCP_SYN, h.c_isn, 0, 64240, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_POLICY), 1);

		h.sport = 80;                       /* bypass: all of it, untouched */
		h_build(&h, 1, SG_TCP_SYN, h.c_isn, 0, 64240, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		h_build(&h, 0, SG_TCP_SYN | SG_TCP_ACK, h.s_isn, h.c_isn + 1, 65160, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_LAN), SG_VERDICT_FORWARD);
		assert_int_equal(h.out.n, 0);       /* no RST for an unknown SYN-ACK */
		h_build(&h, 1, SG_TCP_ACK, h.c_isn + 1, h.s_isn + 1, 500, NULL, 10);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		h_fwd(&h, &p);
		assert_int_equal(p.ack, h.s_isn + 1);
		assert_int_equal(h_stat(&h, SG_STAT_POLICY_BYPASS), 1);
		assert_int_equal(sg_ct_count(sg_proxy_table(h.p)), 0);

		h.sport = 8443 - 443 + 443;         /* 8443: tracked, no cookie */
		h_build(&h, 1, SG_TCP_SYN, h.c_isn, 0, 64240, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		assert_int_equal(h_stat(&h, SG_STAT_WAN_TRACKED), 1);

		h.sport = 443;                      /* the cookie */
		h_client_syn(&h);
		assert_int_equal(h_stat(&h, SG_STAT_SYNACK_SENT), 1);
		h_fini(&h);

		/* Deny beats allow; allow is tracked. */
		memset(&cfg->policy, 0, sizeof(cfg->policy));
		assert_int_equal(sg_prefix_parse(cli, &cfg->policy.allow[cfg->policy.nallow++]), 0);
		h_init(&h, fl, cfg);
		h.sport = 443;
		h_build(&h, 1, SG_TCP_SYN, h.c_isn, 0, 64240, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_FORWARD);
		assert_int_equal(h_stat(&h, SG_STAT_WAN_TRACKED), 1);
		h_fini(&h);
		assert_int_equal(sg_prefix_parse(cli, &cfg->policy.deny[cfg->policy.ndeny++]), 0);
		h_init(&h, fl, cfg);
		h_build(&h, 1, SG_TCP_SYN, h.c_isn, 0, 64240, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_POLICY), 1);
		h_fini(&h);
		free(cfg);
	}
}

/* The SYN-ACK offers what the server was seen to do, and what a worker
 * keeps per destination (dst_memo.h) never outlives a change: within one
 * millisecond, what the worker learned, a new pin and a reload's rule
 * apply from the next SYN to the same server. */
static void test_offers_follow_learning_pins_and_reloads_at_once(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct sg_proxy_config *cfg = calloc(1, sizeof(*cfg));
		const char *srv = fl == H_V6 ? "2001:db8:500::a" : "192.0.2.10";
		const char *other = fl == H_V6 ? "2001:db8:900::/40" : "203.0.113.0/24";
		struct sg_learn_pin pin = { .plen = fl == H_V6 ? 128 : 32 };
		struct sg_prefix sp;
		struct sg_cfg_fault why;
		struct sg_pkt p;
		struct h h;

		assert_non_null(cfg);
		sg_proxy_config_default(cfg);
		cfg->ct.capacity = 1024;
		cfg->halfopen.max_syn_rate = 0;
		/* A rule for elsewhere: the SYNs' rule lookups go through the memo. */
		add_rule(&cfg->policy, other, 0, 65535, SG_ACTION_BYPASS);
		h_init(&h, fl, cfg);
		/* Both above IPv6's floor (1220): an MSS below it is not offered. */
		h.sopt.mss = 1300;
		h_proxied_open(&h);                 /* the server answers with MSS 1300 */

		h.cport++;
		h_build(&h, 1, SG_TCP_SYN, h.c_isn, 0, 64240, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_CONSUME);
		h_out(&h, 0, SG_PORT_WAN, &p);
		assert_int_equal(p.opt.mss, 1300);

		assert_int_equal(sg_prefix_parse(srv, &sp), 0);
		pin.family = sp.family;
		memcpy(pin.addr, sp.addr, sizeof(pin.addr));
		pin.opts.mss = 1250;
		pin.opts.known = SG_LEARN_MSS;
		assert_int_equal(sg_proxy_set_pins(h.p, &pin, 1), 0);
		h.cport++;
		h_build(&h, 1, SG_TCP_SYN, h.c_isn, 0, 64240, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_CONSUME);
		h_out(&h, 0, SG_PORT_WAN, &p);
		assert_int_equal(p.opt.mss, 1250);

		memmove(&cfg->policy.rule[1], &cfg->policy.rule[0], sizeof(cfg->policy.rule[0]));
		cfg->policy.nrules = 0;
		add_rule(&cfg->policy, srv, h.sport, h.sport, SG_ACTION_DROP);
		cfg->policy.nrules = 2;
		assert_int_equal(sg_proxy_reconfigure(h.p, cfg, &why), 0);
		h.cport++;
		h_build(&h, 1, SG_TCP_SYN, h.c_isn, 0, 64240, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_POLICY), 1);
		h_fini(&h);
		free(cfg);
	}
}

/* What one prefix can make synguard spend: SYN-ACKs and MAC checks come
 * out of its bucket; another prefix has its own; time and completed
 * handshakes give tokens back. */
static void test_rate_limit_bounds_one_prefix_and_not_another(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct sg_proxy_config cfg;
		struct h h;

		sg_proxy_config_default(&cfg);
		cfg.ct.capacity = 1024;
		cfg.ratelimit.rate = 2;
		cfg.ratelimit.burst = 4;
		h_init(&h, fl, &cfg);
		for (int i = 0; i < 4; i++) {
			h.cport = (uint16_t)(40000 + i);
			h_client_syn(&h);
		}
		h.cport = 40100;
		h_build(&h, 1, SG_TCP_SYN, h.c_isn, 0, 64240, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		assert_int_equal(h.out.n, 0);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_RATELIMIT), 1);
		/* Forged ACKs cost the same prefix a token each. */
		h_build(&h, 1, SG_TCP_ACK, 1, 2, 500, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		assert_int_equal(h_stat(&h, SG_STAT_DROP_RATELIMIT), 2);
		/* One second later: two tokens, for a SYN and its ACK; the
		 * completed handshake refunds one, for one more SYN. */
		h.now += H_SEC;
		h.cport = 40200;
		h_proxied_open(&h);
		h.cport = 40201;
		h_client_syn(&h);
		h.cport = 40202;
		h_build(&h, 1, SG_TCP_SYN, h.c_isn, 0, 64240, NULL, 0);
		assert_int_equal(h_send(&h, SG_PORT_WAN), SG_VERDICT_DROP);
		h_fini(&h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signed_syn_is_tracked_not_cookied_and_passes_untouched),
		cmocka_unit_test(test_fastopen_and_mptcp_syns_get_a_plain_cookie),
		cmocka_unit_test(test_monitor_mode_forwards_everything_while_counting),
		cmocka_unit_test(test_reload_applies_offers_and_refuses_sizes),
		cmocka_unit_test(test_policy_first_match_and_what_each_action_does),
		cmocka_unit_test(test_offers_follow_learning_pins_and_reloads_at_once),
		cmocka_unit_test(test_rate_limit_bounds_one_prefix_and_not_another),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
