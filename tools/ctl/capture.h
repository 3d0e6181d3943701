/* synguardctl capture: frames the daemon drops, written as a pcap file. */
#ifndef SG_TOOLS_CTL_CAPTURE_H
#define SG_TOOLS_CTL_CAPTURE_H

#include <stdbool.h>

/* argv[0] is "capture"; returns synguardctl's exit status (client.h). */
int sgc_capture(const char *path, bool json, int argc, char **argv);

#endif
