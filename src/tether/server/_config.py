"""ServerConfig: what a tether server is told besides its Runner."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError

__all__ = ["DEFAULT_MAX_BODY", "ServerConfig", "read_key_file"]

#: Largest request body accepted by default (1 MiB); larger bodies get 413.
DEFAULT_MAX_BODY = 1024 * 1024


@dataclass(slots=True)
class ServerConfig:
    """Settings of a tether server.

    - ``api_keys``: accepted bearer keys; empty means no authentication.
    - ``max_body_bytes``: larger request bodies get 413.
    - ``lease_ttl``: seconds a run's lease lives without a heartbeat; a replica that dies
      leaves its runs to the others after this long.
    - ``sweep_interval``: how often (seconds) a replica looks for runs whose lease expired, to
      resume them; 0 turns that off.
    - ``drain_timeout``: on shutdown, seconds to let running runs finish before they are
      stopped at their last checkpoint and handed to another replica.
    - ``owner``: this replica's lease owner id (default: host, pid and a random part).
    - ``a2a``: also serve the A2A protocol (``tether.a2a``'s routes) when it is installed.
    - ``engine``: where the runs that are not streamed token by token execute (background and
      plain runs, continuations after a decision, resumes, takeovers): ``"local"`` in this
      process, ``"ray"`` on the Ray cluster at ``ray_address`` (``None``: one of this machine;
      ``"auto"``: the running one), so the API tier and the workers scale apart.
    - ``ray_workers``: how many Ray actors execute the runs (default: the cluster's CPUs); each
      runs many at a time.
    - ``target``: the import path (``MODULE:ATTR``) Ray workers load the served agents from,
      as ``tether serve`` does; without it the agents travel to the workers pickled.
    """

    api_keys: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY
    lease_ttl: float = 15.0
    sweep_interval: float = 2.0
    drain_timeout: float = 10.0
    owner: str | None = None
    a2a: bool = True
    engine: str = "local"
    ray_address: str | None = None
    ray_workers: int | None = None
    target: str | None = None

    def __post_init__(self) -> None:
        if self.max_body_bytes < 1:
            raise UserError("max_body_bytes must be at least 1")
        if self.lease_ttl <= 0:
            raise UserError("lease_ttl must be a positive number of seconds")
        if self.sweep_interval < 0 or self.drain_timeout < 0:
            raise UserError("sweep_interval and drain_timeout cannot be negative")
        if self.engine not in ("local", "ray"):
            raise UserError(f"engine must be 'local' or 'ray', not {self.engine!r}")
        if (self.ray_address is not None or self.ray_workers is not None) and self.engine != "ray":
            raise UserError(
                "ray_address and ray_workers are for engine='ray' (pass --engine ray with "
                "--address or --ray-workers)"
            )
        if self.ray_workers is not None and self.ray_workers < 1:
            raise UserError("ray_workers must be at least 1")
        if any(not k or k != k.strip() for k in self.api_keys):
            raise UserError("API keys must be non-empty and have no surrounding spaces")

    @classmethod
    def from_env(cls, **overrides: object) -> ServerConfig:
        """A config whose keys come from ``TETHER_API_KEYS`` (comma-separated), unless given."""
        if "api_keys" not in overrides:
            raw = os.environ.get("TETHER_API_KEYS", "")
            overrides["api_keys"] = tuple(k.strip() for k in raw.split(",") if k.strip())
        return cls(**overrides)  # type: ignore[arg-type]


def read_key_file(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """API keys from a file, one a line (blank lines and ``#`` comments skipped)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read the API key file {str(path)!r}: {exc.strerror}") from exc
    keys = tuple(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )
    if not keys:
        raise UserError(f"the API key file {str(path)!r} holds no key")
    return keys
