/*
 * jobopts: the job options every command that needs a job shares
 * (`skrull show`, `skrull plan`, ...): --job FILE, --model, --cluster,
 * --nodes, --gpus-per-node, --dp, --cp, --batch, --zero, --recompute,
 * --precision, --kernels, --reserve, --bucket, --profile, and the model
 * shape options of shapeopts (--hidden ... --vocab).  skrull-show(1)
 * documents them.
 *
 * Use: jobopts_init; append jobopts_long to the command's getopt_long
 * table (its codes are JOBOPT_BASE and up, clear of a command's own);
 * pass each code getopt returns that the command does not handle itself
 * to jobopts_take; after the loop, jobopts_finish builds o->job.
 */
#ifndef SKRULL_JOBOPTS_H
#define SKRULL_JOBOPTS_H

#include <getopt.h>
#include <stdint.h>

#include "cli.h"
#include "job.h"
#include "profile.h"
#include "shapeopts.h"

enum {
	JOBOPT_BASE = 1000,
	JOBOPT_JOB = JOBOPT_BASE, JOBOPT_MODEL, JOBOPT_CLUSTER, JOBOPT_NODES,
	JOBOPT_GPN, JOBOPT_DP, JOBOPT_CP, JOBOPT_BATCH, JOBOPT_ZERO,
	JOBOPT_RECOMPUTE, JOBOPT_PRECISION, JOBOPT_KERNELS, JOBOPT_RESERVE,
	JOBOPT_BUCKET, JOBOPT_PROFILE,
	/* the shape options, in shapeopts' order (SHAPEOPT_BASE + k) */
	JOBOPT_HIDDEN, JOBOPT_LAYERS, JOBOPT_HEADS, JOBOPT_KV_HEADS,
	JOBOPT_FFN, JOBOPT_VOCAB,
	JOBOPT_END
};

struct jobopts {
	struct job job;   /* the result of jobopts_finish */
	int partial;      /* set before jobopts_finish: resolve the model and
	                     the cluster only (no DP x CP check, no bucket) */
	/* What the options said; jobopts_finish applies them. */
	const char *job_path, *model, *cluster;
	const char *profile;                      /* skrull-profile(5) file */
	int nodes, gpus_per_node, dp, cp, batch;  /* 0: not given */
	int zero;                                 /* -1: not given */
	int recompute, precision;                 /* -1: not given */
	int kernels_given;                        /* --kernels, even none */
	unsigned kernels;                         /* enum kernel flags */
	double reserve;                           /* bytes; < 0: not given */
	int bucket_given, bucket_auto;
	uint32_t bucket;                          /* tokens */
	struct shapeopts shape;                   /* over the model */
};

/* The options, terminated by a zeroed entry. */
extern const struct option jobopts_long[];

/* Their help lines, for a command's -h. */
extern const char jobopts_help[];

void jobopts_init(struct jobopts *o);

/* Take option code with argument arg: CLI_OK when taken, CLI_USAGE (after
 * printing the message and cmd's usage) for a bad value, -1 when code is
 * not a job option. */
int jobopts_take(struct jobopts *o, const struct cli_cmd *cmd, int code,
                 const char *arg);

/*
 * Build o->job: the job file (else job_default()), then --model, the
 * shape options over the model (shapeopts_apply), --cluster, --nodes, --gpus-per-node, --profile over the cluster
 * (jobopts_profile), the scalar options, then DP and
 * CP: both given are taken as they are; one given derives the other from
 * the GPU count; neither given keeps CP and derives DP when the GPU count
 * changed.  Then validation, and the bucket when auto (cost_bucket).
 * Prints the error and returns CLI_FAIL or CLI_USAGE; CLI_OK on success.
 */
int jobopts_finish(struct jobopts *o, const struct cli_cmd *cmd);

/* The files the options name as inputs (--job, --profile, and --model
 * and --cluster when they name a file, not a preset) into
 * in[0..JOBOPTS_FILES), NULL paths for those not given. */
#define JOBOPTS_FILES 4
void jobopts_files(const struct jobopts *o, struct cli_file *in);

/* Read the calibration profile at path and apply it over *c
 * (profile_apply).  Prints the error ("skrull: --profile: FILE: ...") and
 * returns CLI_FAIL; CLI_OK on success.  A warning when the profile was
 * measured at another shape than model m's, or names a model measured
 * without recording its shape. */
int jobopts_profile(const char *path, struct cluster *c,
                    const struct model *m);

/* That warning, for profile p read from path (nothing when it matches). */
void jobopts_profile_warn(const char *path, const struct profile *p,
                          const struct model *m);

#endif
