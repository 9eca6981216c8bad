"""A loopback server speaking the OpenAI embeddings wire protocol (POST /v1/embeddings).

Vectors come from tether's HashEmbedder, so results are meaningful; ``fail_next`` answers the
next requests with an HTTP error (429 by default) to exercise retries; every request is kept.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tether.memory import HashEmbedder


class EmbeddingsServer:
    """Runs on 127.0.0.1 in a thread; ``url`` is its ``/v1`` base URL."""

    def __init__(self, dimension: int = 64) -> None:
        self.embedder = HashEmbedder(dimension)
        self.requests: list[dict[str, Any]] = []
        self.fail_next: list[int] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length))
                server.requests.append({"body": body, "headers": dict(self.headers)})
                if self.path != "/v1/embeddings":
                    return self._send(404, {"error": {"message": "no such route"}})
                if server.fail_next:
                    return self._send(server.fail_next.pop(0), {"error": {"message": "slow down"}})
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                data = [
                    {"object": "embedding", "index": i, "embedding": server.embedder.vector(t)}
                    for i, t in enumerate(texts)
                ]
                tokens = sum(len(t.split()) for t in texts)
                self._send(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "model": body["model"],
                        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                    },
                )

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                if status == 429:
                    self.send_header("retry-after", "0")
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> EmbeddingsServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
