"""Auth (bearer keys), the body size limit, the A2A mount, and `tether serve`'s refusals."""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import tether
from tether import Runner
from tether.errors import UserError
from tether.server import ServerConfig, create_app
from tether.server._config import read_key_file
from tether.server._targets import load_runner
from tether.store.sqlite import SQLiteStore

from .agents import build_agents
from .conftest import LiveServer, serve


@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path = tmp_path_factory.mktemp("auth") / "runs.db"
    runner = Runner(store=f"sqlite:///{path}", telemetry=None, agents=build_agents())
    config = ServerConfig(
        api_keys=("key-one", "key-two"), max_body_bytes=2048, sweep_interval=0, a2a=False
    )
    server = serve(runner, config)
    yield server
    server.stop()


async def test_keys_are_required_everywhere_but_healthz(guarded_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=guarded_server.url) as client:
        assert (await client.get("/healthz")).status_code == 200
        for path in ("/v1/agents", "/metrics", "/v1/models", "/openapi.json", "/v1/runs/x"):
            missing = await client.get(path)
            assert missing.status_code == 401, path
            assert missing.json()["error"]["type"] == "unauthorized"
            assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = await client.get("/v1/agents", headers={"Authorization": "Bearer key-three"})
        assert wrong.status_code == 401 and "not valid" in wrong.json()["error"]["message"]
        basic = await client.get("/v1/agents", headers={"Authorization": "Basic a2V5LW9uZQ=="})
        assert basic.status_code == 401
        for key in ("key-one", "key-two"):
            right = await client.get("/v1/agents", headers={"Authorization": f"Bearer {key}"})
            assert right.status_code == 200
        body = {"agent": "helper", "input": "x" * 4000}
        headers = {"Authorization": "Bearer key-one"}
        too_big = await client.post("/v1/runs", json=body, headers=headers)
        assert too_big.status_code == 413
        assert "2048 bytes" in too_big.json()["error"]["message"]
        # an unauthenticated large body is refused for the key, before its size matters
        assert (await client.post("/v1/runs", json=body)).status_code == 401


def test_keys_from_the_environment_and_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TETHER_API_KEYS", " a , b ,")
    assert ServerConfig.from_env().api_keys == ("a", "b")
    path = tmp_path / "keys"
    path.write_text("# our keys\nfirst\n\nsecond\n")
    assert read_key_file(path) == ("first", "second")
    path.write_text("# none\n")
    with pytest.raises(UserError, match="holds no key"):
        read_key_file(path)
    with pytest.raises(UserError, match="cannot read the API key file"):
        read_key_file(tmp_path / "missing")
    with pytest.raises(UserError, match="max_body_bytes"):
        ServerConfig(max_body_bytes=0)
    with pytest.raises(UserError, match="lease_ttl"):
        ServerConfig(lease_ttl=0)


def test_create_app_refuses_what_cannot_be_served() -> None:
    with pytest.raises(UserError, match="needs a Runner with a store"):
        create_app(Runner(store=None, telemetry=None, agents=build_agents()))
    with pytest.raises(UserError, match="serves no agent"):
        create_app(Runner(store="memory://", telemetry=None))


def test_a2a_routes_are_mounted_from_tether_a2a(monkeypatch: pytest.MonkeyPatch) -> None:
    # tether.a2a (another package of tether, slow to import) is stood in for by a module with
    # the same contract: routes(runner, max_body=N) -> list of Starlette routes.
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    seen: list[Runner] = []
    limits: list[int] = []

    def routes(runner: Runner, *, max_body: int) -> list[Route]:
        seen.append(runner)
        limits.append(max_body)
        return [Route("/a2a-probe", lambda request: PlainTextResponse("a2a"))]

    stand_in = types.ModuleType("tether.a2a")
    stand_in.routes = routes  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tether.a2a", stand_in)
    # `import tether.a2a` reads the package attribute first, set once the real one was imported.
    monkeypatch.setattr(tether, "a2a", stand_in, raising=False)
    runner = Runner(store="memory://", telemetry=None, agents=build_agents())
    with_a2a = create_app(runner, ServerConfig(sweep_interval=0, max_body_bytes=4096))
    assert seen == [runner] and limits == [4096]  # the server's body limit holds for A2A too
    assert "/a2a-probe" in [getattr(r, "path", "") for r in with_a2a.routes]
    without = create_app(runner, ServerConfig(sweep_interval=0, a2a=False))
    assert "/a2a-probe" not in [getattr(r, "path", "") for r in without.routes]


def test_load_runner_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "served_app.py").write_text(
        "from tether import Agent, Runner\n"
        "agent = Agent('one', model='test')\n"
        "agents = [agent, Agent('two', model='test')]\n"
        "runner = Runner(store='memory://', agents=agents)\n"
        "number = 3\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    db = f"sqlite:///{tmp_path / 'x.db'}"
    assert load_runner("served_app:agent", db).get_agent("one") is not None
    both = load_runner("served_app:agents", db)
    assert both.get_agent("two") is not None
    assert load_runner("served_app:runner", None).get_agent("one") is not None
    # --store replaces a Runner's own store (here memory://) while it is not open yet
    served = load_runner("served_app:runner", db)
    assert served.get_agent("one") is not None
    assert isinstance(served.store, SQLiteStore)
    with pytest.raises(UserError, match="already open"):
        load_runner("served_app:runner", f"sqlite:///{tmp_path / 'y.db'}")
    with pytest.raises(UserError, match="must be an Agent"):
        load_runner("served_app:number", db)
    with pytest.raises(UserError, match="has no attribute"):
        load_runner("served_app:ghost", db)
    with pytest.raises(UserError, match="cannot import"):
        load_runner("no_such_module_here:agent", db)
    with pytest.raises(UserError, match=r"must be given as 'package\.module:variable'"):
        load_runner("served_app", db)
    # a file by its path, as every command takes it
    assert load_runner(f"{tmp_path / 'served_app.py'}:agent", db).get_agent("one") is not None


def test_serve_refuses_a_public_address_without_keys(tmp_path: Path) -> None:
    (tmp_path / "served_app.py").write_text(
        "from tether import Agent\nagent = Agent('a', model='test')\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    command = [sys.executable, "-m", "tether.cli", "serve", "served_app:agent", "--host", "0.0.0.0"]
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "only binds to loopback" in done.stderr and "--insecure-no-auth" in done.stderr
