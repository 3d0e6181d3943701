/* synguard: the daemon.  Parses the command line and the config, prepares
 * the interfaces, starts one worker per queue and then becomes the control
 * thread: signals, the control socket, counters, reload.  It never
 * touches a frame.  Exit codes: 0 clean stop, 1 configuration error,
 * 2 usage error, 3 interface or I/O error, 4 other start-up failure. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "core/proxy.h"
#include "daemon/cli.h"
#include "daemon/clock.h"
#include "daemon/config.h"
#include "daemon/counters.h"
#include "daemon/ctl.h"
#include "daemon/ctl_capture.h"
#include "daemon/ctl_cmds.h"
#include "daemon/daemon.h"
#include "daemon/events.h"
#include "daemon/handover.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/nic.h"
#include "daemon/notify.h"
#include "daemon/preflight.h"
#include "daemon/privs.h"
#include "daemon/worker.h"
#include "io/io.h"

#define EXIT_CONFIG 1
#define EXIT_USAGE  2
#define EXIT_IO     3
#define EXIT_START  4

#ifndef SG_VERSION
#define SG_VERSION "0.1.0"
#endif
/* Read when no -c is given, if it exists (meson: the sysconfdir). */
#ifndef SG_DEFAULT_CONFIG
#define SG_DEFAULT_CONFIG "/etc/synguard/synguard.conf"
#endif

static const char *errno_name(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENODEV: return "ENODEV";
	case EBUSY: return "EBUSY";
	case ENOBUFS: return "ENOBUFS";
	case ENOMEM: return "ENOMEM";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return "error";
	}
}

/* CLOCK_REALTIME - CLOCK_MONOTONIC: the cookie clock of a key shared
 * between boxes (sg_proxy_set_cookie_clock). */
static int64_t realtime_offset_ns(void)
{
	return (int64_t)(sg_clock_ns(CLOCK_REALTIME) - sg_clock_mono_ns());
}

static void needs_restart(void *ctx, const char *option)
{
	(void)ctx;
	sg_log(LOG_WARNING, "SIGHUP: %s: needs a restart to take effect", option);
}

static int apply_proxy(void *ctx, const struct sg_proxy_config *pc, struct sg_cfg_fault *why)
{
	return sg_daemon_reconfigure(ctx, pc, why);
}

/* SIGHUP: re-read the file and apply what may change while running (the
 * core's options it accepts, log.level, learn.pins); a change to any
 * other option is logged as needing a restart (docs/synguard.8). */
static void reload(struct sg_daemon *d, const char *path)
{
	static struct sg_config next;
	struct sg_cfg_fault why;
	char err[512];
	int rc;

	if (!path) {
		sg_log(LOG_WARNING, "SIGHUP: no configuration file (-c) to reload");
		return;
	}
	sg_config_default(&next);
	if (sg_config_load(path, &next, err, sizeof(err))) {
		sg_log(LOG_ERR, "SIGHUP: reload refused, running on: %s", err);
		return;
	}
	next.threads = d->cfg.threads;   /* set by the command line, not a change */
	next.io = d->cfg.io;
	next.bridge_only = d->cfg.bridge_only;
	memcpy(next.cpus, d->cfg.cpus, sizeof(next.cpus));
	next.ncpus = d->cfg.ncpus;
	rc = sg_config_reload(&d->cfg, &next, apply_proxy, needs_restart, d, &why);
	if (rc) {
		if (rc == -EINVAL)
			sg_config_explain(&next, &why, err, sizeof(err));
		sg_log(LOG_ERR, "SIGHUP: reload refused, running on the old configuration: %s",
		       rc == -EINVAL ? err : "the workers did not take it within a second");
		return;
	}
	if (d->proxy && (rc = sg_proxy_set_pins(d->proxy, next.pins, next.npins)))
		sg_log(LOG_ERR, "SIGHUP: learn.pins: refused (%s), the old pins stay", strerror(-rc));
	if (rc) {
		next.npins = d->cfg.npins;
		memcpy(next.pins, d->cfg.pins, sizeof(next.pins));
	}
	if (next.log_level != d->cfg.log_level)
		sg_log_set_level(LOG_ERR + next.log_level);
	d->cfg = next;
	sg_log(LOG_INFO, "SIGHUP: configuration %s applied", path);
}

