"""Initial weights from a seed, in Keras' LSTM layout, so that both engines start identical."""

from __future__ import annotations

import numpy as np


def initial_weights(units: int, features: int, seed: int, outputs: int = 1) -> list[np.ndarray]:
    """Return ``[kernel, recurrent_kernel, bias, dense_kernel, dense_bias]`` (float32) for
    ``features`` inputs and a Dense head of ``outputs`` units.

    Keras' defaults, drawn with numpy: Glorot-uniform kernels, orthogonal recurrent kernel,
    zero bias with the forget gate at 1 (``unit_forget_bias``). Gate order i, f, c, o. One
    output draws what it always drew: a seed's weights are those of earlier versions.
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
    weights = [glorot(features, 4 * units), q.T, bias, glorot(units, outputs), np.zeros(outputs)]
    return [w.astype(np.float32) for w in weights]


def count_params(units: int, features: int, outputs: int = 1) -> int:
    """Return the weights of an LSTM of ``units`` on ``features`` inputs and its Dense head."""
    return 4 * units * (features + units + 1) + (units + 1) * outputs
