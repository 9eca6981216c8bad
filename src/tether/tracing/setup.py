"""Build exporters from the ``telemetry=`` argument of a Runner."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import UserError
from .base import Exporter

__all__ = ["TELEMETRY_NAMES", "exporters_from_spec"]

#: The names ``Runner(telemetry=...)`` accepts (besides Exporter objects).
TELEMETRY_NAMES = ("jsonl", "console", "json", "otel")


def _named(name: str) -> Exporter:
    if name == "jsonl":
        from .jsonl import JsonlExporter

        return JsonlExporter()
    if name == "json":
        from .json import JsonExporter

        return JsonExporter()
    if name == "console":
        from .console import ConsoleExporter

        return ConsoleExporter()
    if name == "otel":
        from .otel import OtelExporter

        return OtelExporter()
    raise UserError(
        f"unknown telemetry {name!r}: use one of {', '.join(map(repr, TELEMETRY_NAMES))}, "
        "an Exporter object, a list of those, or None"
    )


def exporters_from_spec(spec: str | Exporter | Sequence[str | Exporter] | None) -> list[Exporter]:
    """Exporters for ``None``, an Exporter, a name, or a list of those (combined)."""
    if spec is None:
        return []
    items = [spec] if isinstance(spec, str | Exporter) else list(spec)
    exporters: list[Exporter] = []
    for item in items:
        if isinstance(item, type):  # the class has on_event and flush too, as functions
            raise UserError(
                f"telemetry got the class {item.__name__}, not an exporter: pass an instance, "
                f"e.g. {item.__name__}()"
            )
        if isinstance(item, str):
            exporters.append(_named(item))
        elif isinstance(item, Exporter):
            exporters.append(item)
        else:
            raise UserError(
                f"telemetry items must be names ({', '.join(TELEMETRY_NAMES)}) or objects with "
                f"on_event(event) and async flush(run_id), got {type(item).__name__}"
            )
    return exporters
