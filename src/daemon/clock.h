/* The daemon's clock: CLOCK_MONOTONIC in nanoseconds, the clock the core
 * is fed (core/proxy.h).  One definition for the workers, the control
 * thread and the benchmark, so they cannot disagree on the clock or on
 * the conversion. */
#ifndef SG_DAEMON_CLOCK_H
#define SG_DAEMON_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t sg_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t sg_clock_mono_ns(void)
{
	return sg_clock_ns(CLOCK_MONOTONIC);
}

#endif
