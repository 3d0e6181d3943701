/* The proxy's configuration: every value the core's behaviour depends on,
 * with its limits as named constants.  The daemon's option table
 * (daemon/config.c) maps each field to an option of synguard.conf and
 * states its range from these constants. */
#ifndef SG_CORE_CONFIG_H
#define SG_CORE_CONFIG_H

#include <stdint.h>

#include "core/cfgcheck.h"
#include "core/conntrack.h"
#include "core/cookie.h"
#include "core/halfopen.h"
#include "core/learn.h"
#include "core/policy.h"
#include "core/ratelimit.h"
#include "net/tcpopt.h"

/* MSS synguard offers in its SYN-ACKs: from the minimum every host must
 * accept (net/tcpopt.h) to what a 64 KiB IP packet leaves room for. */
#define SG_SYNACK_MSS4_MAX 65495
#define SG_SYNACK_MSS6_MAX 65475
#define SG_SOURCE_SHARE_MAX 100

/* SYNs to a server: the first, then re-sends after 1, 2, 4 and 8 s; the
 * client gets a RST when the server has not answered 16 s after the last. */
#define SG_PROXY_SYN_TRIES 5

/* Bytes of entropy the caller draws for sg_proxy_create. */
#define SG_PROXY_SEED_BYTES 32

enum sg_policy {
	SG_POLICY_DROP = 0,
	SG_POLICY_FORWARD,
};

/* SYNs with TCP-MD5 or TCP-AO, which a cookie SYN-ACK could not sign. */
enum sg_signed_syn {
	SG_SIGNED_SYN_TRACK = 0,     /* forward and track, no cookie */
	SG_SIGNED_SYN_DROP,
};

struct sg_proxy_config {
	struct sg_ct_config ct;
	uint16_t synack_mss4;        /* MSS synguard offers IPv4 clients */
	uint16_t synack_mss6;        /* ... and IPv6 clients */
	uint8_t  synack_wscale;      /* WS offered to clients that send WS */
	uint8_t  bad_frame_policy;   /* enum sg_policy, malformed frames */
	uint8_t  unknown_policy;     /* enum sg_policy, WAN segments of no
	                                known connection (e.g. after a restart) */
	uint8_t  signed_syn_policy;  /* enum sg_signed_syn */
	bool     monitor;            /* decide and count, but forward every
	                                frame as a bridge would */
	uint16_t uplink_mss_clamp;   /* 0: off; else clamp MSS of LAN-opened SYNs */
	uint16_t rst_slack;          /* bytes an RST's SEQ may differ from the
	                                expected one (RFC 5961 §3 spirit) */
	uint32_t cookie_period_s;    /* secret rotation period; cookies live
	                                one to two periods */
	uint8_t  source_share;       /* percent of each worker's share of the
	                                table one source may hold (quota.h);
	                                100: no quota */
	uint8_t  source_prefix4;     /* a source: these bits of its address */
	uint8_t  source_prefix6;
	struct sg_cookie_config cookie;
	struct sg_learn_config learn;        /* what servers support */
	struct sg_halfopen_config halfopen;  /* the SYN cache */
	bool     ratelimit_on;               /* token buckets per source prefix */
	struct sg_ratelimit_config ratelimit;
	struct sg_policy_set policy;         /* per destination; allow, deny */
	/* Not options: what the caller hands in at sg_proxy_create. */
	const uint8_t *seed;         /* SG_PROXY_SEED_BYTES of randomness the
	                                caller drew (getrandom): keys the table's
	                                hash and, without shared_key, the cookies */
	const uint8_t *shared_key;   /* NULL, or SG_SECRET_MASTER_BYTES shared by
	                                a cluster (then now_ns must be a clock the
	                                boxes share, see docs/cookies.md) */
};

void sg_proxy_config_default(struct sg_proxy_config *c);

/* 0 if valid, else -1 and *why names the field (its offset in struct
 * sg_proxy_config) and the rule it breaks. */
int sg_proxy_config_check(const struct sg_proxy_config *c, unsigned nworkers,
                          struct sg_cfg_fault *why);

#endif
