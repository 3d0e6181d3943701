/* synguard.conf (see config.h).  One table describes every option: its
 * path, type, range and place in struct sg_config; parsing, validation,
 * unknown-key detection and printing all walk that table, so an option
 * cannot be parsed but not printed or documented twice differently. */
#include "daemon/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "daemon/ctl.h"
#include "daemon/keyfile.h"
#include "daemon/log.h"

enum opt_type {
	T_UINT, T_BOOL, T_ENUM, T_STRING, T_UINT_LIST,
	T_PREFIX_LIST,             /* [ "192.0.2.0/24", ... ]: struct sg_prefix entries */
	T_RULES,                   /* ( { dst; ports; action; }, ... ): struct sg_policy_rule */
	T_PINS,                    /* ( { dst; port; mss; ... }, ... ): struct sg_learn_pin */
};

struct opt {
	const char *path;
	enum opt_type type;
	long min, max;             /* T_UINT and T_UINT_LIST elements */
	size_t off;                /* into struct sg_config */
	unsigned width;            /* bytes of the integer field: 1, 2, 4; lists: of an entry */
	const char *choices;       /* T_ENUM: "a|b|c", stored as index in an int */
	const char *(*name)(unsigned);  /* T_ENUM without choices: the names, NULL past the last */
	size_t count_off;          /* lists: where the entry count goes (uint8_t or unsigned) */
	unsigned count_width;
	unsigned n_max;
	size_t cap;                /* T_STRING: buffer size */
	bool zero_is_off;          /* T_UINT: 0 is also valid, meaning "off" */
	bool live;                 /* a daemon option a reload changes (the core says
	                              for its own options: sg_config_reload) */
};

#define OFF(f) offsetof(struct sg_config, f)
#define W(f) sizeof(((struct sg_config *)0)->f)
#define UINT(p, f, lo, hi) { .path = p, .type = T_UINT, .min = lo, .max = hi, .off = OFF(f), .width = W(f) }
#define UINT_OR_OFF(p, f, lo, hi) \
	{ .path = p, .type = T_UINT, .min = lo, .max = hi, .off = OFF(f), .width = W(f), .zero_is_off = true }
#define ENUM(p, f, ch)     { .path = p, .type = T_ENUM, .off = OFF(f), .width = W(f), .choices = ch }
#define NAMED(p, f, fn)    { .path = p, .type = T_ENUM, .off = OFF(f), .width = W(f), .name = fn }
#define BOOL(p, f)         { .path = p, .type = T_BOOL, .max = 1, .off = OFF(f), .width = W(f) }
#define STR(p, f)          { .path = p, .type = T_STRING, .off = OFF(f), .cap = W(f) }
#define ARRAY(p, t, f, cnt, n) \
	{ .path = p, .type = t, .off = OFF(f), .width = sizeof(((struct sg_config *)0)->f[0]), \
	  .count_off = OFF(cnt), .count_width = W(cnt), .n_max = n }
#define LIST(p, f, lo, hi, cnt, n) \
	{ .path = p, .type = T_UINT_LIST, .min = lo, .max = hi, .off = OFF(f), \
	  .width = sizeof(((struct sg_config *)0)->f[0]), .count_off = OFF(cnt), .count_width = W(cnt), \
	  .n_max = n }
#define TIMEOUT(p, state) UINT("conntrack.timeouts." p, proxy.ct.timeout_s[state], \
                               SG_CT_MIN_TIMEOUT_S, SG_CT_MAX_TIMEOUT_S)

static const char *action_name(unsigned i)
{
	return sg_policy_action_name((enum sg_policy_action)i);
}

