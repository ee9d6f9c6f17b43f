"""skrull.torch: Skrull's schedule as a PyTorch batch sampler.

SkrullBatchSampler plans each global batch online, at training time, from
the dataset's sample lengths, and yields one rank's micro-batches as lists
of dataset indices; PlanReplaySampler yields the same from a plan file
`skrull plan` wrote.  Both follow the torch.utils.data.Sampler protocol
(iterating gives lists of indices, as a batch_sampler does).

Ranks: a job of DP degree dp and CP degree cp runs on dp x cp processes;
process rank r is CP rank r % cp of DP rank r // cp (CP ranks adjacent,
Megatron-LM's order with tensor parallelism 1).  A micro-batch owned by DP
rank o and spanning s DP ranks has s x cp ranks, numbered 0 .. s x cp - 1:
its rank k is process rank o x cp + k.

Every rank computes the same plans independently: the shuffle is a
torch.Generator seeded with seed + epoch (as DistributedSampler's), and
planning is deterministic, so no communication is needed.
"""

import torch
import torch.utils.data

from . import Job, Plan, SkrullError, plan_batch
from ._lengths import pack

__all__ = ["SkrullBatchSampler", "PlanReplaySampler", "RankMicroBatch",
           "Placement"]


class Placement:
    """Where one sample of a micro-batch runs, seen from one rank.

    index: the dataset index; length: its tokens; sharded: False when it
    is whole on one rank, True when split over its group; group: the
    process ranks computing it (one rank when whole), in shard order;
    ranges: the token positions [lo, hi) this rank holds (the whole sample,
    or the two chunks of a shard: member k of n holds chunks k and
    2n - 1 - k of 2n, the causal load balancing skrull-plan(5) defines).
    """

    __slots__ = ("index", "length", "sharded", "group", "ranges")

    def __init__(self, index, length, sharded, group, ranges):
        self.index = index
        self.length = length
        self.sharded = sharded
        self.group = group
        self.ranges = ranges

    @property
    def tokens(self):
        """Tokens of the sample this rank holds."""
        return sum(hi - lo for lo, hi in self.ranges)

    def __repr__(self):
        return ("Placement(index %d, %d tokens, %s %s, ranges %s)"
                % (self.index, self.length,
                   "sharded over" if self.sharded else "whole on",
                   list(self.group), self.ranges))


class RankMicroBatch(list):
    """The dataset indices of the samples this rank computes, whole or a
    shard of, in one micro-batch, in the plan's order; a list, so a
    DataLoader can use it as a batch.

    iteration: the global batch (0-based, within the epoch);
    micro_batch: its number among this rank's micro-batches of the
    iteration; ranks: the process ranks of the whole micro-batch;
    placements: one Placement per index; last: True on the last one this
    rank gets in the iteration (step the optimizer after it).  A rank that
    holds nothing in an iteration gets one empty RankMicroBatch with last
    True, so that it still takes part in the gradient reduction; one that
    holds nothing in a single micro-batch does not get that micro-batch.

    As a DataLoader's batch_sampler with worker processes, the loader
    yields the collated samples only; iterate the sampler beside it,
    zip(sampler, loader), to have each batch's RankMicroBatch (the
    sampler is deterministic: both passes give the same micro-batches).
    """

    def __init__(self, placements, iteration, micro_batch, ranks, last):
        super().__init__(p.index for p in placements)
        self.placements = placements
        self.iteration = iteration
        self.micro_batch = micro_batch
        self.ranks = ranks
        self.last = last

    @property
    def tokens(self):
        """Tokens this rank computes in the micro-batch."""
        return sum(p.tokens for p in self.placements)


def _rank_of(rank, plan_dp, plan_cp):
    """(dp_rank, cp_rank) of a process rank; rank None: the initialised
    torch.distributed group's."""
    if rank is None:
        if not (torch.distributed.is_available()
                and torch.distributed.is_initialized()):
            raise SkrullError("skrull.torch: rank not given and "
                              "torch.distributed is not initialised")
        rank = torch.distributed.get_rank()
        world = torch.distributed.get_world_size()
        if world != plan_dp * plan_cp:
            raise SkrullError("skrull.torch: the job has dp %d x cp %d = %d "
                              "ranks, the process group %d"
                              % (plan_dp, plan_cp, plan_dp * plan_cp, world))
    if isinstance(rank, bool) or not hasattr(rank, "__index__"):
        raise SkrullError("skrull.torch: rank %r: must be an integer"
                          % (rank,))
    rank = rank.__index__()
    if not 0 <= rank < plan_dp * plan_cp:
        raise SkrullError("skrull.torch: rank %d: must be 0 .. %d (dp %d x "
                          "cp %d)" % (rank, plan_dp * plan_cp - 1, plan_dp,
                                      plan_cp), "range")
    return rank, rank // plan_cp, rank % plan_cp


class _RankSampler(torch.utils.data.Sampler):
    """What both samplers share: one plan per iteration, walked for one
    rank."""

    def _setup(self, rank, dp, cp):
        self.rank, self.dp_rank, self.cp_rank = _rank_of(rank, dp, cp)
        self.dp, self.cp = dp, cp

    def _iteration(self, iteration, plan, plan_iter, indices, rank):
        """Rank's RankMicroBatches of one iteration (rank None: this
        sampler's); indices maps the plan's sample positions to dataset
        indices (None: the same)."""
        if rank is None:
            dp_rank, cp_rank = self.dp_rank, self.cp_rank
        else:
            _, dp_rank, cp_rank = _rank_of(rank, self.dp, self.cp)
        out = []
        for mb in plan.micro_batches(plan_iter, dp_rank):
            q = mb.rank(cp_rank)
            base = mb.owner * self.cp
            placed = []
            for s in mb.samples:
                ranges = s.ranges(q)
                if not ranges:
                    continue
                index = s.index if indices is None else indices[s.index]
                group = tuple(range(base + s.first,
                                    base + s.first + s.size))
                placed.append(Placement(index, s.length, s.sharded, group,
                                        ranges))
            if placed:
                out.append(RankMicroBatch(
                    placed, iteration, len(out),
                    tuple(range(base, base + mb.width)), False))
        if not out:
            out.append(RankMicroBatch([], iteration, 0, (), False))
        out[-1].last = True
        return out

    def __iter__(self):
        for i in range(self.iterations()):
            yield from self.micro_batches(i)

    def __len__(self):
        return sum(len(self.micro_batches(i))
                   for i in range(self.iterations()))


