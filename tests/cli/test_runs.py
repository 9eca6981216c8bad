"""``tether runs ...`` from other processes than the run's: approvals resumed exactly once,
rejection, listing, showing, resuming and cancelling, all against the real SQLite store."""

from __future__ import annotations

import json
import sqlite3
import uuid

import psycopg
import pytest

from .conftest import Cli


def _waiting_run(cli: Cli, *, here: bool = True) -> tuple[str, str]:
    done = (cli.here if here else cli)("run", "cli_app:agent", "deploy it")
    assert done.code == 3, done.out + done.err
    result = json.loads(cli.here("runs", "ls", "--json", "--state", "awaiting_approval").out)
    assert len(result) == 1 and result[0]["state"] == "awaiting_approval"
    run_id, call_id = result[0]["run_id"], result[0]["pending_approvals"][0]
    assert f"tether runs approve {run_id} {call_id}" in done.out  # how to approve is printed
    return run_id, call_id


def test_approved_from_two_processes_at_once_runs_the_tool_exactly_once(cli: Cli) -> None:
    run_id, call_id = _waiting_run(cli, here=False)
    assert cli.executions() == []
    approvers = [cli.popen("runs", "approve", run_id, call_id) for _ in range(2)]
    outcomes = []
    for process in approvers:
        out, err = process.communicate(timeout=60)
        outcomes.append((process.returncode, out, err))
    codes = sorted(code for code, _out, _err in outcomes)
    assert codes == [0, 2], outcomes
    winner = next(o for o in outcomes if o[0] == 0)
    loser = next(o for o in outcomes if o[0] == 2)
    assert "resumed" in winner[1] and "the tool said deployed to prod" in winner[1]
    # the loser lost the race at one of its steps: each says so in one line
    assert loser[2].startswith("tether: ") and len(loser[2].strip().splitlines()) == 1
    assert any(
        words in loser[2]
        for words in ("already approved", "another process", "no pending approval")
    ), loser
    assert cli.executions() == ["deploy prod"]  # exactly once
    shown = json.loads(cli.here("runs", "show", run_id, "--json").out)
    assert shown["state"] == "completed" and shown["pending_approvals"] == []
    decided = [e for e in shown["events"] if e["type"] == "approval_decided"]
    assert len(decided) == 1 and decided[0]["approved"] is True
    again = cli.here("runs", "approve", run_id, call_id)
    assert again.code == 2 and "already approved" in again.err


def test_approve_with_edited_arguments_and_an_expiry(cli: Cli) -> None:
    run_id, call_id = _waiting_run(cli)
    bad = cli.here("runs", "approve", run_id, call_id, "--args", "[1]")
    assert bad.code == 2 and "--args must be a JSON object" in bad.err
    unfit = cli.here("runs", "approve", run_id, call_id, "--args", '{"env": 5}')
    assert unfit.code == 2 and "do not fit tool 'deploy'" in unfit.err
    # recorded with an expiry already past: the resume refuses it and asks again
    lapsed = cli.here(
        "runs", "approve", run_id, call_id, "--expires-at", "2020-01-01T00:00:00+00:00"
    )
    assert lapsed.code == 3, lapsed.out + lapsed.err
    assert cli.executions() == []
    done = cli.here(
        "runs", "approve", run_id, call_id, "--args", '{"env": "staging"}', "--expires-in", "600"
    )
    assert done.code == 0, done.out + done.err
    assert cli.executions() == ["deploy staging"]
    shown = json.loads(cli.here("runs", "show", run_id, "--json").out)
    kinds = [e["type"] for e in shown["events"]]
    assert kinds.count("approval_expired") == 1 and kinds.count("tool_args_edited") == 1


def test_approve_with_the_digest_of_the_arguments_shown(cli: Cli) -> None:
    from tether.governance.approval import args_digest

    run_id, call_id = _waiting_run(cli)
    [pending] = json.loads(cli.here("runs", "show", run_id, "--json").out)["pending_approvals"]
    assert pending["args_digest"] == args_digest({"env": "prod"})  # as the HTTP API lists it
    shown = cli.here("runs", "show", run_id)
    assert f"args digest {pending['args_digest']}" in shown.out
    stale = cli.here("runs", "approve", run_id, call_id, "--args-digest", "0" * 64)
    assert stale.code == 2 and "its args_digest differs" in stale.err
    assert "Traceback" not in stale.err and cli.executions() == []  # nothing recorded or run
    again = json.loads(cli.here("runs", "show", run_id, "--json").out)
    assert [p["call_id"] for p in again["pending_approvals"]] == [call_id]
    done = cli.here("runs", "approve", run_id, call_id, "--args-digest", pending["args_digest"])
    assert done.code == 0, done.out + done.err
    assert cli.executions() == ["deploy prod"]


