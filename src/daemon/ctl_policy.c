/* synguardctl policy: the policy of new WAN flows (policy.h) as it runs:
 * the lists, the rules, the default and monitor mode, and changes to the
 * rules, the default and monitor mode.  A change is a new proxy
 * configuration handed to the core exactly as SIGHUP hands one
 * (sg_daemon_reconfigure: checked, published, taken by each worker at its
 * next call; no worker lock), kept in the daemon's running configuration,
 * not in the file.  A rule's words are the file's fields (config_lists.c
 * reads them: one home for the syntax). */
#include "daemon/ctl_cmd.h"

#include <errno.h>
#include <netinet/in.h>   /* INET6_ADDRSTRLEN */
#include <string.h>

#include "daemon/config_lists.h"

static const struct sg_cfg_list rule_list = {
	.kind = SG_LIST_RULE, .width = sizeof(struct sg_policy_rule), .n_max = SG_POLICY_RULES_MAX,
};

static void ports_text(const struct sg_policy_rule *rule, char *buf, size_t cap)
{
	if (rule->port_lo == rule->port_hi)
		snprintf(buf, cap, "%u", rule->port_lo);
	else
		snprintf(buf, cap, "%u-%u", rule->port_lo, rule->port_hi);
}

/* Text: the words `policy add` takes; JSON: every field. */
static void put_rule(struct sg_reply *r, const struct sg_policy_rule *rule, unsigned index,
                     bool json)
{
	char pre[INET6_ADDRSTRLEN + 8], ports[16];
	bool any = rule->port_lo == 0 && rule->port_hi == UINT16_MAX;

	sg_cfg_prefix_text(rule->dst.family, rule->dst.len, rule->dst.addr, pre, sizeof(pre));
	ports_text(rule, ports, sizeof(ports));
	if (json)
		sg_reply_printf(r, "{\"index\": %u, \"dst\": \"%s\", \"port_lo\": %u, \"port_hi\": %u, "
		                "\"action\": \"%s\"}", index, pre, rule->port_lo, rule->port_hi,
		                sg_policy_action_name(rule->action));
	else
		sg_reply_printf(r, "%s%s%s action %s", pre, any ? "" : " ports ", any ? "" : ports,
		                sg_policy_action_name(rule->action));
}

static void put_prefixes(struct sg_reply *r, const char *name, const struct sg_prefix *p,
                         unsigned n, bool json)
{
	char pre[INET6_ADDRSTRLEN + 8];

	if (json)
		sg_reply_printf(r, ", \"%s\": [", name);
	for (unsigned i = 0; i < n; i++) {
		sg_cfg_prefix_text(p[i].family, p[i].len, p[i].addr, pre, sizeof(pre));
		if (json)
			sg_reply_printf(r, "%s\"%s\"", i ? ", " : "", pre);
		else
			sg_reply_printf(r, "%-8s %s\n", name, pre);
	}
	if (json)
		sg_reply_printf(r, "]");
}

static void list(const struct sg_daemon *d, bool json, struct sg_reply *r)
{
	const struct sg_policy_set *s = &d->cfg.proxy.policy;

	if (json)
		sg_reply_printf(r, "{\"default\": \"%s\", \"monitor\": %s",
		                sg_policy_action_name(s->default_action),
		                d->cfg.proxy.monitor ? "true" : "false");
	else
		sg_reply_printf(r, "%-8s %s\n%-8s %s\n", "default",
		                sg_policy_action_name(s->default_action), "monitor",
		                d->cfg.proxy.monitor ? "on" : "off");
	put_prefixes(r, "deny", s->deny, s->ndeny, json);
	put_prefixes(r, "allow", s->allow, s->nallow, json);
	if (json)
		sg_reply_printf(r, ", \"rules\": [");
	for (unsigned i = 0; i < s->nrules; i++) {
		if (json && i)
			sg_reply_printf(r, ", ");
		if (!json)
			sg_reply_printf(r, "rule %-3u ", i + 1);
		put_rule(r, &s->rule[i], i + 1, json);
		if (!json)
			sg_reply_printf(r, "\n");
	}
	if (json)
		sg_reply_printf(r, "]}\n");
}

/* next becomes the running configuration once the core took its proxy
 * options; else the reply says what the core refused. */
static int apply(struct sg_daemon *d, const struct sg_config *next, struct sg_reply *r)
{
	struct sg_cfg_fault why;
	char err[384];
	int rc;

	if (!d->proxy) {
		sg_reply_fail(r, 1, "bridge only: there is no proxy to apply a policy");
		return -ENODEV;
	}
	rc = sg_daemon_reconfigure(d, &next->proxy, &why);
	if (rc == -EINVAL) {
		sg_config_explain(next, &why, err, sizeof(err));
		sg_reply_fail(r, 1, "refused, the policy stays as it was: %s", err);
	} else if (rc) {
		sg_reply_fail(r, 1, "the workers did not take the change within a second (%s); "
		              "the policy stays as it was", strerror(-rc));
	} else {
		d->cfg = *next;
	}
	return rc;
}

