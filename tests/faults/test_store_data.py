"""Data the stores were not designed for: lone surrogates, NaN, deep nesting, corrupt rows."""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
from pathlib import Path

import pytest
from store.test_stores import a_run, stamp

from tether import LogFormatError, Runner
from tether.events import RunStarted, ToolCallFinished
from tether.messages import Message
from tether.store import Store
from tether.store.errors import StoreError
from tether.store.sqlite import SQLiteStore

SPLIT_EMOJI = "half an emoji \ud83d here"
BAD_FILE_NAME = "caf\udce9.txt"  # what os.listdir gives for a Latin-1 name


def tool_result(run_id: str, output: object, content: str = "ok", seq: int = 6) -> list:
    return stamp(
        run_id,
        [
            ToolCallFinished(
                call_id="c9",
                tool_name="ls",
                args={"path": BAD_FILE_NAME},
                content=content,
                output=output,
            )
        ],
        first_seq=seq,
    )


async def test_lone_surrogates_round_trip_losslessly(store: Store) -> None:
    events = a_run("r1")
    events[0].input = [Message.user(SPLIT_EMOJI)]
    await store.append("r1", events[:-1])
    await store.append("r1", tool_result("r1", [BAD_FILE_NAME], content=BAD_FILE_NAME))
    await store.save_thread("t1", [Message.user(SPLIT_EMOJI)])
    loaded = await store.load("r1")
    assert loaded[0].input[0].parts[0].text == SPLIT_EMOJI
    assert loaded[-1].args == {"path": BAD_FILE_NAME}
    assert loaded[-1].content == BAD_FILE_NAME and loaded[-1].output == [BAD_FILE_NAME]
    assert (await store.load_thread("t1"))[0].parts[0].text == SPLIT_EMOJI


async def test_nan_and_infinity_are_stored_alike_on_every_sql_store(sql_store: Store) -> None:
    await sql_store.append("r1", a_run("r1")[:-1])
    output = {"mean": math.nan, "max": math.inf, "min": -math.inf, "ok": 1.5}
    await sql_store.append("r1", tool_result("r1", output))
    loaded = await sql_store.load("r1")
    assert loaded[-1].output == {"mean": "NaN", "max": "Infinity", "min": "-Infinity", "ok": 1.5}
    assert loaded[-1].content == "ok"


async def test_an_event_json_cannot_hold_is_a_store_error_naming_run_and_seq(
    sql_store: Store,
) -> None:
    deep: list = []
    inner = deep
    for _ in range(10_000):
        inner.append([])
        inner = inner[0]
    await sql_store.append("r1", a_run("r1")[:-1])
    with pytest.raises(StoreError, match=r"run 'r1': the tool_call_finished event at seq 6") as e:
        await sql_store.append("r1", tool_result("r1", deep))
    assert (e.value.run_id, e.value.seq) == ("r1", 6)
    # Nothing half-written: the run's log is as it was, and goes on.
    assert len(await sql_store.load("r1")) == 4
    await sql_store.append("r1", tool_result("r1", "fine"))
    assert (await sql_store.load("r1"))[-1].output == "fine"


