"""MCP servers written by others (mcp-server-time, mcp-server-git) driven through a tether agent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tether import Agent
from tether.mcp import MCPServerStdio
from tether.models import FunctionModel

pytestmark = pytest.mark.allow_blocking  # the MCP SDK spawns and reads its subprocess itself

BIN = Path(sys.executable).parent


def _script(calls: list[tuple[str, dict[str, Any]]], final: str) -> FunctionModel:
    """A model that makes ``calls`` one turn each, then answers with the tool results seen."""

    def answer(messages: list[Any], info: Any) -> Any:
        done = sum(1 for m in messages if m.role == "tool")
        if done < len(calls):
            return FunctionModel.tool_call(*calls[done])
        return final

    return FunctionModel(answer)


async def test_mcp_server_time() -> None:
    server = MCPServerStdio(str(BIN / "mcp-server-time"), ["--local-timezone", "UTC"])
    async with server:
        tools = await server.list_tools()
        by_name = {t.name: t for t in tools}
        assert set(by_name) >= {"get_current_time", "convert_time"}
        convert = by_name["convert_time"].parameters
        assert convert["required"] == ["source_timezone", "time", "target_timezone"]
        assert "IANA timezone" in convert["properties"]["source_timezone"]["description"]
        model = _script(
            [
                ("get_current_time", {"timezone": "Europe/Paris"}),
                (
                    "convert_time",
                    {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"},
                ),
                ("get_current_time", {"timezone": "Mars/Olympus"}),
                ("convert_time", {"source_timezone": "UTC"}),
            ],
            "It is 21:00 in Tokyo.",
        )
        agent = Agent("clock", model=model, tools=tools, retries=3)
        result = await agent.run("What time is it in Tokyo when it is noon UTC?")
    assert result.output == "It is 21:00 in Tokyo."
    paris, tokyo, mars, missing = result.tool_executions
    assert paris.output["timezone"] == "Europe/Paris" and paris.error is None
    assert tokyo.output["target"]["datetime"].endswith("T21:00:00+09:00")
    assert tokyo.output["time_difference"] == "+9.0h"
    assert mars.output is None and "Invalid timezone" in (mars.error or "")
    assert missing.output is None
    assert "time: Field required" in (missing.error or "")  # checked before anything is sent


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    env = {
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
        "HOME": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "config", "user.email", "test@example.invalid"],
        ["git", "config", "user.name", "Test"],
    ):
        subprocess.run(argv, cwd=path, check=True, env=env, timeout=30)
    (path / "notes.txt").write_text("first\n")
    subprocess.run(["git", "add", "notes.txt"], cwd=path, check=True, env=env, timeout=30)
    subprocess.run(
        ["git", "commit", "-q", "-m", "First notes"], cwd=path, check=True, env=env, timeout=30
    )
    (path / "notes.txt").write_text("first\nsecond\n")
    return path


async def test_mcp_server_git(repo: Path) -> None:
    server = MCPServerStdio(str(BIN / "mcp-server-git"), ["--repository", str(repo)], prefix="git")
    async with server:
        tools = await server.list_tools()
        by_name = {t.name: t for t in tools}
        assert {"git_git_status", "git_git_log", "git_git_diff_unstaged"} <= set(by_name)
        add_schema = by_name["git_git_add"].parameters
        assert add_schema["properties"]["files"]["type"] == "array"
        model = _script(
            [
                ("git_git_status", {"repo_path": str(repo)}),
                ("git_git_log", {"repo_path": str(repo), "max_count": 5}),
                ("git_git_diff_unstaged", {"repo_path": str(repo)}),
                ("git_git_add", {"repo_path": str(repo), "files": []}),
                ("git_git_status", {"repo_path": 42}),
                ("git_git_show", {"repo_path": str(repo), "revision": "no-such-revision"}),
            ],
            "notes.txt has one new line.",
        )
        agent = Agent("gitter", model=model, tools=tools, retries=5)
        result = await agent.run("What changed?")
    assert result.output == "notes.txt has one new line."
    status, log, diff, empty_add, bad_type, bad_rev = result.tool_executions
    assert "notes.txt" in status.output and status.error is None
    assert "First notes" in log.output
    assert "+second" in diff.output
    for failed in (empty_add, bad_type, bad_rev):
        assert failed.output is None and failed.error, json.dumps(failed.error)
    assert "repo_path" in (bad_type.error or "")
