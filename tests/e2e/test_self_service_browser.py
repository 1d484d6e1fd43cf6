"""A newcomer in Chromium: registers, types the mailed code, signs out, resets
the forgotten password from the mailed link and signs in with the new one."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from tests.support.mail import Mailbox

pytestmark = pytest.mark.browser

EMAIL = "neu.kunde@example.de"
FIRST_PASSWORD = "Erstes-Passwort-2024!"
NEW_PASSWORD = "Zweites-Passwort-2025!"


def wait_for_mail(mailbox: Mailbox, address: str, count: int) -> None:
    """The live server sends from its delivery thread, just after the answer."""
    deadline = time.monotonic() + 10
    while len(mailbox.to(address)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(mailbox.to(address)) >= count, "mail did not arrive"


def register(page: Page, live_url: str, mailbox: Mailbox) -> None:
    page.goto(f"{live_url}/login")
    page.click("#register")
    page.fill("#email", EMAIL)
    page.fill("#given_name", "Nora")
    page.fill("#family_name", "Neumann")
    page.fill("#password", FIRST_PASSWORD)
    page.fill("#password_confirm", FIRST_PASSWORD)
    page.click("#register-submit")
    expect(page.locator("#code-address")).to_have_text(EMAIL)
    wait_for_mail(mailbox, EMAIL, 1)
    page.fill("#code", mailbox.code(EMAIL))
    page.click("#code-submit")
    expect(page.locator("#footer-account")).to_be_visible()


def test_register_sign_out_reset_and_sign_in_again(
    page, console_errors, screenshot, live_server, mailbox
):
    register(page, live_server.url, mailbox)
    screenshot("account")
    page.click("#footer-logout")
    page.click("#logout-confirm")
    page.goto(f"{live_server.url}/login")
    page.click("#forgot-password")
    page.fill("#email", EMAIL)
    page.click("#recovery-submit")
    wait_for_mail(mailbox, EMAIL, 2)
    page.goto(mailbox.link(EMAIL))
    page.fill("#password", NEW_PASSWORD)
    page.fill("#password_confirmation", NEW_PASSWORD)
    page.click("#reset-submit")
    page.click("#reset-continue")
    page.fill("#email", EMAIL)
    page.fill("#password", NEW_PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#footer-account")).to_be_visible()
    assert console_errors == []
