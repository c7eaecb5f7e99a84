"""Import TensorFlow once, quietly, with thread pools sized for one process per core, and XLA's
persistent compilation cache (``_xla_cache``) in the user's cache folder."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType

from lstmbench.engines._xla_cache import use_xla_cache

_configured = False


def threads() -> int:
    """Threads TensorFlow may use in this process: ``LSTMBENCH_THREADS``, default 1.

    Sweeps run one worker process per core; one thread per process keeps the workers from
    fighting over cores, and these tiny graphs gain nothing from intra-op parallelism.
    """
    return max(1, int(os.environ.get("LSTMBENCH_THREADS", "1")))


def tensorflow() -> ModuleType:
    """Return the ``tensorflow`` module, configured on first use."""
    global _configured
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if not _configured and "tensorflow" not in sys.modules:
        use_xla_cache()
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

