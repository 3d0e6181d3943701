/* The operator's policy for new flows (see policy.h). */
#include "core/policy.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "net/bytes.h"

/* An address or a prefix's first address as a 128-bit number, most
 * significant word first, so that order and masks are those of the bits
 * on the wire.  IPv4 in the top 32 bits. */
struct a128 {
	uint64_t hi, lo;
};

static inline struct a128 load(uint8_t family, const uint8_t *a)
{
	struct a128 v = { 0, 0 };

	if (family == 4) {
		v.hi = (uint64_t)sg_rd32(a) << 32;
	} else {
		memcpy(&v.hi, a, 8);
		memcpy(&v.lo, a + 8, 8);
		v.hi = be64toh(v.hi);
		v.lo = be64toh(v.lo);
	}
	return v;
}

/* The top n bits of a word, n in 0..64. */
static inline uint64_t mask64(unsigned n)
{
	return n ? ~0ull << (64 - n) : 0;
}

static inline struct a128 mask(unsigned len)
{
	/* Clamped, so an unchecked length cannot shift out of range. */
	if (len > 128)
		len = 128;
	return (struct a128){ mask64(len > 64 ? 64 : len), mask64(len > 64 ? len - 64 : 0) };
}

static inline bool contains(const struct sg_prefix *p, struct a128 a)
{
	struct a128 s = load(p->family, p->addr), m = mask(p->len);

	return !(((s.hi ^ a.hi) & m.hi) | ((s.lo ^ a.lo) & m.lo));
}

static inline bool le128(struct a128 a, struct a128 b)
{
	return a.hi < b.hi || (a.hi == b.hi && a.lo <= b.lo);
}

/* ---- parsing and checking ---- */

static unsigned max_len(uint8_t family)
{
	return family == 4 ? 32 : 128;
}

/* Offset, within struct sg_prefix, of the field that makes p invalid, or
 * -1 when it is valid (see struct sg_prefix).  IPv4-mapped IPv6 prefixes
 * are refused: IPv4 traffic never matches one. */
static ptrdiff_t prefix_fault(const struct sg_prefix *p)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct a128 a, m;

	if (p->family != 4 && p->family != 6)
		return offsetof(struct sg_prefix, family);
	if (p->len > max_len(p->family))
		return offsetof(struct sg_prefix, len);
	if (p->family == 4) {
		static const uint8_t zero[12];

		if (memcmp(p->addr + 4, zero, 12))
			return offsetof(struct sg_prefix, addr);
	}
	a = load(p->family, p->addr);
	m = mask(p->len);
	if ((a.hi & ~m.hi) | (a.lo & ~m.lo))
		return offsetof(struct sg_prefix, addr);
	if (p->family == 6 && p->len >= 96 && !memcmp(p->addr, mapped, 12))
		return offsetof(struct sg_prefix, addr);
	return -1;
}

int sg_prefix_parse(const char *s, struct sg_prefix *out)
{
	char buf[64];
	const char *slash;
	struct sg_prefix p;
	size_t alen;

	if (!s)
		return -EINVAL;
	memset(&p, 0, sizeof(p));
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = 0;
	if (memchr(buf, ':', alen)) {
		p.family = 6;
		if (inet_pton(AF_INET6, buf, p.addr) != 1)
			return -EINVAL;
	} else {
		p.family = 4;
		if (inet_pton(AF_INET, buf, p.addr) != 1)
			return -EINVAL;
	}
	if (slash) {
		const char *d = slash + 1;
		unsigned len = 0;
		size_t n = strlen(d);

		/* Plain decimal: 1 to 3 digits, no sign, no space, no
		 * leading zero. */
		if (n < 1 || n > 3 || (n > 1 && d[0] == '0'))
			return -EINVAL;
		for (size_t i = 0; i < n; i++) {
			if (d[i] < '0' || d[i] > '9')
				return -EINVAL;
			len = len * 10 + (unsigned)(d[i] - '0');
		}
		if (len > max_len(p.family))
			return -EINVAL;
		p.len = (uint8_t)len;
	} else {
		p.len = (uint8_t)max_len(p.family);
	}
	if (prefix_fault(&p) >= 0)
		return -EINVAL;
	*out = p;
	return 0;
}

