/* The control socket's commands (see ctl_cmds.h).  A command is a line in
 * the table below and a function; synguardctl(8) documents each. */
#include "daemon/ctl_cmds.h"

#include <string.h>

#include "daemon/ctl_cmd.h"
#include "daemon/ctl_capture.h"
#include "daemon/ctl_conns.h"
#include "daemon/daemon.h"

struct ctl_cmd {
	const char *name;
	const char *usage;      /* the arguments, for help and usage errors */
	const char *what;
	void (*run)(struct sg_daemon *d, int argc, char **argv, bool json, struct sg_reply *r);
};

static void cmd_stats(struct sg_daemon *d, int argc, char **argv, bool json, struct sg_reply *r)
{
	static char buf[64 * 1024];
	int n;

	if (argc == 2 && strcmp(argv[1], "json") == 0)
		json = true;    /* the request's older spelling */
	else if (argc != 1) {
		sg_reply_fail(r, 2, "stats takes no arguments");
		return;
	}
	n = sg_ctl_format(buf, sizeof(buf), &d->snap[d->cur], &d->snap[d->cur ^ 1], json);
	if (n < 0)
		sg_reply_fail(r, 1, "the counters do not fit in %zu bytes", sizeof(buf));
	else
		sg_reply_printf(r, "%.*s", n, buf);
}

/* The stop path writes the table (handover.h) once the workers halt:
 * the same code as SIGTERM's, so a handover asked for here is exactly
 * the one a restart makes. */
static void cmd_handover(struct sg_daemon *d, int argc, char **argv, bool json, struct sg_reply *r)
{
	(void)argv;
	if (argc != 1) {
		sg_reply_fail(r, 2, "handover takes no arguments");
		return;
	}
	if (!d->ho.path[0] || !d->proxy) {
		sg_reply_fail(r, 1, "nothing to hand over: %s; stop synguard as usual",
		              !d->proxy ? "bridge only, there is no connection table"
		                        : "handover = false in the configuration, or a pcap replay");
		return;
	}
	d->stop_request = "synguardctl handover";
	if (json) {
		sg_reply_printf(r, "{\"stopping\": true, \"file\": ");
		sg_reply_json_str(r, d->ho.path);
		sg_reply_printf(r, ", \"max_age_s\": %d}\n", SG_HANDOVER_MAX_AGE_S);
	} else
		sg_reply_printf(r, "stopping: the connection table goes to %s; start the next "
		                "synguard on the same control socket within %d s\n",
		                d->ho.path, SG_HANDOVER_MAX_AGE_S);
}

static void cmd_help(struct sg_daemon *d, int argc, char **argv, bool json, struct sg_reply *r);

static const struct ctl_cmd cmds[] = {
	{ "help",  "",  "the commands this daemon answers", cmd_help },
	{ "stats", "",  "counters, with rates per second", cmd_stats },
	{ "handover", "", "stop, writing the connection table for the next start", cmd_handover },
	{ "status", "", "pid, version, uptime, ports, workers, table use", sg_ctl_status },
	{ "pins", "[add PREFIX FIELD VALUE... | del PREFIX [port N]]",
	  "the operator's pins of server options", sg_ctl_pins },
	{ "policy", "[add [at N] PREFIX [ports P] action A | del N | default A | monitor on|off]",
	  "the policy of new WAN flows", sg_ctl_policy },
	{ "conns", "[src|dst|wan|lan|addr P] [sport|dport|port N] [state S] [limit N]",
	  "tracked connections, filtered", sg_ctl_conns },
	{ "capture", "reason R [count N] [timeout S] [snap B]",
	  "frames dropped for a reason, streamed (synguardctl writes pcap)", sg_ctl_capture },
};

static void cmd_help(struct sg_daemon *d, int argc, char **argv, bool json, struct sg_reply *r)
{
	(void)d;
	(void)argc;
	(void)argv;
	if (json)
		sg_reply_printf(r, "{\"commands\": [");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (json)
			sg_reply_printf(r, "%s{\"name\": \"%s\", \"usage\": \"%s\", \"what\": \"%s\"}",
			                i ? ", " : "", cmds[i].name, cmds[i].usage, cmds[i].what);
		else
			sg_reply_printf(r, "%-8s %s\n         %s\n", cmds[i].name, cmds[i].usage, cmds[i].what);
	}
	if (json)
		sg_reply_printf(r, "]}\n");
}

void sg_ctl_dispatch(void *ctx, int argc, char **argv, bool json, struct sg_reply *r)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[0], cmds[i].name) == 0) {
			cmds[i].run(ctx, argc, argv, json, r);
			return;
		}
	sg_reply_fail(r, 2, "unknown command '%s' (try: help)", argv[0]);
}
