/* The cookie key file (see keyfile.h). */
#include "daemon/keyfile.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* Whoever can read the key can forge cookies every box accepts; whoever
 * can write it chooses the key.  Only its owner (us, or root) may do
 * either.  Checked on the file we read, not on its name. */
static int private_to_owner(FILE *f, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fileno(f), &st) != 0) {
		int e = errno;

		snprintf(err, errlen, "%s: cannot stat key file: %s", path, strerror(e));
		return -e;
	}
	if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
		snprintf(err, errlen, "%s: the cookie key file may be read or written by group or "
		         "others (mode %04o): they could forge cookies; fix with `chmod 600 %s`",
		         path, (unsigned)(st.st_mode & 07777), path);
		return -EACCES;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: the cookie key file is owned by uid %u, who could change "
		         "it; fix with `chown root %s`", path, (unsigned)st.st_uid, path);
		return -EACCES;
	}
	return 0;
}

int sg_keyfile_load(const char *path, uint8_t master[SG_SECRET_MASTER_BYTES],
                    char *err, size_t errlen)
{
	char buf[SG_SECRET_MASTER_BYTES * 2 + 4];
	FILE *f = fopen(path, "re");
	size_t n, digits;
	int rc;

	if (!f) {
		int e = errno;

		snprintf(err, errlen, "%s: cannot open key file: %s", path, strerror(e));
		return -e;
	}
	rc = private_to_owner(f, path, err, errlen);
	if (rc) {
		fclose(f);
		return rc;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	/* 64 hex digits, then at most a newline. */
	for (digits = 0; digits < n && hexval((unsigned char)buf[digits]) >= 0; digits++)
		;
	if (digits != SG_SECRET_MASTER_BYTES * 2) {
		snprintf(err, errlen, "%s: key file must hold exactly 64 hexadecimal digits (32 bytes); found %zu",
		         path, digits);
		return -EINVAL;
	}
	if (n > digits + 1 || (n == digits + 1 && buf[digits] != '\n')) {
		snprintf(err, errlen, "%s: unexpected characters after the 64 hexadecimal digits", path);
		return -EINVAL;
	}
	for (size_t i = 0; i < SG_SECRET_MASTER_BYTES; i++)
		master[i] = (uint8_t)(hexval((unsigned char)buf[2 * i]) << 4 |
		                      hexval((unsigned char)buf[2 * i + 1]));
	sodium_memzero(buf, sizeof(buf));
	return 0;
}
