/* The connection list (see conn_list.h for why the reader copies). */
#include "core/conn_list.h"

#include <string.h>

#include "core/conn.h"
#include "core/context.h"

/* Word loads that may alias the entry's fields: the copy must not be
 * torn within a word, and the compiler must not assume the words are the
 * types it last saw stored. */
typedef uint64_t __attribute__((may_alias)) ct_word;

static void copy_words(struct sg_conn *dst, const struct sg_conn *src)
{
	const ct_word *s = (const ct_word *)(const void *)src;
	ct_word *d = (ct_word *)(void *)dst;

	for (size_t i = 0; i < sizeof(*src) / sizeof(*s); i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

/* Tries a few times: the tracking fields of a busy connection change
 * with its segments, and one retry usually finds a quiet moment. */
#define COPY_TRIES 4

/* One entry, or false when it is free or would not hold still. */
static bool copy_entry(const struct sg_conn *c, struct sg_conn *out)
{
	struct sg_conn again;

	for (unsigned t = 0; t < COPY_TRIES; t++) {
		uint8_t s1 = __atomic_load_n(&c->state, __ATOMIC_ACQUIRE), s2;

		if (s1 == SG_CT_FREE)
			return false;
		copy_words(out, c);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		copy_words(&again, c);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&c->state, __ATOMIC_RELAXED);
		if (s1 == s2 && memcmp(&out->key, &again.key, sizeof(out->key)) == 0 &&
		    memcmp(out->payload, again.payload, sizeof(out->payload)) == 0) {
			out->state = s1;
			return true;
		}
	}
	return false;
}

unsigned sg_ct_copy_live(const struct sg_ct *ct, uint32_t *cursor, struct sg_conn *out,
                         unsigned n, unsigned *torn)
{
	uint32_t cap = sg_ct_capacity(ct), idx = *cursor ? *cursor : 1;
	unsigned got = 0;

	for (; idx <= cap && got < n; idx++) {
		const struct sg_conn *c = sg_ct_entry(ct, idx);

		if (__atomic_load_n(&c->state, __ATOMIC_RELAXED) == SG_CT_FREE)
			continue;
		if (copy_entry(c, &out[got]))
			got++;
		else if (torn && __atomic_load_n(&c->state, __ATOMIC_RELAXED) != SG_CT_FREE)
			(*torn)++;
	}
	*cursor = idx;
	return got;
}

static void info_of(const struct sg_proxy *p, const struct sg_conn *c, uint32_t now_ms,
                    struct sg_conn_info *i)
{
	const struct sg_conn_rec *r = sg_conn_rec_c(c);
	/* The control thread is the one that reloads: the slot in use is
	 * stable under it. */
	const struct sg_proxy_config *cfg = &p->cfgs[__atomic_load_n(&p->cfg_gen, __ATOMIC_ACQUIRE) & 1];
	uint32_t timeout = cfg->ct.timeout_s[c->state] * 1000u;
	int32_t left = (int32_t)(c->expires_ms - now_ms);

	memset(i, 0, sizeof(*i));
	i->family = c->key.family;
	memcpy(i->wan_addr, c->key.wan_addr, sizeof(i->wan_addr));
	memcpy(i->lan_addr, c->key.lan_addr, sizeof(i->lan_addr));
	i->wan_port = c->key.wan_port;
	i->lan_port = c->key.lan_port;
	i->vid[0] = c->key.vid[0];
	i->vid[1] = c->key.vid[1];
	i->state = c->state;
	i->owner = c->owner;
	i->expires_in_ms = left > 0 ? (uint32_t)left : 0;
	/* An entry is re-armed to its state's full timeout on a packet (or
	 * on a state change), so what is gone of it is its idle time. */
	i->idle_ms = left <= 0 || (uint32_t)left > timeout ? 0 : timeout - (uint32_t)left;
	i->proxied = r->flags & SG_CONN_PROXIED;
	i->wan_opened = i->proxied || (r->seen & SG_SEEN_OPENED_WAN);
	i->client_ws = r->client_ws;
	i->server_ws = r->server_ws;
	if (i->proxied) {
		i->seq_offset = r->seq_offset;
		i->ts_offset = r->ts_offset;
		i->mss = r->mss;
		i->sack = r->flags & SG_CONN_CLIENT_SACK;
		i->ts = r->flags & SG_CONN_CLIENT_TS;
	}
}

unsigned sg_proxy_conns(struct sg_proxy *p, uint32_t *cursor, uint32_t now_ms,
                        struct sg_conn_info *out, unsigned n, unsigned *torn)
{
	struct sg_conn copy[64];
	unsigned got = 0;

	while (got < n && *cursor <= sg_ct_capacity(p->ct)) {
		unsigned want = n - got < 64 ? n - got : 64;
		unsigned k = sg_ct_copy_live(p->ct, cursor, copy, want, torn);

		for (unsigned j = 0; j < k; j++)
			info_of(p, &copy[j], now_ms, &out[got++]);
	}
	return got;
}
