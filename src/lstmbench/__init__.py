"""lstmbench: when does an LSTM need ``stateful=True``, and what does it cost?"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
