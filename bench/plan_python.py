"""plan_python: per-global-batch latency of skrull.plan_batch, the call a
Python data loader makes per iteration: the batch's lengths in (a list of
Python ints, or with --input numpy a NumPy uint32 array), a skrull.Plan
out.  The Python side of bench/python.sh; the same batches, warm-up,
drops and quantiles as bench/plan_api, its C side.

Reads lengths, one a line (skrull-trace(5)'s plain text: spaces around
the number and a carriage return allowed, nothing else), builds the
default job with the given shape, layout, batch, BucketSize ("auto") and
policy, drops the samples longer than the CP group holds (BucketSize x
CP), cuts the rest in order into global batches of DP x batch samples, a
trailing partial batch dropped, and converts each batch to the input type
before any timing.  WARMUP calls on the first batches, untimed, then each
batch once, timed with time.perf_counter_ns around skrull.plan_batch
alone: the Plan is released (skrull_plan_free) after the clock is read.
The garbage collector stays on, as in a training loop.  Prints the batch
count and the latency p50, p90 and mean in microseconds (numpy.percentile,
linear interpolation: GSL's gsl_stats_quantile_from_sorted_data), as one
JSON line with --json; --batches FILE also writes each batch's latency,
us, one a line in batch order.

usage: plan_python.py [--json] [--batches FILE] [--input list|numpy]
       LENGTHS POLICY NODES GPUS DP CP BATCH BUCKET
(with PYTHONPATH holding python/ and SKRULL_LIBRARY the built library)
"""

import argparse
import json
import re
import sys
import time

import numpy

import skrull

WARMUP = 5  # as plan_api.c
LEN_MAX = 2**31 - 1
_LINE = re.compile(r"[ \t]*([0-9]+)[ \t]*\r?\n?\Z")


def fail(msg):
    print("plan_python: %s" % msg, file=sys.stderr)
    sys.exit(1)


def read_lengths(path):
    """The lengths of path; a line that is not one length is an error
    naming it."""
    out = []
    try:
        with open(path, newline="") as f:
            for lineno, line in enumerate(f, 1):
                m = _LINE.match(line)
                if m is None:
                    fail("%s: line %d: not a length" % (path, lineno))
                v = int(m.group(1))
                if v < 1 or v > LEN_MAX:
                    fail("%s: line %d: length must be 1..%d tokens"
                         % (path, lineno, LEN_MAX))
                out.append(v)
    except (OSError, UnicodeDecodeError) as e:
        fail("%s: %s" % (path, e))
    if not out:
        fail("%s: no lengths" % path)
    return out


def count(what):
    def parse(s):
        if not re.fullmatch(r"[0-9]+", s) or not 1 <= int(s) <= 2**31 - 1:
            raise argparse.ArgumentTypeError("%s %s: not a positive integer"
                                             % (what, s))
        return int(s)
    return parse


def bucket_arg(s):
    if s == "auto":
        return s
    if not re.fullmatch(r"[1-9][0-9]*", s) or int(s) > 0xFFFFFFFF:
        raise argparse.ArgumentTypeError("BUCKET %s: not auto or a positive "
                                         "integer" % s)
    return int(s)


def main():
    ap = argparse.ArgumentParser(prog="plan_python")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--batches")
    ap.add_argument("--input", choices=("list", "numpy"), default="list")
    ap.add_argument("lengths")
    ap.add_argument("policy")
    for what in ("nodes", "gpus", "dp", "cp", "batch"):
        ap.add_argument(what, type=count(what.upper()))
    ap.add_argument("bucket", type=bucket_arg)
    a = ap.parse_args()

    try:
        job = skrull.Job(nodes=a.nodes, gpus_per_node=a.gpus, dp=a.dp,
                         cp=a.cp, batch=a.batch, bucket=a.bucket,
                         policy=a.policy)
        bucket = job.layout()[3]
    except skrull.SkrullError as e:
        fail("job: %s" % e)
    lengths = read_lengths(a.lengths)
    kept = [v for v in lengths if v <= bucket * a.cp]
    gb = a.dp * a.batch
    nb = len(kept) // gb
    if nb == 0:
        fail("%s: %d samples within the CP group, no whole global batch of "
             "%d" % (a.lengths, len(kept), gb))
    if a.input == "list":
        batches = [kept[b * gb:(b + 1) * gb] for b in range(nb)]
    else:
        arr = numpy.array(kept[:nb * gb], dtype=numpy.uint32)
        batches = [arr[b * gb:(b + 1) * gb].copy() for b in range(nb)]

    plan_batch = skrull.plan_batch
    clock = time.perf_counter_ns
    lat = numpy.empty(nb)
    try:
        for b in range(WARMUP):
            plan = plan_batch(job, batches[b % nb])
            del plan
        for b in range(nb):
            t0 = clock()
            plan = plan_batch(job, batches[b])
            t1 = clock()
            del plan
            lat[b] = (t1 - t0) * 1e-3
    except skrull.SkrullError as e:
        fail("batch %d: %s" % (b, e))

    if a.batches is not None:
        try:
            with open(a.batches, "w") as f:
                f.write("".join("%.3f\n" % v for v in lat))
        except OSError as e:
            fail("%s: %s" % (a.batches, e))
    tokens = sum(kept[:nb * gb]) / nb
    p50, p90 = numpy.percentile(lat, [50, 90])
    mean = lat.mean()
    if a.json:
        print(json.dumps({"policy": a.policy, "input": a.input,
                          "batches": nb, "global_batch": gb,
                          "dropped": len(lengths) - len(kept),
                          "tokens_per_batch": round(tokens),
                          "p50_us": round(p50, 3), "p90_us": round(p90, 3),
                          "mean_us": round(mean, 3)}))
    else:
        print("%s (%s): %d global batches of %d (%d samples over %d tokens "
              "dropped), %.0f tokens each on average; per batch us: p50 %.1f "
              "p90 %.1f mean %.1f" % (a.policy, a.input, nb, gb,
                                      len(lengths) - len(kept),
                                      bucket * a.cp, tokens, p50, p90, mean))


if __name__ == "__main__":
    main()
