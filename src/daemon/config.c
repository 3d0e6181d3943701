/* synguard.conf (see config.h).  One table describes every option: its
 * path, type, range and place in struct sg_config; parsing, validation,
 * unknown-key detection and printing all walk that table, so an option
 * cannot be parsed but not printed or documented twice differently. */
#include "daemon/config.h"

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

enum opt_type { T_UINT, T_BOOL, T_ENUM, T_STRING, T_UINT_LIST };

struct opt {
	const char *path;
	enum opt_type type;
	long min, max;             /* T_UINT and list elements; list: max entries in `n_max` */
	size_t off;                /* into struct sg_config */
	unsigned width;            /* bytes of the integer field: 1, 2, 4 */
	const char *choices;       /* T_ENUM: "a|b|c", stored as index in an int */
	size_t count_off;          /* T_UINT_LIST: where the entry count goes (uint8_t or unsigned) */
	unsigned count_width;
	unsigned n_max;
	size_t cap;                /* T_STRING: buffer size */
	bool zero_is_off;          /* T_UINT: 0 is also valid, meaning "off" */
};

#define OFF(f) offsetof(struct sg_config, f)
#define W(f) sizeof(((struct sg_config *)0)->f)
#define UINT(p, f, lo, hi) { p, T_UINT, lo, hi, OFF(f), W(f), NULL, 0, 0, 0, 0, false }
#define UINT_OR_OFF(p, f, lo, hi) { p, T_UINT, lo, hi, OFF(f), W(f), NULL, 0, 0, 0, 0, true }
#define ENUM(p, f, ch)     { p, T_ENUM, 0, 0, OFF(f), W(f), ch, 0, 0, 0, 0, false }
#define BOOL(p, f)         { p, T_BOOL, 0, 1, OFF(f), W(f), NULL, 0, 0, 0, 0, false }
#define STR(p, f)          { p, T_STRING, 0, 0, OFF(f), 0, NULL, 0, 0, 0, W(f), false }
#define LIST(p, f, lo, hi, cnt, n) \
	{ p, T_UINT_LIST, lo, hi, OFF(f), sizeof(((struct sg_config *)0)->f[0]), NULL, OFF(cnt), W(cnt), \
	  n, 0, false }
#define TIMEOUT(p, state) UINT("conntrack.timeouts." p, proxy.ct.timeout_s[state], \
                               SG_CT_MIN_TIMEOUT_S, SG_CT_MAX_TIMEOUT_S)

static const struct opt opts[] = {
	UINT("threads", threads, 1, SG_MAX_WORKERS),
	ENUM("io", io, "auto|afxdp|afpacket"),
	LIST("cpus", cpus, 0, 4095, ncpus, SG_CONFIG_MAX_CPUS),
	BOOL("bridge_only", bridge_only),
	ENUM("log.target", log_target, "stderr|syslog"),
	ENUM("log.level", log_level, "error|warning|notice|info|debug"),
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
	BOOL("monitor", proxy.monitor),
	UINT("policy.rst_slack", proxy.rst_slack, 0, UINT16_MAX),
	UINT_OR_OFF("uplink_mss_clamp", proxy.uplink_mss_clamp, SG_TCP_MSS4_MIN, UINT16_MAX),
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

static int check_count(const struct opt *o, const char *who, unsigned long n, char *err, size_t errlen)
{
	if (n < 1 || n > o->n_max)
		FAIL("%s: must have 1..%u entries, has %lu", who, o->n_max, n);
	return 0;
}

static int set_choice(const struct opt *o, const char *who, const char *v, uint8_t *dst,
                      char *err, size_t errlen)
{
	int idx = choice_index(o->choices, v);

	if (idx < 0)
		FAIL("%s: \"%s\" is not one of %s", who, v, o->choices);
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

static int set_one(const struct opt *o, config_setting_t *s, struct sg_config *c,
                   const char *file, char *err, size_t errlen)
{
	uint8_t *dst = (uint8_t *)c + o->off;
	char who[PATH_MAX + 128];
	int rc;

	snprintf(who, sizeof(who), "%s:%d: %s", file, config_setting_source_line(s), o->path);
	switch (o->type) {
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
			FAIL("%s: must be a string, one of %s", who, o->choices);
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

/* The option whose field holds byte `off` of struct sg_config. */
static const struct opt *opt_at(size_t off)
{
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];
		size_t size = o->type == T_UINT_LIST ? o->width * o->n_max :
		              o->type == T_STRING ? o->cap : o->width;

		if (off >= o->off && off < o->off + size)
			return &opts[i];
	}
	return NULL;
}

int sg_config_explain(const struct sg_config *c, const struct sg_cfg_fault *fault, char *err,
                      size_t errlen)
{
	struct sg_cfg_fault why = *fault;
	const struct opt *o;

	o = why.off == SG_CFG_WORKERS ? find_opt("threads") : opt_at(OFF(proxy) + why.off);
	if (!o)
		FAIL("the configuration is invalid (no option holds the faulty field)");
	switch (why.rule) {
	case SG_CFG_RESTART:
		FAIL("%s: changes only with a restart", o->path);
	case SG_CFG_COUNT:
		FAIL("%s: must have 1..%u entries", o->path, o->n_max);
	case SG_CFG_ORDER:
		FAIL("%s: entries must be strictly ascending", o->path);
	case SG_CFG_PER_WORKER:
		FAIL("%s: %lu entries are too few for %u threads: each thread's share must be at least %u",
		     o->path, get_uint((const uint8_t *)c + o->off, o->width), c->threads,
		     SG_CT_MIN_CAPACITY / 2);
	case SG_CFG_RANGE:
	default:
		if (o->type == T_ENUM)
			FAIL("%s: must be one of %s", o->path, o->choices);
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

void sg_config_print(const struct sg_config *c, FILE *f)
{
	/* Flat "group.name = value;" lines: for people and diffs. */
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];
		const uint8_t *src = (const uint8_t *)c + o->off;

		switch (o->type) {
		case T_UINT:
			fprintf(f, "%s = %lu;\n", o->path, get_uint(src, o->width));
			break;
		case T_BOOL:
			fprintf(f, "%s = %s;\n", o->path, *(const bool *)src ? "true" : "false");
			break;
		case T_ENUM: {
			char v[32];

			choice_name(o->choices, (int)get_uint(src, o->width), v, sizeof(v));
			fprintf(f, "%s = \"%s\";\n", o->path, v);
			break;
		}
		case T_STRING:
			fprintf(f, "%s = \"%s\";\n", o->path, (const char *)src);
			break;
		case T_UINT_LIST: {
			unsigned long n = get_uint((const uint8_t *)c + o->count_off, o->count_width);

			fprintf(f, "%s = [", o->path);
			for (unsigned long k = 0; k < n; k++)
				fprintf(f, "%s%lu", k ? ", " : "", get_uint(src + k * o->width, o->width));
			fprintf(f, "];\n");
			break;
		}
		}
	}
}
