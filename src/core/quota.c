/* Per-source quotas (see quota.h). */
#include "core/quota.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/siphash.h"

struct quota_worker {
	uint32_t count[2][SG_QUOTA_COLS];
} __attribute__((aligned(64)));

struct sg_quota {
	struct sg_siphash_key key;
	unsigned prefix4, prefix6;
	struct quota_worker w[];
};

int sg_quota_create(unsigned nworkers, unsigned prefix4, unsigned prefix6,
                    const uint8_t key[SG_QUOTA_KEY_BYTES], struct sg_quota **out)
{
	struct sg_quota *q;
	size_t bytes = sizeof(*q) + nworkers * sizeof(q->w[0]);

	if (prefix4 > 32 || prefix6 > 128)
		return -EINVAL;
	q = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
	if (!q)
		return -ENOMEM;
	memset(q, 0, bytes);
	sg_siphash_key_from_bytes(&q->key, key);
	q->prefix4 = prefix4;
	q->prefix6 = prefix6;
	*out = q;
	return 0;
}

void sg_quota_destroy(struct sg_quota *q)
{
	free(q);
}

/* The two counters of k's source. */
static void slots(const struct sg_quota *q, const struct sg_flow *k, uint32_t idx[2])
{
	uint8_t src[17] = { k->family };
	unsigned bits = k->family == 4 ? q->prefix4 : q->prefix6;
	uint64_t h;

	memcpy(src + 1, k->wan_addr, bits / 8);
	if (bits % 8)
		src[1 + bits / 8] = (uint8_t)(k->wan_addr[bits / 8] & (0xff00u >> (bits % 8)));
	h = sg_siphash(&q->key, src, sizeof(src));
	idx[0] = (uint32_t)h % SG_QUOTA_COLS;
	idx[1] = (uint32_t)(h >> 32) % SG_QUOTA_COLS;
}

bool sg_quota_take(struct sg_quota *q, unsigned worker, const struct sg_flow *k, uint32_t limit)
{
	struct quota_worker *w = &q->w[worker];
	uint32_t idx[2];

	slots(q, k, idx);
	if (w->count[0][idx[0]] >= limit && w->count[1][idx[1]] >= limit)
		return false;
	w->count[0][idx[0]]++;
	w->count[1][idx[1]]++;
	return true;
}

void sg_quota_give(struct sg_quota *q, unsigned worker, const struct sg_flow *k)
{
	struct quota_worker *w = &q->w[worker];
	uint32_t idx[2];

	slots(q, k, idx);
	if (w->count[0][idx[0]])
		w->count[0][idx[0]]--;
	if (w->count[1][idx[1]])
		w->count[1][idx[1]]--;
}
