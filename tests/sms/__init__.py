"""A real HTTP SMS gateway on 127.0.0.1 for tests: it records every JSON body
and Authorization header it receives and answers with ``status`` (after
``delay`` seconds). Its port is chosen at import time, so a config marker can
name its URL; it starts on first use and stops when the test run ends."""

from __future__ import annotations

import atexit
import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.mail import free_port

TOKEN = "gateway-token-0123456789"
SPELLED_CODE = re.compile(r"\b(\d(?: ?\d){5})\b")


@dataclass
class Received:
    body: dict[str, Any]
    authorization: str
    content_type: str

    @property
    def code(self) -> str:
        """The six digits, also when a call spells them out ("1 2 3 4 5 6")."""
        match = SPELLED_CODE.search(self.body.get("text", ""))
        assert match, f"no code in {self.body!r}"
        return match.group(1).replace(" ", "")


class SmsGateway:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/messages"
        self.received: list[Received] = []
        self.status = 200
        self.delay = 0.0
        self._server: ThreadingHTTPServer | None = None

    def config(self, **extra: Any) -> dict[str, Any]:
        """The ``[sms]`` section that sends here."""
        return {"backend": "http", "url": self.url, "token": TOKEN, "sender": "KundenID", **extra}

    def start(self) -> None:
        if self._server is not None:
            return
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        atexit.register(self.stop)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def reset(self) -> None:
        self.received.clear()
        self.status = 200
        self.delay = 0.0

    def to(self, number: str) -> list[Received]:
        return [r for r in self.received if r.body.get("to") == number]

    def last(self, number: str) -> Received:
        found = self.to(number)
        assert found, f"nothing sent to {number}; got {[r.body.get('to') for r in self.received]}"
        return found[-1]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                gateway.received.append(
                    Received(
                        body,
                        self.headers.get("Authorization", ""),
                        self.headers.get("Content-Type", ""),
                    )
                )
                time.sleep(gateway.delay)
                try:
                    self.send_response(gateway.status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"id": "msg-1"}')
                except OSError:  # the client gave up waiting (timeout test)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the tests read ``received``, not the access log."""

        return Handler


GATEWAY = SmsGateway()
