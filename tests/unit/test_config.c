/* synguard.conf: every option read, every kind of mistake named with its
 * line, defaults when absent. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/config.h"
#include "daemon/config_lists.h"

static char path[64];

static int load(const char *text, struct sg_config *c, char *err, size_t errlen)
{
	FILE *f;
	int fd;

	strcpy(path, "/tmp/sg_test_conf_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	sg_config_default(c);
	err[0] = 0;
	int rc = sg_config_load(path, c, err, errlen);
	unlink(path);
	return rc;
}

static void expect_error(const char *text, int line, const char *what)
{
	struct sg_config c;
	char err[512], want[128];

	assert_true(load(text, &c, err, sizeof(err)) < 0);
	snprintf(want, sizeof(want), "%s:%d:", path, line);
	if (line && !strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
	if (!strstr(err, what))
		fail_msg("error '%s' lacks '%s'", err, what);
}

static void test_empty_file_gives_the_defaults(void **state)
{
	(void)state;
	struct sg_config c, d;
	char err[256];

	assert_int_equal(load("", &c, err, sizeof(err)), 0);
	sg_config_default(&d);
	assert_memory_equal(&c, &d, sizeof(c));
	assert_int_equal(c.threads, 1);
	assert_int_equal(c.flood_syn_rate, 10000);
	assert_int_equal(c.proxy.ct.capacity, 1u << 20);
	assert_int_equal(c.proxy.ct.timeout_s[SG_CT_ESTABLISHED], 86400);
	assert_int_equal(c.proxy.cookie_period_s, 32);
	assert_string_equal(c.ctl_socket, "/run/synguard/ctl.sock");
}

static void test_every_option_is_read(void **state)
{
	(void)state;
	struct sg_config c;
	char err[256];
	const char *text =
		"threads = 2;\nio = \"afpacket\";\ncpus = [1, 3];\nbridge_only = true;\n"
		"log = { target = \"syslog\"; level = \"debug\"; flood_syn_rate = 2500; };\n"
		"control = { socket = \"/tmp/x.sock\"; };\n"
		"conntrack = { capacity = 4096; timeouts = { syn_sent = 11; uplink_syn_sent = 12;\n"
		"  uplink_syn_recv = 13; established = 14; fin_wait = 15; closing = 16;\n"
		"  time_wait = 17; closed = 18; }; };\n"
		"cookie = { period = 60; key_file = \"/etc/k\"; isn_mss4 = [536, 1460];\n"
		"  isn_mss6 = [1220, 1440]; ts_mss4 = [600, 700, 800]; ts_mss6 = [1300]; };\n"
		"synack = { mss4 = 1400; mss6 = 1300; wscale = 9; };\n"
		"policy = { bad_frames = \"forward\"; unknown = \"forward\"; rst_slack = 100; };\n"
		"uplink_mss_clamp = 1300;\n"
		"ratelimit = { enabled = false; rate = 10; burst = 20; prefix4 = 16; prefix6 = 48;\n"
		"  entries = 1024; };\n"
		"syncache = { entries = 64; max_syn_rate = 0; max_fill = 50; timeout = 30; };\n"
		"learn = { entries = 128; ttl = 60;\n"
		"  pins = ( { dst = \"192.0.2.10\"; port = 443; mss = 1400; wscale = 7; sack = true;\n"
		"             timestamps = false; }, { dst = \"2001:db8::/64\"; wscale = 15; } ); };\n";
	const struct sg_learn_pin *pin;

	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c.threads, 2);
	assert_int_equal(c.io, 2);
	assert_int_equal(c.ncpus, 2);
	assert_int_equal(c.cpus[1], 3);
	assert_true(c.bridge_only);
	assert_int_equal(c.log_target, 1);
	assert_int_equal(c.log_level, 4);
	assert_int_equal(c.flood_syn_rate, 2500);
	assert_string_equal(c.ctl_socket, "/tmp/x.sock");
	assert_int_equal(c.proxy.ct.capacity, 4096);
	for (unsigned s = SG_CT_SYN_SENT; s < SG_CT_STATE_COUNT; s++)
		assert_int_equal(c.proxy.ct.timeout_s[s], 10 + s);
	assert_int_equal(c.proxy.cookie_period_s, 60);
	assert_string_equal(c.key_file, "/etc/k");
	assert_int_equal(c.proxy.cookie.isn_mss_n[0], 2);
	assert_int_equal(c.proxy.cookie.isn_mss[0][1], 1460);
	assert_int_equal(c.proxy.cookie.ts_mss_n[0], 3);
	assert_int_equal(c.proxy.cookie.ts_mss[0][2], 800);
	assert_int_equal(c.proxy.cookie.ts_mss_n[1], 1);
	assert_int_equal(c.proxy.synack_mss4, 1400);
	assert_int_equal(c.proxy.synack_mss6, 1300);
	assert_int_equal(c.proxy.synack_wscale, 9);
	assert_int_equal(c.proxy.bad_frame_policy, SG_POLICY_FORWARD);
	assert_int_equal(c.proxy.unknown_policy, SG_POLICY_FORWARD);
	assert_int_equal(c.proxy.rst_slack, 100);
	assert_int_equal(c.proxy.uplink_mss_clamp, 1300);
	assert_false(c.proxy.ratelimit_on);
	assert_int_equal(c.proxy.ratelimit.rate, 10);
	assert_int_equal(c.proxy.ratelimit.burst, 20);
	assert_int_equal(c.proxy.ratelimit.prefix4, 16);
	assert_int_equal(c.proxy.ratelimit.prefix6, 48);
	assert_int_equal(c.proxy.ratelimit.entries, 1024);
	assert_int_equal(c.proxy.halfopen.entries, 64);
	assert_int_equal(c.proxy.halfopen.max_syn_rate, 0);
	assert_int_equal(c.proxy.halfopen.max_fill_pct, 50);
	assert_int_equal(c.proxy.halfopen.timeout_s, 30);
	assert_int_equal(c.proxy.learn.entries, 128);
	assert_int_equal(c.proxy.learn.ttl_s, 60);
	assert_int_equal(c.npins, 2);
	pin = &c.pins[0];
	assert_int_equal(pin->family, 4);
	assert_int_equal(pin->plen, 32);
	assert_int_equal(pin->addr[3], 10);
	assert_int_equal(pin->port, 443);
	assert_int_equal(pin->opts.known, SG_LEARN_ALL);
	assert_int_equal(pin->opts.mss, 1400);
	assert_int_equal(pin->opts.ws, 7);
	assert_true(pin->opts.sack);
	assert_false(pin->opts.ts);
	/* A field left out is not pinned. */
	pin = &c.pins[1];
	assert_int_equal(pin->family, 6);
	assert_int_equal(pin->plen, 64);
	assert_int_equal(pin->port, 0);
	assert_int_equal(pin->opts.known, SG_LEARN_WS);
	assert_int_equal(pin->opts.ws, SG_LEARN_WS_NONE);
}

