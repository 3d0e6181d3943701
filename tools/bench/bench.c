/* synguard-bench driver: `synguard-bench <scenario|all> [--threads N]
 * [--runs R] [--flows F]`; one line per scenario, median of R runs. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bench.h"
#include "daemon/clock.h"
#include "sg_limits.h"

static const struct bench_scenario *const scenarios[] = {
	&bench_cookie_make, &bench_cookie_check, &bench_ct_lookup,
	&bench_syn, &bench_ackflood, &bench_established, &bench_handshake,
};
#define NSCEN (sizeof(scenarios) / sizeof(scenarios[0]))
#define MAX_RUNS 99

/* The daemon's clock, so a figure here is timed as the workers time. */
uint64_t bench_now_ns(void)
{
	return sg_clock_mono_ns();
}

void bench_random(void *buf, size_t len)
{
	if (getrandom(buf, len, 0) != (ssize_t)len) {
		perror("synguard-bench: getrandom");
		exit(1);
	}
}

/* One per thread, each on lines of its own: a thread writes its sample
 * and times while the others still run. */
struct thread_arg {
	const struct bench_scenario *sc;
	void *state;
	unsigned t;
	struct bench_sample s;
	uint64_t t0, t1;            /* when its run started and ended */
	pthread_barrier_t *start;
} __attribute__((aligned(64)));

static void *thread_main(void *p)
{
	struct thread_arg *a = p;

	pthread_barrier_wait(a->start);
	a->t0 = bench_now_ns();
	a->sc->run(a->state, a->t, &a->s);
	a->t1 = bench_now_ns();
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Returns the median total rate: every thread's operations over the
 * span from the first start to the last end.  A sum of each thread's own
 * rate would count twice a core that ran the threads one after the other
 * (on a shared machine the scheduler does), and call that scaling. */
static double measure(const struct bench_scenario *sc, const struct bench_opts *o)
{
	double rates[MAX_RUNS];

	for (unsigned r = 0; r < o->runs; r++) {
		struct thread_arg args[SG_MAX_WORKERS];
		pthread_t th[SG_MAX_WORKERS];
		pthread_barrier_t start;
		void *state = sc->setup(o);
		double ops = 0;
		uint64_t first = UINT64_MAX, last = 0;

		if (!state) {
			fprintf(stderr, "synguard-bench: %s: setup failed\n", sc->name);
			exit(1);
		}
		pthread_barrier_init(&start, NULL, o->threads);
		for (unsigned t = 0; t < o->threads; t++) {
			args[t] = (struct thread_arg){ .sc = sc, .state = state, .t = t, .start = &start };
			pthread_create(&th[t], NULL, thread_main, &args[t]);
		}
		for (unsigned t = 0; t < o->threads; t++) {
			pthread_join(th[t], NULL);
			ops += args[t].s.ops;
			first = args[t].t0 < first ? args[t].t0 : first;
			last = args[t].t1 > last ? args[t].t1 : last;
		}
		pthread_barrier_destroy(&start);
		sc->teardown(state);
		rates[r] = o->threads == 1 ? args[0].s.ops / (args[0].s.ns / 1e9)
		                           : ops / ((double)(last - first) / 1e9);
	}
	qsort(rates, o->runs, sizeof(rates[0]), cmp_double);
	return rates[o->runs / 2];
}

static void report(const struct bench_scenario *sc, const struct bench_opts *o, double rate)
{
	double per_core = rate / o->threads;

	printf("%-12s threads=%u  %8.2f M/s  %7.1f ns/op per thread", sc->name, o->threads,
	       rate / 1e6, 1e9 / per_core);
	if (sc->target_per_core > 0)
		printf("  target %.1f M/s per core: %.2fx", sc->target_per_core / 1e6,
		       per_core / sc->target_per_core);
	printf("\n");
	fflush(stdout);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: synguard-bench <scenario|all> [--threads N] [--runs R] [--flows F]\n"
	           "                     [--syncache] [--ratelimit] [--defences]   (proxy scenarios)\n"
	           "  --syncache   the SYN cache takes every SYN (its worst case)\n"
	           "  --ratelimit  every SYN-ACK and MAC check asks the per-source limiter\n"
	           "  --defences   all of them as deployed: adaptive SYN cache at its defaults,\n"
	           "               limiter, a learned server, deny list and policy rules\n"
	           "scenarios:");
	for (unsigned i = 0; i < NSCEN; i++)
		fprintf(f, " %s", scenarios[i]->name);
	fprintf(f, "\n'cookie' runs cookie-make and cookie-check.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "runs", required_argument, NULL, 'r' },
		{ "flows", required_argument, NULL, 'f' },
		{ "syncache", no_argument, NULL, 'S' },
		{ "ratelimit", no_argument, NULL, 'L' },
		{ "defences", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_opts o = { .threads = 1, .runs = 5, .flows = 32768 };
	const char *which;
	unsigned matched = 0;
	int c;

	while ((c = getopt_long(argc, argv, "t:r:f:SLDh", longopts, NULL)) != -1) {
		switch (c) {
		case 't': o.threads = (unsigned)atoi(optarg); break;
		case 'r': o.runs = (unsigned)atoi(optarg); break;
		case 'f': o.flows = (unsigned)atoi(optarg); break;
		case 'S': o.syncache = 1; break;
		case 'L': o.ratelimit = 1; break;
		case 'D': o.defences = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1 || o.threads < 1 || o.threads > SG_MAX_WORKERS ||
	    o.runs < 1 || o.runs > MAX_RUNS || o.flows < 16) {
		usage(stderr);
		return 2;
	}
	which = argv[optind];
	for (unsigned i = 0; i < NSCEN; i++) {
		const struct bench_scenario *sc = scenarios[i];

		if (strcmp(which, "all") && strcmp(which, sc->name) &&
		    !(strcmp(which, "cookie") == 0 && strncmp(sc->name, "cookie", 6) == 0))
			continue;
		matched++;
		report(sc, &o, measure(sc, &o));
	}
	if (!matched) {
		fprintf(stderr, "synguard-bench: no scenario named '%s'\n", which);
		usage(stderr);
		return 2;
	}
	return 0;
}
