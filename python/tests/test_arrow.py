"""Tests of skrull.arrow: read_lengths over Parquet, Arrow IPC files and
streams, pyarrow objects and datasets Datasets, its refusals, and the
skrull-lengths command, whose traces the C tool ($SKRULL) reads back.

Skipped without pyarrow unless SKRULL_REQUIRE_PYARROW=1 (then it fails);
the datasets tests likewise with SKRULL_REQUIRE_DATASETS=1 (conftest.require);
the round trip runs $SKRULL (conftest.skrull_cmd).
"""

import gzip
import json
import os
import subprocess
import sys

import pytest

from conftest import require

pa = require("pyarrow", "SKRULL_REQUIRE_PYARROW")
np = require("numpy", "SKRULL_REQUIRE_PYARROW")
import pyarrow.parquet as pq  # noqa: E402  (after the skip above)

import skrull  # noqa: E402
from skrull import LengthError, LengthTypeError, SkrullError  # noqa: E402
from skrull import arrow  # noqa: E402
from skrull.arrow import read_lengths  # noqa: E402

# Lengths with no pattern an off-by-one or a reordering would keep: 16
# rows, so that 5-row chunks split them unevenly.
LENGTHS = [4137, 912, 65, 23011, 1, 7, 3302, 18, 640, 11, 2049, 5, 97,
           15000, 333, 2]
TOKENS = sum(LENGTHS)
CHUNK = 5

MISSING = ("reading Parquet/Arrow needs pyarrow: pip install pyarrow (or pip "
           "install './python[arrow]')")


def ids(lengths, large=False):
    """A list column of token ids with lists of these lengths."""
    off = np.concatenate([[0], np.cumsum(lengths)])
    values = pa.array(np.arange(off[-1], dtype=np.int32) % 32000)
    if large:
        return pa.LargeListArray.from_arrays(pa.array(off, pa.int64()),
                                             values)
    return pa.ListArray.from_arrays(pa.array(off, pa.int32()), values)


def table(lengths=LENGTHS):
    """A tokenised dataset: text, input_ids and num_tokens (int64)."""
    return pa.table({"text": ["row %d" % i for i in range(len(lengths))],
                     "input_ids": ids(lengths),
                     "num_tokens": pa.array(lengths, pa.int64())})


def write(path, t, kind):
    """t written to path as kind: parquet, file (Arrow IPC) or stream, in
    chunks of CHUNK rows (row groups, record batches)."""
    if kind == "parquet":
        pq.write_table(t, path, row_group_size=CHUNK)
    else:
        new = pa.ipc.new_file if kind == "file" else pa.ipc.new_stream
        with new(path, t.schema) as w:
            w.write_table(t, max_chunksize=CHUNK)
    return str(path)


def same(got, want):
    assert isinstance(got, np.ndarray) and got.dtype == np.uint32
    assert got.tolist() == list(want)


# ---- files ----

# Each kind under a name that says another: detection is by content.
KINDS = [("parquet", "train.parquet"), ("file", "data.arrow"),
         ("stream", "cache-00000.arrow"), ("parquet", "misnamed.arrow"),
         ("stream", "misnamed.parquet")]


@pytest.mark.parametrize("kind,name", KINDS)
def test_file(tmp_path, kind, name):
    p = write(tmp_path / name, table(), kind)
    same(read_lengths(p), LENGTHS)
    same(read_lengths(tmp_path / name, column="num_tokens"), LENGTHS)


def test_files_are_chunked(tmp_path):
    t = table()
    assert pq.ParquetFile(write(tmp_path / "t.parquet", t, "parquet")) \
        .num_row_groups == 4
    with pa.ipc.open_file(write(tmp_path / "t.arrow", t, "file")) as r:
        assert r.num_record_batches == 4


def test_hf_cache_file(tmp_path):
    """What datasets saves (save_to_disk, its cache) is an Arrow stream."""
    datasets = require("datasets", "SKRULL_REQUIRE_DATASETS")
    d = tmp_path / "saved"
    datasets.Dataset.from_dict({"input_ids": ids(LENGTHS)}).save_to_disk(
        str(d))
    (f,) = d.glob("*.arrow")
    same(read_lengths(f), LENGTHS)


# ---- pyarrow objects ----

def test_list_types():
    same(read_lengths(pa.table({"input_ids": ids(LENGTHS, large=True)})),
         LENGTHS)
    fixed = pa.FixedSizeListArray.from_arrays(pa.array(range(12)), 4)
    same(read_lengths(pa.table({"input_ids": fixed})), [4, 4, 4])
    floats = pa.array([[0.5] * n for n in (3, 1, 2)], pa.list_(pa.float32()))
    same(read_lengths(pa.table({"input_ids": floats})), [3, 1, 2])


