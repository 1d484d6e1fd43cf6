"""The customer portal in Chromium, the provider and the portal both running as
real servers: a newcomer registers and joins by customer number; the
administrator approves, invites, grants, locks and reads the change log; the
colleague sees new permissions after a refresh, is refused the user management
and is signed out of the portal when locked. Screenshots of the main pages go
to test-artifacts/screenshots/portal-*.png."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from clients.portal import create_portal
from idp import accounts
from idp.oidc import backchannel, clients
from idp.orgs import permissions, service
from idp.store import Membership, db
from tests.e2e.conftest import EMAIL, PASSWORD, SCREENSHOTS
from tests.support.live import LiveServer, serve
from tests.support.mail import Mailbox

pytestmark = pytest.mark.browser

SECRET = "portal-browser-secret-0123456789"
NUMBER = "447712782"
NEWCOMER = "nora.neumann@example.de"
COLLEAGUE = "emil.braun@example.de"
NEW_PASSWORD = "Neues-Passwort-2024!"


@pytest.fixture
def portal(live_server: LiveServer, tmp_path: Path) -> Iterator[LiveServer]:
    """The portal registered at the provider (back-channel logout included);
    Bäckerei Schmidt GmbH with Anna as its administrator; invited people land
    in the portal."""

    def build(url: str) -> Any:
        return create_portal(
            live_server.url,
            "portal",
            SECRET,
            "portal-browser-cookie-key",
            session_db=str(tmp_path / "portal-sessions.sqlite3"),
        )

    with serve(build) as live:
        with live_server.app.app_context():
            clients.register(
                name="Kundenportal",
                client_id="portal",
                secret=SECRET,
                redirect_uris=[live.url + "/callback"],
                post_logout_redirect_uris=[live.url + "/"],
                scopes=clients.DEFAULT_SCOPES + " customer_admin",
                first_party=True,
                backchannel_logout_uri=live.url + "/backchannel-logout",
            )
            service.import_customers(
                [
                    {
                        "customer_number": NUMBER,
                        "name": "Bäckerei Schmidt GmbH",
                        "country": "DE",
                        "product_line": "sage50",
                    }
                ]
            )
            anna = accounts.create_user(
                EMAIL, PASSWORD, given_name="Anna", family_name="Schmidt", email_verified=True
            )
            account = service.find_customer(NUMBER)
            assert account is not None
            db.session.add(
                Membership(
                    user_id=anna.id,
                    customer_account_id=account.id,
                    role="admin",
                    status="active",
                    permissions=sorted(permissions.CODES),
                )
            )
            db.session.commit()
            db.session.remove()
        live_server.app.config["IDP"].branding.portal_url = live.url + "/"
        yield live


@pytest.fixture
def admin_page(browser: Browser, console_errors: list[str]) -> Iterator[Page]:
    """Anna's own browser window (a second context: separate cookies)."""
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    page.on(
        "console",
        lambda message: (
            console_errors.append(f"admin: {message.text}") if message.type == "error" else None
        ),
    )
    try:
        yield page
    finally:
        context.close()


