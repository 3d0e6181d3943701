/* What the start will find, checked before synguard changes anything, by
 * the start itself and by --check-config alike, so that a configuration
 * --check-config accepts does not then fail to start on this machine:
 *   - the cookie key file: readable, 64 hex digits, private to its owner;
 *   - cpus: each one this process may run on;
 *   - the connection table (sg_ct_config_bytes): no larger than the
 *     machine's memory, and at the start no larger than what is available;
 *   - the ports, when named: interfaces that exist.
 * Each fault is said in full, "FILE:LINE: option: what is wrong" when the
 * file set the option, "--flag: ..." when the command line did. */
#ifndef SG_DAEMON_PREFLIGHT_H
#define SG_DAEMON_PREFLIGHT_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/config.h"
#include "io/io.h"

/* The machine as the checks see it; tests make their own. */
struct sg_machine {
	uint64_t mem_total;      /* bytes: MemTotal of /proc/meminfo; 0 unknown */
	uint64_t mem_avail;      /* bytes: MemAvailable; 0 unknown */
	cpu_set_t cpus;          /* the CPUs this process may run on */
};

/* Reads /proc/meminfo and sched_getaffinity.  What it cannot read stays
 * unknown (0, or every CPU allowed), and is not checked. */
void sg_machine_probe(struct sg_machine *m);

enum sg_preflight_fault {
	SG_PREFLIGHT_OK = 0,
	SG_PREFLIGHT_CONFIG,     /* the configuration cannot work here: fix it */
	SG_PREFLIGHT_PORT,       /* a port is missing (it may appear later) */
	SG_PREFLIGHT_MEMORY,     /* not enough memory available now */
};

struct sg_preflight {
	const struct sg_config *cfg;
	const char *path;                   /* the file cfg was read from, or NULL */
	const char *cpus_flag;              /* e.g. "--cpus" if the command line set
	                                       cpus over the file, else NULL */
	const char *ifname[SG_IO_PORTS];    /* the ports; NULL: not checked */
	bool at_start;                      /* memory: check what is available now
	                                       (a fault), not only warn about it */
	/* Every fault and warning, one line each without a trailing newline. */
	void (*say)(void *ctx, bool fault, const char *msg);
	void *ctx;
};

/* Runs every check; returns the first fault's kind, or SG_PREFLIGHT_OK. */
enum sg_preflight_fault sg_preflight_run(const struct sg_preflight *pf, const struct sg_machine *m);

#endif
