"""``tether batch MODULE:ATTR inputs.jsonl --out results.jsonl``: many runs, resumable.

Each line of the inputs file is a JSON string (the prompt), or an object with ``"input"`` (and
optionally ``"id"``). Each line of the output is ``{"index", "id", "run_id", "state", "output",
"final_text", "error", "usage"}``, in input order. Running the command again with the same files
skips the inputs that already have a line, and runs whose checkpoints are in the store continue
from them: a batch killed half way loses nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from ..errors import UserError

__all__ = ["register"]

_EXAMPLE = """example:
  tether batch app:support questions.jsonl --out answers.jsonl --concurrency 32
  tether batch app:support questions.jsonl --out answers.jsonl --engine ray --address auto \\
      --store postgresql://tether@db/tether
"""


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``batch`` to the ``tether`` command's subparsers."""
    batch = commands.add_parser(
        "batch",
        help="run an agent over a JSONL file of inputs (local or on Ray), resumable",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        epilog=_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    batch.add_argument("agent", metavar="MODULE:ATTR", help="the agent, e.g. app:agent")
    batch.add_argument(
        "inputs", type=Path, help="JSONL file: one prompt (or {'input': ...}) a line"
    )
    batch.add_argument("--out", type=Path, required=True, help="JSONL file the results go to")
    batch.add_argument(
        "--engine", choices=("local", "ray"), default="local", help="where runs execute"
    )
    batch.add_argument("--address", default=None, help="the Ray cluster's address (--engine ray)")
    batch.add_argument("--concurrency", type=int, default=16, help="runs at once (default 16)")
    batch.add_argument(
        "--store",
        default=None,
        help="store URL for checkpoints (default: sqlite:///.tether/tether.db)",
    )
    batch.set_defaults(handler=_cmd_batch)


def _read_inputs(path: Path) -> list[tuple[str | None, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UserError(f"cannot read the inputs file {path}: {exc.strerror}") from exc
    inputs: list[tuple[str | None, Any]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        if isinstance(value, dict):
            if "input" not in value:
                raise UserError(f"{path}:{number}: an object needs an 'input' field")
            ident = value.get("id")
            inputs.append((None if ident is None else str(ident), value["input"]))
        elif isinstance(value, str | list):
            inputs.append((None, value))
        else:
            raise UserError(f"{path}:{number}: an input is a string, a list of items or an object")
    return inputs


def _done_indexes(path: Path) -> dict[int, str]:
    """The lines already written (index -> line), from an earlier, maybe interrupted, run."""
    done: dict[int, str] = {}
    if not path.exists():
        return done
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            done[int(json.loads(line)["index"])] = line
        except (ValueError, KeyError, TypeError):
            break  # a torn last line: that input is run again
    return done


def _line(index: int, ident: str | None, result: Any) -> str:
    data = result.to_dict()
    return json.dumps(
        {
            "index": index,
            "id": ident,
            "run_id": result.run_id,
            "state": result.state,
            "output": data["output"],
            "final_text": result.final_text,
            "error": result.error,
            "usage": data["usage"],
        },
        ensure_ascii=False,
    )


def _cmd_batch(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from ._many import run_ids_for, run_many_sync

    if args.concurrency < 1:
        raise UserError("--concurrency must be at least 1")
    inputs = _read_inputs(args.inputs)
    # The batch id is the inputs' content: the same file resumes the same runs.
    digest = hashlib.sha256(args.inputs.read_bytes()).hexdigest()[:12]
    run_ids = run_ids_for(f"batch-{digest}", len(inputs))
    done = _done_indexes(args.out)
    todo = [i for i in range(len(inputs)) if i not in done]
    store = args.store or "sqlite:///.tether/tether.db"
    lines = dict(done)
    failed = 0
    out = _Output(args.out, lines)
    with Progress(transient=True) as bar:
        task = bar.add_task("runs", total=len(inputs), completed=len(done))

        def progress(position: int, result: Any, count: int) -> None:
            nonlocal failed
            index = todo[position]
            lines[index] = _line(index, inputs[index][0], result)
            failed += result.state != "completed"
            bar.update(task, completed=len(done) + count)
            out.advance()

        try:
            if todo:
                run_many_sync(
                    args.agent, [inputs[i][1] for i in todo], run_ids=[run_ids[i] for i in todo],
                    store=store, concurrency=args.concurrency, engine=args.engine,
                    ray_address=args.address, progress=progress,
                )  # fmt: skip
        finally:
            out.close()
    print(
        f"{len(inputs)} inputs: {len(done)} already done, {len(todo)} run, {failed} not completed"
    )
    return 1 if failed else 0


class _Output:
    """The results file, written in input order: a line is appended once every input before it
    has its line (results that finish early wait in memory; their runs are in the store)."""

    def __init__(self, path: Path, lines: dict[int, str]) -> None:
        self.lines = lines
        self.written = 0
        while self.written in lines:
            self.written += 1
        # Rewrite what an earlier run left (dropping a torn last line), then append.
        path.write_text("".join(lines[i] + "\n" for i in range(self.written)), encoding="utf-8")
        self.file = path.open("a", encoding="utf-8")

    def advance(self) -> None:
        while self.written in self.lines:
            self.file.write(self.lines[self.written] + "\n")
            self.written += 1
        self.file.flush()

    def close(self) -> None:
        self.file.close()