static const struct opt opts[] = {
	UINT("threads", threads, 1, SG_MAX_WORKERS),
	ENUM("io", io, "auto|afxdp|afpacket"),
	LIST("cpus", cpus, 0, 4095, ncpus, SG_CONFIG_MAX_CPUS),
	BOOL("bridge_only", bridge_only),
	ENUM("log.target", log_target, "stderr|syslog"),
	{ .path = "log.level", .type = T_ENUM, .off = OFF(log_level), .width = W(log_level),
	  .choices = "error|warning|notice|info|debug", .live = true },
	STR("control.socket", ctl_socket),
	UINT("conntrack.capacity", proxy.ct.capacity, SG_CT_MIN_CAPACITY, SG_CT_MAX_CAPACITY),
	TIMEOUT("syn_sent", SG_CT_SYN_SENT),
	TIMEOUT("uplink_syn_sent", SG_CT_UP_SYN_SENT),
	TIMEOUT("uplink_syn_recv", SG_CT_UP_SYN_RECV),
	TIMEOUT("established", SG_CT_ESTABLISHED),
	TIMEOUT("fin_wait", SG_CT_FIN_WAIT),
	TIMEOUT("closing", SG_CT_CLOSING),
	TIMEOUT("time_wait", SG_CT_TIME_WAIT),
	TIMEOUT("closed", SG_CT_CLOSED),
	UINT("conntrack.evict_idle_after", proxy.ct.evict_idle_s, 0, SG_CT_MAX_TIMEOUT_S),
	UINT("conntrack.source_share", proxy.source_share, 1, SG_SOURCE_SHARE_MAX),
	UINT("conntrack.source_prefix4", proxy.source_prefix4, 0, 32),
	UINT("conntrack.source_prefix6", proxy.source_prefix6, 0, 128),
	UINT("cookie.period", proxy.cookie_period_s, SG_SECRET_MIN_PERIOD_S, SG_SECRET_MAX_PERIOD_S),
	STR("cookie.key_file", key_file),
	LIST("cookie.isn_mss4", proxy.cookie.isn_mss[0], SG_TCP_MSS4_MIN, UINT16_MAX,
	     proxy.cookie.isn_mss_n[0], SG_COOKIE_ISN_MSS_MAX),
	LIST("cookie.isn_mss6", proxy.cookie.isn_mss[1], SG_TCP_MSS6_MIN, UINT16_MAX,
	     proxy.cookie.isn_mss_n[1], SG_COOKIE_ISN_MSS_MAX),
	LIST("cookie.ts_mss4", proxy.cookie.ts_mss[0], SG_TCP_MSS4_MIN, UINT16_MAX,
	     proxy.cookie.ts_mss_n[0], SG_COOKIE_TS_MSS_MAX),
	LIST("cookie.ts_mss6", proxy.cookie.ts_mss[1], SG_TCP_MSS6_MIN, UINT16_MAX,
	     proxy.cookie.ts_mss_n[1], SG_COOKIE_TS_MSS_MAX),
	UINT("synack.mss4", proxy.synack_mss4, SG_TCP_MSS4_MIN, SG_SYNACK_MSS4_MAX),
	UINT("synack.mss6", proxy.synack_mss6, SG_TCP_MSS6_MIN, SG_SYNACK_MSS6_MAX),
	UINT("synack.wscale", proxy.synack_wscale, 0, SG_TCP_WSCALE_MAX),
	ENUM("policy.bad_frames", proxy.bad_frame_policy, "drop|forward"),
	ENUM("policy.unknown", proxy.unknown_policy, "drop|forward"),
	ENUM("policy.signed_syn", proxy.signed_syn_policy, "track|drop"),
	UINT("policy.rst_slack", proxy.rst_slack, 0, UINT16_MAX),
	ARRAY("policy.deny", T_PREFIX_LIST, proxy.policy.deny, proxy.policy.ndeny,
	      SG_POLICY_PREFIXES_MAX),
	ARRAY("policy.allow", T_PREFIX_LIST, proxy.policy.allow, proxy.policy.nallow,
	      SG_POLICY_PREFIXES_MAX),
	ARRAY("policy.rules", T_RULES, proxy.policy.rule, proxy.policy.nrules, SG_POLICY_RULES_MAX),
	NAMED("policy.default", proxy.policy.default_action, action_name),
	BOOL("monitor", proxy.monitor),
	UINT_OR_OFF("uplink_mss_clamp", proxy.uplink_mss_clamp, SG_TCP_MSS4_MIN, UINT16_MAX),
	BOOL("ratelimit.enabled", proxy.ratelimit_on),
	UINT("ratelimit.rate", proxy.ratelimit.rate, 1, SG_RATELIMIT_RATE_MAX),
	UINT("ratelimit.burst", proxy.ratelimit.burst, 1, SG_RATELIMIT_BURST_MAX),
	UINT("ratelimit.prefix4", proxy.ratelimit.prefix4, 0, 32),
	UINT("ratelimit.prefix6", proxy.ratelimit.prefix6, 0, 128),
	UINT("ratelimit.entries", proxy.ratelimit.entries, SG_RATELIMIT_ENTRIES_MIN,
	     SG_RATELIMIT_ENTRIES_MAX),
	UINT("syncache.entries", proxy.halfopen.entries, SG_HALFOPEN_MIN_ENTRIES,
	     SG_HALFOPEN_MAX_ENTRIES),
	UINT("syncache.max_syn_rate", proxy.halfopen.max_syn_rate, 0, SG_HALFOPEN_MAX_SYN_RATE),
	UINT("syncache.max_fill", proxy.halfopen.max_fill_pct, 1, 100),
	UINT("syncache.timeout", proxy.halfopen.timeout_s, SG_HALFOPEN_MIN_TIMEOUT_S,
	     SG_HALFOPEN_MAX_TIMEOUT_S),
	UINT("learn.entries", proxy.learn.entries, SG_LEARN_MIN_ENTRIES, SG_LEARN_MAX_ENTRIES),
	UINT("learn.ttl", proxy.learn.ttl_s, SG_LEARN_MIN_TTL_S, SG_LEARN_MAX_TTL_S),
	{ .path = "learn.pins", .type = T_PINS, .off = OFF(pins), .width = sizeof(struct sg_learn_pin),
	  .count_off = OFF(npins), .count_width = W(npins), .n_max = SG_LEARN_PINS_MAX, .live = true },
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

void sg_config_default(struct sg_config *c)
{
	memset(c, 0, sizeof(*c));
	c->threads = 1;
	c->io = 0;          /* "auto", the first of the io option's choices */
	c->log_target = SG_LOG_STDERR;
	c->log_level = 3;   /* index of "info" in log.level's choices */
	strcpy(c->ctl_socket, SG_CTL_DEFAULT_SOCKET);
	sg_proxy_config_default(&c->proxy);
}

static void put_uint(void *p, unsigned width, unsigned long v)
{
	switch (width) {
	case 1: *(uint8_t *)p = (uint8_t)v; break;
	case 2: *(uint16_t *)p = (uint16_t)v; break;
	default: *(uint32_t *)p = (uint32_t)v; break;
	}
}

static unsigned long get_uint(const void *p, unsigned width)
{
	switch (width) {
	case 1: return *(const uint8_t *)p;
	case 2: return *(const uint16_t *)p;
	default: return *(const uint32_t *)p;
	}
}

/* Index of word in "a|b|c", or -1. */
static int choice_index(const char *choices, const char *word)
{
	size_t n = strlen(word);
	int i = 0;

	for (const char *p = choices; *p; i++) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && strncmp(p, word, n) == 0)
			return i;
		if (!bar)
			break;
		p = bar + 1;
	}
	return -1;
}

