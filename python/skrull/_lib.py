"""_lib: libskrull loaded through ctypes, its prototypes and its errors.

The library is found, in this order, at the path in $SKRULL_LIBRARY, by
the dynamic linker's search (ctypes.util.find_library: the ldconfig cache
`make install` refreshes), as libskrull.so.MAJOR on the loader's path, and
in the libdir `pkg-config --variable=libdir skrull` names; on the first
call into it, so that importing the package needs no library.
"""

import ctypes
import ctypes.util
import os
import subprocess

# The C API this package is written against (skrull.h): the same major,
# and a minor at least this large (libskrull(3), Compatibility).
API_MAJOR = 0
API_MINOR = 1

_CODES = {0: "ok", 1: "io", 2: "format", 3: "range", 4: "nomem", 5: "arg",
          6: "unsupported"}


class SkrullError(Exception):
    """A failure of libskrull or of this package's checks.

    message is the library's one-line message (file, place, problem);
    code the name of its enum skrull_err value ("io", "format", "range",
    "nomem", "arg", "unsupported").
    """

    def __init__(self, message, code="arg"):
        super().__init__(message)
        self.message = message
        self.code = code


class LengthError(SkrullError, ValueError):
    """A sample length that is not an integer of 1 .. 2^31 - 1 tokens; the
    message names its index."""

    def __init__(self, message):
        super().__init__(message, "range")


class LengthTypeError(SkrullError, TypeError):
    """Lengths of a type or dtype that holds no token counts (strings,
    booleans, complex numbers, objects); the message names the index or
    the dtype."""

    def __init__(self, message):
        super().__init__(message, "arg")


class skrull_mb(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint64), ("nsamples", ctypes.c_uint32),
                ("owner", ctypes.c_int32), ("span", ctypes.c_int32),
                ("width", ctypes.c_int32), ("offset", ctypes.c_int32)]


class skrull_sample(ctypes.Structure):
    _fields_ = [("index", ctypes.c_uint32), ("length", ctypes.c_uint32),
                ("place", ctypes.c_int32), ("first", ctypes.c_int32),
                ("size", ctypes.c_int32)]


class skrull_summary(ctypes.Structure):
    _fields_ = [("iterations", ctypes.c_uint64), ("ooms", ctypes.c_uint64),
                ("mean", ctypes.c_double), ("p50", ctypes.c_double),
                ("p99", ctypes.c_double), ("bound", ctypes.c_double),
                ("tokens_per_s", ctypes.c_double), ("mfu", ctypes.c_double),
                ("peak_max", ctypes.c_double)]


