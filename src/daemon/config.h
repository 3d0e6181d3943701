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

#define SG_CONFIG_MAX_CPUS 64
#define SG_CONFIG_DEFAULT_SOCKET "/run/synguard/ctl.sock"

struct sg_config {
	unsigned threads;
	int      io;                          /* 0 auto, 1 afxdp, 2 afpacket */
	int      cpus[SG_CONFIG_MAX_CPUS];
	unsigned ncpus;
	bool     bridge_only;
	int      log_target;                  /* enum sg_log_target */
	int      log_level;                   /* 0 error .. 4 debug: LOG_ERR + n */
	char     ctl_socket[108];             /* sun_path */
	char     key_file[PATH_MAX];          /* "" = random keys */
	struct sg_proxy_config proxy;         /* shared_key stays NULL here */
};

void sg_config_default(struct sg_config *c);

/* Reads path into *c (defaults for what the file leaves out).  0, or -1
 * with a message "path:line: option: what is wrong" in err. */
int sg_config_load(const char *path, struct sg_config *c, char *err, size_t errlen);

/* Checks *c as the core will (sg_proxy_config_check) and says what is
 * wrong in the words of the option table: 0, or -1 with "option: ...". */
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

/* Writes every option with its effective value, in config syntax. */
void sg_config_print(const struct sg_config *c, FILE *f);

#endif
