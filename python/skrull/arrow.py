"""skrull.arrow: sample lengths from Parquet, Arrow IPC and Hugging Face
datasets columns, through pyarrow; and skrull-lengths, the command that
writes them as a trace the skrull tools read (skrull-trace(5)).

    from skrull.arrow import read_lengths
    lengths = read_lengths("train.parquet")          # its input_ids
    lengths = read_lengths(ds["train"], column="num_tokens")

    $ skrull-lengths train.parquet --column input_ids -o lengths.npy
    $ skrull trace stats lengths.npy

A row's length is its number of tokens: the length of its list in a list
column of token ids (input_ids), or its value in an integer column (in a
float column only when whole), 1 .. 2^31 - 1.  pyarrow is imported when a
function needs it, so this module imports without it.
"""

import argparse
import contextlib
import difflib
import gzip
import os
import stat
import sys
import tempfile

from ._lengths import LEN_MAX
from ._lib import LengthError, LengthTypeError, SkrullError

__all__ = ["read_lengths", "main", "PyarrowMissingError"]

DEFAULT_COLUMN = "input_ids"

# First bytes of the files read here (an Arrow IPC stream's first message
# starts with the continuation marker 0xFFFFFFFF), and what each is called
# in messages.
_PARQUET, _ARROW_FILE, _ARROW_STREAM = "Parquet", "Arrow file", "Arrow stream"
_MAGIC = ((b"PAR1", _PARQUET, "a Parquet file"),
          (b"ARROW1", _ARROW_FILE, "an Arrow IPC file"),
          (b"\xff\xff\xff\xff", _ARROW_STREAM, "an Arrow IPC stream"))
# What a stream's writer puts last (the continuation marker and a zero
# metadata length); pyarrow takes a stream cut between two record batches
# for a whole one, so a file without it is refused as truncated.
_STREAM_END = b"\xff\xff\xff\xff\x00\x00\x00\x00"

# Names listed in a message before "and N more".
_LIST_MAX = 20


class PyarrowMissingError(SkrullError, ImportError):
    """pyarrow (or numpy, which it uses) is not installed; the message says
    what to install."""

    def __init__(self, message):
        super().__init__(message, "unsupported")


def _modules():
    """pyarrow, pyarrow.compute and numpy, or PyarrowMissingError."""
    try:
        import pyarrow
        import pyarrow.compute
        import numpy
    except ImportError as e:
        name = e.name or "pyarrow"
        raise PyarrowMissingError(
            "reading Parquet/Arrow needs %s: pip install %s (or pip install "
            "'./python[arrow]')" % (name, name)) from None
    return pyarrow, pyarrow.compute, numpy


def _parquet():
    """pyarrow.parquet, or PyarrowMissingError (pyarrow can be built
    without it)."""
    try:
        import pyarrow.parquet
    except ImportError:
        raise PyarrowMissingError(
            "reading Parquet needs pyarrow with its Parquet module: pip "
            "install pyarrow (or pip install './python[arrow]')") from None
    return pyarrow.parquet


def _listing(names):
    """names for a message: "a, b, c", the first _LIST_MAX of them."""
    if not names:
        return "none"
    shown = ", ".join(names[:_LIST_MAX])
    if len(names) > _LIST_MAX:
        shown += " and %d more" % (len(names) - _LIST_MAX)
    return shown


def _pick(where, names, column):
    """The column of names to read: column, or input_ids when None."""
    if column is None:
        if DEFAULT_COLUMN not in names:
            raise SkrullError(
                "%s: no column %s, the default; name the length column "
                "(column=, skrull-lengths --column): columns %s"
                % (where, DEFAULT_COLUMN, _listing(names)))
        column = DEFAULT_COLUMN
    elif not isinstance(column, str):
        raise LengthTypeError("%s: column must be a str (a column name), "
                              "not %s" % (where, type(column).__name__))
    count = names.count(column)
    if count == 0:
        near = difflib.get_close_matches(column, names, 1)
        raise SkrullError("%s: no column %s%s; columns %s"
                          % (where, column, " (did you mean %s?)" % near[0]
                             if near else "", _listing(names)))
    if count > 1:
        raise SkrullError("%s: %d columns are named %s: which one is meant "
                          "is unclear" % (where, count, column))
    return column


def _place(where, column, row=None):
    """Where a problem is: "FILE: column C, row R", parts left out when
    unknown."""
    s = where if column is None else "%s: column %s" % (where, column)
    if row is None:
        return s
    return "%s%s row %d" % (s, ":" if column is None else ",", row)


