/* The notable events of a running daemon (see events.h). */
#include "daemon/events.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon/clock.h"
#include "daemon/log.h"

#define NS 1000000000ull

static const char *const port_name[SG_IO_PORTS] = { "lan", "wan" };

static void say(sg_events_emit_fn emit, void *ctx, int level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void say(sg_events_emit_fn emit, void *ctx, int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit(ctx, level, line);
}

static uint64_t value(const struct sg_snapshot *s, const char *name)
{
	for (unsigned i = 0; s && i < s->n; i++)
		if (strcmp(s->c[i].name, name) == 0)
			return s->c[i].value;
	return 0;
}

static bool has(const struct sg_snapshot *s, const char *name)
{
	for (unsigned i = 0; s && i < s->n; i++)
		if (strcmp(s->c[i].name, name) == 0)
			return true;
	return false;
}

static uint64_t delta(const struct sg_snapshot *prev, const struct sg_snapshot *cur,
                      const char *name)
{
	uint64_t a = value(prev, name), b = value(cur, name);

	return b > a ? b - a : 0;
}

/* Per second over the interval between the two snapshots. */
static uint64_t rate(const struct sg_snapshot *prev, const struct sg_snapshot *cur,
                     const char *name)
{
	uint64_t dt = cur->at_ns > prev->at_ns ? cur->at_ns - prev->at_ns : 0;

	return dt ? (uint64_t)((double)delta(prev, cur, name) * (double)NS / (double)dt) : 0;
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* "45 s", "12 min 3 s", "5 h 12 min": whole seconds, rounded down. */
static const char *duration(char *buf, size_t cap, uint64_t ns)
{
	unsigned long long s = ns / NS;

	if (s < 60)
		snprintf(buf, cap, "%llu s", s);
	else if (s < 3600)
		snprintf(buf, cap, "%llu min %llu s", s / 60, s % 60);
	else
		snprintf(buf, cap, "%llu h %llu min", s / 3600, s % 3600 / 60);
	return buf;
}

void sg_events_init(struct sg_events *e, const char *const ifname[SG_IO_PORTS])
{
	memset(e, 0, sizeof(*e));
	for (unsigned p = 0; p < SG_IO_PORTS; p++)
		snprintf(e->ifname[p], sizeof(e->ifname[p]), "%s", ifname[p] ? ifname[p] : "?");
}

/* ---- port state ---- */

static void step_links(struct sg_events *e, const struct sg_events_sample *cur,
                       sg_events_emit_fn emit, void *ctx)
{
	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		enum sg_link l = cur->link[p];

		if (l == SG_LINK_UNKNOWN || l == e->link[p])
			continue;     /* a failed read is no change */
		if (l == SG_LINK_DOWN)
			say(emit, ctx, LOG_WARNING, "%s port %s: link down%s (operstate %s): "
			    "nothing passes on this port", port_name[p], e->ifname[p],
			    e->primed ? "" : " at start", cur->operstate[p]);
		else if (e->primed)
			say(emit, ctx, LOG_NOTICE, "%s port %s: link up", port_name[p], e->ifname[p]);
		e->link[p] = l;
	}
}

/* ---- cookie key rotation ---- */

static void step_key(struct sg_events *e, const struct sg_events_sample *cur,
                     sg_events_emit_fn emit, void *ctx)
{
	if (!cur->has_cookie)
		return;
	if (e->epoch_seen && cur->cookie_epoch != e->epoch)
		say(emit, ctx, LOG_INFO, "cookie key rotated: epoch %u; cookies of the key before "
		    "are still accepted for up to %u s", cur->cookie_epoch, cur->cookie_period_s);
	e->epoch = cur->cookie_epoch;
	e->epoch_seen = true;
}

/* ---- SYN flood ---- */

static void step_flood(struct sg_events *e, const struct sg_snapshot *prev,
                       const struct sg_events_sample *cur, sg_events_emit_fn emit, void *ctx)
{
	const char *syn = sg_stat_name(SG_STAT_SYN_RECEIVED);
	const char *synack = sg_stat_name(SG_STAT_SYNACK_SENT);
	uint64_t r = rate(prev, cur->snap, syn), limit = cur->flood_syn_rate;
	char t[32];

	if (!e->flood) {
		if (!limit || r < limit)
			return;
		e->flood = true;
		e->quiet_s = 0;
		e->flood_since_ns = prev->at_ns;
		e->flood_last_ns = cur->snap->at_ns;
		e->flood_peak = r;
		e->flood_synack0 = value(prev, synack);
		say(emit, ctx, LOG_WARNING, "SYN flood: started, %llu SYN/s, %llu cookies/s "
		    "(log.flood_syn_rate %llu)", (unsigned long long)r,
		    (unsigned long long)rate(prev, cur->snap, synack), (unsigned long long)limit);
		return;
	}
	if (r > e->flood_peak)
		e->flood_peak = r;
	/* Under the threshold but over half of it is still the flood: a rate
	 * hovering at the threshold makes one start and one end, not many. */
	if (r * 2 >= limit) {
		e->quiet_s = 0;
		e->flood_last_ns = cur->snap->at_ns;
		return;
	}
	if (++e->quiet_s < SG_EVENTS_FLOOD_QUIET_S)
		return;
	uint64_t answered = value(cur->snap, synack) - e->flood_synack0;
	say(emit, ctx, LOG_NOTICE, "SYN flood: ended after %s, peak %llu SYN/s, %llu SYN%s answered",
	    duration(t, sizeof(t), e->flood_last_ns - e->flood_since_ns),
	    (unsigned long long)e->flood_peak, (unsigned long long)answered,
	    plural(answered, "", "s"));
	e->flood = false;
}

/* ---- table full ---- */

static void step_table(struct sg_events *e, const struct sg_snapshot *prev,
                       const struct sg_events_sample *cur, sg_events_emit_fn emit, void *ctx)
{
	const struct sg_snapshot *s = cur->snap;
	uint64_t refused = delta(prev, s, "conntrack_insert_full");
	uint64_t evicted = delta(prev, s, "conntrack_evict_closing") +
	                   delta(prev, s, "conntrack_evict_embryonic") +
	                   delta(prev, s, "conntrack_evict_idle");
	char t[32];

	if (!refused && !evicted)
		return;
	if (!e->full_refused && !e->full_evicted)
		e->full_since_ns = prev->at_ns;
	e->full_refused += refused;
	e->full_evicted += evicted;
	if (e->full_logged_ns && s->at_ns - e->full_logged_ns < SG_EVENTS_EVERY_NS)
		return;
	say(emit, ctx, LOG_WARNING, "connection table full: %llu new connection%s refused, "
	    "%llu evicted in the last %s (%llu of %llu entries); raise conntrack.capacity",
	    (unsigned long long)e->full_refused, plural(e->full_refused, "", "s"),
	    (unsigned long long)e->full_evicted, duration(t, sizeof(t), s->at_ns - e->full_since_ns),
	    (unsigned long long)value(s, "conntrack_entries"),
	    (unsigned long long)value(s, "conntrack_capacity"));
	e->full_logged_ns = s->at_ns;
	e->full_refused = e->full_evicted = 0;
}

/* ---- drop samples ---- */

static bool is_drop(const char *name)
{
	size_t l = strlen(name);

	return strncmp(name, "drop_", 5) == 0 || strncmp(name, "bad_", 4) == 0 ||
	       (l > 6 && strcmp(name + l - 6, "_drops") == 0);
}

static void step_drops(struct sg_events *e, const struct sg_events_sample *cur,
                       sg_events_emit_fn emit, void *ctx)
{
	const struct sg_snapshot *s = cur->snap;
	char t[32];

	for (unsigned i = 0; i < s->n && i < SG_CTL_MAX_COUNTERS; i++) {
		uint64_t v = s->c[i].value;

		if (!e->primed) {
			e->drop_seen[i] = v;
			e->drop_since_ns[i] = s->at_ns;
			continue;
		}
		if (v <= e->drop_seen[i] || !is_drop(s->c[i].name))
			continue;
		if (e->drop_logged_ns[i] && s->at_ns - e->drop_logged_ns[i] < SG_EVENTS_EVERY_NS)
			continue;
		say(emit, ctx, LOG_DEBUG, "drops: %s: %llu in the last %s", s->c[i].name,
		    (unsigned long long)(v - e->drop_seen[i]),
		    duration(t, sizeof(t), s->at_ns - e->drop_since_ns[i]));
		e->drop_seen[i] = v;
		e->drop_since_ns[i] = e->drop_logged_ns[i] = s->at_ns;
	}
}

void sg_events_step(struct sg_events *e, const struct sg_snapshot *prev,
                    const struct sg_events_sample *cur, sg_events_emit_fn emit, void *ctx)
{
	step_links(e, cur, emit, ctx);
	step_key(e, cur, emit, ctx);
	if (e->primed && prev) {
		step_flood(e, prev, cur, emit, ctx);
		step_table(e, prev, cur, emit, ctx);
	}
	step_drops(e, cur, emit, ctx);
	e->primed = true;
}

/* ---- start and stop ---- */

void sg_events_started(const struct sg_events_start *s, sg_events_emit_fn emit, void *ctx)
{
	char table[64] = "";

	if (!s->bridge_only)
		snprintf(table, sizeof(table), ", table of %lu connections",
		         (unsigned long)s->table_capacity);
	say(emit, ctx, LOG_NOTICE, "running: %u worker%s, %s, synguard %s, lan %s, wan %s, io %s%s",
	    s->workers, plural(s->workers, "", "s"), s->bridge_only ? "bridge only" : "proxying",
	    s->version, s->ifname[0], s->ifname[1], s->io, table);
}

void sg_events_stopped(const char *reason, uint64_t uptime_ns, const struct sg_snapshot *last,
                       sg_events_emit_fn emit, void *ctx)
{
	const char *synack = sg_stat_name(SG_STAT_SYNACK_SENT);
	uint64_t rx = value(last, "rx_lan_frames") + value(last, "rx_wan_frames");
	char t[32], totals[256] = "";

	if (has(last, synack)) {      /* a proxy's counters, not bridge only */
		uint64_t a = value(last, synack);
		uint64_t o = value(last, sg_stat_name(SG_STAT_PROXIED_OPEN));
		uint64_t d = value(last, sg_stat_name(SG_STAT_DROPPED));

		snprintf(totals, sizeof(totals), ", %llu SYN%s answered, %llu connection%s proxied, "
		         "%llu frame%s dropped", (unsigned long long)a, plural(a, "", "s"),
		         (unsigned long long)o, plural(o, "", "s"), (unsigned long long)d,
		         plural(d, "", "s"));
	}
	say(emit, ctx, LOG_NOTICE, "stopped (%s) after %s: %llu frame%s received%s", reason,
	    duration(t, sizeof(t), uptime_ns), (unsigned long long)rx, plural(rx, "", "s"), totals);
}

/* ---- the daemon's side: reading the ports, the log ---- */

enum sg_link sg_events_read_link(const char *ifname, char *operstate, size_t cap)
{
	char path[64 + IF_NAMESIZE], word[32];
	ssize_t n;
	int fd;

	snprintf(operstate, cap, "?");
	snprintf(path, sizeof(path), "/sys/class/net/%s/operstate", ifname);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return SG_LINK_UNKNOWN;
	n = read(fd, word, sizeof(word) - 1);
	close(fd);
	if (n <= 0)
		return SG_LINK_UNKNOWN;
	word[n] = '\0';
	word[strcspn(word, "\n")] = '\0';
	snprintf(operstate, cap, "%s", word);
	/* RFC 2863's words: "unknown" is a driver without a carrier notion
	 * (tun, some virtual ones); dormant, testing, notpresent and
	 * lowerlayerdown all mean no frames pass. */
	return strcmp(word, "up") == 0 || strcmp(word, "unknown") == 0 ? SG_LINK_UP : SG_LINK_DOWN;
}

void sg_events_to_log(void *ctx, int level, const char *line)
{
	(void)ctx;
	sg_log(level, "%s", line);
}

void sg_events_observe(struct sg_events *e, struct sg_proxy *proxy, unsigned flood_syn_rate,
                       const struct sg_snapshot *prev, const struct sg_snapshot *cur)
{
	struct sg_events_sample s = { .snap = cur, .flood_syn_rate = flood_syn_rate };

	for (unsigned p = 0; p < SG_IO_PORTS; p++)
		s.link[p] = sg_events_read_link(e->ifname[p], s.operstate[p], sizeof(s.operstate[p]));
	if (proxy) {
		s.has_cookie = true;
		s.cookie_epoch = sg_proxy_cookie_epoch(proxy, cur->at_ns);
		s.cookie_period_s = sg_proxy_cookie_period_s(proxy);
	}
	sg_events_step(e, prev, &s, sg_events_to_log, NULL);
}
