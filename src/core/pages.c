/* Big zeroed mappings, populated on request (pages.h). */
#include "core/pages.h"

#include <errno.h>
#include <sys/mman.h>

void *sg_pages_map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int sg_pages_populate(void *p, size_t bytes)
{
#ifdef MADV_POPULATE_WRITE
	if (madvise(p, bytes, MADV_POPULATE_WRITE) == 0)
		return 0;
	/* A kernel before 5.14 refuses an advice it does not know. */
	return errno == EINVAL ? -EOPNOTSUPP : -errno;
#else
	(void)p;
	(void)bytes;
	return -EOPNOTSUPP;
#endif
}