@pytest.mark.allow_blocking
def test_a_corrupt_row_names_the_run_and_position(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = SQLiteStore(path)
    asyncio.run(store.append("r1", a_run("r1")))
    asyncio.run(store.close())
    conn = sqlite3.connect(path)
    conn.execute('UPDATE tether_events SET data = \'{"type": "run_fin\' WHERE seq = 3')
    conn.execute("UPDATE tether_events SET data = json_set(data, '$.colour', 'red') WHERE seq = 4")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=r"run 'r1': the stored event at seq 3 cannot be read"):
        asyncio.run(store.load("r1"))
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM tether_events WHERE seq = 3")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=r"seq 4 cannot be read \(.*colour"):
        asyncio.run(store.load("r1"))
    asyncio.run(store.close())


#: A stored row nested deeper than Python's JSON parser goes (a corrupt or hostile store).
TOO_DEEP = '{"type": "turn_started", "turn": 1, "agent": ' + "[" * 5_000 + "]" * 5_000 + "}"


async def _overwrite_row(store: Store, run_id: str, seq: int, data: str) -> None:
    if isinstance(store, SQLiteStore):
        await store.close()

        def write() -> None:
            conn = sqlite3.connect(store.path)
            conn.execute(
                "UPDATE tether_events SET data = ? WHERE run_id = ? AND seq = ?",
                (data, run_id, seq),
            )
            conn.commit()
            conn.close()

        await asyncio.to_thread(write)
        return
    import psycopg

    from tether.store.postgres import PostgresStore

    assert isinstance(store, PostgresStore)
    async with await psycopg.AsyncConnection.connect(store.url, autocommit=True) as conn:
        await conn.execute(
            f'UPDATE "{store.schema}".tether_events SET data = %s WHERE run_id = %s AND seq = %s',
            (data, run_id, seq),
        )


async def test_a_row_nested_past_the_parser_is_a_store_error_naming_run_and_seq(
    sql_store: Store, tmp_path: Path
) -> None:
    """Loading a stored row (or reading a trace line) nested deeper than Python parses is a
    typed error naming where it is, as any unreadable row: it was a raw RecursionError."""
    await sql_store.append("r1", a_run("r1"))
    await _overwrite_row(sql_store, "r1", 2, TOO_DEEP)
    with pytest.raises(StoreError, match=r"run 'r1': the stored event at seq 2 cannot be read"):
        await sql_store.load("r1")
    with pytest.raises(StoreError, match=r"seq 2 cannot be read"):
        await Runner(store=sql_store, telemetry=None).resume("r1")
    from tether.errors import UserError
    from tether.tracing.files import read_events

    trace = tmp_path / "deep.jsonl"
    started = a_run("r1")[0].to_dict()
    trace.write_text(json.dumps(started) + "\n" + TOO_DEEP + "\n")
    with pytest.raises(UserError, match=r"deep.jsonl:2: not an event .*nested too deeply"):
        read_events(trace)


async def test_run_started_with_surrogates_in_metadata(store: Store) -> None:
    events = stamp("r2", [RunStarted(agent="bot", input=[], metadata={"f": BAD_FILE_NAME})])
    await store.append("r2", events)
    assert (await store.load("r2"))[0].metadata == {"f": BAD_FILE_NAME}


async def test_a_deleted_sqlite_file_fails_the_next_checkpoint_loudly(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = SQLiteStore(path)
    events = a_run("r1")
    await store.append("r1", events[:2])
    # What `rm -rf .tether` does under a running process:
    await asyncio.to_thread(lambda: [leftover.unlink() for leftover in tmp_path.iterdir()])
    with pytest.raises(StoreError, match=r"runs.db was deleted or replaced while tether had it"):
        await store.append("r1", events[2:])
    with pytest.raises(StoreError, match="deleted or replaced"):
        await store.load("r1")
    await store.close()
    # Reopened, the store starts a new file rather than writing into the lost one.
    await store.append("r9", a_run("r9"))
    assert await asyncio.to_thread(path.is_file) and len(await store.load("r9")) == 5
    await store.close()


async def test_a_full_disk_is_reported_as_such(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "runs.db")
    await store.append("r0", a_run("r0"))
    pages = await store.worker.call(lambda conn: conn.execute("PRAGMA page_count").fetchone()[0])
    await store.worker.call(lambda conn: conn.execute(f"PRAGMA max_page_count={pages + 2}"))
    events = a_run("r1")
    events[0].metadata = {"blob": "x" * 200_000}
    with pytest.raises(StoreError, match=r"run 'r1': cannot checkpoint .*database or disk is full"):
        await store.append("r1", events)
    assert await store.load("r1") == []
    await store.close()


@pytest.mark.allow_blocking
def test_a_relative_path_and_a_later_chdir_are_no_false_alarm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = SQLiteStore("rel/runs.db")

    async def go() -> None:
        await store.append("r1", a_run("r1")[:2])
        (tmp_path / "elsewhere").mkdir()
        monkeypatch.chdir(tmp_path / "elsewhere")
        await store.append("r1", a_run("r1")[2:])
        assert len(await store.load("r1")) == 5
        await store.close()

    asyncio.run(go())


async def test_a_stored_log_of_a_newer_format_is_a_log_format_error_naming_it(
    sql_store: Store,
) -> None:
    """Loading a log written by a newer tether (format_version 99) fails with one error that is
    both a StoreError (the run and position) and a LogFormatError (the version), whichever a
    caller catches; a resume through a Runner raises the same."""
    events = a_run("r1")
    events[0].format_version = 99  # type: ignore[attr-defined]
    await sql_store.append("r1", events[:1])
    with pytest.raises(LogFormatError, match="format version 99, newer than") as caught:
        await sql_store.load("r1")
    assert isinstance(caught.value, StoreError)
    assert (caught.value.version, caught.value.run_id, caught.value.seq) == (99, "r1", 1)
    with pytest.raises(LogFormatError) as resumed:
        await Runner(store=sql_store, telemetry=None).resume("r1")
    assert resumed.value.version == 99
