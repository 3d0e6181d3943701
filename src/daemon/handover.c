/* The handover file (see handover.h). */
#include "daemon/handover.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/clock.h"
#include "daemon/log.h"
#include "daemon/rundir.h"

#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

/* The daemon's tag in the dump: what makes a table meaningful here. */
struct ho_tag {
	char boot_id[40];
	char port[2][IF_NAMESIZE];
};
_Static_assert(sizeof(struct ho_tag) <= SG_CT_DUMP_TAG_BYTES, "the tag fits the dump's");

int sg_handover_tag(uint8_t tag[SG_CT_DUMP_TAG_BYTES], const char *const ifname[2], char *err,
                    size_t errlen)
{
	struct ho_tag t;
	FILE *f = fopen(BOOT_ID_PATH, "re");

	memset(&t, 0, sizeof(t));
	if (!f || !fgets(t.boot_id, sizeof(t.boot_id), f)) {
		int e = f ? EIO : errno;

		snprintf(err, errlen, "%s: %s: a dump cannot be tied to this boot", BOOT_ID_PATH,
		         strerror(e));
		if (f)
			fclose(f);
		return -e;
	}
	fclose(f);
	t.boot_id[strcspn(t.boot_id, "\n")] = 0;
	for (unsigned p = 0; p < 2; p++)
		snprintf(t.port[p], sizeof(t.port[p]), "%s", ifname[p] ? ifname[p] : "");
	memset(tag, 0, SG_CT_DUMP_TAG_BYTES);
	memcpy(tag, &t, sizeof(t));
	return 0;
}

void sg_handover_explain(const struct sg_ct_dump_why *w, char *err, size_t errlen)
{
	switch (w->fault) {
	case SG_CT_DUMP_OK:
		snprintf(err, errlen, "no fault");
		break;
	case SG_CT_DUMP_SHORT:
		snprintf(err, errlen, "truncated: %" PRIu64 " bytes, shorter than the %" PRIu64
		         "-byte header", w->found, w->expected);
		break;
	case SG_CT_DUMP_MAGIC:
		snprintf(err, errlen, "not a synguard connection table (wrong magic)");
		break;
	case SG_CT_DUMP_VERSION_DIFF:
		snprintf(err, errlen, "format version %" PRIu64 ", this synguard reads version %" PRIu64,
		         w->found, w->expected);
		break;
	case SG_CT_DUMP_HEAD_SIZE:
		snprintf(err, errlen, "header of %" PRIu64 " bytes, this synguard's has %" PRIu64,
		         w->found, w->expected);
		break;
	case SG_CT_DUMP_RECORD_SIZE:
		snprintf(err, errlen, "entries of %" PRIu64 " bytes, this synguard's have %" PRIu64,
		         w->found, w->expected);
		break;
	case SG_CT_DUMP_PAYLOAD_SIZE:
		snprintf(err, errlen, "entry payloads of %" PRIu64 " bytes, this synguard's have %"
		         PRIu64, w->found, w->expected);
		break;
	case SG_CT_DUMP_LAYOUT:
		snprintf(err, errlen, "connection record layout %016" PRIx64 ", this synguard's is %016"
		         PRIx64 " (a build with another struct sg_conn_rec)", w->found, w->expected);
		break;
	case SG_CT_DUMP_LENGTH:
		snprintf(err, errlen, "%s: %" PRIu64 " bytes where its entry count makes %" PRIu64,
		         w->found < w->expected ? "truncated" : "trailing bytes", w->found, w->expected);
		break;
	case SG_CT_DUMP_CHECKSUM:
		snprintf(err, errlen, "checksum mismatch: the contents were changed or damaged");
		break;
	case SG_CT_DUMP_ENTRY:
		snprintf(err, errlen, "entry %" PRIu64 " has no valid state", w->found);
		break;
	}
}

/* Ours alone: it carries the cookie seed. */
static int check_file(int fd, const char *path, struct stat *st, char *err, size_t errlen)
{
	if (fstat(fd, st) != 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -EINVAL;
	}
	if (st->st_uid != geteuid() || (st->st_mode & 077)) {
		snprintf(err, errlen, "%s: owned by uid %u with mode %04o: only a file of uid %u that "
		         "nobody else may read is trusted", path, (unsigned)st->st_uid,
		         (unsigned)(st->st_mode & 07777), (unsigned)geteuid());
		return -EPERM;
	}
	return 0;
}

