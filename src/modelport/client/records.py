"""Answers as read-only objects whose attributes are the JSON answer's fields.

``client.predict(...).predictions`` reads the same value as ``answer["predictions"]`` in the
REST body; nested objects are records too, and :meth:`Record.to_dict` gives the JSON back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def wrap(value: Any) -> Any:
    """Records for objects (also inside lists); other JSON values unchanged."""
    if isinstance(value, dict):
        return Record(value)
    if isinstance(value, list):
        return [wrap(v) for v in value]
    return value


class Record:
    """A JSON object with attribute access: ``rec.name`` is ``rec["name"]``.

    Not a ``Mapping``: its ``items``/``keys`` methods would hide fields of those names
    (job and dataset lists answer ``items``).
    """

    __slots__ = ("_data",)
    _data: dict[str, Any]

    def __init__(self, data: dict[str, Any]) -> None:
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name: str) -> Any:
        try:
            return wrap(self._data[name])
        except KeyError:
            fields = ", ".join(self._data)
            raise AttributeError(f"the answer has no field {name!r} (fields: {fields})") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("answers are read-only")

    def __getitem__(self, key: str) -> Any:
        return wrap(self._data[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record):
            return self._data == other._data
        return self._data == other if isinstance(other, dict) else NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"

    def to_dict(self) -> dict[str, Any]:
        """The JSON object as the server sent it."""
        return self._data


class Prediction(Record):
    """A prediction answer: ``model``, ``version`` (also ``model_version``), ``predictions``, and
    for classifiers ``probabilities`` and ``confidence`` (one per row), ``low_confidence`` when a
    threshold applies. One flat row sent (``predict("iris", [5.1, 3.5, 1.4, 0.2])``) also answers
    ``prediction``, and ``confidence`` is then that row's number rather than a list."""


class Job(Record):
    """A job's state (``id``, ``state``, ``progress``, ``message``, ``metrics``, ``model``...)."""

    @property
    def done(self) -> bool:
        return bool(self._data.get("state") in ("succeeded", "failed", "cancelled"))