static void log_nic(void *ctx, int level, const char *msg)
{
	sg_log_io(ctx, level, msg);
}

/* The monotonic time of a step of the start or the stop, to find where a
 * restart's forwarding gap goes (the successor's and the predecessor's
 * steps share this clock; tests/e2e/handover.sh prints them). */
static void phase(const char *what)
{
	sg_log(LOG_DEBUG, "phase %s at %.3f ms", what, (double)sg_clock_mono_ns() / 1e6);
}

/* The start, step by step; each returns 0 or the exit code. */

static void say_log(void *ctx, bool fault, const char *msg)
{
	(void)ctx;
	sg_log(fault ? LOG_ERR : LOG_WARNING, "%s", msg);
}

static void say_stderr(void *ctx, bool fault, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "synguard: %s%s\n", fault ? "" : "warning: ", msg);
}

/* preflight.h: what would fail later, before anything is changed. */
static int preflight(const struct sg_config *cfg, const struct cli *cli, bool ports, bool at_start)
{
	struct sg_machine m;
	struct sg_preflight pf = {
		.cfg = cfg, .path = cli->config, .cpus_flag = sg_cli_flag(cli, "cpus"),
		.at_start = at_start, .say = at_start ? say_log : say_stderr,
	};

	for (unsigned p = 0; p < SG_IO_PORTS && ports; p++)
		pf.ifname[p] = cli->ifname[p];
	sg_machine_probe(&m);
	switch (sg_preflight_run(&pf, &m)) {
	case SG_PREFLIGHT_OK: return 0;
	case SG_PREFLIGHT_CONFIG: return EXIT_CONFIG;
	case SG_PREFLIGHT_PORT: return EXIT_IO;
	default: return EXIT_START;
	}
}

/* Before anything is changed: another daemon on this socket is another
 * daemon on these ports, most likely. */
static int open_control(struct sg_daemon *d)
{
	char err[512];
	int rc = sg_ctl_open(&d->ctl, d->cfg.ctl_socket, err, sizeof(err));

	if (rc == -EBUSY || rc == -EPERM || rc == -ENOTDIR) {
		sg_log(LOG_ERR, "%s", err);
		return EXIT_START;
	}
	if (rc)
		sg_log(LOG_WARNING, "%s: synguardctl will not reach this daemon", err);
	return 0;
}

/* Before the ports change and while any port may be bound: a port in use
 * stops the start with nothing to undo. */
static int open_metrics(struct sg_daemon *d)
{
	char err[512];

	if (!d->cfg.metrics_listen[0])
		return 0;
	if (sg_metrics_start(&d->metrics, d->cfg.metrics_listen, SG_VERSION, sg_privs_drop_thread,
	                     err, sizeof(err))) {
		sg_log(LOG_ERR, "%s", err);
		return EXIT_START;
	}
	sg_log(LOG_INFO, "metrics: serving http://%s/metrics", d->cfg.metrics_listen);
	return 0;
}

/* The workers' counters, copied for the next scrape. */
static void publish_metrics(struct sg_daemon *d)
{
	if (!d->metrics)
		return;
	sg_counters_per_worker(d->ws, d->io, d->proxy, sg_metrics_next(d->metrics));
	sg_metrics_publish(d->metrics);
}

