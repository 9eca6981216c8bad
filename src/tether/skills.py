"""Skills: folders of instructions and scripts an agent can read and run under a sandbox.

A skill is a folder holding ``SKILL.md`` (a short front matter with ``name`` and
``description``, then the instructions) and any files it needs, scripts under ``scripts/``::

    skills/
      csv-report/
        SKILL.md
        scripts/summarize.py

:class:`SkillSet` turns a folder of skills into three tools (``read_skill``,
``read_skill_file``, ``run_skill_script``) and a paragraph of instructions that lists them, so
the model reads a skill only when it needs it. Scripts run in a :class:`Sandbox`: a fresh copy of
the skill folder as working directory, a minimal environment, CPU, memory, file-size and time
limits, no network where the machine allows it, output cut to a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import Retry, UserError
from .tools import Tool

__all__ = ["Sandbox", "Skill", "SkillSet", "load_skills"]

_INTERPRETERS = {".py": [sys.executable, "-I"], ".sh": ["bash"]}


@dataclass(frozen=True)
class Skill:
    """One skill: its name, when to use it, its instructions and its folder."""

    name: str
    description: str
    instructions: str
    path: Path

    def files(self) -> list[str]:
        """The skill's files, relative to its folder."""
        return sorted(str(p.relative_to(self.path)) for p in self.path.rglob("*") if p.is_file())


def _parse_skill(folder: Path) -> Skill:
    text = (folder / "SKILL.md").read_text(encoding="utf-8")
    meta: dict[str, str] = {}
    body = text
    if text.startswith("---"):
        head, sep, rest = text[3:].partition("\n---")
        if not sep:
            raise UserError(f"{folder / 'SKILL.md'}: the front matter has no closing '---'")
        for line in head.strip().splitlines():
            key, colon, value = line.partition(":")
            if colon:
                meta[key.strip()] = value.strip().strip("\"'")
        body = rest.lstrip("\n")
    name = meta.get("name") or folder.name
    description = meta.get("description")
    if not description:
        raise UserError(f"{folder / 'SKILL.md'}: give the skill a `description:` in front matter")
    return Skill(name, description, body.strip(), folder.resolve())


def load_skills(folder: str | Path) -> list[Skill]:
    """Every skill under ``folder`` (each sub-folder that holds a SKILL.md)."""
    root = Path(folder)
    if not root.is_dir():
        raise UserError(f"skills folder {str(root)!r} does not exist")
    skills = [_parse_skill(p) for p in sorted(root.iterdir()) if (p / "SKILL.md").is_file()]
    names = [s.name for s in skills]
    duplicated = {n for n in names if names.count(n) > 1}
    if duplicated:
        raise UserError(f"two skills share the name(s): {', '.join(sorted(duplicated))}")
    return skills


@dataclass(frozen=True)
class Sandbox:
    """Limits for running a skill's scripts.

    ``timeout`` (wall seconds), ``cpu_seconds``, ``memory_mb`` (address space), ``max_file_mb``
    (largest file a script may write) and ``max_output_chars`` (stdout and stderr each, as the
    model sees them). ``network=False`` runs the script in a network namespace of its own (no
    interfaces) when ``unshare`` can make one, which needs root; elsewhere the script keeps the
    machine's network, and :attr:`network_isolated` says so.
    """

    timeout: float = 30.0
    cpu_seconds: int = 30
    memory_mb: int = 1024
    max_file_mb: int = 64
    max_output_chars: int = 20_000
    network: bool = False

    @property
    def network_isolated(self) -> bool:
        """Whether scripts really run without network here."""
        return not self.network and _can_unshare_net()

    def _limit(self) -> None:  # runs in the child, between fork and exec
        import resource

        resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_seconds, self.cpu_seconds))
        memory = self.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        size = self.max_file_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    async def run(self, workdir: Path, argv: list[str]) -> dict[str, Any]:
        """Run ``argv`` in ``workdir`` under the limits; exit code and (cut) output."""
        command = list(argv)
        if self.network_isolated:
            command = ["unshare", "--net", "--", *command]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=workdir,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=self._limit,
            start_new_session=True,
        )
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), self.timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            await process.wait()
            raise Retry(f"the script ran longer than {self.timeout:g}s and was stopped") from None
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, 9)
                await process.wait()
        return {
            "exit_code": process.returncode,
            "stdout": _cut(stdout.decode(errors="replace"), self.max_output_chars),
            "stderr": _cut(stderr.decode(errors="replace"), self.max_output_chars),
        }


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n[cut: {len(text) - limit} more]"