static void test_policy_is_read_normalized_and_in_order(void **state)
{
	(void)state;
	struct sg_config c;
	char err[256];
	const char *text =
		"policy = {\n"
		"  allow = [ \"2001:db8::/32\", \"198.51.100.0/24\", \"198.51.100.128/25\" ];\n"
		"  deny = [ \"203.0.113.7\" ];\n"
		"  rules = ( { dst = \"192.0.2.0/24\"; ports = \"80\"; action = \"bypass\"; },\n"
		"            { dst = \"192.0.2.10\"; ports = \"8000-8999\"; action = \"track\"; },\n"
		"            { dst = \"2001:db8::/48\"; action = \"drop\"; } );\n"
		"  default = \"track\";\n"
		"};\n";
	const uint8_t a10[4] = { 192, 0, 2, 10 }, a99[4] = { 192, 0, 2, 99 };
	const uint8_t denied[4] = { 203, 0, 113, 7 }, allowed[4] = { 198, 51, 100, 200 };

	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	/* Sorted, IPv4 first, the covered /25 gone (sg_policy_normalize). */
	assert_int_equal(c.proxy.policy.nallow, 2);
	assert_int_equal(c.proxy.policy.allow[0].family, 4);
	assert_int_equal(c.proxy.policy.allow[0].len, 24);
	assert_int_equal(c.proxy.policy.ndeny, 1);
	assert_int_equal(c.proxy.policy.deny[0].len, 32);
	assert_int_equal(c.proxy.policy.nrules, 3);
	assert_int_equal(c.proxy.policy.rule[0].port_lo, 80);
	assert_int_equal(c.proxy.policy.rule[0].port_hi, 80);
	assert_int_equal(c.proxy.policy.rule[1].port_lo, 8000);
	assert_int_equal(c.proxy.policy.rule[1].port_hi, 8999);
	assert_int_equal(c.proxy.policy.rule[2].port_lo, 0);
	assert_int_equal(c.proxy.policy.rule[2].port_hi, 65535);
	assert_int_equal(c.proxy.policy.rule[2].action, SG_ACTION_DROP);
	assert_int_equal(c.proxy.policy.default_action, SG_ACTION_TRACK);
	/* The order the file gives: first match, then the default. */
	assert_int_equal(sg_policy_decide(&c.proxy.policy, 4, allowed, a10, 80), SG_ACTION_TRACK);
	assert_int_equal(sg_policy_decide(&c.proxy.policy, 4, a99, a10, 80), SG_ACTION_BYPASS);
	assert_int_equal(sg_policy_decide(&c.proxy.policy, 4, a99, a10, 8080), SG_ACTION_TRACK);
	assert_int_equal(sg_policy_decide(&c.proxy.policy, 4, denied, a10, 80), SG_ACTION_DROP);
	assert_int_equal(sg_policy_decide(&c.proxy.policy, 4, a99, a99, 443), SG_ACTION_TRACK);
}

