/*
 * job: one fine-tuning job: model, cluster, parallel layout and memory
 * settings, and optionally the schedule to run it with (a policy and its
 * knobs, as `skrull tune` writes the best it found).  skrull-job(5) documents its JSON form, which `skrull show job
 * --json` prints and `skrull plan --job FILE` reads back unchanged.
 */
#ifndef SKRULL_JOB_H
#define SKRULL_JOB_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "cluster.h"
#include "model.h"

enum recompute { RECOMPUTE_NONE = 0, RECOMPUTE_SELECTIVE, RECOMPUTE_FULL };
enum precision { PRECISION_BF16 = 0, PRECISION_FP16, PRECISION_FP32 };

/*
 * Kernel choices that change what is saved for backward (skrull(7),
 * "activation bytes per token"), flags of job.kernels.  None is the
 * Hugging Face graph.
 */
enum kernel {
	KERNEL_FUSED_SWIGLU = 1 << 0,  /* "fused-swiglu": saves gate, up and
	                                  their product; SiLU recomputed */
	KERNEL_FUSED_CE = 1 << 1       /* "fused-ce": the cross-entropy keeps
	                                  no fp32 copy of the logits or of
	                                  their gradient */
};
#define KERNEL_COUNT 2                      /* flags, bits 0 .. COUNT - 1 */
#define KERNEL_ALL ((1u << KERNEL_COUNT) - 1)

#define JOB_NAME_MAX 32   /* bytes of a policy or knob name, with its NUL */
#define JOB_KNOBS_MAX 16

/*
 * One knob setting of a job's schedule, as text: core does not know the
 * scheduler (it sits above core), so the names and values are checked where
 * it is known (planopts, with sched_knob_set).
 */
struct job_knob {
	char name[JOB_NAME_MAX];   /* "rollback" */
	char value[JOB_NAME_MAX];  /* "on" */
};
struct job {
	struct model model;
	struct cluster cluster;
	int dp;          /* data-parallel degree */
	int cp;          /* context-parallel degree; dp * cp = GPUs of the cluster */
	int batch;       /* samples per DP rank per iteration (global batch = dp * batch) */
	int zero;        /* ZeRO stage 0..3 (sharded over all dp * cp ranks) */
	enum recompute recompute;
	enum precision precision;  /* bf16/fp16: mixed precision with fp32 master weights and Adam states */
	unsigned kernels;  /* enum kernel flags; 0: the Hugging Face graph */
	double reserve;  /* bytes per GPU kept free for the CUDA context, NCCL
	                    buffers and allocator fragmentation */
	int bucket_auto; /* 1: bucket derived from the memory model (cost_bucket) */
	uint32_t bucket; /* BucketSize C: tokens of activations a GPU holds, >= 1 */
	/* The schedule (optional; what `skrull tune` found): the policy, ""
	 * for none, and knob settings applied before the command line's. */
	char policy[JOB_NAME_MAX];
	struct job_knob knobs[JOB_KNOBS_MAX];
	int nknobs;
};

/* The defaults: Qwen2.5-0.5B on 4 x 8 H100, DP 4, CP 8, batch 64, ZeRO-2,
 * selective recompute, bf16, no kernel choices, bucket auto (the paper's
 * setting). */
void job_default(struct job *j);

/* Check every field and dp * cp == GPUs, and the schedule's form (names
 * non-empty and terminated, distinct knobs, none without a policy);
 * SK_ERR_ARG naming the field. */
int job_validate(const struct job *j, const char *where);

/* The tokens one micro-batch of a CP group may hold: cp x bucket (N x C),
 * exact. */
uint64_t job_cp_capacity(const struct job *j);

int job_from_json(const cJSON *obj, const char *where, struct job *j);
int job_to_json(const struct job *j, cJSON *obj);
int job_read(const char *path, struct job *j);
int job_write(const char *path, const struct job *j);

const char *job_recompute_name(enum recompute r);
int job_recompute_parse(const char *s, enum recompute *r);
const char *job_precision_name(enum precision p);
int job_precision_parse(const char *s, enum precision *p);

/* The name of kernel flag k ("fused-swiglu"), "unknown" for anything else. */
const char *job_kernel_name(enum kernel k);
/* A comma-separated list of distinct kernel names, or "none", into flags;
 * SK_ERR_ARG naming the bad or repeated name. */
int job_kernels_parse(const char *list, unsigned *kernels);

#endif
