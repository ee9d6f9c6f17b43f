"""skrull.torch: the online batch sampler and the plan replay."""

import json
from collections import Counter

import pytest

from conftest import require, wikipedia

torch = require("torch", "SKRULL_REQUIRE_TORCH")

import skrull  # noqa: E402
import skrull.torch as st  # noqa: E402

# The first 61 samples of the bundled Wikipedia trace of at most 4,096
# tokens; dp 2 x batch 6 = 12 per global batch, so 6 batches, the last
# padded by wrapping around.
N = 61
LEN = wikipedia(N, 4096)


def job(policy="skrull"):
    return skrull.Job(nodes=1, gpus_per_node=4, dp=2, cp=2, batch=6,
                      bucket=2048, policy=policy)


def samplers(**kw):
    j = job(kw.pop("policy", "skrull"))
    return [st.SkrullBatchSampler(LEN, j, rank=r, **kw) for r in range(4)]


def test_order_is_distributed_samplers():
    s = samplers(seed=5)[0]
    # DistributedSampler's shuffle: randperm seeded with seed + epoch,
    # padded to whole batches from its start.
    g = torch.Generator()
    g.manual_seed(5)
    perm = torch.randperm(N, generator=g).tolist()
    assert s.order() == perm + perm[:72 - N]
    assert s.iterations() == 6
    s.set_epoch(3)
    g.manual_seed(8)
    perm = torch.randperm(N, generator=g).tolist()
    assert s.order() == perm + perm[:72 - N]
    d = st.SkrullBatchSampler(LEN, job(), rank=0, seed=5, drop_last=True)
    assert d.iterations() == 5 and len(d.order()) == 60
    u = st.SkrullBatchSampler(LEN, job(), rank=0, shuffle=False)
    assert u.batch_indices(1) == list(range(12, 24))


@pytest.mark.parametrize("policy", ["skrull", "deepspeed", "wlb", "hdp"])
def test_plans_are_the_commands(tmp_path, run_skrull, policy):
    s = samplers(seed=9, policy=policy, trace_name="batch.txt")[1]
    s.job.write(str(tmp_path / "job.json"))
    for i in range(s.iterations()):
        idx = s.batch_indices(i)
        (tmp_path / "batch.txt").write_text("".join("%d\n" % LEN[k]
                                                    for k in idx))
        s.plan(i).write(str(tmp_path / "sampler.json"))
        r = run_skrull(["plan", "--trace", "batch.txt", "--job", "job.json",
                        "--quiet", "-o", "cli.json"], tmp_path)
        assert r.returncode == 0, r.stderr
        assert (tmp_path / "sampler.json").read_bytes() == \
            (tmp_path / "cli.json").read_bytes(), "iteration %d" % i


def test_every_token_once():
    ss = samplers(seed=2)
    for i in range(ss[0].iterations()):
        idx = ss[0].batch_indices(i)
        held = {}
        for r, s in enumerate(ss):
            mbs = s.micro_batches(i)
            assert [mb.last for mb in mbs] == [False] * (len(mbs) - 1) + \
                [True]
            for mb in mbs:
                assert mb.iteration == i and list(mb) == \
                    [p.index for p in mb.placements]
                for p in mb.placements:
                    assert r in p.group and p.sharded == (len(p.group) > 1)
                    assert set(p.group) <= set(mb.ranks)
                    held.setdefault(p.index, []).extend(p.ranges)
        # Each sample's ranges tile [0, length) once per copy in the batch.
        count = Counter(idx)
        assert set(held) == set(count)
        for k, ranges in held.items():
            cover = Counter()
            for lo, hi in ranges:
                assert 0 <= lo < hi <= LEN[k]
                cover.update(range(lo, hi))
            assert set(cover) == set(range(LEN[k]))
            assert set(cover.values()) == {count[k]}


def test_same_plans_everywhere():
    a, b = samplers(seed=4)[3], samplers(seed=4)[3]
    for i in range(a.iterations()):
        assert [[(p.index, p.ranges, p.group) for p in mb.placements]
                for mb in a.micro_batches(i)] == \
            [[(p.index, p.ranges, p.group) for p in mb.placements]
             for mb in b.micro_batches(i)]
    # Another rank's view from this sampler is that rank's own.
    c = samplers(seed=4)[0]
    for i in range(a.iterations()):
        assert [list(mb) for mb in c.micro_batches(i, rank=3)] == \
            [list(mb) for mb in a.micro_batches(i)]
    assert len(a) == sum(len(a.micro_batches(i))
                         for i in range(a.iterations()))
    assert len(list(a)) == len(a)