static void test_policy_and_pin_mistakes_name_the_entry(void **state)
{
	(void)state;
	expect_error("policy = {\n  allow = [ \"10.0.0.0/8\", \"192.0.2.1/24\" ];\n};\n", 2,
	             "policy.allow: entry 2 (\"192.0.2.1/24\") is not a prefix like");
	expect_error("policy = { deny = [ 7 ]; };\n", 1, "policy.deny: entry 1 must be a string");
	expect_error("policy = { rules = ( { dst = \"192.0.2.0/24\"; action = \"proxy\"; },\n"
	             "  { dst = \"192.0.2.0/24\"; action = \"allow\"; } ); };\n", 1,
	             "policy.rules: entry 2: action (\"allow\") must be one of proxy|track|bypass|drop");
	expect_error("policy = { rules = ( { dst = \"192.0.2.0/24\"; ports = \"90-80\"; action = \"drop\"; } ); };\n",
	             1, "policy.rules: entry 1: ports (\"90-80\") must be");
	expect_error("policy = { rules = ( { ports = \"80\"; action = \"drop\"; } ); };\n", 1,
	             "policy.rules: entry 1: dst is missing");
	expect_error("policy = { rules = ( { dst = \"::/0\"; port = \"80\"; action = \"drop\"; } ); };\n",
	             1, "entry 1: unknown field 'port' (dst|ports|action)");
	expect_error("policy = { default = \"accept\"; };\n", 1,
	             "policy.default: \"accept\" is not one of proxy|track|bypass|drop");
	expect_error("learn = { pins = ( { dst = \"192.0.2.1\"; mss = 100; } ); };\n", 1,
	             "learn.pins: entry 1: mss 100 is out of range 536..65535");
	expect_error("learn = { pins = ( { dst = \"2001:db8::1\"; mss = 1000; } ); };\n", 1,
	             "mss 1000 is out of range 1220..65535");
	expect_error("learn = { pins = ( { dst = \"192.0.2.1\"; port = 80; } ); };\n", 1,
	             "learn.pins: entry 1 pins nothing");
	expect_error("learn = { pins = ( { dst = \"192.0.2.1\"; sack = true; },\n"
	             "  { dst = \"192.0.2.1/32\"; mss = 1400; } ); };\n", 1,
	             "entry 2 pins the same dst and port as entry 1");
	expect_error("syncache = { max_fill = 0; };\n", 1, "syncache.max_fill: 0 is out of range 1..100");
	expect_error("ratelimit = { rate = 0; };\n", 1, "ratelimit.rate: 0 is out of range 1..100000000");
	expect_error("learn = { ttl = 0; };\n", 1, "learn.ttl: 0 is out of range 1..86400");
}

static int words(enum sg_cfg_list_kind kind, const char *line, void *entry, char *err,
                 size_t errlen)
{
	static char buf[256];
	char *argv[32], *save;
	int argc = 0;
	struct sg_cfg_list l = {
		.kind = kind, .n_max = 1,
		.width = kind == SG_LIST_PIN ? sizeof(struct sg_learn_pin) : sizeof(struct sg_policy_rule),
	};

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	err[0] = 0;
	return sg_cfg_entry_words(&l, argc, argv, "pins add", entry, err, errlen);
}

