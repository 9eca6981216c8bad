"""The PostgreSQL append's hand-packed binary arrays: what the server reads is the lists."""

from __future__ import annotations

import psycopg
import pytest

from tether.store._pg_arrays import Int4Array, TextArray, register

pytestmark = pytest.mark.postgres

TEXTS = ["", "plain", "é ü ß", "😀 emoji", '{"json": "text", "n": 1}', '\\ "quoted" \'']


async def test_the_server_reads_the_lists_back(pg_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        register(conn)
        seqs = [1, 2, 2**31 - 1, -(2**31)]
        cur = await conn.execute(
            "SELECT %b::int[], %b::text[]", (Int4Array(seqs), TextArray(TEXTS))
        )
        assert await cur.fetchone() == (seqs, TEXTS)
        # and as the append uses them: unnest in step
        cur = await conn.execute(
            "SELECT u.seq, u.data FROM unnest(%b::int[], %b::text[]) AS u(seq, data)",
            (Int4Array([7, 8]), TextArray(["a", "é"])),
        )
        assert await cur.fetchall() == [(7, "a"), (8, "é")]


async def test_another_client_encoding_gets_its_own_bytes(pg_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        register(conn)
        await conn.execute("SET client_encoding TO 'LATIN1'")
        cur = await conn.execute("SELECT %b::text[]", (TextArray(["é ü ß", "x"]),))
        assert await cur.fetchone() == (["é ü ß", "x"],)


def test_a_number_an_integer_column_cannot_hold_is_refused() -> None:
    with pytest.raises(ValueError, match="integer column"):
        Int4Array([1, 2**31])
