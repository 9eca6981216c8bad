"""The peers' own virtual environment, bench/.peers-venv, with pinned versions.

The peers (openai-agents, pydantic-ai) never enter tether's .venv: they are installed here from
bench/peers-requirements.txt and run in subprocesses of this venv's Python. The venv is rebuilt
only when the requirements file changes (its hash is stamped inside the venv).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".peers-venv"
REQUIREMENTS = HERE / "peers-requirements.txt"
STAMP = VENV / ".requirements-sha256"


def python() -> Path:
    """The peers' interpreter (it may not exist yet)."""
    return VENV / "bin" / "python"


def _digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def ensure(log: Callable[[str], None] = print) -> Path | None:
    """Create or refresh the peers' venv; returns its Python, or None when it cannot be built."""
    if python().exists() and STAMP.exists() and STAMP.read_text() == _digest():
        return python()
    log(f"building the peers' venv in {VENV.relative_to(HERE.parent)} ...")
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    try:
        if VENV.exists():
            shutil.rmtree(VENV)
        if uv:
            subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(VENV)], check=True)
            install = [uv, "pip", "install", "-q", "--python", str(python())]
        else:
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
            install = [str(python()), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*install, "-r", str(REQUIREMENTS)], check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        log(f"could not build the peers' venv ({exc}); the peers' columns will be empty")
        return None
    STAMP.write_text(_digest())
    return python()
