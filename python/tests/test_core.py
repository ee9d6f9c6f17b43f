"""skrull's core binding: jobs, plans, walks, simulation, errors."""

import json
import os
import subprocess
import sys

import pytest

import skrull

# Lengths of the example in libskrull(3), and one with a sample long
# enough that the default policy spreads it over both DP ranks.
LENGTHS = [3071, 517, 24000, 845, 2260, 19001, 133, 6400]
SPAN = [2500, 300, 711, 45, 1200, 90]
POLICIES = ["skrull", "skrull-cp", "skrull-paper", "dacp", "deepspeed",
            "sorted", "rr", "wlb", "flexsp", "hdp"]


def example_job(policy="skrull"):
    return skrull.Job(model="qwen2.5-7b", cluster="h100", nodes=1,
                      gpus_per_node=8, dp=2, cp=4, batch=4, policy=policy)


def span_job():
    return skrull.Job(nodes=1, gpus_per_node=4, dp=2, cp=2, batch=3,
                      bucket=2048)


@pytest.mark.parametrize("policy", POLICIES)
def test_plan_is_the_commands(tmp_path, run_skrull, policy):
    (tmp_path / "batch.txt").write_text("".join("%d\n" % n
                                                for n in LENGTHS))
    job = example_job(policy)
    job.write(str(tmp_path / "job.json"))
    skrull.plan_batch(job, LENGTHS, "batch.txt").write(
        str(tmp_path / "api.json"))
    r = run_skrull(["plan", "--trace", "batch.txt", "--job", "job.json",
                    "--quiet", "-o", "cli.json"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "api.json").read_bytes() == \
        (tmp_path / "cli.json").read_bytes()


def json_walk(doc, dp_rank):
    """A DP rank's micro-batches as skrull-plan(5) lists them: spanning
    ones covering it first (by owner, then position), then its own; each
    as (owner, span, [(index, length, sharded, first, size)])."""
    cp = doc["job"]["cp"]
    ranks = doc["iterations"][0]["ranks"]
    spans, own = [], []
    for d, r in enumerate(ranks):
        for mb in r["micro_batches"]:
            span, samples = ((mb["span"], mb["samples"])
                             if isinstance(mb, dict) else (1, mb))
            width = span * cp
            out = []
            for s in samples:
                if len(s) == 4:
                    out.append((s[0], s[1], True, s[2], s[3]))
                elif s[2] < 0:
                    out.append((s[0], s[1], True, 0, width))
                else:
                    out.append((s[0], s[1], False, s[2], 1))
            item = (d, span, out)
            if span > 1 and d <= dp_rank < d + span:
                spans.append(item)
            elif span == 1 and d == dp_rank:
                own.append(item)
    return spans + own


@pytest.mark.parametrize("lengths,job", [(LENGTHS, example_job),
                                         (SPAN, span_job)])
def test_walk_is_the_file(tmp_path, lengths, job):
    plan = skrull.plan_batch(job(), lengths)
    plan.write(str(tmp_path / "p.json"))
    doc = json.loads((tmp_path / "p.json").read_text())
    assert (plan.iterations, plan.dp, plan.cp) == (1, doc["job"]["dp"],
                                                   doc["job"]["cp"])
    spanning = 0
    for d in range(plan.dp):
        got = [(mb.owner, mb.span,
                [(s.index, s.length, s.sharded, s.first, s.size)
                 for s in mb.samples])
               for mb in plan.micro_batches(0, d)]
        assert got == json_walk(doc, d)
        for mb in plan.micro_batches(0, d):
            assert mb.width == mb.span * plan.cp
            assert mb.offset == (d - mb.owner) * plan.cp
            spanning += mb.span > 1
    if lengths is SPAN:
        # The 2,500-token sample spreads over both DP ranks' CP groups.
        assert spanning == 2


def test_ranges_by_hand():
    # 2,500 tokens over 4 ranks: chunks of 2500/8 = 312.5, rounded down:
    # 0 312 625 937 1250 1562 1875 2187 2500; member k holds chunks k and
    # 7 - k.
    s = skrull.Sample(0, 2500, True, 4, 4)
    assert s.ranges(4) == [(0, 312), (2187, 2500)]
    assert s.ranges(5) == [(312, 625), (1875, 2187)]
    assert s.ranges(7) == [(937, 1250), (1250, 1562)]
    assert s.ranges(3) == [] and s.ranges(8) == []
    assert sum(s.tokens(q) for q in range(4, 8)) == 2500
    w = skrull.Sample(1, 731, False, 2, 1)
    assert w.ranges(2) == [(0, 731)] and w.tokens(1) == 0


def test_read_write_validate(tmp_path):
    plan = skrull.plan_batch(example_job(), LENGTHS, "b.txt")
    plan.write(str(tmp_path / "a.json"))
    again = skrull.read_plan(str(tmp_path / "a.json"))
    again.validate()
    again.write(str(tmp_path / "b.json"))
    assert (tmp_path / "a.json").read_bytes() == \
        (tmp_path / "b.json").read_bytes()


def test_simulate_is_the_commands(tmp_path, run_skrull):
    plan = skrull.plan_batch(example_job(), LENGTHS)
    plan.write(str(tmp_path / "p.json"))
    rep = plan.simulate(threads=2)
    r = run_skrull(["sim", "--plan", "p.json", "--json"], tmp_path)
    assert r.returncode == 0, r.stderr
    cli = json.loads(r.stdout)["summary"]
    s = rep.summary()
    assert s["iterations"] == 1 and s["ooms"] == 0
    assert s["mean"] == pytest.approx(cli["mean"], rel=1e-12)
    assert rep.iteration(0)[0] == pytest.approx(cli["mean"], rel=1e-12)
    assert rep.json()["summary"]["mean"] == pytest.approx(cli["mean"],
                                                          rel=1e-12)


def test_layout():
    assert example_job().layout() == (2, 4, 4, example_job().layout()[3])
    assert span_job().layout() == (2, 2, 3, 2048)


@pytest.mark.parametrize("lengths,message", [
    ([3071, 517, 0, 845, 2260, 19001, 133, 6400], "lengths[2]: length 0"),
    ([3071, -5, 24000, 845, 2260, 19001, 133, 6400], "lengths[1]: length -5"),
    ([3071, 517, 24000, 845, 2260, 2**31, 133, 6400], "lengths[5]: length"),
    ([3071, 517, 24000, 845.5, 2260, 19001, 133, 6400], "lengths[3]: 845.5"),
    ([3071, 517, 24000, 845, float("nan"), 19001, 133, 6400],
     "lengths[4]: NaN"),
    ([3071, 517, 24000, 845, 2260, 19001, float("inf"), 6400],
     "lengths[6]: inf"),
    ([], "lengths: no samples"),
], ids=["zero", "negative", "over", "fraction", "nan", "inf", "empty"])
def test_bad_lengths(lengths, message):
    with pytest.raises(skrull.LengthError, match=message.replace("[", r"\[")
                       .replace("]", r"\]")):
        skrull.plan_batch(example_job(), lengths)


def test_bad_length_types():
    np = pytest.importorskip("numpy")
    with pytest.raises(skrull.LengthTypeError, match=r"lengths\[1\]: a str"):
        skrull.plan_batch(example_job(), [3071, "x", 24000])
    with pytest.raises(skrull.LengthTypeError, match=r"lengths\[0\].*bool"):
        skrull.plan_batch(example_job(), [True] * 8)
    with pytest.raises(skrull.LengthTypeError, match="dtype bool"):
        skrull.plan_batch(example_job(), np.ones(8, dtype=bool))
    with pytest.raises(skrull.LengthTypeError, match="2-dimensional"):
        skrull.plan_batch(example_job(), np.full((2, 4), 900))
    with pytest.raises(skrull.LengthTypeError, match="str is not"):
        skrull.plan_batch(example_job(), "3071 517")
    # a set of these 8 lengths would hold 7 (3071 twice) in no order
    with pytest.raises(skrull.LengthTypeError, match="a set is not"):
        skrull.plan_batch(example_job(), set(LENGTHS[:7] + [3071]))
    with pytest.raises(skrull.LengthTypeError, match="a dict is not"):
        skrull.plan_batch(example_job(), dict.fromkeys(LENGTHS, 1))
    a = np.array(LENGTHS, dtype=np.float64)
    a[5] = np.nan
    with pytest.raises(skrull.LengthError, match=r"lengths\[5\]: NaN"):
        skrull.plan_batch(example_job(), a)
    b = np.array(LENGTHS, dtype=np.int16)
    b[7] = -40
    with pytest.raises(skrull.LengthError, match=r"lengths\[7\]: length -40"):
        skrull.plan_batch(example_job(), b)


def test_library_errors(tmp_path):
    # The C library's messages: a sample one CP group cannot hold.
    with pytest.raises(skrull.SkrullError,
                       match=r"sample 0 \(2,500 tokens\) exceeds the CP "
                             r"group's capacity") as e:
        skrull.plan_batch(skrull.Job(nodes=1, gpus_per_node=2, dp=2, cp=1,
                                     batch=1, bucket=2048), [2500, 300])
    assert e.value.code != "ok"
    # The global batch is dp x batch samples.
    with pytest.raises(skrull.SkrullError, match="8"):
        skrull.plan_batch(example_job(), LENGTHS[:7])
    with pytest.raises(skrull.SkrullError, match="nosuchmodel"):
        skrull.Job(model="nosuchmodel")
    with pytest.raises(skrull.SkrullError, match="nosuchpolicy"):
        skrull.Job(policy="nosuchpolicy")
    with pytest.raises(skrull.SkrullError, match="given together"):
        skrull.Job(dp=2)
    missing = str(tmp_path / "none.json")
    with pytest.raises(skrull.SkrullError, match="none.json") as e:
        skrull.read_plan(missing)
    assert e.value.code == "io"
    bad = tmp_path / "cut.json"
    good = tmp_path / "good.json"
    skrull.plan_batch(example_job(), LENGTHS).write(str(good))
    bad.write_bytes(good.read_bytes()[:-40])
    with pytest.raises(skrull.SkrullError, match="cut.json") as e:
        skrull.read_plan(str(bad))
    assert e.value.code == "format"
    assert not os.path.exists(missing)


def test_no_library(tmp_path):
    # The package imports without libskrull (skrull.arrow needs none); the
    # first call names what it tried.
    pkg = os.path.dirname(os.path.dirname(skrull.__file__))
    env = dict(os.environ, SKRULL_LIBRARY=str(tmp_path / "libnone.so"),
               PYTHONPATH=pkg)
    r = subprocess.run([sys.executable, "-c", """
import skrull, skrull.arrow
try:
    skrull.Job()
except skrull.SkrullError as e:
    print(e.code, e)
"""], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("io libskrull not found: tried ")
    assert "libnone.so" in r.stdout and "SKRULL_LIBRARY" in r.stdout
