"""Build exporters from the ``telemetry=`` argument of a Runner."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import UserError
from .base import Exporter

__all__ = ["exporters_from_spec"]


def exporters_from_spec(spec: str | Exporter | Sequence[str | Exporter] | None) -> list[Exporter]:
    """Exporters for ``None``, an Exporter, a name, or a list of those."""
    if spec is None:
        return []
    items = [spec] if isinstance(spec, str | Exporter) else list(spec)
    exporters: list[Exporter] = []
    for item in items:
        if isinstance(item, Exporter):
            exporters.append(item)
        else:
            raise UserError(f"unknown telemetry {item!r}")
    return exporters
