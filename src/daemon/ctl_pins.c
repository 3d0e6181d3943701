/* synguardctl pins: the operator's pins of what a server does (learn.h),
 * listed, added and removed on the running daemon.  A change goes to the
 * core the way a reload's learn.pins does (sg_proxy_set_pins: a new set
 * published whole, no worker waits) and is kept in the daemon's running
 * configuration, not in the file.  An entry's words are the file's fields
 * (config_lists.c reads them: one home for the syntax). */
#include "daemon/ctl_cmd.h"

#include <errno.h>
#include <netinet/in.h>   /* INET6_ADDRSTRLEN */
#include <string.h>

#include "daemon/config_lists.h"

static const struct sg_cfg_list pin_list = {
	.kind = SG_LIST_PIN, .width = sizeof(struct sg_learn_pin), .n_max = SG_LEARN_PINS_MAX,
};

/* Text: the words `pins add` takes; JSON: every field, null when not pinned. */
static void put_pin(struct sg_reply *r, const struct sg_learn_pin *p, bool json)
{
	const struct sg_learned *l = &p->opts;
	char pre[INET6_ADDRSTRLEN + 8];

	sg_cfg_prefix_text(p->family, p->plen, p->addr, pre, sizeof(pre));
	if (!json) {
		sg_reply_printf(r, "%s", pre);
		if (p->port)
			sg_reply_printf(r, " port %u", p->port);
		if (l->known & SG_LEARN_MSS)
			sg_reply_printf(r, " mss %u", l->mss);
		if (l->known & SG_LEARN_WS)
			sg_reply_printf(r, " wscale %u", l->ws);
		if (l->known & SG_LEARN_SACK)
			sg_reply_printf(r, " sack %s", l->sack ? "on" : "off");
		if (l->known & SG_LEARN_TS)
			sg_reply_printf(r, " timestamps %s", l->ts ? "on" : "off");
		return;
	}
	sg_reply_printf(r, "{\"dst\": \"%s\", \"port\": %u", pre, p->port);
	if (l->known & SG_LEARN_MSS)
		sg_reply_printf(r, ", \"mss\": %u", l->mss);
	else
		sg_reply_printf(r, ", \"mss\": null");
	if (l->known & SG_LEARN_WS)
		sg_reply_printf(r, ", \"wscale\": %u", l->ws);
	else
		sg_reply_printf(r, ", \"wscale\": null");
	sg_reply_printf(r, ", \"sack\": %s, \"timestamps\": %s}",
	                !(l->known & SG_LEARN_SACK) ? "null" : l->sack ? "true" : "false",
	                !(l->known & SG_LEARN_TS) ? "null" : l->ts ? "true" : "false");
}

