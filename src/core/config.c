/* The proxy's configuration: defaults and checks (see config.h). */
#include "core/config.h"

#include <stddef.h>
#include <string.h>

#include "core/secret.h"

void sg_proxy_config_default(struct sg_proxy_config *c)
{
	memset(c, 0, sizeof(*c));
	sg_ct_config_default(&c->ct);
	c->synack_mss4 = 1460;
	c->synack_mss6 = 1440;
	c->synack_wscale = 7;
	c->bad_frame_policy = SG_POLICY_DROP;
	c->unknown_policy = SG_POLICY_DROP;
	c->uplink_mss_clamp = 0;
	c->signed_syn_policy = SG_SIGNED_SYN_TRACK;
	c->monitor = false;
	c->rst_slack = 16;
	c->cookie_period_s = SG_SECRET_DEFAULT_PERIOD_S;
	/* A host behind which more than 1/50 of the table's connections live
	 * is a NAT an operator knows about, or an attack. */
	c->source_share = 2;
	c->source_prefix4 = 32;
	c->source_prefix6 = 64;
	sg_cookie_config_default(&c->cookie);
	sg_learn_config_default(&c->learn);
	sg_halfopen_config_default(&c->halfopen);
	c->ratelimit_on = true;
	sg_ratelimit_config_default(&c->ratelimit);
	/* c->policy all zero: no lists, no rules, proxy everything. */
}

#define FIELD(f) offsetof(struct sg_proxy_config, f)

int sg_proxy_config_check(const struct sg_proxy_config *c, unsigned nworkers,
                          struct sg_cfg_fault *why)
{
	if (sg_ct_config_check(&c->ct, nworkers, why)) {
		if (why->off != SG_CFG_WORKERS)
			why->off += FIELD(ct);
		return -1;
	}
	if (c->synack_mss4 < SG_TCP_MSS4_MIN || c->synack_mss4 > SG_SYNACK_MSS4_MAX)
		return sg_cfg_fail(why, SG_CFG_RANGE, FIELD(synack_mss4));
	if (c->synack_mss6 < SG_TCP_MSS6_MIN || c->synack_mss6 > SG_SYNACK_MSS6_MAX)
		return sg_cfg_fail(why, SG_CFG_RANGE, FIELD(synack_mss6));
	if (c->synack_wscale > SG_TCP_WSCALE_MAX)
		return sg_cfg_fail(why, SG_CFG_RANGE, FIELD(synack_wscale));
	if (c->bad_frame_policy > SG_POLICY_FORWARD)
		return sg_cfg_fail(why, SG_CFG_RANGE, FIELD(bad_frame_policy));
	if (c->unknown_policy > SG_POLICY_FORWARD)
		return sg_cfg_fail(why, SG_CFG_RANGE, FIELD(unknown_policy));
	if (c->signed_syn_policy > SG_SIGNED_SYN_DROP)
		return sg_cfg_fail(why, SG_CFG_RANGE, FIELD(signed_syn_policy));
	if (c->uplink_mss_clamp && c->uplink_mss_clamp < SG_TCP_MSS4_MIN)
		return sg_cfg_fail(why, SG_CFG_RANGE, FIELD(uplink_mss_clamp));
	if (c->cookie_period_s < SG_SECRET_MIN_PERIOD_S || c->cookie_period_s > SG_SECRET_MAX_PERIOD_S)
		return sg_cfg_fail(why, SG_CFG_RANGE, FIELD(cookie_period_s));
	if (c->source_share < 1 || c->source_share > SG_SOURCE_SHARE_MAX)
		return sg_cfg_fail(why, SG_CFG_RANGE, FIELD(source_share));
	if (c->source_prefix4 > 32)
		return sg_cfg_fail(why, SG_CFG_RANGE, FIELD(source_prefix4));
	if (c->source_prefix6 > 128)
		return sg_cfg_fail(why, SG_CFG_RANGE, FIELD(source_prefix6));
	if (sg_cookie_config_check(&c->cookie, why)) {
		why->off += FIELD(cookie);
		return -1;
	}
	if (sg_learn_config_check(&c->learn, why)) {
		why->off += FIELD(learn);
		return -1;
	}
	if (sg_ratelimit_config_check(&c->ratelimit, why)) {
		why->off += FIELD(ratelimit);
		return -1;
	}
	if (sg_policy_check(&c->policy, why)) {
		why->off += FIELD(policy);
		return -1;
	}
	if (sg_halfopen_config_check(&c->halfopen, nworkers, why)) {
		if (why->off != SG_CFG_WORKERS)
			why->off += FIELD(halfopen);
		return -1;
	}
	return 0;
}
