/* The list options of synguard.conf (see config_lists.h). */
#include "daemon/config_lists.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/proxy.h"

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -EINVAL; } while (0)

int sg_cfg_word_index(const char *choices, const char *word)
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

int sg_cfg_decimal(const char *s, char **end, unsigned long long *v)
{
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, end, 10);
	return errno == ERANGE ? -ERANGE : 0;
}

unsigned sg_cfg_list_min(const struct sg_cfg_list *l)
{
	return l->kind == SG_LIST_UINT ? 1 : 0;
}

static int check_entry(const struct sg_cfg_list *l, const char *who, unsigned i, long long v,
                       char *err, size_t errlen)
{
	if (v < l->min || v > l->max)
		FAIL("%s: entry %u (%lld) is out of range %ld..%ld", who, i + 1, v, l->min, l->max);
	return 0;
}

static int check_count(const struct sg_cfg_list *l, const char *who, unsigned long n, char *err,
                       size_t errlen)
{
	if (n < sg_cfg_list_min(l) || n > l->n_max)
		FAIL("%s: must have %u..%u entries, has %lu", who, sg_cfg_list_min(l), l->n_max, n);
	return 0;
}

/* ---- lists of prefixes, policy rules and learn pins ----
 * Each entry is checked as it is read and the message names the entry by
 * its number (from 1) and quotes its text. */

#define PREFIX_LIKE "a prefix like \"192.0.2.0/24\" or \"2001:db8::/32\" (no bits set past the length)"

static int set_prefix(config_setting_t *e, const char *who, int i,
                      struct sg_prefix *p, char *err, size_t errlen)
{
	const char *s = config_setting_get_string(e);

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

		if (sg_cfg_word_index(names, n) < 0)
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

