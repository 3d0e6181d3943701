/* sg-bridge: the I/O path (nic + io + workers), bridge-only or with the
 * core's default configuration (--proxy), for the namespace tests and the
 * benchmarks.  Not the daemon: no config file, no control socket; it
 * exists so the I/O layer and its wiring to the core can be tested on real
 * interfaces on their own.
 *
 *   sg-bridge --lan IF --wan IF [--io auto|afxdp|afpacket] [--threads N]
 *             [--xdp-mode auto|drv|skb] [--no-zerocopy] [--no-nic]
 *             [--cpus LIST] [--batch N] [--tx-ring N] [--seconds S]
 *             [--ready-file PATH] [--proxy]
 *
 * Runs until SIGINT/SIGTERM (or S seconds), then prints one line of
 * counters on stdout ("name=value ..."; with --proxy a second line,
 * "proxy: ...", with the core's nonzero counters) and restores the
 * interfaces.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/proxy.h"
#include "daemon/nic.h"
#include "daemon/worker.h"
#include "io/io.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void log_line(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (level <= LOG_INFO || getenv("SG_DEBUG"))
		fprintf(stderr, "sg-bridge: %s\n", msg);
}

static void usage(void)
{
	fprintf(stderr, "usage: sg-bridge --lan IF --wan IF [--io auto|afxdp|afpacket] "
	        "[--threads N] [--xdp-mode auto|drv|skb] [--no-zerocopy] [--no-nic] "
	        "[--cpus LIST] [--batch N] [--seconds S] [--ready-file PATH] [--proxy]\n");
	exit(2);
}

/* Decimal digits and nothing else ("2x" is not 2); the ranges are the
 * I/O layer's and the workers' to check, as for the daemon. */
