"""Shared by the package's tests: where the tree and the skrull command
are.  tests/python.sh runs them from make check with $SKRULL (the built
command) and $SKRULL_LIBRARY (the built library) set."""

import gzip
import os
import shutil
import subprocess

import pytest

TOP = os.environ.get("top_srcdir") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
TOP = os.path.abspath(TOP)


def require(module, flag):
    """The module, or a skip, or a failure when the environment variable
    flag is 1 (a machine meant to test it must have it)."""
    if os.environ.get(flag) == "1":
        return __import__(module)
    return pytest.importorskip(module)


@pytest.fixture(scope="session")
def skrull_cmd():
    """The skrull command: $SKRULL, else the one on PATH."""
    cmd = os.environ.get("SKRULL") or shutil.which("skrull")
    if not cmd:
        pytest.fail("no skrull command: set SKRULL")
    return cmd


@pytest.fixture(scope="session")
def run_skrull(skrull_cmd):
    def run(args, cwd):
        return subprocess.run([skrull_cmd] + args, cwd=cwd,
                              capture_output=True, text=True)
    return run


def wikipedia(count, max_len):
    """The first count lengths of at most max_len tokens of the bundled
    Wikipedia trace (one length per line), in trace order."""
    out = []
    with gzip.open(os.path.join(TOP, "traces", "wikipedia.txt.gz"),
                   "rt") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line and int(line) <= max_len:
                out.append(int(line))
                if len(out) == count:
                    return out
    raise AssertionError("the Wikipedia trace has %d such lengths"
                         % len(out))
