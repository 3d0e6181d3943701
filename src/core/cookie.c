/* SYN cookies: encode, MAC, check (layouts in cookie.h). */
#include "core/cookie.h"

#include "core/siphash_x4.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* Defaults: docs/cookies.md says where they come from. */
static const uint16_t def_isn_mss[2][SG_COOKIE_ISN_MSS_MAX] = {
	{ 536, 1300, 1440, 1460 },
	{ 1220, 1420, 1440, 8940 },
};
static const uint16_t def_ts_mss[2][SG_COOKIE_TS_MSS_MAX] = {
	{ 536, 1200, 1220, 1260, 1300, 1320, 1360, 1380,
	  1400, 1420, 1436, 1440, 1452, 1460, 4052, 8960 },
	{ 1220, 1232, 1240, 1260, 1280, 1300, 1340, 1360,
	  1380, 1400, 1412, 1420, 1432, 1440, 4012, 8940 },
};
static const uint16_t mss_floor[2] = { SG_TCP_MSS4_MIN, SG_TCP_MSS6_MIN };

#define TS_CLOCK_SHIFT 8        /* ms per clock tick: 256 */
#define TS_LOW_BITS    8

void sg_cookie_config_default(struct sg_cookie_config *c)
{
	memcpy(c->isn_mss, def_isn_mss, sizeof(c->isn_mss));
	memcpy(c->ts_mss, def_ts_mss, sizeof(c->ts_mss));
	c->isn_mss_n[0] = c->isn_mss_n[1] = SG_COOKIE_ISN_MSS_MAX;
	c->ts_mss_n[0] = c->ts_mss_n[1] = SG_COOKIE_TS_MSS_MAX;
}

static int check_table(const uint16_t *t, unsigned n, unsigned max, uint16_t floor,
                       size_t off, struct sg_cfg_fault *why)
{
	if (n < 1 || n > max)
		return sg_cfg_fail(why, SG_CFG_COUNT, off);
	if (t[0] < floor)
		return sg_cfg_fail(why, SG_CFG_RANGE, off);
	for (unsigned i = 1; i < n; i++)
		if (t[i] <= t[i - 1])
			return sg_cfg_fail(why, SG_CFG_ORDER, off);
	return 0;
}

int sg_cookie_config_check(const struct sg_cookie_config *c, struct sg_cfg_fault *why)
{
	for (unsigned f = 0; f < 2; f++) {
		if (check_table(c->isn_mss[f], c->isn_mss_n[f], SG_COOKIE_ISN_MSS_MAX, mss_floor[f],
		                offsetof(struct sg_cookie_config, isn_mss[f]), why) ||
		    check_table(c->ts_mss[f], c->ts_mss_n[f], SG_COOKIE_TS_MSS_MAX, mss_floor[f],
		                offsetof(struct sg_cookie_config, ts_mss[f]), why))
			return -1;
	}
	return 0;
}

/* The largest entry not above mss; the first entry (the floor) below it. */
static unsigned mss_index(const uint16_t *t, unsigned n, uint16_t mss)
{
	unsigned i = n - 1;

	while (i > 0 && t[i] > mss)
		i--;
	return i;
}

/* Eight bytes: a's four, then b's, as they sit in memory. */
static inline uint64_t pack_pair(const void *a, const void *b)
{
	uint8_t t[8];
	uint64_t w;

	memcpy(t, a, 4);
	memcpy(t + 4, b, 4);
	memcpy(&w, t, 8);
	return w;
}

/* The input of the one SipHash over everything a cookie binds, stored as
 * whole 8-byte words, the width SipHash loads it in: assembled from 2- and
 * 4-byte stores, each load would wait on store forwarding.  Returns the
 * words written (4 for IPv4, 7 for IPv6). */
static unsigned cookie_input(uint64_t w[SG_COOKIE_MAC_WORDS], const struct sg_flow *f,
                             uint32_t client_isn, uint32_t epoch, uint8_t isn_low,
                             bool has_ts, uint32_t ts_clock, uint8_t ts_low5)
{
	const uint8_t tail[4] = { isn_low, f->family, has_ts ? (uint8_t)(0x80 | ts_low5) : 0, 0 };
	unsigned n = 0;

	if (f->family == 4) {
		w[n++] = pack_pair(f->wan_addr, f->lan_addr);
	} else {
		w[n++] = pack_pair(f->wan_addr, f->wan_addr + 4);
		w[n++] = pack_pair(f->wan_addr + 8, f->wan_addr + 12);
		w[n++] = pack_pair(f->lan_addr, f->lan_addr + 4);
		w[n++] = pack_pair(f->lan_addr + 8, f->lan_addr + 12);
	}
	w[n++] = pack_pair(&f->wan_port, f->vid);   /* ports, then both VLAN ids */
	w[n++] = pack_pair(&client_isn, &epoch);
	w[n++] = pack_pair(tail, &ts_clock);
	return n;
}

