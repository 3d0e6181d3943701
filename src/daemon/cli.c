/* synguard's command line (see cli.h). */
#include "daemon/cli.h"

#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#ifndef SG_VERSION
#define SG_VERSION "0.1.0"
#endif

void sg_cli_usage(FILE *f)
{
	fprintf(f,
	        "usage: synguard --lan IF --wan IF [-c FILE] [--io auto|afxdp|afpacket]\n"
	        "                [--threads N] [--cpus LIST] [--bridge-only]\n"
	        "                [--pcap-in-lan FILE] [--pcap-in-wan FILE] [--pcap-out FILE] [-v|-vv]\n"
	        "       synguard --check-config FILE [--lan IF] [--wan IF] [--threads N] [--cpus LIST]\n"
	        "       synguard --help | --version\n"
	        "\n"
	        "Transparent TCP SYN proxy between a WAN port (clients) and a LAN port\n"
	        "(protected servers).  See synguard(8) and synguard.conf(5).\n");
}

/* Checks an option that sets a config option at once (a usage error,
 * before any file is read) and keeps it for apply_cli_sets. */
static int cli_set(struct cli *c, const char *path, const char *text, const char *flag)
{
	static struct sg_config scratch;
	char err[256];

	sg_config_default(&scratch);
	if (c->nset >= CLI_SETS_MAX || sg_config_set(&scratch, path, text, flag, err, sizeof(err))) {
		fprintf(stderr, "synguard: %s\n", c->nset >= CLI_SETS_MAX ? "too many options" : err);
		return -EINVAL;
	}
	c->set[c->nset++] = (struct cli_set){ path, text, flag };
	return 0;
}

int sg_cli_apply_sets(const struct cli *c, struct sg_config *cfg)
{
	char err[256];

	for (unsigned i = 0; i < c->nset; i++) {
		int rc = sg_config_set(cfg, c->set[i].path, c->set[i].text, c->set[i].flag,
		                       err, sizeof(err));
		if (rc) {
			fprintf(stderr, "synguard: %s\n", err);
			return rc;
		}
	}
	return 0;
}

int sg_cli_parse(int argc, char **argv, struct cli *c)
{
	static const struct option longopts[] = {
		{ "lan", required_argument, NULL, 'L' },
		{ "wan", required_argument, NULL, 'W' },
		{ "config", required_argument, NULL, 'c' },
		{ "io", required_argument, NULL, 'i' },
		{ "threads", required_argument, NULL, 't' },
		{ "cpus", required_argument, NULL, 'C' },
		{ "bridge-only", no_argument, NULL, 'b' },
		{ "pcap-in-lan", required_argument, NULL, 1 },
		{ "pcap-in-wan", required_argument, NULL, 2 },
		{ "pcap-out", required_argument, NULL, 3 },
		{ "check-config", required_argument, NULL, 4 },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	memset(c, 0, sizeof(*c));
	while ((o = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
		switch (o) {
		case 'L': c->ifname[SG_PORT_LAN] = optarg; break;
		case 'W': c->ifname[SG_PORT_WAN] = optarg; break;
		case 'c': c->config = optarg; break;
		case 'i':
			if (cli_set(c, "io", optarg, "--io"))
				return -1;
			break;
		case 't':
			if (cli_set(c, "threads", optarg, "--threads"))
				return -1;
			break;
		case 'C':
			if (cli_set(c, "cpus", optarg, "--cpus"))
				return -1;
			break;
		case 'b': c->bridge_only = true; break;
		case 1: c->pcap_in[SG_PORT_LAN] = optarg; break;
		case 2: c->pcap_in[SG_PORT_WAN] = optarg; break;
		case 3: c->pcap_out = optarg; break;
		case 4: c->check_config = optarg; break;
		case 'v': c->verbose++; break;
		case 'h': sg_cli_usage(stdout); exit(0);
		case 'V': printf("synguard %s\n", SG_VERSION); exit(0);
		default: return -1;
		}
	}
	if (optind < argc) {
		if (argc - optind == 2 && !c->ifname[0] && !c->ifname[1])
			fprintf(stderr, "synguard: two bare interface names are ambiguous: "
			        "say which is which with --lan %s --wan %s (or the other way round)\n",
			        argv[optind], argv[optind + 1]);
		else
			fprintf(stderr, "synguard: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (c->check_config && c->config) {
		fprintf(stderr, "synguard: --check-config names the file to check: no -c with it\n");
		return -1;
	}
	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		const char *flag = p == SG_PORT_LAN ? "--lan" : "--wan", *n = c->ifname[p];

		if (n && (!n[0] || strlen(n) >= IF_NAMESIZE || strpbrk(n, "/ \t\n:"))) {
			fprintf(stderr, "synguard: %s \"%s\": %s\n", flag, n,
			        !n[0] ? "an empty interface name"
			        : strlen(n) >= IF_NAMESIZE ? "longer than an interface name may be (15 characters)"
			        : "not an interface name (no '/', ':' or spaces)");
			return -1;
		}
	}
	/* --check-config checks the ports it is given, and needs none. */
	if (!c->check_config && (!c->ifname[0] || !c->ifname[1])) {
		fprintf(stderr, "synguard: both --lan and --wan are required\n");
		return -1;
	}
	if (c->ifname[0] && c->ifname[1] && strcmp(c->ifname[0], c->ifname[1]) == 0) {
		fprintf(stderr, "synguard: --lan and --wan must be different interfaces (both are %s)\n",
		        c->ifname[0]);
		return -1;
	}
	return 0;
}

const char *sg_cli_flag(const struct cli *c, const char *path)
{
	const char *flag = NULL;

	for (unsigned i = 0; i < c->nset; i++)
		if (strcmp(c->set[i].path, path) == 0)
			flag = c->set[i].flag;
	return flag;
}
