/* The table's dump and load for a successor process (see ct_dump.h). */
#include "core/ct_dump.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <sodium.h>

#include "core/conn.h"
#include "core/context.h"

static const char dump_magic[8] = { 'S', 'G', 'C', 'T', 'D', 'U', 'M', 'P' };

struct dump_head {
	char     magic[8];
	uint32_t version;
	uint32_t head_bytes;
	uint32_t rec_bytes;
	uint32_t payload_bytes;
	uint64_t layout;
	uint64_t count;
	uint64_t now_ns;
	uint8_t  seed[SG_PROXY_SEED_BYTES];
	uint8_t  tag[SG_CT_DUMP_TAG_BYTES];
	uint8_t  sum[32];         /* of the header with sum zeroed, then the records */
};

struct dump_rec {
	struct sg_flow key;
	uint8_t  state;
	uint8_t  owner;
	uint8_t  pad[6];
	int32_t  left_ms;         /* expiry - the dump's instant */
	uint8_t  payload[SG_CT_PAYLOAD_BYTES];
};

/* The magic, version and sizes stay where they are in every version, so
 * any later reader names what differs rather than misreading it. */
_Static_assert(offsetof(struct dump_head, version) == 8 &&
               offsetof(struct dump_head, payload_bytes) == 20 &&
               offsetof(struct dump_head, layout) == 24, "the header's first fields never move");
_Static_assert(sizeof(struct dump_rec) % 8 == 0, "records stay aligned");

/* FNV-1a over the numbers that fix the record's meaning in memory. */
static uint64_t fnv(uint64_t h, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++) {
		h ^= (v >> (8 * i)) & 0xff;
		h *= 0x100000001b3ull;
	}
	return h;
}

#define F(type, f) offsetof(struct type, f), sizeof(((struct type *)0)->f)

static uint64_t layout_fingerprint(void)
{
	static const uint64_t fields[] = {
		sizeof(struct sg_flow), F(sg_flow, wan_addr), F(sg_flow, lan_addr),
		F(sg_flow, wan_port), F(sg_flow, lan_port), F(sg_flow, vid), F(sg_flow, family),
		sizeof(struct sg_conn_rec), F(sg_conn_rec, seq_offset), F(sg_conn_rec, ts_offset),
		F(sg_conn_rec, client_isn), F(sg_conn_rec, client_tsval), F(sg_conn_rec, max_end),
		F(sg_conn_rec, redge), F(sg_conn_rec, client_win), F(sg_conn_rec, mss),
		F(sg_conn_rec, client_ws), F(sg_conn_rec, server_ws), F(sg_conn_rec, our_ws),
		F(sg_conn_rec, flags), F(sg_conn_rec, retries), F(sg_conn_rec, nvlan),
		F(sg_conn_rec, seen), F(sg_conn_rec, wan_mac), F(sg_conn_rec, lan_mac),
		F(sg_conn_rec, shifts), F(sg_conn_rec, vlan_tpid), F(sg_conn_rec, vlan_tci),
		SG_WS_NONE, SG_CONN_PROXIED, SG_CONN_CLIENT_SACK, SG_CONN_CLIENT_TS,
		SG_CONN_SERVER_SACK, SG_CONN_SERVER_TS, SG_CONN_FIN_WAN, SG_CONN_FIN_LAN,
		SG_CONN_LAST_FIN_LAN, SG_SEEN_END_WAN, SG_SEEN_END_LAN, SG_SEEN_WIN_WAN,
		SG_SEEN_WIN_LAN, SG_SEEN_NO_SCALE, SG_SEEN_COUNTED, SG_SEEN_OPENED_WAN,
		SG_DIR_WAN, SG_DIR_LAN, SG_CT_STATE_COUNT,
	};
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		h = fnv(h, fields[i]);
	/* The states by name, in order: a state renumbered is another layout. */
	for (unsigned s = 0; s < SG_CT_STATE_COUNT; s++)
		for (const char *n = sg_ct_state_name((enum sg_ct_state)s); *n; n++)
			h = fnv(h, (uint8_t)*n);
	return h;
}

#undef F

