/* Cookie keys: epochs and derivation (see secret.h). */
#include "core/secret.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

struct sg_secret {
	uint8_t  master[SG_SECRET_MASTER_BYTES];
	uint32_t period_s;
};

_Static_assert(SG_SECRET_MASTER_BYTES == crypto_kdf_KEYBYTES, "master is a KDF key");

/* The KDF's context: fixed, so every box derives the same keys. */
static const char kdf_context[crypto_kdf_CONTEXTBYTES] = { 's', 'g', 'c', 'o', 'o', 'k', 'i', 'e' };

int sg_secret_create(const uint8_t *master, uint32_t period_s, struct sg_secret **out)
{
	struct sg_secret *s;

	if (period_s < SG_SECRET_MIN_PERIOD_S || period_s > SG_SECRET_MAX_PERIOD_S)
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	memcpy(s->master, master, sizeof(s->master));
	s->period_s = period_s;
	*out = s;
	return 0;
}

void sg_secret_destroy(struct sg_secret *s)
{
	if (!s)
		return;
	sodium_memzero(s->master, sizeof(s->master));
	free(s);
}

uint32_t sg_secret_epoch(const struct sg_secret *s, uint64_t now_ns)
{
	return (uint32_t)(now_ns / 1000000000ull / s->period_s);
}

uint32_t sg_secret_period_s(const struct sg_secret *s)
{
	return s->period_s;
}

const struct sg_siphash_key *sg_secret_key(const struct sg_secret *s,
                                           struct sg_secret_cache *c, uint32_t epoch)
{
	unsigned slot = epoch & 1;
	uint8_t sub[16];

	if (c->valid[slot] && c->epoch[slot] == epoch)
		return &c->key[slot];
	crypto_kdf_derive_from_key(sub, sizeof(sub), epoch, kdf_context, s->master);
	sg_siphash_key_from_bytes(&c->key[slot], sub);
	sodium_memzero(sub, sizeof(sub));
	c->epoch[slot] = epoch;
	c->valid[slot] = 1;
	return &c->key[slot];
}
