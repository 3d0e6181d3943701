/* conn_list (the operator's copy of the live table entries) and capture
 * (dropped frames into per-worker rings): src/core/conn_list.c and
 * src/core/capture.c. */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "proxy_harness.h"
#include "core/capture.h"
#include "core/conn_list.h"

/* ---- the copy while a worker changes the table ---- */

#define CAP 512u

/* Each entry's payload is a function of its key, and the key of a serial
 * number: a copy that mixes two lives of an entry shows. */
static void key_of(uint32_t serial, struct sg_flow *k)
{
	uint8_t wan[4] = { 10, (uint8_t)(serial >> 16), (uint8_t)(serial >> 8), (uint8_t)serial };
	uint8_t lan[4] = { 192, 0, 2, 1 };

	sg_flow_make(k, 4, wan, (uint16_t)(serial * 7), lan, 443, 0, 0);
}

static uint32_t serial_of(const struct sg_flow *k)
{
	return (uint32_t)k->wan_addr[1] << 16 | (uint32_t)k->wan_addr[2] << 8 | k->wan_addr[3];
}

static void payload_of(uint32_t serial, uint8_t p[SG_CT_PAYLOAD_BYTES])
{
	for (unsigned i = 0; i < SG_CT_PAYLOAD_BYTES; i++)
		p[i] = (uint8_t)(serial * 31u + i * 7u);
}

struct churn {
	struct sg_ct *ct;
	int stop;
	unsigned long inserted, freed;
};

/* Worker 0: inserts entries and lets them expire fast, so entries are
 * freed and reused all the time under the reader. */
static void *churn_main(void *arg)
{
	struct churn *c = arg;
	uint32_t serial = 1, now = 1000;
	uint8_t payload[SG_CT_PAYLOAD_BYTES];

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		for (unsigned i = 0; i < 64; i++, serial = (serial + 1) & 0xffffff) {
			struct sg_flow k;
			struct sg_conn *existing, *e;
			int err;

			key_of(serial, &k);
			payload_of(serial, payload);
			e = sg_ct_insert(c->ct, 0, &k, sg_ct_hash(c->ct, &k),
			                 serial & 1 ? SG_CT_SYN_SENT : SG_CT_ESTABLISHED, payload, now,
			                 &existing, &err);
			if (e) {
				c->inserted++;
				if (serial % 3 == 0)
					sg_ct_set_state(c->ct, 0, e, SG_CT_TIME_WAIT, now);
			}
		}
		now += 1000;
		c->freed += sg_ct_expire(c->ct, 0, now, NULL, NULL, 4096);
		sg_ct_quiescent(c->ct, 0);
	}
	sg_ct_offline(c->ct, 0);
	return NULL;
}

static void test_copy_live_while_a_worker_churns(void **state)
{
	static struct sg_conn out[CAP];
	static const uint8_t hk[SG_CT_HASH_KEY_BYTES] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	struct sg_ct_config cfg;
	struct churn c = { 0 };
	pthread_t th;
	unsigned long copied = 0, walks = 0;
	unsigned torn = 0;
	time_t until = time(NULL) + 2;

	(void)state;
	sg_ct_config_default(&cfg);
	cfg.capacity = CAP;
	for (unsigned s = 0; s < SG_CT_STATE_COUNT; s++)
		cfg.timeout_s[s] = 1;
	assert_int_equal(sg_ct_create(&cfg, 1, hk, &c.ct), 0);
	assert_int_equal(pthread_create(&th, NULL, churn_main, &c), 0);
	while (time(NULL) < until || walks < 200) {
		uint32_t cursor = 1;
		unsigned n;

		while ((n = sg_ct_copy_live(c.ct, &cursor, out, 37, &torn)) > 0) {
			for (unsigned i = 0; i < n; i++) {
				uint8_t want[SG_CT_PAYLOAD_BYTES];
				uint32_t serial = serial_of(&out[i].key);
				struct sg_flow k;

				key_of(serial, &k);
				payload_of(serial, want);
				assert_memory_equal(&out[i].key, &k, sizeof(k));
				assert_memory_equal(out[i].payload, want, sizeof(want));
				assert_int_not_equal(out[i].state, SG_CT_FREE);
				assert_true(out[i].state < SG_CT_STATE_COUNT);
			}
			copied += n;
		}
		assert_true(cursor == CAP + 1);
		walks++;
	}
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	/* The churn really reused entries under the reader, and the reader
	 * really found entries. */
	assert_true(c.inserted > 4 * CAP);
	assert_true(c.freed > 2 * CAP);
	assert_true(copied > 0);
	print_message("%lu walks, %lu entries copied, %u skipped as torn, %lu inserts\n",
	              walks, copied, torn, c.inserted);
	sg_ct_destroy(c.ct);
}

