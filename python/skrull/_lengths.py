"""_lengths: sample lengths checked and packed for libskrull.

A length is a whole number of tokens, 1 .. 2^31 - 1.  Accepted: a
sequence or iterable of ints (floats only when whole), a 1-D NumPy array of
an integer or float dtype, anything with a to_numpy() or numpy() (pyarrow
arrays, torch tensors).  Refused, naming the index: zero, negatives,
lengths over 2^31 - 1, NaN, infinities, fractions; naming the index or the
dtype: booleans, strings, complex numbers, objects.
"""

import collections.abc
import ctypes
import math
import numbers

from ._lib import LengthError, LengthTypeError

LEN_MAX = 2**31 - 1


def _range_error(what, i, v):
    return LengthError("%s[%d]: length %s: must be 1..%d tokens"
                       % (what, i, v, LEN_MAX))


def _check_item(what, i, v):
    """One element as an int, or the error naming index i."""
    if isinstance(v, bool) or type(v).__name__ == "bool_":
        raise LengthTypeError("%s[%d]: %r is a boolean, not a number of "
                              "tokens" % (what, i, v))
    if isinstance(v, numbers.Integral):
        v = int(v)
        if v < 1 or v > LEN_MAX:
            raise _range_error(what, i, v)
        return v
    if isinstance(v, numbers.Real):
        f = float(v)
        if math.isnan(f):
            raise LengthError("%s[%d]: NaN is no length (a missing value?)"
                              % (what, i))
        if math.isinf(f):
            raise LengthError("%s[%d]: %s is no length" % (what, i, f))
        if f != math.floor(f):
            raise LengthError("%s[%d]: %r is not a whole number of tokens"
                              % (what, i, f))
        if f < 1 or f > LEN_MAX:
            raise _range_error(what, i, repr(f))
        return int(f)
    raise LengthTypeError("%s[%d]: a %s (%r) is not a number of tokens"
                          % (what, i, type(v).__name__, v))


def _numpy_array(x):
    """x as a NumPy array when it is one or converts to one, else None."""
    try:
        import numpy
    except ImportError:
        return None
    if isinstance(x, numpy.ndarray):
        return x
    mod = type(x).__module__ or ""
    if mod.startswith("torch"):
        return x.detach().cpu().numpy()
    if mod.startswith("pyarrow") and hasattr(x, "to_numpy"):
        # nulls come back as NaN, refused below with their index
        return x.to_numpy(zero_copy_only=False)
    return None


def _from_numpy(a, what):
    import numpy

    if a.ndim != 1:
        raise LengthTypeError("%s: a %d-dimensional array; lengths are one "
                              "dimension" % (what, a.ndim))
    kind = a.dtype.kind
    if kind == "O":
        return [_check_item(what, i, v) for i, v in enumerate(a.tolist())]
    if kind in "iu":
        bad = numpy.flatnonzero((a < 1) | (a > LEN_MAX))
        if bad.size:
            raise _range_error(what, int(bad[0]), int(a[bad[0]]))
        return a.astype(numpy.uint32)
    if kind == "f":
        bad = numpy.flatnonzero(~numpy.isfinite(a) | (a != numpy.floor(a)) |
                                (a < 1) | (a > LEN_MAX))
        if bad.size:
            i = int(bad[0])
            _check_item(what, i, float(a[i]))
        return a.astype(numpy.uint32)
    raise LengthTypeError("%s: dtype %s holds no token counts (an integer "
                          "or float dtype is needed)" % (what, a.dtype))


def _ints_fast(items, what):
    """A list of Python ints checked by NumPy at C speed (a data loader's
    usual input; checking each in Python costs ~0.5 us a sample), or None
    for anything else (numpy missing, other types, ints beyond int64),
    which the per-item checks then name."""
    try:
        import numpy
    except ImportError:
        return None
    if not items or set(map(type, items)) != {int}:
        return None
    try:
        a = numpy.array(items, dtype=numpy.int64)
    except OverflowError:
        return None
    return _from_numpy(a, what)


def pack(lengths, what="lengths"):
    """lengths as a ctypes uint32 array and its count."""
    if isinstance(lengths, (str, bytes, bytearray)):
        raise LengthTypeError("%s: a %s is not a sequence of lengths"
                              % (what, type(lengths).__name__))
    # A set has no order and holds each length once, a mapping iterates
    # its keys: either would plan other samples than the caller's.
    if isinstance(lengths, (collections.abc.Set, collections.abc.Mapping)):
        raise LengthTypeError("%s: a %s is not a sequence of lengths (no "
                              "order, or not one length per sample)"
                              % (what, type(lengths).__name__))
    a = _numpy_array(lengths)
    if a is not None:
        vals = _from_numpy(a, what)
    else:
        try:
            items = list(lengths)
        except TypeError:
            raise LengthTypeError("%s: a %s is not a sequence of lengths"
                                  % (what, type(lengths).__name__)) from None
        vals = _ints_fast(items, what)
        if vals is None:
            vals = [_check_item(what, i, v) for i, v in enumerate(items)]
    n = len(vals)
    if n == 0:
        raise LengthError("%s: no samples" % what)
    buf = (ctypes.c_uint32 * n)()
    if hasattr(vals, "ctypes"):
        ctypes.memmove(buf, vals.ctypes.data, 4 * n)
    else:
        buf[:] = vals
    return buf, n
