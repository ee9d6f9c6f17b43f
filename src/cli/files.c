/* files: a command's input and output files, checked before any work; see
 * cli.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "afile.h"
#include "cli.h"
#include "err.h"
#include "trace.h"

/* The first of out[from..nout) that is the same file as id: its index,
 * or -1. */
static long
clash(const struct afile_id *id, const struct afile_id *out, size_t from,
    size_t nout)
{
	size_t k;

	for (k = from; k < nout; k++)
		if (afile_id_same(id, &out[k]))
			return (long)k;
	return -1;
}

/* "-" as messages name it. */
static const char *
shown(const char *path, int output)
{
	if (strcmp(path, "-") != 0)
		return path;
	return output ? "- (standard output)" : "- (standard input)";
}

int
cli_check_files(const struct cli_file *in, size_t nin,
    const struct cli_file *out, size_t nout)
{
	struct afile_id oid[CLI_FILES_MAX], iid;
	size_t i, k;
	long c;

	if (nout > CLI_FILES_MAX)
		return err_set(SK_ERR_ARG, "more than %d outputs", CLI_FILES_MAX);
	for (k = 0; k < nout; k++) {
		memset(&oid[k], 0, sizeof oid[k]);
		if (out[k].path != NULL)
			afile_id_of(out[k].path, 1, &oid[k]);
	}
	/* Every input against every output: the output's rename would
	 * replace the input, after the work was done from it. */
	for (i = 0; i < nin; i++) {
		if (in[i].path == NULL)
			continue;
		afile_id_of(in[i].path, 0, &iid);
		if ((c = clash(&iid, oid, 0, nout)) >= 0)
			return err_set(SK_ERR_IO, "%s %s is the same file as %s "
			    "%s: an input is never overwritten", out[c].opt,
			    shown(out[c].path, 1), in[i].opt,
			    shown(in[i].path, 0));
	}
	for (k = 0; k + 1 < nout; k++)
		if ((c = clash(&oid[k], oid, k + 1, nout)) >= 0)
			return err_set(SK_ERR_IO, "%s %s is the same file as %s "
			    "%s: two outputs cannot share a file", out[k].opt,
			    out[k].path, out[c].opt, out[c].path);
	for (k = 0; k < nout; k++) {
		if (out[k].path == NULL)
			continue;
		if (afile_check(out[k].path) != SK_OK)
			return err_code();
	}
	return SK_OK;
}

int
cli_parse_cpt(const struct cli_cmd *cmd, const char *text, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (text[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(v) ||
	    !(v > 0))
		return cli_usage(cmd, "--chars-per-token: '%s' is not a number "
		    "> 0", text);
	*out = v;
	return CLI_OK;
}

int
cli_trace_read(const char *path, const struct trace_read_opts *ro,
               struct trace *t, struct trace_read_info *info)
{
	char esc[ERR_MSG_MAX];
	struct trace_read_info mine;
	int e;

	if (info == NULL)
		info = &mine;
	if ((e = trace_read(path, ro, t, info)) != SK_OK ||
	    info->estimated == 0)
		return e;
	err_escape(esc, sizeof esc, path);
	fprintf(stderr, "skrull: %s: lengths estimated at %g chars/token (%zu "
	    "of %zu samples)\n", esc, ro->chars_per_token, info->estimated,
	    t->n);
	return SK_OK;
}
