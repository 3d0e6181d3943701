/* Per-worker counters of the proxy: one struct per worker, written only by
 * that worker, no atomics on the per-packet path.  Readers (the control
 * thread) sum the workers' structs; a torn read of a 64-bit counter cannot
 * happen on the 64-bit targets synguard runs on.
 *
 * Counters are an array indexed by enum sg_stat, so the control socket and
 * the metrics exporter list them by name without knowing each one.  Every
 * frame the core does not forward is counted under a reason.
 */
#ifndef SG_CORE_STATS_H
#define SG_CORE_STATS_H

#include <stdint.h>

#include "net/pkt.h"

#define SG_STATS_LIST(X)                                                       \
	/* what came in */                                                     \
	X(RX_WAN,             "rx_wan")                                        \
	X(RX_LAN,             "rx_lan")                                        \
	X(RX_NOT_IP,          "rx_not_ip")                                     \
	X(RX_IP_OTHER,        "rx_ip_other")                                   \
	X(RX_FRAGMENT,        "rx_fragment")                                   \
	X(RX_TCP,             "rx_tcp")                                        \
	X(RX_BAD,             "rx_bad")                                        \
	/* verdicts */                                                         \
	X(FORWARDED,          "forwarded")                                     \
	X(CONSUMED,           "consumed")                                      \
	X(DROPPED,            "dropped")                                       \
	/* the handshake */                                                    \
	X(SYN_RECEIVED,       "syn_received")                                  \
	X(SYNACK_SENT,        "synack_sent")                                   \
	X(COOKIE_OK,          "cookie_ok")                                     \
	X(COOKIE_PROBE,       "cookie_ok_probe") /* opened by a window probe */\
	X(SYN_CACHED,         "syn_cached")    /* SYN kept in the SYN cache */ \
	X(SYN_CACHE_OPEN,     "syn_cache_opened") /* opened with exact opts */ \
	X(SYN_TO_SERVER,      "syn_to_server")                                 \
	X(SYN_RETRANSMIT,     "syn_retransmit")                                \
	X(SERVER_TIMEOUT,     "server_timeout")                                \
	X(ACK_TO_SERVER,      "ack_to_server")                                 \
	X(WINDOW_UPDATE,      "window_update")                                 \
	X(SERVER_REFUSED,     "server_refused")                                \
	X(PROXIED_OPEN,       "proxied_established")                           \
	X(UPLINK_TRACKED,     "uplink_tracked")                                \
	X(UPLINK_PICKUP,      "uplink_pickup")                                 \
	X(WAN_TRACKED,        "wan_tracked")   /* WAN SYN tracked, no cookie */ \
	X(POLICY_BYPASS,      "policy_bypass") /* bridged untouched by rule */  \
	X(SYN_SIGNED,         "syn_signed")    /* TCP-MD5 or TCP-AO SYN */     \
	X(SYN_FASTOPEN,       "syn_fastopen")  /* answered without Fast Open */\
	X(SYN_MPTCP,          "syn_mptcp")     /* answered without MPTCP */    \
	X(MONITOR_PASSED,     "monitor_passed") /* forwarded: monitor mode */ \
	X(CONN_REPLACED,      "conn_replaced")                                 \
	X(SYN_FORWARDED,      "syn_forwarded_existing")                        \
	X(ICMP_TRANSLATED,    "icmp_translated")                               \
	X(SACK_STRIPPED,      "sack_stripped")                                 \
	X(TS_STRIPPED,        "ts_stripped")                                   \
	X(MSS_CLAMPED,        "mss_clamped")                                   \
	X(RST_CHALLENGED,     "rst_challenged")  /* RST in window: ACK sent */ \
	X(RST_REFUSED,        "rst_refused_client") /* no room: client reset */ \
	/* checksums completed for endpoints with TX offload (veth, virtio) */ \
	X(CSUM_COMPLETED,     "csum_completed")                                \
	/* drops, each with its reason; last, from DROP_BAD_FRAME on (capture \
	 * tells a drop by its place: SG_STAT_DROP_FIRST) */                   \
	X(DROP_BAD_FRAME,     "drop_bad_frame")                                \
	X(DROP_BAD_CSUM,      "drop_bad_checksum")                             \
	X(DROP_COOKIE_BAD,    "drop_cookie_invalid")                           \
	X(DROP_UNKNOWN,       "drop_unknown_connection")                       \
	X(DROP_TABLE_FULL,    "drop_table_full")                               \
	X(DROP_SOURCE_QUOTA,  "drop_source_quota") /* source holds its share */\
	X(DROP_RATELIMIT,     "drop_rate_limited") /* prefix out of tokens */  \
	X(DROP_POLICY,        "drop_policy")     /* a deny list or drop rule */\
	X(DROP_NO_BUFFER,     "drop_no_out_buffer")                            \
	X(DROP_SYN_SENT_DATA, "drop_data_before_established")                  \
	X(DROP_SYNACK_BAD,    "drop_synack_unexpected")                        \
	X(DROP_SYNACK_ORPHAN, "drop_synack_no_connection") /* RST to server */ \
	X(DROP_FRAGMENT,      "drop_tcp_fragment_no_connection")               \
	X(DROP_RST_INVALID,   "drop_rst_out_of_window")                        \
	X(DROP_FIN_CHANGED,   "drop_fin_sequence_changed")                     \
	X(DROP_FIN_INVALID,   "drop_fin_out_of_window")                        \
	X(DROP_SYN_FLAGS,     "drop_bad_tcp_flags")

enum sg_stat {
#define SG_STAT_ENUM(id, name) SG_STAT_##id,
	SG_STATS_LIST(SG_STAT_ENUM)
#undef SG_STAT_ENUM
	SG_STAT__COUNT
};

/* The drop reasons are the counters from here to the end of the list. */
#define SG_STAT_DROP_FIRST SG_STAT_DROP_BAD_FRAME

/* Handshake completion time of proxied connections: from the cookie ACK
 * that opens the server connection to the server's SYN-ACK.  Fixed
 * buckets, doubling: bucket i counts the times of at most
 * SG_HS_HIST_FIRST_US << i microseconds (125 us .. 4.096 s), bucket
 * SG_HS_HIST_BOUNDS the rest.  Not cumulative: readers add them up. */
#define SG_HS_HIST_FIRST_US 125u
#define SG_HS_HIST_BOUNDS   16u

struct sg_hs_hist {
	uint64_t bucket[SG_HS_HIST_BOUNDS + 1];
	uint64_t sum_us;
};

struct sg_stats {
	uint64_t c[SG_STAT__COUNT];
	uint64_t bad[SG_BAD__COUNT];   /* malformed frames by sg_bad_reason */
	struct sg_hs_hist hs;
};

/* Counts one handshake that took `us` microseconds: a division and a bit
 * scan, once per connection. */
static inline void sg_hs_hist_add(struct sg_hs_hist *h, uint32_t us)
{
	/* The smallest i with us <= FIRST << i, i.e. 2^i >= ceil(us / FIRST). */
	uint64_t q = ((uint64_t)us + SG_HS_HIST_FIRST_US - 1) / SG_HS_HIST_FIRST_US;
	unsigned i = q <= 1 ? 0 : 64u - (unsigned)__builtin_clzll(q - 1);

	h->bucket[i < SG_HS_HIST_BOUNDS ? i : SG_HS_HIST_BOUNDS]++;
	h->sum_us += us;
}

/* Stable snake_case names, for logs, the control socket and metrics. */
const char *sg_stat_name(enum sg_stat s);

/* dst += src, counter by counter. */
void sg_stats_add(struct sg_stats *dst, const struct sg_stats *src);

#endif