static int create_proxy(struct sg_daemon *d, const struct cli *cli, bool offline, unsigned nworkers)
{
	struct sg_config_secrets sec;
	struct sg_proxy_config pc;
	char err[512];
	int rc;

	if (sg_config_to_proxy(&d->cfg, &pc, &sec, err, sizeof(err))) {
		sg_log(LOG_ERR, "%s", err);
		return EXIT_CONFIG;
	}
	d->shared_key = pc.shared_key != NULL;
	sg_handover_begin(&d->ho, d->cfg.handover && !offline, d->cfg.ctl_socket, cli->ifname,
	                  sec.seed);
	phase("handover read");
	rc = sg_proxy_create(&pc, nworkers, &d->proxy);
	phase("proxy created");
	explicit_bzero(&sec, sizeof(sec));     /* the core has what it needs */
	if (rc) {
		sg_log(LOG_ERR, "cannot create the proxy: %s: %s%s", errno_name(-rc), strerror(-rc),
		       rc == -ENOMEM ? " (lower conntrack.capacity)" : "");
		return EXIT_START;
	}
	if (d->shared_key)
		sg_proxy_set_cookie_clock(d->proxy, realtime_offset_ns());
	rc = sg_proxy_set_pins(d->proxy, d->cfg.pins, d->cfg.npins);
	if (rc) {
		/* The option table checks what it can; the learn table has the last word. */
		sg_log(LOG_ERR, "learn.pins: refused: %s", strerror(-rc));
		return EXIT_CONFIG;
	}
	sg_handover_load(&d->ho, d->proxy);
	return 0;
}

static int prepare_ports(struct sg_daemon *d, const struct cli *cli)
{
	struct sg_nic_opts no;
	char err[512];

	sg_nic_opts_default(&no);
	no.channels = d->cfg.threads;
	no.log = log_nic;
	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		if (sg_nic_prepare(&d->nic[p], cli->ifname[p], &no, err, sizeof(err))) {
			sg_log(LOG_ERR, "%s", err);
			return EXIT_IO;
		}
	}
	return 0;
}

static int open_io(struct sg_daemon *d, const struct cli *cli, bool offline, unsigned nworkers)
{
	struct sg_io_opts o;
	struct sg_io_err ioerr;

	sg_io_opts_default(&o);
	o.kind = SG_IO_PCAP;
	if (!offline && sg_config_io_kind(&d->cfg, &o.kind)) {
		sg_log(LOG_ERR, "io: no such I/O backend in this build");
		return EXIT_CONFIG;
	}
	o.nqueues = nworkers;
	o.pcap_in[0] = cli->pcap_in[0];
	o.pcap_in[1] = cli->pcap_in[1];
	o.pcap_out = cli->pcap_out;
	o.log = sg_log_io;
	if (sg_io_open(&d->io, cli->ifname, &o, &ioerr)) {
		sg_log(LOG_ERR, "%s", ioerr.msg);
		return EXIT_IO;
	}
	for (unsigned p = 0; p < SG_IO_PORTS; p++)
		sg_log(LOG_INFO, "%s port %s: %s", p == SG_PORT_LAN ? "lan" : "wan", cli->ifname[p],
		       sg_io_describe(d->io, p));
	return 0;
}

/* Every socket is open: from here on frames are parsed, and only the
 * teardown needs privileges (privs.h). */
static int start_workers(struct sg_daemon *d, bool offline)
{
	struct sg_worker_config wc;
	struct sg_proxy_worker *pw[SG_MAX_WORKERS];
	char err[512];
	int rc;

	rc = sg_privs_drop((offline ? 0 : SG_PRIVS_NIC) |
	                   (sg_io_kind(d->io) == SG_IO_AFXDP ? SG_PRIVS_XDP : 0), err, sizeof(err));
	if (rc) {
		sg_log(LOG_ERR, "dropping privileges: %s", err);
		return EXIT_START;
	}
	memset(&wc, 0, sizeof(wc));
	wc.io = d->io;
	wc.thread_init = sg_privs_drop_thread;
	wc.cpus = d->cfg.cpus;
	wc.ncpus = d->cfg.ncpus;
	wc.bridge_only = d->cfg.bridge_only;
	if (d->proxy) {
		for (unsigned i = 0; i < sg_io_nqueues(d->io); i++)
			pw[i] = sg_proxy_worker(d->proxy, i);
		wc.proxy = pw;
	}
	if (sg_workers_start(&d->ws, &wc, err, sizeof(err))) {
		sg_log(LOG_ERR, "%s", err);
		return EXIT_START;
	}
	d->started_ns = sg_clock_mono_ns();
	return 0;
}