def _problem(v, of_list):
    """What is wrong with the value v (a Python number or None) of a bad
    row; of_list: v is a list's length."""
    if v is None:
        return "null (a missing value)"
    if of_list:
        if v == 0:
            return "empty list (0 tokens)"
        return "a list of %d tokens: more than %d" % (v, LEN_MAX)
    if isinstance(v, float):
        if v != v:
            return "NaN is no length (a missing value?)"
        if v in (float("inf"), float("-inf")):
            return "%s is no length" % v
        if v != int(v):
            return "%r is not a whole number of tokens" % v
        v = repr(v)
    return "length %s: must be 1..%d tokens" % (v, LEN_MAX)


def _lengths(where, column, col):
    """The lengths a column holds (see the module's docstring), checked,
    as a NumPy uint32 array; col: a pyarrow Array or ChunkedArray."""
    pa, pc, np = _modules()
    if isinstance(col, pa.Array):
        col = pa.chunked_array([col], col.type)
    t = col.type
    listy = (pa.types.is_list(t) or pa.types.is_large_list(t) or
             pa.types.is_fixed_size_list(t))
    # a list of lists, structs (a chat's messages) or strings is no token
    # list: its length would count something else
    if listy and (pa.types.is_integer(t.value_type) or
                  pa.types.is_floating(t.value_type)):
        v = pc.list_value_length(col)
    elif pa.types.is_integer(t):
        v = col
    elif pa.types.is_floating(t):
        # float16 has no compute kernels; float64 holds every float exactly
        v = col.cast(pa.float64())
    else:
        raise LengthTypeError(
            "%s: type %s holds no token counts (a list column of token ids, "
            "such as input_ids, or an integer length column is needed)"
            % (_place(where, column), t))
    if len(v) == 0:
        raise LengthError("%s: no rows (an empty table)"
                          % _place(where, column))
    if pa.types.is_floating(v.type):
        # NaN fails the comparison with its own floor
        bad = pc.or_(pc.or_(pc.less(v, 1.0), pc.greater(v, float(LEN_MAX))),
                     pc.not_equal(v, pc.floor(v)))
    else:
        # compared in a type wide enough for both bounds and all values
        wide = pa.uint64() if v.type == pa.uint64() else pa.int64()
        bad = pc.or_(pc.less(v, pa.scalar(1, wide)),
                     pc.greater(v, pa.scalar(LEN_MAX, wide)))
    row = pc.index(pc.fill_null(bad, True), True).as_py()
    if row >= 0:
        raise LengthError("%s: %s" % (_place(where, column, row),
                                      _problem(v[row].as_py(), listy)))
    return np.array(pc.cast(v, pa.uint32()), dtype=np.uint32)


@contextlib.contextmanager
def _unreadable(path, what):
    """pyarrow's failures reading the file path (what: "a Parquet file"...)
    as SkrullError "format", naming it."""
    pa, _, _ = _modules()
    try:
        yield
    except (pa.ArrowException, OSError) as e:
        why = "; ".join(line.strip() for line in str(e).splitlines()
                        if line.strip())
        raise SkrullError("%s: %s that pyarrow cannot read (corrupt or "
                          "truncated?): %s" % (path, what, why or
                                               type(e).__name__),
                          "format") from None


def _read_file(path, column):
    """The lengths of a column of the Parquet or Arrow IPC file path."""
    pa, _, _ = _modules()
    try:
        with open(path, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise SkrullError("%s: cannot open: not a regular file (a "
                                  "pipe?); pyarrow seeks in a Parquet or "
                                  "Arrow file" % path, "io")
            head = f.read(8)
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(size - len(_STREAM_END), 0))
            tail = f.read()
    except IsADirectoryError:
        raise SkrullError("%s: cannot open: a directory; pass one of its "
                          "files (or read it with pyarrow.parquet.read_table "
                          "and pass the table to read_lengths)" % path,
                          "io") from None
    except OSError as e:
        raise SkrullError("%s: cannot open: %s" % (path, e.strerror or e),
                          "io") from None
    kind = what = None
    for magic, k, w in _MAGIC:
        if head.startswith(magic):
            kind, what = k, w
            break
    if size == 0:
        raise SkrullError("%s: empty file" % path, "format")
    if kind is None:
        raise SkrullError("%s: neither Parquet nor Arrow IPC (it starts with "
                          "bytes %s); a text or .npy trace is read by the "
                          "skrull tools themselves (skrull-trace(5))"
                          % (path, head.hex(" ")), "format")
    if kind == _ARROW_STREAM and tail != _STREAM_END:
        raise SkrullError("%s: an Arrow IPC stream that does not end with "
                          "its end-of-stream marker (truncated, or data "
                          "after the stream)" % path, "format")
    with _unreadable(path, what):
        if kind == _PARQUET:
            with _parquet().ParquetFile(path) as pf:
                name = _pick(path, pf.schema_arrow.names, column)
                # only the one column is read from the file
                col = pf.read(columns=[name]).column(0)
        else:
            # mapped, not read: only the pages of the column are touched,
            # and its buffers keep the mapping alive once it is closed
            with pa.memory_map(path) as src:
                reader = (pa.ipc.open_file(src) if kind == _ARROW_FILE
                          else pa.ipc.open_stream(src))
                name = _pick(path, reader.schema.names, column)
                col = reader.read_all().column(name)
    return _lengths(path, name, col)


