/* The list options of synguard.conf: integer lists ("cpus", the cookie
 * MSS tables), prefix lists (policy.allow, policy.deny), policy rules and
 * learn pins.  Reading one from the file or (integer lists) from text,
 * with the messages that name the entry, and printing it back.  config.c
 * hands each list option over from its table walker with what the table
 * says of it (struct sg_cfg_list); this file knows nothing of the table. */
#ifndef SG_DAEMON_CONFIG_LISTS_H
#define SG_DAEMON_CONFIG_LISTS_H

#include <libconfig.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum sg_cfg_list_kind {
	SG_LIST_UINT,              /* [ 1, 2, ... ]: integers in min..max */
	SG_LIST_PREFIX,            /* [ "192.0.2.0/24", ... ]: struct sg_prefix entries */
	SG_LIST_RULE,              /* ( { dst; ports; action; }, ... ): struct sg_policy_rule */
	SG_LIST_PIN,               /* ( { dst; port; mss; ... }, ... ): struct sg_learn_pin */
};

/* Entries an integer list may have at most (cpus has the most). */
#define SG_CFG_LIST_MAX 64

/* What the option table says of one list option. */
struct sg_cfg_list {
	enum sg_cfg_list_kind kind;
	long min, max;             /* SG_LIST_UINT: each entry's range */
	unsigned width;            /* bytes of an entry */
	unsigned n_max;            /* entries at most */
};

/* Entries a list must have at least: integer lists need one (no value
 * means nothing); the lists of prefixes, rules and pins may be empty. */
unsigned sg_cfg_list_min(const struct sg_cfg_list *l);

/* Reads setting s into entries and *n.  `who` names it in messages
 * ("FILE:LINE: path").  0, or -EINVAL with the message in err. */
int sg_cfg_list_read(const struct sg_cfg_list *l, config_setting_t *s, const char *who,
                     uint8_t *entries, unsigned long *n, char *err, size_t errlen);

/* An integer list from text, "1,3,5-7": checked whole before anything is
 * stored, so a refused list leaves entries and *n as they were. */
int sg_cfg_list_text(const struct sg_cfg_list *l, const char *who, const char *text,
                     uint8_t *entries, unsigned long *n, char *err, size_t errlen);

/* One entry of a list of groups (SG_LIST_PIN, SG_LIST_RULE) from words,
 * as the control socket takes them: "PREFIX [FIELD VALUE]...", with the
 * fields the file gives the entry (learn.pins: port, mss, wscale, sack,
 * timestamps; policy.rules: ports, action), PREFIX its dst, and a boolean
 * also as on|off.  The words are read by the file's own parser, so the
 * syntax, ranges and messages are the file's.  `who` names the request
 * in messages.  0, or -EINVAL with the message in err. */
int sg_cfg_entry_words(const struct sg_cfg_list *l, int argc, char *const argv[], const char *who,
                       void *entry, char *err, size_t errlen);

/* A prefix as the file writes it, "ADDRESS/LENGTH" (family 4 or 6). */
void sg_cfg_prefix_text(uint8_t family, uint8_t len, const uint8_t *addr, char *buf, size_t cap);

/* The n entries in config syntax: [ ... ] or ( { ... }, ... ). */
void sg_cfg_list_print(const struct sg_cfg_list *l, const uint8_t *entries, unsigned long n,
                       FILE *f);

/* Decimal digits and nothing else before *end (strtoull alone would take
 * " 2", "+2" and "-1" as 2^64 - 1): 0, -EINVAL or -ERANGE. */
int sg_cfg_decimal(const char *s, char **end, unsigned long long *v);

/* Index of word in "a|b|c", or -1. */
int sg_cfg_word_index(const char *words, const char *word);

/* An integer field of 1, 2 or 4 bytes. */
static inline void sg_cfg_put_uint(void *p, unsigned width, unsigned long v)
{
	switch (width) {
	case 1: *(uint8_t *)p = (uint8_t)v; break;
	case 2: *(uint16_t *)p = (uint16_t)v; break;
	default: *(uint32_t *)p = (uint32_t)v; break;
	}
}

static inline unsigned long sg_cfg_get_uint(const void *p, unsigned width)
{
	switch (width) {
	case 1: return *(const uint8_t *)p;
	case 2: return *(const uint16_t *)p;
	default: return *(const uint32_t *)p;
	}
}

#endif
