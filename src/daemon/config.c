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

#include "daemon/config_lists.h"
#include "daemon/ctl.h"
#include "daemon/hostport.h"
#include "daemon/events.h"
#include "daemon/keyfile.h"
#include "daemon/log.h"

enum opt_type {
	T_UINT, T_BOOL, T_ENUM, T_STRING, T_UINT_LIST,
	T_PREFIX_LIST,             /* [ "192.0.2.0/24", ... ]: struct sg_prefix entries */
	T_RULES,                   /* ( { dst; ports; action; }, ... ): struct sg_policy_rule */
	T_PINS,                    /* ( { dst; port; mss; ... }, ... ): struct sg_learn_pin */
};
/* The list types, read and printed by config_lists.c, in its order. */
_Static_assert(T_PREFIX_LIST - T_UINT_LIST == SG_LIST_PREFIX && T_RULES - T_UINT_LIST == SG_LIST_RULE &&
               T_PINS - T_UINT_LIST == SG_LIST_PIN, "enum opt_type's lists match enum sg_cfg_list_kind");

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
	/* T_STRING: 0, or -1 and what is wrong with a non-empty value in why */
	int (*check)(const char *v, char *why, size_t whylen);
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
#define STR_CHECKED(p, f, fn) { .path = p, .type = T_STRING, .off = OFF(f), .cap = W(f), .check = fn }
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

static int check_listen(const char *v, char *why, size_t whylen)
{
	struct sockaddr_storage ss;
	socklen_t len;

	return sg_hostport_parse(v, &ss, &len, why, whylen) ? -1 : 0;
}

