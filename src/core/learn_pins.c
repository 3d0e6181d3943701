/* Operator pins of server options per prefix (learn_pins.h). */
#include <errno.h>
#include <string.h>

#include "core/learn_pins.h"

#define LD_ACQ(p)    __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define LD_RLX(p)    __atomic_load_n((p), __ATOMIC_RELAXED)
#define ST_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

#define LEN_PORT  0x100                     /* a pin of this length has a port */
#define LEN_ANY   0x200                     /* ... and one has none */

void sg_learn_pins_init(struct sg_learn_pins_table *l, const struct sg_learn_hkey *hk)
{
	memset(l, 0, sizeof(*l));
	l->hk = *hk;
	pthread_mutex_init(&l->mu, NULL);
}

void sg_learn_pins_destroy(struct sg_learn_pins_table *l)
{
	pthread_mutex_destroy(&l->mu);
}

/* The pin of (family, masked address, kbits with port and plen) in ps:
 * its record, or 0.  ps may be rewritten under the reader, which then
 * retries; indices and probe counts are bounded whatever it reads. */
static uint32_t pin_find(const struct sg_learn_pins_table *l, const struct sg_learn_pin_set *ps, uint64_t a0,
                         uint64_t a1, uint32_t kbits)
{
	uint32_t h = (uint32_t)sg_learn_rec_hash(&l->hk, a0, a1, kbits);

	for (unsigned probe = 0; probe < SG_LEARN_PIN_SLOTS; probe++, h++) {
		unsigned s = LD_ACQ(&ps->slot[h % SG_LEARN_PIN_SLOTS]);
		uint64_t meta;

		if (!s || s > SG_LEARN_PINS_MAX)
			return 0;
		meta = LD_ACQ(&ps->pin[s - 1][2]);
		if ((uint32_t)meta == kbits && LD_ACQ(&ps->pin[s - 1][0]) == a0 &&
		    LD_ACQ(&ps->pin[s - 1][1]) == a1)
			return (uint32_t)(meta >> 32);
	}
	return 0;
}

uint32_t sg_learn_pins_match(const struct sg_learn_pins_table *l, uint32_t v6, uint64_t a0,
                             uint64_t a1, uint16_t port)
{
	for (;;) {
		uint32_t gen = LD_ACQ(&l->gen), val = 0;
		const struct sg_learn_pin_set *ps = &l->sets[gen & 1];
		unsigned fam = !!v6, nlen = LD_ACQ(&ps->nlen[fam]);

		for (unsigned i = 0; i < nlen && i < 129 && sg_learn_rec_known_of(val) != SG_LEARN_ALL; i++) {
			unsigned len = LD_ACQ(&ps->len[fam][i]), plen = len & 0xff;
			uint64_t m0 = a0 & sg_learn_rec_prefix_mask((int)plen), m1 = a1 & sg_learn_rec_prefix_mask((int)plen - 64);
			uint32_t kbits = v6 | plen << SG_LEARN_K_PLEN_SHIFT;

			if ((len & LEN_PORT) && port)
				val = sg_learn_rec_fill(val, pin_find(l, ps, m0, m1, kbits | port));
			if (len & LEN_ANY)
				val = sg_learn_rec_fill(val, pin_find(l, ps, m0, m1, kbits));
		}
		/* A set rewritten while it was read was rewritten after pin_gen
		 * moved on: then read again, from the current one. */
		if (LD_RLX(&l->gen) == gen)
			return val;
	}
}

/* A pin's key in canonical form (bits past plen cleared): 0 or -EINVAL. */
static int pin_key(const struct sg_learn_pin *in, struct sg_learn_pin *out)
{
	unsigned max = in->family == 4 ? 32 : in->family == 6 ? 128 : 0;

	if (!max || in->plen > max)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->family = in->family;
	out->plen = in->plen;
	out->port = in->port;
	memcpy(out->addr, in->addr, in->plen / 8);
	if (in->plen % 8)
		out->addr[in->plen / 8] = (uint8_t)(in->addr[in->plen / 8] & (0xff00u >> (in->plen % 8)));
	return 0;
}

static int pin_canon(const struct sg_learn_pin *in, struct sg_learn_pin *out)
{
	const struct sg_learned *o = &in->opts;

	if (pin_key(in, out))
		return -EINVAL;
	if (!o->known || (o->known & ~SG_LEARN_ALL))
		return -EINVAL;
	if ((o->known & SG_LEARN_MSS) &&
	    o->mss < (in->family == 4 ? SG_TCP_MSS4_MIN : SG_TCP_MSS6_MIN))
		return -EINVAL;
	if ((o->known & SG_LEARN_WS) && o->ws > SG_LEARN_WS_NONE)
		return -EINVAL;
	sg_learn_rec_unpack(sg_learn_rec_pack(o), &out->opts);
	return 0;
}

