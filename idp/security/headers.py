"""Security headers on every response."""

from __future__ import annotations

import secrets

from flask import Flask, Response, g, request

NO_STORE_ENDPOINTS = {
    "oidc.token",
    "oidc.userinfo",
    "oidc.introspect",
    "oidc.revoke",
    "login.login",
}


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return str(g.csp_nonce)


def init_app(app: Flask) -> None:
    uses_tls = app.config["IDP"].uses_tls

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        headers = response.headers
        # form-action is left out on purpose: Chromium applies it to the redirect
        # chain after a form post, which would block the redirect to the client.
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{csp_nonce()}'; "
            f"style-src 'self' 'nonce-{csp_nonce()}'; "
            "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'",
        )
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if uses_tls or request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint in NO_STORE_ENDPOINTS or response.mimetype == "text/html":
            # RFC 6749 5.1: token responses MUST carry no-store; pages carry
            # session-specific CSRF tokens, so they are not cached either.
            headers["Cache-Control"] = "no-store"
            headers["Pragma"] = "no-cache"
        return response
