/* main: the skrull entry point, the command table and shared helpers. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_version.h>
#include <zlib.h>

#include "config.h"
#include "afile.h"
#include "cli.h"
#include "err.h"
#include "near.h"
#ifdef HAVE_CUDA
#include "cudamod.h"
#endif
#include "world.h"

static const struct cli_cmd *const commands[] = {
	&cmd_trace,
	&cmd_show,
	&cmd_plan,
	&cmd_sim,
	&cmd_compare,
	&cmd_tune,
	&cmd_report,
	&cmd_run,
	&cmd_calibrate,
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: skrull [-h | --help] [--version] COMMAND [ARGS]\n"
	    "       skrull help COMMAND\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "  %-10s %s\n", "help", "show a command's usage and options");
	fprintf(f, "\nSee skrull(1) and skrull-COMMAND(1).\n");
}

/* The command called name; else NULL, with the usage error printed
 * (naming the nearest command when one is a likely slip). */
static const struct cli_cmd *
find(const char *name)
{
	const char *names[NCOMMANDS + 1], *near;
	size_t i;

	for (i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
		names[i] = commands[i]->name;
	}
	names[NCOMMANDS] = "help";
	near = near_best(name, names, NCOMMANDS + 1);
	err_set(SK_ERR_ARG, "unknown command '%s'%s%s%s", name,
	    near != NULL ? "; did you mean '" : "", near != NULL ? near : "",
	    near != NULL ? "'?" : "");
	fprintf(stderr, "skrull: %s\n", err_msg());
	usage(stderr);
	return NULL;
}

static void
version(void)
{
	printf("skrull %s\n", PACKAGE_VERSION);
	printf("gsl %s, cjson %d.%d.%d, zlib %s\n", GSL_VERSION,
	    CJSON_VERSION_MAJOR, CJSON_VERSION_MINOR, CJSON_VERSION_PATCH,
	    zlibVersion());
#ifdef HAVE_CUDA
	{
		const struct cudamod *m;
		int rt = 0, ndev = 0;

		if (cudamod_get(&m) != SK_OK)
			printf("cuda built; %s\n", err_msg());
		else {
			m->runtime_version(&rt);
			m->device_count(&ndev);
			printf("cuda runtime %d.%d, %d device%s\n", rt / 1000,
			    rt % 1000 / 10, ndev, ndev == 1 ? "" : "s");
		}
	}
#else
	printf("cuda not built\n");
#endif
#ifdef HAVE_NCCL
	printf("nccl built\n");
#else
	printf("nccl not built\n");
#endif
#ifdef HAVE_MPI
	printf("mpi built\n");
#else
	printf("mpi not built\n");
#endif
}

/* The signals that end the process after the temporary files in flight
 * are removed (skrull(7)): an interrupt, a kill, a hang-up, a quit. */
static const int ending[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define NENDING (sizeof ending / sizeof ending[0])

/*
 * Remove the temporaries (afile_unlink_all: unlink(2) only), then die of
 * sig as if there had been no handler, so that the parent sees the
 * signal (a shell's status 128 + sig); _exit with that status if the
 * signal somehow returns.  Every call here is async-signal-safe.
 */
static void
on_ending(int sig)
{
	struct sigaction dfl;
	sigset_t set;

	afile_unlink_all();
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	_exit(128 + sig);
}

/*
 * The process's signal dispositions: the ending signals go through
 * on_ending, each blocking the others while it runs, except those
 * ignored when skrull started (nohup, a background job of a shell
 * without job control), which stay ignored; SIGXFSZ is ignored, so that
 * a file-size limit fails the write (EFBIG) and the ordinary clean-up
 * runs instead of the process dying with its temporary in place.
 */
static void
install_signals(void)
{
	struct sigaction sa, old;
	size_t i;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_ending;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NENDING; i++)
		sigaddset(&sa.sa_mask, ending[i]);
	for (i = 0; i < NENDING; i++)
		if (sigaction(ending[i], NULL, &old) == 0 &&
		    old.sa_handler != SIG_IGN)
			sigaction(ending[i], &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGXFSZ, &sa, NULL);
}

/* `skrull help NAME` is `skrull NAME -h`. */
static int
help(const char *name)
{
	const struct cli_cmd *cmd = find(name);
	char *argv[3];

	if (cmd == NULL)
		return CLI_USAGE;
	argv[0] = (char *)(uintptr_t)cmd->name;
	argv[1] = (char *)(uintptr_t)"-h";
	argv[2] = NULL;
	return cmd->run(2, argv);
}

