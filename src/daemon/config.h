/* synguard.conf: libconfig syntax, every option optional with a default
 * and a range (docs/synguard.conf.5).  Unknown options and bad values are
 * errors naming file:line, the option and what is allowed. */
#ifndef SG_DAEMON_CONFIG_H
#define SG_DAEMON_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/proxy.h"
#include "core/secret.h"
#include "io/io.h"

#define SG_CONFIG_MAX_CPUS 64

struct sg_config {
	unsigned threads;
	int      io;                          /* index in the io option's choices:
	                                         sg_config_io_kind maps it */
	int      cpus[SG_CONFIG_MAX_CPUS];
	unsigned ncpus;
	bool     bridge_only;
	int      log_target;                  /* enum sg_log_target */
	int      log_level;                   /* 0 error .. 5 trace: LOG_ERR + n */
	unsigned flood_syn_rate;              /* SYN/s a flood starts at (events.h) */
	char     ctl_socket[108];             /* sun_path */
	char     key_file[PATH_MAX];          /* "" = random keys */
	char     metrics_listen[64];          /* "ADDRESS:PORT" of /metrics; "" = off */
	bool     handover;                    /* hand the table to the next start */
	struct sg_proxy_config proxy;         /* shared_key stays NULL here */
	/* Pins are set on the running learn table (sg_proxy_set_pins), not
	 * part of the proxy's config. */
	struct sg_learn_pin pins[SG_LEARN_PINS_MAX];
	unsigned npins;
};

void sg_config_default(struct sg_config *c);

/* Reads path into *c (defaults for what the file leaves out), then
 * sg_config_check.  0, or a negative errno with a message
 * "path:line: option: what is wrong" in err. */
int sg_config_load(const char *path, struct sg_config *c, char *err, size_t errlen);

/* Sets one option from text, e.g. a command-line argument, with the type
 * and range of the option table (the one place that states them):
 * integers in decimal digits and nothing else ("2x", "-1", " 2" are
 * refused), enums by name, booleans true|false, lists as "1,3,5-7".
 * `who` names the setting in the message (e.g. "--threads"; NULL: the
 * option's path), worded as for the file: "--threads: 0 is out of range
 * 1..64".  0, or -EINVAL / -ENOENT (no such option) with the message; *c
 * is unchanged then. */
int sg_config_set(struct sg_config *c, const char *path, const char *text,
                  const char *who, char *err, size_t errlen);

/* Checks *c as the core will (sg_proxy_config_check): the rules across
 * options, for a configuration put together from a file and the command
 * line, said in the words of the option table.  0, or -EINVAL with
 * "option: ..." in err. */
int sg_config_check(const struct sg_config *c, char *err, size_t errlen);

/* The words for a fault the core found in c's proxy options (a check or
 * a refused reload): always -1, with "option: what is wrong" in err. */
int sg_config_explain(const struct sg_config *c, const struct sg_cfg_fault *why, char *err,
                      size_t errlen);

/* What the daemon hands the core besides options: randomness it drew and
 * the key file's master.  Must outlive sg_proxy_create. */
struct sg_config_secrets {
	uint8_t seed[SG_PROXY_SEED_BYTES];
	uint8_t key[SG_SECRET_MASTER_BYTES];
};

/* Fills the core's config: draws its seed and reads the key file if one
 * is set.  0, or -1 with a message. */
int sg_config_to_proxy(const struct sg_config *c, struct sg_proxy_config *out,
                       struct sg_config_secrets *sec, char *err, size_t errlen);

/* The io option as the I/O layer's enum (its choices are named as
 * sg_io_kind_parse names them): 0, or -EINVAL. */
int sg_config_io_kind(const struct sg_config *c, enum sg_io_kind *k);

/* A reload (SIGHUP) turns next, a configuration just loaded, into the
 * one to run: next's values for what may change while running, run's for
 * the rest.  The core alone knows which of its options need a restart:
 * apply (sg_proxy_reconfigure, in effect) is called with next's proxy
 * options; each time it refuses one with SG_CFG_RESTART, restart(ctx,
 * option) is told, run's value is put back, and apply is called again.
 * The daemon's own options change live only where the option table says
 * so (log.level, learn.pins); for the others restart is told and run's
 * value kept.  Returns the last apply's result: 0, or what it refused
 * (then *why says why, for sg_config_explain). */
typedef int (*sg_config_apply_fn)(void *ctx, const struct sg_proxy_config *pc,
                                  struct sg_cfg_fault *why);
typedef void (*sg_config_restart_fn)(void *ctx, const char *option);
int sg_config_reload(const struct sg_config *run, struct sg_config *next, sg_config_apply_fn apply,
                     sg_config_restart_fn restart, void *ctx, struct sg_cfg_fault *why);

/* Writes every option with its effective value, in config syntax (groups
 * nested): the text loads back to the same values. */
void sg_config_print(const struct sg_config *c, FILE *f);

#endif
