"""Records read like the JSON they wrap."""

from __future__ import annotations

import pytest

from modelport.client import Job, Record


def test_attributes_are_the_json_fields() -> None:
    rec = Record({"name": "iris", "latest": {"version": 2}, "items": [{"a": 1}, 3]})
    assert rec.name == "iris" and rec["name"] == "iris"
    assert rec.latest.version == 2 and isinstance(rec.latest, Record)
    assert rec.items[0].a == 1 and rec.items[1] == 3
    assert rec == {"name": "iris", "latest": {"version": 2}, "items": [{"a": 1}, 3]}
    assert rec.to_dict()["latest"] == {"version": 2}
    assert set(rec) == {"name", "latest", "items"} and len(rec) == 3


def test_a_missing_field_names_the_fields_and_records_are_read_only() -> None:
    rec = Record({"a": 1})
    with pytest.raises(AttributeError, match="no field 'b'.*fields: a"):
        _ = rec.b
    with pytest.raises(AttributeError, match="read-only"):
        rec.a = 2


def test_job_done() -> None:
    assert Job({"state": "succeeded"}).done and not Job({"state": "running"}).done
