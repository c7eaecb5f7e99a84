"""XLA's persistent compilation cache: where it lives, keys that do not depend on what a process
traced before, one compile of a program at a time, and entries left half-written.

TensorFlow writes an entry in place (no temporary file and rename) and, reading one that is cut
short, fails the call and remembers the failure for the rest of the process. Two things keep a
shared cache safe: a program is compiled under a file lock named after it (:func:`locked`),
so a second worker waits for the first one's entry instead of reading it half-written; and an
entry a killed process left cut short is removed (:func:`drop_broken_entries`) before a compile
once it is a few seconds old (TensorFlow would print the parser's complaint reading it), and at
once when a compile fails, the program then built again (``_compiled``).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

CACHE_ENV = "LSTMBENCH_XLA_CACHE"  # a folder, or "off"
_CACHE_FLAG = "--tf_xla_persistent_cache_directory"
ENTRY_SUFFIX = ".pb"  # xla_compile_cache__<signature>__<HLO>__<device>.pb
LOCKS = "locks"  # subfolder of the cache folder: one lock file per program
# An entry cut short and untouched this long is a killed writer's, not one being written (an
# entry is written in one go, in milliseconds).
STALE_S = 5.0


def xla_cache_dir() -> Path | None:
    """The folder of XLA's persistent compilation cache; None when it is off.

    ``$LSTMBENCH_XLA_CACHE``: "off" (or "0", "") turns it off, a path chooses the folder; by
    default ``$XDG_CACHE_HOME/lstmbench/xla`` (``~/.cache/lstmbench/xla``). A folder already
    given in ``TF_XLA_FLAGS`` wins. XLA keys each entry by the program's fingerprint, so an
    entry only ever serves the same program: a second worker or sweep loads what the first
    compiled instead of compiling it again (a training program ~2 s -> ~0.5 s; the rest is
    tracing and lowering). The key holds the names TensorFlow gives traced functions, which
    :func:`stable_names` makes independent of the order programs are built in.
    """
    given = active_xla_cache()
    if given is not None:
        return given
    value = os.environ.get(CACHE_ENV)
    if value is not None:
        return None if value.strip().lower() in ("", "0", "off", "no", "false") else Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lstmbench" / "xla"


def active_xla_cache() -> Path | None:
    """The cache folder TensorFlow was given (in ``TF_XLA_FLAGS``), or None."""
    for flag in os.environ.get("TF_XLA_FLAGS", "").split():
        if flag.startswith(_CACHE_FLAG + "="):
            return Path(flag.split("=", 1)[1])
    return None


def cache_entries() -> set[str] | None:
    """The entries in the active XLA cache folder (None: no cache), to tell a hit from a miss."""
    folder = active_xla_cache()
    if folder is None:
        return None
    try:
        return {name for name in os.listdir(folder) if name.endswith(ENTRY_SUFFIX)}
    except OSError:
        return set()


def use_xla_cache() -> None:
    """Put the cache folder into ``TF_XLA_FLAGS``: TensorFlow reads it once, so before import."""
    folder = xla_cache_dir()
    flags = os.environ.get("TF_XLA_FLAGS", "")
    if folder is None or _CACHE_FLAG in flags:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: compile as before, without a cache
        return
    os.environ["TF_XLA_FLAGS"] = f"{flags} {_CACHE_FLAG}={folder}".strip()


_names_lock = threading.Lock()
_names_used: dict[str, int] = {}


@contextlib.contextmanager
def stable_names(key: object) -> Iterator[None]:
    """Trace under function names that depend on ``key``, not on what this process traced before.

    XLA's persistent cache keys an entry by the compiled function's name and the hash of its
    HLO, which holds the names of its while-loop bodies. TensorFlow numbers all of these from one
    process-wide counter (``__inference_train_block_758``, ``while_body_119``), so the same
    program built after other programs, or in another worker, got another key and missed (a
    second default sweep: 3 hits of 18). Within this context those names are numbered from
    ``key`` instead (and how often this process traced ``key``: names stay unique).

    TensorFlow's private API, in this one place: the five name generators of
    ``concrete_function`` and ``control_flow_util_v2`` (2.16-2.21), swapped for the duration
    under a lock; ``tests/test_compile_cache.py`` fails by name if they move. If they are
    missing, this warns and does nothing: the cache then misses as it used to.
    """
    try:
        from tensorflow.python.eager.polymorphic_function import concrete_function as cf
        from tensorflow.python.ops import control_flow_util_v2 as cfu

        names = (cf._inference_name, cf._forward_name, cf._backward_name,
                 cfu.unique_fn_name, cfu.unique_grad_fn_name)
        prefixes = (cf._INFERENCE_PREFIX, cf._FORWARD_PREFIX, cf._BACKWARD_PREFIX)
    except (ImportError, AttributeError) as exc:
        warnings.warn(f"lstmbench: TensorFlow's function names moved ({exc}): XLA's persistent "
                      "cache will miss more often", RuntimeWarning, stacklevel=3)
        yield
        return
    digest = _digest(key)
    with _names_lock:
        uses = _names_used[digest] = _names_used.get(digest, -1) + 1
        counter = itertools.count()

        def numbered(name: str) -> str:
            return f"{name}_k{digest}_{uses}_{next(counter)}".replace("/", "_")

        inference, forward, backward = prefixes
        cf._inference_name = lambda n: numbered(f"{inference}{n}")
        cf._forward_name = lambda n: numbered(f"{forward}{n}")
        cf._backward_name = lambda n: numbered(f"{backward}{n}")
        cfu.unique_fn_name = lambda scope, name: numbered(f"{scope}{name}")
        cfu.unique_grad_fn_name = lambda forward_name: numbered(f"{forward_name}_grad")
        try:
            yield
        finally:
            (cf._inference_name, cf._forward_name, cf._backward_name,
             cfu.unique_fn_name, cfu.unique_grad_fn_name) = names


def _digest(key: object) -> str:
    return hashlib.sha1(repr(key).encode()).hexdigest()[:12]


class Compile:
    """What :func:`locked` saw: ``wrote`` is None without a cache, else whether an entry was
    written while the lock was held (a miss; none: loaded, a hit). Another process finishing a
    program under another lock meanwhile also reads as a miss: the cache does not say whose an
    entry is."""

    wrote: bool | None = None


@contextlib.contextmanager
def locked(key: object) -> Iterator[Compile]:
    """Hold, with the cache on, an exclusive lock on ``locks/<key>.lock`` in the cache folder
    while compiling the program ``key``: a worker that needs the program while another compiles
    it waits, then loads the complete entry. Without ``flock`` (some network file systems) the
    lock is skipped. Locks nest in one order only (a program's, then its predictor's)."""
    import fcntl

    folder = active_xla_cache()
    record = Compile()
    with contextlib.ExitStack() as stack:
        if folder is not None:
            try:
                (folder / LOCKS).mkdir(parents=True, exist_ok=True)
                fd = os.open(folder / LOCKS / f"{_digest(key)}.lock", os.O_RDWR | os.O_CREAT, 0o644)
                stack.callback(os.close, fd)
                fcntl.flock(fd, fcntl.LOCK_EX)
                stack.callback(fcntl.flock, fd, fcntl.LOCK_UN)
            except OSError:
                pass
        before = cache_entries()
        yield record
        after = cache_entries()
        record.wrote = None if before is None or after is None else bool(after - before)


def drop_broken_entries(*, older_than_s: float = 0.0) -> list[str]:
    """Remove the entries of the active cache folder that are not whole protocol-buffer messages
    (a process killed while writing one) and were last written ``older_than_s`` seconds ago or
    more (younger ones may still be being written); return their names. Reads a few bytes per
    field of each entry, not the entries."""
    folder = active_xla_cache()
    dropped = []
    now = time.time()
    for name in sorted(cache_entries() or ()):
        path = folder / name
        try:
            if now - path.stat().st_mtime >= older_than_s and not _whole_entry(path):
                path.unlink()
                dropped.append(name)
        except OSError:
            continue
    return dropped


def _whole_entry(path: Path) -> bool:
    """Whether the file parses as protocol-buffer fields to its last byte (an entry is a message
    of three fields: key, HLO module, executable); one cut short overruns its last field. Walks
    the top-level fields, seeking over their contents."""
    size = path.stat().st_size
    with open(path, "rb") as f:

        def varint() -> int:
            value = shift = 0
            while True:
                byte = f.read(1)
                if not byte:
                    raise ValueError("cut short in a varint")
                value |= (byte[0] & 0x7F) << shift
                if not byte[0] & 0x80:
                    return value
                shift += 7

        try:
            while f.tell() < size:
                kind = varint() & 7
                if kind == 0:
                    varint()
                elif kind in (1, 2, 5):
                    f.seek({1: 8, 5: 4}[kind] if kind != 2 else varint(), os.SEEK_CUR)
                else:
                    return False
        except ValueError:
            return False
        return 0 < size == f.tell()
