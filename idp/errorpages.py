"""Errors as pages for people and as OAuth error JSON for machines; never a
traceback."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from idp.store import db

log = logging.getLogger(__name__)

API_PATHS = ("/token", "/revoke", "/introspect", "/userinfo", "/jwks", "/.well-known/")

OAUTH_ERRORS = {
    400: "invalid_request",
    401: "invalid_client",
    404: "invalid_request",
    405: "invalid_request",
    413: "invalid_request",
    415: "invalid_request",
    429: "temporarily_unavailable",
    500: "server_error",
    503: "temporarily_unavailable",
}


def is_api_request() -> bool:
    return request.path.startswith(API_PATHS)


def _respond(status: int, description: str) -> Response:
    from idp.orgs import api_core as api

    if api.is_api_path(request.path):
        return api.http_error(status)
    if is_api_request():
        response = jsonify(
            error=OAUTH_ERRORS.get(status, "invalid_request"), error_description=description
        )
        response.status_code = status
        return response
    body = render_template("errors/error.html", status=status)
    return Response(body, status=status)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def reject_nul_bytes() -> Response | None:
    """PostgreSQL text cannot hold NUL, and no legitimate parameter contains one."""
    query = request.query_string
    has_nul = b"%00" in query or b"\x00" in query
    if not has_nul and request.method == "POST" and request.mimetype in FORM_TYPES:
        has_nul = any("\x00" in value for value in request.form.values())
    if has_nul:
        return _respond(400, "Request contains a NUL byte.")
    return None


def init_app(app: Flask) -> None:
    app.before_request(reject_nul_bytes)

    @app.errorhandler(DataError)
    def unstorable_input(error: DataError) -> Response:
        db.session.rollback()
        return _respond(400, "The request contains data that cannot be processed.")

    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError) -> Response:
        body = render_template("errors/error.html", status=400, csrf=True)
        return Response(body, status=400)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        response = _respond(error.code or 500, error.description or error.name)
        if error.code == 405 and (allowed := error.get_headers()):
            response.headers.extend(h for h in allowed if h[0] == "Allow")
        return response

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError) -> Response:
        log.error("database unavailable: %s", error.__class__.__name__)
        db.session.rollback()
        return _respond(503, "The service is temporarily unavailable.")

    @app.errorhandler(InternalServerError)
    def internal_error(error: InternalServerError) -> Response:
        db.session.rollback()
        return _respond(500, "Internal error.")
