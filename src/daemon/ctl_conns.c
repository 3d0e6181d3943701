/* synguardctl conns (see ctl_conns.h): walks the table with
 * sg_proxy_conns (core/conn_list.h: no lock, nothing the workers wait
 * for), keeps what the filter matches, prints at most `limit` of them and
 * counts the rest. */
#include "daemon/ctl_conns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conn_list.h"
#include "daemon/clock.h"
#include "daemon/daemon.h"

struct prefix {
	bool    set;
	uint8_t family;
	uint8_t addr[16];
	unsigned len;
};

struct filter {
	struct prefix src, dst, wan, lan, addr;
	int sport, dport, port;       /* -1: any */
	int state;                    /* -1: any */
	unsigned limit;
};

#define USAGE "conns [src|dst|wan|lan|addr PREFIX] [sport|dport|port N] [state S] [limit N]"

static int parse_prefix(const char *s, struct prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	unsigned max;
	long len;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	memset(p->addr, 0, sizeof(p->addr));
	if (inet_pton(AF_INET, buf, p->addr) == 1) {
		p->family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, p->addr) == 1) {
		p->family = 6;
		max = 128;
	} else {
		return -1;
	}
	len = max;
	if (slash) {
		errno = 0;
		len = strtol(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || len < 0 || len > (long)max)
			return -1;
	}
	p->len = (unsigned)len;
	p->set = true;
	return 0;
}

static bool prefix_has(const struct prefix *p, uint8_t family, const uint8_t *a)
{
	unsigned whole = p->len / 8, bits = p->len % 8;

	if (!p->set)
		return true;
	if (family != p->family || memcmp(a, p->addr, whole))
		return false;
	return !bits || ((a[whole] ^ p->addr[whole]) & (0xff00u >> bits)) == 0;
}

static int parse_num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return errno || end == s || *end || v < lo || v > hi ? -1 : (int)v;
}

static int parse_filter(int argc, char **argv, struct filter *f, struct sg_reply *r)
{
	memset(f, 0, sizeof(*f));
	f->sport = f->dport = f->port = f->state = -1;
	f->limit = SG_CONNS_DEFAULT_LIMIT;
	for (int i = 1; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		struct prefix *pf = strcmp(k, "src") == 0 ? &f->src : strcmp(k, "dst") == 0 ? &f->dst :
		                    strcmp(k, "wan") == 0 ? &f->wan : strcmp(k, "lan") == 0 ? &f->lan :
		                    strcmp(k, "addr") == 0 ? &f->addr : NULL;
		int *port = strcmp(k, "sport") == 0 ? &f->sport : strcmp(k, "dport") == 0 ? &f->dport :
		            strcmp(k, "port") == 0 ? &f->port : NULL;

		if (!v) {
			sg_reply_fail(r, 2, "conns: '%s' needs a value (usage: " USAGE ")", k);
			return -1;
		}
		if (pf) {
			if (parse_prefix(v, pf)) {
				sg_reply_fail(r, 2, "conns: %s '%s': not an IPv4 or IPv6 address or "
				              "ADDRESS/LENGTH prefix", k, v);
				return -1;
			}
		} else if (port) {
			if ((*port = parse_num(v, 0, 65535)) < 0) {
				sg_reply_fail(r, 2, "conns: %s '%s': not a port (0-65535)", k, v);
				return -1;
			}
		} else if (strcmp(k, "state") == 0) {
			for (int s = SG_CT_FREE + 1; s < SG_CT_STATE_COUNT; s++)
				if (strcmp(v, sg_ct_state_name((enum sg_ct_state)s)) == 0)
					f->state = s;
			if (f->state < 0) {
				char names[256] = "";

				for (int s = SG_CT_FREE + 1; s < SG_CT_STATE_COUNT; s++)
					snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
					         s > SG_CT_FREE + 1 ? ", " : "",
					         sg_ct_state_name((enum sg_ct_state)s));
				sg_reply_fail(r, 2, "conns: state '%s': unknown (one of: %s)", v, names);
				return -1;
			}
		} else if (strcmp(k, "limit") == 0) {
			int n = parse_num(v, 1, SG_CONNS_MAX_LIMIT);

			if (n < 0) {
				sg_reply_fail(r, 2, "conns: limit '%s': not a number from 1 to %u", v,
				              SG_CONNS_MAX_LIMIT);
				return -1;
			}
			f->limit = (unsigned)n;
		} else {
			sg_reply_fail(r, 2, "conns: unknown filter '%s' (usage: " USAGE ")", k);
			return -1;
		}
	}
	return 0;
}

/* src/sport are the side that opened the connection (the WAN client of a
 * proxied one), dst/dport the side that accepted it. */