static void choice_name(const char *choices, int idx, char *out, size_t cap)
{
	const char *p = choices;

	for (int i = 0; i < idx && p; i++) {
		p = strchr(p, '|');
		if (p)
			p++;
	}
	if (!p) {
		snprintf(out, cap, "?");
		return;
	}
	snprintf(out, cap, "%.*s", (int)(strchr(p, '|') ? (size_t)(strchr(p, '|') - p) : strlen(p)), p);
}

/* An enum option's names come from its choices or from the module that
 * owns the values (policy actions: sg_policy_action_name). */
static int opt_index(const struct opt *o, const char *word)
{
	if (!o->name)
		return choice_index(o->choices, word);
	for (unsigned i = 0; o->name(i); i++)
		if (strcmp(o->name(i), word) == 0)
			return (int)i;
	return -1;
}

static void opt_name(const struct opt *o, int idx, char *out, size_t cap)
{
	if (!o->name)
		choice_name(o->choices, idx, out, cap);
	else
		snprintf(out, cap, "%s", idx >= 0 && o->name((unsigned)idx) ? o->name((unsigned)idx) : "?");
}

/* "a|b|c", for messages. */
static const char *opt_choices(const struct opt *o, char *buf, size_t cap)
{
	size_t len = 0;

	if (!o->name)
		return o->choices;
	buf[0] = 0;
	for (unsigned i = 0; o->name(i) && len < cap; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? "|" : "", o->name(i));
	return buf;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -EINVAL; } while (0)

/* Each kind of mistake has one wording, for the file and the command line
 * alike; `who` names the setting: "FILE:LINE: path" or "--flag". */
static int check_uint(const struct opt *o, const char *who, long long v, char *err, size_t errlen)
{
	if (o->zero_is_off && v == 0)
		return 0;
	if ((v < o->min || v > o->max) && o->zero_is_off)
		FAIL("%s: must be 0 (off) or %ld..%ld, not %lld", who, o->min, o->max, v);
	if (v < o->min || v > o->max)
		FAIL("%s: %lld is out of range %ld..%ld", who, v, o->min, o->max);
	return 0;
}

static int check_entry(const struct opt *o, const char *who, unsigned i, long long v,
                       char *err, size_t errlen)
{
	if (v < o->min || v > o->max)
		FAIL("%s: entry %u (%lld) is out of range %ld..%ld", who, i + 1, v, o->min, o->max);
	return 0;
}

/* Integer lists need an entry (no value means nothing); the lists of
 * prefixes, rules and pins may be empty. */
static unsigned list_min(const struct opt *o)
{
	return o->type == T_UINT_LIST ? 1 : 0;
}

static int check_count(const struct opt *o, const char *who, unsigned long n, char *err, size_t errlen)
{
	if (n < list_min(o) || n > o->n_max)
		FAIL("%s: must have %u..%u entries, has %lu", who, list_min(o), o->n_max, n);
	return 0;
}

static int set_choice(const struct opt *o, const char *who, const char *v, uint8_t *dst,
                      char *err, size_t errlen)
{
	int idx = opt_index(o, v);
	char names[64];

	if (idx < 0)
		FAIL("%s: \"%s\" is not one of %s", who, v, opt_choices(o, names, sizeof(names)));
	put_uint(dst, o->width, (unsigned long)idx);
	return 0;
}

static int set_string(const struct opt *o, const char *who, const char *v, uint8_t *dst,
                      char *err, size_t errlen)
{
	if (strlen(v) >= o->cap)
		FAIL("%s: longer than %zu characters", who, o->cap - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* Is `path` an option, or a group some option lives in? */
static const struct opt *find_opt(const char *path)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strcmp(opts[i].path, path) == 0)
			return &opts[i];
	return NULL;
}

static bool is_group_prefix(const char *path)
{
	size_t n = strlen(path);

	for (size_t i = 0; i < NOPTS; i++)
		if (strncmp(opts[i].path, path, n) == 0 && opts[i].path[n] == '.')
			return true;
	return false;
}

/* Decimal digits and nothing else before *end: strtoull alone would take
 * " 2", "+2" and "-1" (as 2^64 - 1). */
static int parse_decimal(const char *s, char **end, unsigned long long *v)
{
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, end, 10);
	return errno == ERANGE ? -ERANGE : 0;
}

/* ---- lists of prefixes, policy rules and learn pins ----
 * Each entry is checked as it is read and the message names the entry by
 * its number (from 1) and quotes its text. */

#define PREFIX_LIKE "a prefix like \"192.0.2.0/24\" or \"2001:db8::/32\" (no bits set past the length)"

static int set_prefix(const struct opt *o, config_setting_t *e, const char *who, int i,
                      struct sg_prefix *p, char *err, size_t errlen)
{
	const char *s = config_setting_get_string(e);

	(void)o;
	if (!s)
		FAIL("%s: entry %d must be a string, " PREFIX_LIKE, who, i + 1);
	if (sg_prefix_parse(s, p))
		FAIL("%s: entry %d (\"%s\") is not " PREFIX_LIKE, who, i + 1, s);
	return 0;
}

