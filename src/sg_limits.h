/* Limits every layer shares.  One home, so the table, the I/O queues, the
 * workers and the configuration cannot disagree about them. */
#ifndef SG_LIMITS_H
#define SG_LIMITS_H

/* Workers, and so queues per port (one worker serves one queue index of
 * both ports).  The connection table keeps a worker index in a byte and a
 * cache line per worker for reclamation. */
#define SG_MAX_WORKERS 64

#endif
