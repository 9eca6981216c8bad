"""Cases and datasets: what an evaluation runs, loaded from and saved to JSONL or YAML.

A JSONL dataset holds one case a line, ``{"name", "input", "expected", "metadata"}`` (only
``input`` is required; a missing ``name`` becomes ``case_<line>``). A YAML dataset is a list of
such mappings, or a mapping with ``name`` and ``cases``. Bad files fail with a
:class:`~tether.UserError` that names the file and the line or case.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError

__all__ = ["Case", "Dataset"]

_KEYS = frozenset({"name", "input", "expected", "metadata"})


@dataclass(slots=True)
class Case:
    """One test case: the ``input`` given to the agent, the ``expected`` answer (optional) and
    free-form ``metadata`` (tags, a JSON schema for the ``json`` metric, ...)."""

    name: str
    input: Any
    expected: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise UserError(f"a case needs a non-empty string name, got {self.name!r}")
        if self.input is None:
            raise UserError(f"case {self.name!r} has no input")
        if not isinstance(self.metadata, dict):
            raise UserError(
                f"case {self.name!r}: metadata must be a mapping, "
                f"got {type(self.metadata).__name__}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The case as the JSON object of one JSONL line."""
        return {
            "name": self.name,
            "input": self.input,
            "expected": self.expected,
            "metadata": self.metadata,
        }


def _case_from_mapping(data: Any, where: str, default_name: str) -> Case:
    if not isinstance(data, dict):
        raise UserError(f"{where}: a case must be an object, got {type(data).__name__}")
    unknown = set(data) - _KEYS
    if unknown:
        raise UserError(
            f"{where}: unknown case field(s) {', '.join(sorted(map(str, unknown)))}; "
            "a case has name, input, expected and metadata"
        )
    if "input" not in data:
        raise UserError(f"{where}: the case has no 'input'")
    try:
        return Case(
            name=data.get("name", default_name),
            input=data["input"],
            expected=data.get("expected"),
            metadata=data.get("metadata") or {},
        )
    except UserError as exc:
        raise UserError(f"{where}: {exc}") from None


class Dataset:
    """An ordered collection of :class:`Case` with unique names.

    Build one from cases, or load one with :meth:`load` (``.jsonl``, ``.yaml``/``.yml`` or
    ``.json``); :meth:`save` writes the format its suffix names.
    """

    def __init__(self, cases: Iterable[Case] = (), *, name: str | None = None) -> None:
        self.name = name
        self.cases: list[Case] = []
        seen: set[str] = set()
        for case in cases:
            if not isinstance(case, Case):
                raise UserError(f"a Dataset holds Case objects, got {type(case).__name__}")
            if case.name in seen:
                raise UserError(f"two cases are named {case.name!r}: case names must be unique")
            seen.add(case.name)
            self.cases.append(case)

    def __iter__(self) -> Iterator[Case]:
        return iter(self.cases)

    def __len__(self) -> int:
        return len(self.cases)

    def __getitem__(self, name: str) -> Case:
        for case in self.cases:
            if case.name == name:
                return case
        raise KeyError(name)

    def __repr__(self) -> str:
        return f"Dataset(name={self.name!r}, cases={len(self.cases)})"

    def __eq__(self, other: object) -> bool:
        """Datasets are equal when their cases are, in order (the name is a label: a file
        loaded back is named after its file)."""
        if not isinstance(other, Dataset):
            return NotImplemented
        return self.cases == other.cases

    __hash__ = None  # type: ignore[assignment]  # mutable: its cases can be added to

    # -- reading -------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> Dataset:
        """A dataset from a ``.jsonl``, ``.yaml``/``.yml`` or ``.json`` file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UserError(f"no dataset file {str(path)!r}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read dataset {str(path)!r}: {exc}") from None
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            return cls.from_jsonl(text, name=path.stem, source=str(path))
        if suffix in (".yaml", ".yml"):
            return cls.from_yaml(text, name=path.stem, source=str(path))
        if suffix == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}: not valid JSON: {exc}") from None
            return cls._from_document(data, name=path.stem, source=str(path))
        raise UserError(
            f"unknown dataset format {path.suffix!r} for {str(path)!r}: use .jsonl, .yaml or .json"
        )

    @classmethod
    def from_jsonl(cls, text: str, *, name: str | None = None, source: str = "<jsonl>") -> Dataset:
        """A dataset from JSONL text (blank lines are skipped)."""
        cases: list[Case] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{source} line {number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{where}: not valid JSON: {exc.msg}") from None
            cases.append(_case_from_mapping(data, where, f"case_{number}"))
        try:
            return cls(cases, name=name)
        except UserError as exc:
            raise UserError(f"{source}: {exc}") from None

    @classmethod
    def from_yaml(cls, text: str, *, name: str | None = None, source: str = "<yaml>") -> Dataset:
        """A dataset from YAML text: a list of cases, or a mapping with ``name`` and ``cases``."""
        yaml = _yaml()
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise UserError(f"{source}: not valid YAML: {exc}") from None
        return cls._from_document(data, name=name, source=source)

    @classmethod
    def _from_document(cls, data: Any, *, name: str | None, source: str) -> Dataset:
        if isinstance(data, dict) and "cases" in data:
            name = data.get("name") or name
            data = data["cases"]
        if not isinstance(data, list):
            raise UserError(f"{source}: expected a list of cases (or a mapping with 'cases')")
        cases = [
            _case_from_mapping(item, f"{source} case {i}", f"case_{i}")
            for i, item in enumerate(data, start=1)
        ]
        try:
            return cls(cases, name=name)
        except UserError as exc:
            raise UserError(f"{source}: {exc}") from None

    # -- writing -------------------------------------------------------------------------------

    def to_jsonl(self) -> str:
        """The dataset as JSONL text, one case a line."""
        return "".join(
            json.dumps(case.to_dict(), ensure_ascii=False, default=_not_json) + "\n"
            for case in self.cases
        )

    def to_yaml(self) -> str:
        """The dataset as a YAML document (``name`` and ``cases``)."""
        yaml = _yaml()
        document = {"name": self.name, "cases": [c.to_dict() for c in self.cases]}
        text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        return text

    def save(self, path: str | Path) -> Path:
        """Write the dataset to ``path`` in the format its suffix names; returns the path."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            text = self.to_jsonl()
        elif suffix in (".yaml", ".yml"):
            text = self.to_yaml()
        elif suffix == ".json":
            text = json.dumps(
                {"name": self.name, "cases": [c.to_dict() for c in self.cases]},
                indent=1,
                default=_not_json,
            )
        else:
            raise UserError(f"cannot save a dataset as {path.suffix!r}: use .jsonl, .yaml or .json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path


def as_dataset(value: Dataset | Sequence[Case] | str | Path) -> Dataset:
    """A Dataset from a Dataset, a list of cases or a file path."""
    if isinstance(value, Dataset):
        return value
    if isinstance(value, str | Path):
        return Dataset.load(value)
    return Dataset(value)


def _not_json(value: Any) -> Any:
    raise UserError(f"a case holds a value JSON cannot store: {type(value).__name__}")


def _yaml() -> Any:
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - yaml ships with the evals extra
        raise UserError('YAML datasets need the evals extra: pip install "tether[evals]"') from exc
    return yaml
