"""Browser tests: the provider on a real port, a relying party's redirect URI on
another, and headless Chromium (Debian's) driven by Playwright."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, sync_playwright

from idp.store import db
from tests.conftest import live_provider
from tests.support.live import Callback, LiveServer, callback_server
from tests.support.oidc import RelyingParty

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
EMAIL = "anna.schmidt@example.de"
PASSWORD = "Korrekt-Pferd-Batterie-1"
PORTAL_SECRET = "portal-secret-0123456789abcdef"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) per test, German like most users."""
    context = browser.new_context(locale="de-DE")
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def console_errors(page: Page) -> list[str]:
    """Console errors (CSP violations among them) and uncaught exceptions. The
    provider serves no /favicon.ico; Chromium's 404 for it is not counted."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        url = message.location.get("url", "")
        if message.type == "error" and not url.endswith("/favicon.ico"):
            errors.append(f"{message.text} ({url})")

    def on_page_error(error: Error) -> None:
        errors.append(f"uncaught: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    return errors


@pytest.fixture
def screenshot(page: Page) -> Callable[[str], Path]:
    """``screenshot("login")`` saves a full-page PNG to test-artifacts/screenshots/."""

    def take(name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def rp_callback() -> Iterator[Callback]:
    with callback_server() as callback:
        yield callback


@pytest.fixture
def live_server(database: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The provider on a free port; its issuer is the URL the browser uses."""

    with live_provider(database, tmp_path) as live:
        yield live


@pytest.fixture
def live_portal(live_server: LiveServer, rp_callback: Callback) -> RelyingParty:
    """Anna and a first-party client redirecting to ``rp_callback``. The returned
    RelyingParty holds state, nonce and PKCE verifier; use ``params()`` only (its
    ``http`` is a test client of the live app, not the browser)."""
    from idp import accounts
    from idp.oidc import clients

    with live_server.app.app_context():
        accounts.create_user(
            EMAIL, PASSWORD, given_name="Anna", family_name="Schmidt", email_verified=True
        )
        clients.register(
            name="Portal",
            client_id="portal",
            secret=PORTAL_SECRET,
            redirect_uris=[rp_callback.redirect_uri],
            post_logout_redirect_uris=[rp_callback.url + "/"],
            grant_types=["authorization_code", "refresh_token"],
            first_party=True,
        )
        db.session.commit()
        db.session.remove()
    return RelyingParty(
        live_server.app.test_client(), "portal", PORTAL_SECRET, rp_callback.redirect_uri
    )