def test_chunked_table_batch_and_arrays():
    t = pa.Table.from_batches(table().to_batches(max_chunksize=CHUNK))
    assert t.column("input_ids").num_chunks == 4
    same(read_lengths(t), LENGTHS)
    same(read_lengths(t, column="num_tokens"), LENGTHS)
    same(read_lengths(t.to_batches()[1]), LENGTHS[CHUNK:2 * CHUNK])
    same(read_lengths(t.column("num_tokens")), LENGTHS)
    same(read_lengths(ids(LENGTHS)), LENGTHS)


@pytest.mark.parametrize("type_", [pa.int8(), pa.uint16(), pa.int32(),
                                   pa.uint32(), pa.int64(), pa.uint64()],
                         ids=str)
def test_integer_columns(type_):
    v = [n % 120 + 1 for n in LENGTHS]
    same(read_lengths(pa.table({"n": pa.array(v, type_)}), column="n"), v)


def test_whole_floats():
    same(read_lengths(pa.array([4137.0, 912.0, 2147483647.0])),
         [4137, 912, 2147483647])
    same(read_lengths(pa.array(np.array([65, 7], np.float16))), [65, 7])


def test_result_is_writable():
    got = read_lengths(pa.table({"input_ids": ids(LENGTHS)}))
    got.sort()
    assert got.tolist() == sorted(LENGTHS)


# ---- datasets ----

@pytest.fixture(scope="module")
def ds():
    datasets = require("datasets", "SKRULL_REQUIRE_DATASETS")
    return datasets.Dataset.from_dict({
        "row": list(range(len(LENGTHS))), "input_ids": ids(LENGTHS),
        "num_tokens": LENGTHS})


def test_dataset(ds):
    same(read_lengths(ds), LENGTHS)
    same(read_lengths(ds, column="num_tokens"), LENGTHS)
    # the dataset's own format does not matter
    same(read_lengths(ds.with_format("numpy")), LENGTHS)


def test_dataset_shuffled_selected(ds):
    sub = ds.shuffle(seed=3).select(range(5))
    order = list(sub["row"])
    assert order != list(range(5))
    same(read_lengths(sub), [LENGTHS[i] for i in order])
    kept = ds.filter(lambda r: r["num_tokens"] > 100)
    same(read_lengths(kept), [n for n in LENGTHS if n > 100])


def test_dataset_dict_and_iterable_refused(ds):
    datasets = require("datasets", "SKRULL_REQUIRE_DATASETS")
    dd = datasets.DatasetDict({"train": ds, "test": ds.select(range(2))})
    with pytest.raises(LengthTypeError) as e:
        read_lengths(dd)
    assert str(e.value) == ("<dataset>: a DatasetDict holds splits (train, "
                            "test); pass one: read_lengths(ds['train'])")
    with pytest.raises(LengthTypeError) as e:
        read_lengths(ds.to_iterable_dataset())
    assert "IterableDataset" in str(e.value) and "pass a Dataset" in \
        str(e.value)


def test_dataset_refusal_names_row(ds):
    bad = ds.select([0, 1, 2]).add_column("n", [5, 0, 3])
    with pytest.raises(LengthError) as e:
        read_lengths(bad, column="n")
    assert str(e.value) == ("<dataset>: column n, row 1: length 0: must be "
                            "1..2147483647 tokens")


# ---- refusals: the file, the column and the first bad row ----

def refused(exc, source, column=None):
    """The message read_lengths refuses source with, as exc, chained to
    no pyarrow exception."""
    with pytest.raises(exc) as e:
        read_lengths(source, column)
    assert e.value.__cause__ is None
    assert e.value.__context__ is None or e.value.__suppress_context__
    return str(e.value)


@pytest.mark.parametrize("kind", ["parquet", "file", "stream"])
def test_bad_rows_in_files(tmp_path, kind):
    lens = LENGTHS[:8]
    rows = [list(range(n)) for n in lens]
    rows[6] = None
    rows[3] = []
    p = write(tmp_path / "data.bin", pa.table({"input_ids": pa.array(
        rows, pa.list_(pa.int32()))}), kind)
    assert refused(LengthError, p) == \
        "%s: column input_ids, row 3: empty list (0 tokens)" % p
    rows[3] = [1]
    p = write(tmp_path / "data.bin", pa.table({"input_ids": pa.array(
        rows, pa.list_(pa.int32()))}), kind)
    assert refused(LengthError, p) == \
        "%s: column input_ids, row 6: null (a missing value)" % p


@pytest.mark.parametrize("value,row,what", [
    (0, 9, "length 0: must be 1..2147483647 tokens"),
    (-3, 12, "length -3: must be 1..2147483647 tokens"),
    (2**31, 4, "length 2147483648: must be 1..2147483647 tokens"),
    (None, 15, "null (a missing value)")],
    ids=["zero", "negative", "over", "null"])
