/*
 * cli: the skrull command.  Each command lives in its own file and exports
 * one struct cli_cmd; main.c holds the table and the shared conventions:
 * results on stdout, diagnostics on stderr prefixed "skrull: ", exit status
 * 0 (success), 1 (failure) or 2 (usage).
 */
#ifndef SKRULL_CLI_H
#define SKRULL_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

struct cli_cmd {
	const char *name;
	const char *summary;  /* one line for `skrull -h` */
	const char *usage;    /* mirrors the SYNOPSIS of skrull-NAME(1) */
	/* argv[0] is the command name; `NAME -h` prints usage and options,
	 * which is also what `skrull help NAME` runs. */
	int (*run)(int argc, char **argv);
};

extern const struct cli_cmd cmd_trace;
extern const struct cli_cmd cmd_show;
extern const struct cli_cmd cmd_plan;
extern const struct cli_cmd cmd_sim;
extern const struct cli_cmd cmd_compare;
extern const struct cli_cmd cmd_tune;
extern const struct cli_cmd cmd_report;
extern const struct cli_cmd cmd_run;
extern const struct cli_cmd cmd_calibrate;

/* Print "skrull: " and the library's last error message; returns CLI_FAIL. */
int cli_fail(void);

/* Print "skrull: message" and the command's usage to stderr; returns
 * CLI_USAGE. */
int cli_usage(const struct cli_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Parse a decimal count/seed in [lo, hi] for option opt; on error print
 * the usage message and return CLI_USAGE, else CLI_OK. */
int cli_parse_ulong(const struct cli_cmd *cmd, const char *opt,
                    const char *text, unsigned long lo, unsigned long hi,
                    unsigned long *out);

/*
 * The next option of argv (getopt_long with opterr off; start with
 * optind = 1): *code gets its code, or -1 after the last option.  An
 * unknown option or a missing value prints the message and cmd's usage and
 * returns CLI_USAGE; else CLI_OK.  shorts must start with ':'.
 */
struct option;
int cli_getopt(const struct cli_cmd *cmd, int argc, char **argv,
               const char *shorts, const struct option *longs, int *code);

/* When SKRULL_LIST_OPTIONS is set in the environment, print longs' names
 * one a line to stdout and exit 0: the option table as the program has
 * it, for tests/options.sh to hold against -h and the man page (a test
 * hook, not an interface: skrull(7), ENVIRONMENT).  cli_getopt calls it;
 * a command parsing its options without cli_getopt calls it first. */
void cli_options_hook(const struct option *longs);

/* Most long options a command has, for cli_bad_option's list. */
#define CLI_MAX_LONGOPTS 160

/* The usage error for the unknown option arg ("--name" or "--name=value")
 * of command what (e.g. "trace stats"), naming the nearest of longs'
 * names when one is a likely slip (near.h); returns CLI_USAGE. */
int cli_bad_option(const struct cli_cmd *cmd, const char *what,
                   const char *arg, const struct option *longs);

/* Print a cJSON value to stdout followed by a newline and free it;
 * CLI_FAIL (with a message) when it cannot be rendered or written. */
struct cJSON;
int cli_print_json(struct cJSON *root);

/* A file a command reads or writes: the option that names it (messages
 * name both) and its path (NULL: not given). */
struct cli_file {
	const char *opt;
	const char *path;
};

/* The most outputs cli_check_files takes. */
#define CLI_FILES_MAX 8

/*
 * Before any work: refuse an output that is the same file as an input or
 * as another output (the same device and inode: through hard and symbolic
 * links, and "-" as the standard input or output when that is a regular
 * file), and an output afile_check refuses (a directory, a missing or unwritable
 * directory, ...).  SK_OK, or an error code with the message set, naming
 * both files of a clash.  Entries whose path is NULL are skipped.
 */
int cli_check_files(const struct cli_file *in, size_t nin,
                    const struct cli_file *out, size_t nout);

/* A share (0..1) as a percentage with one decimal, "<0.1%" for a share
 * above 0 that would print as 0.0%; buf of n bytes, returned. */
const char *cli_pct(double share, char *buf, size_t n);

/* What a plan of a trace dropped (drops.c): samples longer than the
 * policy's reach (the plan's job, sched_policy.reach) and the last
 * partial global batch (drop-last), in samples and tokens, against the
 * trace's. */
struct plan;
struct trace;
struct cli_drops {
	uint64_t samples, tokens;           /* in the trace */
	uint64_t overlong, overlong_tokens; /* longer than cap */
	uint64_t last, last_tokens;         /* of the partial batch */
	uint64_t cap;                       /* the reach, tokens */
	int mesh;                           /* the reach is the DP x CP mesh */
	uint32_t bucket;                    /* the plan's BucketSize, tokens */
	int cp, dp;                         /* and its layout */
};
void cli_drops_count(const struct plan *p, const struct trace *t,
                     struct cli_drops *d);
/* The one stderr warning of a command whose plan dropped samples
 * ("skrull: warning: [label: ]dropped N of M samples (x.x%) and T of U
 * tokens (y.y%) longer than ..."); nothing when none were. */
void cli_drops_warn(const struct cli_drops *d, const char *label);
/* The counts into JSON object o: "dropped_overlong",
 * "dropped_overlong_tokens", "dropped_last", "dropped_last_tokens",
 * "trace_samples", "trace_tokens"; SK_ERR_NOMEM if cJSON fails. */
int cli_drops_json(const struct cli_drops *d, struct cJSON *o);
/*
 * --chars-per-token X: a real number > 0 (finite) into *out; CLI_OK, or
 * CLI_USAGE with the message printed.
 */
int cli_parse_cpt(const struct cli_cmd *cmd, const char *text, double *out);

/*
 * trace_read (info may be NULL), then, when some lengths were estimated
 * from text (chars_per_token), the note "PATH: lengths estimated at X
 * chars/token (N of M samples)" on stderr.  The library's status.
 */
struct trace;
struct trace_read_opts;
struct trace_read_info;
int cli_trace_read(const char *path, const struct trace_read_opts *ro,
                   struct trace *t, struct trace_read_info *info);

/* Print "skrull: rank R: " and the library's last error message: a
 * rank's failure, when the ranks of a run say each its own. */
void cli_rank_fail(int rank);

/* Whether a launcher (mpirun, srun, a PMI process manager) started this
 * process (OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK or SLURM_NTASKS is
 * set): then its peers are other processes, reached through MPI
 * (world_launched). */
int cli_launched(void);

/* This process's index among the ranks on its machine, as the launcher
 * tells it (OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID, MPI_LOCALRANKID),
 * for the GPU it takes; 0 if none says (world_local_rank). */
int cli_local_rank(void);

#endif
