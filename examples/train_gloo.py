#!/usr/bin/env python3
"""train_gloo.py: skrull's scheduler inside a real PyTorch training loop.

Trains a tiny causal transformer with torch.distributed on the CPU (gloo,
dp x cp processes) over a bundled trace's sample lengths, with synthetic
token ids of those lengths.  skrull.torch.SkrullBatchSampler plans every
global batch online on every rank; each rank computes the samples its
micro-batches give it, whole or a shard (context parallelism: a sharded
sample's members all-reduce each layer's keys and values, and the
backward pass reduces their gradients the same way), accumulates
gradients over its micro-batches, and all ranks reduce them once per
global batch.

Then the same global batches are trained again in one process without
skrull (every sample whole, in batch order), and the two runs must agree:
the loss of every step to --tolerance relative (default 1e-5).  It also
checks that the tokens each rank computed in each step are the ones the
plan gives it, derived independently from the plan files (skrull-plan(5)
JSON) rather than from the sampler, and prints the per-rank load.

    python3 examples/train_gloo.py --trace traces/wikipedia.txt.gz

Exit status 0 when both checks hold, 1 when one fails, 2 for bad usage.
Samples longer than --max-len tokens are left out (a CPU's attention is
quadratic in them); the rest keep their real lengths and trace order.
"""

import argparse
import gzip
import json
import math
import os
import sys
import tempfile

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

import skrull
import skrull.torch

VOCAB = 89


def read_trace(path, count, max_len):
    """The first count lengths of at most max_len tokens of a plain skrull
    trace (one length per line, # comments; .gz read through gzip)."""
    opener = gzip.open if path.endswith(".gz") else open
    out = []
    with opener(path, "rt") as f:
        for line_no, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            try:
                n = int(line)
            except ValueError:
                raise SystemExit("train_gloo: %s:%d: not a length: %r"
                                 % (path, line_no, line))
            if n <= max_len:
                out.append(n)
                if len(out) == count:
                    return out
    raise SystemExit("train_gloo: %s: %d samples of at most %d tokens, "
                     "%d wanted" % (path, len(out), max_len, count))


class SyntheticTokens(torch.utils.data.Dataset):
    """Token ids of the given lengths, the same on every process: sample
    i's come from a generator seeded with seed and i."""

    def __init__(self, lengths, seed):
        self.lengths = lengths
        self.seed = seed

    def __len__(self):
        return len(self.lengths)

    def __getitem__(self, i):
        g = torch.Generator()
        g.manual_seed(self.seed * 1000003 + i)
        return torch.randint(VOCAB, (self.lengths[i],), generator=g)


class GroupSum(torch.autograd.Function):
    """Sum over a process group; its gradient is the group's sum of the
    gradients (every member's output is the same sum, so each input's
    gradient is the sum over members of theirs).  gloo has no
    all-gather of unequal sizes, so shards are all-gathered by summing
    tensors that are zero outside each member's positions."""

    @staticmethod
    def forward(ctx, x, group):
        ctx.group = group
        y = x.clone()
        dist.all_reduce(y, group=group)
        return y

    @staticmethod
    def backward(ctx, g):
        g = g.clone()
        dist.all_reduce(g, group=ctx.group)
        return g, None


