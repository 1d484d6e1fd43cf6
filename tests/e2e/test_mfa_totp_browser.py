"""An authenticator app in Chromium: enrolled from the settings by typing the
key shown for manual entry into pyotp, the recovery code confirmed, and the
next sign-in through a relying party asks for the app's code."""

from __future__ import annotations

import re
import time
from urllib.parse import urlencode

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import EMAIL, PASSWORD

pytestmark = pytest.mark.browser

RECOVERY_CODE = re.compile(r"^[2-9A-Z]{4}(-[2-9A-Z]{4}){3}$")


def sign_in(page: Page) -> None:
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")


def enrol_app(page: Page, screenshot) -> str:
    """From the account page to a confirmed app; returns the key read off the page."""
    page.click("#mfa-setup")
    page.click("#add-totp")
    expect(page.locator("#totp-qr svg")).to_be_visible()
    page.click("#totp-manual-toggle")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    screenshot("mfa-totp-enrol")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("#totp-enrol-submit")
    expect(page.locator("#recovery-warning")).to_contain_text("!!! Wichtig !!!")
    expect(page.locator("#recovery-code")).to_have_text(RECOVERY_CODE)
    screenshot("mfa-recovery-code")
    page.check("#stored")
    page.click("#recovery-continue")
    expect(page.locator("#factors")).to_contain_text("Authentifizierungs-App")
    return secret


def test_enrol_an_app_then_sign_in_with_its_code(
    page, console_errors, screenshot, live_server, live_portal, rp_callback
):
    page.goto(f"{live_server.url}/login")
    sign_in(page)
    expect(page.locator("#footer-account")).to_be_visible()
    secret = enrol_app(page, screenshot)
    page.click("#footer-logout")
    page.click("#logout-confirm")

    page.goto(f"{live_server.url}/authorize?{urlencode(live_portal.params())}")
    sign_in(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Bestätigen Sie Ihre Identität")
    screenshot("mfa-totp-challenge")
    # The code of the enrolment is spent; the app's next one is already accepted.
    page.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))
    page.click("#totp-submit")
    page.wait_for_url(f"{rp_callback.redirect_uri}?**")
    [callback] = rp_callback.queries
    assert callback["state"] == live_portal.state and callback["code"]
    assert console_errors == []
