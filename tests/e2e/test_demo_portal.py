"""The demo portal (clients/portal) signs a person in and out through the
provider, both running as real servers, driven in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from clients.portal import create_portal
from tests.e2e.conftest import EMAIL, PASSWORD
from tests.support.live import serve

pytestmark = pytest.mark.browser


@pytest.fixture
def portal_server(live_server):
    from idp import accounts
    from idp.oidc import clients
    from idp.store import db

    secret = "portal-demo-secret-0123456789"
    with serve(lambda url: create_portal(live_server.url, "demo", secret, "x" * 32)) as portal:
        with live_server.app.app_context():
            accounts.create_user(
                EMAIL, PASSWORD, given_name="Anna", family_name="Schmidt", email_verified=True
            )
            clients.register(
                name="Demo-Portal",
                client_id="demo",
                secret=secret,
                redirect_uris=[portal.url + "/callback"],
                post_logout_redirect_uris=[portal.url + "/"],
                first_party=True,
            )
            db.session.commit()
        yield portal


def test_portal_signs_in_and_out_through_the_provider(
    page, console_errors, screenshot, portal_server
):
    page.goto(portal_server.url)
    page.click("#portal-login")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.click("#onboarding-skip")  # Anna has no customer account: "Später"
    expect(page.locator("#greeting")).to_have_text("Willkommen, Anna Schmidt!")
    screenshot("portal-signed-in")
    page.click("#user-menu-toggle")  # "Abmelden" is in the icon menu
    page.click("#portal-logout")
    expect(page.locator("#portal-login")).to_be_visible()
    page.goto(portal_server.url + "/login")  # the provider session ended too
    expect(page.get_by_role("heading", level=1)).to_have_text("Anmelden")
    assert console_errors == []