class Block(torch.nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = torch.nn.LayerNorm(d)
        self.q = torch.nn.Linear(d, d)
        self.kv = torch.nn.Linear(d, 2 * d)
        self.o = torch.nn.Linear(d, d)
        self.ln2 = torch.nn.LayerNorm(d)
        self.up = torch.nn.Linear(d, 4 * d)
        self.down = torch.nn.Linear(4 * d, d)

    def forward(self, x, pos, length, group):
        """x: this rank's tokens of a sample (rows at positions pos);
        group: the shard group, or None when the sample is whole here."""
        h = self.ln1(x)
        q, kv = self.q(h), self.kv(h)
        if group is not None:
            full = kv.new_zeros(length, kv.shape[1])
            kv = GroupSum.apply(full.index_copy(0, pos, kv), group)
            kpos = torch.arange(length)
        else:
            kpos = pos
        k, v = kv.chunk(2, dim=1)
        n, d = q.shape
        hd = d // self.heads
        q = q.view(n, self.heads, hd).transpose(0, 1)
        k = k.reshape(-1, self.heads, hd).transpose(0, 1)
        v = v.reshape(-1, self.heads, hd).transpose(0, 1)
        mask = kpos.view(1, -1) <= pos.view(-1, 1)
        a = (q @ k.transpose(1, 2)) / math.sqrt(hd)
        a = a.masked_fill(~mask, float("-inf")).softmax(-1) @ v
        x = x + self.o(a.transpose(0, 1).reshape(n, d))
        return x + self.down(F.gelu(self.up(self.ln2(x))))


class TinyLM(torch.nn.Module):
    def __init__(self, max_len, d=32, heads=2, layers=2):
        super().__init__()
        self.tok = torch.nn.Embedding(VOCAB, d)
        self.pos = torch.nn.Embedding(max_len, d)
        self.blocks = torch.nn.ModuleList(Block(d, heads)
                                          for _ in range(layers))
        self.ln = torch.nn.LayerNorm(d)
        self.head = torch.nn.Linear(d, VOCAB)

    def loss_sum(self, tokens, pos, group):
        """Summed next-token cross-entropy of the positions pos of a
        sample (all of it, or a member's shard)."""
        length = tokens.shape[0]
        x = self.tok(tokens[pos]) + self.pos(pos)
        for b in self.blocks:
            x = b(x, pos, length, group)
        keep = pos < length - 1
        logits = self.head(self.ln(x[keep]))
        return F.cross_entropy(logits, tokens[pos[keep] + 1],
                               reduction="sum")


def make_model(args):
    torch.manual_seed(args.seed)
    return TinyLM(args.max_len).to(torch.float64)


def make_job(args):
    return skrull.Job(nodes=1, gpus_per_node=args.dp * args.cp, dp=args.dp,
                      cp=args.cp, batch=args.batch, bucket=args.bucket,
                      policy=args.policy)


def predicted(lengths, indices):
    """Tokens with a next token to predict in a global batch."""
    return sum(lengths[i] - 1 for i in indices)


def positions(ranges):
    return torch.cat([torch.arange(lo, hi) for lo, hi in ranges])


def worker(rank, args, lengths, init, outdir):
    dist.init_process_group("gloo", init_method=init, rank=rank,
                            world_size=args.dp * args.cp)
    torch.set_num_threads(1)
    job = make_job(args)
    sampler = skrull.torch.SkrullBatchSampler(lengths, job, rank=rank,
                                              seed=args.seed)
    data = SyntheticTokens(lengths, args.seed)
    steps = min(args.steps, sampler.iterations())
    # new_group is collective over all ranks, in one order: every rank
    # computes every rank's placements (the plans are the same everywhere)
    # and creates the union of the shard groups, sorted.
    needed = set()
    for i in range(steps):
        for r in range(args.dp * args.cp):
            for mb in sampler.micro_batches(i, rank=r):
                needed.update(p.group for p in mb.placements if p.sharded)
    groups = {g: dist.new_group(list(g)) for g in sorted(needed)}

    model = make_model(args)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    params = list(model.parameters())
    losses, load = [], []
    step, loss_here, tokens_here = 0, torch.zeros(1, dtype=torch.float64), 0
    for mb in sampler:
        if mb.iteration >= steps:
            break
        for p in mb.placements:
            pos = positions(p.ranges)
            group = groups[p.group] if p.sharded else None
            loss = model.loss_sum(data[p.index], pos, group)
            loss.backward()
            loss_here += loss.detach()
            tokens_here += len(pos)
        if not mb.last:
            continue
        count = predicted(lengths, sampler.batch_indices(mb.iteration))
        for prm in params:
            if prm.grad is None:
                prm.grad = torch.zeros_like(prm)
        flat = torch.cat([prm.grad.view(-1) for prm in params])
        dist.all_reduce(flat)
        dist.all_reduce(loss_here)
        off = 0
        for prm in params:
            prm.grad.copy_(flat[off:off + prm.numel()].view_as(prm) / count)
            off += prm.numel()
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss_here.item() / count)
        load.append(tokens_here)
        step += 1
        loss_here.zero_()
        tokens_here = 0
    with open(os.path.join(outdir, "rank%d.json" % rank), "w") as f:
        json.dump({"losses": losses, "tokens": load}, f)
    if rank == 0:
        torch.save(model.state_dict(), os.path.join(outdir, "model.pt"))
        for i in range(steps):
            sampler.plan(i).write(os.path.join(outdir, "plan%d.json" % i))
            with open(os.path.join(outdir, "batch%d.json" % i), "w") as f:
                json.dump(sampler.batch_indices(i), f)
    dist.barrier()
    dist.destroy_process_group()


def reference(args, lengths, batches):
    """The same global batches in one process without skrull: every
    sample whole, in batch order."""
    data = SyntheticTokens(lengths, args.seed)
    model = make_model(args)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    losses = []
    for idx in batches:
        count = predicted(lengths, idx)
        total = 0.0
        for i in idx:
            loss = model.loss_sum(data[i], torch.arange(lengths[i]), None)
            (loss / count).backward()
            total += loss.item()
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(total / count)
    return losses, model.state_dict()


