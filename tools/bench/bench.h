/* synguard-bench: in-memory benchmarks.  A scenario prepares its data,
 * then times a loop; the driver runs it `runs` times on `threads` threads
 * at once and prints the median.  Figures are for comparing, in one run on
 * one machine: never assert on them in tests. */
#ifndef SG_BENCH_H
#define SG_BENCH_H

#include <stddef.h>
#include <stdint.h>

struct bench_opts {
	unsigned threads;
	unsigned runs;
	unsigned flows;          /* per thread, where a scenario has flows */
	/* The defences in the proxy scenarios: off unless asked, so each
	 * figure is the path alone.  syncache: the SYN cache takes every SYN
	 * (its worst case, which its adaptive rule never allows in a flood);
	 * defences: every defence as an operator runs them (bench_proxy.c). */
	int syncache, ratelimit, defences;
};

/* One measurement of one scenario: `ops` operations took `ns` on each
 * thread (the driver divides all threads' ops by the span from the
 * first start to the last end). */
struct bench_sample {
	double ops;
	double ns;
};

struct bench_scenario {
	const char *name;
	const char *unit;        /* "Mpps", "M/s", "ns/op" ... as printed */
	double target_per_core;  /* ops per second per core, 0: none */
	/* Prepares a run for `threads` workers; returns opaque state. */
	void *(*setup)(const struct bench_opts *o);
	/* Runs thread t's share; fills its sample. */
	void (*run)(void *state, unsigned t, struct bench_sample *s);
	void (*teardown)(void *state);
};

extern const struct bench_scenario bench_cookie_make, bench_cookie_check;
extern const struct bench_scenario bench_ct_lookup;
extern const struct bench_scenario bench_syn, bench_ackflood, bench_established, bench_handshake;

uint64_t bench_now_ns(void);

/* Fills buf with random bytes: the keys the core is handed. */
void bench_random(void *buf, size_t len);

#endif
