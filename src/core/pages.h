/* Big zeroed mappings for the tables that hold per-flow state, and
 * populating them later, off the data path.
 *
 * A restart's forwarding gap waits for the tables to be created, so they
 * are mapped without being touched (the kernel hands out zeroed pages on
 * first use); but then every first use of a page is a page fault inside
 * a worker's burst.  The control thread calls sg_pages_populate once the
 * workers forward, and the faults happen there instead. */
#ifndef SG_CORE_PAGES_H
#define SG_CORE_PAGES_H

#include <stddef.h>

/* A private anonymous mapping of `bytes` zeroed bytes, untouched; NULL
 * when the mapping fails.  Undo with munmap. */
void *sg_pages_map(size_t bytes);

/* Faults in every page of [p, p + bytes) for writing
 * (MADV_POPULATE_WRITE, Linux >= 5.14).  Safe while other threads write
 * the range: a page already present is left as it is, and a missing one
 * is mapped zeroed, as a first write would have.  Idempotent.  0 when
 * done; -EOPNOTSUPP when the kernel does not know the request (nothing is
 * done then; the pages fault in on first use as before); else -errno
 * (-ENOMEM, or -EINTR when the process is being killed). */
int sg_pages_populate(void *p, size_t bytes);

#endif
