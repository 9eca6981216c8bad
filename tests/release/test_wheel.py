"""The built package, installed the way users install it: a wheel in a fresh venv, no source tree.

One wheel is built (``python -m build``) per session; each test makes a new venv with uv, installs
the wheel (bare, or with one extra) and runs ``tether --version`` and the quickstart there, from a
working directory outside the repository so nothing resolves to ``src/``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"
EXTRAS = sorted(
    name
    for name in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    if name not in {"all", "dev", "docs"}
)


def _run(cmd: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env.pop("OPENAI_API_KEY", None)
    env.pop("ANTHROPIC_API_KEY", None)
    done = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run(
        [sys.executable, "-m", "build", "--wheel", "--installer", "uv", "-o", str(out), str(ROOT)],
        cwd=out,
    )
    (found,) = out.glob("tether-*.whl")
    return found


def _venv(tmp: Path, wheel: Path, extra: str | None) -> Path:
    venv = tmp / "venv"
    _run([str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)], cwd=tmp)
    spec = f"tether[{extra}] @ {wheel.as_uri()}" if extra else str(wheel)
    _run(
        [str(UV), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), spec], tmp
    )
    return venv


def _check_installed(venv: Path, tmp: Path) -> None:
    python = str(venv / "bin" / "python")
    where = _run([python, "-c", "import tether; print(tether.__file__)"], tmp).stdout
    assert str(venv) in where and str(ROOT / "src") not in where
    version = _run([str(venv / "bin" / "tether"), "--version"], tmp).stdout
    assert version.startswith("tether ")
    quickstart = tmp / "quickstart.py"
    shutil.copy(ROOT / "examples" / "quickstart.py", quickstart)
    out = _run([python, str(quickstart)], tmp).stdout
    assert "1,090,000" in out


def test_sdist_and_wheel_build(tmp_path: Path) -> None:
    _run([sys.executable, "-m", "build", "--installer", "uv", "-o", str(tmp_path), str(ROOT)], ROOT)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert [n.rsplit("-", 1)[-1] if n.endswith(".whl") else n[-7:] for n in names] == [
        "any.whl",
        ".tar.gz",
    ]


def test_wheel_without_extras(tmp_path: Path, wheel: Path) -> None:
    venv = _venv(tmp_path, wheel, None)
    _check_installed(venv, tmp_path)
    # The core installs none of the optional engines.
    probe = (
        "import importlib.util as u;"
        "print([m for m in ('starlette', 'ray', 'temporalio') if u.find_spec(m)])"
    )
    assert _run([str(venv / "bin" / "python"), "-c", probe], tmp_path).stdout.strip() == "[]"


@pytest.mark.parametrize("extra", EXTRAS)
def test_wheel_with_each_extra(tmp_path: Path, wheel: Path, extra: str) -> None:
    _check_installed(_venv(tmp_path, wheel, extra), tmp_path)


# What needs an extra, and a line of code that uses it (run in the core-only venv).
NEEDS_EXTRA = {
    "server": (
        "from tether import Runner; import tether.server as s; s.create_app(Runner(store=None))"
    ),
    "ui": "from tether.ui import create_app; create_app('.')",
    "postgres": "from tether.store import open_store; open_store('postgresql://u@127.0.0.1:1/db')",
    "a2a": "from tether.a2a import A2AAgent",
    "ray": (
        "from tether.distributed import run_many_sync;"
        "run_many_sync('a:b', ['x'], engine='ray', store='sqlite:///x.db')"
    ),
    "otel": "from tether.tracing.otel import OtelExporter; OtelExporter()",
    "evals": "from tether.evals import Dataset; Dataset.from_yaml('- {name: a, input: b}')",
    "wordllama": "from tether.memory import WordLlamaEmbedder; WordLlamaEmbedder()",
    "temporal": (
        "from tether import Agent; from tether.durable import TemporalDurability;"
        "TemporalDurability([Agent('a', model='openai:gpt-4o')])"
    ),
    "dbos": (
        "from tether import Agent, RunConfig, Runner; from tether.durable import DBOSDurability;"
        "from tether.models import FakeModel;"
        "Runner(store=None).run_sync(Agent('a', model=FakeModel().add_response('x')), 'hi',"
        " run_config=RunConfig(durability=DBOSDurability()))"
    ),
    "mcp": (
        "import asyncio; from tether.mcp import MCPServerStdio;"
        "asyncio.run(MCPServerStdio('x').__aenter__())"
    ),
    "anthropic": (
        "import asyncio; from tether import Agent;"
        "from tether.models import AnthropicModel;"
        "Agent('a', model=AnthropicModel('claude-x', api_key='k')).run_sync('hi')"
    ),
}


def test_core_only_install_names_the_extra_to_install(tmp_path: Path, wheel: Path) -> None:
    venv = _venv(tmp_path, wheel, None)
    python = str(venv / "bin" / "python")
    for extra, code in NEEDS_EXTRA.items():
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        done = subprocess.run(
            [python, "-W", "ignore", "-c", code],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        last = (done.stderr.strip().splitlines() or [""])[-1]
        assert done.returncode != 0, f"{extra}: ran without its extra"
        assert f'pip install "tether[{extra}]"' in last, f"{extra}: {last}"