/* Every member of group entry e is one of `names` ("a|b|c"). */
static int check_members(config_setting_t *e, const char *names, const char *who, int i,
                         char *err, size_t errlen)
{
	if (config_setting_type(e) != CONFIG_TYPE_GROUP)
		FAIL("%s: entry %d must be a group { %s }", who, i + 1, names);
	for (int k = 0; k < config_setting_length(e); k++) {
		const char *n = config_setting_name(config_setting_get_elem(e, (unsigned)k));

		if (choice_index(names, n) < 0)
			FAIL("%s: entry %d: unknown field '%s' (%s)", who, i + 1, n, names);
	}
	return 0;
}

static int entry_dst(config_setting_t *e, const char *who, int i, struct sg_prefix *p,
                     char *err, size_t errlen)
{
	config_setting_t *m = config_setting_get_member(e, "dst");
	const char *s = m ? config_setting_get_string(m) : NULL;

	if (!m)
		FAIL("%s: entry %d: dst is missing", who, i + 1);
	if (!s || sg_prefix_parse(s, p))
		FAIL("%s: entry %d: dst (\"%s\") is not " PREFIX_LIKE, who, i + 1, s ? s : "?");
	return 0;
}

/* 1 and *v when member `name` of e is there, 0 when it is not. */
static int entry_uint(config_setting_t *e, const char *name, long lo, long hi, const char *who,
                      int i, long long *v, char *err, size_t errlen)
{
	config_setting_t *m = config_setting_get_member(e, name);

	if (!m)
		return 0;
	if (config_setting_type(m) != CONFIG_TYPE_INT && config_setting_type(m) != CONFIG_TYPE_INT64)
		FAIL("%s: entry %d: %s must be an integer in %ld..%ld", who, i + 1, name, lo, hi);
	*v = config_setting_get_int64(m);
	if (*v < lo || *v > hi)
		FAIL("%s: entry %d: %s %lld is out of range %ld..%ld", who, i + 1, name, *v, lo, hi);
	return 1;
}

static int entry_bool(config_setting_t *e, const char *name, const char *who, int i, bool *v,
                      char *err, size_t errlen)
{
	config_setting_t *m = config_setting_get_member(e, name);

	if (!m)
		return 0;
	if (config_setting_type(m) != CONFIG_TYPE_BOOL)
		FAIL("%s: entry %d: %s must be true or false", who, i + 1, name);
	*v = config_setting_get_bool(m);
	return 1;
}