def plan_tokens(path, cp):
    """Tokens each GPU computes in the plan file's one iteration, from the
    JSON alone (skrull-plan(5)): a sample whole on rank q counts len on
    it; one sharded over size ranks counts, on member k, the chunks k and
    2 size - 1 - k of 2 size (chunk c is [c len / 2s, (c + 1) len / 2s),
    rounded down)."""
    with open(path) as f:
        plan = json.load(f)
    (it,) = plan["iterations"]
    gpus = [0] * (len(it["ranks"]) * cp)
    for d, r in enumerate(it["ranks"]):
        for mb in r["micro_batches"]:
            span, samples = ((mb["span"], mb["samples"])
                             if isinstance(mb, dict) else (1, mb))
            width = span * cp
            for s in samples:
                n = s[1]
                if len(s) == 3 and s[2] >= 0:
                    gpus[d * cp + s[2]] += n
                    continue
                first, size = (0, width) if len(s) == 3 else (s[2], s[3])
                for k in range(size):
                    a = (k + 1) * n // (2 * size) - k * n // (2 * size)
                    c = 2 * size - 1 - k
                    b = (c + 1) * n // (2 * size) - c * n // (2 * size)
                    gpus[d * cp + first + k] += a + b
    return gpus


def plan_sharded(path):
    """[samples, sharded samples, spanning micro-batches] of a plan file."""
    with open(path) as f:
        plan = json.load(f)
    out = [0, 0, 0]
    for it in plan["iterations"]:
        for r in it["ranks"]:
            for mb in r["micro_batches"]:
                if isinstance(mb, dict):
                    out[2] += 1
                    mb = mb["samples"]
                out[0] += len(mb)
                out[1] += sum(1 for s in mb if len(s) == 4 or s[2] < 0)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trace", default="traces/wikipedia.txt.gz")
    ap.add_argument("--samples", type=int, default=256,
                    help="the dataset: this many samples of the trace")
    ap.add_argument("--max-len", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--dp", type=int, default=2)
    ap.add_argument("--cp", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4,
                    help="samples per DP rank per global batch")
    ap.add_argument("--bucket", type=int, default=2048,
                    help="tokens a GPU holds (BucketSize)")
    ap.add_argument("--policy", default="skrull")
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--lr", type=float, default=1.0)
    ap.add_argument("--tolerance", type=float, default=1e-5)
    ap.add_argument("--json", metavar="FILE",
                    help="write the figures as JSON")
    args = ap.parse_args(argv)
    if args.max_len > args.cp * args.bucket:
        ap.error("--max-len %d exceeds what a CP group holds (cp %d x "
                 "bucket %d)" % (args.max_len, args.cp, args.bucket))
    lengths = read_trace(args.trace, args.samples, args.max_len)
    world = args.dp * args.cp
    with tempfile.TemporaryDirectory() as outdir:
        init = "file://" + os.path.join(outdir, "rendezvous")
        mp.spawn(worker, args=(args, lengths, init, outdir), nprocs=world)
        ranks = []
        for r in range(world):
            with open(os.path.join(outdir, "rank%d.json" % r)) as f:
                ranks.append(json.load(f))
        steps = len(ranks[0]["losses"])
        batches, planned, sharded = [], [], [0, 0, 0]
        for i in range(steps):
            with open(os.path.join(outdir, "batch%d.json" % i)) as f:
                batches.append(json.load(f))
            planned.append(plan_tokens(
                os.path.join(outdir, "plan%d.json" % i), args.cp))
            sharded = [a + b for a, b in zip(sharded, plan_sharded(
                os.path.join(outdir, "plan%d.json" % i)))]
        trained = torch.load(os.path.join(outdir, "model.pt"))
    ref, ref_state = reference(args, lengths, batches)
    got = ranks[0]["losses"]
    worst = max(abs(a - b) / abs(b) for a, b in zip(got, ref))
    # The weights after the last step, relative to the largest weight.
    drift = max((trained[k] - ref_state[k]).abs().max().item()
                / ref_state[k].abs().max().item() for k in ref_state)
    measured = [[ranks[r]["tokens"][i] for r in range(world)]
                for i in range(steps)]
    print("step  loss (skrull)       loss (unscheduled)  rel. diff  "
          "tokens per rank (max/mean)")
    for i in range(steps):
        m = measured[i]
        print("%4d  %.15f  %.15f  %.1e  %s (%.2f)"
              % (i, got[i], ref[i], abs(got[i] - ref[i]) / abs(ref[i]),
                 " ".join(str(t) for t in m), max(m) * world / sum(m)))
    ok_loss = worst <= args.tolerance and drift <= args.tolerance
    ok_load = measured == planned
    print("plans: %d of %d samples sharded, %d micro-batches spanning DP "
          "ranks" % (sharded[1], sharded[0], sharded[2]))
    print("loss: worst relative difference %.1e, weights after step %d "
          "%.1e, tolerance %.0e: %s" % (worst, steps, drift, args.tolerance,
                                        "ok" if ok_loss else "FAILED"))
    print("load: tokens per rank %s the plans' (skrull-plan(5) JSON)"
          % ("equal" if ok_load else "DIFFER FROM"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"losses": got, "reference": ref, "worst": worst,
                       "weights": drift, "sharded": sharded,
                       "tokens": measured, "planned": planned,
                       "batches": batches}, f)
    return 0 if ok_loss and ok_load else 1


if __name__ == "__main__":
    sys.exit(main())