def shoot(page: Page, name: str) -> None:
    """A full-page screenshot of any window (the ``screenshot`` fixture takes ``page``)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def unexpected(errors: list[str]) -> list[str]:
    """Console errors but the 403 answers the test asks for on purpose."""
    return [e for e in errors if "status of 403" not in e]


def wait_for_mail(mailbox: Mailbox, address: str, count: int = 1) -> None:
    deadline = time.monotonic() + 10
    while len(mailbox.to(address)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(mailbox.to(address)) >= count, "mail did not arrive"


def sign_in_admin(page: Page, portal: LiveServer) -> None:
    page.goto(portal.url)
    page.click("#portal-login")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#greeting")).to_have_text("Willkommen, Anna Schmidt!")


def open_user_management(page: Page) -> None:
    page.click("#user-menu-toggle")
    page.click("#menu-users")
    expect(page.get_by_role("heading", level=1)).to_have_text("Benutzerverwaltung")


def row(page: Page, email: str) -> Any:
    return page.locator(f"tr[data-email='{email}']")


def areas(page: Page) -> list[str]:
    return [a.get_attribute("id") or "" for a in page.locator("#areas a").all()]


def test_newcomer_registers_joins_by_number_and_gets_access_once_approved(
    page: Page,
    admin_page: Page,
    console_errors: list[str],
    portal: LiveServer,
    mailbox: Mailbox,
) -> None:
    page.goto(portal.url)
    shoot(page, "portal-start")
    page.click("#portal-login")
    page.click("#register")
    page.fill("#email", NEWCOMER)
    page.fill("#given_name", "Nora")
    page.fill("#family_name", "Neumann")
    page.fill("#password", NEW_PASSWORD)
    page.fill("#password_confirm", NEW_PASSWORD)
    page.click("#register-submit")
    wait_for_mail(mailbox, NEWCOMER)
    page.fill("#code", mailbox.code(NEWCOMER))
    page.click("#code-submit")
    page.click("#choose-sage50")  # "Starten Sie durch!": the affiliation
    page.fill("#customer_number", NUMBER)
    page.click("#join-submit")
    expect(page.locator("#membership-pending")).to_be_visible()  # the account has an admin
    page.click("#onboarding-continue")
    expect(page.locator("#notice-pending")).to_have_text(
        "Ihr Zugang wartet auf die Freischaltung durch Ihren Administrator."
    )
    assert areas(page) == []
    shoot(page, "portal-pending")

    sign_in_admin(admin_page, portal)
    open_user_management(admin_page)
    row(admin_page, NEWCOMER).locator(".action-activate").click()
    admin_page.click("#confirm-submit")  # "Benutzer freischalten", then the permissions
    admin_page.check("#perm-documents")
    admin_page.click("#save-permissions")
    expect(admin_page.locator(".alert-success")).to_have_text(
        "Die Berechtigungen wurden gespeichert."
    )

    page.click("#refresh-claims")  # "Berechtigungen aktualisieren"
    expect(page.locator("#area-documents")).to_be_visible()
    assert areas(page) == ["area-documents"]
    page.click("#area-documents")
    expect(page.locator("#area-title")).to_have_text("Meine Belege")
    page.goto(portal.url + "/bereiche/licenses")
    expect(page.locator("#error-title")).to_have_text("Kein Zugriff")
    assert unexpected(console_errors) == []


def test_invited_colleague_is_granted_refused_admin_pages_and_signed_out_when_locked(
    page: Page,
    admin_page: Page,
    console_errors: list[str],
    live_server: LiveServer,
    portal: LiveServer,
    mailbox: Mailbox,
) -> None:
    admin = admin_page
    sign_in_admin(admin, portal)
    admin.click("#user-menu-toggle")
    shoot(admin, "portal-home-admin")
    admin.click("#menu-users")
    admin.click("#add-user")  # "Benutzer hinzufügen"
    admin.select_option("#salutation", "herr")
    admin.fill("#given_name", "Emil")
    admin.fill("#family_name", "Braun")
    admin.fill("#email", COLLEAGUE)
    admin.check("#accept_terms")
    admin.click("#create-user")  # "Benutzer anlegen", then the permissions page
    admin.check("#perm-licenses")
    admin.click("#save-permissions")
    expect(admin.locator(".alert-success")).to_have_text(
        f"Die Einladung wurde an {COLLEAGUE} gesendet."
    )

    wait_for_mail(mailbox, COLLEAGUE)
    page.goto(mailbox.link(COLLEAGUE))  # "Jetzt registrieren": the prefilled form
    expect(page.locator("#given_name")).to_have_value("Emil")
    page.fill("#password", NEW_PASSWORD)
    page.fill("#password_confirm", NEW_PASSWORD)
    page.click("#register-submit")
    wait_for_mail(mailbox, COLLEAGUE, 2)
    page.fill("#code", mailbox.code(COLLEAGUE))
    page.click("#code-submit")
    page.click("#portal-login")  # landed in the portal; the provider knows Emil already
    expect(page.locator("#greeting")).to_have_text("Willkommen, Emil Braun!")
    assert areas(page) == ["area-licenses"]
    page.goto(portal.url + "/users/")  # typed by hand
    expect(page.locator("#error-title")).to_have_text("Kein Zugriff")
    page.goto(portal.url + "/")

    admin.goto(portal.url + "/users/")
    shoot(admin, "portal-users")
    row(admin, COLLEAGUE).locator(".action-permissions").click()
    admin.check("#perm-documents")
    shoot(admin, "portal-permissions")
    admin.click("#save-permissions")
    page.click("#refresh-claims")
    expect(page.locator("#area-documents")).to_be_visible()
    shoot(page, "portal-home-colleague")

    row(admin, COLLEAGUE).locator(".action-lock").click()
    expect(admin.locator("#confirm-text")).to_contain_text("Die Sperre gilt sofort")
    shoot(admin, "portal-lock")
    admin.click("#confirm-submit")
    expect(row(admin, COLLEAGUE).locator(".status")).to_have_text("Gesperrt")
    assert backchannel.wait_for_deliveries(live_server.app)
    page.reload()  # the open portal session has ended
    expect(page.locator("#portal-login")).to_be_visible()

    row(admin, COLLEAGUE).locator(".action-changelog").click()
    log = admin.locator("#changelog tbody tr")
    by_anna = [
        log.nth(i).locator("td").nth(1).inner_text()
        for i in range(log.count())
        if log.nth(i).locator("td").nth(3).inner_text() == "Anna Schmidt"
    ]
    for category in ("Einladung versendet", "Berechtigungen geändert", "Benutzer gesperrt"):
        assert category in by_anna, (category, by_anna)
    shoot(admin, "portal-changelog")
    assert unexpected(console_errors) == []
