"""Judge: an LLM-as-judge metric. Each verdict is a run of its own: traced and priced.

The judge is a small tether agent with structured output (:class:`Verdict`): it reads the
rubric, the case's input, its expected answer (when there is one) and the output, and answers
with ``passed``, an optional ``score`` in [0, 1] and a ``reason``. Inside :func:`evaluate` the
judge runs on the evaluation's Runner, so its runs land next to the agent's traces; the report
keeps each judge run's id and cost beside the case.
"""

from __future__ import annotations

import json
import uuid
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from pydantic_core import to_jsonable_python

from ..errors import UserError
from ._metrics import CaseRun, Metric, Score, output_text

if TYPE_CHECKING:
    from ..agent import Agent
    from ..models.base import Model
    from ..run.runner import Runner
    from ._dataset import Case

__all__ = ["Judge", "Verdict"]

#: The Runner of the evaluation in progress (judges run their verdicts on it).
current_runner: ContextVar[Runner | None] = ContextVar("tether_evals_runner", default=None)

_INSTRUCTIONS = (
    "You grade the output of an AI assistant against a rubric. Read the rubric, the input the "
    "assistant was given, the expected answer when there is one, and the output. Answer with "
    "passed (true when the output meets the rubric), score (0 to 1, how well it meets it) and "
    "a one-sentence reason."
)


class Verdict(BaseModel):
    """A judge's answer."""

    passed: bool
    score: float | None = Field(default=None, ge=0.0, le=1.0)
    reason: str = ""


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(to_jsonable_python(value, fallback=repr), ensure_ascii=False, indent=1)


class Judge(Metric):
    """Scores with a model: ``Judge("The answer is polite and names the capital", model=...)``.

    ``model`` is any tether model (a ``"provider:model"`` string, or a test model such as
    FunctionModel). The score is the verdict's ``score``, or 1/0 from ``passed``; it passes at
    ``threshold`` (default 0.5). ``include_input`` / ``include_expected`` choose what the judge
    is shown besides the output. A judge whose run fails scores 0 with the error.
    """

    def __init__(
        self,
        rubric: str,
        model: str | Model | None = None,
        *,
        name: str = "judge",
        threshold: float = 0.5,
        include_input: bool = True,
        include_expected: bool = True,
        instructions: str | None = None,
        runner: Runner | None = None,
    ) -> None:
        if not isinstance(rubric, str) or not rubric.strip():
            raise UserError("Judge needs a rubric: a sentence saying what a good output is")
        if model is None:
            raise UserError(
                "Judge needs a model: Judge(rubric, model='openai:gpt-4o-mini') "
                "(or a test model in tests)"
            )
        super().__init__(name=name, threshold=threshold)
        self.rubric = rubric
        self.model = model
        self.include_input = include_input
        self.include_expected = include_expected
        self.runner = runner
        self._instructions = instructions or _INSTRUCTIONS
        self._agent: Agent | None = None

    @property
    def agent(self) -> Agent:
        """The judge agent (built on first use)."""
        if self._agent is None:
            from ..agent import Agent

            self._agent = Agent(
                self.name,
                model=self.model,
                instructions=self._instructions,
                output=Verdict,
                max_turns=4,
            )
        return self._agent

    def prompt(self, case: Case, run: CaseRun) -> str:
        """What the judge is asked for one case."""
        sections = [f"Rubric:\n{self.rubric}"]
        if self.include_input:
            sections.append(f"Input:\n{_show(case.input)}")
        if self.include_expected and case.expected is not None:
            sections.append(f"Expected answer:\n{_show(case.expected)}")
        sections.append(f"Output:\n{output_text(run)}")
        return "\n\n".join(sections)

    async def score(self, case: Case, run: CaseRun) -> Score:
        """Ask the judge; its run's id and cost travel with the score."""
        runner = self.runner or current_runner.get()
        if runner is None:
            from ..run.runner import default_runner

            runner = default_runner()
        run_id = uuid.uuid4().hex
        try:
            result = await runner.run(self.agent, self.prompt(case, run), run_id=run_id)
        except Exception as exc:
            usage = getattr(getattr(exc, "result", None), "usage", None)
            return Score(
                0.0,
                f"the judge failed: {type(exc).__name__}: {exc}",
                run_id=run_id,
                cost=getattr(usage, "cost", 0.0) if usage is not None else 0.0,
            )
        verdict = result.output
        if not isinstance(verdict, Verdict):  # pragma: no cover - output=Verdict guarantees it
            raise UserError(f"the judge answered {verdict!r}, not a verdict")
        value = verdict.score if verdict.score is not None else float(verdict.passed)
        return Score(value, verdict.reason or None, run_id=result.run_id, cost=result.usage.cost)