def _read_dataset(ds, mod, column):
    """The lengths of a column of a datasets object (mod: the datasets
    module), in the order the dataset yields its rows."""
    where = "<dataset>"
    if isinstance(ds, (mod.DatasetDict, mod.IterableDatasetDict)):
        raise LengthTypeError("%s: a %s holds splits (%s); pass one: "
                              "read_lengths(ds[%r])"
                              % (where, type(ds).__name__,
                                 _listing(list(ds.keys())),
                                 next(iter(ds.keys()), "train")))
    if isinstance(ds, mod.IterableDataset):
        raise LengthTypeError("%s: an IterableDataset (streaming) is read "
                              "row by row; pass a Dataset (load_dataset "
                              "without streaming=True) or the path of one "
                              "of its Parquet or Arrow files" % where)
    name = _pick(where, ds.column_names, column)
    # the arrow view applies the dataset's indices mapping (shuffle,
    # select, filter), which its underlying table does not
    table = ds.with_format(type="arrow", columns=[name])[:]
    return _lengths(where, name, table.column(name))


def read_lengths(source, column=None):
    """Per-row token counts of a column, as a NumPy uint32 array (tokens).

    source: the path (str, os.PathLike) of a Parquet file, an Arrow IPC
    file or an Arrow IPC stream (a Hugging Face datasets cache file), told
    apart by their first bytes, whatever the name; a pyarrow Table or
    RecordBatch; a pyarrow Array or ChunkedArray, the column itself (no
    column then); or a datasets.Dataset, in the order it yields its rows
    (shuffled, selected, filtered).  column: the column's name; None:
    input_ids.  A list column (list, large_list, fixed_size_list of
    numbers) gives its lists' lengths, an integer column its values, a
    float column its values when all are whole.

    Raises, naming the file ("<table>", "<dataset>", "<array>"), the
    column and the first bad row (counting from 0): LengthError for a
    null, an empty list, a length below 1 or above 2^31 - 1, a fraction, or
    no rows; LengthTypeError for a column of another type or a source of
    another kind; SkrullError "io" for a file that cannot be opened,
    "format" for one that is not Parquet or Arrow or is corrupt or
    truncated, "arg" for a missing column (its message lists the columns);
    PyarrowMissingError (also an ImportError) without pyarrow.
    """
    pa, _, _ = _modules()
    if isinstance(source, (str, os.PathLike)):
        return _read_file(os.fsdecode(source), column)
    if isinstance(source, (pa.Array, pa.ChunkedArray)):
        if column is not None:
            raise SkrullError("<array>: column=%r given, but an Array is "
                              "one column already" % (column,))
        return _lengths("<array>", None, source)
    if isinstance(source, (pa.Table, pa.RecordBatch)):
        name = _pick("<table>", source.schema.names, column)
        return _lengths("<table>", name, source.column(name))
    # a datasets object comes from an imported datasets: never import it;
    # a module of that name may be another (a project's datasets.py)
    mod = sys.modules.get("datasets")
    kinds = tuple(c for c in (getattr(mod, n, None) for n in (
        "Dataset", "DatasetDict", "IterableDataset", "IterableDatasetDict"))
        if isinstance(c, type))
    if kinds and isinstance(source, kinds):
        return _read_dataset(source, mod, column)
    raise LengthTypeError(
        "read_lengths: a %s is no table, column or path; pass the path of a "
        "Parquet or Arrow file, a pyarrow Table, RecordBatch, Array or "
        "ChunkedArray, or a datasets Dataset" % type(source).__name__)


# ---- skrull-lengths ----

# Names of formats the skrull tools read but this command does not write:
# plain text under them would mislead (as `skrull trace convert` refuses).
_UNWRITTEN = (".jsonl", ".jsonl.gz", ".idx", ".idx.gz")

# Lengths turned into text at a time.
_CHUNK = 1 << 20


def _out_format(out):
    """The format OUT's name asks for, as `skrull trace convert` reads it:
    ("npy" | "csv" | "plain", gzip), or None for a name refused."""
    low = out.lower()
    if low.endswith(_UNWRITTEN):
        return None
    gz = low.endswith(".gz")
    if gz:
        low = low[:-3]
    if low.endswith(".npy"):
        return "npy", gz
    if low.endswith(".csv"):
        return "csv", gz
    return "plain", gz