def test_groups_from_the_file(tmp_path):
    # A spanning micro-batch: ranks are owner x cp + q (skrull-plan(5)).
    plan = skrull.plan_batch(skrull.Job(nodes=1, gpus_per_node=4, dp=2,
                                        cp=2, batch=3, bucket=2048),
                             [2500, 300, 711, 45, 1200, 90])
    plan.write(str(tmp_path / "p.json"))
    doc = json.loads((tmp_path / "p.json").read_text())
    (mb,) = doc["iterations"][0]["ranks"][0]["micro_batches"]
    assert mb["span"] == 2
    want = {}
    for s in mb["samples"]:
        first, size = ((0, 4) if len(s) == 3 and s[2] < 0 else
                       (s[2], 1) if len(s) == 3 else (s[2], s[3]))
        want[s[0]] = tuple(range(first, first + size))
    for r in range(4):
        (rmb,) = st.PlanReplaySampler(str(tmp_path / "p.json"),
                                      rank=r).micro_batches(0)
        assert rmb.ranks == (0, 1, 2, 3) and rmb.last
        for p in rmb.placements:
            assert p.group == want[p.index]
    # The 2,500-token sample is over all four: rank 2 holds chunks 2, 5.
    (rmb,) = st.PlanReplaySampler(plan, rank=2).micro_batches(0)
    p = [p for p in rmb.placements if p.index == 0][0]
    assert p.ranges == [(625, 937), (1562, 1875)]


def test_rank_with_nothing():
    # One 900-token sample in a CP group of 2 runs whole on one rank under
    # the paper's DACP (it shards only what memory forces); the other rank
    # gets one empty micro-batch, marked last.
    j = skrull.Job(nodes=1, gpus_per_node=2, dp=1, cp=2, batch=1,
                   bucket=2048, policy="skrull-paper")
    got = [st.SkrullBatchSampler([900], j, rank=r).micro_batches(0)
           for r in range(2)]
    full = [g for g in got if g[0]]
    empty = [g for g in got if not g[0]]
    assert len(full) == 1 and len(empty) == 1
    assert len(empty[0]) == 1 and empty[0][0].last and \
        empty[0][0].tokens == 0
    assert full[0][0].tokens == 900


def test_replay_is_the_online_plan(tmp_path, run_skrull):
    # skrull plan over the trace plans global batch i from samples
    # 12 i .. 12 i + 11, as the unshuffled sampler does.
    (tmp_path / "t.txt").write_text("".join("%d\n" % n for n in LEN[:60]))
    j = job()
    j.write(str(tmp_path / "job.json"))
    r = run_skrull(["plan", "--trace", "t.txt", "--job", "job.json",
                    "--quiet", "-o", "plan.json"], tmp_path)
    assert r.returncode == 0, r.stderr
    for rank in range(4):
        rep = st.PlanReplaySampler(str(tmp_path / "plan.json"), rank=rank)
        onl = st.SkrullBatchSampler(LEN[:60], j, rank=rank, shuffle=False)
        assert rep.iterations() == onl.iterations() == 5
        assert [(list(mb), [p.ranges for p in mb.placements], mb.last)
                for mb in rep] == \
            [(list(mb), [p.ranges for p in mb.placements], mb.last)
             for mb in onl]


def test_dataloader():
    s = samplers(seed=6)[2]
    data = [torch.full((n,), k) for k, n in enumerate(LEN)]
    loader = torch.utils.data.DataLoader(data, batch_sampler=s,
                                         collate_fn=list)
    got = [[int(t[0]) for t in b] for b in loader]
    assert got == [list(mb) for mb in s]


def test_dataloader_workers_zip():
    # With worker processes the loader yields collated samples only; the
    # sampler is deterministic, so iterating it beside the loader pairs
    # each batch with its RankMicroBatch, placements and all.
    s = samplers(seed=4)[3]
    data = [torch.full((n,), k) for k, n in enumerate(LEN)]
    loader = torch.utils.data.DataLoader(data, batch_sampler=s,
                                         collate_fn=list, num_workers=2)
    pairs = list(zip(s, loader))
    assert len(pairs) == len(s)
    for mb, batch in pairs:
        assert [int(t[0]) for t in batch] == list(mb)
        held = sum(int(t[lo:hi].numel()) for p, t in zip(mb.placements, batch)
                   for lo, hi in p.ranges)
        assert held == mb.tokens


def test_bad_input(tmp_path):
    with pytest.raises(skrull.LengthError, match=r"lengths\[3\]: length 0"):
        st.SkrullBatchSampler([410, 77, 2001, 0, 93], job(), rank=0)
    with pytest.raises(skrull.LengthError, match=r"lengths\[1\]: NaN"):
        st.SkrullBatchSampler(torch.tensor([410.0, float("nan")]), job(),
                              rank=0)
    with pytest.raises(skrull.SkrullError, match="rank 4: must be 0 .. 3"):
        st.SkrullBatchSampler(LEN, job(), rank=4)
    with pytest.raises(skrull.SkrullError, match="not initialised"):
        st.SkrullBatchSampler(LEN, job())
    with pytest.raises(skrull.SkrullError, match="skrull.Job"):
        st.SkrullBatchSampler(LEN, {"dp": 2}, rank=0)
    with pytest.raises(skrull.SkrullError, match="fewer than one global"):
        st.SkrullBatchSampler(LEN[:5], job(), rank=0, drop_last=True)
    with pytest.raises(skrull.SkrullError, match="iteration 6: the epoch "
                                                 "has 6"):
        samplers()[0].micro_batches(6)
    # A sample too long for its CP group: the library's message.
    with pytest.raises(skrull.SkrullError, match="exceeds the CP group"):
        st.SkrullBatchSampler(LEN[:11] + [5000], job(), rank=0).plan(0)
    with pytest.raises(skrull.SkrullError, match="missing.json"):
        st.PlanReplaySampler(str(tmp_path / "missing.json"), rank=0)
