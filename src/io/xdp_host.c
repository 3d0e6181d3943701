/* The host around AF_XDP: libxdp's messages, bpffs, the memlock limit,
 * sysfs facts of a device, libxdp's program (xdp_host.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <syslog.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "io/xdp_host.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
#define BPFFS_PATH      "/sys/fs/bpf"

/* libxdp/libbpf talk through a global print hook: route it to the io
 * being opened (opening is single-threaded). */
static const struct sg_io *print_io;

/* Their warnings since sg_xdp_host_listen (xdp_host.h); the first few. */
#define KEPT_MAX 8
static char kept[KEPT_MAX][256];
static unsigned nkept, nlost;

static int lib_print(const char *lib, bool warn, const char *fmt, va_list ap)
{
	char msg[256];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t l = strlen(msg), ll = strlen(lib);
	if (l && msg[l - 1] == '\n')
		msg[l - 1] = 0;
	if (!print_io)
		return 0;
	/* libbpf and libxdp name themselves in most lines, not in all. */
	bool named = strncmp(msg, lib, ll) == 0 && msg[ll] == ':';
	if (!warn)
		sg_io_log(print_io, SG_IO_LOG_TRACE, "%s%s%s", named ? "" : lib,
		          named ? "" : ": ", msg);
	else if (nkept < KEPT_MAX)
		snprintf(kept[nkept++], sizeof(kept[0]), "%s%s%s", named ? "" : lib,
		         named ? "" : ": ", msg);
	else
		nlost++;
	return 0;
}

static int xdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	return lib_print("libxdp", level == LIBXDP_WARN, fmt, ap);
}

static int bpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return lib_print("libbpf", level == LIBBPF_WARN, fmt, ap);
}

static void ensure_bpffs(struct sg_io *io)
{
	struct statfs s;
	if (statfs(BPFFS_PATH, &s) == 0 && (unsigned long)s.f_type == BPF_FS_MAGIC)
		return;
	if (mount("bpf", BPFFS_PATH, "bpf", 0, "mode=0700") == 0)
		sg_io_log(io, LOG_INFO, "mounted bpffs at %s so libxdp can use its "
		          "dispatcher", BPFFS_PATH);
	else
		sg_io_log(io, LOG_WARNING, "cannot mount bpffs at %s (%s): libxdp "
		          "attaches its program without the dispatcher", BPFFS_PATH,
		          strerror(errno));
}

static void raise_memlock(struct sg_io *io)
{
	/* Without CAP_SYS_RESOURCE only the soft limit can go up (to the hard
	 * one); with CAP_IPC_LOCK the umem is not charged against it anyway. */
	struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };
	if (setrlimit(RLIMIT_MEMLOCK, &r) == 0)
		return;
	if (getrlimit(RLIMIT_MEMLOCK, &r) == 0 && r.rlim_cur != r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		(void)setrlimit(RLIMIT_MEMLOCK, &r);
	}
	if (getrlimit(RLIMIT_MEMLOCK, &r) == 0 && r.rlim_cur != RLIM_INFINITY)
		sg_io_log(io, LOG_DEBUG, "RLIMIT_MEMLOCK stays at %llu bytes; umem "
		          "registration relies on CAP_IPC_LOCK",
		          (unsigned long long)r.rlim_cur);
}

unsigned sg_xdp_host_mtu(const char *ifname)
{
	char path[96];
	snprintf(path, sizeof(path), "/sys/class/net/%s/mtu", ifname);
	FILE *f = fopen(path, "r");
	unsigned mtu = 0;
	if (f) {
		if (fscanf(f, "%u", &mtu) != 1)
			mtu = 0;
		fclose(f);
	}
	return mtu;
}

/* Receive queues the device has now: AF_XDP binds to one of them. */
unsigned sg_xdp_host_rx_queues(const char *ifname)
{
	char path[96];
	unsigned n = 0;
	for (;; n++) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/queues/rx-%u", ifname, n);
		if (access(path, F_OK) != 0)
			break;
	}
	return n;
}

/* libxdp takes its default program off when the last socket using it
 * goes.  If it is still there after ours are gone, someone else's AF_XDP
 * sockets may be using it, so leave it and tell the operator. */
void sg_xdp_host_check_prog_left(struct sg_io *io, int ifindex, unsigned port)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (libxdp_get_error(mp) || !mp)
		return;
	struct xdp_program *prog = NULL;
	if (xdp_multiprog__is_legacy(mp)) {
		prog = xdp_multiprog__main_prog(mp);
		if (prog && strcmp(xdp_program__name(prog), "xsk_def_prog") != 0)
			prog = NULL;
	} else {
		while ((prog = xdp_multiprog__next_prog(prog, mp)))
			if (strcmp(xdp_program__name(prog), "xsk_def_prog") == 0)
				break;
	}
	if (prog)
		sg_io_log(io, LOG_WARNING, "%s: libxdp's AF_XDP program is still "
		          "attached after our sockets closed (another AF_XDP user?); "
		          "if not, remove it with `ip link set dev %s xdp off`",
		          io->ifname[port], io->ifname[port]);
	xdp_multiprog__close(mp);
}

bool sg_xdp_host_dispatcher_used(int ifindex)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (libxdp_get_error(mp) || !mp)
		return false;
	bool legacy = xdp_multiprog__is_legacy(mp);
	xdp_multiprog__close(mp);
	return !legacy;
}

void sg_xdp_host_listen(const struct sg_io *io)
{
	print_io = io;
	nkept = nlost = 0;
}

void sg_xdp_host_quiet(int warn_level)
{
	for (unsigned i = 0; i < nkept; i++)
		sg_io_log(print_io, warn_level, "%s", kept[i]);
	if (nlost)
		sg_io_log(print_io, warn_level, "libbpf/libxdp: %u more warning%s", nlost,
		          nlost == 1 ? "" : "s");
	nkept = nlost = 0;
	print_io = NULL;
}

void sg_xdp_host_prepare(struct sg_io *io)
{
	libxdp_set_print(xdp_print);
	libbpf_set_print(bpf_print);
	ensure_bpffs(io);
	raise_memlock(io);
}
