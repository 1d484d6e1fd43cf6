"""Tokens and claims stay fresh through the refresh token: a permission the
administrator grants shows after the next refresh; an expired access token is
renewed on the way; a refused refresh ends the portal session."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from idp.oidc.tokens import revoke_for_user
from idp.store import User, db
from tests.portal.conftest import portal_sessions


def area_links(html: str) -> list[str]:
    return re.findall(r'id="area-([a-z_]+)"', html)


def grant_documents(browser: Any, sub: str) -> None:
    """Anna ticks "Meine Belege" for the colleague and saves."""
    browser.get(f"/users/{sub}/permissions")
    saved = browser.post(f"/users/{sub}/permissions", {"permissions": ["licenses", "documents"]})
    assert "Die Berechtigungen wurden gespeichert." in saved.text


def stored(portal: Any, browser: Any) -> Any:
    """The portal's store and this browser's session in it (its key is inside
    the signed portal cookie)."""
    store = portal.app.extensions["portal"].store
    serializer = portal.app.session_interface.get_signing_serializer(portal.app)
    key = serializer.loads(browser.http.cookies["portal_session"])["sid"]
    return store, store.load(key)


def test_granted_permission_shows_after_refreshing_permissions(
    portal, company, browser, second_browser
):
    assert area_links(browser.sign_in("bernd.mueller@example.de").text) == ["licenses"]
    second_browser.sign_in("anna.schmidt@example.de")
    grant_documents(second_browser, company.bernd)
    assert area_links(browser.get("/").text) == ["licenses"]  # claims still fresh enough
    assert browser.get("/bereiche/documents").status_code == 403
    home = browser.post("/refresh")
    assert "Ihre Berechtigungen wurden aktualisiert." in home.text
    assert area_links(home.text) == ["documents", "licenses"]
    assert browser.get("/bereiche/documents").status_code == 200


@pytest.mark.portal(claims_max_age=0)
def test_with_claims_max_age_zero_every_page_reads_fresh_claims(
    portal, company, browser, second_browser
):
    browser.sign_in("bernd.mueller@example.de")
    second_browser.sign_in("anna.schmidt@example.de")
    grant_documents(second_browser, company.bernd)
    assert browser.get("/bereiche/documents").status_code == 200


def test_expired_access_token_is_renewed_with_the_refresh_token(portal, company, browser):
    browser.sign_in("anna.schmidt@example.de")
    store, session = stored(portal, browser)
    old_access, old_refresh = session.token["access_token"], session.token["refresh_token"]
    session.token["expires_at"] = time.time() - 1
    store.save(session)
    users = browser.get("/users/")  # the API call needs a valid access token
    assert users.status_code == 200 and "bernd.mueller@example.de" in users.text
    _, renewed = stored(portal, browser)
    assert renewed.token["access_token"] != old_access
    assert renewed.token["refresh_token"] != old_refresh  # rotated by the provider
    assert renewed.claims["sub"] == company.anna


def test_refused_refresh_ends_the_portal_session(provider, portal, company, browser):
    browser.sign_in("bernd.mueller@example.de")
    with provider.app.app_context():
        revoke_for_user(db.session.query(User).filter_by(sub=company.bernd).one())
        db.session.commit()
        db.session.remove()
    home = browser.post("/refresh")
    assert 'id="portal-login"' in home.text
    assert portal_sessions(portal) == []
