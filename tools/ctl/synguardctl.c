/* synguardctl: the operator's tool for a running synguard, over its
 * control socket.  Commands are the daemon's (synguardctl help lists
 * them); synguardctl adds the socket, JSON and the exit status.
 *   synguardctl [-s SOCKET] [-j] COMMAND [ARGS...]
 * Exit codes (client.h): 0 ok, 1 the command failed, 2 usage,
 * 3 cannot reach the daemon. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/capture.h"
#include "ctl/client.h"
#include "ctl/top.h"
#include "daemon/ctl.h"   /* SG_CTL_DEFAULT_SOCKET: the daemon's default */

static void usage(FILE *f)
{
	fprintf(f, "usage: synguardctl [-s SOCKET] [-j] COMMAND [ARGS...]\n"
	           "  help     the commands the daemon answers\n"
	           "  status   pid, version, uptime, ports and backends, workers, table use\n"
	           "  stats    counters of the running synguard, with rates per second\n"
	           "  top [-n N | --once] [--csv]   a live view of the rates, every second\n"
	           "  pins [add PREFIX [port N] [mss N] [wscale N] [sack on|off]\n"
	           "       [timestamps on|off] | del PREFIX [port N]]\n"
	           "  policy [add [at N] PREFIX [ports N[-M]] action ACTION | del N |\n"
	           "         default ACTION | monitor on|off]\n"
	           "  changes made with pins and policy are not saved to the configuration file\n"
	           "  conns [src|dst|wan|lan|addr PREFIX] [sport|dport|port N] [state S] [limit N]\n"
	           "           the tracked connections (at most 1000 unless limit says)\n"
	           "  capture --reason R [-c N] [-t SECONDS] [--snap BYTES] -w FILE\n"
	           "           frames dropped for reason R (or all) into a pcap file (- stdout)\n"
	           "  -j, --json  answers as JSON (also accepted after the command)\n"
	           "  -s PATH  control socket (default " SG_CTL_DEFAULT_SOCKET ")\n"
	           "exit status: 0 ok, 1 the command failed, 2 usage, 3 daemon unreachable\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = SG_CTL_DEFAULT_SOCKET;
	struct sgc_reply r;
	char err[512];
	bool json = false;
	int o, rc, n = 0;

	/* Options up to the command; the command's own words are its. */
	while ((o = getopt_long(argc, argv, "+s:jh", longopts, NULL)) != -1) {
		switch (o) {
		case 's': path = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return SGC_OK;
		default: usage(stderr); return SGC_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return SGC_USAGE;
	}
	argv += optind;
	argc -= optind;
	/* "stats --json" reads naturally: -j after the command too. */
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-j") == 0 || strcmp(argv[i], "--json") == 0)
			json = true;
		else
			argv[n++] = argv[i];
	}
	argv[n] = NULL;
	/* top is the client's: it asks the daemon for stats once a second. */
	if (strcmp(argv[0], "top") == 0)
		return sgc_top(path, json, n, argv);
	/* capture streams, and its options are its own. */
	if (strcmp(argv[0], "capture") == 0)
		return sgc_capture(path, json, n, argv);
	rc = sgc_request(path, json, n, argv, &r, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "synguardctl: %s\n", err);
		return rc;
	}
	fwrite(r.body, 1, r.len, r.status ? stderr : stdout);
	free(r.body);
	return r.status == SGC_OK || r.status == SGC_FAILED || r.status == SGC_USAGE
	       ? r.status : SGC_FAILED;
}