static void said(struct sg_reply *r, bool json, const char *what, const struct sg_policy_rule *rule,
                 unsigned index)
{
	if (json) {
		sg_reply_printf(r, "{\"%s\": ", what);
		if (rule)
			put_rule(r, rule, index, true);
		else
			sg_reply_printf(r, "null");
		sg_reply_printf(r, ", \"saved\": false}\n");
		return;
	}
	sg_reply_printf(r, "%s", what);
	if (rule) {
		sg_reply_printf(r, " rule %u: ", index);
		put_rule(r, rule, index, false);
	}
	sg_reply_printf(r, "\n(" SG_CTL_NOT_SAVED ")\n");
}

/* Rule numbers are 1-based, as `policy` lists them. */
static int rule_number(const char *w, unsigned max, unsigned *out, struct sg_reply *r)
{
	unsigned long long v;
	char *end;

	if (sg_cfg_decimal(w, &end, &v) || *end || v < 1 || v > max) {
		sg_reply_fail(r, 2, "policy: rule number '%s' is not in 1..%u", w, max);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

/* [at N] PREFIX [ports N[-M]] action ACTION */
static void add(struct sg_daemon *d, int argc, char **argv, bool json, struct sg_reply *r)
{
	static struct sg_config next;
	struct sg_policy_set *s = &next.proxy.policy;
	struct sg_policy_rule rule;
	unsigned at;
	char err[384];

	next = d->cfg;
	at = s->nrules + 1;
	if (argc >= 2 && strcmp(argv[0], "at") == 0) {
		if (rule_number(argv[1], s->nrules + 1, &at, r))
			return;
		argc -= 2;
		argv += 2;
	}
	if (sg_cfg_entry_words(&rule_list, argc, argv, "policy add", &rule, err, sizeof(err))) {
		sg_reply_fail(r, 2, "%s", err);
		return;
	}
	if (s->nrules == SG_POLICY_RULES_MAX) {
		sg_reply_fail(r, 1, "there are %u rules already, the most a policy holds",
		              SG_POLICY_RULES_MAX);
		return;
	}
	memmove(&s->rule[at], &s->rule[at - 1], (s->nrules - (at - 1)) * sizeof(rule));
	s->rule[at - 1] = rule;
	s->nrules++;
	if (apply(d, &next, r) == 0)
		said(r, json, "added", &rule, at);
}

static void del(struct sg_daemon *d, int argc, char **argv, bool json, struct sg_reply *r)
{
	static struct sg_config next;
	struct sg_policy_set *s = &next.proxy.policy;
	struct sg_policy_rule gone;
	unsigned at;

	next = d->cfg;
	if (argc != 1) {
		sg_reply_fail(r, 2, "usage: policy del N (the rule's number in: synguardctl policy)");
		return;
	}
	if (s->nrules == 0) {
		sg_reply_fail(r, 1, "policy del: there are no rules");
		return;
	}
	if (rule_number(argv[0], s->nrules, &at, r))
		return;
	gone = s->rule[at - 1];
	memmove(&s->rule[at - 1], &s->rule[at], (s->nrules - at) * sizeof(gone));
	s->nrules--;
	if (apply(d, &next, r) == 0)
		said(r, json, "removed", &gone, at);
}

/* default ACTION | monitor on|off */
static void set(struct sg_daemon *d, const char *what, const char *word, bool json,
                struct sg_reply *r)
{
	static struct sg_config next;
	int v = -1;

	next = d->cfg;
	if (strcmp(what, "default") == 0) {
		for (unsigned i = 0; sg_policy_action_name((enum sg_policy_action)i); i++)
			if (strcmp(sg_policy_action_name((enum sg_policy_action)i), word) == 0)
				v = (int)i;
		if (v < 0) {
			sg_reply_fail(r, 2, "policy default: '%s' is not proxy, track, bypass or drop",
			              word);
			return;
		}
		next.proxy.policy.default_action = (enum sg_policy_action)v;
	} else {
		v = sg_cfg_word_index("off|on|false|true", word);
		if (v < 0) {
			sg_reply_fail(r, 2, "policy monitor: '%s' must be on or off", word);
			return;
		}
		next.proxy.monitor = v & 1;
	}
	if (apply(d, &next, r) == 0) {
		if (json)
			sg_reply_printf(r, "{\"%s\": ", what);
		else
			sg_reply_printf(r, "%s ", what);
		if (strcmp(what, "default") == 0)
			sg_reply_printf(r, json ? "\"%s\"" : "%s", word);
		else
			sg_reply_printf(r, "%s", next.proxy.monitor ? (json ? "true" : "on")
			                                            : (json ? "false" : "off"));
		sg_reply_printf(r, json ? ", \"saved\": false}\n" : "\n(" SG_CTL_NOT_SAVED ")\n");
	}
}

void sg_ctl_policy(struct sg_daemon *d, int argc, char **argv, bool json, struct sg_reply *r)
{
	const char *sub = argc > 1 ? argv[1] : "list";

	if (strcmp(sub, "list") == 0 && argc <= 2)
		list(d, json, r);
	else if (strcmp(sub, "add") == 0)
		add(d, argc - 2, argv + 2, json, r);
	else if (strcmp(sub, "del") == 0)
		del(d, argc - 2, argv + 2, json, r);
	else if ((strcmp(sub, "default") == 0 || strcmp(sub, "monitor") == 0) && argc == 3)
		set(d, sub, argv[2], json, r);
	else
		sg_reply_fail(r, 2, "usage: policy [list] | policy add [at N] PREFIX [ports N[-M]] "
		              "action ACTION | policy del N | policy default ACTION | "
		              "policy monitor on|off");
}
