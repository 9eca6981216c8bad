"""A PostgreSQL outage, through a proxy cut and restored: short ones ride through, long ones
fail as a typed StoreError and leave the run resumable."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator

import pytest
from store.conftest import drop_schema
from store.test_stores import a_run

from tether import Agent, Runner
from tether.models import FakeModel
from tether.store.errors import StoreError
from tether.store.postgres import PostgresStore

from .proxy import Proxy

pytestmark = pytest.mark.postgres


@pytest.fixture
async def through_proxy(
    pg_proxy: tuple[Proxy, str], pg_url: str
) -> AsyncIterator[tuple[Proxy, PostgresStore]]:
    proxy, url = pg_proxy
    schema = f"test_{uuid.uuid4().hex[:12]}"
    store = PostgresStore(url, schema=schema, reconnect_for=2.0)
    yield proxy, store
    await asyncio.to_thread(proxy.restore)
    await store.close()
    await drop_schema(pg_url, schema)


async def test_a_short_outage_rides_through(through_proxy: tuple[Proxy, PostgresStore]) -> None:
    proxy, store = through_proxy
    events = a_run("r1")
    await store.append("r1", events[:2])  # connections are open and idle
    await asyncio.to_thread(proxy.cut)
    timer = threading.Timer(0.2, proxy.restore)
    timer.start()
    try:
        await asyncio.gather(
            store.append("r1", events[2:4]),
            *(store.append(f"other{i}", a_run(f"other{i}")) for i in range(5)),
        )
    finally:
        timer.join()
    await store.append("r1", events[4:])
    assert [e.seq for e in await store.load("r1")] == [1, 2, 3, 4, 5]
    assert len(await store.list_runs()) == 6


async def test_a_long_outage_is_a_store_error_and_the_run_stays_resumable(
    through_proxy: tuple[Proxy, PostgresStore],
) -> None:
    proxy, store = through_proxy
    store._pool.reconnect_for = 0.3
    events = a_run("r1")
    await store.append("r1", events[:2])
    await asyncio.to_thread(proxy.cut)
    with pytest.raises(StoreError, match=r"cannot connect to PostgreSQL .*retried for 0.3 s"):
        await store.append("r1", events[2:4])
    with pytest.raises(StoreError):
        await store.load("r1")
    await asyncio.to_thread(proxy.restore)
    assert [e.seq for e in await store.load("r1")] == [1, 2]  # what was checkpointed stays
    await store.append("r1", events[2:])
    assert (await store.run_info("r1")).status == "completed"  # type: ignore[union-attr]


async def test_a_retried_append_that_had_reached_the_server_is_not_a_conflict(
    through_proxy: tuple[Proxy, PostgresStore],
) -> None:
    proxy, store = through_proxy
    events = a_run("r1")
    await store.append("r1", events[:2])
    calls = 0
    real = store._pool.run

    async def cut_after_first_write(op):  # type: ignore[no-untyped-def]
        async def once(conn):  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            result = await op(conn)
            if calls == 1:  # the write committed, then the connection died
                await asyncio.to_thread(proxy.cut)
                threading.Timer(0.1, proxy.restore).start()
                raise __import__("psycopg").OperationalError("server closed the connection")
            return result

        return await real(once)

    store._pool.run = cut_after_first_write  # type: ignore[method-assign]
    await store.append("r1", events[2:4])
    store._pool.run = real  # type: ignore[method-assign]
    assert calls == 2
    assert [e.seq for e in await store.load("r1")] == [1, 2, 3, 4]


async def test_runs_in_flight_ride_through_a_restart(
    through_proxy: tuple[Proxy, PostgresStore],
) -> None:
    proxy, store = through_proxy
    runner = Runner(store=store, telemetry=None)

    def make(i: int) -> Agent:
        bot = Agent(f"bot{i}", model=FakeModel().add_tool_call("wait", {}).add_response("ok"))

        @bot.tool
        async def wait() -> str:
            """Take a moment."""
            await asyncio.sleep(0.15)
            return "waited"

        return bot

    await store.list_runs()  # connected, schema made
    runs = [asyncio.ensure_future(runner.run(make(i), "go", run_id=f"f{i}")) for i in range(20)]
    await asyncio.sleep(0.05)
    await asyncio.to_thread(proxy.cut)
    await asyncio.sleep(0.2)  # a server restart of 0.2 s
    await asyncio.to_thread(proxy.restore)
    results = await asyncio.gather(*runs)
    assert {r.state for r in results} == {"completed"}
    infos = await store.list_runs()
    assert len(infos) == 20 and {i.status for i in infos} == {"completed"}


async def test_a_read_only_postgres_session_reads_and_refuses_writes_typed(pg_url: str) -> None:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    writer = PostgresStore(pg_url, schema=schema)
    await writer.append("r1", a_run("r1"))
    await writer.close()
    joiner = "&" if "?" in pg_url else "?"
    read_only = f"{pg_url}{joiner}options=-c%20default_transaction_read_only%3Don"
    reader = PostgresStore(read_only, schema=schema)
    try:
        assert len(await reader.load("r1")) == 5  # the schema is current: nothing written
        with pytest.raises(StoreError, match=r"refused the operation: .*read-only transaction"):
            await reader.append("r2", a_run("r2"))
    finally:
        await reader.close()
        await drop_schema(pg_url, schema)


async def test_runs_ride_through_their_backends_being_terminated(pg_url: str) -> None:
    """What a PostgreSQL restart does to the connections a Runner holds, done for real: every
    backend of this store is terminated by another session while runs wait in a tool."""
    import psycopg

    schema = f"test_{uuid.uuid4().hex[:12]}"
    joiner = "&" if "?" in pg_url else "?"
    store = PostgresStore(f"{pg_url}{joiner}application_name={schema}", schema=schema)
    runner = Runner(store=store, telemetry=None)
    release, all_waiting = asyncio.Event(), asyncio.Event()
    waiting = 0

    def make(i: int) -> Agent:
        model = FakeModel().add_tool_call("wait", {}).add_tool_call("wait", {})
        bot = Agent(f"bot{i}", model=model.add_response(f"done {i}"))

        @bot.tool
        async def wait() -> str:
            """Wait for the restart to be over."""
            nonlocal waiting
            waiting += 1
            if waiting == 12:  # every run is in its first tool call, its start checkpointed
                all_waiting.set()
            await release.wait()
            return "waited"

        return bot

    async def streamed(i: int) -> str:
        async for event in runner.run_stream(make(i), "go", run_id=f"s{i}"):
            if event.type == "run_finished":
                text: str = event.result.final_text  # type: ignore[attr-defined]
        return text  # read to the end, as a consumer does

    try:
        plain = [asyncio.ensure_future(runner.run(make(i), "go", run_id=f"p{i}")) for i in range(8)]
        streams = [asyncio.ensure_future(streamed(i)) for i in range(4)]
        await asyncio.wait_for(all_waiting.wait(), 30)
        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as admin:
            cursor = await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (schema,),
            )
            assert len(await cursor.fetchall()) >= 1
        release.set()
        texts = [r.final_text for r in await asyncio.gather(*plain)] + list(
            await asyncio.gather(*streams)
        )
        assert texts == [f"done {i}" for i in range(8)] + [f"done {i}" for i in range(4)]
        infos = await store.list_runs()
        assert len(infos) == 12 and {i.status for i in infos} == {"completed"}
        for info in infos:  # each log whole: started, two tools, finished; nothing twice
            types = [e.type for e in await store.load(info.run_id)]
            assert types.count("tool_call_finished") == 2 and types.count("run_finished") == 1
    finally:
        release.set()
        await runner.aclose()
        await drop_schema(pg_url, schema)