/* "N" or "N-M", N <= M, in 0..65535. */
static int parse_ports(const char *s, uint16_t *lo, uint16_t *hi)
{
	unsigned long long a, b;
	char *end;

	if (parse_decimal(s, &end, &a))
		return -EINVAL;
	b = a;
	if (*end == '-' && parse_decimal(end + 1, &end, &b))
		return -EINVAL;
	if (*end || a > b || b > UINT16_MAX)
		return -EINVAL;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

static int set_rule(const struct opt *o, config_setting_t *e, const char *who, int i,
                    struct sg_policy_rule *r, char *err, size_t errlen)
{
	const struct opt *def = find_opt("policy.default");   /* the action names */
	const char *ports = NULL, *action = NULL;
	char names[64];
	int a, rc = check_members(e, "dst|ports|action", who, i, err, errlen);

	(void)o;
	memset(r, 0, sizeof(*r));
	if (!rc)
		rc = entry_dst(e, who, i, &r->dst, err, errlen);
	if (rc)
		return rc;
	r->port_hi = UINT16_MAX;    /* no ports: any */
	if (config_setting_get_member(e, "ports") &&
	    (!config_setting_lookup_string(e, "ports", &ports) ||
	     parse_ports(ports, &r->port_lo, &r->port_hi)))
		FAIL("%s: entry %d: ports (\"%s\") must be a string \"N\" or \"N-M\", N <= M, in 0..%u",
		     who, i + 1, ports ? ports : "?", UINT16_MAX);
	config_setting_lookup_string(e, "action", &action);
	a = action ? opt_index(def, action) : -1;
	if (a < 0)
		FAIL("%s: entry %d: action (\"%s\") must be one of %s", who, i + 1,
		     action ? action : "missing", opt_choices(def, names, sizeof(names)));
	r->action = (enum sg_policy_action)a;
	return 0;
}

/* Reads the pinned fields; a field left out is not pinned. */
static int pin_fields(config_setting_t *e, const char *who, int i, struct sg_learn_pin *p,
                      char *err, size_t errlen)
{
	struct sg_learned *l = &p->opts;
	long long v;
	int rc;

	rc = entry_uint(e, "port", 0, UINT16_MAX, who, i, &v, err, errlen);
	if (rc < 0)
		return rc;
	p->port = rc ? (uint16_t)v : 0;
	rc = entry_uint(e, "mss", p->family == 4 ? SG_TCP_MSS4_MIN : SG_TCP_MSS6_MIN, UINT16_MAX,
	                who, i, &v, err, errlen);
	if (rc < 0)
		return rc;
	l->mss = rc ? (uint16_t)v : 0;
	l->known |= rc ? SG_LEARN_MSS : 0;
	rc = entry_uint(e, "wscale", 0, SG_LEARN_WS_NONE, who, i, &v, err, errlen);
	if (rc < 0)
		return rc;
	l->ws = rc ? (uint8_t)v : 0;
	l->known |= rc ? SG_LEARN_WS : 0;
	rc = entry_bool(e, "sack", who, i, &l->sack, err, errlen);
	if (rc < 0)
		return rc;
	l->known |= rc ? SG_LEARN_SACK : 0;
	rc = entry_bool(e, "timestamps", who, i, &l->ts, err, errlen);
	if (rc < 0)
		return rc;
	l->known |= rc ? SG_LEARN_TS : 0;
	return 0;
}

static int set_pin(const struct opt *o, config_setting_t *e, const char *who, int i,
                   struct sg_learn_pin *p, char *err, size_t errlen)
{
	const struct sg_learn_pin *first = p - i;
	struct sg_prefix dst;
	int rc = check_members(e, "dst|port|mss|wscale|sack|timestamps", who, i, err, errlen);

	(void)o;
	if (!rc)
		rc = entry_dst(e, who, i, &dst, err, errlen);
	if (rc)
		return rc;
	memset(p, 0, sizeof(*p));
	p->family = dst.family;
	p->plen = dst.len;
	memcpy(p->addr, dst.addr, sizeof(p->addr));
	rc = pin_fields(e, who, i, p, err, errlen);
	if (rc)
		return rc;
	if (!p->opts.known)
		FAIL("%s: entry %d pins nothing: give mss, wscale, sack or timestamps", who, i + 1);
	/* sg_learn_set_pins refuses two pins for one place: say which. */
	for (int k = 0; k < i; k++)
		if (first[k].family == p->family && first[k].plen == p->plen && first[k].port == p->port &&
		    !memcmp(first[k].addr, p->addr, sizeof(p->addr)))
			FAIL("%s: entry %d pins the same dst and port as entry %d", who, i + 1, k + 1);
	return 0;
}

static int set_entry(const struct opt *o, config_setting_t *e, const char *who, int i,
                     uint8_t *dst, char *err, size_t errlen)
{
	switch (o->type) {
	case T_PREFIX_LIST:
		return set_prefix(o, e, who, i, (struct sg_prefix *)dst, err, errlen);
	case T_RULES:
		return set_rule(o, e, who, i, (struct sg_policy_rule *)dst, err, errlen);
	default:
		return set_pin(o, e, who, i, (struct sg_learn_pin *)dst, err, errlen);
	}
}

static int set_entries(const struct opt *o, config_setting_t *s, struct sg_config *c,
                       const char *who, char *err, size_t errlen)
{
	int n = config_setting_length(s), rc;

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
		FAIL("%s: must be a list %s", who, o->type == T_PREFIX_LIST ? "[ \"prefix\", ... ]" :
		                                   "( { ... }, ... )");
	rc = check_count(o, who, (unsigned long)n, err, errlen);
	for (int i = 0; !rc && i < n; i++)
		rc = set_entry(o, config_setting_get_elem(s, (unsigned)i), who, i,
		               (uint8_t *)c + o->off + (size_t)i * o->width, err, errlen);
	if (rc)
		return rc;
	put_uint((uint8_t *)c + o->count_off, o->count_width, (unsigned long)n);
	return 0;
}

static int set_one(const struct opt *o, config_setting_t *s, struct sg_config *c,
                   const char *file, char *err, size_t errlen)
{
	uint8_t *dst = (uint8_t *)c + o->off;
	char who[PATH_MAX + 128], names[64];
	int rc;

	snprintf(who, sizeof(who), "%s:%d: %s", file, config_setting_source_line(s), o->path);
	switch (o->type) {
	case T_PREFIX_LIST:
	case T_RULES:
	case T_PINS:
		return set_entries(o, s, c, who, err, errlen);
	case T_UINT: {
		long long v;

		if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
			FAIL("%s: must be an integer in %ld..%ld", who, o->min, o->max);
		v = config_setting_get_int64(s);
		rc = check_uint(o, who, v, err, errlen);
		if (rc)
			return rc;
		put_uint(dst, o->width, (unsigned long)v);
		return 0;
	}
	case T_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			FAIL("%s: must be true or false", who);
		*(bool *)dst = config_setting_get_bool(s);
		return 0;
	case T_ENUM:
		if (!config_setting_get_string(s))
			FAIL("%s: must be a string, one of %s", who, opt_choices(o, names, sizeof(names)));
		return set_choice(o, who, config_setting_get_string(s), dst, err, errlen);
	case T_STRING:
		if (!config_setting_get_string(s))
			FAIL("%s: must be a string", who);
		return set_string(o, who, config_setting_get_string(s), dst, err, errlen);
	case T_UINT_LIST: {
		int n = config_setting_length(s);

		if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
			FAIL("%s: must be a list of integers [a, b, ...]", who);
		rc = check_count(o, who, (unsigned long)n, err, errlen);
		if (rc)
			return rc;
		for (int i = 0; i < n; i++) {
			config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			long long v;

			if (config_setting_type(e) != CONFIG_TYPE_INT && config_setting_type(e) != CONFIG_TYPE_INT64)
				FAIL("%s: entry %d must be an integer", who, i + 1);
			v = config_setting_get_int64(e);
			rc = check_entry(o, who, (unsigned)i, v, err, errlen);
			if (rc)
				return rc;
			put_uint(dst + (size_t)i * o->width, o->width, (unsigned long)v);
		}
		put_uint((uint8_t *)c + o->count_off, o->count_width, (unsigned long)n);
		return 0;
	}
	}
	return 0;
}

static int set_uint_text(const struct opt *o, const char *who, const char *text,
                         uint8_t *dst, char *err, size_t errlen)
{
	unsigned long long v;
	char *end;
	int rc = parse_decimal(text, &end, &v);

	if (rc == -ERANGE)
		FAIL("%s: %s is out of range %ld..%ld", who, text, o->min, o->max);
	if (rc || *end)
		FAIL("%s: \"%s\" is not an integer in %ld..%ld", who, text, o->min, o->max);
	rc = check_uint(o, who, v > LLONG_MAX ? LLONG_MAX : (long long)v, err, errlen);
	if (rc)
		return rc;
	put_uint(dst, o->width, (unsigned long)v);
	return 0;
}

/* Entries a list option may have at most (cpus has the most). */
#define LIST_MAX 64
_Static_assert(SG_CONFIG_MAX_CPUS <= LIST_MAX && SG_COOKIE_ISN_MSS_MAX <= LIST_MAX &&
               SG_COOKIE_TS_MSS_MAX <= LIST_MAX, "LIST_MAX bounds every list option");

/* "1,3,5-7": entries and ascending ranges.  Checked whole before anything
 * is stored, so a refused list leaves the option as it was. */
static int set_list_text(const struct opt *o, const char *who, const char *text,
                         struct sg_config *c, char *err, size_t errlen)
{
	unsigned long long vals[LIST_MAX];
	unsigned long n = 0;
	const char *s = text;
	int rc;

	for (;;) {
		unsigned long long a, b, span;
		char *end;

		if (parse_decimal(s, &end, &a) == -EINVAL)
			goto syntax;
		b = a;
		if (*end == '-' && parse_decimal(end + 1, &end, &b) == -EINVAL)
			goto syntax;
		if (b < a)
			FAIL("%s: %llu-%llu is not an ascending range", who, a, b);
		/* In range at both ends, so in range throughout. */
		span = b - a + 1;
		rc = check_entry(o, who, (unsigned)n, a > LLONG_MAX ? LLONG_MAX : (long long)a, err, errlen);
		if (!rc)
			rc = check_entry(o, who, (unsigned)(n + span - 1),
			                 b > LLONG_MAX ? LLONG_MAX : (long long)b, err, errlen);
		if (rc)
			return rc;
		for (unsigned long long k = 0; k < span && n + k < o->n_max; k++)
			vals[n + k] = a + k;
		n += (unsigned long)span;
		if (*end == 0)
			break;
		if (*end != ',')
			goto syntax;
		s = end + 1;
	}
	rc = check_count(o, who, n, err, errlen);
	if (rc)
		return rc;
	for (unsigned long i = 0; i < n; i++)
		put_uint((uint8_t *)c + o->off + i * o->width, o->width, (unsigned long)vals[i]);
	put_uint((uint8_t *)c + o->count_off, o->count_width, n);
	return 0;
syntax:
	FAIL("%s: \"%s\" is not a list like 1,3,5-7 of integers in %ld..%ld", who, text, o->min, o->max);
}

int sg_config_set(struct sg_config *c, const char *path, const char *text,
                  const char *who, char *err, size_t errlen)
{
	const struct opt *o = find_opt(path);
	uint8_t *dst;

	if (!o) {
		snprintf(err, errlen, "%s: unknown option '%s' (see synguard.conf(5))",
		         who ? who : path, path);
		return -ENOENT;
	}
	who = who ? who : o->path;
	dst = (uint8_t *)c + o->off;
	switch (o->type) {
	case T_UINT:
		return set_uint_text(o, who, text, dst, err, errlen);
	case T_BOOL:
		if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0)
			FAIL("%s: \"%s\" is not true or false", who, text);
		*(bool *)dst = strcmp(text, "true") == 0;
		return 0;
	case T_ENUM:
		return set_choice(o, who, text, dst, err, errlen);
	case T_STRING:
		return set_string(o, who, text, dst, err, errlen);
	case T_UINT_LIST:
		return set_list_text(o, who, text, c, err, errlen);
	case T_PREFIX_LIST:
	case T_RULES:
	case T_PINS:
		FAIL("%s: can be set in the configuration file only", who);
	}
	return -EINVAL;
}

