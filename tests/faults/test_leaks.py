"""Nothing planted reaches disk or the Result: PII under redaction, and secrets, searched for in
every file a run leaves (store, JSONL, JSON) and in the Result."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from tether import Agent, FailSafeConfig, RunConfig, Runner
from tether.governance import PIIRedactionHook, PolicyHooks
from tether.models import FakeModel
from tether.store.sqlite import SQLiteStore
from tether.tracing.json import JsonExporter
from tether.tracing.jsonl import JsonlExporter
from tether.tracing.redact import (
    env_secrets,
    forget_secrets,
    register_secrets,
    scrub_secrets,
    scrub_secrets_bytes,
)

EMAIL = "jane.doe@example.org"
PHONE = "+1 415 555 0134"
CARD = "4111 1111 1111 1111"
DB_PASSWORD = 'pa"ss\\w0rd-Xq9'  # a quote and a backslash: JSON escapes both
DB_URL = f"postgresql://app:{DB_PASSWORD}@db.internal:5432/app"
SESSION_PASSWORD = "Hunter2-Hunter2"
REGISTERED = "vault-7f3e9a1c55d2"


def files_text(folder: Path) -> str:
    chunks = []
    for root, _, names in os.walk(folder):
        for name in names:
            chunks.append(Path(root, name).read_bytes().decode("utf-8", "replace"))
    return "\n".join(chunks)


@pytest.mark.allow_blocking
def test_secret_forms_are_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", DB_URL)
    monkeypatch.setenv("SMTP_PASSWORD", SESSION_PASSWORD)
    monkeypatch.setenv("SHORT_PASS", "abc")  # too short to scrub: ordinary words survive
    register_secrets(REGISTERED)
    try:
        known = env_secrets()
        escaped = json.dumps({"error": f"login {DB_PASSWORD} / {SESSION_PASSWORD} {REGISTERED}"})
        assert DB_PASSWORD not in escaped  # only its escaped form is there
        out = scrub_secrets(escaped, known)
        assert "Hunter2" not in out and "w0rd" not in out and "vault-" not in out
        assert out.count("[secret]") == 3
        nested = json.dumps(json.dumps({"p": DB_PASSWORD}))  # JSON in a JSON string
        assert "w0rd" not in scrub_secrets(nested, known)
        assert "w0rd" not in scrub_secrets_bytes(escaped.encode(), known).decode()
        assert scrub_secrets("redis://:s3cretpassw0rd@cache:6379/0") == (
            "redis://:[secret]@cache:6379/0"
        )
        assert scrub_secrets("abc and https://example.com/x") == "abc and https://example.com/x"
    finally:
        forget_secrets(REGISTERED)
    assert REGISTERED not in env_secrets()


async def test_pii_and_secrets_reach_no_file_and_no_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_DATABASE_URL", DB_URL)
    monkeypatch.setenv("SMTP_PASSWORD", SESSION_PASSWORD)
    model = (
        FakeModel()
        .add_tool_call("lookup", {"who": "the customer"})
        .add_tool_call("lookup", {"who": "fail"})
        .add_response("done")
    )
    bot = Agent("crm", model=model)

    @bot.tool
    def lookup(who: str) -> dict[str, object]:
        """Find a customer."""
        if who == "fail":
            raise RuntimeError(f"cannot reach {DB_URL} for {EMAIL}")
        return {"email": EMAIL, "phone": PHONE, "cards": [CARD], "note": f"pw {SESSION_PASSWORD}"}

    store = SQLiteStore(tmp_path / "store" / "runs.db")
    runner = Runner(
        store=store,
        telemetry=[JsonlExporter(tmp_path / "traces"), JsonExporter(tmp_path / "traces")],
        policy_hooks=PolicyHooks(pii_redaction=PIIRedactionHook()),
    )
    result = await runner.run(bot, f"Write to {EMAIL} or call {PHONE}; card {CARD}", thread_id="t")
    assert result.state in ("completed", "degraded")
    assert [t.error is None for t in result.tool_executions] == [True, False]
    await runner.aclose()
    planted = (EMAIL, PHONE, CARD, "w0rd", SESSION_PASSWORD)
    seen_in_result = repr(result.tool_executions) + repr(result.messages) + str(result)
    on_disk = await asyncio.to_thread(files_text, tmp_path)
    for value in planted[:3]:
        assert value not in seen_in_result, value
        assert value not in on_disk, value
    for secret in planted[3:]:  # a tool's output is the app's data; traces never hold secrets
        assert secret not in await asyncio.to_thread(files_text, tmp_path / "traces"), secret


async def test_a_secret_in_a_tool_error_reaches_neither_store_nor_model_nor_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The error text is tether's own (it quotes the exception): it goes to the model (another
    # host), the store and the Result, so a secret quoted in it is scrubbed everywhere.
    monkeypatch.setenv("APP_DATABASE_URL", DB_URL)
    monkeypatch.setenv("SMTP_PASSWORD", SESSION_PASSWORD)
    model = FakeModel().add_tool_call("connect", {}).add_tool_call("fatal", {}).add_response("x")
    bot = Agent("db", model=model)

    @bot.tool
    def connect() -> str:
        """Connect to the database."""
        raise ConnectionError(f"cannot log in to {DB_URL} with {SESSION_PASSWORD}")

    store = SQLiteStore(tmp_path / "runs.db")
    runner = Runner(store=store, telemetry=None)
    result = await runner.run(bot, "connect")
    await runner.aclose()
    assert result.tool_executions[0].error is not None
    assert "[secret]" in result.tool_executions[0].error
    sent = repr(result.messages)
    on_disk = await asyncio.to_thread(files_text, tmp_path)
    for secret in ("w0rd", SESSION_PASSWORD):
        assert secret not in repr(result.tool_executions) + sent + str(result), secret
        assert secret not in on_disk, secret

    failing = Agent("db2", model=FakeModel().add_tool_call("boom", {}))

    @failing.tool
    def boom() -> str:
        """Fails the run."""
        raise RuntimeError(f"token {SESSION_PASSWORD}")

    runner = Runner(store=SQLiteStore(tmp_path / "two.db"), telemetry=None)
    fail_run = RunConfig(fail_safe=FailSafeConfig(tool="fail_run"))
    with pytest.raises(RuntimeError):  # the caller gets its own exception back, as raised
        await runner.run(failing, "x", run_id="r2", run_config=fail_run)
    state = await runner.load_state("r2")
    await runner.aclose()
    assert state is not None and state.status == "failed"
    assert "[secret]" in (state.error or "") and SESSION_PASSWORD not in (state.error or "")
    assert SESSION_PASSWORD not in await asyncio.to_thread(files_text, tmp_path)


async def test_pii_from_a_waiting_subagent_reaches_no_file_and_no_result(tmp_path: Path) -> None:
    clerk_model = FakeModel().add_tool_call("lookup", {}).add_tool_call("refund", {"amount": 5})
    clerk = Agent("clerk", model=clerk_model.add_response("refunded"))

    @clerk.tool
    def lookup() -> dict[str, object]:
        """Find the customer."""
        return {"email": EMAIL, "phone": PHONE, "card": CARD}

    @clerk.tool(needs_approval=True)
    def refund(amount: int) -> str:
        """Refund (approved first)."""
        return f"refunded {amount} to {EMAIL}"

    # the models only ever see redacted text, so they cannot echo the values: the tools and
    # the person's input are where PII comes from, at either level
    desk_model = FakeModel().add_tool_call("clerk", {"input": "refund the customer"})
    desk = Agent("desk", model=desk_model.add_response("done"), tools=[clerk.as_tool()])
    runner = Runner(
        store=SQLiteStore(tmp_path / "store" / "runs.db"),
        telemetry=[JsonlExporter(tmp_path / "traces"), JsonExporter(tmp_path / "traces")],
        policy_hooks=PolicyHooks(pii_redaction=PIIRedactionHook()),
    )
    paused = await runner.run(desk, f"Refund {EMAIL}, card {CARD}")
    call_id = paused.pending_approvals[0].call_id
    done = await runner.resume(paused.run_id, approvals={call_id: True})
    assert done.state == "completed" and len(done.tool_executions) == 3
    await runner.aclose()
    seen = repr(done) + repr(paused) + repr(done.subagent_executions)
    on_disk = await asyncio.to_thread(files_text, tmp_path)
    for value in (EMAIL, PHONE, CARD):
        assert value not in seen, value
        assert value not in on_disk, value


@pytest.mark.parametrize("name", ["GPG_PASSPHRASE", "SSH_KEY_PASSPHRASE", "BACKUP_PASS"])
async def test_a_passphrase_named_variable_is_a_secret_too(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = 'ph"rase\\Zq81-xy'  # escaped in JSON, as traces and the store hold it
    monkeypatch.setenv(name, value)
    bot = Agent("signer", model=FakeModel().add_tool_call("sign", {}).add_response("done"))

    @bot.tool
    def sign() -> str:
        """Sign the backup."""
        raise RuntimeError(f"gpg refused the passphrase {value}")

    runner = Runner(store=SQLiteStore(tmp_path / "runs.db"), telemetry=JsonlExporter(tmp_path))
    result = await runner.run(bot, "sign it")
    await runner.aclose()
    assert "[secret]" in (result.tool_executions[0].error or "")
    assert "Zq81" not in repr(result.tool_executions) + repr(result.messages)
    assert "Zq81" not in await asyncio.to_thread(files_text, tmp_path)
