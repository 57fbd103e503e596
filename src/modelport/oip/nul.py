"""NUL characters in gRPC requests and metadata are refused with INVALID_ARGUMENT.

The HTTP edges refuse NUL in paths, queries and bodies (:mod:`modelport.api.hardening`); the
gRPC edge gets the same rule here, for every string a client controls: the request message's
string fields (names, versions, ids, parameters, nested and in maps) and call metadata. A NUL
reaching PostgreSQL is refused there and was an INTERNAL error. Protobuf already refuses
strings that are not valid UTF-8 when it parses a message.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from modelport.errors import InvalidInput

NUL_DETAIL = "NUL characters are not allowed in strings"


def _has_nul(value: Any) -> bool:
    return isinstance(value, str) and "\x00" in value


def _check_value(field: FieldDescriptor, value: Any) -> None:
    if field.type == FieldDescriptor.TYPE_STRING:
        if _has_nul(value):
            raise InvalidInput(f"{field.name}: {NUL_DETAIL}")
    elif field.type == FieldDescriptor.TYPE_MESSAGE:
        refuse_nul(value)


def refuse_nul(message: Message) -> None:
    """Raise InvalidInput when any string field of ``message`` (at any depth) holds a NUL."""
    for field, value in message.ListFields():
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key_field = field.message_type.fields_by_name["key"]
            value_field = field.message_type.fields_by_name["value"]
            for key, item in value.items():
                _check_value(key_field, key)
                _check_value(value_field, item)
        elif field.is_repeated:
            if field.type in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_MESSAGE):
                for item in value:
                    _check_value(field, item)
        else:
            _check_value(field, value)


def refuse_nul_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> None:
    """Raise InvalidInput when a text metadata value holds a NUL (``-bin`` values are binary)."""
    for key, value in metadata or ():
        if not key.endswith("-bin") and (_has_nul(value) or (isinstance(value, bytes) and b"\x00" in value)):
            raise InvalidInput(f"metadata {key[:64]!r}: {NUL_DETAIL}")
