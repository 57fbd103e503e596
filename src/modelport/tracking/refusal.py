"""Tell a row the database refuses on its own merits from a database that is down.

A data error (SQLSTATE class 22: a NUL in text, an invalid byte sequence, a value out of
range) or a constraint error (class 23) belongs to the rows of the statement: retrying them
later fails the same way, so they are isolated and set aside. Anything else (connection lost,
timeout, a missing table before migrations) is an outage: the rows wait in the spill file.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

_ROW_CLASSES = ("22", "23")


def is_row_refusal(exc: BaseException) -> bool:
    """True when the database refused the statement's rows, not when it could not be reached."""
    if isinstance(exc, DataError | IntegrityError | UnicodeError
                  | sqlite3.DataError | sqlite3.IntegrityError):
        return True
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None)
        return isinstance(sqlstate, str) and sqlstate[:2] in _ROW_CLASSES
    return False
