/* The text exposition of the counters (see metrics_render.h).
 *
 * Conventions (prometheus.io/docs/practices/naming): every family starts
 * with synguard_, counters end in _total, times are in seconds; a counter
 * set becomes a few families whose label takes the part of each counter's
 * name that varies (drop_bad_checksum -> synguard_drops_total{reason=
 * "bad_checksum"}), so a name is typed once, in its set, and a counter
 * added to a set appears here with nothing else to change. */
#include "daemon/metrics_render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/counter_names.h"
#include "net/pkt.h"

#define NS "synguard_"

/* The counter sets, each a name function over an index (NULL: the index
 * is not a counter) and where a worker's values sit. */
enum set_id { SET_WORKER, SET_IO, SET_PROXY, SET_BAD, SET_CT, SET_CT_EXPIRED, SET_HALFOPEN };

static const struct set {
	const char *(*name)(unsigned);
	unsigned n;
	bool proxy;          /* only with a proxy */
	bool per_port;       /* one instance per port (label port) */
} sets[] = {
	[SET_WORKER]     = { sg_cn_worker, SG_WORKER_STAT__COUNT, false, false },
	[SET_IO]         = { sg_cn_io, SG_IO_STAT__COUNT, false, true },
	[SET_PROXY]      = { sg_cn_proxy, SG_STAT__COUNT, true, false },
	[SET_BAD]        = { sg_cn_bad, SG_BAD__COUNT, true, false },
	[SET_CT]         = { sg_cn_ct, SG_CT_STAT__COUNT, true, false },
	[SET_CT_EXPIRED] = { sg_cn_ct_state, SG_CT_STATE_COUNT, true, false },
	[SET_HALFOPEN]   = { sg_cn_halfopen, SG_HALFOPEN_STAT__COUNT, true, false },
};

static const uint64_t *set_values(const struct sg_metrics_worker *w, enum set_id id, unsigned port)
{
	switch (id) {
	case SET_WORKER: return w->ws.c;
	case SET_IO: return w->io[port].c;
	case SET_PROXY: return w->ps.c;
	case SET_BAD: return w->ps.bad;
	case SET_CT: return w->cs.c;
	case SET_CT_EXPIRED: return w->cs.expired;
	case SET_HALFOPEN: return w->halfopen;
	}
	return NULL;
}

/* The one table: a counter goes to the first rule of its set whose prefix
 * and suffix its name carries (with something between them), and the
 * rest of the name is the value of the rule's label.  Family names are
 * without synguard_ and _total. */
static const struct rule {
	enum set_id set;
	const char *prefix, *suffix;
	const char *family, *label, *help;
} rules[] = {
	{ SET_PROXY, "drop_", "", "drops", "reason",
	  "Frames the proxy dropped, by reason." },
	{ SET_PROXY, "", "", "proxy_events", "event",
	  "Frames the proxy saw and what it did with them, by event." },
	{ SET_BAD, "", "", "malformed_frames", "reason",
	  "Malformed frames, by what was wrong with them." },
	{ SET_CT, "", "", "conntrack_events", "event",
	  "Connection table operations, by event." },
	{ SET_CT_EXPIRED, "", "", "conntrack_expired", "state",
	  "Connection table entries that expired, by the state they expired in." },
	{ SET_HALFOPEN, "halfopen_", "", "syncache_events", "event",
	  "SYN cache operations, by event." },
	{ SET_WORKER, "rx_", "_frames", "worker_received_frames", "port",
	  "Frames a worker received, by port." },
	{ SET_WORKER, "tx_", "_frames", "worker_sent_frames", "port",
	  "Frames a worker queued for sending, by port." },
	{ SET_WORKER, "", "", "worker_events", "event",
	  "What a worker's loop did, by event." },
	{ SET_IO, "", "_bytes", "io_bytes", "direction",
	  "Bytes through a worker's queue of a port, by direction." },
	{ SET_IO, "", "_frames", "io_frames", "direction",
	  "Frames through a worker's queue of a port, by direction." },
	{ SET_IO, "", "", "io_events", "event",
	  "Exceptional events of a worker's queue of a port, by event." },
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))

static const char *const port_name[SG_IO_PORTS] = {
	[SG_PORT_LAN] = "lan",
	[SG_PORT_WAN] = "wan",
};

/* Does rule r take name?  *vlen: the length of the label's value. */
static bool takes(const struct rule *r, const char *name, size_t *vlen)
{
	size_t n = strlen(name), p = strlen(r->prefix), s = strlen(r->suffix);

	if (n <= p + s || strncmp(name, r->prefix, p) != 0 || strcmp(name + n - s, r->suffix) != 0)
		return false;
	*vlen = n - p - s;
	return true;
}

/* The first rule of its set that takes name is its home. */
static bool home(const struct rule *r, const char *name, size_t *vlen)
{
	size_t ignored;

	for (const struct rule *o = rules; o < r; o++)
		if (o->set == r->set && takes(o, name, &ignored))
			return false;
	return takes(r, name, vlen);
}

