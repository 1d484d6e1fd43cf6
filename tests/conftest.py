"""Fixtures: one migrated database per backend, a fresh app per test.

SQLite always; PostgreSQL too when ``IDP_TEST_DATABASE_URL`` is set, so the
whole suite runs once per backend."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from idp import create_app, database_url
from idp.config import load_config
from idp.store import db
from tests.support.live import LiveServer, serve
from tests.support.mail import Mailbox, SmtpSink
from tests.support.oidc import RelyingParty

ISSUER = "http://localhost"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("IDP_TEST_DATABASE_URL") else [])
KEPT_TABLES = {"signing_keys", "alembic_version"}


@pytest.fixture(scope="session", params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    else:
        url = os.environ["IDP_TEST_DATABASE_URL"]
        engine = create_engine(database_url(url))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app(make_config(url, tmp_path_factory.mktemp("data")))
    with app.app_context():
        from idp.cli import upgrade_database

        upgrade_database()
        db.session.commit()
        db.engine.dispose()
    return url


SMTP = SmtpSink()


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    SMTP.start()
    yield SMTP
    SMTP.stop()


@pytest.fixture
def mailbox(smtp_sink: SmtpSink) -> Iterator[Mailbox]:
    """What the real SMTP server received during this test."""
    smtp_sink.mailbox.messages.clear()
    smtp_sink.mailbox.refuse = False
    yield smtp_sink.mailbox
    smtp_sink.mailbox.refuse = False


def make_config(url: str, data_dir: Path, **overrides: dict[str, Any]) -> Any:
    sections: dict[str, dict[str, Any]] = {
        "server": {
            "issuer": ISSUER,
            "data_dir": str(data_dir),
            "secret_key": "test-secret-key-that-is-long-enough-0123",
        },
        "database": {"url": url},
        "mail": {
            "backend": "smtp",
            "host": "127.0.0.1",
            "port": SMTP.port,
            "from_address": "kunden-id@example.com",
            "timeout": 5,
        },
    }
    for section, values in overrides.items():
        sections.setdefault(section, {}).update(values)
    return load_config(overrides=sections, environ={})


@pytest.fixture
def app(
    database: str, tmp_path: Path, request: pytest.FixtureRequest, mailbox: Mailbox
) -> Iterator[Flask]:
    marker = request.node.get_closest_marker("config")
    overrides = marker.kwargs if marker else {}
    app = create_app(make_config(database, tmp_path, **overrides), TESTING=True)
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


@contextmanager
def live_provider(database: str, data_dir: Path) -> Iterator[LiveServer]:
    """The provider as a real server on a free port, its issuer the URL it
    answers at; the tables are emptied when it stops."""

    def build(url: str) -> Flask:
        return create_app(make_config(database, data_dir, server={"issuer": url}))

    with serve(build) as live:
        try:
            yield live
        finally:
            with live.app.app_context():
                db.session.remove()
                _empty_tables()
                db.engine.dispose()


def _empty_tables() -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in KEPT_TABLES]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(t.name for t in tables) + " CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture
def web(app: Flask) -> Iterator[Flask]:
    """The app that serves HTTP requests: a twin of ``app`` on the same database.

    ``app`` keeps an app context pushed for seeding and inspecting; requests to
    the same app would reuse that context (and its ``g``), unlike production
    where every request gets a fresh one. The twin gets fresh contexts."""
    web = create_app(app.config["IDP"], TESTING=True)
    yield web
    with web.app_context():
        db.engine.dispose()


@pytest.fixture
def idp_cli(app: Flask, tmp_path: Path) -> Any:
    """Run ``idp ...`` against the test database and SMTP sink; returns the output."""
    from click.testing import CliRunner

    from idp.cli import main

    config = app.config["IDP"]
    path = tmp_path / "idp.toml"
    path.write_text(
        f'[server]\nissuer = "{config.server.issuer}"\n'
        f'secret_key = "{config.server.secret_key}"\ndata_dir = "{tmp_path}"\n'
        f'[database]\nurl = "{config.database.url}"\n'
        f'[mail]\nbackend = "smtp"\nhost = "127.0.0.1"\nport = {config.mail.port}\n'
        f'from_address = "{config.mail.from_address}"\n',
        encoding="utf-8",
    )

    def run(*args: str, ok: bool = True) -> str:
        result = CliRunner().invoke(main, ["--config", str(path), *args])
        assert (result.exit_code == 0) == ok, result.output
        return str(result.output)

    return run


@pytest.fixture
def client(web: Flask) -> FlaskClient:
    return web.test_client()


@pytest.fixture
def user(app: Flask) -> Any:
    from idp import accounts

    user = accounts.create_user(
        "anna.schmidt@example.de",
        "Korrekt-Pferd-Batterie-1",
        given_name="Anna",
        family_name="Schmidt",
        email_verified=True,
        phone_number="+49301234567",
        address={"locality": "Berlin", "country": "DE"},
    )
    db.session.commit()
    return user


@pytest.fixture
def oauth_client(app: Flask) -> Any:
    """A confidential third-party relying party (needs consent)."""
    from idp.oidc import clients

    client, secret = clients.register(
        name="Shop",
        client_id="shop",
        secret="shop-secret-0123456789abcdef",
        redirect_uris=["https://shop.example/cb"],
        post_logout_redirect_uris=["https://shop.example/bye"],
        grant_types=["authorization_code", "refresh_token", "client_credentials"],
    )
    db.session.commit()
    return client


@pytest.fixture
def portal_client(app: Flask) -> Any:
    """A confidential first-party relying party (no consent page)."""
    from idp.oidc import clients

    client, _ = clients.register(
        name="Portal",
        client_id="portal",
        secret="portal-secret-0123456789abcdef",
        redirect_uris=["https://portal.example/cb"],
        post_logout_redirect_uris=["https://portal.example/"],
        grant_types=["authorization_code", "refresh_token"],
        first_party=True,
    )
    db.session.commit()
    return client


@pytest.fixture
def public_client(app: Flask) -> Any:
    from idp.oidc import clients

    client, _ = clients.register(
        name="Mobile",
        client_id="mobile",
        redirect_uris=["http://127.0.0.1:7777/cb"],
        grant_types=["authorization_code", "refresh_token"],
        auth_method="none",
        first_party=True,
    )
    db.session.commit()
    return client


@pytest.fixture
def portal(client: FlaskClient, portal_client: Any) -> RelyingParty:
    return RelyingParty(
        client, "portal", "portal-secret-0123456789abcdef", "https://portal.example/cb"
    )


@pytest.fixture
def shop(client: FlaskClient, oauth_client: Any) -> RelyingParty:
    return RelyingParty(client, "shop", "shop-secret-0123456789abcdef", "https://shop.example/cb")
