"""skrull: the Skrull scheduler (arXiv 2505.19609) from Python.

A ctypes binding of libskrull (libskrull(3)): build a job, plan one global
batch from its samples' lengths with any policy, walk the plan (per DP rank
its micro-batches, per micro-batch its samples and where each is placed),
read, write and validate plan files (skrull-plan(5)), simulate a plan.

    import skrull
    job = skrull.Job(model="qwen2.5-7b", nodes=1, gpus_per_node=8, dp=2,
                     cp=4, batch=4)
    plan = skrull.plan_batch(job, [3071, 517, 24000, 845, 2260, 19001,
                                   133, 6400])
    for mb in plan.micro_batches(0, dp_rank=0):
        print([(s.index, s.length, s.first, s.size) for s in mb.samples])
    print(plan.simulate().summary()["mean"])

skrull.arrow reads lengths from Parquet, Arrow and Hugging Face datasets
(pyarrow); skrull.torch holds SkrullBatchSampler, which plans each global
batch of a PyTorch training loop online.  Lengths are in tokens, times in
seconds, memory in bytes.  Every failure raises SkrullError carrying the
library's message (file, place, problem).
"""

import ctypes
import json

from . import _lib
from ._lengths import pack
from ._lib import LengthError, LengthTypeError, SkrullError

__all__ = ["Job", "Plan", "MicroBatch", "Sample", "Report", "SkrullError",
           "LengthError", "LengthTypeError", "plan_batch", "read_plan",
           "library_version", "__version__"]

__version__ = "0.1.0"

_lib_ = _lib.lib
_check = _lib.check
_enc = _lib.encode


def library_version():
    """The loaded libskrull's version, "MAJOR.MINOR.PATCH"."""
    return "%d.%d.%d" % _lib.version()


class Job:
    """A job: model, cluster, DP x CP layout, batch, memory, schedule.

    Job() is skrull-job(5)'s defaults; Job(path="job.json") reads a job
    file; keywords then override, as the options of skrull-plan(1) do:
    model and cluster (a preset name or a JSON file), nodes and
    gpus_per_node (given together), dp and cp (given together; their
    product must be the cluster's GPUs when planning), batch (samples per
    DP rank per global batch), bucket (BucketSize in tokens; 0 or "auto":
    from the memory model), zero (0..3), recompute ("none", "selective",
    "full"), precision ("bf16", "fp16", "fp32"), policy (a name of
    `skrull plan -h`) and knobs (a dict of policy knobs, as the options
    --NAME of skrull-plan(1): {"rollback": "off"}).
    """

    def __init__(self, path=None, *, model=None, cluster=None, nodes=None,
                 gpus_per_node=None, dp=None, cp=None, batch=None,
                 bucket=None, zero=None, recompute=None, precision=None,
                 policy=None, knobs=None):
        self._h = None
        h = ctypes.c_void_p()
        if path is not None:
            _check(_lib_.skrull_job_read(_enc(path, "path"), ctypes.byref(h)))
        else:
            _check(_lib_.skrull_job_new(ctypes.byref(h)))
        self._h = h
        if model is not None:
            _check(_lib_.skrull_job_set_model(h, _enc(model, "model")))
        if cluster is not None:
            _check(_lib_.skrull_job_set_cluster(h, _enc(cluster, "cluster")))
        if (nodes is None) != (gpus_per_node is None):
            raise SkrullError("Job: nodes and gpus_per_node are given "
                              "together")
        if nodes is not None:
            _check(_lib_.skrull_job_set_nodes(h, _int(nodes, "nodes"),
                                              _int(gpus_per_node,
                                                   "gpus_per_node")))
        if (dp is None) != (cp is None):
            raise SkrullError("Job: dp and cp are given together")
        if dp is not None:
            _check(_lib_.skrull_job_set_layout(h, _int(dp, "dp"),
                                               _int(cp, "cp")))
        if batch is not None:
            _check(_lib_.skrull_job_set_batch(h, _int(batch, "batch")))
        if bucket is not None:
            b = 0 if bucket == "auto" else _int(bucket, "bucket")
            if b < 0 or b > 0xFFFFFFFF:
                raise SkrullError("Job: bucket %d: must be 0 (auto) .. "
                                  "4294967295 tokens" % b, "range")
            _check(_lib_.skrull_job_set_bucket(h, b))
        if zero is not None:
            _check(_lib_.skrull_job_set_zero(h, _int(zero, "zero")))
        if recompute is not None:
            _check(_lib_.skrull_job_set_recompute(
                h, _enc(recompute, "recompute")))
        if precision is not None:
            _check(_lib_.skrull_job_set_precision(
                h, _enc(precision, "precision")))
        if policy is not None:
            _check(_lib_.skrull_job_set_policy(h, _enc(policy, "policy")))
        for name, value in (knobs or {}).items():
            if isinstance(value, bool):
                value = "on" if value else "off"
            _check(_lib_.skrull_job_set_knob(h, _enc(name, "knob"),
                                             _enc(str(value), "knob value")))

    def __del__(self):
        if getattr(self, "_h", None):
            _lib_.skrull_job_free(self._h)
            self._h = None

    def write(self, path):
        """The job as a skrull-job(5) file, with its schedule; atomic."""
        _check(_lib_.skrull_job_write(self._h, _enc(path, "path")))

    def layout(self):
        """(dp, cp, batch, bucket) as planning resolves them."""
        dp, cp, batch = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        bucket = ctypes.c_uint32()
        _check(_lib_.skrull_job_layout(self._h, ctypes.byref(dp),
                                       ctypes.byref(cp), ctypes.byref(batch),
                                       ctypes.byref(bucket)))
        return dp.value, cp.value, batch.value, bucket.value