/* A label value: backslash, double quote and newline escaped. */
static void put_value(FILE *f, const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '\\' || v[i] == '"')
			fprintf(f, "\\%c", v[i]);
		else if (v[i] == '\n')
			fputs("\\n", f);
		else
			fputc(v[i], f);
	}
}

/* HELP text: backslash and newline escaped. */
static void header(FILE *f, const char *family, const char *type, const char *help)
{
	fprintf(f, "# HELP " NS "%s ", family);
	for (const char *c = help; *c; c++) {
		if (*c == '\\')
			fputs("\\\\", f);
		else if (*c == '\n')
			fputs("\\n", f);
		else
			fputc(*c, f);
	}
	fprintf(f, "\n# TYPE " NS "%s %s\n", family, type);
}

static void render_rule(FILE *f, const struct sg_metrics_snap *s, const struct rule *r)
{
	const struct set *set = &sets[r->set];
	char family[96];

	snprintf(family, sizeof(family), "%s_total", r->family);
	header(f, family, "counter", r->help);
	for (unsigned wi = 0; wi < s->nworkers; wi++) {
		for (unsigned port = 0; port < (set->per_port ? SG_IO_PORTS : 1u); port++) {
			const uint64_t *v = set_values(&s->w[wi], r->set, port);

			for (unsigned i = 0; i < set->n; i++) {
				const char *name = set->name(i);
				size_t vlen;

				if (!name || !home(r, name, &vlen))
					continue;
				fprintf(f, NS "%s{worker=\"%u\",", family, wi);
				if (set->per_port)
					fprintf(f, "port=\"%s\",", port_name[port]);
				fprintf(f, "%s=\"", r->label);
				put_value(f, name + strlen(r->prefix), vlen);
				fprintf(f, "\"} %llu\n", (unsigned long long)v[i]);
			}
		}
	}
}

static void gauge(FILE *f, const char *family, const char *help, uint64_t v)
{
	header(f, family, "gauge", help);
	fprintf(f, NS "%s %llu\n", family, (unsigned long long)v);
}

/* Buckets are cumulative in the exposition, bounds in seconds. */
static void render_histogram(FILE *f, const struct sg_metrics_snap *s)
{
	static const char family[] = "handshake_duration_seconds";

	header(f, family, "histogram",
	       "Time from a client's cookie ACK (the SYN to the server) to the server's SYN-ACK.");
	for (unsigned wi = 0; wi < s->nworkers; wi++) {
		const struct sg_hs_hist *h = &s->w[wi].ps.hs;
		uint64_t cum = 0;

		for (unsigned b = 0; b <= SG_HS_HIST_BOUNDS; b++) {
			cum += h->bucket[b];
			fprintf(f, NS "%s_bucket{worker=\"%u\",le=\"", family, wi);
			if (b < SG_HS_HIST_BOUNDS)
				fprintf(f, "%.6g", (double)(SG_HS_HIST_FIRST_US << b) / 1e6);
			else
				fputs("+Inf", f);
			fprintf(f, "\"} %llu\n", (unsigned long long)cum);
		}
		fprintf(f, NS "%s_sum{worker=\"%u\"} %llu.%06llu\n", family, wi,
		        (unsigned long long)(h->sum_us / 1000000u),
		        (unsigned long long)(h->sum_us % 1000000u));
		fprintf(f, NS "%s_count{worker=\"%u\"} %llu\n", family, wi, (unsigned long long)cum);
	}
}

char *sg_metrics_render(const struct sg_metrics_snap *s, const char *version, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		return NULL;
	header(f, "build_info", "gauge", "The running synguard's version; the value is always 1.");
	fputs(NS "build_info{version=\"", f);
	put_value(f, version, strlen(version));
	fputs("\"} 1\n", f);
	gauge(f, "workers", "Worker threads, one per queue of each port.", s->nworkers);
	for (size_t i = 0; i < NRULES; i++)
		if (s->proxy || !sets[rules[i].set].proxy)
			render_rule(f, s, &rules[i]);
	if (s->proxy) {
		gauge(f, "conntrack_entries", "Connection table entries in use.", s->ct_entries);
		gauge(f, "conntrack_capacity", "Connection table entries in all.", s->ct_capacity);
		gauge(f, "syncache_entries", "SYNs kept in the SYN cache.", s->syncache_entries);
		header(f, "syncache_cookies_only", "gauge",
		       "1 while a worker's SYN cache steps aside and cookies alone answer.");
		for (unsigned wi = 0; wi < s->nworkers; wi++)
			fprintf(f, NS "syncache_cookies_only{worker=\"%u\"} %d\n", wi,
			        s->w[wi].cookies_only ? 1 : 0);
		gauge(f, "learned_servers", "Records of what servers support, learned from their handshakes.",
		      s->learned_servers);
		render_histogram(f, s);
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
