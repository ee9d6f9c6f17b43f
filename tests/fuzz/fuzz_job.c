/*
 * fuzz_job: a job file (skrull-job(5), with its model and cluster) as
 * `--job FILE` reads it: job_read, then what jobopts_finish derives from it
 * (the BucketSize of "auto" from the memory model).  A job read must also
 * survive its own JSON form: job_to_json, then job_from_json back.
 */
#include "cost.h"
#include "err.h"
#include "fuzz.h"
#include "job.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cost_mem mem;
	struct job j, k;
	cJSON *obj;

	job_default(&j);
	if (job_read(fuzz_file(data, size), &j) != SK_OK)
		return 0;
	cost_memory(&j, &mem);
	if (j.bucket_auto)
		j.bucket = cost_bucket(&j);
	if ((obj = cJSON_CreateObject()) == NULL)
		return 0;
	job_default(&k);
	if (job_to_json(&j, obj) == SK_OK &&
	    job_from_json(obj, "fuzz", &k) != SK_OK)
		abort();
	cJSON_Delete(obj);
	return 0;
}
