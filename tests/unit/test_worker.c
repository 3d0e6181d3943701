/* Workers over the mem backend: bridge-only forwards every frame to the
 * other port unchanged, on every queue; in proxy mode the verdict decides
 * and emitted frames leave on the port the core names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/worker.h"
#include "net/build.h"
#include "net/pkt.h"

#define WAIT_MS 5000

static struct sg_io *open_mem(unsigned nq)
{
	struct sg_io_opts o;
	sg_io_opts_default(&o);
	o.kind = SG_IO_MEM;
	o.nqueues = nq;
	o.rx_ring = 1024;
	o.tx_ring = 1024;
	const char *names[SG_IO_PORTS] = { "lan", "wan" };
	struct sg_io *io = NULL;
	struct sg_io_err err;
	assert_int_equal(sg_io_open(&io, names, &o, &err), 0);
	return io;
}

/* Waits for one frame sent on (port, q); returns its length or -1. */
static int take_wait(struct sg_io *io, unsigned port, unsigned q, uint8_t *buf)
{
	uint32_t len;
	for (int i = 0; i < WAIT_MS; i++) {
		if (sg_io_mem_take(io, port, q, buf, 2048, &len) == 0)
			return (int)len;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return -1;
}

static void frame(uint8_t *f, uint32_t len, uint8_t tag)
{
	for (uint32_t i = 0; i < len; i++)
		f[i] = (uint8_t)(tag + i);
}

static void every_worker_counter_has_a_distinct_name(void **state)
{
	(void)state;
	for (unsigned i = 0; i < SG_WORKER_STAT__COUNT; i++) {
		const char *a = sg_worker_stat_name((enum sg_worker_stat)i);
		assert_non_null(a);
		assert_true(a[0] != 0);
		for (unsigned k = 0; k < i; k++)
			assert_string_not_equal(a, sg_worker_stat_name((enum sg_worker_stat)k));
	}
	assert_string_equal(sg_worker_stat_name(SG_WORKER_STAT_RX_LAN), "rx_lan_frames");
	assert_string_equal(sg_worker_stat_name(SG_WORKER_STAT__COUNT), "invalid");
}

static void bridge_only_forwards_both_ways_on_every_queue(void **state)
{
	(void)state;
	struct sg_io *io = open_mem(2);
	struct sg_worker_config cfg = { .io = io, .no_pin = true, .bridge_only = true };
	struct sg_workers *ws;
	char msg[200];
	assert_int_equal(sg_workers_start(&ws, &cfg, msg, sizeof(msg)), 0);
	assert_int_equal(sg_workers_count(ws), 2);

	uint8_t in[300], out[2048];
	for (unsigned q = 0; q < 2; q++) {
		for (unsigned p = 0; p < SG_IO_PORTS; p++) {
			frame(in, sizeof(in), (uint8_t)(q * 2 + p));
			assert_int_equal(sg_io_mem_inject(io, p, q, in, sizeof(in)), 0);
			assert_int_equal(take_wait(io, 1 - p, q, out), sizeof(in));
			assert_memory_equal(out, in, sizeof(in));
		}
	}
	/* Many frames: all arrive, in order. */
	for (unsigned i = 0; i < 500; i++) {
		in[0] = (uint8_t)i;
		in[1] = (uint8_t)(i >> 8);
		while (sg_io_mem_inject(io, 1, 0, in, 64) == -ENOBUFS)
			nanosleep(&(struct timespec){ 0, 100000 }, NULL);
	}
	for (unsigned i = 0; i < 500; i++) {
		assert_int_equal(take_wait(io, 0, 0, out), 64);
		assert_int_equal(out[0] | out[1] << 8, i);
	}
	struct sg_worker_stats st;
	sg_workers_stats(ws, SG_WORKERS_ALL, &st);
	assert_int_equal(st.c[SG_WORKER_STAT_BRIDGED], 504);
	assert_int_equal(st.c[SG_WORKER_STAT_RX_WAN], 502);
	assert_int_equal(st.c[SG_WORKER_STAT_TX_LAN], 502);
	sg_workers_stop(ws);
	sg_io_close(io);
}

static int contract_broken;

/* A fake core, with the core's burst signature: frames starting with 'D'
 * are dropped, 'C' consumed with a reply emitted on the port they came
 * from, others forwarded after their second byte is set to 'F'. */
static void fake_burst(struct sg_proxy_worker *w, enum sg_port port,
                       uint8_t *const frames[], const uint32_t lens[], unsigned n,
                       uint64_t now, enum sg_verdict v[], struct sg_out outs[])
{
	(void)w;
	if (now == 0 || n == 0)           /* no cmocka asserts off the main thread */
		__atomic_store_n(&contract_broken, 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *f = frames[i];
		struct sg_out *out = &outs[i];

		if (out->n != 0 || out->cap < 1)
			__atomic_store_n(&contract_broken, 1, __ATOMIC_RELAXED);
		if (f[0] == 'D') {
			v[i] = SG_VERDICT_DROP;
		} else if (f[0] == 'C') {
			memcpy(out->f[0].buf, "REPLY", 5);
			out->f[0].len = 5;
			out->f[0].port = (uint8_t)port;
			out->n = 1;
			v[i] = SG_VERDICT_CONSUME;
		} else {
			if (lens[i] > 1)
				f[1] = 'F';
			v[i] = SG_VERDICT_FORWARD;
		}
	}
}

static int ticks;
static int fake_tick(struct sg_proxy_worker *w, uint64_t now, struct sg_out *out)
{
	(void)w; (void)now; (void)out;
	__atomic_add_fetch(&ticks, 1, __ATOMIC_RELAXED);
	return 0;
}

static void proxy_mode_follows_the_verdict_and_sends_emitted_frames(void **state)
{
	(void)state;
	struct sg_io *io = open_mem(1);
	struct sg_proxy_worker *handles[1] = { (struct sg_proxy_worker *)0x1 };
	struct sg_worker_config cfg = {
		.io = io, .no_pin = true, .proxy = handles,
		.burst = fake_burst, .tick = fake_tick,
	};
	struct sg_workers *ws;
	char msg[200];
	assert_int_equal(sg_workers_start(&ws, &cfg, msg, sizeof(msg)), 0);

	uint8_t out[2048];
	assert_int_equal(sg_io_mem_inject(io, 1, 0, (const uint8_t *)"Dxxxx", 5), 0);
	assert_int_equal(sg_io_mem_inject(io, 1, 0, (const uint8_t *)"Cxxxx", 5), 0);
	assert_int_equal(sg_io_mem_inject(io, 1, 0, (const uint8_t *)"Axxxx", 5), 0);
	assert_int_equal(take_wait(io, 1, 0, out), 5);        /* reply to wan */
	assert_memory_equal(out, "REPLY", 5);
	assert_int_equal(take_wait(io, 0, 0, out), 5);        /* forward to lan */
	assert_memory_equal(out, "AFxxx", 5);
	uint32_t len;
	assert_int_equal(sg_io_mem_take(io, 0, 0, out, sizeof(out), &len), -EAGAIN);

	nanosleep(&(struct timespec){ 0, 50 * 1000000 }, NULL);
	assert_true(__atomic_load_n(&ticks, __ATOMIC_RELAXED) >= 1);
	struct sg_worker_stats st;
	sg_workers_stats(ws, 0, &st);
	/* Verdicts are the core's to count: the worker counts frames. */
	assert_int_equal(st.c[SG_WORKER_STAT_RX_WAN], 3);
	assert_int_equal(st.c[SG_WORKER_STAT_TX_LAN], 1);
	assert_int_equal(st.c[SG_WORKER_STAT_TX_WAN], 1);
	assert_int_equal(st.c[SG_WORKER_STAT_EMITTED], 1);
	assert_int_equal(st.c[SG_WORKER_STAT_BRIDGED], 0);
	assert_int_equal(__atomic_load_n(&contract_broken, __ATOMIC_RELAXED), 0);
	sg_workers_stop(ws);
	sg_io_close(io);
}

static void proxy_mode_without_proxy_handles_is_refused(void **state)
{
	(void)state;
	struct sg_io *io = open_mem(1);
	struct sg_worker_config cfg = { .io = io, .no_pin = true };
	struct sg_workers *ws = (struct sg_workers *)1;
	char msg[200] = "";
	assert_int_equal(sg_workers_start(&ws, &cfg, msg, sizeof(msg)), -EINVAL);
	assert_null(ws);
	assert_non_null(strstr(msg, "proxy"));
	cfg.burst = fake_burst;              /* burst without tick */
	assert_int_equal(sg_workers_start(&ws, &cfg, msg, sizeof(msg)), -EINVAL);
	sg_io_close(io);
}

static int inits;
static int init_counts(void)
{
	__atomic_add_fetch(&inits, 1, __ATOMIC_RELAXED);
	return 0;
}

static int init_fails(void)
{
	return -EPERM;
}

/* The daemon drops each worker's privileges in thread_init: every worker
 * runs it before any frame, and one that fails stops the start. */
static void each_worker_runs_its_thread_init_first_and_a_failure_stops_the_start(void **state)
{
	(void)state;
	struct sg_io *io = open_mem(3);
	struct sg_worker_config cfg = { .io = io, .no_pin = true, .bridge_only = true,
	                                .thread_init = init_counts };
	struct sg_workers *ws;
	char msg[200] = "";
	assert_int_equal(sg_workers_start(&ws, &cfg, msg, sizeof(msg)), 0);
	/* sg_workers_start returned: every worker is past its thread_init. */
	assert_int_equal(__atomic_load_n(&inits, __ATOMIC_RELAXED), 3);
	sg_workers_stop(ws);

	cfg.thread_init = init_fails;
	ws = (struct sg_workers *)1;
	assert_int_equal(sg_workers_start(&ws, &cfg, msg, sizeof(msg)), -EPERM);
	assert_null(ws);
	assert_non_null(strstr(msg, "worker 0"));
	assert_non_null(strstr(msg, "EPERM"));
	sg_io_close(io);
}

static void pinning_to_a_cpu_that_does_not_exist_fails_cleanly(void **state)
{
	(void)state;
	struct sg_io *io = open_mem(1);
	int cpus[1] = { 4095 };
	struct sg_worker_config cfg = { .io = io, .bridge_only = true,
	                                .cpus = cpus, .ncpus = 1 };
	struct sg_workers *ws;
	char msg[200] = "";
	assert_true(sg_workers_start(&ws, &cfg, msg, sizeof(msg)) < 0);
	assert_non_null(strstr(msg, "worker 0"));
	sg_io_close(io);
}

static void pcap_replay_runs_to_the_end_and_the_workers_finish(void **state)
{
	(void)state;
	char dir[] = "/tmp/sg-test-worker-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char in[64], out[64];
	snprintf(in, sizeof(in), "%s/wan.pcap", dir);
	snprintf(out, sizeof(out), "%s/out.pcap", dir);
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = pcap_dump_open(dead, in);
	assert_non_null(d);
	uint8_t f[100];
	for (int i = 0; i < 1000; i++) {
		frame(f, sizeof(f), (uint8_t)i);
		struct pcap_pkthdr h = { .ts = { 1, i }, .caplen = sizeof(f), .len = sizeof(f) };
		pcap_dump((u_char *)d, &h, f);
	}
	pcap_dump_close(d);

	struct sg_io_opts o;
	sg_io_opts_default(&o);
	o.kind = SG_IO_PCAP;
	o.pcap_in[1] = in;
	o.pcap_out = out;
	const char *names[SG_IO_PORTS] = { "lan", "wan" };
	struct sg_io *io;
	struct sg_io_err err;
	assert_int_equal(sg_io_open(&io, names, &o, &err), 0);
	struct sg_worker_config cfg = { .io = io, .no_pin = true, .bridge_only = true };
	struct sg_workers *ws;
	char msg[200];
	assert_int_equal(sg_workers_start(&ws, &cfg, msg, sizeof(msg)), 0);
	for (int i = 0; i < WAIT_MS && !sg_workers_finished(ws); i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	assert_true(sg_workers_finished(ws));
	struct sg_worker_stats st;
	sg_workers_stats(ws, SG_WORKERS_ALL, &st);
	assert_int_equal(st.c[SG_WORKER_STAT_RX_WAN], 1000);
	assert_int_equal(st.c[SG_WORKER_STAT_TX_LAN], 1000);
	sg_workers_stop(ws);
	sg_io_close(io);

	char eb[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(out, eb);
	assert_non_null(p);
	struct pcap_pkthdr *h;
	const u_char *data;
	int n = 0;
	while (pcap_next_ex(p, &h, &data) == 1) {
		frame(f, sizeof(f), (uint8_t)n);
		assert_int_equal(h->caplen, sizeof(f));
		assert_memory_equal(data, f, sizeof(f));
		n++;
	}
	assert_int_equal(n, 1000);
	pcap_close(p);
	pcap_close(dead);
	unlink(in);
	unlink(out);
	rmdir(dir);
}

/* The real core behind the workers: a WAN SYN is answered on WAN with a
 * SYN-ACK acknowledging it, and nothing reaches the LAN; an ARP frame is
 * bridged. */
static void the_core_answers_a_wan_syn_and_bridges_the_rest(void **state)
{
	(void)state;
	static const uint8_t seed[SG_PROXY_SEED_BYTES] = { 7, 1, 8, 2, 8, 1, 8, 2, 8 };
	struct sg_proxy_config pc;
	sg_proxy_config_default(&pc);
	pc.seed = seed;
	struct sg_proxy *proxy;
	assert_int_equal(sg_proxy_create(&pc, 1, &proxy), 0);
	struct sg_proxy_worker *pw[1] = { sg_proxy_worker(proxy, 0) };
	struct sg_io *io = open_mem(1);
	struct sg_worker_config cfg = { .io = io, .no_pin = true, .proxy = pw };
	struct sg_workers *ws;
	char msg[200];
	assert_int_equal(sg_workers_start(&ws, &cfg, msg, sizeof(msg)), 0);

	struct sg_tcp_frame t = {
		.dst_mac = { 2, 0, 0, 0, 0, 2 }, .src_mac = { 2, 0, 0, 0, 0, 1 },
		.family = 4, .saddr = { 192, 0, 2, 1 }, .daddr = { 198, 51, 100, 2 },
		.sport = 40000, .dport = 80, .seq = 1000, .flags = SG_TCP_SYN,
		.win = 64240,
		.opt = { .present = SG_OPT_MSS | SG_OPT_SACKPERM, .mss = 1460 },
	};
	uint8_t syn[SG_BUILD_MAXLEN], out[2048];
	int len = sg_build_tcp(syn, sizeof(syn), &t);
	assert_true(len > 0);
	assert_int_equal(sg_io_mem_inject(io, SG_PORT_WAN, 0, syn, (uint32_t)len), 0);
	int olen = take_wait(io, SG_PORT_WAN, 0, out);
	assert_true(olen > 0);
	struct sg_pkt p;
	assert_int_equal(sg_pkt_parse(&p, out, (uint32_t)olen), SG_PKT_TCP);
	assert_int_equal(p.tcp_flags, SG_TCP_SYN | SG_TCP_ACK);
	assert_int_equal(p.ack, 1001);
	assert_memory_equal(out, t.src_mac, 6);           /* back to the client */

	static const uint8_t arp[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	                                 2, 0, 0, 0, 0, 1, 0x08, 0x06 };
	assert_int_equal(sg_io_mem_inject(io, SG_PORT_WAN, 0, arp, sizeof(arp)), 0);
	assert_int_equal(take_wait(io, SG_PORT_LAN, 0, out), sizeof(arp));
	assert_memory_equal(out, arp, sizeof(arp));
	uint32_t l;
	assert_int_equal(sg_io_mem_take(io, SG_PORT_LAN, 0, out, sizeof(out), &l), -EAGAIN);

	sg_workers_halt(ws);
	struct sg_worker_stats st;
	sg_workers_stats(ws, 0, &st);
	assert_int_equal(st.c[SG_WORKER_STAT_EMITTED], 1);
	assert_int_equal(st.c[SG_WORKER_STAT_TX_LAN], 1);
	assert_int_equal(st.c[SG_WORKER_STAT_BRIDGED], 0);
	/* Each verdict counted once, by the core. */
	const struct sg_stats *cs = sg_proxy_stats(pw[0]);
	assert_int_equal(cs->c[SG_STAT_SYNACK_SENT], 1);
	assert_int_equal(cs->c[SG_STAT_CONSUMED], 1);
	assert_int_equal(cs->c[SG_STAT_FORWARDED], 1);
	assert_int_equal(cs->c[SG_STAT_DROPPED], 0);
	sg_workers_stop(ws);
	sg_io_close(io);
	sg_proxy_destroy(proxy);
}

/* A worker whose queue brings nothing must still pass quiescent points,
 * or the connection table never reuses what the busy worker frees.  Two
 * workers, a 16-entry table (8 per worker), 40 SYNs opened from the LAN
 * on queue 0 only: once the slice is full each one evicts an older one,
 * and the evicted entries come back to the free pool. */
static void an_idle_worker_does_not_hold_up_the_table(void **state)
{
	(void)state;
	static const uint8_t seed[SG_PROXY_SEED_BYTES] = { 3, 1, 4, 1, 5, 9, 2, 6 };
	struct sg_proxy_config pc;
	sg_proxy_config_default(&pc);
	pc.seed = seed;
	pc.ct.capacity = 16;
	struct sg_proxy *proxy;
	assert_int_equal(sg_proxy_create(&pc, 2, &proxy), 0);
	struct sg_proxy_worker *pw[2] = { sg_proxy_worker(proxy, 0), sg_proxy_worker(proxy, 1) };
	struct sg_io *io = open_mem(2);
	struct sg_worker_config cfg = { .io = io, .no_pin = true, .proxy = pw };
	struct sg_workers *ws;
	char msg[200];
	assert_int_equal(sg_workers_start(&ws, &cfg, msg, sizeof(msg)), 0);

	struct sg_tcp_frame t = {
		.dst_mac = { 2, 0, 0, 0, 0, 1 }, .src_mac = { 2, 0, 0, 0, 0, 2 },
		.family = 4, .saddr = { 10, 0, 0, 2 }, .daddr = { 192, 0, 2, 1 },
		.dport = 80, .flags = SG_TCP_SYN, .win = 64240,
	};
	uint8_t syn[SG_BUILD_MAXLEN], out[2048];
	for (unsigned i = 0; i < 40; i++) {
		t.sport = (uint16_t)(20000 + i);
		t.seq = i * 7919u;
		int len = sg_build_tcp(syn, sizeof(syn), &t);
		assert_true(len > 0);
		assert_int_equal(sg_io_mem_inject(io, SG_PORT_LAN, 0, syn, (uint32_t)len), 0);
		assert_int_equal(take_wait(io, SG_PORT_WAN, 0, out), len);   /* bridged on */
	}
	const struct sg_ct_stats *cs = sg_proxy_ct_stats(pw[0]);
	for (int i = 0; i < WAIT_MS && !__atomic_load_n(&cs->c[SG_CT_STAT_RECLAIMED], __ATOMIC_RELAXED); i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	sg_workers_halt(ws);
	/* More than the worker's 8 entries were tracked: freed ones came back
	 * (how many depends on how often the idle worker ticks). */
	assert_true(cs->c[SG_CT_STAT_RECLAIMED] > 0);
	assert_true(sg_proxy_stats(pw[0])->c[SG_STAT_UPLINK_TRACKED] > 8);
	assert_int_equal(sg_proxy_stats(pw[1])->c[SG_STAT_RX_LAN], 0);   /* idle indeed */
	sg_workers_stop(ws);
	sg_io_close(io);
	sg_proxy_destroy(proxy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_worker_counter_has_a_distinct_name),
		cmocka_unit_test(bridge_only_forwards_both_ways_on_every_queue),
		cmocka_unit_test(proxy_mode_follows_the_verdict_and_sends_emitted_frames),
		cmocka_unit_test(proxy_mode_without_proxy_handles_is_refused),
		cmocka_unit_test(each_worker_runs_its_thread_init_first_and_a_failure_stops_the_start),
		cmocka_unit_test(pinning_to_a_cpu_that_does_not_exist_fails_cleanly),
		cmocka_unit_test(pcap_replay_runs_to_the_end_and_the_workers_finish),
		cmocka_unit_test(the_core_answers_a_wan_syn_and_bridges_the_rest),
		cmocka_unit_test(an_idle_worker_does_not_hold_up_the_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
