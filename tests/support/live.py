"""Real HTTP servers for browser tests: a WSGI app on a free 127.0.0.1 port and a
relying party's redirect URI that records what the browser brings back."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from idp.mail.outbox import stop_delivery

HOST = "127.0.0.1"


class _QuietWSGIHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """No access log; errors still go to ``log_error``."""


@dataclass
class LiveServer:
    url: str
    app: Flask


def _placeholder(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


@contextmanager
def serve(build: Callable[[str], Flask], host: str = HOST) -> Iterator[LiveServer]:
    """Serve ``build(base_url)`` in a daemon thread. The socket is bound (port 0)
    before the app is built, so the app can know its own URL (the issuer) and no
    other process can take the port in between.

    ``host`` is the name in that URL; the socket is always 127.0.0.1. Passkey
    tests use "localhost": browsers refuse an IP address as WebAuthn RP ID."""
    server = make_server(HOST, 0, _placeholder, threaded=True, request_handler=_QuietWSGIHandler)
    url = f"http://{host}:{server.server_port}"
    try:
        server.app = build(url)
    except BaseException:
        server.server_close()
        raise
    thread = threading.Thread(target=server.serve_forever, name=f"live {url}", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=url, app=server.app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        # The provider's mail thread would otherwise outlive the server and keep
        # polling the shared test database, racing later tests for their mail.
        stop_delivery(server.app)


@dataclass
class Callback:
    """The relying party's side: ``redirect_uri`` answers ``ok`` and keeps each
    query it received, so the browser really lands somewhere."""

    url: str
    queries: list[dict[str, str]] = field(default_factory=list)

    @property
    def redirect_uri(self) -> str:
        return self.url + "/cb"


@contextmanager
def callback_server() -> Iterator[Callback]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            parts = urlsplit(self.path)
            found = parts.path == "/cb"
            if found:
                callback.queries.append({k: v[0] for k, v in parse_qs(parts.query).items()})
            body = b"ok" if found else b"not found"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer((HOST, 0), Handler)
    server.daemon_threads = True
    callback = Callback(url=f"http://{HOST}:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, name="rp callback", daemon=True)
    thread.start()
    try:
        yield callback
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def post_form(url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
    """A back-channel POST (token endpoint) from the test itself; returns status, JSON."""
    request = urllib.request.Request(url, data=urlencode(form).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)
