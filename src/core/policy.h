/* What synguard does with a new flow from the WAN, by its source and its
 * destination: the operator's policy.
 *
 * Actions:
 *   proxy   the default: SYN cookies, then a spliced connection
 *   track   bridged and tracked (the FIN/RST rules apply), no cookie
 *   bypass  bridged untouched, no state
 *   drop    dropped
 * Decided in this order:
 *   1. deny list: a source in it is dropped;
 *   2. allow list: a source in it is trusted, and tracked: it skips the
 *      cookie and every rule (a monitoring host, a partner's network);
 *   3. the rules, by destination prefix and port range, first match;
 *   4. the default action.
 * Deny wins over allow: to let one host of a denied prefix through, split
 * the deny prefix around it.  Allow is not bypass: allowed sources still
 * get an entry in the table and the sequence checks of tracked
 * connections; a rule says bypass where that is wanted, for destinations.
 * Monitor mode (the proxy's `monitor` option) decides and counts every
 * flow as the policy says but forwards as a bridge would.
 *
 * The set is what the configuration gives, in one block with no pointer
 * inside (44 kB, whatever it holds), read-only once checked: the caller
 * publishes a new one with a pointer swap and frees the old after a
 * quiescent period.
 * All zero is a valid set: no lists, no rules, proxy everything.
 *
 * The allow and deny lists are sets, not sequences: sg_policy_normalize
 * sorts them and drops entries that another entry of the same list covers
 * (they change no decision), and sg_policy_decide searches them by
 * bisection.  The rules keep the order given.
 *
 * Cost of a decision, per SYN from the WAN: a bisection of each non-empty
 * list (11 probes at most for 1024 entries), then the rules in order, each
 * a family and a port compare and, when those pass, one masked compare
 * (32 bits for IPv4, two words for IPv6; the mask a shift of the length).
 * No allocation, no lock, no write.  Measured on a 2.1 GHz EPYC (a shared
 * VM, IPv4): 4 rules 15-25 ns; 256 rules that all have to be tried
 * 0.9-1 us; two lists of 1024 entries 80-130 ns. */
#ifndef SG_CORE_POLICY_H
#define SG_CORE_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cfgcheck.h"

/* SG_ACTION_, not SG_POLICY_: config.h's enum sg_policy (bad frames,
 * unknown segments) owns SG_POLICY_DROP. */
enum sg_policy_action {
	SG_ACTION_PROXY = 0,
	SG_ACTION_TRACK,
	SG_ACTION_BYPASS,
	SG_ACTION_DROP,
};
#define SG_POLICY_ACTIONS 4

#define SG_POLICY_RULES_MAX    256
#define SG_POLICY_PREFIXES_MAX 1024

/* family 4: addr[0..3] is the address, addr[4..15] zero, len 0..32;
 * family 6: len 0..128.  Bits of addr beyond len are zero. */
struct sg_prefix {
	uint8_t family;
	uint8_t len;
	uint8_t addr[16];
};

struct sg_policy_rule {
	struct sg_prefix dst;
	uint16_t port_lo, port_hi;       /* inclusive; 0..65535: any port */
	enum sg_policy_action action;
};

struct sg_policy_set {
	struct sg_policy_rule rule[SG_POLICY_RULES_MAX];
	unsigned nrules;
	struct sg_prefix allow[SG_POLICY_PREFIXES_MAX];   /* trusted sources: tracked */
	unsigned nallow;
	struct sg_prefix deny[SG_POLICY_PREFIXES_MAX];    /* sources dropped */
	unsigned ndeny;
	enum sg_policy_action default_action;            /* SG_ACTION_PROXY */
};

/* "192.0.2.0/24", "2001:db8::/32", or a host: "192.0.2.7" (/32),
 * "2001:db8::7" (/128).  0, or -EINVAL with *out untouched: not an
 * address, a length out of range or not in plain decimal, bits set beyond
 * the length (a typo more often than not, in a list that decides who is
 * dropped: "192.0.2.1/24" is refused, not read as 192.0.2.0/24), or an
 * IPv4-mapped IPv6 prefix (::ffff:0:0/96 and inside it: IPv4 traffic never
 * matches one, write the IPv4 prefix). */
int sg_prefix_parse(const char *s, struct sg_prefix *out);

/* Sorts the allow and deny lists and drops covered entries, as
 * sg_policy_check demands.  A list holding an invalid entry (or too many)
 * is left as given, so that check names the entry where the caller put
 * it.  Call it, then sg_policy_check, before publishing s. */
void sg_policy_normalize(struct sg_policy_set *s);

/* 0 if s is valid, else -1 and *why names the field by its offset in
 * struct sg_policy_set: SG_CFG_COUNT at nrules, nallow or ndeny;
 * SG_CFG_RANGE at default_action, or at a rule's dst.family, dst.len,
 * dst.addr, port_lo (when above port_hi) or action, or at a list entry's
 * family, len or addr; SG_CFG_ORDER at a list entry that is not past the
 * one before it (the list was not normalized).  An entry's offset is
 * offsetof(struct sg_policy_set, rule) + i * sizeof(struct sg_policy_rule)
 * + offsetof(struct sg_policy_rule, field), and likewise for allow and
 * deny with struct sg_prefix. */
int sg_policy_check(const struct sg_policy_set *s, struct sg_cfg_fault *why);

/* The action for a new flow from src to dst:dport (family 4 or 6; an IPv4
 * address is the first 4 bytes read, an IPv6 one 16).  s must have passed
 * sg_policy_check.  Pure: reads s and the addresses only. */
enum sg_policy_action sg_policy_decide(const struct sg_policy_set *s, uint8_t family,
                                       const uint8_t *src, const uint8_t *dst, uint16_t dport);

/* sg_policy_decide in its two steps, for a caller that keeps the second's
 * answer per destination: the source lists (true and *a set when src is
 * listed), then the rules and the default for dst:dport. */
bool sg_policy_source_listed(const struct sg_policy_set *s, uint8_t family, const uint8_t *src,
                             enum sg_policy_action *a);
enum sg_policy_action sg_policy_destination(const struct sg_policy_set *s, uint8_t family,
                                            const uint8_t *dst, uint16_t dport);

/* "proxy", "track", "bypass", "drop"; NULL for any other value (so a
 * parser can walk the names from 0 until NULL). */
const char *sg_policy_action_name(enum sg_policy_action a);

#endif
