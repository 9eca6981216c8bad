"""The event columns of a PostgreSQL append as binary arrays built by hand.

psycopg dumps a Python list by looking at its elements on every call (their type, the
dimensions, the element dumper): most of a PostgreSQL append's client CPU. The append's lists
are always one-dimensional, non-empty, without NULLs, of ``int`` (``seq``, an ``integer``
column) and ``str``, so their binary form (``int4[]``, ``text[]``) is packed here directly and
handed over as is by a dumper registered on tether's own connections.
"""

from __future__ import annotations

import struct
from typing import Any

import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format

__all__ = ["Int4Array", "TextArray", "check_int4", "register"]

_HEADER = struct.Struct("!iiIii")  # ndim, has NULLs, element oid, length, lower bound
_INT4_OID, _INT4_ARRAY_OID = 23, 1007
_TEXT_OID, _TEXT_ARRAY_OID = 25, 1009
_INT4_MIN, _INT4_MAX = -(2**31), 2**31 - 1
_LENGTH = struct.Struct("!i").pack


def check_int4(low: int, high: int, values: object = None) -> None:
    """Refuse values from ``low`` to ``high`` that do not all fit an ``integer`` column."""
    if low < _INT4_MIN or high > _INT4_MAX:
        shown = values if values is not None else [low, high]
        raise ValueError(f"{shown} do not all fit an integer column")


class Int4Array:
    """An ``int4[]`` parameter in binary form."""

    __slots__ = ("data",)

    def __init__(self, values: list[int]) -> None:
        check_int4(min(values), max(values), values)
        count = len(values)
        body = struct.pack(f"!{2 * count}i", *[n for value in values for n in (4, value)])
        self.data = _HEADER.pack(1, 0, _INT4_OID, count, 1) + body


class TextArray:
    """A ``text[]`` parameter in binary form (UTF-8, the connections' client encoding)."""

    __slots__ = ("data", "values")

    def __init__(self, values: list[str]) -> None:
        self.values = values
        self.data = self.encoded("utf-8")

    def encoded(self, encoding: str) -> bytes:
        """The array with its texts in ``encoding``."""
        parts = [_HEADER.pack(1, 0, _TEXT_OID, len(self.values), 1)]
        for value in self.values:
            text = value.encode(encoding)
            parts.append(_LENGTH(len(text)))
            parts.append(text)
        return b"".join(parts)


class _Int4ArrayDumper(Dumper):
    format = Format.BINARY
    oid = _INT4_ARRAY_OID

    def dump(self, obj: Any) -> bytes:
        data: bytes = obj.data
        return data


class _TextArrayDumper(Dumper):
    format = Format.BINARY
    oid = _TEXT_ARRAY_OID

    def dump(self, obj: Any) -> bytes:
        conn = self.connection
        encoding = conn.info.encoding if conn is not None else "utf-8"
        data: bytes = obj.data if encoding == "utf-8" else obj.encoded(encoding)
        return data


def register(conn: psycopg.AsyncConnection[Any]) -> None:
    """Have ``conn`` send :class:`Int4Array` and :class:`TextArray` parameters as they are."""
    conn.adapters.register_dumper(Int4Array, _Int4ArrayDumper)
    conn.adapters.register_dumper(TextArray, _TextArrayDumper)