def test_approving_a_subagent_call_on_the_parent_runs_it_once(cli: Cli) -> None:
    done = cli.here("run", "cli_app:boss", "deploy it")
    assert done.code == 3, done.out + done.err
    listed = json.loads(cli.here("runs", "ls", "--json", "--state", "awaiting_approval").out)
    # the subagent's run waits too; the top run asks for its call under an id of its own
    [waiting] = [r for r in listed if r["parent_run_id"] is None]
    [child] = [r for r in listed if r["parent_run_id"] == waiting["run_id"]]
    run_id, [call_id] = waiting["run_id"], waiting["pending_approvals"]
    assert call_id == f"call_1_0.{child['pending_approvals'][0]}"
    assert f"tether runs approve {run_id} {call_id}" in done.out
    direct = cli.here("runs", "approve", child["run_id"], child["pending_approvals"][0])
    assert direct.code == 2 and f"tether runs approve {run_id} {call_id}" in direct.err
    approved = cli.here("runs", "approve", run_id, call_id)
    assert approved.code == 0, approved.err
    assert "the boss heard: the tool said deployed to prod" in approved.out
    assert cli.executions() == ["deploy prod"]
    shown = json.loads(cli.here("runs", "show", run_id, "--json").out)
    assert shown["state"] == "completed" and shown["pending_approvals"] == []


def test_reject_with_a_reason_reaches_the_model(cli: Cli) -> None:
    run_id, call_id = _waiting_run(cli)
    done = cli("runs", "approve", run_id, call_id, "--reject", "--reason", "not on Fridays")
    assert done.code == 4, done.err  # a rejected call degrades the run (the default policy)
    assert "rejected call_" in done.out
    assert "the tool said The call was rejected: not on Fridays" in done.out
    assert cli.executions() == []


def test_decision_only_recorded_then_resumed(cli: Cli) -> None:
    run_id, call_id = _waiting_run(cli)
    done = cli.here("runs", "approve", run_id, call_id, "--no-resume")
    assert done.code == 0 and "(recorded)" in done.out and cli.executions() == []
    resumed = cli("runs", "resume", run_id)
    assert resumed.code == 0, resumed.err
    assert "the tool said deployed to prod" in resumed.out
    assert cli.executions() == ["deploy prod"]


def test_unknown_runs_and_calls_are_named(cli: Cli) -> None:
    run_id, _call_id = _waiting_run(cli)
    missing = cli.here("runs", "show", "no-such-run")
    assert missing.code == 2 and "no run 'no-such-run' in the store" in missing.err
    wrong = cli.here("runs", "approve", run_id, "call_9")
    assert wrong.code == 2 and "no pending approval 'call_9'" in wrong.err
    assert "pending: call_" in wrong.err
    limit = cli.here("runs", "ls", "--limit", "0")
    assert limit.code == 2 and "--limit must be at least 1" in limit.err


def test_commands_on_stored_runs_never_make_a_store_at_a_mistyped_path(cli: Cli) -> None:
    typo = cli.cwd / "typo" / "runs.db"
    for command in (
        ["runs", "ls"],
        ["runs", "ls", "--json"],
        ["runs", "show", "some-run"],
        ["runs", "approve", "some-run", "call_1"],
        ["runs", "resume", "some-run"],
        ["runs", "answer", "some-run", "call_1", "Ada"],
        ["runs", "deliver", "some-run", "call_1", "done"],
        ["runs", "cancel", "some-run"],
    ):
        done = cli(*command, "--store", f"sqlite:///{typo}")
        assert done.code == 2, (command, done.out + done.err)
        assert done.err == (
            f"tether: no store at {str(typo)!r} (sqlite:///{typo}): check the path (a store is "
            "made by the first run that uses it: tether run, tether serve)\n"
        ), command
        assert done.out == ""
    assert not (cli.cwd / "typo").exists()  # not the file, nor its folder
    # the default store (a relative path) too, from a directory nothing has run in
    cli.env.pop("TETHER_STORE")
    default = cli("runs", "ls")
    assert default.code == 2 and "no store at '.tether/tether.db'" in default.err
    assert not (cli.cwd / ".tether").exists()
    # a command that runs makes the store, and then the others read it
    assert cli("run", "cli_app:agent", "please add", "--store", f"sqlite:///{typo}").code == 0
    listed = cli("runs", "ls", "--json", "--store", f"sqlite:///{typo}")
    assert listed.code == 0 and [r["state"] for r in json.loads(listed.out)] == ["completed"]


