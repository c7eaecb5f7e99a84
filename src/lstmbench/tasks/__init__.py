"""Tasks: seeded train/validation sequences with one target each, what a stateless window can
see of them, and how their validation is scored. numpy only, never TensorFlow.

Built in: ``first-bit`` (the notebook's), ``two-sequence``, ``adding`` and ``temporal-order``
(Hochreiter & Schmidhuber 1997); ``npz``: the user's own file.
"""

from __future__ import annotations

from lstmbench.tasks._data import TaskData
from lstmbench.tasks._first_bit import ceiling, window_ceiling
from lstmbench.tasks._metrics import best_constant, score
from lstmbench.tasks._npz import DataError, file_hash
from lstmbench.tasks._resolve import resolve, with_data
from lstmbench.tasks._split import stratified_split
from lstmbench.tasks._task import Dimensions, Task, dimensions, make_task

__all__ = [
    "DataError",
    "Dimensions",
    "Task",
    "TaskData",
    "best_constant",
    "ceiling",
    "dimensions",
    "file_hash",
    "make_task",
    "resolve",
    "score",
    "stratified_split",
    "window_ceiling",
    "with_data",
]
