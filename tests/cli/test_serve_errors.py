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


def test_serve_takes_an_app_by_file_path_as_the_other_commands_do(cli: Cli) -> None:
    # `tether run path/to/app.py:agent` worked and `tether serve` refused the same name
    import subprocess
    import time
    import urllib.request
    from pathlib import Path

    app = Path(__file__).with_name("cli_app.py")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    served = subprocess.Popen(
        cli.argv("serve", f"{app}:agent", "--port", str(port), "--insecure-no-auth"),
        cwd=cli.cwd,
        env=cli.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while status is None and served.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    status = r.status
            except OSError:
                time.sleep(0.2)
        assert status == 200, served.stderr.read() if served.poll() is not None else "no answer"
    finally:
        served.terminate()
        served.communicate(timeout=30)
    done = cli("serve", f"{app}:no_such_agent", "--port", str(port), timeout=60)
    _one_line_error(done, 2, f"module '{app}' has no attribute 'no_such_agent'")