static const struct opt opts[] = {
	UINT("threads", threads, 1, SG_MAX_WORKERS),
	ENUM("io", io, "auto|afxdp|afpacket"),
	LIST("cpus", cpus, 0, 4095, ncpus, SG_CONFIG_MAX_CPUS),
	BOOL("bridge_only", bridge_only),
	ENUM("log.target", log_target, "stderr|syslog"),
	{ .path = "log.level", .type = T_ENUM, .off = OFF(log_level), .width = W(log_level),
	  .choices = "error|warning|notice|info|debug|trace", .live = true },
	{ .path = "log.flood_syn_rate", .type = T_UINT, .min = 1, .max = SG_EVENTS_FLOOD_RATE_MAX,
	  .off = OFF(flood_syn_rate), .width = W(flood_syn_rate), .live = true },
	STR("control.socket", ctl_socket),
	STR_CHECKED("metrics.listen", metrics_listen, check_listen),
	BOOL("handover", handover),
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
_Static_assert(SG_CONFIG_MAX_CPUS <= SG_CFG_LIST_MAX && SG_COOKIE_ISN_MSS_MAX <= SG_CFG_LIST_MAX &&
               SG_COOKIE_TS_MSS_MAX <= SG_CFG_LIST_MAX, "SG_CFG_LIST_MAX bounds every integer list");

void sg_config_default(struct sg_config *c)
{
	memset(c, 0, sizeof(*c));
	c->threads = 1;
	c->io = 0;          /* "auto", the first of the io option's choices */
	c->log_target = SG_LOG_STDERR;
	c->log_level = 3;   /* index of "info" in log.level's choices */
	c->flood_syn_rate = SG_EVENTS_FLOOD_RATE_DEFAULT;
	strcpy(c->ctl_socket, SG_CTL_DEFAULT_SOCKET);
	c->handover = true;
	sg_proxy_config_default(&c->proxy);
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
		return sg_cfg_word_index(o->choices, word);
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

static int set_choice(const struct opt *o, const char *who, const char *v, uint8_t *dst,
                      char *err, size_t errlen)
{
	int idx = opt_index(o, v);
	char names[64];

	if (idx < 0)
		FAIL("%s: \"%s\" is not one of %s", who, v, opt_choices(o, names, sizeof(names)));
	sg_cfg_put_uint(dst, o->width, (unsigned long)idx);
	return 0;
}

static int set_string(const struct opt *o, const char *who, const char *v, uint8_t *dst,
                      char *err, size_t errlen)
{
	if (strlen(v) >= o->cap)
		FAIL("%s: longer than %zu characters", who, o->cap - 1);
	if (*v && o->check) {
		char why[160];

		if (o->check(v, why, sizeof(why)))
			FAIL("%s: \"%s\": %s", who, v, why);
	}
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

/* What the option table says of a list option, for config_lists.c. */
static struct sg_cfg_list list_of(const struct opt *o)
{
	return (struct sg_cfg_list){ .kind = (enum sg_cfg_list_kind)(o->type - T_UINT_LIST),
	                             .min = o->min, .max = o->max, .width = o->width,
	                             .n_max = o->n_max };
}

static unsigned list_min(const struct opt *o)
{
	struct sg_cfg_list l = list_of(o);

	return sg_cfg_list_min(&l);
}

static int set_entries(const struct opt *o, config_setting_t *s, struct sg_config *c,
                       const char *who, char *err, size_t errlen)
{
	struct sg_cfg_list l = list_of(o);
	unsigned long n;
	int rc = sg_cfg_list_read(&l, s, who, (uint8_t *)c + o->off, &n, err, errlen);

	if (!rc)
		sg_cfg_put_uint((uint8_t *)c + o->count_off, o->count_width, n);
	return rc;
}

static int set_one(const struct opt *o, config_setting_t *s, struct sg_config *c,
                   const char *file, char *err, size_t errlen)
{
	uint8_t *dst = (uint8_t *)c + o->off;
	char who[PATH_MAX + 128], names[64];
	int rc;

	snprintf(who, sizeof(who), "%s:%d: %s", file, config_setting_source_line(s), o->path);
	switch (o->type) {
	case T_UINT_LIST:
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
		sg_cfg_put_uint(dst, o->width, (unsigned long)v);
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
	}
	return 0;
}

static int set_uint_text(const struct opt *o, const char *who, const char *text,
                         uint8_t *dst, char *err, size_t errlen)
{
	unsigned long long v;
	char *end;
	int rc = sg_cfg_decimal(text, &end, &v);

	if (rc == -ERANGE)
		FAIL("%s: %s is out of range %ld..%ld", who, text, o->min, o->max);
	if (rc || *end)
		FAIL("%s: \"%s\" is not an integer in %ld..%ld", who, text, o->min, o->max);
	rc = check_uint(o, who, v > LLONG_MAX ? LLONG_MAX : (long long)v, err, errlen);
	if (rc)
		return rc;
	sg_cfg_put_uint(dst, o->width, (unsigned long)v);
	return 0;
}

static int set_list_text(const struct opt *o, const char *who, const char *text,
                         struct sg_config *c, char *err, size_t errlen)
{
	struct sg_cfg_list l = list_of(o);
	unsigned long n;
	int rc = sg_cfg_list_text(&l, who, text, (uint8_t *)c + o->off, &n, err, errlen);

	if (!rc)
		sg_cfg_put_uint((uint8_t *)c + o->count_off, o->count_width, n);
	return rc;
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
		     o->path, sg_cfg_get_uint((const uint8_t *)c + o->off, o->width), c->threads,
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
			snprintf(err, errlen, "%s: cannot read the file: %s", path, strerror(errno));
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

static void print_list(const struct sg_config *c, const struct opt *o, FILE *f)
{
	struct sg_cfg_list l = list_of(o);

	sg_cfg_list_print(&l, (const uint8_t *)c + o->off,
	                  sg_cfg_get_uint((const uint8_t *)c + o->count_off, o->count_width), f);
}
static void print_value(const struct sg_config *c, const struct opt *o, FILE *f)
{
	const uint8_t *src = (const uint8_t *)c + o->off;
	char v[32];

	switch (o->type) {
	case T_UINT:
		fprintf(f, "%lu", sg_cfg_get_uint(src, o->width));
		break;
	case T_BOOL:
		fprintf(f, "%s", *(const bool *)src ? "true" : "false");
		break;
	case T_ENUM:
		opt_name(o, (int)sg_cfg_get_uint(src, o->width), v, sizeof(v));
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
			if (o->type == T_UINT_LIST && !sg_cfg_get_uint((const uint8_t *)c + o->count_off, o->count_width))
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
		return sg_cfg_get_uint(pa, o->width) != sg_cfg_get_uint(pb, o->width);
	n = sg_cfg_get_uint((const uint8_t *)a + o->count_off, o->count_width);
	return n != sg_cfg_get_uint((const uint8_t *)b + o->count_off, o->count_width) ||
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
