"""examples/train_gloo.py: skrull's sampler in a real gloo training loop
matches the unscheduled run, and each rank's tokens are the plan's."""

import json
import os
import subprocess
import sys

from conftest import TOP, require, wikipedia

require("torch", "SKRULL_REQUIRE_TORCH")

import skrull  # noqa: E402


def test_train_gloo(tmp_path):
    out = tmp_path / "figures.json"
    # the example imports the skrull package this test imported
    env = dict(os.environ)
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(skrull.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(
        [pkg] + [p for p in [env.get("PYTHONPATH")] if p])
    r = subprocess.run([sys.executable,
                        os.path.join(TOP, "examples", "train_gloo.py"),
                        "--trace", os.path.join(TOP, "traces",
                                                "wikipedia.txt.gz"),
                        "--steps", "3", "--json", str(out)],
                       capture_output=True, text=True, cwd=tmp_path,
                       env=env, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    fig = json.loads(out.read_text())
    assert len(fig["losses"]) == len(fig["reference"]) == 3
    for got, ref in zip(fig["losses"], fig["reference"]):
        assert abs(got - ref) <= 1e-5 * abs(ref)
    assert fig["weights"] <= 1e-5
    # The run exercised context parallelism: samples sharded, and (step 0)
    # a micro-batch spanning both DP ranks.
    samples, sharded, spanning = fig["sharded"]
    assert samples == 3 * 8 and sharded > 0 and spanning > 0
    assert fig["tokens"] == fig["planned"]
    # Every predicted token is counted once: the tokens the ranks computed
    # add up to the global batches' lengths.
    lengths = wikipedia(256, 4096)
    for step, idx in enumerate(fig["batches"]):
        assert sum(fig["tokens"][step]) == sum(lengths[i] for i in idx)