class SkrullBatchSampler(_RankSampler):
    """Plans each global batch of an epoch online and yields this rank's
    micro-batches (RankMicroBatch lists of dataset indices).

    lengths: every dataset sample's length in tokens (a sequence, numpy
    array, tensor or pyarrow array; skrull.arrow.read_lengths reads them
    from Parquet or a Hugging Face dataset); job: a skrull.Job whose dp,
    cp and batch set the global batch (dp x batch samples); rank: this
    process's rank (None: torch.distributed's); shuffle, seed and
    set_epoch: as DistributedSampler's; drop_last False: the last global
    batch is filled by wrapping around the epoch's order, True: dropped;
    trace_name: recorded in each plan as its trace path.

    Global batch i of an epoch holds the samples at positions i x G ..
    (i + 1) x G - 1 of the epoch's order (G = dp x batch); each is planned
    with skrull.plan_batch when first reached (plans are kept for the
    epoch, so len() and a second pass plan nothing again).
    """

    def __init__(self, lengths, job, rank=None, shuffle=True, seed=0,
                 drop_last=False, trace_name=None):
        if not isinstance(job, Job):
            raise SkrullError("SkrullBatchSampler: job must be a skrull.Job, "
                              "not %s" % type(job).__name__)
        buf, n = pack(lengths)
        self.lengths = torch.frombuffer(bytearray(buf), dtype=torch.int32)
        self.job = job
        dp, cp, batch, _ = job.layout()
        self._setup(rank, dp, cp)
        self.global_batch = dp * batch
        if drop_last and n < self.global_batch:
            raise SkrullError("SkrullBatchSampler: %d samples, fewer than "
                              "one global batch (dp %d x batch %d) and "
                              "drop_last is set" % (n, dp, batch), "range")
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.trace_name = trace_name
        self.epoch = 0
        self._order = None
        self._plans = {}

    def set_epoch(self, epoch):
        """The epoch, which seeds the shuffle (seed + epoch)."""
        self.epoch = int(epoch)
        self._order = None
        self._plans = {}

    def order(self):
        """The epoch's sample order: the dataset indices of every global
        batch, concatenated (padded to whole batches unless drop_last)."""
        if self._order is None:
            n = len(self.lengths)
            if self.shuffle:
                g = torch.Generator()
                g.manual_seed(self.seed + self.epoch)
                order = torch.randperm(n, generator=g)
            else:
                order = torch.arange(n)
            gb = self.global_batch
            if self.drop_last:
                order = order[:n - n % gb]
            elif n % gb:
                pad = gb - n % gb
                order = torch.cat([order, order.repeat(pad // n + 1)[:pad]])
            self._order = order.tolist()
        return self._order

    def iterations(self):
        """Global batches in the epoch."""
        return len(self.order()) // self.global_batch

    def batch_indices(self, iteration):
        """The dataset indices of global batch iteration, in the order the
        plan numbers them (its sample index k is the k-th of these)."""
        if not 0 <= iteration < self.iterations():
            raise SkrullError("SkrullBatchSampler: iteration %d: the epoch "
                              "has %d" % (iteration, self.iterations()),
                              "range")
        gb = self.global_batch
        return self.order()[iteration * gb:(iteration + 1) * gb]

    def plan(self, iteration):
        """The skrull.Plan of global batch iteration (one iteration)."""
        p = self._plans.get(iteration)
        if p is None:
            idx = self.batch_indices(iteration)
            p = plan_batch(self.job, self.lengths[idx], self.trace_name)
            self._plans[iteration] = p
        return p

    def micro_batches(self, iteration, rank=None):
        """This rank's RankMicroBatches of global batch iteration; rank:
        another rank's instead (to set up, say, every shard group's
        process group ahead)."""
        return self._iteration(iteration, self.plan(iteration), 0,
                               self.batch_indices(iteration), rank)


class PlanReplaySampler(_RankSampler):
    """Replays a plan file `skrull plan` wrote (skrull-plan(5)), or a
    skrull.Plan: yields this rank's micro-batches of each iteration in
    turn, as SkrullBatchSampler does.  A sample's dataset index is its
    position in the planned trace, so the dataset must hold the trace's
    samples in the trace's order."""

    def __init__(self, plan, rank=None):
        if not isinstance(plan, Plan):
            plan = Plan.read(plan)
        self._plan = plan
        self._setup(rank, plan.dp, plan.cp)

    def iterations(self):
        """Iterations (global batches) in the plan."""
        return self._plan.iterations

    def plan(self, iteration):
        """The replayed skrull.Plan (all iterations)."""
        return self._plan

    def micro_batches(self, iteration, rank=None):
        """This rank's RankMicroBatches of iteration; rank: another
        rank's instead."""
        if not 0 <= iteration < self._plan.iterations:
            raise SkrullError("PlanReplaySampler: iteration %d: the plan "
                              "has %d" % (iteration, self._plan.iterations),
                              "range")
        return self._iteration(iteration, self._plan, iteration, None, rank)
