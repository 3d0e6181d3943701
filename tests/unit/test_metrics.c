/* The /metrics exposition (metrics_render.c): every counter once per
 * worker under its family, HELP and TYPE before each family's samples,
 * label values escaped, the handshake histogram cumulative. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/metrics_render.h"

static struct sg_metrics_snap snap;

/* Distinct values everywhere: a counter rendered under another's name
 * would show. */
static void fill(bool proxy, unsigned nworkers)
{
	memset(&snap, 0, sizeof(snap));
	snap.proxy = proxy;
	snap.nworkers = nworkers;
	snap.ct_entries = 7;
	snap.ct_capacity = 1024;
	snap.syncache_entries = 3;
	snap.learned_servers = 2;
	for (unsigned w = 0; w < nworkers; w++) {
		uint64_t base = 1000000u * (w + 1);

		for (unsigned i = 0; i < SG_STAT__COUNT; i++)
			snap.w[w].ps.c[i] = base + i;
		for (unsigned i = 0; i < SG_BAD__COUNT; i++)
			snap.w[w].ps.bad[i] = base + 100 + i;
		for (unsigned i = 0; i < SG_WORKER_STAT__COUNT; i++)
			snap.w[w].ws.c[i] = base + 200 + i;
		for (unsigned p = 0; p < SG_IO_PORTS; p++)
			for (unsigned i = 0; i < SG_IO_STAT__COUNT; i++)
				snap.w[w].io[p].c[i] = base + 300 + 20 * p + i;
		snap.w[w].cookies_only = w == 1;
	}
}

static char *render(const char *version)
{
	size_t len;
	char *t = sg_metrics_render(&snap, version, &len);

	assert_non_null(t);
	assert_int_equal(strlen(t), len);
	assert_true(len > 0 && t[len - 1] == '\n');
	return t;
}

static unsigned count(const char *text, const char *needle)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void has_line(const char *text, const char *line)
{
	char want[512];

	snprintf(want, sizeof(want), "\n%s\n", line);
	if (!strstr(text, want))
		fail_msg("no line '%s' in:\n%s", line, text);
}

static void test_counters_by_reason_and_worker(void **state)
{
	char line[256];
	char *t;

	(void)state;
	fill(true, 2);
	t = render("0.1.0");
	snprintf(line, sizeof(line), "synguard_drops_total{worker=\"1\",reason=\"bad_checksum\"} %llu",
	         (unsigned long long)snap.w[1].ps.c[SG_STAT_DROP_BAD_CSUM]);
	has_line(t, line);
	snprintf(line, sizeof(line), "synguard_proxy_events_total{worker=\"0\",event=\"syn_received\"} %llu",
	         (unsigned long long)snap.w[0].ps.c[SG_STAT_SYN_RECEIVED]);
	has_line(t, line);
	snprintf(line, sizeof(line), "synguard_io_bytes_total{worker=\"1\",port=\"wan\",direction=\"rx\"} %llu",
	         (unsigned long long)snap.w[1].io[SG_PORT_WAN].c[SG_IO_STAT_RX_BYTES]);
	has_line(t, line);
	snprintf(line, sizeof(line), "synguard_worker_received_frames_total{worker=\"0\",port=\"lan\"} %llu",
	         (unsigned long long)snap.w[0].ws.c[SG_WORKER_STAT_RX_LAN]);
	has_line(t, line);
	has_line(t, "synguard_conntrack_entries 7");
	has_line(t, "synguard_syncache_cookies_only{worker=\"1\"} 1");
	has_line(t, "synguard_learned_servers 2");
	/* No counter is lost or shown twice: one sample per counter, worker
	 * and port (the drops are the proxy set's drop_ names). */
	unsigned drops = 0;
	for (unsigned i = 0; i < SG_STAT__COUNT; i++)
		drops += strncmp(sg_stat_name((enum sg_stat)i), "drop_", 5) == 0;
	assert_int_equal(count(t, "\nsynguard_drops_total{"), 2 * drops);
	assert_int_equal(count(t, "\nsynguard_proxy_events_total{"), 2 * (SG_STAT__COUNT - drops));
	assert_int_equal(count(t, "\nsynguard_malformed_frames_total{"), 2 * (SG_BAD__COUNT - 1));
	assert_int_equal(count(t, "\nsynguard_io_bytes_total{") + count(t, "\nsynguard_io_frames_total{") +
	                 count(t, "\nsynguard_io_events_total{"), 2 * SG_IO_PORTS * SG_IO_STAT__COUNT);
	assert_int_equal(count(t, "\nsynguard_worker_received_frames_total{") +
	                 count(t, "\nsynguard_worker_sent_frames_total{") +
	                 count(t, "\nsynguard_worker_events_total{"), 2 * SG_WORKER_STAT__COUNT);
	assert_int_equal(count(t, "\nsynguard_syncache_events_total{"), 2 * SG_HALFOPEN_STAT__COUNT);
	free(t);
}