static bool matches(const struct filter *f, const struct sg_conn_info *c)
{
	const uint8_t *sa = c->wan_opened ? c->wan_addr : c->lan_addr;
	const uint8_t *da = c->wan_opened ? c->lan_addr : c->wan_addr;
	int sp = c->wan_opened ? c->wan_port : c->lan_port;
	int dp = c->wan_opened ? c->lan_port : c->wan_port;

	return prefix_has(&f->src, c->family, sa) && prefix_has(&f->dst, c->family, da) &&
	       prefix_has(&f->wan, c->family, c->wan_addr) &&
	       prefix_has(&f->lan, c->family, c->lan_addr) &&
	       (prefix_has(&f->addr, c->family, c->wan_addr) ||
	        prefix_has(&f->addr, c->family, c->lan_addr)) &&
	       (f->sport < 0 || f->sport == sp) && (f->dport < 0 || f->dport == dp) &&
	       (f->port < 0 || f->port == sp || f->port == dp) &&
	       (f->state < 0 || f->state == c->state);
}

static const char *addr_str(const struct sg_conn_info *c, const uint8_t *a, char *buf)
{
	return inet_ntop(c->family == 4 ? AF_INET : AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

static void print_one(struct sg_reply *r, const struct sg_conn_info *c, bool json, bool first)
{
	char wa[INET6_ADDRSTRLEN], la[INET6_ADDRSTRLEN];
	const char *src = addr_str(c, c->wan_opened ? c->wan_addr : c->lan_addr, wa);
	const char *dst = addr_str(c, c->wan_opened ? c->lan_addr : c->wan_addr, la);
	unsigned sp = c->wan_opened ? c->wan_port : c->lan_port;
	unsigned dp = c->wan_opened ? c->lan_port : c->wan_port;
	const char *state = sg_ct_state_name((enum sg_ct_state)c->state);

	if (json) {
		sg_reply_printf(r, "%s\n  {\"family\": %u, \"src\": \"%s\", \"sport\": %u, "
		                "\"dst\": \"%s\", \"dport\": %u, \"opened_from\": \"%s\", "
		                "\"vlan\": [%u, %u], \"state\": \"%s\", \"proxied\": %s, "
		                "\"idle_ms\": %u, \"expires_in_ms\": %u, \"worker\": %u, "
		                "\"seq_offset\": %u, \"ts_offset\": %u, \"mss\": %u, "
		                "\"client_wscale\": %d, \"server_wscale\": %d, "
		                "\"sack\": %s, \"timestamps\": %s}",
		                first ? "" : ",", c->family, src, sp, dst, dp,
		                c->wan_opened ? "wan" : "lan", c->vid[0], c->vid[1], state,
		                c->proxied ? "true" : "false", c->idle_ms, c->expires_in_ms, c->owner,
		                c->seq_offset, c->ts_offset, c->mss,
		                c->client_ws == 0xf ? -1 : c->client_ws,
		                c->server_ws == 0xf ? -1 : c->server_ws,
		                c->sack ? "true" : "false", c->ts ? "true" : "false");
		return;
	}
	sg_reply_printf(r, "%s%s%s %u -> %s%s%s %u  %-11s %-7s idle %u.%03us expires %us",
	                c->family == 6 ? "[" : "", src, c->family == 6 ? "]" : "", sp,
	                c->family == 6 ? "[" : "", dst, c->family == 6 ? "]" : "", dp, state,
	                c->proxied ? "proxied" : "tracked", c->idle_ms / 1000, c->idle_ms % 1000,
	                c->expires_in_ms / 1000);
	if (c->vid[0] || c->vid[1])
		sg_reply_printf(r, " vlan %u.%u", c->vid[0], c->vid[1]);
	if (c->proxied)
		sg_reply_printf(r, " seq_off %u ts_off %u mss %u wscale %d/%d%s%s",
		                c->seq_offset, c->ts_offset, c->mss,
		                c->client_ws == 0xf ? -1 : c->client_ws,
		                c->server_ws == 0xf ? -1 : c->server_ws,
		                c->sack ? " sack" : "", c->ts ? " ts" : "");
	sg_reply_printf(r, "\n");
}

void sg_ctl_conns(struct sg_daemon *d, int argc, char **argv, bool json, struct sg_reply *r)
{
	struct sg_conn_info batch[256];
	uint32_t cursor = 1, now_ms = (uint32_t)(sg_clock_mono_ns() / 1000000u);
	unsigned shown = 0, more = 0, torn = 0, n;
	struct filter f;

	if (parse_filter(argc, argv, &f, r))
		return;
	if (!d->proxy) {
		sg_reply_fail(r, 1, "conns: no connection table (synguard runs --bridge-only)");
		return;
	}
	if (json)
		sg_reply_printf(r, "{\"connections\": [");
	while ((n = sg_proxy_conns(d->proxy, &cursor, now_ms, batch, 256, &torn)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			if (!matches(&f, &batch[i]))
				continue;
			if (shown < f.limit)
				print_one(r, &batch[i], json, shown++ == 0);
			else
				more++;
		}
	}
	if (json)
		sg_reply_printf(r, "%s], \"shown\": %u, \"not_shown\": %u, \"limit\": %u}\n",
		                shown ? "\n" : "", shown, more, f.limit);
	else if (more)
		sg_reply_printf(r, "%u more not shown (limit %u; narrow the filter or raise the "
		                "limit)\n", more, f.limit);
	else if (!shown)
		sg_reply_printf(r, "no connection matches\n");
}