/* Lists in order: family, then first address, then length. */
static int prefix_cmp(const void *x, const void *y)
{
	const struct sg_prefix *a = x, *b = y;
	struct a128 sa, sb;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	sa = load(a->family, a->addr);
	sb = load(b->family, b->addr);
	if (sa.hi != sb.hi || sa.lo != sb.lo)
		return le128(sa, sb) ? -1 : 1;
	return a->len < b->len ? -1 : a->len > b->len;
}

/* Whether b lies wholly after a: another family, or a first address past
 * a's last.  A sorted list whose neighbours all pass holds no entry that
 * overlaps another, which is what the bisection in decide relies on. */
static bool past(const struct sg_prefix *a, const struct sg_prefix *b)
{
	struct a128 la, sb, m;

	if (a->family != b->family)
		return a->family < b->family;
	/* a's last address: its first with the bits past its length set
	 * (for IPv4 also those past its 32, which no IPv4 start has set). */
	la = load(a->family, a->addr);
	m = mask(a->len);
	la.hi |= ~m.hi;
	la.lo |= ~m.lo;
	sb = load(b->family, b->addr);
	return !le128(sb, la);
}

static void normalize_list(struct sg_prefix *l, unsigned *n)
{
	unsigned kept = 0;

	if (*n > SG_POLICY_PREFIXES_MAX)
		return;
	for (unsigned i = 0; i < *n; i++)
		if (prefix_fault(&l[i]) >= 0)
			return;
	qsort(l, *n, sizeof(l[0]), prefix_cmp);
	/* Sorted, an entry is covered by another only if it is covered by
	 * the last one kept (prefixes nest or are disjoint). */
	for (unsigned i = 0; i < *n; i++) {
		if (kept && l[kept - 1].family == l[i].family &&
		    contains(&l[kept - 1], load(l[i].family, l[i].addr)))
			continue;
		l[kept++] = l[i];
	}
	memset(l + kept, 0, (*n - kept) * sizeof(l[0]));
	*n = kept;
}

void sg_policy_normalize(struct sg_policy_set *s)
{
	normalize_list(s->allow, &s->nallow);
	normalize_list(s->deny, &s->ndeny);
}

#define SET(f) offsetof(struct sg_policy_set, f)
#define RULE(i, f) \
	(SET(rule) + (i) * sizeof(struct sg_policy_rule) + offsetof(struct sg_policy_rule, f))

static int check_list(const struct sg_prefix *l, unsigned n, size_t off, struct sg_cfg_fault *why)
{
	for (unsigned i = 0; i < n; i++) {
		ptrdiff_t f = prefix_fault(&l[i]);

		if (f >= 0)
			return sg_cfg_fail(why, SG_CFG_RANGE, off + i * sizeof(l[0]) + (size_t)f);
	}
	for (unsigned i = 1; i < n; i++)
		if (!past(&l[i - 1], &l[i]))
			return sg_cfg_fail(why, SG_CFG_ORDER, off + i * sizeof(l[0]));
	return 0;
}

int sg_policy_check(const struct sg_policy_set *s, struct sg_cfg_fault *why)
{
	if (s->nrules > SG_POLICY_RULES_MAX)
		return sg_cfg_fail(why, SG_CFG_COUNT, SET(nrules));
	if (s->nallow > SG_POLICY_PREFIXES_MAX)
		return sg_cfg_fail(why, SG_CFG_COUNT, SET(nallow));
	if (s->ndeny > SG_POLICY_PREFIXES_MAX)
		return sg_cfg_fail(why, SG_CFG_COUNT, SET(ndeny));
	if ((unsigned)s->default_action >= SG_POLICY_ACTIONS)
		return sg_cfg_fail(why, SG_CFG_RANGE, SET(default_action));
	for (unsigned i = 0; i < s->nrules; i++) {
		const struct sg_policy_rule *r = &s->rule[i];
		ptrdiff_t f = prefix_fault(&r->dst);

		if (f >= 0)
			return sg_cfg_fail(why, SG_CFG_RANGE, RULE(i, dst) + (size_t)f);
		if (r->port_lo > r->port_hi)
			return sg_cfg_fail(why, SG_CFG_RANGE, RULE(i, port_lo));
		if ((unsigned)r->action >= SG_POLICY_ACTIONS)
			return sg_cfg_fail(why, SG_CFG_RANGE, RULE(i, action));
	}
	if (check_list(s->allow, s->nallow, SET(allow), why))
		return -1;
	return check_list(s->deny, s->ndeny, SET(deny), why);
}

