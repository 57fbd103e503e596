"""Make a prediction record's text storable before it is queued.

PostgreSQL refuses a NUL character in text and any driver refuses a string that is not valid
UTF-8 (a lone surrogate, as ``surrogateescape`` decoding leaves), and either failure used to
take the whole flush batch with it. Edges refuse such input with a 4xx, but the failed
request is still logged (with the name the client sent), so every text field is escaped here:
NUL becomes the four characters ``\\x00``, an unencodable character its backslash escape, and
each field is cut to its column's width. The check is a substring test per field; only a
record that needs it pays for the rewrite.
"""

from __future__ import annotations

from modelport.tracking.records import PredictionRecord

#: column widths of the ``predictions`` table (migration 0003)
WIDTHS = {"request_id": 128, "model": 128, "alias": 64, "principal": 128, "protocol": 16,
          "error_code": 64, "trace_id": 32, "finish_reason": 16}


def storable_text(value: str, width: int | None = None) -> str:
    """``value`` with NUL and unencodable characters escaped, cut to ``width`` characters."""
    if "\x00" in value:
        value = value.replace("\x00", "\\x00")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value if width is None or len(value) <= width else value[:width]


def is_storable(value: str) -> bool:
    """True when ``value`` needs no escaping (the cheap test the hot path runs first)."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def make_storable(record: PredictionRecord) -> PredictionRecord:
    """Escape and cut ``record``'s text fields in place (returns it, for chaining)."""
    for field, width in WIDTHS.items():
        value = getattr(record, field)
        if value is not None and (len(value) > width or not is_storable(value)):
            setattr(record, field, storable_text(value, width))
    return record