static unsigned number(const char *s)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		usage();
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || errno == ERANGE || v > INT_MAX)
		usage();
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	const char *ifn[SG_IO_PORTS] = { NULL, NULL };
	const char *ready = NULL;
	struct sg_io_opts o;
	sg_io_opts_default(&o);
	o.log = log_line;
	bool nic = true;
	bool proxy_mode = false;
	long seconds = 0;
	int cpus[64];
	unsigned ncpus = 0;
	static const struct option opts[] = {
		{ "lan", required_argument, 0, 'l' },
		{ "wan", required_argument, 0, 'w' },
		{ "io", required_argument, 0, 'i' },
		{ "threads", required_argument, 0, 't' },
		{ "xdp-mode", required_argument, 0, 'x' },
		{ "no-zerocopy", no_argument, 0, 'z' },
		{ "no-nic", no_argument, 0, 'n' },
		{ "seconds", required_argument, 0, 's' },
		{ "ready-file", required_argument, 0, 'r' },
		{ "cpus", required_argument, 0, 'c' },
		{ "batch", required_argument, 0, 'B' },
		{ "tx-ring", required_argument, 0, 'T' },
		{ "proxy", no_argument, 0, 'P' },
		{ 0, 0, 0, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': ifn[0] = optarg; break;
		case 'w': ifn[1] = optarg; break;
		case 'i':
			if (sg_io_kind_parse(optarg, &o.kind))
				usage();
			break;
		case 't': o.nqueues = number(optarg); break;
		case 'x':
			if (!strcmp(optarg, "drv")) o.xdp_mode = SG_IO_XDP_DRV;
			else if (!strcmp(optarg, "skb")) o.xdp_mode = SG_IO_XDP_SKB;
			else if (!strcmp(optarg, "auto")) o.xdp_mode = SG_IO_XDP_AUTO;
			else usage();
			break;
		case 'z': o.zerocopy = false; break;
		case 'n': nic = false; break;
		case 's': seconds = number(optarg); break;
		case 'r': ready = optarg; break;
		case 'B': o.batch = number(optarg); break;
		case 'T': o.tx_ring = number(optarg); break;
		case 'P': proxy_mode = true; break;
		case 'c': {
			char *save = NULL, *tok;
			for (tok = strtok_r(optarg, ",", &save); tok && ncpus < 64;
			     tok = strtok_r(NULL, ",", &save))
				cpus[ncpus++] = (int)number(tok);
			break;
		}
		default: usage();
		}
	}
	if (!ifn[0] || !ifn[1] || optind != argc)
		usage();

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	char msg[320];
	struct sg_nic *nics[SG_IO_PORTS] = { NULL, NULL };
	if (nic) {
		struct sg_nic_opts no;
		sg_nic_opts_default(&no);
		no.channels = o.nqueues;
		no.log = log_line;
		for (unsigned p = 0; p < SG_IO_PORTS; p++) {
			if (sg_nic_prepare(&nics[p], ifn[p], &no, msg, sizeof(msg)) < 0) {
				fprintf(stderr, "sg-bridge: %s\n", msg);
				sg_nic_restore(nics[0]);
				return 1;
			}
		}
	}
	struct sg_io *io;
	struct sg_io_err err;
	int rc = sg_io_open(&io, ifn, &o, &err);
	if (rc) {
		fprintf(stderr, "sg-bridge: %s\n", err.msg);
		sg_nic_restore(nics[0]);
		sg_nic_restore(nics[1]);
		return 1;
	}
	for (unsigned p = 0; p < SG_IO_PORTS; p++)
		fprintf(stderr, "sg-bridge: %s: %s\n", ifn[p], sg_io_describe(io, p));

	struct sg_proxy *proxy = NULL;
	struct sg_proxy_worker *pw[SG_MAX_WORKERS];
	if (proxy_mode) {
		struct sg_proxy_config pc;
		uint8_t seed[SG_PROXY_SEED_BYTES];

		sg_proxy_config_default(&pc);
		if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
			abort();
		pc.seed = seed;
		rc = sg_proxy_create(&pc, sg_io_nqueues(io), &proxy);
		if (rc) {
			fprintf(stderr, "sg-bridge: creating the proxy: %s\n", strerror(-rc));
			sg_io_close(io);
			sg_nic_restore(nics[0]);
			sg_nic_restore(nics[1]);
			return 1;
		}
		for (unsigned i = 0; i < sg_io_nqueues(io); i++)
			pw[i] = sg_proxy_worker(proxy, i);
	}
	struct sg_worker_config wc = { .io = io, .bridge_only = !proxy_mode,
	                               .proxy = proxy_mode ? pw : NULL,
	                               .cpus = cpus, .ncpus = ncpus,
	                               .batch = o.batch };
	struct sg_workers *ws;
	rc = sg_workers_start(&ws, &wc, msg, sizeof(msg));
	if (rc) {
		fprintf(stderr, "sg-bridge: %s\n", msg);
		sg_io_close(io);
		sg_nic_restore(nics[0]);
		sg_nic_restore(nics[1]);
		return 1;
	}
	if (ready) {
		FILE *f = fopen(ready, "w");
		if (f) {
			fprintf(f, "%s\n", sg_io_kind_name(sg_io_kind(io)));
			fclose(f);
		}
	}
	time_t end = seconds > 0 ? time(NULL) + seconds : 0;
	while (!stop && (!end || time(NULL) < end))
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);

	sg_workers_halt(ws);        /* counters final from here */
	struct sg_worker_stats st;
	sg_workers_stats(ws, SG_WORKERS_ALL, &st);
	uint64_t kdrops = 0, txdrops = 0;
	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		for (unsigned q = 0; q < sg_io_nqueues(io); q++) {
			struct sg_io_stats is;
			sg_io_stats(io, p, q, &is);
			kdrops += is.c[SG_IO_STAT_RX_KERNEL_DROPS];
			txdrops += is.c[SG_IO_STAT_TX_DROPS];
		}
	}
	/* The workers' counters by their own names (bridged: what bridge-only
	 * mode forwarded), then the I/O layer's drops. */
	for (unsigned k = 0; k < SG_WORKER_STAT__COUNT; k++)
		printf("%s=%llu ", sg_worker_stat_name((enum sg_worker_stat)k),
		       (unsigned long long)st.c[k]);
	printf("io_tx_drops=%llu kernel_drops=%llu\n",
	       (unsigned long long)txdrops, (unsigned long long)kdrops);
	if (proxy) {
		struct sg_stats sum;
		memset(&sum, 0, sizeof(sum));
		for (unsigned i = 0; i < sg_io_nqueues(io); i++)
			sg_stats_add(&sum, sg_proxy_stats(pw[i]));
		printf("proxy:");
		for (unsigned k = 0; k < SG_STAT__COUNT; k++)
			if (sum.c[k])
				printf(" %s=%llu", sg_stat_name((enum sg_stat)k),
				       (unsigned long long)sum.c[k]);
		printf("\n");
	}
	fflush(stdout);
	sg_workers_stop(ws);
	sg_proxy_destroy(proxy);
	sg_io_close(io);
	sg_nic_restore(nics[0]);
	sg_nic_restore(nics[1]);
	return 0;
}
