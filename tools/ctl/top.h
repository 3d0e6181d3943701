/* synguardctl top: a live view of a running synguard's rates, drawn by
 * the client from the daemon's `stats` once a second. */
#ifndef SG_TOOLS_CTL_TOP_H
#define SG_TOOLS_CTL_TOP_H

#include <stdbool.h>

/* argv[0] is "top"; its options follow (synguardctl(8)).  Returns
 * synguardctl's exit code. */
int sgc_top(const char *path, bool json, int argc, char **argv);

#endif
