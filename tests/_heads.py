"""Tiny data for every head: what the engine tests train on."""

from __future__ import annotations

import numpy as np

from lstmbench.feeding import Head

HEADS = {"binary": Head(), "softmax": Head("softmax", 4), "linear": Head("linear")}


def head_data(head: Head, features: int, seed: int = 0, n: int = 24, length: int = 6):
    """``n`` noisy sequences ``(n, length, features)`` whose target sits in step 0: the sign of
    the first feature (binary), its quartile (4 classes), or a value (regression)."""
    rng = np.random.default_rng([seed, features])
    x = rng.normal(size=(n, length, features)).astype(np.float32)
    first = x[:, 0, 0]
    if head.kind == "binary":
        y = (first > 0).astype(np.float32)
    elif head.kind == "softmax":
        y = np.searchsorted(np.quantile(first, [0.25, 0.5, 0.75]), first).astype(np.float32)
    else:
        y = (0.5 * first + 0.1 * x[:, 0, -1]).astype(np.float32)
    return x, y