static int check_tag(const struct sg_handover *h, const uint8_t tag[SG_CT_DUMP_TAG_BYTES],
                     char *err, size_t errlen)
{
	struct ho_tag mine, theirs;

	memcpy(&mine, h->tag, sizeof(mine));
	memcpy(&theirs, tag, sizeof(theirs));
	theirs.boot_id[sizeof(theirs.boot_id) - 1] = 0;
	theirs.port[0][IF_NAMESIZE - 1] = theirs.port[1][IF_NAMESIZE - 1] = 0;
	if (strcmp(mine.boot_id, theirs.boot_id) != 0) {
		snprintf(err, errlen, "written in another boot (%s, this is %s): its clock and "
		         "connections are gone", theirs.boot_id, mine.boot_id);
		return -ESTALE;
	}
	for (unsigned p = 0; p < 2; p++) {
		if (strcmp(mine.port[p], theirs.port[p]) != 0) {
			snprintf(err, errlen, "written for %s port %s, this daemon's is %s",
			         p == 0 ? "lan" : "wan", theirs.port[p], mine.port[p]);
			return -EXDEV;
		}
	}
	return 0;
}

int sg_handover_read(struct sg_handover *h, uint64_t now_ns, char *err, size_t errlen)
{
	struct sg_ct_dump_info info;
	struct sg_ct_dump_why why;
	struct stat st;
	char what[256];
	void *map;
	int fd, rc;

	fd = open(h->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT)
			return 1;
		snprintf(err, errlen, "%s: %s", h->path, strerror(e));
		return -e;
	}
	rc = check_file(fd, h->path, &st, err, errlen);
	if (rc) {
		close(fd);
		return rc;
	}
	map = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE,
	                        fd, 0) : NULL;
	close(fd);
	if (map == MAP_FAILED) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot map it: %s", h->path, strerror(-rc));
		return rc;
	}
	if (sg_ct_dump_check(map ? map : "", (size_t)st.st_size, &info, &why)) {
		sg_handover_explain(&why, what, sizeof(what));
		snprintf(err, errlen, "%s: %s", h->path, what);
		rc = -EINVAL;
	} else if ((rc = check_tag(h, info.tag, what, sizeof(what)))) {
		snprintf(err, errlen, "%s: %s", h->path, what);
	} else if (info.now_ns > now_ns) {
		snprintf(err, errlen, "%s: dated %.3f s after now: not this clock's", h->path,
		         (double)(info.now_ns - now_ns) / 1e9);
		rc = -ESTALE;
	} else if (now_ns - info.now_ns > SG_HANDOVER_MAX_AGE_S * 1000000000ull) {
		snprintf(err, errlen, "%s: %.0f s old, more than %d s: too stale to continue from",
		         h->path, (double)(now_ns - info.now_ns) / 1e9, SG_HANDOVER_MAX_AGE_S);
		rc = -ESTALE;
	}
	if (rc) {
		if (map)
			munmap(map, (size_t)st.st_size);
		explicit_bzero(&info, sizeof(info));
		return rc;
	}
	memcpy(h->seed, info.seed, sizeof(h->seed));
	explicit_bzero(&info.seed, sizeof(info.seed));
	h->map = map;
	h->len = (size_t)st.st_size;
	h->count = info.count;
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int sg_handover_write(const char *path, struct sg_proxy *p,
                      const uint8_t seed[SG_PROXY_SEED_BYTES],
                      const uint8_t tag[SG_CT_DUMP_TAG_BYTES], uint64_t now_ns, uint64_t *count,
                      char *err, size_t errlen)
{
	struct sg_ct_dump_info info;
	char tmp[PATH_MAX + 8];
	size_t cap = sg_ct_dump_size(p), len = 0;
	void *buf;
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	buf = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		snprintf(err, errlen, "%s: %zu bytes for the dump: %s", path, cap, strerror(errno));
		return -ENOMEM;
	}
	memcpy(info.seed, seed, sizeof(info.seed));
	memcpy(info.tag, tag, sizeof(info.tag));
	info.now_ns = now_ns;
	rc = sg_ct_dump(p, &info, buf, cap, &len);
	explicit_bzero(info.seed, sizeof(info.seed));
	if (rc) {
		snprintf(err, errlen, "%s: the table grew while it was dumped: are workers running?",
		         path);
		goto out;
	}
	/* A tmp file left by a daemon that died while writing is not ours to
	 * trust: make a new one. */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(-rc));
		goto out;
	}
	rc = write_all(fd, buf, len);
	if (close(fd) != 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) != 0)
		rc = -errno;
	if (rc) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(-rc));
		unlink(tmp);
		goto out;
	}
	*count = info.count;
