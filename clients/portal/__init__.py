"""The customer portal: a relying party that signs people in at the identity
provider and authorises every page from the token's claims. It imports nothing
from ``idp``; it only speaks OpenID Connect and the provider's administration
API, so it is what a relying-party developer can copy.

    create_portal()                      # settings from PORTAL_CONFIG / PORTAL_* env
    create_portal(issuer, client_id, client_secret, secret_key, session_db=...)
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from authlib.integrations.flask_client import OAuth
from flask import Flask, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from clients.portal import oidc
from clients.portal.auth import SessionEnded, claims, current_session, end_local_session, is_admin
from clients.portal.config import PortalConfig, load_config
from clients.portal.context import Portal, provider_url
from clients.portal.i18n import _, current_locale
from clients.portal.store import SessionStore

STATUS_LABELS = {
    "active": "Aktiv",
    "locked": "Gesperrt",
    "pending": "Ausstehend",
    "invited": "Eingeladen",
}
ROLE_LABELS = {"employee": "Mitarbeiter", "admin": "Administrator"}
ERROR_PAGES = {
    400: ("Ungültige Anfrage", "Die Anfrage konnte nicht verarbeitet werden."),
    403: (
        "Kein Zugriff",
        "Sie haben keine Berechtigung für diese Seite. Wenden Sie sich an Ihren "
        "Administrator, wenn Sie Zugang benötigen.",
    ),
    404: ("Seite nicht gefunden", "Diese Seite gibt es nicht."),
    405: ("Ungültige Anfrage", "Die Anfrage konnte nicht verarbeitet werden."),
    500: ("Fehler", "Etwas ist schiefgegangen. Bitte versuchen Sie es später erneut."),
}


def create_portal(
    issuer: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    secret_key: str | None = None,
    *,
    config: PortalConfig | None = None,
    **overrides: Any,
) -> Flask:
    if config is None:
        config = load_config(
            issuer=issuer,
            client_id=client_id,
            client_secret=client_secret,
            secret_key=secret_key,
            **overrides,
        )
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key or secrets.token_hex(32),
        SESSION_COOKIE_NAME="portal_session",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=config.issuer.startswith("https://"),
        WTF_CSRF_TIME_LIMIT=None,  # the token is bound to the session
        PORTAL=config,
    )
    session_db = config.session_db or os.path.join(app.instance_path, "portal-sessions.sqlite3")
    os.makedirs(os.path.dirname(session_db) or ".", exist_ok=True)
    oauth = OAuth(app)
    app.extensions["portal"] = Portal(
        config=config,
        store=SessionStore(session_db, config.session_lifetime),
        idp=oidc.register(oauth, config),
    )
    csrf = CSRFProtect(app)

    from clients.portal import admin, areas, auth, invite  # noqa: F401 (invite adds routes)

    app.register_blueprint(auth.bp)
    app.register_blueprint(areas.bp)
    app.register_blueprint(admin.bp)
    csrf.exempt(auth.backchannel_logout)
    _install_templates(app, config)
    _install_errors(app)
    _install_headers(app, config)
    return app


def _zone(name: str) -> Any:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _install_templates(app: Flask, config: PortalConfig) -> None:
    zone = _zone(config.timezone)

    def when(value: Any, with_time: bool = False) -> str:
        if not value:
            return "–"
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        if zone is not None and moment.tzinfo is not None:
            moment = moment.astimezone(zone)
        pattern = "%d.%m.%Y" if current_locale() == "de" else "%d/%m/%Y"
        return moment.strftime(pattern + (" %H:%M" if with_time else ""))

    def lang_href(code: str) -> str:
        args = request.args.to_dict()
        args["lang"] = code
        return request.path + "?" + urlencode(args)

    def provider_link(path: str, **params: str) -> str:
        return provider_url(path) + "?" + urlencode({**params, "ui_locales": current_locale()})

    app.jinja_env.filters["date"] = when
    app.jinja_env.filters["datetime"] = lambda value: when(value, with_time=True)
    app.jinja_env.filters["status"] = lambda v: _(STATUS_LABELS.get(str(v), str(v)))
    app.jinja_env.filters["role"] = lambda v: _(ROLE_LABELS.get(str(v), str(v)))

    @app.context_processor
    def globals_() -> dict[str, Any]:
        signed_in = current_session() is not None
        return {
            "_": _,
            "branding": config.branding,
            "current_locale": current_locale(),
            "csp_nonce": _nonce(),
            "lang_href": lang_href,
            "provider_link": provider_link,
            "me": claims() if signed_in else None,
            "is_admin": signed_in and is_admin(),
        }


def _nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return str(g.csp_nonce)


def _install_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        message = _("Das Formular ist abgelaufen. Bitte laden Sie die Seite neu.")
        return render_template("error.html", title=_("Ungültige Anfrage"), message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        code = error.code or 500
        title, message = ERROR_PAGES.get(code, ERROR_PAGES[400 if code < 500 else 500])
        return render_template("error.html", title=_(title), message=_(message)), code

    @app.errorhandler(SessionEnded)
    def session_ended(error: SessionEnded) -> BaseResponse:
        end_local_session()
        return redirect(url_for("auth.login"))


def _install_headers(app: Flask, config: PortalConfig) -> None:
    provider = "{0.scheme}://{0.netloc}".format(urlsplit(config.issuer))
    logo = urlsplit(config.branding.logo_url)
    images = "'self' data:" + (
        f" {logo.scheme}://{logo.netloc}" if logo.scheme in ("http", "https") else ""
    )

    @app.after_request
    def headers(response: BaseResponse) -> BaseResponse:
        # form-action includes the provider: Chromium applies it to the redirects
        # that follow a form post (sign-out, a refresh that ends in sign-in).
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; style-src 'self' 'nonce-{_nonce()}'; img-src {images}; "
            f"form-action 'self' {provider}; frame-ancestors 'none'; base-uri 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response
