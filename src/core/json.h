/*
 * json: reading and writing the JSON files of skrull (job, model, cluster,
 * plan, later profiles) with cJSON, with errors that name the file and the
 * key path ("job.json: model.layers: 0 is not in [1, 1000]").
 *
 * Every getter takes `where`, the file and path of the enclosing object
 * ("job.json: cluster"), used only to build the message.  Numbers must be
 * finite; integers must be integral.  Nothing is printed.
 */
#ifndef SKRULL_JSON_H
#define SKRULL_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Read and parse path ("-" for standard input, gzip allowed).  A syntax
 * error names the line and column.  *root is owned by the caller. */
int json_load(const char *path, cJSON **root);

/* Write root to path atomically (temporary file + rename; "-" for standard
 * output); pretty selects indented output.  Nothing is left on failure. */
int json_save(const char *path, const cJSON *root, int pretty);

/* Required members: missing, wrong type or out of range is SK_ERR_FORMAT
 * (SK_ERR_RANGE for range) naming where and key. */
int json_get_int(const cJSON *obj, const char *key, const char *where,
                 long long lo, long long hi, long long *out);
int json_get_num(const cJSON *obj, const char *key, const char *where,
                 double lo, double hi, double *out);
int json_get_str(const cJSON *obj, const char *key, const char *where,
                 const char **out);
int json_get_bool(const cJSON *obj, const char *key, const char *where,
                  int *out);

/* Optional members: absent leaves *out unchanged and returns SK_OK;
 * present but bad is an error as above. */
int json_opt_int(const cJSON *obj, const char *key, const char *where,
                 long long lo, long long hi, long long *out);
int json_opt_num(const cJSON *obj, const char *key, const char *where,
                 double lo, double hi, double *out);
int json_opt_str(const cJSON *obj, const char *key, const char *where,
                 const char **out);
int json_opt_bool(const cJSON *obj, const char *key, const char *where,
                  int *out);

/* A member that must be an object (or array); SK_ERR_FORMAT otherwise. */
int json_get_obj(const cJSON *obj, const char *key, const char *where,
                 const cJSON **out);
int json_get_arr(const cJSON *obj, const char *key, const char *where,
                 const cJSON **out);

/* Check that obj is an object whose members are all among keys[0..n-1]
 * (a misspelt member would otherwise be silently ignored);
 * SK_ERR_FORMAT naming the first unknown one. */
int json_check_keys(const cJSON *obj, const char *where,
                    const char *const *keys, size_t n);

/* The `where` of member key of the object where names, into buf:
 * "FILE: key" below a file's top level, "FILE: a.key" deeper. */
void json_where(char *buf, size_t size, const char *where, const char *key);

/* Check that obj has a member "version" equal to version and, when format
 * is not NULL, "format" equal to format. */
int json_check_version(const cJSON *obj, const char *where,
                       const char *format, int version);
/* The same for any version in [lo, hi], stored in *version. */
int json_check_version_range(const cJSON *obj, const char *where,
                             const char *format, int lo, int hi,
                             int *version);

#endif