def test_ls_filters_show_tree_and_cancel(cli: Cli) -> None:
    sqlite3.connect(cli.cwd / "runs.db").close()  # an empty database: a store with no runs
    assert cli.here("runs", "ls").out.strip() == "no runs in the store"
    assert cli.here("run", "cli_app:agent", "please add").code == 0
    run_id, call_id = _waiting_run(cli)
    listed = cli.here("runs", "ls")
    assert listed.code == 0 and "awaiting_approval" in listed.out and "completed" in listed.out
    assert cli.here("runs", "ls", "--agent", "nobody").out.strip() == "no runs match"
    rows = json.loads(cli.here("runs", "ls", "--json", "--state", "completed").out)
    assert [r["state"] for r in rows] == ["completed"] and rows[0]["turns"] == 2
    shown = cli.here("runs", "show", run_id)
    assert shown.code == 0
    assert "run cli-agent" in shown.out and "approval deploy" in shown.out
    assert f"pending approval {call_id}: deploy" in shown.out
    cancelled = cli.here("runs", "cancel", run_id, "--reason", "superseded")
    assert cancelled.code == 0 and "cancelled" in cancelled.out
    assert json.loads(cli.here("runs", "show", run_id, "--json").out)["state"] == "cancelled"
    twice = cli.here("runs", "cancel", run_id)
    assert twice.code == 2 and "already ended (cancelled)" in twice.err
    late = cli.here("runs", "approve", run_id, call_id)
    assert late.code == 2 and "has ended (cancelled); there is nothing to approve" in late.err
    db = sqlite3.connect(cli.cwd / "runs.db")
    try:
        status = db.execute("SELECT status FROM tether_runs WHERE run_id = ?", (run_id,))
        assert status.fetchone()[0] == "cancelled"
    finally:
        db.close()
    assert cli.executions() == ["add 20 22"]


@pytest.mark.postgres
def test_approval_from_other_processes_on_postgres(cli: Cli) -> None:
    from store.conftest import postgres_url

    url = postgres_url()
    schema = f"test_cli_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    store = f"{url}?options=-csearch_path%3D{schema}"
    try:
        waiting = cli("run", "cli_app:agent", "deploy it", "--json", "--store", store)
        assert waiting.code == 3, waiting.err
        result = json.loads(waiting.out)
        run_id, call_id = result["run_id"], result["pending_approvals"][0]["call_id"]
        approvers = [
            cli.popen("runs", "approve", run_id, call_id, "--store", store) for _ in range(2)
        ]
        for process in approvers:
            process.communicate(timeout=60)
        assert sorted(p.returncode for p in approvers) == [0, 2]
        assert cli.executions() == ["deploy prod"]
        shown = json.loads(cli.here("runs", "show", run_id, "--json", "--store", store).out)
        assert shown["state"] == "completed"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_show_json_scrubs_the_secrets_a_tool_returned(cli: Cli) -> None:
    """The log keeps a tool's own value (``output``); what ``runs show --json`` prints has its
    secrets scrubbed, as the dashboard's pages do."""
    from tether import Agent, Runner
    from tether.models import FakeModel
    from tether.tracing.redact import forget_secrets, register_secrets

    vault = "vault-planted-9f8e7d6c5b4a"
    key = "sk-proj-showJsonLeak0123456789"
    agent = Agent("ops", model=FakeModel().add_tool_call("read", {}).add_response("done"))

    @agent.tool
    def read() -> dict[str, str]:
        """Read the vault."""
        return {"password": vault, "key": key}

    register_secrets(vault)
    try:
        run_id = Runner(store=cli.store, telemetry=None).run_sync(agent, "read it").run_id
        shown = cli.here("runs", "show", run_id, "--json")
    finally:
        forget_secrets(vault)
    assert shown.code == 0, shown.err
    assert vault not in shown.out and key not in shown.out
    finished = [e for e in json.loads(shown.out)["events"] if e["type"] == "tool_call_finished"]
    assert finished[0]["output"] == {"password": "[secret]", "key": "[secret]"}
