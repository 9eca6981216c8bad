"""``tether serve MODULE:ATTR``: serve agents over HTTP with uvicorn.

::

    tether serve app:agent [--host 127.0.0.1] [--port 8000] [--store URL] [--workers N]
                 [--api-key-file FILE] [--insecure-no-auth] [--max-body BYTES]
                 [--lease-ttl S] [--drain-timeout S] [--sweep-interval S] [--no-a2a]
                 [--engine local|ray] [--address RAY_ADDRESS] [--ray-workers N]

ATTR is an Agent, a list of Agents, or a Runner (its registered agents are served). Keys come
from ``TETHER_API_KEYS`` (comma-separated) or ``--api-key-file``; without keys the server binds
to loopback only, unless ``--insecure-no-auth`` is given. With ``--engine ray`` the runs that are
not streamed token by token (background and plain runs, continuations, takeovers) execute on the
Ray cluster at ``--address`` (extra ``tether[ray]``); see docs/scaling.md.
"""

from __future__ import annotations

import argparse
import os
import signal
from types import FrameType
from typing import Any

from ..cli._common import check_free, port_number
from ..errors import UserError
from ._targets import load_runner

__all__ = ["app_from_env", "register"]

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_ENV = "TETHER_SERVE_"  # how the parent hands its settings to uvicorn's worker processes


def _config(args: argparse.Namespace) -> Any:
    from ._config import ServerConfig, read_key_file

    overrides: dict[str, Any] = {
        "max_body_bytes": args.max_body,
        "lease_ttl": args.lease_ttl,
        "drain_timeout": args.drain_timeout,
        "sweep_interval": args.sweep_interval,
        "a2a": not args.no_a2a,
        "engine": args.engine,
        "ray_address": args.address,
        "ray_workers": args.ray_workers,
        "target": args.target,
    }
    if args.api_key_file is not None:
        overrides["api_keys"] = read_key_file(args.api_key_file)
    return ServerConfig.from_env(**overrides)


def _environment(args: argparse.Namespace) -> dict[str, str]:
    values = {
        "TARGET": args.target,
        "STORE": args.store or "",
        "KEYFILE": args.api_key_file or "",
        "MAX_BODY": str(args.max_body),
        "LEASE_TTL": str(args.lease_ttl),
        "DRAIN": str(args.drain_timeout),
        "SWEEP": str(args.sweep_interval),
        "NO_A2A": "1" if args.no_a2a else "",
        "ENGINE": args.engine,
        "ADDRESS": args.address or "",
        "RAY_WORKERS": "" if args.ray_workers is None else str(args.ray_workers),
    }
    return {_ENV + k: v for k, v in values.items()}


def app_from_env() -> Any:
    """The app of one uvicorn worker process, from the settings its parent left in the env."""
    from . import create_app

    env = os.environ
    args = argparse.Namespace(
        target=env[_ENV + "TARGET"],
        store=env.get(_ENV + "STORE") or None,
        api_key_file=env.get(_ENV + "KEYFILE") or None,
        max_body=int(env[_ENV + "MAX_BODY"]),
        lease_ttl=float(env[_ENV + "LEASE_TTL"]),
        drain_timeout=float(env[_ENV + "DRAIN"]),
        sweep_interval=float(env[_ENV + "SWEEP"]),
        no_a2a=bool(env.get(_ENV + "NO_A2A")),
        engine=env.get(_ENV + "ENGINE") or "local",
        address=env.get(_ENV + "ADDRESS") or None,
        ray_workers=int(env[_ENV + "RAY_WORKERS"]) if env.get(_ENV + "RAY_WORKERS") else None,
    )
    return create_app(load_runner(args.target, args.store), _config(args))


def _cmd_serve(args: argparse.Namespace) -> int:
    config = _config(args)
    if not config.api_keys and args.host not in _LOOPBACK and not args.insecure_no_auth:
        raise UserError(
            f"no API keys are configured, so the server only binds to loopback (not "
            f"{args.host!r}): set TETHER_API_KEYS or --api-key-file, or pass --insecure-no-auth"
        )
    if args.workers < 1:
        raise UserError("--workers must be at least 1")
    try:
        import uvicorn
    except ModuleNotFoundError as exc:
        raise UserError(
            'tether serve needs the server extra: pip install "tether[server]"'
        ) from exc
    check_free(args.host, args.port)  # before the agent loads and uvicorn says anything
    os.environ.update(_environment(args))
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_level": args.log_level,
        "timeout_graceful_shutdown": max(1, int(config.drain_timeout)),
    }
    if args.workers > 1:
        uvicorn.run(
            "tether.server._cli:app_from_env", factory=True, workers=args.workers, **options
        )
        return 0
    app = app_from_env()
    _exit_0_after_drain(app)
    uvicorn.run(app, **options)
    return 0


def _exit_0_after_drain(app: Any) -> None:
    """End the process with status 0 on the SIGTERM uvicorn raises again once the server has
    drained (it puts back the handler it found: by default the signal would end the process as
    killed, under Ray its driver handler would exit 15). A SIGTERM before the drain is done goes
    to the handler that was there."""
    manager = app.state.tether.manager
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        if manager.drained:
            raise SystemExit(0)
        if callable(previous):
            previous(signum, frame)
            return
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``serve`` to the ``tether`` command's subparsers."""
    from ._config import DEFAULT_MAX_BODY

    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="serve agents over HTTP (run API, OpenAI-compatible, AG-UI)",
        description="Serve MODULE:ATTR (an Agent, a list of Agents or a Runner) over HTTP.",
        epilog=(
            "examples:\n  tether serve app:agent --port 8000 --store postgresql://...\n"
            "  tether serve app:agent --store postgresql://... --engine ray --address auto"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("target", metavar="MODULE:ATTR", help="what to serve, e.g. app:agent")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    serve.add_argument("--port", type=port_number, default=8000, help="port to bind (8000)")
    serve.add_argument("--store", default=None, help="store URL (default: the Runner's)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (1)")
    serve.add_argument("--api-key-file", default=None, help="file of API keys, one a line")
    serve.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="allow binding beyond loopback without API keys",
    )
    serve.add_argument(
        "--max-body", type=int, default=DEFAULT_MAX_BODY, help="largest request body (1 MiB)"
    )
    serve.add_argument("--lease-ttl", type=float, default=15.0, help="run lease seconds (15)")
    serve.add_argument(
        "--drain-timeout", type=float, default=10.0, help="seconds runs get on SIGTERM (10)"
    )
    serve.add_argument(
        "--sweep-interval",
        type=float,
        default=2.0,
        help="seconds between looks for runs of dead replicas (2; 0: never)",
    )
    serve.add_argument(
        "--no-a2a", action="store_true", help="do not serve the A2A protocol (tether.a2a)"
    )
    serve.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="where runs not streamed execute: in this process (local) or on a Ray cluster",
    )
    serve.add_argument(
        "--address", default=None, help="the Ray cluster's address (--engine ray; e.g. auto)"
    )
    serve.add_argument(
        "--ray-workers",
        type=int,
        default=None,
        metavar="N",
        help="Ray actors executing the runs (--engine ray; default: the cluster's CPUs)",
    )
    serve.add_argument("--log-level", default="warning", help="uvicorn log level (warning)")
    serve.set_defaults(handler=_cmd_serve)