/* ---- deciding ---- */

/* Whether a lies in a prefix of the normalized list l: only the last
 * entry that starts at or before a can hold it, since entries do not
 * overlap. */
static inline bool listed(const struct sg_prefix *l, unsigned n, uint8_t family, struct a128 a)
{
	unsigned lo = 0, hi = n < SG_POLICY_PREFIXES_MAX ? n : SG_POLICY_PREFIXES_MAX;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct sg_prefix *p = &l[mid];

		if (p->family < family || (p->family == family && le128(load(family, p->addr), a)))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && l[lo - 1].family == family && contains(&l[lo - 1], a);
}

/* Whether dport is in r's range, in one compare (lo <= hi, checked). */
static inline bool port_in(const struct sg_policy_rule *r, uint16_t dport)
{
	return (uint16_t)(dport - r->port_lo) <= (uint16_t)(r->port_hi - r->port_lo);
}

/* The rules for IPv4 apart: one 32-bit masked compare, the mask a shift
 * of the length (0..32, no branch). */
static inline const struct sg_policy_rule *first_rule4(const struct sg_policy_rule *r, unsigned n,
                                                       const uint8_t *dst, uint16_t dport)
{
	uint32_t d = sg_rd32(dst);

	for (unsigned i = 0; i < n; i++, r++) {
		uint32_t m = (uint32_t)(0xffffffff00000000ull >> (r->dst.len & 63));

		if (r->dst.family == 4 && port_in(r, dport) && !((sg_rd32(r->dst.addr) ^ d) & m))
			return r;
	}
	return NULL;
}

static inline const struct sg_policy_rule *first_rule6(const struct sg_policy_rule *r, unsigned n,
                                                       const uint8_t *dst, uint16_t dport)
{
	struct a128 d = load(6, dst);

	for (unsigned i = 0; i < n; i++, r++)
		if (r->dst.family == 6 && port_in(r, dport) && contains(&r->dst, d))
			return r;
	return NULL;
}

bool sg_policy_source_listed(const struct sg_policy_set *s, uint8_t family, const uint8_t *src,
                             enum sg_policy_action *action)
{
	struct a128 a;

	if (!(s->ndeny | s->nallow))
		return false;
	a = load(family, src);
	if (s->ndeny && listed(s->deny, s->ndeny, family, a)) {
		*action = SG_ACTION_DROP;
		return true;
	}
	if (s->nallow && listed(s->allow, s->nallow, family, a)) {
		*action = SG_ACTION_TRACK;
		return true;
	}
	return false;
}

enum sg_policy_action sg_policy_destination(const struct sg_policy_set *s, uint8_t family,
                                            const uint8_t *dst, uint16_t dport)
{
	unsigned n = s->nrules < SG_POLICY_RULES_MAX ? s->nrules : SG_POLICY_RULES_MAX;
	const struct sg_policy_rule *r;

	r = family == 4 ? first_rule4(s->rule, n, dst, dport) : first_rule6(s->rule, n, dst, dport);
	return r ? r->action : s->default_action;
}

enum sg_policy_action sg_policy_decide(const struct sg_policy_set *s, uint8_t family,
                                       const uint8_t *src, const uint8_t *dst, uint16_t dport)
{
	enum sg_policy_action a;

	if (sg_policy_source_listed(s, family, src, &a))
		return a;
	return sg_policy_destination(s, family, dst, dport);
}

const char *sg_policy_action_name(enum sg_policy_action a)
{
	static const char *const names[SG_POLICY_ACTIONS] = {
		[SG_ACTION_PROXY] = "proxy",
		[SG_ACTION_TRACK] = "track",
		[SG_ACTION_BYPASS] = "bypass",
		[SG_ACTION_DROP] = "drop",
	};

	return (unsigned)a < SG_POLICY_ACTIONS ? names[a] : NULL;
}
