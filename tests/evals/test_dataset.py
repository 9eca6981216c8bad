"""Datasets: JSONL and YAML round trips, and a clear error for every malformed file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether import UserError
from tether.evals import Case, Dataset


def test_the_sample_loads(sample_data: Dataset) -> None:
    assert len(sample_data) == 6
    assert [c.name for c in sample_data][:2] == ["france", "japan"]
    france = sample_data["france"]
    assert france.input == "What is the capital of France?"
    assert france.expected == "Paris"
    assert france.metadata == {
        "region": "europe",
        "tools": [{"name": "lookup", "contains": {"country": "France"}}],
    }
    with pytest.raises(KeyError):
        sample_data["atlantis"]


@pytest.mark.parametrize("suffix", [".jsonl", ".yaml", ".yml", ".json"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    cases = [
        Case("a", "hi"),
        Case("b", [{"role": "user", "content": "x"}], {"k": [1, 2]}, {"tag": "t"}),
    ]
    path = Dataset(cases, name="mine").save(tmp_path / f"d{suffix}")
    loaded = Dataset.load(path)
    assert [c.to_dict() for c in loaded] == [c.to_dict() for c in cases]
    assert loaded == Dataset(cases) and loaded != Dataset(cases[:1])  # by cases, not by name
    if suffix != ".jsonl":
        assert loaded.name == "mine"


def test_jsonl_lines_are_the_documented_objects(tmp_path: Path) -> None:
    text = Dataset([Case("a", "hi", "hello")]).to_jsonl()
    assert text == '{"name": "a", "input": "hi", "expected": "hello", "metadata": {}}\n'


def test_yaml_list_and_default_names(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text("- input: one\n  expected: 1\n- name: second\n  input: two\n")
    data = Dataset.load(path)
    assert [c.name for c in data] == ["case_1", "second"]
    assert data["case_1"].expected == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"name": "a", "input": "x"}\n{"name": "b", "input": ', "line 2: not valid JSON"),
        ('{"name": "a", "input": "x", "answer": 1}', "unknown case field(s) answer"),
        ('{"name": "a"}', "line 1: the case has no 'input'"),
        ('{"name": "a", "input": "x"}\n{"name": "a", "input": "y"}', "two cases are named 'a'"),
        ('["a"]', "a case must be an object"),
        ('{"name": "", "input": "x"}', "non-empty string name"),
        ('{"name": "a", "input": "x", "metadata": [1]}', "metadata must be a mapping"),
    ],
)
def test_bad_jsonl(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(UserError, match=r"bad\.jsonl") as info:
        Dataset.load(path)
    assert message in str(info.value)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no dataset file"):
        Dataset.load(tmp_path / "missing.jsonl")
    (tmp_path / "d.csv").write_text("a,b")
    with pytest.raises(UserError, match=r"unknown dataset format '\.csv'"):
        Dataset.load(tmp_path / "d.csv")
    (tmp_path / "d.yaml").write_text("a: [1, 2\n")
    with pytest.raises(UserError, match="not valid YAML"):
        Dataset.load(tmp_path / "d.yaml")
    (tmp_path / "e.yaml").write_text("just text\n")
    with pytest.raises(UserError, match="expected a list of cases"):
        Dataset.load(tmp_path / "e.yaml")
    with pytest.raises(UserError, match=r"cannot save a dataset as '\.txt'"):
        Dataset([Case("a", "x")]).save(tmp_path / "d.txt")
    with pytest.raises(UserError, match="JSON cannot store"):
        Dataset([Case("a", object())]).to_jsonl()
    with pytest.raises(UserError, match="holds Case objects"):
        Dataset(["a"])  # type: ignore[list-item]
    with pytest.raises(UserError, match="has no input"):
        Case("a", None)