static void checksum(const struct dump_head *hd, const void *recs, size_t rec_len, uint8_t out[32])
{
	crypto_generichash_state st;
	struct dump_head h = *hd;

	memset(h.sum, 0, sizeof(h.sum));
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)&h, sizeof(h));
	crypto_generichash_update(&st, recs, rec_len);
	crypto_generichash_final(&st, out, 32);
}

size_t sg_ct_dump_size(struct sg_proxy *p)
{
	return sizeof(struct dump_head) + (size_t)sg_ct_count(p->ct) * sizeof(struct dump_rec);
}

struct walk {
	struct dump_rec *rec;
	size_t room, n;
	uint32_t now_ms;
};

static void dump_one(void *arg, const struct sg_conn *c)
{
	struct walk *w = arg;
	struct dump_rec *r;

	if (w->n == w->room)
		return;     /* sg_ct_count was approximate: the caller sees n < count */
	r = &w->rec[w->n++];
	memset(r, 0, sizeof(*r));
	r->key = c->key;
	r->state = c->state;
	r->owner = c->owner;
	r->left_ms = (int32_t)(c->expires_ms - w->now_ms);
	memcpy(r->payload, c->payload, sizeof(r->payload));
}

int sg_ct_dump(struct sg_proxy *p, struct sg_ct_dump_info *info, void *buf, size_t cap,
               size_t *len)
{
	struct dump_head *h = buf;
	struct walk w;

	if (cap < sizeof(*h) || ((uintptr_t)buf & 7))
		return -ENOSPC;
	w.rec = (struct dump_rec *)(h + 1);
	w.room = (cap - sizeof(*h)) / sizeof(struct dump_rec);
	w.n = 0;
	w.now_ms = (uint32_t)(info->now_ns / 1000000u);
	if (w.room < sg_ct_count(p->ct))
		return -ENOSPC;
	sg_ct_walk(p->ct, dump_one, &w);

	memset(h, 0, sizeof(*h));
	memcpy(h->magic, dump_magic, sizeof(dump_magic));
	h->version = SG_CT_DUMP_VERSION;
	h->head_bytes = sizeof(struct dump_head);
	h->rec_bytes = sizeof(struct dump_rec);
	h->payload_bytes = SG_CT_PAYLOAD_BYTES;
	h->layout = layout_fingerprint();
	h->count = w.n;
	h->now_ns = info->now_ns;
	memcpy(h->seed, info->seed, sizeof(h->seed));
	memcpy(h->tag, info->tag, sizeof(h->tag));
	checksum(h, w.rec, w.n * sizeof(struct dump_rec), h->sum);
	info->count = w.n;
	*len = sizeof(*h) + w.n * sizeof(struct dump_rec);
	return 0;
}

static int refuse(struct sg_ct_dump_why *why, enum sg_ct_dump_fault f, uint64_t found,
                  uint64_t expected)
{
	why->fault = f;
	why->found = found;
	why->expected = expected;
	return -EINVAL;
}

int sg_ct_dump_check(const void *buf, size_t len, struct sg_ct_dump_info *info,
                     struct sg_ct_dump_why *why)
{
	struct dump_head h;
	uint8_t sum[32];
	uint64_t want;