/* HELP and TYPE once per family, before its first sample. */
static void test_each_family_has_help_and_type_first(void **state)
{
	char *t, *save = NULL, *line;
	char families[64][96];
	unsigned nf = 0;

	(void)state;
	fill(true, 2);
	t = render("0.1.0");
	for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char fam[96], help[96 + sizeof("# TYPE  ")];

		if (sscanf(line, "# HELP %95s %95s", fam, help) == 2) {
			for (unsigned i = 0; i < nf; i++)
				assert_string_not_equal(families[i], fam);
			assert_true(nf < 64);
			strcpy(families[nf++], fam);
			line = strtok_r(NULL, "\n", &save);
			assert_non_null(line);
			snprintf(help, sizeof(help), "# TYPE %s ", fam);
			assert_int_equal(strncmp(line, help, strlen(help)), 0);
			continue;
		}
		/* A sample belongs to the family declared last. */
		assert_true(nf > 0);
		size_t n = strlen(families[nf - 1]);
		assert_int_equal(strncmp(line, families[nf - 1], n), 0);
		assert_true(line[n] == '{' || line[n] == ' ' || line[n] == '_');
	}
	assert_true(nf >= 15);
	free(t);
}

static void test_label_values_are_escaped(void **state)
{
	char *t;

	(void)state;
	fill(false, 1);
	t = render("1.0\"rc\\2\nx");
	has_line(t, "synguard_build_info{version=\"1.0\\\"rc\\\\2\\nx\"} 1");
	free(t);
}

static void test_bridge_only_has_no_proxy_families(void **state)
{
	char *t;

	(void)state;
	fill(false, 2);
	t = render("0.1.0");
	assert_null(strstr(t, "synguard_drops_total"));
	assert_null(strstr(t, "synguard_handshake_duration_seconds"));
	assert_null(strstr(t, "synguard_conntrack_entries"));
	assert_non_null(strstr(t, "\nsynguard_io_frames_total{worker=\"1\",port=\"lan\",direction=\"tx\"}"));
	has_line(t, "synguard_workers 2");
	free(t);
}

static void test_histogram_is_cumulative_with_inf_equal_to_count(void **state)
{
	char *t, line[256];
	uint64_t cum = 0;

	(void)state;
	fill(true, 2);
	sg_hs_hist_add(&snap.w[1].ps.hs, 90);        /* <= 125 us */
	sg_hs_hist_add(&snap.w[1].ps.hs, 300);       /* <= 500 us */
	sg_hs_hist_add(&snap.w[1].ps.hs, 300);
	sg_hs_hist_add(&snap.w[1].ps.hs, 1500000);   /* <= 2.048 s */
	sg_hs_hist_add(&snap.w[1].ps.hs, 9000000);   /* +Inf */
	t = render("0.1.0");
	has_line(t, "# TYPE synguard_handshake_duration_seconds histogram");
	for (unsigned b = 0; b < SG_HS_HIST_BOUNDS; b++) {
		cum += snap.w[1].ps.hs.bucket[b];
		snprintf(line, sizeof(line),
		         "synguard_handshake_duration_seconds_bucket{worker=\"1\",le=\"%.6g\"} %llu",
		         (SG_HS_HIST_FIRST_US << b) / 1e6, (unsigned long long)cum);
		has_line(t, line);
	}
	has_line(t, "synguard_handshake_duration_seconds_bucket{worker=\"1\",le=\"0.000125\"} 1");
	has_line(t, "synguard_handshake_duration_seconds_bucket{worker=\"1\",le=\"0.0005\"} 3");
	has_line(t, "synguard_handshake_duration_seconds_bucket{worker=\"1\",le=\"2.048\"} 4");
	has_line(t, "synguard_handshake_duration_seconds_bucket{worker=\"1\",le=\"4.096\"} 4");
	has_line(t, "synguard_handshake_duration_seconds_bucket{worker=\"1\",le=\"+Inf\"} 5");
	has_line(t, "synguard_handshake_duration_seconds_count{worker=\"1\"} 5");
	has_line(t, "synguard_handshake_duration_seconds_sum{worker=\"1\"} 10.500690");
	has_line(t, "synguard_handshake_duration_seconds_bucket{worker=\"0\",le=\"+Inf\"} 0");
	has_line(t, "synguard_handshake_duration_seconds_count{worker=\"0\"} 0");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_by_reason_and_worker),
		cmocka_unit_test(test_each_family_has_help_and_type_first),
		cmocka_unit_test(test_label_values_are_escaped),
		cmocka_unit_test(test_bridge_only_has_no_proxy_families),
		cmocka_unit_test(test_histogram_is_cumulative_with_inf_equal_to_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
