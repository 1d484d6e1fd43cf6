"""Signing in to the portal at the provider and what the claims open: areas
by permission (403 otherwise), the pending notice, the icon menu, sign-out."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.portal.conftest import NUMBER, Browser

AREA_CODES = [
    "documents",
    "licenses",
    "support_requests",
    "products_contracts",
    "payment_methods",
    "cloud_orders",
    "cancellation",
    "payroll_service",
    "master_data",
    "shop",
]


def area_links(html: str) -> list[str]:
    return re.findall(r'id="area-([a-z_]+)"', html)


def test_signed_out_home_offers_sign_in_and_areas_redirect_to_it(browser, provider):
    home = browser.get("/")
    assert 'id="portal-login"' in home.text and 'id="user-menu"' not in home.text
    page = browser.http.get(browser.url("/bereiche/licenses"), allow_redirects=False)
    assert page.status_code == 302 and "/login?next=/bereiche/licenses" in page.headers["Location"]


def test_authorization_request_uses_pkce_s256_nonce_and_the_customer_scopes(browser):
    start = browser.http.get(browser.url("/login"), allow_redirects=False)
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["nonce"] and query["state"]
    assert query["scope"] == ["openid profile email customer customer_admin"]


def test_employee_sees_only_permitted_areas_and_is_refused_the_others(browser, company):
    home = browser.sign_in("bernd.mueller@example.de")
    assert 'id="greeting">Willkommen, Bernd Müller!' in home.text
    assert f"Kundennummer {NUMBER} · Bäckerei Schmidt GmbH · Mitarbeiter" in home.text
    assert area_links(home.text) == ["licenses"]
    licences = browser.get("/bereiche/licenses")
    assert licences.status_code == 200 and "L-50-774120" in licences.text
    for code in AREA_CODES[:1] + AREA_CODES[2:]:
        refused = browser.get(f"/bereiche/{code}")
        assert refused.status_code == 403, code
        assert 'id="error-title">Kein Zugriff' in refused.text
    assert browser.get("/bereiche/unknown").status_code == 404


def test_admin_sees_every_area_and_the_whole_icon_menu(browser, company, provider):
    home = browser.sign_in("anna.schmidt@example.de")
    assert area_links(home.text) == AREA_CODES
    for code in AREA_CODES:
        assert browser.get(f"/bereiche/{code}").status_code == 200
    assert f'href="{provider.url}/account/?ui_locales=de"' in home.text
    assert 'id="menu-users" href="/users/"' in home.text
    assert (
        f"{provider.url}/customer/contact?customer_number={NUMBER}&amp;ui_locales=de" in home.text
    )
    assert 'id="menu-admin-request"' not in home.text  # already an administrator


def test_employee_menu_has_no_user_management_but_admin_request(browser, company, provider):
    home = browser.sign_in("bernd.mueller@example.de")
    assert 'id="menu-users"' not in home.text
    request_link = f"{provider.url}/customer/admin-request?customer_number={NUMBER}"
    assert request_link in home.text and 'id="menu-contact"' in home.text


def test_pending_member_sees_the_notice_and_no_area(browser, company):
    home = browser.sign_in("clara.wagner@example.de")
    assert "Ihr Zugang wartet auf die Freischaltung durch Ihren Administrator." in home.text
    assert area_links(home.text) == []
    assert browser.get("/bereiche/licenses").status_code == 403


def test_user_without_customer_account_is_sent_to_link_one(browser, company, provider):
    offer = browser.sign_in("dora.klein@example.de")  # the provider offers to join one
    assert offer.url.startswith(provider.url + "/onboarding/")
    rid = re.search(r'name="rid" value="([^"]+)"', offer.text).group(1)  # type: ignore[union-attr]
    home = browser.post(provider.url + "/onboarding/skip", {"rid": rid})  # "Später"
    assert 'id="notice-no-customer"' in home.text
    assert f"{provider.url}/onboarding/?ui_locales=de" in home.text
    assert 'id="menu-contact"' not in home.text


def test_sign_in_returns_to_the_page_first_asked_for(browser, company):
    page = browser.sign_in("bernd.mueller@example.de", path="/bereiche/licenses")
    assert page.url == browser.portal + "/bereiche/licenses"


def test_next_never_leaves_the_portal(browser, company):
    page = browser.sign_in("bernd.mueller@example.de", path="/login?next=//evil.example/")
    assert page.url == browser.portal + "/"


def test_sign_out_ends_portal_and_provider_session(browser, company):
    browser.sign_in("bernd.mueller@example.de")
    home = browser.post("/logout")
    assert home.url.startswith(browser.portal + "/") and 'id="portal-login"' in home.text
    again = browser.get("/login")  # the provider asks for the password again
    assert again.url.startswith(browser.provider + "/login")


def test_sign_out_needs_the_csrf_token(browser, company):
    browser.sign_in("bernd.mueller@example.de")
    assert browser.post("/logout", csrf=False).status_code == 400
    assert 'id="greeting"' in browser.get("/").text


def test_callback_with_an_error_or_forged_state_is_a_page_not_a_crash(browser, company):
    denied = browser.get("/callback?error=access_denied&state=x")
    assert denied.status_code == 400 and "Die Anmeldung wurde abgebrochen." in denied.text
    forged = browser.get("/callback?code=abc&state=forged")
    assert forged.status_code == 400 and "Die Anmeldung ist fehlgeschlagen" in forged.text


@pytest.mark.parametrize(
    ("how", "heading"),
    [
        ({"params": {"lang": "en"}}, "Your areas"),
        ({"headers": {"Accept-Language": "en"}}, "Your areas"),
    ],
)
def test_english_by_switch_or_browser_language(browser: Browser, company, how, heading):
    browser.sign_in("bernd.mueller@example.de")
    home = browser.get("/", **how)
    assert '<html lang="en">' in home.text and heading in home.text
    assert "My licences" in home.text and "Sign out" in home.text


def test_pages_carry_a_strict_content_security_policy(browser, company, provider):
    home = browser.sign_in("bernd.mueller@example.de")
    policy = home.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert f"form-action 'self' {provider.url}" in policy
    assert home.headers["Cache-Control"] == "no-store"
    assert "<script" not in home.text and "style=" not in home.text
    assert browser.get("/static/portal.css").status_code == 200