static bool pin_same(const struct sg_learn_pin *a, const struct sg_learn_pin *b)
{
	return a->family == b->family && a->plen == b->plen && a->port == b->port &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* Builds l->cur into the set lookups are not reading, then makes it
 * current.  Under pin_mu. */
static void pins_publish(struct sg_learn_pins_table *l)
{
	struct sg_learn_pin_set *st = &l->stage, *ps;
	bool has[2][129][2] = { { { false } } };
	uint32_t gen = LD_RLX(&l->gen);

	memset(st, 0, sizeof(*st));
	st->n = l->ncur;
	for (unsigned i = 0; i < l->ncur; i++) {
		const struct sg_learn_pin *p = &l->cur[i];
		uint32_t kbits = (p->family == 6 ? SG_LEARN_K_V6 : 0) | (uint32_t)p->plen << SG_LEARN_K_PLEN_SHIFT | p->port;
		uint32_t h;

		sg_learn_rec_addr_words(p->family, p->addr, &st->pin[i][0], &st->pin[i][1]);
		st->pin[i][2] = kbits | (uint64_t)sg_learn_rec_pack(&p->opts) << 32;
		h = (uint32_t)sg_learn_rec_hash(&l->hk, st->pin[i][0], st->pin[i][1], kbits);
		while (st->slot[h % SG_LEARN_PIN_SLOTS])
			h++;
		st->slot[h % SG_LEARN_PIN_SLOTS] = (uint16_t)(i + 1);
		has[p->family == 6][p->plen][!p->port] = true;
	}
	for (unsigned f = 0; f < 2; f++)
		for (int plen = 128; plen >= 0; plen--)
			if (has[f][plen][0] || has[f][plen][1])
				st->len[f][st->nlen[f]++] = (uint16_t)(plen | (has[f][plen][0] ? LEN_PORT : 0) |
				                                       (has[f][plen][1] ? LEN_ANY : 0));

	/* Copied in with release stores: a lookup still reading this set (from
	 * two changes ago) that reads one of them also sees pin_gen moved. */
	ps = &l->sets[(gen + 1) & 1];
	ST_REL(&ps->n, st->n);
	for (unsigned f = 0; f < 2; f++) {
		ST_REL(&ps->nlen[f], st->nlen[f]);
		for (unsigned i = 0; i < 129; i++)
			ST_REL(&ps->len[f][i], st->len[f][i]);
	}
	for (unsigned i = 0; i < SG_LEARN_PIN_SLOTS; i++)
		ST_REL(&ps->slot[i], st->slot[i]);
	for (unsigned i = 0; i < st->n; i++)
		for (unsigned j = 0; j < 3; j++)
			ST_REL(&ps->pin[i][j], st->pin[i][j]);
	ST_REL(&l->gen, gen + 1);
}

int sg_learn_pins_set(struct sg_learn_pins_table *l, const struct sg_learn_pin *pins, unsigned n)
{
	struct sg_learn_pin canon[SG_LEARN_PINS_MAX];

	if (n > SG_LEARN_PINS_MAX)
		return -ENOSPC;
	for (unsigned i = 0; i < n; i++) {
		if (pin_canon(&pins[i], &canon[i]))
			return -EINVAL;
		for (unsigned j = 0; j < i; j++)
			if (pin_same(&canon[i], &canon[j]))
				return -EINVAL;
	}
	pthread_mutex_lock(&l->mu);
	memcpy(l->cur, canon, n * sizeof(canon[0]));
	l->ncur = n;
	pins_publish(l);
	pthread_mutex_unlock(&l->mu);
	return 0;
}

int sg_learn_pins_add(struct sg_learn_pins_table *l, const struct sg_learn_pin *p)
{
	struct sg_learn_pin c;
	unsigned i;
	int err = 0;

	if (pin_canon(p, &c))
		return -EINVAL;
	pthread_mutex_lock(&l->mu);
	for (i = 0; i < l->ncur && !pin_same(&l->cur[i], &c); i++)
		;
	if (i == SG_LEARN_PINS_MAX) {
		err = -ENOSPC;
	} else {
		l->cur[i] = c;
		l->ncur += i == l->ncur;
		pins_publish(l);
	}
	pthread_mutex_unlock(&l->mu);
	return err;
}

int sg_learn_pins_remove(struct sg_learn_pins_table *l, const struct sg_learn_pin *p)
{
	struct sg_learn_pin c;
	unsigned i;
	int err = 0;

	if (pin_key(p, &c))
		return -ENOENT;
	pthread_mutex_lock(&l->mu);
	for (i = 0; i < l->ncur && !pin_same(&l->cur[i], &c); i++)
		;
	if (i == l->ncur) {
		err = -ENOENT;
	} else {
		memmove(&l->cur[i], &l->cur[i + 1], (l->ncur - i - 1) * sizeof(l->cur[0]));
		l->ncur--;
		pins_publish(l);
	}
	pthread_mutex_unlock(&l->mu);
	return err;
}

unsigned sg_learn_pins_copy(const struct sg_learn_pins_table *l, struct sg_learn_pin *out, unsigned max)
{
	for (;;) {
		uint32_t gen = LD_ACQ(&l->gen);
		const struct sg_learn_pin_set *ps = &l->sets[gen & 1];
		unsigned n = LD_ACQ(&ps->n);

		for (unsigned i = 0; i < n && i < max && i < SG_LEARN_PINS_MAX; i++) {
			uint64_t a0 = LD_ACQ(&ps->pin[i][0]), a1 = LD_ACQ(&ps->pin[i][1]);
			uint64_t meta = LD_ACQ(&ps->pin[i][2]);
			struct sg_learn_pin *p = &out[i];

			memset(p, 0, sizeof(*p));
			p->family = meta & SG_LEARN_K_V6 ? 6 : 4;
			p->plen = (uint8_t)((uint32_t)meta >> SG_LEARN_K_PLEN_SHIFT);
			p->port = (uint16_t)meta;
			memcpy(p->addr, &a0, 8);
			memcpy(p->addr + 8, &a1, 8);
			sg_learn_rec_unpack((uint32_t)(meta >> 32), &p->opts);
		}
		if (LD_RLX(&l->gen) == gen)
			return n;
	}
}
