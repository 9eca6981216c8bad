"""The bad inputs of tether.durable's plumbing, each a typed error that says what is wrong:
decisions that are not decisions, payloads too large or not picklable, offload references that
are not ones, a decision for a workflow that waits for none."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from tether.durable import DBOSDurability, DurableEngineError, Offload, PayloadTooLarge
from tether.durable._control import check, decision
from tether.durable._payload import pack
from tether.durable._temporal_calls import ActivityModel, _Options
from tether.errors import UserError
from tether.messages import Message
from tether.models import FunctionModel
from tether.models.base import ModelRequest


def test_a_decision_must_name_an_action_and_a_call() -> None:
    with pytest.raises(UserError, match="unknown decision 'maybe'"):
        decision("maybe", "c1")
    with pytest.raises(UserError, match="needs the call id"):
        decision("approve", "")
    with pytest.raises(UserError, match="not a tether decision"):
        check({"approve": ["c1"]}, "approve c1")
    with pytest.raises(UserError, match=r"no question is pending for call 'c1' \(pending: none\)"):
        check({"approve": ["c1"], "respond": []}, decision("respond", "c1", value="yes"))
    assert check({"approve": ["c1"]}, decision("approve", "c1"))["call_id"] == "c1"


def test_a_payload_too_large_or_not_picklable_names_whose_it_is() -> None:
    with pytest.raises(PayloadTooLarge, match=r"the result of tool 'dump' is [\d,]+ bytes, over"):
        pack("x" * 2_000, "the result of tool 'dump'", "Temporal", 1_000)
    with pytest.raises(DurableEngineError, match="the result of tool 'lock': the value cannot"):
        pack(threading.Lock(), "the result of tool 'lock'", "DBOS", None)
    model = ActivityModel(
        FunctionModel(lambda m, i: "hi"),
        "scribe",
        "tether.scribe.model",
        _Options(timedelta(1), 500),
    )
    request = ModelRequest(messages=[Message.user("y" * 1_000)])
    with pytest.raises(PayloadTooLarge, match="the request to the model of agent 'scribe'"):
        model._payload("request", request)


async def test_offload_references_and_settings(tmp_path: Path) -> None:
    with pytest.raises(DurableEngineError, match="must be positive"):
        Offload("memory://", over=0)
    offload = Offload(f"sqlite:///{tmp_path}/results.db", over=10)
    reference = await offload.put("z" * 100)
    assert await offload.load(reference) == "z" * 100
    assert await offload.put("z" * 100) == reference  # by hash: kept once
    with pytest.raises(DurableEngineError, match="is not an offloaded tool result"):
        await offload.load("just some text")
    missing = reference.replace(reference[30:40], "0" * 10)
    with pytest.raises(DurableEngineError, match="is not in the store"):
        await offload.load(missing)
    await offload.store.close()


async def test_a_decision_for_a_workflow_that_waits_for_none(dbos_folder: Path) -> None:
    with pytest.raises(UserError, match="is not waiting for a decision"):
        await DBOSDurability.approve(f"nobody-{uuid.uuid4().hex[:6]}", "c1", wait=0.2)