def _int(v, what):
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        raise SkrullError("Job: %s %r: must be an integer" % (what, v))
    v = v.__index__()
    if v < -2**31 or v >= 2**31:
        raise SkrullError("Job: %s %d: out of range" % (what, v), "range")
    return v


def _chunk(length, c, n):
    """Chunk c of 2n of a sample of length tokens: [lo, hi), as the
    executor splits it (causal load balancing, skrull-plan(5))."""
    return c * length // (2 * n), (c + 1) * length // (2 * n)


class Sample:
    """A sample of a micro-batch and where it is placed.

    index: its position in the planned lengths (the trace); length:
    tokens; sharded: False when it is whole on rank first of the
    micro-batch, True when sharded over ranks first .. first + size - 1.
    """

    __slots__ = ("index", "length", "sharded", "first", "size")

    def __init__(self, index, length, sharded, first, size):
        self.index = index
        self.length = length
        self.sharded = sharded
        self.first = first
        self.size = size

    def holds(self, q):
        """Whether rank q of the micro-batch computes (part of) it."""
        return self.first <= q < self.first + self.size

    def ranges(self, q):
        """The token positions rank q of the micro-batch holds, as a list
        of [lo, hi) pairs: the whole sample, the two chunks of a shard
        (member k of n holds chunks k and 2n - 1 - k of 2n), or none."""
        if not self.holds(q):
            return []
        if not self.sharded:
            return [(0, self.length)]
        k, n = q - self.first, self.size
        return [_chunk(self.length, k, n), _chunk(self.length, 2 * n - 1 - k,
                                                  n)]

    def tokens(self, q):
        """Tokens of it rank q of the micro-batch holds."""
        return sum(hi - lo for lo, hi in self.ranges(q))

    def __repr__(self):
        where = ("sharded %d..%d" % (self.first, self.first + self.size - 1)
                 if self.sharded else "whole on %d" % self.first)
        return "Sample(%d, %d tokens, %s)" % (self.index, self.length, where)


class MicroBatch:
    """A micro-batch as one DP rank runs it.

    owner: the DP rank listing it; span: DP ranks it covers (owner ..
    owner + span - 1); width: its ranks (span x cp), numbered 0 .. width -
    1; offset: the number of this DP rank's CP rank 0 in it, so CP rank c
    is rank offset + c; samples: its Samples.
    """

    __slots__ = ("id", "owner", "span", "width", "offset", "samples")

    def __init__(self, mid, owner, span, width, offset, samples):
        self.id = mid
        self.owner = owner
        self.span = span
        self.width = width
        self.offset = offset
        self.samples = samples

    def rank(self, cp_rank):
        """The number in this micro-batch of this DP rank's CP rank."""
        return self.offset + cp_rank

    def __repr__(self):
        return ("MicroBatch(owner %d, span %d, width %d, %d samples)"
                % (self.owner, self.span, self.width, len(self.samples)))


