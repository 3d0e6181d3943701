/* The start-time checks (see preflight.h). */
#include "daemon/preflight.h"

#include <errno.h>
#include <libconfig.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/ct_config.h"
#include "daemon/keyfile.h"

#define MIB (1024ull * 1024ull)

void sg_machine_probe(struct sg_machine *m)
{
	char line[256];
	FILE *f;

	memset(m, 0, sizeof(*m));
	if (sched_getaffinity(0, sizeof(m->cpus), &m->cpus) != 0)
		memset(&m->cpus, 0xff, sizeof(m->cpus));
	f = fopen("/proc/meminfo", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long kb;

		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			m->mem_total = kb * 1024u;
		else if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			m->mem_avail = kb * 1024u;
	}
	fclose(f);
}

struct run {
	const struct sg_preflight *pf;
	enum sg_preflight_fault first;
};

/* Where an option was set, as the messages of config.c say it: "FILE:LINE: "
 * when the file holds it, else nothing (a default, or the command line,
 * which the caller names).  The file was read once already; reading it
 * again here keeps config.c's table out of the line numbers. */
static void where(const struct sg_preflight *pf, const char *option, char *buf, size_t len)
{
	config_t cf;
	config_setting_t *s;

	buf[0] = '\0';
	if (!pf->path)
		return;
	config_init(&cf);
	if (config_read_file(&cf, pf->path) && (s = config_lookup(&cf, option)) &&
	    config_setting_source_line(s) > 0)
		snprintf(buf, len, "%s:%u: ", pf->path, config_setting_source_line(s));
	config_destroy(&cf);
}

static void say(struct run *r, enum sg_preflight_fault kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(struct run *r, enum sg_preflight_fault kind, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (kind != SG_PREFLIGHT_OK && r->first == SG_PREFLIGHT_OK)
		r->first = kind;
	if (r->pf->say)
		r->pf->say(r->pf->ctx, kind != SG_PREFLIGHT_OK, msg);
}

static void check_key_file(struct run *r)
{
	const struct sg_config *c = r->pf->cfg;
	uint8_t key[SG_SECRET_MASTER_BYTES];
	char at[PATH_MAX + 32], err[PATH_MAX + 256];

	if (!c->key_file[0] || c->bridge_only)
		return;
	if (sg_keyfile_load(c->key_file, key, err, sizeof(err)) == 0) {
		explicit_bzero(key, sizeof(key));
		return;
	}
	where(r->pf, "cookie.key_file", at, sizeof(at));
	say(r, SG_PREFLIGHT_CONFIG, "%scookie.key_file: %s", at, err);
}

/* "0-3,6": the CPUs of a set, for a message. */
static void cpu_list(const cpu_set_t *s, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < CPU_SETSIZE && n < len; i++) {
		int j = i;

		if (!CPU_ISSET(i, s))
			continue;
		while (j + 1 < CPU_SETSIZE && CPU_ISSET(j + 1, s))
			j++;
		n += (size_t)snprintf(buf + n, len - n, j > i ? "%s%d-%d" : "%s%d", n ? "," : "", i, j);
		i = j;
	}
	if (!buf[0])
		snprintf(buf, len, "none");
}

static void check_cpus(struct run *r, const struct sg_machine *m)
{
	const struct sg_config *c = r->pf->cfg;
	char at[PATH_MAX + 32], have[256], bad[256] = "";
	size_t n = 0;
	unsigned nbad = 0;

	for (unsigned i = 0; i < c->ncpus && n < sizeof(bad); i++) {
		if (c->cpus[i] >= 0 && c->cpus[i] < CPU_SETSIZE && CPU_ISSET(c->cpus[i], &m->cpus))
			continue;
		n += (size_t)snprintf(bad + n, sizeof(bad) - n, "%s%d", n ? ", " : "", c->cpus[i]);
		nbad++;
	}
	if (!nbad)
		return;
	if (r->pf->cpus_flag)
		at[0] = '\0';
	else
		where(r->pf, "cpus", at, sizeof(at));
	cpu_list(&m->cpus, have, sizeof(have));
	say(r, SG_PREFLIGHT_CONFIG, "%s%s: CPU%s %s: no such CPU, or not one synguard may run on "
	    "(it may use %s)", at, r->pf->cpus_flag ? r->pf->cpus_flag : "cpus", nbad > 1 ? "s" : "",
	    bad, have);
}

static void check_memory(struct run *r, const struct sg_machine *m)
{
	const struct sg_config *c = r->pf->cfg;
	uint64_t bytes = sg_ct_config_bytes(&c->proxy.ct);
	char at[PATH_MAX + 32];

	if (c->bridge_only)
		return;          /* no proxy, no table */
	where(r->pf, "conntrack.capacity", at, sizeof(at));
	if (m->mem_total && bytes > m->mem_total) {
		say(r, SG_PREFLIGHT_CONFIG, "%sconntrack.capacity: a table of %u entries takes %llu MiB, "
		    "more than this machine's memory (%llu MiB); lower conntrack.capacity", at,
		    c->proxy.ct.capacity, (unsigned long long)(bytes / MIB),
		    (unsigned long long)(m->mem_total / MIB));
	} else if (m->mem_avail && bytes > m->mem_avail) {
		/* A synguard running now holds its own table, which a restart
		 * gives back: only the start itself can tell. */
		say(r, r->pf->at_start ? SG_PREFLIGHT_MEMORY : SG_PREFLIGHT_OK,
		    "%sconntrack.capacity: a table of %u entries takes %llu MiB, more than the %llu MiB "
		    "available now%s", at, c->proxy.ct.capacity, (unsigned long long)(bytes / MIB),
		    (unsigned long long)(m->mem_avail / MIB),
		    r->pf->at_start ? "; free memory or lower conntrack.capacity"
		                    : " (a running synguard's own table counts as used)");
	}
}

static void check_ports(struct run *r)
{
	static const char *const flag[SG_IO_PORTS] = { [SG_PORT_LAN] = "--lan", [SG_PORT_WAN] = "--wan" };

	for (unsigned p = 0; p < SG_IO_PORTS; p++) {
		const char *name = r->pf->ifname[p];

		if (name && if_nametoindex(name) == 0)
			say(r, SG_PREFLIGHT_PORT, "%s: ENODEV: no such network interface (check %s and `ip link`)",
			    name, flag[p]);
	}
}

enum sg_preflight_fault sg_preflight_run(const struct sg_preflight *pf, const struct sg_machine *m)
{
	struct run r = { .pf = pf, .first = SG_PREFLIGHT_OK };

	check_key_file(&r);
	check_cpus(&r, m);
	check_memory(&r, m);
	check_ports(&r);
	return r.first;
}