int
cli_fail(void)
{
	fprintf(stderr, "skrull: %s\n", err_msg());
	return CLI_FAIL;
}

int
cli_usage(const struct cli_cmd *cmd, const char *fmt, ...)
{
	char raw[ERR_MSG_MAX], esc[ERR_MSG_MAX];
	va_list ap;

	/* the arguments are the user's: escaped as messages are (err.h) */
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	err_escape(esc, sizeof esc, raw);
	fprintf(stderr, "skrull: %s\nusage: %s\n", esc, cmd->usage);
	return CLI_USAGE;
}

int
cli_parse_ulong(const struct cli_cmd *cmd, const char *opt, const char *text,
    unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (text[0] == '\0' || text[0] == '-' || *end != '\0' || errno != 0 ||
	    v < lo || v > hi)
		return cli_usage(cmd, "%s: '%s' is not an integer in [%lu, %lu]",
		    opt, text, lo, hi);
	*out = v;
	return CLI_OK;
}

int
cli_bad_option(const struct cli_cmd *cmd, const char *what, const char *arg,
    const struct option *longs)
{
	const char *names[CLI_MAX_LONGOPTS], *near = NULL;
	char word[NEAR_MAX + 1];
	size_t n = 0, len;

	/* only a long option can be a slip of a long name: "--timline=x"
	 * is compared as "timline"; "-x" has no neighbour worth naming */
	if (strncmp(arg, "--", 2) == 0 && (len = strcspn(arg + 2, "=")) > 0 &&
	    len <= NEAR_MAX) {
		memcpy(word, arg + 2, len);
		word[len] = '\0';
		while (longs[n].name != NULL && n < CLI_MAX_LONGOPTS) {
			names[n] = longs[n].name;
			n++;
		}
		near = near_best(word, names, n);
	}
	if (near != NULL)
		return cli_usage(cmd, "%s: unknown option '%s'; did you mean "
		    "'--%s'?", what, arg, near);
	return cli_usage(cmd, "%s: unknown option '%s'", what, arg);
}

void
cli_options_hook(const struct option *longs)
{
	size_t i;

	if (getenv("SKRULL_LIST_OPTIONS") == NULL)
		return;
	for (i = 0; longs[i].name != NULL; i++)
		printf("%s\n", longs[i].name);
	exit(fflush(stdout) == 0 ? CLI_OK : CLI_FAIL);
}

int
cli_getopt(const struct cli_cmd *cmd, int argc, char **argv,
    const char *shorts, const struct option *longs, int *code)
{
	cli_options_hook(longs);
	opterr = 0;
	*code = getopt_long(argc, argv, shorts, longs, NULL);
	if (*code == '?')
		return cli_bad_option(cmd, cmd->name, argv[optind - 1], longs);
	if (*code == ':')
		return cli_usage(cmd, "%s: option '%s' needs a value", cmd->name,
		    argv[optind - 1]);
	return CLI_OK;
}

int
cli_print_json(cJSON *root)
{
	char *s = cJSON_Print(root);
	int rc = CLI_OK;

	cJSON_Delete(root);
	if (s == NULL) {
		err_set(SK_ERR_NOMEM, "cannot render JSON: out of memory");
		return cli_fail();
	}
	if (puts(s) == EOF) {
		err_set(SK_ERR_IO, "standard output: %s", strerror(errno));
		rc = cli_fail();
	}
	free(s);
	return rc;
}

int
main(int argc, char **argv)
{
	const struct cli_cmd *cmd;
	int rc;

	/* GSL's default handler aborts; the library checks return codes. */
	gsl_set_error_handler_off();
	install_signals();
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		version();
		return CLI_OK;
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc == 2) {
			usage(stdout);
			return CLI_OK;
		}
		return help(argv[2]);
	}
	if ((cmd = find(argv[1])) == NULL)
		return CLI_USAGE;
	rc = cmd->run(argc - 1, argv + 1);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "skrull: standard output: write error\n");
		return CLI_FAIL;
	}
	return rc;
}

int
cli_launched(void)
{
	return world_launched();
}

int
cli_local_rank(void)
{
	return world_local_rank();
}

void
cli_rank_fail(int rank)
{
	fprintf(stderr, "skrull: rank %d: %s\n", rank, err_msg());
}
