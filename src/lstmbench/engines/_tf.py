"""Import TensorFlow once, quietly, with thread pools sized for one process per core, and XLA's
persistent compilation cache in the user's cache folder, keyed by what a program is rather than
by what the process traced before it (:func:`stable_names`)."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

_configured = False
CACHE_ENV = "LSTMBENCH_XLA_CACHE"  # a folder, or "off"
_CACHE_FLAG = "--tf_xla_persistent_cache_directory"


def threads() -> int:
    """Threads TensorFlow may use in this process: ``LSTMBENCH_THREADS``, default 1.

    Sweeps run one worker process per core; one thread per process keeps the workers from
    fighting over cores, and these tiny graphs gain nothing from intra-op parallelism.
    """
    return max(1, int(os.environ.get("LSTMBENCH_THREADS", "1")))


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
        return set(os.listdir(folder))
    except OSError:
        return set()


def _use_xla_cache() -> None:
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


def tensorflow() -> ModuleType:
    """Return the ``tensorflow`` module, configured on first use."""
    global _configured
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if not _configured and "tensorflow" not in sys.modules:
        _use_xla_cache()
    if not _configured:
        # absl prints CUDA lines whatever the log level: at import, and where a CUDA driver
        # library is present but no GPU ("failed call to cuInit"), when the devices are first
        # listed — so list them here, silenced.
        with _quiet_stderr():
            import tensorflow as tf

            tf.config.list_physical_devices()
    import tensorflow as tf

    if not _configured:
        n = threads()
        try:
            tf.config.threading.set_intra_op_parallelism_threads(n)
            tf.config.threading.set_inter_op_parallelism_threads(n)
        except RuntimeError:  # already initialised by the caller: keep theirs
            pass
        tf.get_logger().setLevel("ERROR")
        _configured = True
    return tf


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 (C++ logging) for the duration; Python errors still raise."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured by pytest)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(devnull)
        os.close(saved)


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
    digest = hashlib.sha1(repr(key).encode()).hexdigest()[:12]
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