def test_bad_lengths(tmp_path, value, row, what):
    v = list(LENGTHS)
    v[row] = value
    if row + 1 < len(v):
        v[row + 1] = -7  # a later bad row is not the one told
    p = write(tmp_path / "n.parquet", pa.table({"num_tokens": pa.array(
        v, pa.int64())}), "parquet")
    assert refused(LengthError, p, "num_tokens") == \
        "%s: column num_tokens, row %d: %s" % (p, row, what)


def test_bad_floats():
    t = pa.table({"f": pa.array([3.0, 2.5, float("nan")])})
    assert refused(LengthError, t, "f") == \
        "<table>: column f, row 1: 2.5 is not a whole number of tokens"
    t = pa.table({"f": pa.array([3.0, float("nan"), 1.0])})
    assert refused(LengthError, t, "f").startswith(
        "<table>: column f, row 1: NaN is no length")
    assert refused(LengthError, pa.array([1.0, float("inf")])) == \
        "<array>: row 1: inf is no length"


@pytest.mark.parametrize("column,kind", [
    ("text", "string"), ("flag", "bool"), ("messages", "list<element: struct"),
    ("nested", "list<element: list")],
    ids=["text", "flag", "messages", "nested"])
def test_bad_types(tmp_path, column, kind):
    """A chat's messages and a list of lists are no token lists either."""
    t = pa.table({"text": ["a", "b"], "flag": [True, False],
                  "messages": [[{"role": "user", "content": "hi"}], []],
                  "nested": [[[1, 2]], [[3]]]})
    p = write(tmp_path / "typed.parquet", t, "parquet")
    msg = refused(LengthTypeError, p, column)
    # the type as the Parquet file gives it back
    type_ = str(pq.read_schema(p).field(column).type)
    assert type_.startswith(kind)
    assert msg.startswith("%s: column %s: type %s holds no token counts"
                          % (p, column, type_)), msg


def test_missing_column(tmp_path):
    p = write(tmp_path / "data.parquet", table(), "parquet")
    assert refused(SkrullError, p, "input_idz") == (
        "%s: no column input_idz (did you mean input_ids?); columns text, "
        "input_ids, num_tokens" % p)
    t = table().drop_columns(["input_ids"])
    msg = refused(SkrullError, t)
    assert msg.startswith("<table>: no column input_ids, the default;")
    assert "column=" in msg and msg.endswith("columns text, num_tokens")


def test_empty(tmp_path):
    p = write(tmp_path / "empty.arrow", table([]), "file")
    assert refused(LengthError, p) == \
        "%s: column input_ids: no rows (an empty table)" % p
    (tmp_path / "zero").write_bytes(b"")
    with pytest.raises(SkrullError) as e:
        read_lengths(tmp_path / "zero")
    assert e.value.code == "format" and "zero: empty file" in str(e.value)


def test_missing_file(tmp_path):
    p = str(tmp_path / "nope.parquet")
    with pytest.raises(SkrullError) as e:
        read_lengths(p)
    assert e.value.code == "io"
    assert str(e.value) == "%s: cannot open: No such file or directory" % p
    with pytest.raises(SkrullError) as e:
        read_lengths(tmp_path)
    assert e.value.code == "io" and "a directory" in str(e.value)


@pytest.mark.parametrize("kind,cut", [("parquet", 0.5), ("parquet", -3),
                                      ("file", 0.5), ("stream", 0.5),
                                      ("stream", -8)])
def test_truncated(tmp_path, kind, cut):
    """Cut in the middle, or just its end (a stream's end-of-stream
    marker: without it a stream cut between record batches reads as a
    shorter whole one)."""
    p = write(tmp_path / "t.data", table(), kind)
    data = open(p, "rb").read()
    n = int(len(data) * cut) if cut > 0 else len(data) + cut
    with open(p, "wb") as f:
        f.write(data[:n])
    with pytest.raises(SkrullError) as e:
        read_lengths(p)
    assert type(e.value) is SkrullError and e.value.code == "format"
    assert str(e.value).startswith(p + ": ")
    assert e.value.__cause__ is None
    assert "\n" not in str(e.value)


def test_not_arrow(tmp_path):
    p = tmp_path / "lengths.txt"
    p.write_text("4137\n912\n")
    with pytest.raises(SkrullError) as e:
        read_lengths(p)
    assert e.value.code == "format"
    assert str(e.value).startswith("%s: neither Parquet nor Arrow IPC" % p)


def test_bad_arguments():
    with pytest.raises(LengthTypeError, match="a list is no table"):
        read_lengths([1, 2])
    with pytest.raises(SkrullError, match="an Array is one column"):
        read_lengths(pa.array([1]), column="x")
    with pytest.raises(LengthTypeError, match="column must be a str"):
        read_lengths(table(), column=1)