static uint64_t cookie_mac(const struct sg_siphash_key *key, const struct sg_flow *f,
                           uint32_t client_isn, uint32_t epoch, uint8_t isn_low,
                           bool has_ts, uint32_t ts_clock, uint8_t ts_low5)
{
	uint64_t w[SG_COOKIE_MAC_WORDS];
	unsigned n = cookie_input(w, f, client_isn, epoch, isn_low, has_ts, ts_clock, ts_low5);

	return sg_siphash(key, w, n * 8);
}

static inline uint32_t isn_mac(uint64_t m)
{
	return (uint32_t)(m & ((1u << SG_COOKIE_ISN_MAC_BITS) - 1));
}

static inline uint32_t ts_mac(uint64_t m)
{
	return (uint32_t)(m >> 32) & ((1u << SG_COOKIE_TS_MAC_BITS) - 1);
}

void sg_cookie_clock_read(const struct sg_secret *s, struct sg_secret_cache *cache,
                          uint64_t now_ns, struct sg_cookie_clock *ck)
{
	ck->at_ns = now_ns;
	ck->epoch = sg_secret_epoch(s, now_ns);
	ck->ts_clock = (uint32_t)(now_ns / 1000000u >> TS_CLOCK_SHIFT) & 0xffffff;
	ck->key = *sg_secret_key(s, cache, ck->epoch);
}

void sg_cookie_prepare(const struct sg_cookie_config *cfg, const struct sg_cookie_clock *ck,
                       const struct sg_flow *f, uint32_t client_isn,
                       const struct sg_tcp_opts *o, bool ecn, struct sg_cookie_prep *pr)
{
	unsigned fam = f->family == 4 ? 0 : 1;
	uint16_t mss = (o->present & SG_OPT_MSS) ? o->mss : mss_floor[fam];
	unsigned ws = (o->present & SG_OPT_WS) ? (o->wscale > SG_TCP_WSCALE_MAX ? SG_TCP_WSCALE_MAX : o->wscale) : SG_COOKIE_WS_NONE;
	bool sack = (o->present & SG_OPT_SACKPERM) != 0;
	bool ts = (o->present & SG_OPT_TS) != 0;
	unsigned isn_idx = mss_index(cfg->isn_mss[fam], cfg->isn_mss_n[fam], mss);
	unsigned ts_idx = mss_index(cfg->ts_mss[fam], cfg->ts_mss_n[fam], mss);
	uint8_t isn_low = (uint8_t)((ck->epoch & 1) << 7 | (sack ? 1u : 0u) << 6 | ws << 2 | isn_idx);
	uint8_t ts_low5 = (uint8_t)((ecn ? 1u : 0u) << 4 | ts_idx);

	pr->key = ck->key;
	pr->nwords = (uint8_t)cookie_input(pr->w, f, client_isn, ck->epoch, isn_low, ts,
	                                   ts ? ck->ts_clock : 0, ts ? ts_low5 : 0);
	pr->isn_low = isn_low;
	pr->ts_low5 = ts_low5;
	pr->clock = ck->ts_clock;
	pr->mss = ts ? cfg->ts_mss[fam][ts_idx] : cfg->isn_mss[fam][isn_idx];
	pr->wscale = (uint8_t)ws;
	pr->ts = ts;
	pr->sack = sack;
	pr->ecn = ts && ecn;
}

void sg_cookie_finish(const struct sg_cookie_prep *pr, uint64_t m, struct sg_cookie_result *out)
{
	out->isn = isn_mac(m) << 8 | pr->isn_low;
	out->tsval = pr->ts ? (pr->clock << TS_LOW_BITS | ts_mac(m) << 5 | pr->ts_low5) : 0;
	out->ts = pr->ts;
	out->sack = pr->sack;
	out->has_ws = pr->wscale != SG_COOKIE_WS_NONE;
	out->wscale = out->has_ws ? pr->wscale : 0;
	out->ecn = pr->ecn;
	out->mss = pr->mss;
}

uint64_t sg_cookie_prep_mac(const struct sg_cookie_prep *pr)
{
	return sg_siphash(&pr->key, pr->w, pr->nwords * 8u);
}