static int walk(config_setting_t *g, const char *prefix, struct sg_config *c,
                const char *file, char *err, size_t errlen)
{
	int n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		char path[256];
		const struct opt *o;

		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", config_setting_name(s));
		int rc;

		o = find_opt(path);
		if (o) {
			rc = set_one(o, s, c, file, err, errlen);
			if (rc)
				return rc;
		} else if (config_setting_type(s) == CONFIG_TYPE_GROUP && is_group_prefix(path)) {
			rc = walk(s, path, c, file, err, errlen);
			if (rc)
				return rc;
		} else {
			FAIL("%s:%d: unknown option '%s' (see synguard.conf(5))", file,
			     config_setting_source_line(s), path);
		}
	}
	return 0;
}

static bool is_list(const struct opt *o)
{
	return o->type >= T_UINT_LIST;
}

/* Bytes the option's field takes in struct sg_config. */
static size_t opt_size(const struct opt *o)
{
	return is_list(o) ? (size_t)o->width * o->n_max : o->type == T_STRING ? o->cap : o->width;
}

/* The option whose field holds byte `off` of struct sg_config. */
static const struct opt *opt_at(size_t off)
{
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];

		if (off >= o->off && off < o->off + opt_size(o))
			return &opts[i];
	}
	return NULL;
}

