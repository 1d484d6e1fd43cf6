"""Portal tests through HTTP: the provider and the portal both run as real
servers on loopback; a ``Browser`` (requests with a cookie jar, no JavaScript)
signs people in at the provider and walks the portal's pages."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from clients.portal import create_portal
from idp import accounts
from idp.oidc import clients
from idp.orgs import service
from idp.store import Membership, User, db
from tests.conftest import live_provider
from tests.support.live import LiveServer, serve

CLIENT_ID = "portal"
SECRET = "portal-secret-0123456789abcdef"
PASSWORD = "Korrekt-Pferd-Batterie-1"
NUMBER = "447712782"
CUSTOMERS = [
    {"customer_number": NUMBER, "name": "Bäckerei Schmidt GmbH", "country": "DE",
     "product_line": "sage50"},
    {"customer_number": "261973069", "name": "Müller & Söhne KG", "country": "DE",
     "product_line": "sage100"},
]  # fmt: skip
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
RID = re.compile(r'name="rid" value="([^"]*)"')


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "portal(**settings): settings for the portal fixture")


@pytest.fixture
def provider(database: str, tmp_path: Path, mailbox: Any) -> Iterator[LiveServer]:
    with live_provider(database, tmp_path) as live:
        yield live


@pytest.fixture
def portal(provider: LiveServer, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The portal on its own port, registered at the provider as a first-party
    client with its back-channel logout URI. ``@pytest.mark.portal(...)``
    passes settings (e.g. ``claims_max_age=0``)."""
    marker = request.node.get_closest_marker("portal")
    settings = {"claims_max_age": 3600, **(marker.kwargs if marker else {})}
    session_db = str(tmp_path / "portal-sessions.sqlite3")

    def build(url: str) -> Any:
        return create_portal(
            provider.url,
            CLIENT_ID,
            SECRET,
            "portal-cookie-key-0123456789",
            session_db=session_db,
            **settings,
        )

    with serve(build) as live:
        with provider.app.app_context():
            clients.register(
                name="Kundenportal",
                client_id=CLIENT_ID,
                secret=SECRET,
                redirect_uris=[live.url + "/callback"],
                post_logout_redirect_uris=[live.url + "/"],
                grant_types=["authorization_code", "refresh_token"],
                scopes="openid profile email customer customer_admin",
                first_party=True,
                backchannel_logout_uri=live.url + "/backchannel-logout",
            )
            db.session.commit()
        yield live


@dataclass
class Company:
    """Bäckerei Schmidt GmbH: Anna (admin, every permission), Bernd (employee
    with "Meine Lizenzen"), Clara (pending); Dora has no customer account."""

    anna: str
    bernd: str
    clara: str
    dora: str


def _person(email: str, given: str, family: str) -> User:
    return accounts.create_user(
        email, PASSWORD, given_name=given, family_name=family, email_verified=True
    )


def _member(user: User, role: str, status: str, permissions: list[str]) -> None:
    account = service.find_customer(NUMBER)
    assert account is not None
    db.session.add(
        Membership(
            user_id=user.id,
            customer_account_id=account.id,
            role=role,
            status=status,
            permissions=permissions,
        )
    )


@pytest.fixture
def company(provider: LiveServer) -> Company:
    from idp.orgs import permissions

    with provider.app.app_context():
        service.import_customers(CUSTOMERS)
        anna = _person("anna.schmidt@example.de", "Anna", "Schmidt")
        bernd = _person("bernd.mueller@example.de", "Bernd", "Müller")
        clara = _person("clara.wagner@example.de", "Clara", "Wagner")
        dora = _person("dora.klein@example.de", "Dora", "Klein")
        _member(anna, "admin", "active", sorted(permissions.CODES))
        _member(bernd, "employee", "active", ["licenses"])
        _member(clara, "employee", "pending", [])
        db.session.commit()
        subs = Company(anna.sub, bernd.sub, clara.sub, dora.sub)
        db.session.remove()
    return subs


class Browser:
    """One person's browser without JavaScript: a cookie jar, redirects
    followed, forms posted with the page's CSRF token."""

    def __init__(self, portal: LiveServer, provider: LiveServer) -> None:
        self.portal = portal.url
        self.provider = provider.url
        self.http = requests.Session()
        self.page: requests.Response | None = None

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.portal + path

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        self.page = self.http.get(self.url(path), timeout=10, **kwargs)
        return self.page

    def post(
        self, path: str, data: dict[str, Any] | None = None, csrf: bool = True, **kwargs: Any
    ) -> requests.Response:
        form = dict(data or {})
        if csrf:
            assert self.page is not None, "no page to take the CSRF token from"
            match = CSRF.search(self.page.text)
            assert match, "no CSRF token on the page"
            form.setdefault("csrf_token", match.group(1))
        self.page = self.http.post(self.url(path), data=form, timeout=10, **kwargs)
        return self.page

    def sign_in(self, email: str, password: str = PASSWORD, path: str = "/login") -> Any:
        """Through the provider's login page; returns the portal page landed on."""
        login = self.get(path)
        assert login.url.startswith(self.provider + "/login"), login.url
        rid = RID.search(login.text)
        return self.post(
            self.provider + "/login",
            {"rid": rid.group(1) if rid else "", "email": email, "password": password},
        )


@pytest.fixture
def browser(portal: LiveServer, provider: LiveServer) -> Browser:
    return Browser(portal, provider)


@pytest.fixture
def second_browser(portal: LiveServer, provider: LiveServer) -> Browser:
    return Browser(portal, provider)


def portal_sessions(portal: LiveServer) -> list[tuple[str, str | None]]:
    """(sub, provider sid) of each live portal session, read from its store."""
    path = portal.app.extensions["portal"].store.path
    with sqlite3.connect(path) as db_:
        return list(db_.execute("SELECT sub, idp_sid FROM sessions ORDER BY created_at"))
