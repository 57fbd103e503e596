"""The contract of a ``python`` model, published as :class:`modelport.PythonModel`.

A ``python`` model is a directory with a ``model.py`` defining ``class Model``. Subclassing
:class:`PythonModel` is optional (any class with these methods works) but gives type checking
and the defaults. modelport builds ``Model()``, sets :attr:`device`, calls :meth:`load` once with
the unpacked directory, then :meth:`predict` with batches of rows, from a worker process.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

Tensors = dict[str, np.ndarray[Any, Any]]


class PythonModel(ABC):
    """Base class for user models: ``load`` reads files, ``predict`` maps named arrays to named arrays.

    Every input has the batch as its first dimension, and every output must too (row ``i`` of
    each output answers row ``i`` of the inputs), since concurrent requests are merged into one
    call. ``predictions`` and ``probabilities`` outputs get the ``/api/v1`` shortcuts.
    """

    #: where the model should place its tensors: ``cpu``, ``cuda`` or ``cuda:N`` (from ``config.device``)
    device: str = "cpu"

    def load(self, path: Path) -> None:  # noqa: B027 (optional hook, empty on purpose)
        """Read weights, vocabularies and the like from ``path`` (the model's unpacked directory)."""

    @abstractmethod
    def predict(self, inputs: Tensors) -> Tensors:
        """One batch in, one batch out."""

    def stream(self, inputs: Tensors, parameters: dict[str, Any]) -> Iterator[str]:
        """Yield text pieces as they are produced (optional; for token or chunk streaming)."""
        raise NotImplementedError("this model does not stream")
