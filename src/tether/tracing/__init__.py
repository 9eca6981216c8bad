"""Tracing: the run's event log exported as spans (JSONL files, console, OpenTelemetry)."""

from __future__ import annotations

from ._safe import export_errors
from .base import Exporter

__all__ = ["Exporter", "export_errors"]