	why->fault = SG_CT_DUMP_OK;
	/* The fixed fields first, so a dump of another version or size is
	 * named as such, not as short. */
	if (len < offsetof(struct dump_head, layout))
		return refuse(why, SG_CT_DUMP_SHORT, len, sizeof(h));
	memset(&h, 0, sizeof(h));
	memcpy(&h, buf, len < sizeof(h) ? len : sizeof(h));
	if (memcmp(h.magic, dump_magic, sizeof(dump_magic)) != 0)
		return refuse(why, SG_CT_DUMP_MAGIC, 0, 0);
	if (h.version != SG_CT_DUMP_VERSION)
		return refuse(why, SG_CT_DUMP_VERSION_DIFF, h.version, SG_CT_DUMP_VERSION);
	if (h.head_bytes != sizeof(h))
		return refuse(why, SG_CT_DUMP_HEAD_SIZE, h.head_bytes, sizeof(h));
	if (h.rec_bytes != sizeof(struct dump_rec))
		return refuse(why, SG_CT_DUMP_RECORD_SIZE, h.rec_bytes, sizeof(struct dump_rec));
	if (h.payload_bytes != SG_CT_PAYLOAD_BYTES)
		return refuse(why, SG_CT_DUMP_PAYLOAD_SIZE, h.payload_bytes, SG_CT_PAYLOAD_BYTES);
	if (len < sizeof(h))
		return refuse(why, SG_CT_DUMP_SHORT, len, sizeof(h));
	if (h.layout != layout_fingerprint())
		return refuse(why, SG_CT_DUMP_LAYOUT, h.layout, layout_fingerprint());
	want = h.count > (SIZE_MAX - sizeof(h)) / sizeof(struct dump_rec)
	       ? UINT64_MAX : sizeof(h) + h.count * sizeof(struct dump_rec);
	if (len != want)
		return refuse(why, SG_CT_DUMP_LENGTH, len, want);
	checksum(&h, (const uint8_t *)buf + sizeof(h), len - sizeof(h), sum);
	if (sodium_memcmp(sum, h.sum, sizeof(sum)) != 0)
		return refuse(why, SG_CT_DUMP_CHECKSUM, 0, 0);
	if (info) {
		memcpy(info->seed, h.seed, sizeof(info->seed));
		memcpy(info->tag, h.tag, sizeof(info->tag));
		info->now_ns = h.now_ns;
		info->count = h.count;
	}
	sodium_memzero(&h, sizeof(h));
	return 0;
}

/* One entry into the fresh table, with its time left less `elapsed`. */
static bool load_one(struct sg_proxy *p, const struct dump_rec *r, uint32_t now_ms,
                     uint32_t elapsed_ms)
{
	unsigned worker = r->owner % p->nworkers;
	uint8_t payload[SG_CT_PAYLOAD_BYTES];
	struct sg_conn_rec *rec = (struct sg_conn_rec *)(void *)payload;
	struct sg_conn *c, *old;
	int64_t left = (int64_t)r->left_ms - elapsed_ms;
	int err;

	memcpy(payload, r->payload, sizeof(payload));
	/* The quota a freed entry gives back must have been taken here. */
	if (!p->quota)
		rec->seen &= (uint8_t)~SG_SEEN_COUNTED;
	c = sg_ct_insert(p->ct, worker, &r->key, sg_ct_hash(p->ct, &r->key),
	                 (enum sg_ct_state)r->state, payload, now_ms, &old, &err);
	if (!c)
		return false;
	if (rec->seen & SG_SEEN_COUNTED)
		sg_quota_take(p->quota, worker, &r->key, UINT32_MAX);
	sg_ct_set_expiry(p->ct, worker, c, now_ms + (uint32_t)(left > 0 ? left : 0));
	return true;
}

int sg_ct_dump_load(struct sg_proxy *p, const void *buf, size_t len, uint64_t now_ns,
                    struct sg_ct_load_result *res, struct sg_ct_dump_why *why)
{
	const struct dump_rec *recs = (const struct dump_rec *)((const uint8_t *)buf +
	                                                          sizeof(struct dump_head));
	struct sg_ct_dump_info info;
	uint32_t now_ms = (uint32_t)(now_ns / 1000000u);
	uint64_t elapsed;

	res->loaded = res->refused = 0;
	if (sg_ct_dump_check(buf, len, &info, why))
		return -EINVAL;
	sodium_memzero(info.seed, sizeof(info.seed));
	for (uint64_t i = 0; i < info.count; i++) {
		uint8_t s = recs[i].state;

		if (s == SG_CT_FREE || s >= SG_CT_STATE_COUNT)
			return refuse(why, SG_CT_DUMP_ENTRY, i, 0);
	}
	/* A dump "from the future" (another clock) keeps its times whole. */
	elapsed = now_ns > info.now_ns ? (now_ns - info.now_ns) / 1000000u : 0;
	if (elapsed > INT32_MAX)
		elapsed = INT32_MAX;
	for (uint64_t i = 0; i < info.count; i++) {
		if (load_one(p, &recs[i], now_ms, (uint32_t)elapsed))
			res->loaded++;
		else
			res->refused++;
	}
	return 0;
}