def _candidates():
    env = os.environ.get("SKRULL_LIBRARY")
    if env:
        return [env]
    out = []
    found = ctypes.util.find_library("skrull")
    if found:
        out.append(found)
    out.append("libskrull.so.%d" % API_MAJOR)
    try:
        libdir = subprocess.run(
            ["pkg-config", "--variable=libdir", "skrull"],
            capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        libdir = ""
    if libdir:
        out.append(os.path.join(libdir, "libskrull.so.%d" % API_MAJOR))
    return out


def _load():
    tried = []
    for name in _candidates():
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            tried.append("%s (%s)" % (name, e))
    raise SkrullError(
        "libskrull not found: tried %s; install it (make install) or set "
        "SKRULL_LIBRARY to the path of libskrull.so.%d"
        % ("; ".join(tried), API_MAJOR), "io")


_P = ctypes.c_void_p
_I = ctypes.c_int
_S = ctypes.c_char_p
_Z = ctypes.c_size_t
_PROTOS = {
    "skrull_version": (_S, [ctypes.POINTER(_I)] * 3),
    "skrull_last_error": (_S, []),
    "skrull_free": (None, [_P]),
    "skrull_job_new": (_I, [ctypes.POINTER(_P)]),
    "skrull_job_read": (_I, [_S, ctypes.POINTER(_P)]),
    "skrull_job_write": (_I, [_P, _S]),
    "skrull_job_free": (None, [_P]),
    "skrull_job_set_model": (_I, [_P, _S]),
    "skrull_job_set_cluster": (_I, [_P, _S]),
    "skrull_job_set_nodes": (_I, [_P, _I, _I]),
    "skrull_job_set_layout": (_I, [_P, _I, _I]),
    "skrull_job_set_batch": (_I, [_P, _I]),
    "skrull_job_set_bucket": (_I, [_P, ctypes.c_uint32]),
    "skrull_job_set_zero": (_I, [_P, _I]),
    "skrull_job_set_recompute": (_I, [_P, _S]),
    "skrull_job_set_precision": (_I, [_P, _S]),
    "skrull_job_set_policy": (_I, [_P, _S]),
    "skrull_job_set_knob": (_I, [_P, _S, _S]),
    "skrull_job_layout": (_I, [_P, ctypes.POINTER(_I), ctypes.POINTER(_I),
                               ctypes.POINTER(_I),
                               ctypes.POINTER(ctypes.c_uint32)]),
    "skrull_plan_batch": (_I, [_P, ctypes.POINTER(ctypes.c_uint32), _Z, _S,
                               ctypes.POINTER(_P)]),
    "skrull_plan_read": (_I, [_S, ctypes.POINTER(_P)]),
    "skrull_plan_write": (_I, [_P, _S]),
    "skrull_plan_validate": (_I, [_P]),
    "skrull_plan_free": (None, [_P]),
    "skrull_plan_shape": (_I, [_P, ctypes.POINTER(_Z), ctypes.POINTER(_I),
                               ctypes.POINTER(_I)]),
    "skrull_plan_mb_count": (_I, [_P, _Z, _I, ctypes.POINTER(_Z)]),
    "skrull_plan_mb": (_I, [_P, _Z, _I, _Z, ctypes.POINTER(skrull_mb)]),
    "skrull_plan_sample": (_I, [_P, ctypes.c_uint64, _Z,
                                ctypes.POINTER(skrull_sample)]),
    "skrull_simulate": (_I, [_P, _I, ctypes.POINTER(_P)]),
    "skrull_report_free": (None, [_P]),
    "skrull_report_summary": (_I, [_P, ctypes.POINTER(skrull_summary)]),
    "skrull_report_iteration": (_I, [_P, _Z, ctypes.POINTER(ctypes.c_double),
                                     ctypes.POINTER(ctypes.c_double)]),
    "skrull_report_json": (_I, [_P, _I, ctypes.POINTER(_P)]),
}

class _Library:
    """libskrull with its prototypes, loaded and its version checked on
    the first call, so that what needs no library (skrull.arrow,
    skrull-lengths) runs where none is installed."""

    def __getattr__(self, name):
        # Called only for a name not yet set: the first call loads.
        if name not in _PROTOS:
            raise AttributeError(name)
        h = _load()
        for n, (res, args) in _PROTOS.items():
            f = getattr(h, n)
            f.restype = res
            f.argtypes = args
        v = _version(h)
        if v[0] != API_MAJOR or v[1] < API_MINOR:
            raise SkrullError("libskrull %d.%d.%d is loaded, but this "
                              "package needs %d.%d or a later %d.x"
                              % (v + (API_MAJOR, API_MINOR, API_MAJOR)),
                              "unsupported")
        for n in _PROTOS:
            setattr(self, n, getattr(h, n))
        return getattr(self, name)


def _version(h):
    major, minor, patch = _I(), _I(), _I()
    h.skrull_version(ctypes.byref(major), ctypes.byref(minor),
                     ctypes.byref(patch))
    return major.value, minor.value, patch.value


lib = _Library()


def check(code):
    """Raise the library's last error unless code is SKRULL_OK."""
    if code != 0:
        msg = lib.skrull_last_error().decode("utf-8", "replace")
        raise SkrullError(msg or "libskrull: error %d" % code,
                          _CODES.get(code, "unknown"))


def encode(text, what):
    """A str argument as the bytes C takes, refusing what C cannot hold."""
    if isinstance(text, os.PathLike):
        text = os.fspath(text)
    if not isinstance(text, str):
        raise SkrullError("%s: expected a str, got %s"
                          % (what, type(text).__name__))
    if "\0" in text:
        raise SkrullError("%s: %r holds a NUL character" % (what, text))
    return text.encode("utf-8")


def version():
    """The loaded library's version as (major, minor, patch)."""
    return _version(lib)
