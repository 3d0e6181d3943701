/* The run directory (see rundir.h). */
#include "daemon/rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int sg_rundir_prepare(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		int e = errno;

		snprintf(err, errlen, "%s: cannot create the directory: %s", dir, strerror(e));
		return -e;
	}
	/* lstat: a symlink planted in the directory's place is refused too. */
	if (lstat(dir, &st) != 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", dir, strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory; remove it so synguard can make its own",
		         dir);
		return -ENOTDIR;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: owned by uid %u, not by uid %u that synguard runs as: "
		         "whoever owns it could plant files synguard trusts; fix with `chown %u %s`",
		         dir, (unsigned)st.st_uid, (unsigned)geteuid(), (unsigned)geteuid(), dir);
		return -EPERM;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && (st.st_mode & S_ISVTX)) {
		snprintf(err, errlen, "%s: a shared directory (mode %04o, like /tmp): others could "
		         "take the names synguard uses; give it a directory of its own, such as "
		         SG_RUN_DIR, dir, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s: group or others may write it (mode %04o): they could plant "
		         "files synguard trusts; fix with `chmod go-w %s`",
		         dir, (unsigned)(st.st_mode & 07777), dir);
		return -EPERM;
	}
	return 0;
}

int sg_rundir_lock(const char *path, int flags, int *fdp)
{
	for (int tries = 0; tries < 4; tries++) {
		struct stat a, b;
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | flags, 0600);
		int e;

		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			e = errno;
			close(fd);
			return e == EWOULDBLOCK ? -EBUSY : -e;
		}
		/* Its holder may have removed it between our open and our lock:
		 * then we hold a file nobody else can find; open again. */
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			*fdp = fd;
			return 0;
		}
		close(fd);
	}
	return -EAGAIN;
}

void sg_rundir_unlock(const char *path, int fd)
{
	if (fd < 0)
		return;
	unlink(path);
	close(fd);
}