/* The connection table and the rate limiter's buckets are mapped
 * untouched (a restart's forwarding gap waits for their creation), so the
 * workers would take a page fault for every page they first use.  Fault
 * them in here, once they forward and the start is reported: the gap
 * stays as short, the control thread is busy for a fraction of a second. */
static void populate_tables(struct sg_daemon *d)
{
	static const char what[] = "per-flow tables (connections, rate limits)";
	uint64_t t0 = sg_clock_mono_ns();
	int rc = sg_proxy_populate(d->proxy);

	if (rc == -EOPNOTSUPP)
		sg_log(LOG_DEBUG, "%s: this kernel cannot populate them ahead (MADV_POPULATE_WRITE "
		       "needs Linux 5.14): their pages fault in on first use", what);
	else if (rc)
		sg_log(LOG_WARNING, "%s: populating their memory: %s; their pages fault in on "
		       "first use", what, strerror(-rc));
	else
		sg_log(LOG_DEBUG, "%s: populated in %.1f ms", what,
		       (double)(sg_clock_mono_ns() - t0) / 1e6);
}

static int start(struct sg_daemon *d, const struct cli *cli)
{
	bool offline = cli->pcap_in[0] || cli->pcap_in[1];
	/* One count for the queues, the worker threads and the table's
	 * workers: a table worker no thread serves never reaches a quiescent
	 * point, and then nothing the table frees is ever reused. */
	unsigned nworkers = offline ? 1 : d->cfg.threads;
	int rc = preflight(&d->cfg, cli, !offline, true);

	d->ifname[SG_PORT_LAN] = cli->ifname[SG_PORT_LAN];
	d->ifname[SG_PORT_WAN] = cli->ifname[SG_PORT_WAN];
	if (!rc)
		rc = open_control(d);
	if (!rc)
		rc = open_metrics(d);
	if (rc)
		return rc;
	phase("control open");
	if (offline && d->cfg.threads > 1)
		sg_log(LOG_NOTICE, "pcap replay has one queue: one worker, not %u", d->cfg.threads);
	if (!d->cfg.bridge_only)
		rc = create_proxy(d, cli, offline, nworkers);
	phase("table loaded");
	if (!rc && !offline)
		rc = prepare_ports(d, cli);
	phase("ports prepared");
	if (!rc)
		rc = open_io(d, cli, offline, nworkers);
	phase("io open");
	if (!rc)
		rc = start_workers(d, offline);
	if (rc)
		return rc;
	phase("workers started");
	sg_events_init(&d->events, cli->ifname);
	sg_events_started(&(struct sg_events_start){
		.version = SG_VERSION, .ifname = { cli->ifname[0], cli->ifname[1] },
		.io = sg_io_kind_name(sg_io_kind(d->io)), .workers = sg_workers_count(d->ws),
		.bridge_only = d->cfg.bridge_only,
		.table_capacity = d->proxy ? sg_ct_capacity(sg_proxy_table(d->proxy)) : 0,
	}, sg_events_to_log, NULL);
	/* Every worker runs on open sockets: both ports forward from now. */
	sg_notify_ready("running: %u worker%s, %s", sg_workers_count(d->ws),
	                sg_workers_count(d->ws) == 1 ? "" : "s",
	                d->cfg.bridge_only ? "bridge only" : "proxying");
	if (d->proxy)
		populate_tables(d);
	return 0;
}