static void test_copy_live_stops_where_told(void **state)
{
	static const uint8_t hk[SG_CT_HASH_KEY_BYTES] = { 9 };
	struct sg_conn out[4];
	struct sg_ct_config cfg;
	struct sg_ct *ct;
	uint32_t cursor = 1, seen = 0;
	unsigned n;

	(void)state;
	sg_ct_config_default(&cfg);
	cfg.capacity = 64;
	assert_int_equal(sg_ct_create(&cfg, 1, hk, &ct), 0);
	for (uint32_t s = 1; s <= 10; s++) {
		struct sg_flow k;
		struct sg_conn *ex;
		uint8_t p[SG_CT_PAYLOAD_BYTES];
		int err;

		key_of(s, &k);
		payload_of(s, p);
		assert_non_null(sg_ct_insert(ct, 0, &k, sg_ct_hash(ct, &k), SG_CT_ESTABLISHED, p, 5,
		                             &ex, &err));
	}
	while ((n = sg_ct_copy_live(ct, &cursor, out, 4, NULL)) > 0) {
		assert_true(n <= 4);
		for (unsigned i = 0; i < n; i++)
			seen |= 1u << serial_of(&out[i].key);
	}
	assert_int_equal(seen, 0x7feu);
	sg_ct_destroy(ct);
}

/* ---- the proxy's view ---- */

static void test_conns_show_a_proxied_connection(void **state)
{
	(void)state;
	FOR_EACH_FLAVOUR(fl) {
		struct sg_conn_info info[4];
		uint32_t cursor = 1;
		struct h h;

		h_init(&h, fl, NULL);
		h_proxied_open(&h);
		assert_int_equal(sg_proxy_conns(h.p, &cursor, (uint32_t)(h.now / 1000000u), info, 4,
		                                NULL), 1);
		assert_int_equal(info[0].family, fl == H_V6 ? 6 : 4);
		assert_int_equal(info[0].wan_port, h.cport);
		assert_int_equal(info[0].lan_port, h.sport);
		assert_int_equal(info[0].state, SG_CT_ESTABLISHED);
		assert_true(info[0].proxied && info[0].wan_opened);
		assert_int_equal(info[0].seq_offset, h.cookie - h.s_isn);
		assert_int_equal(info[0].client_ws, 7);
		assert_int_equal(info[0].server_ws, 9);
		assert_true(info[0].sack && info[0].ts);
		assert_int_equal(info[0].idle_ms, 0);
		assert_true(info[0].expires_in_ms > 0);
		if (fl == H_V4_VLAN)
			assert_true(info[0].vid[0] || info[0].vid[1]);
		print_message("%s: ok\n", h_flavour_name[fl]);
		h_fini(&h);
	}
}

/* ---- capture ---- */

/* A data segment from WAN for no connection: dropped as unknown. */
static void send_unknown(struct h *h, uint32_t seq)
{
	h_build(h, 1, SG_TCP_ACK, seq, 200, 500, NULL, 10);
	assert_int_equal(h_send(h, SG_PORT_WAN), SG_VERDICT_DROP);
}

/* A frame too short for its IPv4 header: dropped as a bad frame. */
static void send_bad(struct h *h)
{
	h_build(h, 1, SG_TCP_ACK, 1, 2, 500, NULL, 0);
	h->frame_len = 20;
	assert_int_equal(h_send(h, SG_PORT_WAN), SG_VERDICT_DROP);
}

