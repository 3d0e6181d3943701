/* Resident bytes of this test process, for the tests that check what a
 * table's creation or population faults in.  Include after cmocka.h. */
#ifndef SG_TEST_RESIDENT_H
#define SG_TEST_RESIDENT_H

#include <stdio.h>
#include <unistd.h>

static inline size_t resident_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%lu %lu", &size, &resident), 2);
	fclose(f);
	return resident * (size_t)sysconf(_SC_PAGESIZE);
}

#endif
