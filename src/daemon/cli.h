/* synguard's command line: what it names (ports, files, flags) and the
 * options that set config options, checked at once by the config's own
 * option table and applied over the file (sg_cli_apply_sets). */
#ifndef SG_DAEMON_CLI_H
#define SG_DAEMON_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "daemon/config.h"
#include "io/io.h"

/* A command-line option that sets a config option: it is parsed and
 * range-checked by the config's option table, like the file. */
struct cli_set {
	const char *path;      /* config option */
	const char *text;
	const char *flag;      /* as typed, for messages */
};

#define CLI_SETS_MAX 8

struct cli {
	const char *ifname[SG_IO_PORTS];
	const char *config;
	const char *check_config;
	const char *pcap_in[SG_IO_PORTS];
	const char *pcap_out;
	struct cli_set set[CLI_SETS_MAX];   /* applied over the file, in order */
	unsigned nset;
	bool bridge_only;
	int verbose;
};

void sg_cli_usage(FILE *f);

/* Fills *c from argv.  0, or -1 after saying what was wrong on stderr
 * (a usage error); --help and --version print and exit 0. */
int sg_cli_parse(int argc, char **argv, struct cli *c);

/* The config options the command line set, over cfg, in order.  0, or
 * the error of the first that does not apply (said on stderr). */
int sg_cli_apply_sets(const struct cli *c, struct sg_config *cfg);

/* The command-line flag that set config option path, or NULL. */
const char *sg_cli_flag(const struct cli *c, const char *path);

#endif