/* reason: why serve returned; NULL when the start failed. */
static void stop(struct sg_daemon *d, const char *reason)
{
	int rc = sg_privs_raise();

	if (rc)
		sg_log(LOG_WARNING, "taking back the privileges the teardown needs: %s; "
		       "the ports may stay changed", strerror(-rc));
	if (d->ws) {
		char buf[16384];
		int n;

		sg_workers_halt(d->ws);
		phase("workers halted");
		sg_counters_snapshot(d->ws, d->io, d->proxy, &d->snap[d->cur ^ 1]);
		/* Drops since the last snapshot would go unexplained otherwise. */
		sg_counters_notice_csum(&d->csum, &d->snap[d->cur ^ 1]);
		if (reason)
			sg_events_stopped(reason, sg_clock_mono_ns() - d->started_ns,
			                  &d->snap[d->cur ^ 1], sg_events_to_log, NULL);
		n = sg_ctl_format(buf, sizeof(buf), &d->snap[d->cur ^ 1], NULL, false);
		if (n > 0)
			sg_log_block(LOG_INFO, "final counters:", buf);
	}
	sg_metrics_stop(d->metrics);
	/* A capture drains the proxy's rings: it ends before the proxy. */
	sg_ctl_capture_shutdown();
	/* Before the control socket's lock goes: the next daemon waits for it. */
	sg_handover_stop(&d->ho, d->proxy);
	phase("handover written");
	sg_ctl_close(d->ctl);
	sg_workers_stop(d->ws);
	phase("workers stopped");
	sg_io_close(d->io);
	phase("io closed");
	for (unsigned p = 0; p < SG_IO_PORTS; p++)
		sg_nic_restore(d->nic[p]);
	phase("ports restored");
	sg_proxy_destroy(d->proxy);
	phase("proxy destroyed");
}

/* The configuration: defaults, the file, the command line over it. */
static int configure(struct sg_daemon *d, const struct cli *cli)
{
	char err[512];

	sg_config_default(&d->cfg);
	if (cli->config && sg_config_load(cli->config, &d->cfg, err, sizeof(err))) {
		fprintf(stderr, "synguard: %s\n", err);
		return EXIT_CONFIG;
	}
	if (sg_cli_apply_sets(cli, &d->cfg))
		return EXIT_USAGE;
	if (cli->bridge_only)
		d->cfg.bridge_only = true;
	/* --threads may break a rule the file alone kept (table slices). */
	if (sg_config_check(&d->cfg, err, sizeof(err))) {
		fprintf(stderr, "synguard: %s\n", err);
		return EXIT_CONFIG;
	}
	return 0;
}

/* The file, the command line over it, and what the start would find:
 * the same checks as a start, short of changing anything. */
static int check_config(struct cli *cli)
{
	static struct sg_daemon d;
	int rc;

	cli->config = cli->check_config;
	rc = configure(&d, cli);
	if (!rc)
		rc = preflight(&d.cfg, cli, true, false);
	if (rc)
		return rc;
	sg_config_print(&d.cfg, stdout);
	fprintf(stderr, "synguard: %s: configuration is valid\n", cli->config);
	return 0;
}

/* The control thread until a signal or the end of the input: counters
 * and events every second, the control socket, SIGHUP.  Returns why it
 * stopped. */
