"""A relying party's back-channel logout endpoint: a real HTTP server on a free
127.0.0.1 port that keeps every POST it receives."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

HOST = "127.0.0.1"


@dataclass
class Received:
    path: str
    content_type: str
    form: dict[str, list[str]]


@dataclass
class Receiver:
    url: str
    status: int = 200  # what the endpoint answers (section 2.8: 200 on success)
    received: list[Received] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return self.url + "/backchannel-logout"

    def logout_tokens(self) -> list[str]:
        return [token for post in self.received for token in post.form.get("logout_token", [])]


@contextmanager
def receiver() -> Iterator[Receiver]:
    """Serve in a daemon thread until the block ends."""
    server = ThreadingHTTPServer((HOST, 0), _Handler)
    state = Receiver(url=f"http://{HOST}:{server.server_port}")
    server.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="backchannel rp", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port() -> str:
    """A URI on 127.0.0.1 where nothing listens: a relying party that is down."""
    server = ThreadingHTTPServer((HOST, 0), _Handler)
    port = server.server_port
    server.server_close()
    return f"http://{HOST}:{port}/backchannel-logout"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        state: Receiver = self.server.state  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8")
        state.received.append(
            Received(self.path, self.headers.get("Content-Type", ""), parse_qs(body))
        )
        self.send_response(state.status)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet."""
