"""The Temporal dev server fixture copes with a port taken between choosing and binding it: it
starts again on new ports, and never takes another process's listener for its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tests._ports import bound_socket, free_port, owned_listener
from tests.durable.conftest import start_temporal


def test_a_taken_port_is_tried_again_on_a_new_one(tmp_path: Path) -> None:
    with bound_socket() as taken:  # another process's listener, on the port chosen first
        port = taken.getsockname()[1]

        def ports() -> Iterator[int]:
            yield port
            while True:
                yield free_port()

        chosen = ports()
        proc, served = start_temporal(tmp_path, lambda: next(chosen))
        try:
            assert served != port and owned_listener([proc.pid], served)
            assert "address already in use" in (tmp_path / "server-0.log").read_text()
        finally:
            proc.kill()
            proc.wait(timeout=10)