	if (sg_cfg_decimal(s, &end, &a))
		return -EINVAL;
	b = a;
	if (*end == '-' && sg_cfg_decimal(end + 1, &end, &b))
		return -EINVAL;
	if (*end || a > b || b > UINT16_MAX)
		return -EINVAL;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

/* The policy actions by the names sg_policy_action_name gives them (the
 * names policy.default takes). */
static int action_index(const char *word)
{
	for (unsigned i = 0; sg_policy_action_name((enum sg_policy_action)i); i++)
		if (strcmp(sg_policy_action_name((enum sg_policy_action)i), word) == 0)
			return (int)i;
	return -1;
}

static const char *action_names(char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = 0;
	for (unsigned i = 0; sg_policy_action_name((enum sg_policy_action)i) && len < cap; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? "|" : "",
		                        sg_policy_action_name((enum sg_policy_action)i));
	return buf;
}

static int set_rule(config_setting_t *e, const char *who, int i,
                    struct sg_policy_rule *r, char *err, size_t errlen)
{
	const char *ports = NULL, *action = NULL;
	char names[64];
	int a, rc = check_members(e, "dst|ports|action", who, i, err, errlen);

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
	a = action ? action_index(action) : -1;
	if (a < 0)
		FAIL("%s: entry %d: action (\"%s\") must be one of %s", who, i + 1,
		     action ? action : "missing", action_names(names, sizeof(names)));
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

static int set_pin(config_setting_t *e, const char *who, int i,
                   struct sg_learn_pin *p, char *err, size_t errlen)
{
	const struct sg_learn_pin *first = p - i;
	struct sg_prefix dst;
	int rc = check_members(e, "dst|port|mss|wscale|sack|timestamps", who, i, err, errlen);

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

static int set_entry(const struct sg_cfg_list *l, config_setting_t *e, const char *who, int i,
                     uint8_t *dst, char *err, size_t errlen)
{
	switch (l->kind) {
	case SG_LIST_PREFIX:
		return set_prefix(e, who, i, (struct sg_prefix *)dst, err, errlen);
	case SG_LIST_RULE:
		return set_rule(e, who, i, (struct sg_policy_rule *)dst, err, errlen);
	default:
		return set_pin(e, who, i, (struct sg_learn_pin *)dst, err, errlen);
	}
}

/* ---- an entry from the control socket's words ----
 * The words become the libconfig group the file would hold, with each
 * field of the type the file gives it, and set_entry reads that group. */

static int field_type(enum sg_cfg_list_kind kind, const char *field)
{
	if (kind == SG_LIST_PIN && sg_cfg_word_index("port|mss|wscale", field) >= 0)
		return CONFIG_TYPE_INT64;
	if (kind == SG_LIST_PIN && sg_cfg_word_index("sack|timestamps", field) >= 0)
		return CONFIG_TYPE_BOOL;
	return CONFIG_TYPE_STRING;    /* dst, ports, action; an unknown field is named by
	                                 check_members */
}

static int word_member(config_setting_t *g, enum sg_cfg_list_kind kind, const char *field,
                       const char *word, const char *who, char *err, size_t errlen)
{
	int type = field_type(kind, field), b = sg_cfg_word_index("false|true|off|on", word);
	config_setting_t *m = config_setting_get_member(g, field) ? NULL
	                      : config_setting_add(g, field, type);
	unsigned long long v;
	char *end;

	if (!m)
		FAIL("%s: '%s' is given twice or is not a field name", who, field);
	if (type == CONFIG_TYPE_INT64) {
		if (sg_cfg_decimal(word, &end, &v) || *end || v > INT64_MAX)
			FAIL("%s: %s '%s' is not a whole number", who, field, word);
		config_setting_set_int64(m, (long long)v);
	} else if (type == CONFIG_TYPE_BOOL) {
		if (b < 0)
			FAIL("%s: %s '%s' must be on, off, true or false", who, field, word);
		config_setting_set_bool(m, b & 1);
	} else {
		config_setting_set_string(m, word);
	}
	return 0;
}

int sg_cfg_entry_words(const struct sg_cfg_list *l, int argc, char *const argv[], const char *who,
                       void *entry, char *err, size_t errlen)
{
	struct sg_cfg_list one = *l;
	config_setting_t *list, *g;
	unsigned long n;
	config_t cfg;
	int rc = 0;

	if (l->kind != SG_LIST_PIN && l->kind != SG_LIST_RULE)
		return -EINVAL;
	if (argc < 1)
		FAIL("%s: the prefix is missing (e.g. 192.0.2.0/24)", who);
	if (argc % 2 == 0)
		FAIL("%s: '%s' has no value", who, argv[argc - 1]);
	config_init(&cfg);
	list = config_setting_add(config_root_setting(&cfg), "entries", CONFIG_TYPE_LIST);
	g = list ? config_setting_add(list, NULL, CONFIG_TYPE_GROUP) : NULL;
	if (!g) {
		snprintf(err, errlen, "%s: out of memory", who);
		rc = -ENOMEM;
	}
	if (!rc)
		rc = word_member(g, l->kind, "dst", argv[0], who, err, errlen);
	for (int i = 1; !rc && i + 1 < argc; i += 2)
		rc = word_member(g, l->kind, argv[i], argv[i + 1], who, err, errlen);
	one.n_max = 1;
	if (!rc)
		rc = sg_cfg_list_read(&one, list, who, entry, &n, err, errlen);
	config_destroy(&cfg);
	return rc;
}

static int set_uints(const struct sg_cfg_list *l, config_setting_t *s, const char *who,
                     uint8_t *entries, unsigned long *count, char *err, size_t errlen)
{
	int n = config_setting_length(s), rc;

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
		FAIL("%s: must be a list of integers [a, b, ...]", who);
	rc = check_count(l, who, (unsigned long)n, err, errlen);
	if (rc)
		return rc;
	for (int i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		long long v;

		if (config_setting_type(e) != CONFIG_TYPE_INT && config_setting_type(e) != CONFIG_TYPE_INT64)
			FAIL("%s: entry %d must be an integer", who, i + 1);
		v = config_setting_get_int64(e);
		rc = check_entry(l, who, (unsigned)i, v, err, errlen);
		if (rc)
			return rc;
		sg_cfg_put_uint(entries + (size_t)i * l->width, l->width, (unsigned long)v);
	}
	*count = (unsigned long)n;
	return 0;
}

int sg_cfg_list_read(const struct sg_cfg_list *l, config_setting_t *s, const char *who,
                     uint8_t *entries, unsigned long *count, char *err, size_t errlen)
{
	int n = config_setting_length(s), rc;

	if (l->kind == SG_LIST_UINT)
		return set_uints(l, s, who, entries, count, err, errlen);
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
		FAIL("%s: must be a list %s", who, l->kind == SG_LIST_PREFIX ? "[ \"prefix\", ... ]" :
		                                   "( { ... }, ... )");
	rc = check_count(l, who, (unsigned long)n, err, errlen);
	for (int i = 0; !rc && i < n; i++)
		rc = set_entry(l, config_setting_get_elem(s, (unsigned)i), who, i,
		               entries + (size_t)i * l->width, err, errlen);
	if (rc)
		return rc;
	*count = (unsigned long)n;
	return 0;
}

/* "1,3,5-7": entries and ascending ranges. */
int sg_cfg_list_text(const struct sg_cfg_list *l, const char *who, const char *text,
                     uint8_t *entries, unsigned long *count, char *err, size_t errlen)
{
	unsigned long long vals[SG_CFG_LIST_MAX];
	unsigned long n = 0;
	const char *s = text;
	int rc;

	for (;;) {
		unsigned long long a, b, span;
		char *end;

		if (sg_cfg_decimal(s, &end, &a) == -EINVAL)
			goto syntax;
		b = a;
		if (*end == '-' && sg_cfg_decimal(end + 1, &end, &b) == -EINVAL)
			goto syntax;
		if (b < a)
			FAIL("%s: %llu-%llu is not an ascending range", who, a, b);
		/* In range at both ends, so in range throughout. */
		span = b - a + 1;
		rc = check_entry(l, who, (unsigned)n, a > LLONG_MAX ? LLONG_MAX : (long long)a, err, errlen);
		if (!rc)
			rc = check_entry(l, who, (unsigned)(n + span - 1),
			                 b > LLONG_MAX ? LLONG_MAX : (long long)b, err, errlen);
		if (rc)
			return rc;
		for (unsigned long long k = 0; k < span && n + k < l->n_max; k++)
			vals[n + k] = a + k;
		n += (unsigned long)span;
		if (*end == 0)
			break;
		if (*end != ',')
			goto syntax;
		s = end + 1;
	}
	rc = check_count(l, who, n, err, errlen);
	if (rc)
		return rc;
	for (unsigned long i = 0; i < n; i++)
		sg_cfg_put_uint(entries + i * l->width, l->width, (unsigned long)vals[i]);
	*count = n;
	return 0;
syntax:
	FAIL("%s: \"%s\" is not a list like 1,3,5-7 of integers in %ld..%ld", who, text, l->min, l->max);
}

void sg_cfg_prefix_text(uint8_t family, uint8_t len, const uint8_t *addr, char *buf, size_t cap)
{
	char text[INET6_ADDRSTRLEN];

	inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, text, sizeof(text));
	snprintf(buf, cap, "%s/%u", text, len);
}

static void print_prefix(FILE *f, uint8_t family, uint8_t len, const uint8_t *addr)
{
	char text[INET6_ADDRSTRLEN + 8];

	sg_cfg_prefix_text(family, len, addr, text, sizeof(text));
	fprintf(f, "\"%s\"", text);
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

void sg_cfg_list_print(const struct sg_cfg_list *l, const uint8_t *entries, unsigned long n,
                       FILE *f)
{
	bool groups = l->kind == SG_LIST_RULE || l->kind == SG_LIST_PIN;

	fprintf(f, "%s", groups ? "(" : "[");
	for (unsigned long k = 0; k < n; k++) {
		const uint8_t *e = entries + k * l->width;

		fprintf(f, "%s%s", k ? "," : "", groups ? "\n    " : k ? " " : "");
		if (l->kind == SG_LIST_UINT)
			fprintf(f, "%lu", sg_cfg_get_uint(e, l->width));
		else if (l->kind == SG_LIST_PREFIX)
			print_prefix(f, ((const struct sg_prefix *)e)->family,
			             ((const struct sg_prefix *)e)->len, ((const struct sg_prefix *)e)->addr);
		else if (l->kind == SG_LIST_RULE)
			print_rule(f, (const struct sg_policy_rule *)e);
		else
			print_pin(f, (const struct sg_learn_pin *)e);
	}
	fprintf(f, "%s", groups ? (n ? "\n  )" : ")") : "]");
}
