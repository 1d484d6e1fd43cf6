"""Discovery and JWKS served in front of Flask.

Relying parties and resource servers fetch these documents often, and they
depend only on configuration and the signing keys, so they skip sessions,
CSRF, rate limiting and templating: precomputed bytes, one ``dict`` lookup. The
key ring is re-read only when its cache period is over (OIDC Discovery 4, RFC
7517). Both are public and cacheable, and readable cross-origin by browser
clients."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from idp.oidc import discovery
from idp.store import db

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/jwks"


class FastPaths:
    def __init__(self, app: Flask, downstream: WSGIApp) -> None:
        self.app = app
        self.downstream = downstream
        metadata = discovery.metadata(app.config["IDP"])
        self.discovery = json.dumps(metadata, separators=(",", ":")).encode()
        self.key_ttl = app.config["IDP"].oidc.key_cache_seconds

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        if method not in ("GET", "HEAD") or path not in (DISCOVERY_PATH, JWKS_PATH):
            return self.downstream(environ, start_response)
        if path == DISCOVERY_PATH:
            body, mimetype, max_age = self.discovery, "application/json", 300
        else:
            body, mimetype, max_age = self.jwks(), "application/jwk-set+json", 60
        start_response(
            "200 OK",
            [
                ("Content-Type", mimetype),
                ("Content-Length", str(len(body))),
                ("Cache-Control", f"public, max-age={max_age}"),
                ("Access-Control-Allow-Origin", "*"),
                ("X-Content-Type-Options", "nosniff"),
            ],
        )
        return [body] if method == "GET" else [b""]

    def jwks(self) -> bytes:
        ring = self.app.extensions["idp.keyring"]
        if time.monotonic() - ring.loaded_at > self.key_ttl:
            with self.app.app_context():
                try:
                    ring.load()
                finally:
                    db.session.remove()
        return bytes(ring.jwks_json)
