/* sd_notify and the watchdog (daemon/notify.h), against a fake service
 * manager: a datagram socket named by NOTIFY_SOCKET, as systemd makes one.
 * The watchdog runs over real workers on the mem backend, one of which a
 * fake core holds still on demand. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/clock.h"
#include "daemon/notify.h"
#include "daemon/worker.h"

static int manager = -1;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static int manager_up(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	(void)state;
	snprintf(sock_path, sizeof(sock_path), "/tmp/sg-notify-%d.sock", (int)getpid());
	unlink(sock_path);
	manager = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(manager >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	assert_int_equal(bind(manager, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", sock_path, 1);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return 0;
}

static int manager_down(void **state)
{
	(void)state;
	close(manager);
	unlink(sock_path);
	return 0;
}

/* The next datagram, or "" if none comes within ms. */
static const char *next_message(int ms)
{
	static char buf[1024];
	struct pollfd p = { .fd = manager, .events = POLLIN };
	ssize_t n;

	buf[0] = '\0';
	if (poll(&p, 1, ms) != 1)
		return buf;
	n = recv(manager, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void drain(void)
{
	while (next_message(0)[0])
		;
}

static void ready_reloading_and_stopping_reach_the_manager_in_order(void **state)
{
	(void)state;
	drain();
	sg_notify_ready("running: %u workers, %s", 2u, "proxying");
	sg_notify_reloading();
	sg_notify_ready("line one\nline two");
	sg_notify_stopping();
	assert_string_equal(next_message(1000), "READY=1\nSTATUS=running: 2 workers, proxying");
	const char *m = next_message(1000);
	assert_non_null(strstr(m, "RELOADING=1\n"));
	assert_non_null(strstr(m, "\nMONOTONIC_USEC="));
	/* A STATUS= is one line: a newline in it would start another field. */
	assert_string_equal(next_message(1000), "READY=1\nSTATUS=line one line two");
	assert_int_equal(strncmp(next_message(1000), "STOPPING=1\n", 11), 0);
	assert_string_equal(next_message(50), "");
}

/* --- the watchdog over workers --- */

static int hold;        /* set: the next 'S' frame stops its worker until cleared */
static int held;        /* a worker is being held */

static void stalling_burst(struct sg_proxy_worker *w, enum sg_port port, uint8_t *const frames[],
                           const uint32_t lens[], unsigned n, uint64_t now, enum sg_verdict v[],
                           struct sg_out outs[])
{
	(void)w; (void)port; (void)lens; (void)now; (void)outs;
	for (unsigned i = 0; i < n; i++) {
		if (frames[i][0] == 'S') {
			__atomic_store_n(&held, 1, __ATOMIC_RELEASE);
			while (__atomic_load_n(&hold, __ATOMIC_ACQUIRE))
				nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
			__atomic_store_n(&held, 0, __ATOMIC_RELEASE);
		}
		v[i] = SG_VERDICT_DROP;
	}
}

static int quiet_tick(struct sg_proxy_worker *w, uint64_t now, struct sg_out *out)
{
	(void)w; (void)now; (void)out;
	return 0;
}

/* Checks `rounds` times, one interval apart; counts the pings the manager
 * got and the checks that named worker `who` stuck. */
static void run_checks(struct sg_watchdog *wd, const struct sg_workers *ws, int rounds,
                       int who, int *pings, int *stuck)
{
	*pings = *stuck = 0;
	for (int r = 0; r < rounds; r++) {
		nanosleep(&(struct timespec){ 0, (long)wd->interval_ns + 20 * 1000000 }, NULL);
		if (sg_watchdog_check(wd, ws, sg_clock_mono_ns()) == who)
			(*stuck)++;
		for (const char *m; (m = next_message(20))[0];)
			*pings += strcmp(m, "WATCHDOG=1") == 0;
	}
}

static void the_watchdog_is_fed_only_while_every_worker_moves(void **state)
{
	(void)state;
	struct sg_io_opts o;
	struct sg_io_err err;
	struct sg_io *io = NULL;
	const char *names[SG_IO_PORTS] = { "lan", "wan" };
	struct sg_proxy_worker *handles[2] = { (struct sg_proxy_worker *)0x1,
	                                       (struct sg_proxy_worker *)0x2 };
	struct sg_workers *ws;
	struct sg_watchdog wd;
	char msg[200];
	int pings, stuck;

	sg_io_opts_default(&o);
	o.kind = SG_IO_MEM;
	o.nqueues = 2;
	assert_int_equal(sg_io_open(&io, names, &o, &err), 0);
	struct sg_worker_config cfg = {
		.io = io, .no_pin = true, .proxy = handles, .burst = stalling_burst, .tick = quiet_tick,
	};
	assert_int_equal(sg_workers_start(&ws, &cfg, msg, sizeof(msg)), 0);

	setenv("WATCHDOG_USEC", "200000", 1);     /* WatchdogSec=200ms: a check per 100 ms */
	sg_watchdog_init(&wd);
	assert_true(wd.ping);
	assert_int_equal(wd.interval_ns, 100000000ull);
	drain();

	/* Idle workers loop too: fed. */
	run_checks(&wd, ws, 4, 1, &pings, &stuck);
	assert_true(pings >= 3);
	assert_int_equal(stuck, 0);

	/* Worker 1 held inside the core: no ping, worker 1 named. */
	__atomic_store_n(&hold, 1, __ATOMIC_RELEASE);
	assert_int_equal(sg_io_mem_inject(io, SG_PORT_WAN, 1, (const uint8_t *)"Sxxxx", 5), 0);
	for (int i = 0; i < 2000 && !__atomic_load_n(&held, __ATOMIC_ACQUIRE); i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	assert_true(__atomic_load_n(&held, __ATOMIC_ACQUIRE));
	wd.next_ns = 0;                   /* a reading inside the stall, now */
	sg_watchdog_check(&wd, ws, sg_clock_mono_ns());
	drain();
	run_checks(&wd, ws, 4, 1, &pings, &stuck);
	assert_int_equal(pings, 0);
	assert_int_equal(stuck, 4);

	/* Let go: fed again. */
	__atomic_store_n(&hold, 0, __ATOMIC_RELEASE);
	run_checks(&wd, ws, 3, 1, &pings, &stuck);
	assert_true(pings >= 2);
	assert_true(stuck <= 1);       /* the first check may still see the old reading */

	sg_workers_stop(ws);
	sg_io_close(io);
	unsetenv("WATCHDOG_USEC");
}

static void without_a_watchdog_nothing_is_sent(void **state)
{
	(void)state;
	struct sg_io_opts o;
	struct sg_io_err err;
	struct sg_io *io = NULL;
	const char *names[SG_IO_PORTS] = { "lan", "wan" };
	struct sg_worker_config cfg = { .no_pin = true, .bridge_only = true };
	struct sg_workers *ws;
	struct sg_watchdog wd;
	char msg[200];
	int pings, stuck;

	sg_io_opts_default(&o);
	o.kind = SG_IO_MEM;
	o.nqueues = 1;
	assert_int_equal(sg_io_open(&io, names, &o, &err), 0);
	cfg.io = io;
	assert_int_equal(sg_workers_start(&ws, &cfg, msg, sizeof(msg)), 0);
	unsetenv("WATCHDOG_USEC");
	sg_watchdog_init(&wd);
	assert_false(wd.ping);
	wd.interval_ns = 50000000ull;     /* the test need not wait a second per check */
	drain();
	run_checks(&wd, ws, 3, 0, &pings, &stuck);
	assert_int_equal(pings, 0);
	assert_int_equal(stuck, 0);
	sg_workers_stop(ws);
	sg_io_close(io);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ready_reloading_and_stopping_reach_the_manager_in_order),
		cmocka_unit_test(the_watchdog_is_fed_only_while_every_worker_moves),
		cmocka_unit_test(without_a_watchdog_nothing_is_sent),
	};
	return cmocka_run_group_tests(tests, manager_up, manager_down);
}
