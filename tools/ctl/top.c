/* synguardctl top (see top.h).  Plain ANSI, no curses: on a terminal each
 * frame clears the screen and homes the cursor, so it works over ssh in
 * any terminal; elsewhere (a pipe, a file, a test) frames follow each
 * other, each starting with its header line.  -j writes one JSON object
 * per frame and --csv one line per frame (what lab/plot-rates.sh draws).
 * The rates are the daemon's: per second between its last two snapshots,
 * which it takes a second apart. */
#include "ctl/top.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/client.h"
#include "daemon/ctl.h"     /* SG_CTL_MAX_COUNTERS */

struct counter {
	char name[48];
	unsigned long long value;
	double rate;
};

struct frame {
	unsigned n;
	struct counter c[SG_CTL_MAX_COUNTERS];
};

/* The lines of the view: a label and the counters summed into it. */
static const struct row {
	const char *label, *json, *names[3];
} rows[] = {
	{ "SYNs received",      "syn",          { "syn_received" } },
	{ "SYN-ACKs sent",      "synack",       { "synack_sent" } },
	{ "cookies valid",      "cookie_valid", { "cookie_ok", "cookie_ok_probe" } },
	{ "cookies invalid",    "cookie_invalid", { "drop_cookie_invalid" } },
	{ "SYN cache opened",   "syncache_opened", { "syn_cache_opened" } },
	{ "connections opened", "opened",       { "proxied_established" } },
	{ "frames dropped",     "dropped",      { "dropped" } },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static const struct counter *find(const struct frame *f, const char *name)
{
	for (unsigned i = 0; i < f->n; i++)
		if (strcmp(f->c[i].name, name) == 0)
			return &f->c[i];
	return NULL;
}

static void row_sum(const struct frame *f, const struct row *r, double *rate,
                    unsigned long long *value)
{
	*rate = 0;
	*value = 0;
	for (unsigned k = 0; k < 3 && r->names[k]; k++) {
		const struct counter *c = find(f, r->names[k]);

		if (c) {
			*rate += c->rate;
			*value += c->value;
		}
	}
}

static unsigned long long value_of(const struct frame *f, const char *name)
{
	const struct counter *c = find(f, name);

	return c ? c->value : 0;
}

/* The text of `stats`: "name value rate/s" per line. */
static int fetch(const char *path, struct frame *f)
{
	char *argv[] = { "stats" }, err[512], *line, *save;
	struct sgc_reply r;
	int rc = sgc_request(path, false, 1, argv, &r, err, sizeof(err));

	if (rc) {
		fprintf(stderr, "synguardctl: %s\n", err);
		return rc;
	}
	if (r.status) {
		fprintf(stderr, "synguardctl: stats: %s", r.body);
		free(r.body);
		return SGC_FAILED;
	}
	f->n = 0;
	for (line = strtok_r(r.body, "\n", &save); line && f->n < SG_CTL_MAX_COUNTERS;
	     line = strtok_r(NULL, "\n", &save)) {
		struct counter *c = &f->c[f->n];

		if (sscanf(line, "%47s %llu %lf/s", c->name, &c->value, &c->rate) == 3)
			f->n++;
	}
	free(r.body);
	return SGC_OK;
}

static void draw_text(const struct frame *f, bool tty)
{
	unsigned long long e = value_of(f, "conntrack_entries"), cap = value_of(f, "conntrack_capacity");
	char when[16];
	time_t now = time(NULL);

	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	if (tty)
		fputs("\033[H\033[2J", stdout);
	printf("synguard top  %s\n%-28s %14s %16s\n", when, "", "per second", "total");
	for (unsigned i = 0; i < NROWS; i++) {
		double rate;
		unsigned long long v;

		row_sum(f, &rows[i], &rate, &v);
		printf("%-28s %14.1f %16llu\n", rows[i].label, rate, v);
	}
	printf("drops by reason\n");
	for (unsigned i = 0; i < f->n; i++)
		if (strncmp(f->c[i].name, "drop_", 5) == 0 && f->c[i].value)
			printf("  %-26s %14.1f %16llu\n", f->c[i].name + 5, f->c[i].rate, f->c[i].value);
	printf("%-28s %llu of %llu entries (%.1f%%)\n", "connection table", e, cap,
	       cap ? 100.0 * (double)e / (double)cap : 0.0);
	printf("%-28s %llu entries\n%-28s %llu records\n", "SYN cache",
	       value_of(f, "halfopen_entries"), "learn table", value_of(f, "learn_entries"));
	if (!tty)
		printf("\n");
}

static void draw_json(const struct frame *f)
{
	bool first = true;

	printf("{\"time\": %lld, \"rates\": {", (long long)time(NULL));
	for (unsigned i = 0; i < NROWS; i++) {
		double rate;
		unsigned long long v;

		row_sum(f, &rows[i], &rate, &v);
		printf("%s\"%s\": %.1f", i ? ", " : "", rows[i].json, rate);
	}
	printf("}, \"drops\": {");
	for (unsigned i = 0; i < f->n; i++)
		if (strncmp(f->c[i].name, "drop_", 5) == 0) {
			printf("%s\"%s\": %.1f", first ? "" : ", ", f->c[i].name + 5, f->c[i].rate);
			first = false;
		}
	printf("}, \"table\": {\"entries\": %llu, \"capacity\": %llu}, \"syn_cache_entries\": %llu}\n",
	       value_of(f, "conntrack_entries"), value_of(f, "conntrack_capacity"),
	       value_of(f, "halfopen_entries"));
}

static void draw_csv(const struct frame *f, unsigned i, double t)
{
	if (i == 0) {
		printf("time_s");
		for (unsigned k = 0; k < NROWS; k++)
			printf(",%s", rows[k].json);
		printf(",table_entries\n");
	}
	printf("%.1f", t);
	for (unsigned k = 0; k < NROWS; k++) {
		double rate;
		unsigned long long v;

		row_sum(f, &rows[k], &rate, &v);
		printf(",%.1f", rate);
	}
	printf(",%llu\n", value_of(f, "conntrack_entries"));
}

static void usage(FILE *out)
{
	fprintf(out, "usage: synguardctl [-s SOCKET] top [-n N | --once] [-j | --csv]\n"
	             "  -n N     N frames, then exit (default: until interrupted)\n"
	             "  --once   one frame (-n 1)\n"
	             "  -j       one JSON object per frame, a line each\n"
	             "  --csv    one CSV line per frame, after a header\n");
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int sgc_top(const char *path, bool json, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "once", no_argument, NULL, 1 },
		{ "csv", no_argument, NULL, 2 },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct frame f;
	unsigned long frames = 0;
	bool csv = false, tty = isatty(STDOUT_FILENO);
	double t0 = mono_s();
	char *end;
	int o;

	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+n:jh", longopts, NULL)) != -1) {
		switch (o) {
		case 'n':
			frames = strtoul(optarg, &end, 10);
			if (*optarg < '1' || *optarg > '9' || *end) {
				fprintf(stderr, "synguardctl: top -n: '%s' is not a whole number from 1\n",
				        optarg);
				return SGC_USAGE;
			}
			break;
		case 1: frames = 1; break;
		case 2: csv = true; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return SGC_OK;
		default:
			fprintf(stderr, "synguardctl: top: unknown option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return SGC_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "synguardctl: top: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return SGC_USAGE;
	}
	if (json && csv) {
		fprintf(stderr, "synguardctl: top: -j and --csv: choose one\n");
		return SGC_USAGE;
	}
	for (unsigned long i = 0; !frames || i < frames; i++) {
		int rc;

		if (i)
			sleep(1);
		rc = fetch(path, &f);
		if (rc)
			return rc;
		if (json)
			draw_json(&f);
		else if (csv)
			draw_csv(&f, (unsigned)i, mono_s() - t0);
		else
			draw_text(&f, tty);
		fflush(stdout);
	}
	return SGC_OK;
}
