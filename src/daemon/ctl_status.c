/* synguardctl status: what runs, where, and how full its tables are.
 * Every field is documented in synguardctl(8); the JSON names are stable. */
#include "daemon/ctl_cmd.h"

#include <string.h>
#include <unistd.h>

#include "core/halfopen.h"
#include "core/learn.h"
#include "daemon/clock.h"

#ifndef SG_VERSION
#define SG_VERSION "0.1.0"
#endif

static const char *run_mode(const struct sg_daemon *d)
{
	if (!d->proxy)
		return "bridge_only";
	return d->cfg.proxy.monitor ? "monitor" : "proxy";
}

static void ports(struct sg_daemon *d, bool json, struct sg_reply *r)
{
	const char *backend = sg_io_kind_name(sg_io_kind(d->io));

	if (json)
		sg_reply_printf(r, ", \"ports\": [");
	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		const char *name = p == SG_PORT_LAN ? "lan" : "wan";
		const char *ifn = d->ifname[p] ? d->ifname[p] : "";

		if (!json) {
			sg_reply_printf(r, "%-10s %s: %s\n", name, ifn, sg_io_describe(d->io, p));
			continue;
		}
		sg_reply_printf(r, "%s{\"port\": \"%s\", \"ifname\": ", p ? ", " : "", name);
		sg_reply_json_str(r, ifn);
		sg_reply_printf(r, ", \"backend\": \"%s\", \"queues\": %u, \"mode\": ", backend,
		                sg_io_nqueues(d->io));
		sg_reply_json_str(r, sg_io_describe(d->io, p));
		sg_reply_printf(r, "}");
	}
	if (json)
		sg_reply_printf(r, "]");
}

/* The connection table by state, the SYN cache and the learn table. */
static void tables(struct sg_daemon *d, bool json, struct sg_reply *r)
{
	const struct sg_halfopen *h = sg_proxy_halfopen(d->proxy);
	struct sg_ct *ct = sg_proxy_table(d->proxy);
	uint32_t n[SG_CT_STATE_COUNT];
	unsigned nw = sg_workers_count(d->ws), cookies_only = 0;

	sg_ct_count_states(ct, n);
	for (unsigned i = 0; i < nw; i++)
		cookies_only += sg_halfopen_cookies_only(h, i);
	if (json)
		sg_reply_printf(r, ", \"table\": {\"entries\": %u, \"capacity\": %u, \"states\": {",
		                sg_ct_count(ct), sg_ct_capacity(ct));
	else
		sg_reply_printf(r, "%-10s %u of %u entries\n", "table", sg_ct_count(ct),
		                sg_ct_capacity(ct));
	for (unsigned s = 0; s < SG_CT_STATE_COUNT; s++) {
		if (s == SG_CT_FREE)
			continue;
		if (json)
			sg_reply_printf(r, "%s\"%s\": %u", s > 1 ? ", " : "",
			                sg_ct_state_name((enum sg_ct_state)s), n[s]);
		else if (n[s])
			sg_reply_printf(r, "  %-12s %u\n", sg_ct_state_name((enum sg_ct_state)s), n[s]);
	}
	if (json)
		sg_reply_printf(r, "}}, \"syn_cache\": {\"entries\": %u, \"cookies_only_workers\": %u}, "
		                "\"learn\": {\"entries\": %u, \"pins\": %u}",
		                sg_halfopen_count(h), cookies_only,
		                sg_learn_count(sg_proxy_learn(d->proxy)), d->cfg.npins);
	else
		sg_reply_printf(r, "%-10s %u entries, %u of %u workers answer with cookies only\n"
		                "%-10s %u records, %u pins\n", "syn cache", sg_halfopen_count(h),
		                cookies_only, nw, "learn", sg_learn_count(sg_proxy_learn(d->proxy)),
		                d->cfg.npins);
}

void sg_ctl_status(struct sg_daemon *d, int argc, char **argv, bool json, struct sg_reply *r)
{
	uint64_t up_ns = sg_clock_mono_ns() - d->started_ns;
	unsigned nw = sg_workers_count(d->ws);

	(void)argv;
	if (argc != 1) {
		sg_reply_fail(r, 2, "status takes no arguments");
		return;
	}
	if (json)
		sg_reply_printf(r, "{\"pid\": %ld, \"version\": \"%s\", \"uptime_s\": %llu, "
		                "\"mode\": \"%s\", \"workers\": %u", (long)getpid(), SG_VERSION,
		                (unsigned long long)(up_ns / 1000000000ull), run_mode(d), nw);
	else
		sg_reply_printf(r, "%-10s %ld\n%-10s %s\n%-10s %llu s\n%-10s %s\n%-10s %u\n",
		                "pid", (long)getpid(), "version", SG_VERSION, "uptime",
		                (unsigned long long)(up_ns / 1000000000ull), "mode", run_mode(d),
		                "workers", nw);
	ports(d, json, r);
	if (d->proxy)
		tables(d, json, r);
	else if (json)
		sg_reply_printf(r, ", \"table\": null, \"syn_cache\": null, \"learn\": null");
	if (json)
		sg_reply_printf(r, "}\n");
}
