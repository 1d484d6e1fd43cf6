"""Signing in through a real browser: the login page, the redirect back to the
relying party, and the code exchanged on the back channel."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import EMAIL, PASSWORD
from tests.support.live import post_form
from tests.support.oidc import basic

pytestmark = pytest.mark.browser

PAGE_BACKGROUND = "rgb(243, 244, 246)"  # --bg from style.css: the stylesheet is applied


def authorize_url(live, rp, **extra: str) -> str:
    return f"{live.url}/authorize?{urlencode(rp.params(**extra))}"


def open_login_page(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Anmelden")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == PAGE_BACKGROUND


def test_password_login_redirects_to_client_with_code_that_yields_id_token(
    page, console_errors, screenshot, live_server, live_portal, rp_callback
):
    open_login_page(page, authorize_url(live_server, live_portal))
    expect(page.locator("html")).to_have_attribute("lang", "de")
    screenshot("login")
    assert console_errors == []

    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(f"{rp_callback.redirect_uri}?**")
    expect(page.locator("body")).to_have_text("ok")

    [callback] = rp_callback.queries
    assert callback["state"] == live_portal.state
    assert callback["iss"] == live_server.url
    assert callback["code"]
    status, tokens = post_form(
        f"{live_server.url}/token",
        {
            "grant_type": "authorization_code",
            "code": callback["code"],
            "redirect_uri": live_portal.redirect_uri,
            "code_verifier": live_portal.verifier,
        },
        basic(live_portal.client_id, live_portal.secret),
    )
    assert status == 200, tokens
    assert tokens["id_token"].count(".") == 2
    assert console_errors == []


def test_wrong_password_shows_error_and_keeps_email(
    page, console_errors, screenshot, live_server, live_portal, rp_callback
):
    open_login_page(page, authorize_url(live_server, live_portal))
    page.fill("#email", EMAIL)
    page.fill("#password", "Falsches-Passwort-0")
    page.click("#login-submit")

    card = page.locator(".card")
    expect(card.locator("#form-errors")).to_have_text("E-Mail-Adresse oder Passwort ist falsch.")
    expect(card.locator("form #email")).to_have_value(EMAIL)
    expect(page.locator("#password")).to_have_value("")
    screenshot("login-error")
    assert rp_callback.queries == []
    # Chromium logs the failed login's 401 response as a failed resource load.
    assert [e for e in console_errors if "status of 401" not in e] == []


def test_ui_locales_en_sets_html_lang_en(page, console_errors, live_server, live_portal):
    page.goto(authorize_url(live_server, live_portal, ui_locales="en"))
    expect(page.locator("#login-submit")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert console_errors == []