static const char *serve(struct sg_daemon *d, const struct cli *cli, int sfd)
{
	sg_counters_snapshot(d->ws, d->io, d->proxy, &d->snap[d->cur]);
	sg_counters_notice_csum(&d->csum, &d->snap[d->cur]);
	sg_watchdog_init(&d->wd);
	publish_metrics(d);
	sg_events_observe(&d->events, d->proxy, d->cfg.flood_syn_rate, NULL, &d->snap[d->cur]);
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = d->ctl ? sg_ctl_fd(d->ctl) : -1, .events = POLLIN },
		};
		uint64_t next = d->snap[d->cur].at_ns + 1000000000ull, now = sg_clock_mono_ns();
		int timeout = next > now ? (int)((next - now) / 1000000u) + 1 : 0;

		sg_watchdog_check(&d->wd, d->ws, now);
		if (d->wd.next_ns < next)
			timeout = d->wd.next_ns > now ? (int)((d->wd.next_ns - now) / 1000000u) + 1 : 0;

		poll(pfd, 2, timeout);
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo != SIGHUP) {
					static char why[24];

					sg_log(LOG_NOTICE, "%s: stopping", strsignal((int)si.ssi_signo));
					phase("stop signal");
					snprintf(why, sizeof(why), "SIG%s", sigabbrev_np((int)si.ssi_signo));
					return why;
				}
				sg_notify_reloading();
				reload(d, cli->config);
				sg_notify_ready("running, configuration %s re-read",
				                cli->config ? cli->config : "(none)");
			}
		}
		if (sg_clock_mono_ns() >= next) {
			/* Rates are per second over the last whole interval. */
			d->cur ^= 1;
			sg_counters_snapshot(d->ws, d->io, d->proxy, &d->snap[d->cur]);
			sg_counters_notice_csum(&d->csum, &d->snap[d->cur]);
			publish_metrics(d);
			sg_events_observe(&d->events, d->proxy, d->cfg.flood_syn_rate,
			                  &d->snap[d->cur ^ 1], &d->snap[d->cur]);
			for (unsigned p = 0; p < SG_IO_PORTS; p++)
				if (sg_nic_gone(d->nic[p])) {
					/* Its sockets are dead for good: a worker would
					 * poll them in vain, and forwarding is over. */
					sg_log(LOG_ERR, "%s port %s: the interface is gone (deleted, its "
					       "driver unloaded or moved to another namespace); nothing "
					       "can pass: stopping. Start synguard again once it is back",
					       p == SG_PORT_LAN ? "lan" : "wan", d->ifname[p]);
					d->stop_status = EXIT_IO;
					return "port gone";
				}
			if (d->shared_key)
				sg_proxy_set_cookie_clock(d->proxy, realtime_offset_ns());
		}
		if (pfd[1].revents & POLLIN) {
			sg_ctl_serve(d->ctl, sg_ctl_dispatch, d);
			if (d->stop_request) {
				sg_log(LOG_NOTICE, "%s: stopping", d->stop_request);
				return d->stop_request;
			}
		}
		if (sg_workers_finished(d->ws)) {
			sg_log(LOG_NOTICE, "input exhausted: stopping");
			return "input exhausted";
		}
	}
}

int main(int argc, char **argv)
{
	static struct sg_daemon d;
	struct cli cli;
	sigset_t mask;
	int sfd, rc;

	if (sg_cli_parse(argc, argv, &cli)) {
		sg_cli_usage(stderr);
		return EXIT_USAGE;
	}
	if (cli.check_config)
		return check_config(&cli);
	bool defaulted = !cli.config && access(SG_DEFAULT_CONFIG, F_OK) == 0;
	if (defaulted)
		cli.config = SG_DEFAULT_CONFIG;     /* and SIGHUP re-reads it */
	rc = configure(&d, &cli);
	if (rc)
		return rc;
	/* -v debug, -vv also the libraries' loader output (log.h). */
	sg_log_open((enum sg_log_target)d.cfg.log_target,
	            cli.verbose ? (cli.verbose > 1 ? SG_LOG_TRACE : LOG_DEBUG)
	                        : LOG_ERR + d.cfg.log_level);
	if (defaulted)
		sg_log(LOG_INFO, "configuration: %s (no -c given)", SG_DEFAULT_CONFIG);
	else if (!cli.config)
		sg_log(LOG_INFO, "no -c given and no %s: every option has its default", SG_DEFAULT_CONFIG);
	phase("configured");

	/* Workers inherit this mask: signals reach only the signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);

	rc = start(&d, &cli);
	const char *why = rc ? NULL : serve(&d, &cli, sfd);

	sg_notify_stopping();
	stop(&d, why);
	return rc ? rc : d.stop_status;
}