out:
	explicit_bzero(buf, cap < 512 ? cap : 512);   /* the header holds the seed */
	munmap(buf, cap);
	return rc;
}

void sg_handover_begin(struct sg_handover *h, bool on, const char *ctl_socket,
                       const char *const ifname[2], uint8_t seed[SG_PROXY_SEED_BYTES])
{
	char dir[PATH_MAX], err[512];
	uint64_t now = sg_clock_mono_ns();
	int rc;

	memset(h, 0, sizeof(*h));
	memcpy(h->seed, seed, sizeof(h->seed));
	if (!on)
		return;
	snprintf(dir, sizeof(dir), "%s", ctl_socket);
	/* The directory the control socket checked and locked for us. */
	if (sg_rundir_prepare(dirname(dir), err, sizeof(err)) != 0 ||
	    sg_handover_tag(h->tag, ifname, err, sizeof(err)) != 0) {
		sg_log(LOG_WARNING, "handover: off: %s", err);
		return;
	}
	if (snprintf(h->path, sizeof(h->path), "%s/" SG_HANDOVER_NAME, dir) >= (int)sizeof(h->path)) {
		sg_log(LOG_WARNING, "handover: off: %s/" SG_HANDOVER_NAME ": path too long", dir);
		h->path[0] = 0;
		return;
	}
	rc = sg_handover_read(h, now, err, sizeof(err));
	if (rc == 1)
		return;
	if (rc) {
		memcpy(h->seed, seed, sizeof(h->seed));
		sg_log(LOG_WARNING, "handover: refused, starting with an empty table: %s", err);
		/* It would be refused again at every start. */
		unlink(h->path);
		return;
	}
	memcpy(seed, h->seed, sizeof(h->seed));
}

void sg_handover_load(struct sg_handover *h, struct sg_proxy *p)
{
	struct sg_ct_load_result res;
	struct sg_ct_dump_why why;
	uint64_t t0 = sg_clock_mono_ns();
	char err[256];

	if (!h->map)
		return;
	if (sg_ct_dump_load(p, h->map, h->len, t0, &res, &why)) {
		sg_handover_explain(&why, err, sizeof(err));
		sg_log(LOG_WARNING, "handover: %s: refused, starting with an empty table: %s", h->path,
		       err);
	} else {
		sg_log(LOG_NOTICE, "handover: continuing %" PRIu64 " connections from %s "
		       "(%.1f ms)%s", res.loaded, h->path, (double)(sg_clock_mono_ns() - t0) / 1e6,
		       res.refused ? "; some did not fit the table" : "");
		if (res.refused)
			sg_log(LOG_WARNING, "handover: %" PRIu64 " connections dropped: the table is "
			       "full (conntrack.capacity)", res.refused);
	}
	munmap(h->map, h->len);
	h->map = NULL;
	unlink(h->path);
}

void sg_handover_stop(struct sg_handover *h, struct sg_proxy *p)
{
	uint64_t t0 = sg_clock_mono_ns(), n = 0;
	char err[512];

	if (!h->path[0] || !p)
		return;
	if (sg_handover_write(h->path, p, h->seed, h->tag, t0, &n, err, sizeof(err)))
		sg_log(LOG_ERR, "handover: not written, the next start begins empty: %s", err);
	else
		sg_log(LOG_NOTICE, "handover: %" PRIu64 " connections written to %s (%.1f ms)", n,
		       h->path, (double)(sg_clock_mono_ns() - t0) / 1e6);
	explicit_bzero(h->seed, sizeof(h->seed));
}