def _write_body(f, lengths, fmt, gz):
    """lengths written to the binary file f as skrull-trace(5)'s fmt: .npy
    version 1.0 of <u4, CSV under the header "length", or plain text, one
    decimal length a line; gzip-compressed when gz."""
    import numpy as np

    if gz:
        # mtime 0 and no name: the same lengths give the same bytes
        with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=6, mtime=0,
                           filename="") as z:
            _write_body(z, lengths, fmt, False)
        return
    if fmt == "npy":
        np.save(f, lengths.astype("<u4", copy=False), allow_pickle=False)
        return
    if fmt == "csv":
        f.write(b"length\n")
    # plain text has no comment lines (skrull-trace(5)): no provenance line
    for i in range(0, len(lengths), _CHUNK):
        part = lengths[i:i + _CHUNK].tolist()
        f.write(("\n".join(map(str, part)) + "\n").encode("ascii"))


def _write_atomic(out, lengths, fmt, gz):
    """The trace written to out through a temporary file beside it, renamed
    over it: an error leaves out as it was and no temporary file."""
    # a link's target is replaced, not the link
    dest = os.path.realpath(out) if os.path.islink(out) else out
    try:
        st = os.stat(dest)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise SkrullError("%s: cannot write: %s" % (out, e.strerror),
                          "io") from None
    try:
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(21, "Is a directory")
        if st is not None and not stat.S_ISREG(st.st_mode):
            # a device or a FIFO (/dev/null, a named pipe) cannot be
            # replaced by a rename, and is not to be: write into it
            with open(dest, "wb") as f:
                _write_body(f, lengths, fmt, gz)
            return
        if st is not None:
            mode = stat.S_IMODE(st.st_mode)
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        d = os.path.dirname(dest) or "."
        fd, tmp = tempfile.mkstemp(dir=d,
                                   prefix=os.path.basename(dest) + ".")
    except OSError as e:
        raise SkrullError("%s: cannot write: %s" % (out, e.strerror),
                          "io") from None
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            _write_body(f, lengths, fmt, gz)
            f.flush()
            # on disk before the rename makes it the file
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise SkrullError("%s: cannot write: %s" % (out, e.strerror),
                              "io") from None
        raise
    # the rename on disk too (a file system that cannot sync a directory
    # has nothing to sync)
    with contextlib.suppress(OSError):
        dfd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _same_file(a, b):
    """Whether the paths a and b both exist and are one file."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def main(argv=None):
    """skrull-lengths IN [--column C] -o OUT: the lengths of a column of a
    Parquet or Arrow IPC file as a skrull trace.  argv: the arguments
    (None: sys.argv[1:]).  Returns the exit status, 0 or 1 (an error, told
    on stderr in one line, or a reader of standard output gone); a usage
    error exits 2 (SystemExit, from argparse)."""
    p = argparse.ArgumentParser(
        prog="skrull-lengths",
        description="Write the per-row token counts of a column of a "
        "Parquet file, an Arrow IPC file or an Arrow IPC stream (a Hugging "
        "Face datasets cache file) as a trace the skrull tools read "
        "(skrull-trace(5)).")
    p.add_argument("input", metavar="IN",
                   help="Parquet or Arrow IPC file (told by its content)")
    p.add_argument("--column", metavar="C",
                   help="a list column of token ids (its lists' lengths) or "
                   "an integer column of lengths (default input_ids)")
    p.add_argument("-o", dest="out", metavar="OUT", required=True,
                   help="the trace: .npy (uint32), .csv (header length), "
                   "else plain text, one length a line; gzip-compressed "
                   "when it ends in .gz; - for plain text on standard "
                   "output; written atomically")
    a = p.parse_args(argv)
    to = ("plain", False) if a.out == "-" else _out_format(a.out)
    if to is None:
        p.error("%s: skrull-lengths writes plain, csv or npy traces; name "
                "the output .npy, .csv, .txt or .gz" % a.out)
    try:
        if a.out != "-" and _same_file(a.input, a.out):
            raise SkrullError("-o %s is the same file as input %s: an input "
                              "is never overwritten" % (a.out, a.input),
                              "io")
        lengths = read_lengths(a.input, a.column)
        if a.out != "-":
            _write_atomic(a.out, lengths, *to)
            return 0
        try:
            _write_body(sys.stdout.buffer, lengths, *to)
            sys.stdout.flush()
        except BrokenPipeError:
            # the reader left (| head): nothing to tell it; stdout to
            # /dev/null so that the flush at exit fails no more
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        except OSError as e:
            raise SkrullError("<stdout>: write error: %s" % e.strerror,
                              "io") from None
    except SkrullError as e:
        print("skrull-lengths: %s" % e.message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