static bool same_key(const struct sg_siphash_key *a, const struct sg_siphash_key *b)
{
	uint64_t a0, a1, b0, b1;

	memcpy(&a0, a->b, 8);
	memcpy(&a1, a->b + 8, 8);
	memcpy(&b0, b->b, 8);
	memcpy(&b1, b->b + 8, 8);
	return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

void sg_cookie_mac_n(const struct sg_cookie_prep *const pr[], unsigned n, uint64_t mac[])
{
	/* Lanes take inputs of one length under one key: one run for each
	 * input length (IPv4, IPv6) under the first input's key, filled in
	 * order, four at a time; a partial run and other keys (a burst that
	 * crossed an epoch) go alone. */
	unsigned run[2][SG_SIPHASH_LANES], len[2] = { 0, 0 };

	for (unsigned i = 0; i < n; i++) {
		unsigned r = pr[i]->nwords == 4 ? 0 : 1;

		if ((pr[i]->nwords != 4 && pr[i]->nwords != 7) || !same_key(&pr[i]->key, &pr[0]->key)) {
			mac[i] = sg_cookie_prep_mac(pr[i]);
			continue;
		}
		run[r][len[r]++] = i;
		if (len[r] == SG_SIPHASH_LANES) {
			const void *msg[SG_SIPHASH_LANES];

			for (unsigned l = 0; l < SG_SIPHASH_LANES; l++)
				msg[l] = pr[run[r][l]]->w;
			if (run[r][SG_SIPHASH_LANES - 1] - run[r][0] == SG_SIPHASH_LANES - 1) {
				sg_siphash_x4(&pr[i]->key, msg, pr[i]->nwords * 8u, &mac[run[r][0]]);
			} else {
				uint64_t out[SG_SIPHASH_LANES];

				sg_siphash_x4(&pr[i]->key, msg, pr[i]->nwords * 8u, out);
				for (unsigned l = 0; l < SG_SIPHASH_LANES; l++)
					mac[run[r][l]] = out[l];
			}
			len[r] = 0;
		}
	}
	for (unsigned r = 0; r < 2; r++)
		for (unsigned l = 0; l < len[r]; l++)
			mac[run[r][l]] = sg_cookie_prep_mac(pr[run[r][l]]);
}

void sg_cookie_make(const struct sg_cookie_config *cfg, const struct sg_secret *s,
                    struct sg_secret_cache *cache, const struct sg_flow *f,
                    uint32_t client_isn, const struct sg_tcp_opts *o, bool ecn,
                    uint64_t now_ns, struct sg_cookie_result *out)
{
	struct sg_cookie_prep pr;
	struct sg_cookie_clock ck;

	sg_cookie_clock_read(s, cache, now_ns, &ck);
	sg_cookie_prepare(cfg, &ck, f, client_isn, o, ecn, &pr);
	sg_cookie_finish(&pr, sg_cookie_prep_mac(&pr), out);
}

int sg_cookie_check(const struct sg_cookie_config *cfg, const struct sg_secret *s,
                    struct sg_secret_cache *cache, const struct sg_flow *f,
                    uint32_t client_isn, uint32_t cookie, const uint32_t *tsecr,
                    uint64_t now_ns, struct sg_cookie_result *out)
{
	unsigned fam = f->family == 4 ? 0 : 1;
	uint8_t isn_low = (uint8_t)cookie;
	uint32_t now_epoch = sg_secret_epoch(s, now_ns);
	/* The parity bit says which of the two live epochs made it. */
	uint32_t epoch = (now_epoch & 1) == (uint32_t)(isn_low >> 7) ? now_epoch : now_epoch - 1;
	unsigned isn_idx = isn_low & 3, ws = (isn_low >> 2) & 0xf;
	bool ts = tsecr != NULL;
	uint32_t clock = 0;
	uint8_t ts_low5 = 0;
	uint64_t m;

	if (isn_idx >= cfg->isn_mss_n[fam])
		return -EBADMSG;
	if (ts) {
		clock = *tsecr >> TS_LOW_BITS;
		ts_low5 = (uint8_t)(*tsecr & 0x1f);
		if ((ts_low5 & 0xf) >= cfg->ts_mss_n[fam])
			return -EBADMSG;
	}
	m = cookie_mac(sg_secret_key(s, cache, epoch), f, client_isn, epoch, isn_low,
	               ts, clock, ts_low5);
	if (isn_mac(m) != cookie >> 8)
		return -EBADMSG;
	if (ts) {
		uint32_t now_clock = (uint32_t)(now_ns / 1000000u >> TS_CLOCK_SHIFT) & 0xffffff;
		uint32_t age = (now_clock - clock) & 0xffffff;
		uint32_t max_age = (2u * sg_secret_period_s(s) * 1000u) >> TS_CLOCK_SHIFT;

		if (ts_mac(m) != ((*tsecr >> 5) & 7))
			return -EBADMSG;
		if (age > max_age + 1)
			return -ESTALE;
	}
	out->isn = cookie;
	out->tsval = ts ? *tsecr : 0;
	out->ts = ts;
	out->sack = (isn_low >> 6) & 1;
	out->has_ws = ws != SG_COOKIE_WS_NONE;
	out->wscale = out->has_ws ? (uint8_t)ws : 0;
	out->ecn = ts && (ts_low5 & 0x10);
	out->mss = ts ? cfg->ts_mss[fam][ts_low5 & 0xf] : cfg->isn_mss[fam][isn_idx];
	return 0;
}