def test_pyarrow_missing(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(arrow.PyarrowMissingError) as e:
        read_lengths(tmp_path / "x.parquet")
    assert isinstance(e.value, ImportError)
    assert isinstance(e.value, SkrullError)
    assert str(e.value) == MISSING


# ---- skrull-lengths ----

def cli(*args, cwd, pre=""):
    """python -m skrull.arrow ARGS in cwd, this skrull package first on
    its path (pre: Python run before, as -c)."""
    env = dict(os.environ)
    top = os.path.dirname(os.path.dirname(os.path.abspath(skrull.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(
        [top] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    cmd = [sys.executable, "-m", "skrull.arrow"] if not pre else \
        [sys.executable, "-c", pre + "; import skrull.arrow as a; "
         "sys.exit(a.main(sys.argv[1:]))"]
    return subprocess.run(cmd + list(args), cwd=cwd, env=env,
                          capture_output=True, timeout=120)


def c_stats(skrull_cmd, path):
    """(samples, tokens) of the trace path as skrull trace stats reads it."""
    out = subprocess.run([skrull_cmd, "trace", "stats", "--json", path],
                         capture_output=True, timeout=60, check=True)
    (t,) = json.loads(out.stdout)["traces"]
    return t["samples"], t["tokens"]


def test_cli_round_trip(tmp_path, skrull_cmd):
    write(tmp_path / "train.parquet", table(), "parquet")
    text = "".join("%d\n" % n for n in LENGTHS).encode()
    for out in ("lengths.npy", "lengths.txt.gz", "lengths"):
        r = cli("train.parquet", "--column", "input_ids", "-o", out,
                cwd=tmp_path)
        assert (r.returncode, r.stdout, r.stderr) == (0, b"", b""), r
        assert c_stats(skrull_cmd, str(tmp_path / out)) == (len(LENGTHS),
                                                          TOKENS)
    same(np.load(tmp_path / "lengths.npy"), LENGTHS)
    assert np.load(tmp_path / "lengths.npy").dtype.str == "<u4"
    assert gzip.decompress((tmp_path / "lengths.txt.gz").read_bytes()) == \
        text
    assert (tmp_path / "lengths").read_bytes() == text
    r = cli("train.parquet", "-o", "-", cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, text, b"")
    assert sorted(os.listdir(tmp_path)) == ["lengths", "lengths.npy",
                                            "lengths.txt.gz",
                                            "train.parquet"]


def test_cli_errors(tmp_path, monkeypatch, capsys):
    """Each error: exit 1, one line on stderr, nothing else; an existing
    output untouched and no temporary file.  main() in this process, but
    one run as a command, for its exit status."""
    lens = list(LENGTHS)
    lens[7] = 0
    write(tmp_path / "bad.arrow", table(lens), "stream")
    write(tmp_path / "good.arrow", table(), "stream")
    (tmp_path / "out.npy").write_bytes(b"keep")
    before = sorted(os.listdir(tmp_path))
    monkeypatch.chdir(tmp_path)
    for args, want in [
            (("bad.arrow", "-o", "out.npy"),
             "bad.arrow: column input_ids, row 7: empty list (0 tokens)"),
            (("bad.arrow", "--column", "lengths", "-o", "out.npy"),
             "bad.arrow: no column lengths; columns text, input_ids, "
             "num_tokens"),
            (("nope.parquet", "-o", "new.npy"),
             "nope.parquet: cannot open: No such file or directory"),
            (("bad.arrow", "-o", "bad.arrow"),
             "-o bad.arrow is the same file as input bad.arrow: an input is "
             "never overwritten"),
            (("good.arrow", "-o", "no/dir.npy"),
             "no/dir.npy: cannot write: No such file or directory")]:
        assert arrow.main(list(args)) == 1, args
        assert capsys.readouterr() == ("", "skrull-lengths: %s\n" % want)
    for args, want in [(["bad.arrow"], "required: -o"),
                       (["bad.arrow", "-o", "x.jsonl"],
                        "writes plain, csv or npy")]:
        with pytest.raises(SystemExit) as e:
            arrow.main(args)
        assert e.value.code == 2
        assert want in capsys.readouterr().err
    r = cli("bad.arrow", "-o", "out.npy", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (1, b"")
    assert r.stderr.startswith(b"skrull-lengths: bad.arrow: ")
    assert sorted(os.listdir(tmp_path)) == before
    assert (tmp_path / "out.npy").read_bytes() == b"keep"


def test_cli_pyarrow_missing(tmp_path):
    write(tmp_path / "train.parquet", table(), "parquet")
    r = cli("train.parquet", "-o", "out.npy", cwd=tmp_path,
            pre="import sys; sys.modules['pyarrow'] = None")
    assert r.returncode == 1, r
    assert r.stderr.decode() == "skrull-lengths: %s\n" % MISSING
    assert not (tmp_path / "out.npy").exists()
