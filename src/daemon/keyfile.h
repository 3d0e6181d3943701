/* The cookie key file: the master secret a cluster of synguard boxes
 * shares, so that each accepts the others' cookies (core/secret.h).
 *
 * Format: 64 hexadecimal digits (32 bytes), optionally followed by a
 * newline; nothing else.  Make one with
 *   head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > /etc/synguard/cookie.key
 */
#ifndef SG_DAEMON_KEYFILE_H
#define SG_DAEMON_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/secret.h"

/* Reads a key file.  0, or a negative errno with a message naming the file
 * and what is wrong in err; -EACCES for a file group or others may read
 * or write, or another user owns (the message says `chmod 600 FILE`). */
int sg_keyfile_load(const char *path, uint8_t master[SG_SECRET_MASTER_BYTES],
                    char *err, size_t errlen);

#endif