int sg_config_explain(const struct sg_config *c, const struct sg_cfg_fault *fault, char *err,
                      size_t errlen)
{
	struct sg_cfg_fault why = *fault;
	const struct opt *o;
	char names[64];

	o = why.off == SG_CFG_WORKERS ? find_opt("threads") : opt_at(OFF(proxy) + why.off);
	if (!o && why.off != SG_CFG_WORKERS) {
		/* A count is not inside the entries it counts. */
		for (size_t i = 0; i < NOPTS && !o; i++)
			if (is_list(&opts[i]) && opts[i].count_off == OFF(proxy) + why.off)
				o = &opts[i];
	}
	if (!o)
		FAIL("the configuration is invalid (no option holds the faulty field)");
	switch (why.rule) {
	case SG_CFG_RESTART:
		FAIL("%s: changes only with a restart", o->path);
	case SG_CFG_COUNT:
		FAIL("%s: must have %u..%u entries", o->path, list_min(o), o->n_max);
	case SG_CFG_ORDER:
		FAIL("%s: entries must be strictly ascending", o->path);
	case SG_CFG_PER_WORKER:
		FAIL("%s: %lu entries are too few for %u threads: each thread's share must be at least %u",
		     o->path, get_uint((const uint8_t *)c + o->off, o->width), c->threads,
		     SG_CT_MIN_CAPACITY / 2);
	case SG_CFG_RANGE:
	default:
		if (o->type == T_ENUM)
			FAIL("%s: must be one of %s", o->path, opt_choices(o, names, sizeof(names)));
		if (is_list(o) && o->type != T_UINT_LIST)
			FAIL("%s: entry %zu is invalid", o->path,
			     (OFF(proxy) + why.off - o->off) / o->width + 1);
		FAIL("%s: %s must be %s%ld..%ld", o->path, o->type == T_UINT_LIST ? "every entry" : "the value",
		     o->zero_is_off ? "0 (off) or " : "", o->min, o->max);
	}
}

int sg_config_check(const struct sg_config *c, char *err, size_t errlen)
{
	struct sg_cfg_fault why;

	if (!sg_proxy_config_check(&c->proxy, c->threads, &why))
		return 0;
	return sg_config_explain(c, &why, err, errlen);
}

int sg_config_load(const char *path, struct sg_config *c, char *err, size_t errlen)
{
	config_t cf;
	char why[256];
	int rc;

	config_init(&cf);
	if (!config_read_file(&cf, path)) {
		rc = -EINVAL;
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO) {
			snprintf(err, errlen, "%s: cannot read the file", path);
			rc = -EIO;
		} else {
			snprintf(err, errlen, "%s:%d: syntax error: %s", path, config_error_line(&cf),
			         config_error_text(&cf));
		}
		config_destroy(&cf);
		return rc;
	}
	rc = walk(config_root_setting(&cf), "", c, path, err, errlen);
	config_destroy(&cf);
	if (rc)
		return rc;
	/* The core takes the allow and deny lists as sets, sorted. */
	sg_policy_normalize(&c->proxy.policy);
	rc = sg_config_check(c, why, sizeof(why));
	if (rc)
		snprintf(err, errlen, "%s: %s", path, why);
	return rc;
}

int sg_config_io_kind(const struct sg_config *c, enum sg_io_kind *k)
{
	char name[32];

	for (size_t i = 0; i < NOPTS; i++) {
		if (opts[i].off == OFF(io)) {
			choice_name(opts[i].choices, c->io, name, sizeof(name));
			return sg_io_kind_parse(name, k);
		}
	}
	return -EINVAL;
}

int sg_config_to_proxy(const struct sg_config *c, struct sg_proxy_config *out,
                       struct sg_config_secrets *sec, char *err, size_t errlen)
{
	*out = c->proxy;
	out->shared_key = NULL;
	if (getrandom(sec->seed, sizeof(sec->seed), 0) != (ssize_t)sizeof(sec->seed))
		FAIL("cannot draw random bytes (getrandom): %s", strerror(errno));
	out->seed = sec->seed;
	if (c->key_file[0]) {
		if (sg_keyfile_load(c->key_file, sec->key, err, errlen))
			return -1;
		out->shared_key = sec->key;
	}
	return 0;
}

static void print_prefix(FILE *f, uint8_t family, uint8_t len, const uint8_t *addr)
{
	char text[INET6_ADDRSTRLEN];

	inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, text, sizeof(text));
	fprintf(f, "\"%s/%u\"", text, len);
}

static void print_rule(FILE *f, const struct sg_policy_rule *r)
{
	fprintf(f, "{ dst = ");
	print_prefix(f, r->dst.family, r->dst.len, r->dst.addr);
	if (r->port_lo != 0 || r->port_hi != UINT16_MAX) {
		fprintf(f, "; ports = \"%u", r->port_lo);
		if (r->port_hi != r->port_lo)
			fprintf(f, "-%u", r->port_hi);
		fprintf(f, "\"");
	}
	fprintf(f, "; action = \"%s\"; }", sg_policy_action_name(r->action));
}

static void print_pin(FILE *f, const struct sg_learn_pin *p)
{
	const struct sg_learned *l = &p->opts;

	fprintf(f, "{ dst = ");
	print_prefix(f, p->family, p->plen, p->addr);
	if (p->port)
		fprintf(f, "; port = %u", p->port);
	if (l->known & SG_LEARN_MSS)
		fprintf(f, "; mss = %u", l->mss);
	if (l->known & SG_LEARN_WS)
		fprintf(f, "; wscale = %u", l->ws);
	if (l->known & SG_LEARN_SACK)
		fprintf(f, "; sack = %s", l->sack ? "true" : "false");
	if (l->known & SG_LEARN_TS)
		fprintf(f, "; timestamps = %s", l->ts ? "true" : "false");
	fprintf(f, "; }");
}

