"""Passkeys in real Chromium with its virtual authenticator (CDP WebAuthn
domain): add one on the settings page, then sign in with it alone from the
login page, or confirm a password sign-in with it.

Browsers refuse an IP address as RP ID, so this provider runs as
http://localhost:PORT (its socket is still 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from idp import create_app
from idp.store import db
from tests.conftest import _empty_tables, make_config
from tests.e2e.conftest import EMAIL, PASSWORD
from tests.support.live import LiveServer, serve

pytestmark = pytest.mark.browser


@pytest.fixture
def localhost_server(database: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The provider at http://localhost:PORT with Anna."""
    from idp import accounts

    def build(url: str) -> Any:
        return create_app(make_config(database, tmp_path, server={"issuer": url}))

    with serve(build, host="localhost") as live:
        with live.app.app_context():
            accounts.create_user(
                EMAIL, PASSWORD, given_name="Anna", family_name="Schmidt", email_verified=True
            )
            db.session.commit()
            db.session.remove()
        try:
            yield live
        finally:
            with live.app.app_context():
                db.session.remove()
                _empty_tables()
                db.engine.dispose()


@pytest.fixture
def authenticator(page: Page) -> dict[str, Any]:
    """A platform authenticator with resident keys that verifies the user."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
    }
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
    return {"cdp": cdp, "id": added["authenticatorId"]}


@pytest.fixture
def without_autofill(page: Page) -> None:
    """A browser without conditional UI: the virtual authenticator answers an
    autofill request at once, which would sign in before any click."""
    page.add_init_script(
        "PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);"
    )


def password_sign_in(page: Page, live: LiveServer) -> None:
    page.goto(f"{live.url}/login")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")


def add_passkey(page: Page, live: LiveServer, name: str) -> None:
    page.goto(f"{live.url}/mfa/setup")
    page.click("#add-passkey")
    expect(page.get_by_role("heading", level=1)).to_have_text("Passkey hinzufügen")
    page.fill("#name", name)
    page.click("#passkey-add")
    # Done when the script follows the answer: the recovery code or the settings.
    page.wait_for_url(lambda url: "/mfa/passkey/" not in url)


def sign_out(page: Page, live: LiveServer) -> None:
    page.goto(f"{live.url}/logout")
    page.click("#logout-confirm")
    expect(page.locator("#footer-logout")).to_have_count(0)


def test_passkey_added_in_settings_signs_in_alone_with_the_login_page_button(
    page, console_errors, screenshot, localhost_server, authenticator, without_autofill
):
    live = localhost_server
    password_sign_in(page, live)
    page.wait_for_url(f"{live.url}/account/")
    add_passkey(page, live, "Laptop")
    page.goto(f"{live.url}/mfa/setup")
    expect(page.locator("#factors")).to_contain_text("Passkey „Laptop“")
    screenshot("passkey-setup")
    page.click("#add-passkey")
    expect(page.locator("#passkey-list")).to_contain_text("Laptop")
    screenshot("passkey-enrol")
    stored = authenticator["cdp"].send(
        "WebAuthn.getCredentials", {"authenticatorId": authenticator["id"]}
    )["credentials"]
    assert len(stored) == 1 and stored[0]["isResidentCredential"] is True

    sign_out(page, live)
    page.goto(f"{live.url}/login")
    expect(page.locator("#email")).to_have_attribute("autocomplete", "username webauthn")
    expect(page.locator("#passkey-login")).to_be_visible()
    screenshot("passkey-login")
    page.click("#passkey-login")
    page.wait_for_url(f"{live.url}/account/")
    expect(page.locator(".footer-user")).to_contain_text(EMAIL)
    assert console_errors == []


def test_passkey_in_the_login_page_autofill_signs_in(
    page, console_errors, localhost_server, authenticator
):
    """Conditional UI: the passkey offered with the e-mail field's suggestions;
    the virtual authenticator picks it as a person would."""
    live = localhost_server
    password_sign_in(page, live)
    page.wait_for_url(f"{live.url}/account/")
    add_passkey(page, live, "Laptop")
    sign_out(page, live)
    page.goto(f"{live.url}/login")
    page.wait_for_url(f"{live.url}/account/")
    expect(page.locator(".footer-user")).to_contain_text(EMAIL)
    assert console_errors == []


def test_passkey_confirms_a_password_sign_in_as_second_factor(
    page, console_errors, screenshot, localhost_server, authenticator, without_autofill
):
    live = localhost_server
    password_sign_in(page, live)
    page.wait_for_url(f"{live.url}/account/")
    add_passkey(page, live, "Laptop")
    sign_out(page, live)

    password_sign_in(page, live)
    page.wait_for_url(f"{live.url}/mfa/passkey/challenge")
    expect(page.locator("#passkey-verify")).to_be_visible()
    screenshot("passkey-challenge")
    page.check("#remember_device")
    page.click("#passkey-verify")
    page.wait_for_url(f"{live.url}/account/")
    expect(page.locator(".footer-user")).to_contain_text(EMAIL)
    assert any(c["name"] == "idp_device" for c in page.context.cookies())
    assert console_errors == []


def test_passkey_without_a_name_shows_the_message_on_the_page(
    page, console_errors, localhost_server, authenticator
):
    live = localhost_server
    password_sign_in(page, live)
    page.wait_for_url(f"{live.url}/account/")
    page.goto(f"{live.url}/mfa/passkey/")
    page.click("#passkey-add")
    expect(page.locator("#passkey-error")).to_have_text(
        "Bitte geben Sie einen Namen für den Passkey ein."
    )
    expect(page.locator("#passkey-add")).to_be_enabled()
    # Chromium logs the refused call's 400 response as a failed resource load.
    assert [e for e in console_errors if "status of 400" not in e] == []
