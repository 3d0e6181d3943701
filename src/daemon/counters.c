/* The counters of every layer, summed over the workers, as the control
 * socket shows them, and the notice bad checksums call for (see
 * counters.h). */
#include "daemon/counters.h"

#include <stdbool.h>
#include <string.h>

#include "core/halfopen.h"
#include "core/learn.h"
#include "daemon/clock.h"
#include "daemon/counter_names.h"
#include "daemon/log.h"

static void ct_stats_add(struct sg_ct_stats *d, const struct sg_ct_stats *s)
{
	for (unsigned k = 0; k < SG_CT_STAT__COUNT; k++)
		d->c[k] += s->c[k];
	for (unsigned k = 0; k < SG_CT_STATE_COUNT; k++)
		d->expired[k] += s->expired[k];
}

#define CT_PREFIX "conntrack_"

/* Every counter set, summed over the workers, each walked by its names. */
void sg_counters_snapshot(struct sg_workers *workers, struct sg_io *io, struct sg_proxy *proxy,
                          struct sg_snapshot *s)
{
	static bool warned;
	struct sg_worker_stats ws;
	struct sg_stats ps = { 0 };
	struct sg_ct_stats cs = { 0 };
	uint64_t hs[SG_HALFOPEN_STAT__COUNT] = { 0 };
	struct sg_ct *ct;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	s->at_ns = sg_clock_mono_ns();
	sg_workers_stats(workers, SG_WORKERS_ALL, &ws);
	rc |= sg_snapshot_add_set(s, "", sg_cn_worker, ws.c, SG_WORKER_STAT__COUNT);
	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		struct sg_io_stats sum = { { 0 } };

		for (unsigned q = 0; q < sg_io_nqueues(io); q++) {
			struct sg_io_stats one;

			sg_io_stats(io, p, q, &one);
			for (unsigned k = 0; k < SG_IO_STAT__COUNT; k++)
				sum.c[k] += one.c[k];
		}
		rc |= sg_snapshot_add_set(s, p == SG_PORT_LAN ? "io_lan_" : "io_wan_", sg_cn_io,
		                          sum.c, SG_IO_STAT__COUNT);
	}
	if (proxy) {
		ct = sg_proxy_table(proxy);
		for (unsigned i = 0; i < sg_workers_count(workers); i++) {
			struct sg_proxy_worker *w = sg_proxy_worker(proxy, i);

			sg_stats_add(&ps, sg_proxy_stats(w));
			ct_stats_add(&cs, sg_proxy_ct_stats(w));
			uint64_t one[SG_HALFOPEN_STAT__COUNT];

			sg_halfopen_stats(sg_proxy_halfopen(proxy), i, one);
			for (unsigned k = 0; k < SG_HALFOPEN_STAT__COUNT; k++)
				hs[k] += one[k];
		}
		rc |= sg_snapshot_add_set(s, "", sg_cn_proxy, ps.c, SG_STAT__COUNT);
		rc |= sg_snapshot_add_set(s, "bad_", sg_cn_bad, ps.bad, SG_BAD__COUNT);
		rc |= sg_snapshot_add(s, CT_PREFIX "entries", sg_ct_count(ct));
		rc |= sg_snapshot_add(s, CT_PREFIX "capacity", sg_ct_capacity(ct));
		rc |= sg_snapshot_add_set(s, CT_PREFIX, sg_cn_ct, cs.c, SG_CT_STAT__COUNT);
		rc |= sg_snapshot_add_set(s, CT_PREFIX "expired_", sg_cn_ct_state, cs.expired,
		                          SG_CT_STATE_COUNT);
		/* The SYN cache's counters carry their prefix in their names. */
		rc |= sg_snapshot_add(s, "halfopen_entries", sg_halfopen_count(sg_proxy_halfopen(proxy)));
		rc |= sg_snapshot_add_set(s, "", sg_cn_halfopen, hs, SG_HALFOPEN_STAT__COUNT);
		rc |= sg_snapshot_add(s, "learn_entries", sg_learn_count(sg_proxy_learn(proxy)));
	}
	if (rc && !warned) {
		/* A counter set outgrew the snapshot: a build problem, said once. */
		sg_log(LOG_WARNING, "counters: some are missing from the control socket "
		       "(raise SG_CTL_MAX_COUNTERS or shorten names)");
		warned = true;
	}
}

void sg_counters_per_worker(struct sg_workers *workers, struct sg_io *io, struct sg_proxy *proxy,
                            struct sg_metrics_snap *s)
{
	const struct sg_halfopen *h = proxy ? sg_proxy_halfopen(proxy) : NULL;

	s->proxy = proxy != NULL;
	s->nworkers = sg_workers_count(workers);
	for (unsigned i = 0; i < s->nworkers; i++) {
		struct sg_metrics_worker *w = &s->w[i];

		sg_workers_stats(workers, i, &w->ws);
		for (unsigned p = 0; p < SG_IO_PORTS; p++)
			sg_io_stats(io, p, i, &w->io[p]);
		if (!proxy)
			continue;
		w->ps = *sg_proxy_stats(sg_proxy_worker(proxy, i));
		w->cs = *sg_proxy_ct_stats(sg_proxy_worker(proxy, i));
		sg_halfopen_stats(h, i, w->halfopen);
		w->cookies_only = sg_halfopen_cookies_only(h, i);
	}
	if (proxy) {
		s->ct_entries = sg_ct_count(sg_proxy_table(proxy));
		s->ct_capacity = sg_ct_capacity(sg_proxy_table(proxy));
		s->syncache_entries = sg_halfopen_count(h);
		s->learned_servers = sg_learn_count(sg_proxy_learn(proxy));
	}
}

static uint64_t snapshot_value(const struct sg_snapshot *s, const char *name)
{
	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->c[i].name, name) == 0)
			return s->c[i].value;
	return 0;
}

/* Bad checksums almost always mean a sender hands frames to synguard
 * before its NIC fills the checksum in (offload on a VM or a bridge on
 * the same host): say so at once, then at most every 10 s, so a steady
 * stream does not flood the log. */
#define CSUM_NOTICE_EVERY_NS (10 * 1000000000ull)

void sg_counters_notice_csum(struct sg_csum_notice *n, const struct sg_snapshot *now)
{
	const char *name = sg_stat_name(SG_STAT_DROP_BAD_CSUM);
	uint64_t a = n->seen, b = snapshot_value(now, name);

	if (b <= a)
		return;
	n->seen = b;
	n->unlogged += b - a;
	if (n->logged_ns && now->at_ns - n->logged_ns < CSUM_NOTICE_EVERY_NS)
		return;
	sg_log(LOG_NOTICE, "%llu TCP segment%s dropped for a bad checksum (%s) in the last second, "
	       "%llu since the last notice: a sender's checksum offload leaves them unfinished, "
	       "or they were damaged; on the sending host: ethtool -K IF tx off",
	       (unsigned long long)(b - a), b - a == 1 ? "" : "s", name,
	       (unsigned long long)n->unlogged);
	n->logged_ns = now->at_ns;
	n->unlogged = 0;
}
