"""Initial weights from a seed, in Keras' LSTM layout, so that both engines start identical."""

from __future__ import annotations

import numpy as np


def initial_weights(units: int, features: int, seed: int) -> list[np.ndarray]:
    """Return ``[kernel, recurrent_kernel, bias, dense_kernel, dense_bias]`` (float32).

    Keras' defaults, drawn with numpy: Glorot-uniform kernels, orthogonal recurrent kernel,
    zero bias with the forget gate at 1 (``unit_forget_bias``). Gate order i, f, c, o.
    """
    rng = np.random.default_rng([seed, 7919])

    def glorot(fan_in: int, fan_out: int) -> np.ndarray:
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=(fan_in, fan_out))

    a = rng.normal(size=(4 * units, units))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    bias = np.zeros(4 * units)
    bias[units : 2 * units] = 1.0
    weights = [glorot(features, 4 * units), q.T, bias, glorot(units, 1), np.zeros(1)]
    return [w.astype(np.float32) for w in weights]


def count_params(units: int, features: int) -> int:
    return 4 * units * (features + units + 1) + units + 1