_UNSHARE: bool | None = None


def _can_unshare_net() -> bool:
    global _UNSHARE
    if _UNSHARE is None:
        import subprocess

        _UNSHARE = (
            shutil.which("unshare") is not None
            and subprocess.run(
                ["unshare", "--net", "true"], capture_output=True, check=False
            ).returncode
            == 0
        )
    return _UNSHARE


class SkillSet:
    """Skills offered to an agent: ``Agent(tools=skills.tools(), instructions=...)``."""

    def __init__(self, skills: str | Path | Sequence[Skill], *, sandbox: Sandbox | None = None):
        self.skills = {
            s.name: s for s in (load_skills(skills) if isinstance(skills, str | Path) else skills)
        }
        self.sandbox = sandbox or Sandbox()
        if self.sandbox.network is False:
            _can_unshare_net()  # decided once, here, not on the event loop

    def prompt(self) -> str:
        """Instructions that list the skills and how to use them."""
        lines = [f"- {s.name}: {s.description}" for s in self.skills.values()]
        return (
            "You have these skills. Before using one, read its instructions with read_skill; "
            "run its scripts with run_skill_script.\n" + "\n".join(lines)
        )

    def _skill(self, name: str) -> Skill:
        found = self.skills.get(name)
        if found is None:
            raise Retry(f"There is no skill {name!r}; skills: {', '.join(self.skills)}.")
        return found

    def _inside(self, skill: Skill, relative: str) -> Path:
        target = (skill.path / relative).resolve()
        if not target.is_relative_to(skill.path) or not target.is_file():
            raise Retry(
                f"Skill {skill.name!r} has no file {relative!r}; its files: "
                f"{', '.join(skill.files())}."
            )
        return target

    def tools(self) -> list[Tool[Any]]:
        """The three tools the model uses skills through."""

        async def read_skill(name: str) -> str:
            """Read a skill's instructions and the list of its files.

            Args:
                name: The skill's name.
            """
            skill = self._skill(name)
            return f"{skill.instructions}\n\nFiles: {', '.join(skill.files())}"

        async def read_skill_file(name: str, path: str) -> str:
            """Read one file of a skill.

            Args:
                name: The skill's name.
                path: The file's path inside the skill, e.g. scripts/run.py.
            """
            skill = self._skill(name)
            target = self._inside(skill, path)
            text = await asyncio.to_thread(target.read_text, encoding="utf-8", errors="replace")
            return _cut(text, self.sandbox.max_output_chars)

        async def run_skill_script(name: str, script: str, args: list[str] | None = None) -> Any:
            """Run one of a skill's scripts (.py or .sh) in a sandbox; returns exit code and output.

            Args:
                name: The skill's name.
                script: The script's path inside the skill, e.g. scripts/run.py.
                args: Command-line arguments for the script.
            """
            skill = self._skill(name)
            target = self._inside(skill, script)
            interpreter = _INTERPRETERS.get(target.suffix)
            if interpreter is None:
                raise Retry(f"Only .py and .sh scripts can be run, not {script!r}.")
            workdir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="tether-skill-"))
            try:
                copy = workdir / "skill"
                await asyncio.to_thread(shutil.copytree, skill.path, copy)
                relative = str(target.relative_to(skill.path))
                return await self.sandbox.run(copy, [*interpreter, relative, *(args or [])])
            finally:
                await asyncio.to_thread(shutil.rmtree, workdir, True)

        return [Tool(read_skill), Tool(read_skill_file), Tool(run_skill_script)]