/* The control socket's words for a pin or a rule are read by the file's
 * parser: the same entry as the file gives, the same mistakes refused. */
static void test_entry_words_read_as_the_file_reads(void **state)
{
	struct sg_config c;
	struct sg_learn_pin pin;
	struct sg_policy_rule rule;
	char err[512];

	(void)state;
	assert_int_equal(load("learn = { pins = ( { dst = \"192.0.2.0/24\"; port = 443; mss = 1400;\n"
	                      "  wscale = 7; sack = false; timestamps = true; } ); };\n"
	                      "policy = { rules = ( { dst = \"198.51.100.0/24\"; ports = \"22-23\";\n"
	                      "  action = \"bypass\"; } ); };\n", &c, err, sizeof(err)), 0);
	memset(&pin, 0xa5, sizeof(pin));
	assert_int_equal(words(SG_LIST_PIN, "192.0.2.0/24 port 443 mss 1400 wscale 7 sack off "
	                       "timestamps on", &pin, err, sizeof(err)), 0);
	assert_memory_equal(&pin, &c.pins[0], sizeof(pin));
	memset(&rule, 0xa5, sizeof(rule));
	assert_int_equal(words(SG_LIST_RULE, "198.51.100.0/24 ports 22-23 action bypass", &rule,
	                       err, sizeof(err)), 0);
	assert_int_equal(rule.port_lo, 22);
	assert_int_equal(rule.port_hi, 23);
	assert_int_equal(rule.action, SG_ACTION_BYPASS);
	assert_memory_equal(&rule.dst, &c.proxy.policy.rule[0].dst, sizeof(rule.dst));

	assert_int_equal(words(SG_LIST_PIN, "192.0.2.1 mss 100", &pin, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "pins add: entry 1: mss 100 is out of range 536..65535"));
	assert_int_equal(words(SG_LIST_PIN, "192.0.2.1 port 80", &pin, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "pins nothing"));
	assert_int_equal(words(SG_LIST_PIN, "192.0.2.1/24 mss 1200", &pin, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is not a prefix"));
	assert_int_equal(words(SG_LIST_PIN, "192.0.2.1 mss 12x", &pin, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "mss '12x' is not a whole number"));
	assert_int_equal(words(SG_LIST_PIN, "192.0.2.1 sack maybe", &pin, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "sack 'maybe' must be on, off"));
	assert_int_equal(words(SG_LIST_PIN, "192.0.2.1 mss 1200 mss 1300", &pin, err, sizeof(err)),
	                 -EINVAL);
	assert_non_null(strstr(err, "'mss' is given twice"));
	assert_int_equal(words(SG_LIST_PIN, "192.0.2.1 ttl 5", &pin, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown field 'ttl'"));
	assert_int_equal(words(SG_LIST_PIN, "192.0.2.1 mss", &pin, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'mss' has no value"));
	assert_int_equal(words(SG_LIST_PIN, "", &pin, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "the prefix is missing"));
	assert_int_equal(words(SG_LIST_RULE, "192.0.2.0/24 ports 9-8 action drop", &rule, err,
	                       sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ports (\"9-8\")"));
	/* A word that would be syntax in a file is only ever a value. */
	assert_int_equal(words(SG_LIST_RULE, "192.0.2.0/24 action drop\";}", &rule, err,
	                       sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "action (\"drop\";}\") must be one of"));
}

static void test_mistakes_name_line_option_and_range(void **state)
{
	(void)state;
	expect_error("threads = 2;\nthreads_x = 1;\n", 2, "unknown option 'threads_x'");
	expect_error("log = {\n  colour = 1;\n};\n", 2, "unknown option 'log.colour'");
	expect_error("threads = 0;\n", 1, "threads: 0 is out of range 1..64");
	expect_error("\nthreads = \"two\";\n", 2, "threads: must be an integer in 1..64");
	expect_error("io = \"dpdk\";\n", 1, "\"dpdk\" is not one of auto|afxdp|afpacket");
	expect_error("bridge_only = 1;\n", 1, "bridge_only: must be true or false");
	expect_error("log = { flood_syn_rate = 0; };\n", 1,
	             "log.flood_syn_rate: 0 is out of range 1..100000000");
	expect_error("log = { level = \"verbose\"; };\n", 1,
	             "\"verbose\" is not one of error|warning|notice|info|debug|trace");
	expect_error("conntrack = { capacity = 8; };\n", 1, "conntrack.capacity: 8 is out of range 16..");
	expect_error("conntrack = { timeouts = {\n time_wait = 0; }; };\n", 2,
	             "conntrack.timeouts.time_wait: 0 is out of range 1..604800");
	expect_error("cookie = { isn_mss4 = [536, 1300, 1440, 1460, 9000]; };\n", 1,
	             "cookie.isn_mss4: must have 1..4 entries, has 5");
	expect_error("cookie = { ts_mss6 = [1000]; };\n", 1, "cookie.ts_mss6: entry 1 (1000) is out of range 1220..65535");
	expect_error("synack = { wscale = 15; };\n", 1, "synack.wscale: 15 is out of range 0..14");
	expect_error("threads = 2;\nio = = \"auto\";\n", 2, "syntax error");
	/* Cross-field rules come from the core and still name the file. */
	expect_error("cookie = { isn_mss4 = [1460, 536]; };\n", 0, "isn_mss4: entries must be strictly ascending");
	expect_error("uplink_mss_clamp = 100;\n", 0, "uplink_mss_clamp: must be 0 (off) or 536..65535");
}

/* A value from the command line is refused with the message the table
 * gives, and leaves the option as it was. */
static void expect_refused(const char *path, const char *text, const char *what)
{
	struct sg_config c, d;
	char err[256] = "";

	sg_config_default(&c);
	d = c;
	assert_int_equal(sg_config_set(&c, path, text, "--opt", err, sizeof(err)), -EINVAL);
	if (!strstr(err, "--opt: ") || !strstr(err, what))
		fail_msg("%s '%s': error '%s' lacks '--opt: ' or '%s'", path, text, err, what);
	assert_memory_equal(&c, &d, sizeof(c));
}

static void test_command_line_numbers_are_digits_and_nothing_else(void **state)
{
	(void)state;
	struct sg_config c;
	char err[256];

	expect_refused("threads", "2x", "\"2x\" is not an integer in 1..64");
	expect_refused("threads", "", "is not an integer in 1..64");
	expect_refused("threads", " 2", "is not an integer");
	expect_refused("threads", "+2", "is not an integer");
	expect_refused("threads", "-1", "is not an integer");
	expect_refused("threads", "0x10", "is not an integer");
	expect_refused("threads", "2 ", "is not an integer");
	expect_refused("threads", "99999999999999999999999", "out of range 1..64");
	sg_config_default(&c);
	assert_int_equal(sg_config_set(&c, "threads", "64", "--threads", err, sizeof(err)), 0);
	assert_int_equal(c.threads, 64);
}

static void test_command_line_ranges_and_wording_come_from_the_table(void **state)
{
	(void)state;
	struct sg_config c;
	char err[256];

	/* The same words as for the file (test_mistakes_name_line_option_and_range). */
	expect_refused("threads", "0", "0 is out of range 1..64");
	expect_refused("threads", "65", "65 is out of range 1..64");
	expect_refused("io", "dpdk", "\"dpdk\" is not one of auto|afxdp|afpacket");
	expect_refused("bridge_only", "yes", "is not true or false");
	expect_refused("conntrack.capacity", "8", "8 is out of range 16..");
	sg_config_default(&c);
	assert_int_equal(sg_config_set(&c, "io", "afpacket", NULL, err, sizeof(err)), 0);
	assert_int_equal(c.io, 2);
	assert_int_equal(sg_config_set(&c, "no.such", "1", "--x", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "unknown option 'no.such'"));
	/* Without a flag the message names the option. */
	assert_int_equal(sg_config_set(&c, "threads", "0", NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "threads: 0 is out of range 1..64"));
}

static void test_command_line_lists_take_entries_and_ranges(void **state)
{
	(void)state;
	struct sg_config c;
	char err[256], all[16];

	sg_config_default(&c);
	assert_int_equal(sg_config_set(&c, "cpus", "0,2-3,7", "--cpus", err, sizeof(err)), 0);
	assert_int_equal(c.ncpus, 4);
	assert_int_equal(c.cpus[0], 0);
	assert_int_equal(c.cpus[1], 2);
	assert_int_equal(c.cpus[2], 3);
	assert_int_equal(c.cpus[3], 7);
	expect_refused("cpus", "3-1", "3-1 is not an ascending range");
	expect_refused("cpus", "1,,2", "is not a list like 1,3,5-7 of integers in 0..4095");
	expect_refused("cpus", "1,", "is not a list like");
	expect_refused("cpus", "1-", "is not a list like");
	expect_refused("cpus", "x", "is not a list like");
	expect_refused("cpus", "1;2", "is not a list like");
	expect_refused("cpus", "0,4096", "entry 2 (4096) is out of range 0..4095");
	expect_refused("cpus", "0-64", "must have 1..64 entries, has 65");
	expect_refused("cpus", "0-4095", "must have 1..64 entries, has 4096");
	snprintf(all, sizeof(all), "0-%u", SG_CONFIG_MAX_CPUS - 1);
	assert_int_equal(sg_config_set(&c, "cpus", all, "--cpus", err, sizeof(err)), 0);
	assert_int_equal(c.ncpus, SG_CONFIG_MAX_CPUS);
	/* Lists of the file's own kind too. */
	assert_int_equal(sg_config_set(&c, "cookie.isn_mss4", "536,1460", NULL, err, sizeof(err)), 0);
	assert_int_equal(c.proxy.cookie.isn_mss_n[0], 2);
	assert_int_equal(c.proxy.cookie.isn_mss[0][1], 1460);
}

static void test_every_io_choice_is_an_io_backend(void **state)
{
	(void)state;
	static const char *const names[] = { "auto", "afxdp", "afpacket" };
	static const enum sg_io_kind kinds[] = { SG_IO_AUTO, SG_IO_AFXDP, SG_IO_AFPACKET };
	struct sg_config c;
	enum sg_io_kind k;
	char err[256];

	sg_config_default(&c);
	assert_int_equal(sg_config_io_kind(&c, &k), 0);
	assert_int_equal(k, SG_IO_AUTO);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(sg_config_set(&c, "io", names[i], NULL, err, sizeof(err)), 0);
		k = SG_IO_MEM;
		assert_int_equal(sg_config_io_kind(&c, &k), 0);
		assert_int_equal(k, kinds[i]);
	}
	c.io = 99;
	assert_int_equal(sg_config_io_kind(&c, &k), -EINVAL);
}

static void test_missing_file_is_reported(void **state)
{
	(void)state;
	struct sg_config c;
	char err[256];

	sg_config_default(&c);
	assert_true(sg_config_load("/nonexistent/synguard.conf", &c, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "/nonexistent/synguard.conf: cannot read"));
}

static char *print(const struct sg_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	sg_config_print(c, f);
	fclose(f);
	return buf;
}

static void test_printed_config_reads_back_the_same_values(void **state)
{
	(void)state;
	static struct sg_config c, d;
	char err[256], *buf;

	assert_int_equal(load("threads = 3;\npolicy = { unknown = \"forward\";\n"
	                      "  allow = [ \"2001:db8::/32\", \"198.51.100.0/24\" ];\n"
	                      "  rules = ( { dst = \"192.0.2.0/24\"; ports = \"80\"; action = \"bypass\"; },\n"
	                      "    { dst = \"192.0.2.10\"; ports = \"8000-8999\"; action = \"track\"; },\n"
	                      "    { dst = \"::/0\"; action = \"drop\"; } );\n"
	                      "  default = \"bypass\"; };\n"
	                      "learn = { pins = ( { dst = \"192.0.2.0/25\"; port = 22; sack = false; } ); };\n"
	                      "ratelimit = { enabled = false; };\n", &c, err, sizeof(err)), 0);
	buf = print(&c);
	assert_non_null(strstr(buf, "threads = 3;\n"));
	assert_non_null(strstr(buf, "policy = {\n"));
	assert_non_null(strstr(buf, "  unknown = \"forward\";\n"));
	assert_non_null(strstr(buf, "isn_mss4 = [536, 1300, 1440, 1460];\n"));
	assert_non_null(strstr(buf, "{ dst = \"192.0.2.10/32\"; ports = \"8000-8999\"; action = \"track\"; }"));
	/* Every value, loaded back from the text. */
	assert_int_equal(load(buf, &d, err, sizeof(err)), 0);
	assert_memory_equal(&c, &d, sizeof(c));
	free(buf);
	/* The defaults too (an empty cpus list is left out, not printed as []). */
	sg_config_default(&c);
	buf = print(&c);
	assert_int_equal(load(buf, &d, err, sizeof(err)), 0);
	assert_memory_equal(&c, &d, sizeof(c));
	free(buf);
}

static void test_key_file_is_loaded_into_the_proxy_config(void **state)
{
	(void)state;
	struct sg_config c;
	struct sg_proxy_config pc;
	struct sg_config_secrets sec;
	char err[256], kp[64] = "/tmp/sg_test_key_XXXXXX";
	int fd = mkstemp(kp);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", 65), 65);
	close(fd);
	sg_config_default(&c);
	assert_int_equal(sg_config_to_proxy(&c, &pc, &sec, err, sizeof(err)), 0);
	assert_null(pc.shared_key);
	snprintf(c.key_file, sizeof(c.key_file), "%s", kp);
	assert_int_equal(sg_config_to_proxy(&c, &pc, &sec, err, sizeof(err)), 0);
	assert_ptr_equal(pc.shared_key, sec.key);
	assert_ptr_equal(pc.seed, sec.seed);
	assert_int_equal(sec.key[31], 0x1f);
	unlink(kp);
	assert_int_equal(sg_config_to_proxy(&c, &pc, &sec, err, sizeof(err)), -1);
	assert_non_null(strstr(err, kp));
}

/* What the reload test's apply saw and what it was told needs a restart. */
struct reload_seen {
	struct sg_proxy *p;
	struct sg_proxy_config applied;
	unsigned calls;
	char restart[512];
};

static int apply_to_proxy(void *ctx, const struct sg_proxy_config *pc, struct sg_cfg_fault *why)
{
	struct reload_seen *r = ctx;
	int rc = sg_proxy_reconfigure(r->p, pc, why);

	r->calls++;
	if (!rc)
		r->applied = *pc;
	return rc;
}

static void note_restart(void *ctx, const char *option)
{
	struct reload_seen *r = ctx;

	strncat(r->restart, option, sizeof(r->restart) - strlen(r->restart) - 2);
	strcat(r->restart, " ");
}

/* The core decides which of its options need a restart: sg_config_reload
 * asks it (a real proxy here), keeps the running value of each it
 * refuses, and applies the rest. */
static void test_reload_applies_the_live_options_and_keeps_the_rest(void **state)
{
	(void)state;
	static struct sg_config run, next;
	static struct reload_seen r;
	static const uint8_t seed[SG_PROXY_SEED_BYTES];
	struct sg_proxy_config pc;
	struct sg_cfg_fault why;
	char err[256];

	assert_int_equal(load("conntrack = { capacity = 64; };\nlearn = { entries = 16; };\n"
	                      "syncache = { entries = 16; };\nratelimit = { entries = 16; };\n",
	                      &run, err, sizeof(err)), 0);
	pc = run.proxy;
	pc.seed = seed;
	assert_int_equal(sg_proxy_create(&pc, 1, &r.p), 0);
	sg_proxy_worker_offline(sg_proxy_worker(r.p, 0));   /* never holds a config */
	assert_int_equal(load("conntrack = { capacity = 128; timeouts = { established = 7200; }; };\n"
	                      "learn = { entries = 16; ttl = 60; };\n"
	                      "syncache = { entries = 16; max_syn_rate = 10; };\n"
	                      "ratelimit = { entries = 16; rate = 7; prefix4 = 20; };\n"
	                      "policy = { default = \"drop\"; };\n"
	                      "log = { level = \"trace\"; flood_syn_rate = 99; };\n"
	                      "control = { socket = \"/tmp/other.sock\"; };\n"
	                      "metrics = { listen = \"127.0.0.1:9477\"; };\n",
	                      &next, err, sizeof(err)), 0);
	assert_int_equal(sg_config_reload(&run, &next, apply_to_proxy, note_restart, &r, &why), 0);
	/* Restart-only: reported, and the running value kept. */
	assert_non_null(strstr(r.restart, "control.socket "));
	assert_non_null(strstr(r.restart, "metrics.listen "));
	assert_string_equal(next.metrics_listen, "");
	assert_non_null(strstr(r.restart, "conntrack.capacity "));
	assert_non_null(strstr(r.restart, "learn.ttl "));
	assert_non_null(strstr(r.restart, "ratelimit.prefix4 "));
	assert_string_equal(next.ctl_socket, run.ctl_socket);
	assert_int_equal(next.proxy.ct.capacity, 64);
	assert_int_equal(r.applied.ct.capacity, 64);
	assert_int_equal(r.applied.learn.ttl_s, run.proxy.learn.ttl_s);
	assert_int_equal(r.applied.ratelimit.prefix4, run.proxy.ratelimit.prefix4);
	/* Live: the new values, applied, and not reported. */
	assert_null(strstr(r.restart, "rate "));
	assert_null(strstr(r.restart, "log.level"));
	assert_null(strstr(r.restart, "log.flood_syn_rate"));
	assert_int_equal(next.log_level, 5);
	assert_int_equal(next.flood_syn_rate, 99);
	assert_int_equal(r.applied.ct.timeout_s[SG_CT_ESTABLISHED], 7200);
	assert_int_equal(r.applied.halfopen.max_syn_rate, 10);
	assert_int_equal(r.applied.ratelimit.rate, 7);
	assert_int_equal(r.applied.policy.default_action, SG_ACTION_DROP);
	/* Nothing differs any more: one call applies it. */
	r.calls = 0;
	r.restart[0] = 0;
	assert_int_equal(sg_config_reload(&next, &next, apply_to_proxy, note_restart, &r, &why), 0);
	assert_int_equal(r.calls, 1);
	assert_string_equal(r.restart, "");
	sg_proxy_destroy(r.p);
}

/* metrics.listen: off unless set; an address literal and a port, IPv6 in
 * brackets; anything else is refused with its line and what to write. */
static void test_metrics_listen_is_an_address_literal_and_a_port(void **state)
{
	static const char *const bad[] = {
		"localhost:9477", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
		"127.0.0.1:94x7", "::1:9477", "[::1]", "[::1]9477", "[127.0.0.1]:9477", ":9477",
	};
	struct sg_config c;
	char err[512], text[128];

	(void)state;
	assert_int_equal(load("", &c, err, sizeof(err)), 0);
	assert_string_equal(c.metrics_listen, "");
	assert_int_equal(load("metrics = { listen = \"127.0.0.1:9477\"; };\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c.metrics_listen, "127.0.0.1:9477");
	assert_int_equal(load("metrics = { listen = \"[::1]:1\"; };\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c.metrics_listen, "[::1]:1");
	assert_int_equal(load("metrics = { listen = \"\"; };\n", &c, err, sizeof(err)), 0);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "\nmetrics = {\n  listen = \"%s\";\n};\n", bad[i]);
		expect_error(text, 3, "metrics.listen");
		expect_error(text, 3, "ADDRESS:PORT");
	}
	sg_config_default(&c);
	assert_int_equal(sg_config_set(&c, "metrics.listen", "[::1]:9477", NULL, err, sizeof(err)), 0);
	assert_true(sg_config_set(&c, "metrics.listen", "::1", "--metrics", err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "--metrics: \"::1\""));
	assert_string_equal(c.metrics_listen, "[::1]:9477");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_file_gives_the_defaults),
		cmocka_unit_test(test_every_option_is_read),
		cmocka_unit_test(test_policy_is_read_normalized_and_in_order),
		cmocka_unit_test(test_policy_and_pin_mistakes_name_the_entry),
		cmocka_unit_test(test_entry_words_read_as_the_file_reads),
		cmocka_unit_test(test_mistakes_name_line_option_and_range),
		cmocka_unit_test(test_command_line_numbers_are_digits_and_nothing_else),
		cmocka_unit_test(test_command_line_ranges_and_wording_come_from_the_table),
		cmocka_unit_test(test_command_line_lists_take_entries_and_ranges),
		cmocka_unit_test(test_every_io_choice_is_an_io_backend),
		cmocka_unit_test(test_missing_file_is_reported),
		cmocka_unit_test(test_printed_config_reads_back_the_same_values),
		cmocka_unit_test(test_key_file_is_loaded_into_the_proxy_config),
		cmocka_unit_test(test_reload_applies_the_live_options_and_keeps_the_rest),
		cmocka_unit_test(test_metrics_listen_is_an_address_literal_and_a_port),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