static void test_capture_reason_names(void **state)
{
	(void)state;
	assert_int_equal(sg_capture_reason("bad_checksum"), SG_STAT_DROP_BAD_CSUM);
	assert_int_equal(sg_capture_reason("drop_bad_checksum"), SG_STAT_DROP_BAD_CSUM);
	assert_int_equal(sg_capture_reason("unknown_connection"), SG_STAT_DROP_UNKNOWN);
	assert_int_equal(sg_capture_reason("all"), SG_CAPTURE_ALL);
	assert_int_equal(sg_capture_reason("forwarded"), -1);
	assert_int_equal(sg_capture_reason("rx_wan"), -1);
	assert_int_equal(sg_capture_reason("frobnicate"), -1);
	assert_string_equal(sg_capture_reason_name(SG_STAT_DROP_UNKNOWN), "unknown_connection");
	assert_string_equal(sg_capture_reason_name(SG_CAPTURE_ALL), "all");
	assert_string_equal(sg_capture_reason_name(SG_CAPTURE_NONE), "none");
}

static void test_capture_only_when_armed_and_only_the_reason(void **state)
{
	static struct sg_capture_frame f;
	struct h h;

	(void)state;
	h_init(&h, H_V4, NULL);
	send_unknown(&h, 100);
	assert_false(sg_proxy_capture_next(h.p, &f));      /* nothing armed, no rings */
	assert_int_equal(sg_proxy_capture_start(h.p, SG_STAT_DROP_UNKNOWN, 0), 0);
	assert_int_equal(sg_proxy_capture_start(h.p, SG_STAT_DROP_UNKNOWN, 0), -EBUSY);
	send_bad(&h);
	send_unknown(&h, 300);
	assert_true(sg_proxy_capture_next(h.p, &f));
	assert_int_equal(f.reason, SG_STAT_DROP_UNKNOWN);
	assert_int_equal(f.port, SG_PORT_WAN);
	assert_int_equal(f.len, h.frame_len);
	assert_int_equal(f.caplen, h.frame_len);
	assert_memory_equal(f.data, h.frame, h.frame_len);
	assert_int_equal(f.ts_ns, h.now);
	assert_false(sg_proxy_capture_next(h.p, &f));      /* the bad frame was not asked for */
	sg_proxy_capture_stop(h.p);
	send_unknown(&h, 400);
	assert_false(sg_proxy_capture_next(h.p, &f));
	h_fini(&h);
}

static void test_capture_all_with_snap_and_a_full_ring(void **state)
{
	static struct sg_capture_frame f;
	unsigned n = 0;
	struct h h;

	(void)state;
	h_init(&h, H_V6, NULL);
	assert_int_equal(sg_proxy_capture_start(h.p, SG_CAPTURE_ALL, 64), 0);
	send_bad(&h);
	for (unsigned i = 0; i < SG_CAPTURE_SLOTS + 5; i++)
		send_unknown(&h, 1000 + i);
	assert_int_equal(sg_proxy_capture_lost(h.p), 6);
	assert_true(sg_proxy_capture_next(h.p, &f));
	assert_int_equal(f.reason, SG_STAT_DROP_BAD_FRAME);
	assert_int_equal(f.caplen, 20);
	while (sg_proxy_capture_next(h.p, &f)) {
		assert_int_equal(f.reason, SG_STAT_DROP_UNKNOWN);
		assert_int_equal(f.caplen, 64);
		assert_true(f.len > 64);
		n++;
	}
	assert_int_equal(n, SG_CAPTURE_SLOTS - 1);
	/* A new capture starts empty and counts its own losses. */
	sg_proxy_capture_stop(h.p);
	assert_int_equal(sg_proxy_capture_start(h.p, SG_STAT_DROP_UNKNOWN, 0), 0);
	assert_int_equal(sg_proxy_capture_lost(h.p), 0);
	assert_false(sg_proxy_capture_next(h.p, &f));
	sg_proxy_capture_stop(h.p);
	h_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_live_stops_where_told),
		cmocka_unit_test(test_copy_live_while_a_worker_churns),
		cmocka_unit_test(test_conns_show_a_proxied_connection),
		cmocka_unit_test(test_capture_reason_names),
		cmocka_unit_test(test_capture_only_when_armed_and_only_the_reason),
		cmocka_unit_test(test_capture_all_with_snap_and_a_full_ring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
