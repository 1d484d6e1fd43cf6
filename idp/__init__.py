"""OpenID Connect identity provider: ``create_app`` is the only place the app is
assembled."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from idp.config import Config, load_config

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Templates, translations and migrations live at the top of the source tree
    and inside the package in a built wheel (see pyproject's force-include)."""
    packaged = PACKAGE_DIR / name
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent / name


def create_app(config: Config | None = None, **flask_config: Any) -> Flask:
    config = config or load_config()
    data_dir = Path(config.server.data_dir).resolve()
    app = Flask(
        __name__,
        template_folder=str(resource_dir("templates")),
        static_folder=str(PACKAGE_DIR / "static"),
        instance_path=str(data_dir),
    )
    app.config.update(_flask_settings(config, data_dir))
    app.config.update(flask_config)
    app.config["IDP"] = config
    if config.server.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=config.server.trusted_proxies,
            x_proto=config.server.trusted_proxies,
            x_host=config.server.trusted_proxies,
        )
    _init_extensions(app)
    _register_blueprints(app)
    from idp.oidc.fastpath import FastPaths

    app.wsgi_app = FastPaths(app, app.wsgi_app)  # type: ignore[method-assign]
    return app


def _json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _flask_settings(config: Config, data_dir: Path) -> dict[str, Any]:
    url = database_url(config.database.url)
    # JSON as written, not \u-escaped: the change log searches details for "Müller"
    engine_options: dict[str, Any] = {"pool_pre_ping": True, "json_serializer": _json_dumps}
    if url.startswith("sqlite"):
        engine_options = {"connect_args": {"timeout": 30}, "json_serializer": _json_dumps}
        _tune_sqlite()
    return {
        "SECRET_KEY": config.server.secret_key or _local_secret(data_dir, "secret_key"),
        "MFA_ENCRYPTION_KEY": config.mfa.encryption_key or _local_secret(data_dir, "mfa_key"),
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "SQLALCHEMY_ECHO": config.database.echo,
        "MAX_CONTENT_LENGTH": config.security.max_content_length,
        "MAX_FORM_MEMORY_SIZE": config.security.max_content_length,
        "SESSION_COOKIE_NAME": config.session.cookie_name,
        "SESSION_COOKIE_SECURE": config.uses_tls,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,  # bound to the server-side session instead
        "WTF_CSRF_SSL_STRICT": False,  # SameSite=Lax cookies already stop cross-site posts
        "BABEL_DEFAULT_LOCALE": config.i18n.default_locale,
        "BABEL_TRANSLATION_DIRECTORIES": str(resource_dir("translations")),
        "RATELIMIT_STORAGE_URI": config.security.ratelimit_storage_uri,
        "RATELIMIT_HEADERS_ENABLED": True,
        "OAUTH2_ACCESS_TOKEN_GENERATOR": True,
        "PREFERRED_URL_SCHEME": "https" if config.uses_tls else "http",
    }


def _tune_sqlite() -> None:
    """WAL lets readers and the writer work at once, and synchronous=NORMAL is
    durable across application crashes (only a power loss may drop the last
    commits): a commit costs ~0.02 ms instead of ~2 ms of fsync."""
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if getattr(_tune_sqlite, "done", False):
        return

    @event.listens_for(Engine, "connect")
    def set_pragmas(connection: Any, _record: Any) -> None:
        if isinstance(connection, sqlite3.Connection):
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    _tune_sqlite.done = True  # type: ignore[attr-defined]


def database_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _local_secret(data_dir: Path, name: str) -> str:
    """Development only (config refuses an https issuer without secrets): one
    secret per name and data directory, shared by every worker."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _init_extensions(app: Flask) -> None:
    from idp import errorpages, i18n
    from idp.extensions import babel, csrf, db, limiter, migrate
    from idp.mail import outbox
    from idp.oidc import server
    from idp.oidc.keys import KeyRing
    from idp.security import headers
    from idp.sessions import ServerSessionInterface

    db.init_app(app)
    migrate.init_app(app, db, directory=str(resource_dir("migrations")))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    limiter.init_app(app)
    app.session_interface = ServerSessionInterface()
    app.extensions["idp.keyring"] = KeyRing()
    server.init_app(app)
    headers.init_app(app)
    errorpages.init_app(app)
    outbox.init_app(app)
    _context(app)


def _context(app: Flask) -> None:
    from flask import has_request_context
    from flask_babel import get_locale

    from idp.security.headers import csp_nonce
    from idp.sessions import current_user

    @app.context_processor
    def page_context() -> dict[str, Any]:
        return {
            "branding": app.config["IDP"].branding,
            "current_locale": str(get_locale() or app.config["IDP"].i18n.default_locale),
            "csp_nonce": csp_nonce(),
            "current_user": current_user() if has_request_context() else None,
            "has_endpoint": lambda name: name in app.view_functions,
        }


def _register_blueprints(app: Flask) -> None:
    from flask import redirect, url_for

    from idp.extensions import csrf
    from idp.flows import (
        account,
        customer,
        invitation,
        login,
        mfa,
        mfa_passkey,
        mfa_phone,
        mfa_recovery,
        mfa_recovery_channel,
        mfa_totp,
        onboarding,
        recovery,
        registration,
        verification,
    )
    from idp.oidc import views
    from idp.orgs import api, operator

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # bearer tokens, no cookies: nothing to forge
    app.register_blueprint(login.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(mfa.bp)
    app.register_blueprint(recovery.bp)
    app.register_blueprint(registration.bp)
    app.register_blueprint(verification.bp)
    app.register_blueprint(mfa_phone.bp)
    app.register_blueprint(mfa_totp.bp)
    app.register_blueprint(mfa_recovery.bp)
    app.register_blueprint(mfa_recovery_channel.bp)
    app.register_blueprint(mfa_passkey.bp)
    app.register_blueprint(onboarding.bp)
    app.register_blueprint(invitation.bp)
    app.register_blueprint(customer.bp)
    app.register_blueprint(operator.bp)
    config = app.config["IDP"]
    if config.mail.backend == "console" and not config.uses_tls:
        from idp.mail import devpage

        app.register_blueprint(devpage.bp)

    @app.get("/")
    def index() -> Any:
        return redirect(url_for("account.index"))