static bool same_place(const struct sg_learn_pin *a, const struct sg_learn_pin *b)
{
	return a->family == b->family && a->plen == b->plen && a->port == b->port &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static void list(struct sg_daemon *d, bool json, struct sg_reply *r)
{
	if (json)
		sg_reply_printf(r, "{\"pins\": [");
	for (unsigned i = 0; i < d->cfg.npins; i++) {
		if (json && i)
			sg_reply_printf(r, ", ");
		put_pin(r, &d->cfg.pins[i], json);
		if (!json)
			sg_reply_printf(r, "\n");
	}
	if (json)
		sg_reply_printf(r, "]}\n");
}

/* Hands the core pins[0..n) and, once it took them, keeps them as the
 * running configuration's. */
static int publish(struct sg_daemon *d, const struct sg_learn_pin *pins, unsigned n,
                   struct sg_reply *r)
{
	int rc = sg_proxy_set_pins(d->proxy, pins, n);

	if (rc) {
		sg_reply_fail(r, 1, "the learn table refused the pins (%s); the old ones stay",
		              strerror(-rc));
		return rc;
	}
	memmove(d->cfg.pins, pins, n * sizeof(pins[0]));
	d->cfg.npins = n;
	return 0;
}

static void done(struct sg_reply *r, const char *what, const struct sg_learn_pin *p, bool json)
{
	if (json) {
		sg_reply_printf(r, "{\"%s\": ", what);
		put_pin(r, p, true);
		sg_reply_printf(r, ", \"saved\": false}\n");
	} else {
		sg_reply_printf(r, "%s ", what);
		put_pin(r, p, false);
		sg_reply_printf(r, "\n(" SG_CTL_NOT_SAVED ")\n");
	}
}

static void add(struct sg_daemon *d, int argc, char **argv, bool json, struct sg_reply *r)
{
	static struct sg_learn_pin pins[SG_LEARN_PINS_MAX];
	struct sg_learn_pin p;
	unsigned n = d->cfg.npins, i;
	char err[384];

	if (sg_cfg_entry_words(&pin_list, argc, argv, "pins add", &p, err, sizeof(err))) {
		sg_reply_fail(r, 2, "%s", err);
		return;
	}
	memcpy(pins, d->cfg.pins, n * sizeof(pins[0]));
	for (i = 0; i < n && !same_place(&pins[i], &p); i++)
		;
	if (i == n && n == SG_LEARN_PINS_MAX) {
		sg_reply_fail(r, 1, "there are %u pins already, the most the learn table holds",
		              SG_LEARN_PINS_MAX);
		return;
	}
	pins[i] = p;
	if (publish(d, pins, i == n ? n + 1 : n, r) == 0)
		done(r, i == n ? "pinned" : "replaced", &p, json);
}

/* PREFIX [port N]: the place of a pin, as `pins` lists it. */
static void del(struct sg_daemon *d, int argc, char **argv, bool json, struct sg_reply *r)
{
	static struct sg_learn_pin pins[SG_LEARN_PINS_MAX];
	struct sg_learn_pin key = { 0 }, gone;
	struct sg_prefix pre;
	unsigned long long port = 0;
	unsigned n = d->cfg.npins, i;
	char *end;

	if (argc != 1 && !(argc == 3 && strcmp(argv[1], "port") == 0)) {
		sg_reply_fail(r, 2, "usage: pins del PREFIX [port N]");
		return;
	}
	if (sg_prefix_parse(argv[0], &pre)) {
		sg_reply_fail(r, 2, "pins del: '%s' is not a prefix like 192.0.2.0/24 or "
		              "2001:db8::/32 (no bits set past the length)", argv[0]);
		return;
	}
	if (argc == 3 && (sg_cfg_decimal(argv[2], &end, &port) || *end || port > UINT16_MAX)) {
		sg_reply_fail(r, 2, "pins del: port '%s' is not a number in 0..65535", argv[2]);
		return;
	}
	key.family = pre.family;
	key.plen = pre.len;
	key.port = (uint16_t)port;
	memcpy(key.addr, pre.addr, sizeof(key.addr));
	for (i = 0; i < n && !same_place(&d->cfg.pins[i], &key); i++)
		;
	if (i == n) {
		sg_reply_fail(r, 1, "no pin for %s%s%s (see: synguardctl pins)", argv[0],
		              argc == 3 ? " port " : "", argc == 3 ? argv[2] : "");
		return;
	}
	gone = d->cfg.pins[i];
	memcpy(pins, d->cfg.pins, n * sizeof(pins[0]));
	memmove(&pins[i], &pins[i + 1], (n - i - 1) * sizeof(pins[0]));
	if (publish(d, pins, n - 1, r) == 0)
		done(r, "removed", &gone, json);
}

void sg_ctl_pins(struct sg_daemon *d, int argc, char **argv, bool json, struct sg_reply *r)
{
	if (argc == 1 || (argc == 2 && strcmp(argv[1], "list") == 0)) {
		list(d, json, r);
		return;
	}
	if (strcmp(argv[1], "add") != 0 && strcmp(argv[1], "del") != 0) {
		sg_reply_fail(r, 2, "pins: unknown subcommand '%s' (list, add, del)", argv[1]);
		return;
	}
	if (!d->proxy) {
		sg_reply_fail(r, 1, "bridge only: there is no proxy to pin options for");
		return;
	}
	if (strcmp(argv[1], "add") == 0)
		add(d, argc - 2, argv + 2, json, r);
	else
		del(d, argc - 2, argv + 2, json, r);
}
