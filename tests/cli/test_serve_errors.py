"""``tether serve`` on an address it cannot listen on fails at once, in one line, before it
says anything else (it printed uvicorn's log line and exited 3, and hung on a port out of
range)."""

from __future__ import annotations

import socket

from .conftest import Cli
from .test_followups import _one_line_error


def test_serve_on_a_port_in_use_says_so(cli: Cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli("serve", "cli_app:agent", "--port", str(port), timeout=60)
    _one_line_error(done, 2, f"cannot listen on 127.0.0.1:{port}: Address already in use")
    assert done.out == ""
    assert not (cli.cwd / "runs.db").exists()  # refused before the agent's store was made


def test_serve_on_a_port_out_of_range_is_a_usage_error(cli: Cli) -> None:
    for port in ("99999", "-1", "http"):
        done = cli("serve", "cli_app:agent", "--port", port, timeout=60)
        _one_line_error(done, 2, "a port is a number from 0 to 65535", "tether serve: ")
        assert done.out == ""


def test_serve_on_an_unknown_host_says_so(cli: Cli) -> None:
    done = cli("serve", "cli_app:agent", "--host", "no such host", "--insecure-no-auth", timeout=60)
    _one_line_error(done, 2, "cannot listen on 'no such host'")
