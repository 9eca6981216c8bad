"""The serve engine's settings: `--engine`, `--address`, `--ray-workers` and ServerConfig's
engine fields, each bad value a clear error before anything starts (the engine itself runs on a
real Ray cluster in tests/distributed/test_serve_ray.py)."""

from __future__ import annotations

import pytest

from tether import Agent, Runner
from tether.cli import main
from tether.errors import UserError
from tether.models import FunctionModel
from tether.server import ServerConfig, create_app


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"engine": "spark"}, "engine must be 'local' or 'ray'"),
        ({"ray_address": "auto"}, "are for engine='ray'"),
        ({"ray_workers": 2}, "are for engine='ray'"),
        ({"engine": "ray", "ray_workers": 0}, "ray_workers must be at least 1"),
    ],
)
def test_bad_engine_settings_are_clear_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(UserError, match=message):
        ServerConfig(**options)  # type: ignore[arg-type]


def test_the_ray_engine_needs_a_store_the_workers_share() -> None:
    agent = Agent("echo", model=FunctionModel(lambda m, i: "hi"))
    runner = Runner(store="memory://", telemetry=None, agents=[agent])
    with pytest.raises(UserError, match="needs a store the workers share"):
        create_app(runner, ServerConfig(engine="ray", a2a=False))


def test_serve_refuses_an_unknown_engine_and_a_bare_address(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "app:agent", "--engine", "spark"])
    assert exited.value.code == 2
    assert "invalid choice: 'spark'" in capsys.readouterr().err
    assert main(["serve", "app:agent", "--address", "auto"]) == 2
    assert "are for engine='ray'" in capsys.readouterr().err