class Plan:
    """A schedule (skrull-plan(5)): per iteration, per DP rank, its
    micro-batches.  Made by plan_batch or read from a file."""

    def __init__(self, handle):
        self._h = handle
        it, dp, cp = ctypes.c_size_t(), ctypes.c_int(), ctypes.c_int()
        _check(_lib_.skrull_plan_shape(handle, ctypes.byref(it),
                                       ctypes.byref(dp), ctypes.byref(cp)))
        self.iterations, self.dp, self.cp = it.value, dp.value, cp.value

    def __del__(self):
        if getattr(self, "_h", None):
            _lib_.skrull_plan_free(self._h)
            self._h = None

    @classmethod
    def read(cls, path):
        """A plan file (version 1 or 2), its structure checked."""
        h = ctypes.c_void_p()
        _check(_lib_.skrull_plan_read(_enc(path, "path"), ctypes.byref(h)))
        return cls(h)

    def write(self, path):
        """The plan as a version-2 file; atomic."""
        _check(_lib_.skrull_plan_write(self._h, _enc(path, "path")))

    def validate(self):
        """The schedule's checks; SkrullError naming the iteration, DP
        rank, micro-batch and sample of the first broken one."""
        _check(_lib_.skrull_plan_validate(self._h))

    def micro_batches(self, iteration, dp_rank):
        """The MicroBatches DP rank dp_rank runs in the iteration, in the
        order it runs them."""
        count = ctypes.c_size_t()
        _check(_lib_.skrull_plan_mb_count(self._h, iteration, dp_rank,
                                          ctypes.byref(count)))
        mb = _lib.skrull_mb()
        sm = _lib.skrull_sample()
        out = []
        for i in range(count.value):
            _check(_lib_.skrull_plan_mb(self._h, iteration, dp_rank, i,
                                        ctypes.byref(mb)))
            samples = []
            for k in range(mb.nsamples):
                _check(_lib_.skrull_plan_sample(self._h, mb.id, k,
                                                ctypes.byref(sm)))
                samples.append(Sample(sm.index, sm.length, sm.place == 1,
                                      sm.first, sm.size))
            out.append(MicroBatch(mb.id, mb.owner, mb.span, mb.width,
                                  mb.offset, samples))
        return out

    def simulate(self, threads=0):
        """Simulate every iteration on the job's cluster model
        (skrull-sim(1)); threads 0: the online CPUs."""
        h = ctypes.c_void_p()
        _check(_lib_.skrull_simulate(self._h, _int(threads, "threads"),
                                     ctypes.byref(h)))
        return Report(h)


class Report:
    """A simulation's report (skrull-sim(1)); skrull(7) defines each
    metric."""

    def __init__(self, handle):
        self._h = handle

    def __del__(self):
        if getattr(self, "_h", None):
            _lib_.skrull_report_free(self._h)
            self._h = None

    def summary(self):
        """The aggregates: iterations, ooms, mean, p50, p99, bound (s),
        tokens_per_s, mfu (0..1), peak_max (bytes)."""
        s = _lib.skrull_summary()
        _check(_lib_.skrull_report_summary(self._h, ctypes.byref(s)))
        return {name: getattr(s, name) for name, _ in s._fields_}

    def iteration(self, i):
        """Iteration i's (time, bound), s."""
        t, b = ctypes.c_double(), ctypes.c_double()
        _check(_lib_.skrull_report_iteration(self._h, i, ctypes.byref(t),
                                             ctypes.byref(b)))
        return t.value, b.value

    def json(self, per_gpu=False):
        """The report as `skrull sim --json` prints it, parsed."""
        p = ctypes.c_void_p()
        _check(_lib_.skrull_report_json(self._h, 1 if per_gpu else 0,
                                        ctypes.byref(p)))
        try:
            return json.loads(ctypes.string_at(p).decode("utf-8"))
        finally:
            _lib_.skrull_free(p)


def plan_batch(job, lengths, trace_name=None):
    """Plan one global batch: dp x batch samples of the given lengths
    (tokens), with the job's policy and knobs, as `skrull plan` plans a
    trace holding those lengths; trace_name is recorded as the plan's
    trace path."""
    if not isinstance(job, Job):
        raise SkrullError("plan_batch: job must be a skrull.Job, not %s"
                          % type(job).__name__)
    buf, n = pack(lengths)
    name = None if trace_name is None else _enc(trace_name, "trace_name")
    h = ctypes.c_void_p()
    _check(_lib_.skrull_plan_batch(job._h, buf, n, name, ctypes.byref(h)))
    return Plan(h)


def read_plan(path):
    """Plan.read(path)."""
    return Plan.read(path)