static void print_list(const struct sg_config *c, const struct opt *o, FILE *f)
{
	const uint8_t *src = (const uint8_t *)c + o->off;
	unsigned long n = get_uint((const uint8_t *)c + o->count_off, o->count_width);
	bool groups = o->type == T_RULES || o->type == T_PINS;

	fprintf(f, "%s", groups ? "(" : "[");
	for (unsigned long k = 0; k < n; k++) {
		const uint8_t *e = src + k * o->width;

		fprintf(f, "%s%s", k ? "," : "", groups ? "\n    " : k ? " " : "");
		if (o->type == T_UINT_LIST)
			fprintf(f, "%lu", get_uint(e, o->width));
		else if (o->type == T_PREFIX_LIST)
			print_prefix(f, ((const struct sg_prefix *)e)->family,
			             ((const struct sg_prefix *)e)->len, ((const struct sg_prefix *)e)->addr);
		else if (o->type == T_RULES)
			print_rule(f, (const struct sg_policy_rule *)e);
		else
			print_pin(f, (const struct sg_learn_pin *)e);
	}
	fprintf(f, "%s", groups ? (n ? "\n  )" : ")") : "]");
}

static void print_value(const struct sg_config *c, const struct opt *o, FILE *f)
{
	const uint8_t *src = (const uint8_t *)c + o->off;
	char v[32];

	switch (o->type) {
	case T_UINT:
		fprintf(f, "%lu", get_uint(src, o->width));
		break;
	case T_BOOL:
		fprintf(f, "%s", *(const bool *)src ? "true" : "false");
		break;
	case T_ENUM:
		opt_name(o, (int)get_uint(src, o->width), v, sizeof(v));
		fprintf(f, "\"%s\"", v);
		break;
	case T_STRING:
		fprintf(f, "\"%s\"", (const char *)src);
		break;
	default:
		print_list(c, o, f);
		break;
	}
}

/* The options under `prefix` (a group's path and its dot, or ""), each
 * group once, where its first option is in the table. */
static void print_group(const struct sg_config *c, const char *prefix, int depth, FILE *f)
{
	size_t plen = strlen(prefix);

	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];
		const char *rest = o->path + plen, *dot;
		char sub[128];
		bool seen = false;

		if (strncmp(o->path, prefix, plen) != 0)
			continue;
		dot = strchr(rest, '.');
		if (!dot) {
			/* A list with no entry means "none" (cpus): an empty list
			 * would not load back. */
			if (o->type == T_UINT_LIST && !get_uint((const uint8_t *)c + o->count_off, o->count_width))
				continue;
			fprintf(f, "%*s%s = ", depth * 2, "", rest);
			print_value(c, o, f);
			fprintf(f, ";\n");
			continue;
		}
		snprintf(sub, sizeof(sub), "%.*s", (int)(dot + 1 - o->path), o->path);
		for (size_t k = 0; k < i && !seen; k++)
			seen = strncmp(opts[k].path, sub, strlen(sub)) == 0;
		if (seen)
			continue;
		fprintf(f, "%*s%.*s = {\n", depth * 2, "", (int)(dot - rest), rest);
		print_group(c, sub, depth + 1, f);
		fprintf(f, "%*s};\n", depth * 2, "");
	}
}

void sg_config_print(const struct sg_config *c, FILE *f)
{
	print_group(c, "", 0, f);
}

static bool opt_differs(const struct opt *o, const struct sg_config *a, const struct sg_config *b)
{
	const uint8_t *pa = (const uint8_t *)a + o->off, *pb = (const uint8_t *)b + o->off;
	unsigned long n;

	if (o->type == T_STRING)
		return strcmp((const char *)pa, (const char *)pb) != 0;
	if (!is_list(o))
		return get_uint(pa, o->width) != get_uint(pb, o->width);
	n = get_uint((const uint8_t *)a + o->count_off, o->count_width);
	return n != get_uint((const uint8_t *)b + o->count_off, o->count_width) ||
	       memcmp(pa, pb, n * o->width) != 0;
}

static void opt_copy(const struct opt *o, struct sg_config *dst, const struct sg_config *src)
{
	memcpy((uint8_t *)dst + o->off, (const uint8_t *)src + o->off, opt_size(o));
	if (is_list(o))
		memcpy((uint8_t *)dst + o->count_off, (const uint8_t *)src + o->count_off, o->count_width);
}

static bool is_proxy_opt(const struct opt *o)
{
	return o->off >= OFF(proxy) && o->off < OFF(proxy) + W(proxy);
}

int sg_config_reload(const struct sg_config *run, struct sg_config *next, sg_config_apply_fn apply,
                     sg_config_restart_fn restart, void *ctx, struct sg_cfg_fault *why)
{
	int rc = -EINVAL;

	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];

		if (is_proxy_opt(o) || o->live || !opt_differs(o, run, next))
			continue;
		restart(ctx, o->path);
		opt_copy(o, next, run);
	}
	/* Each pass puts back one option the core refused, so it ends. */
	for (size_t pass = 0; pass <= NOPTS; pass++) {
		const struct opt *o;

		rc = apply(ctx, &next->proxy, why);
		if (rc != -EINVAL || why->rule != SG_CFG_RESTART)
			return rc;
		o = opt_at(OFF(proxy) + why->off);
		if (!o || !opt_differs(o, run, next))
			return rc;    /* nothing to put back: not ours to fix */
		restart(ctx, o->path);
		opt_copy(o, next, run);
	}
	return rc;
}
