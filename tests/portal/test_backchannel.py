"""Back-channel logout at the portal (OpenID Connect Back-Channel Logout 1.0):
a valid Logout Token ends the named portal session (``sid``) or all of the
user's (``sub``) at once; anything doubtful is refused with 400 and ends nothing."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from idp.oidc import backchannel
from idp.oidc.keys import key_ring
from idp.oidc.server import query_client
from idp.store import User, db
from tests.portal.conftest import CLIENT_ID, portal_sessions

EVENT = "http://schemas.openid.net/event/backchannel-logout"


def signed_in(browser: Any) -> bool:
    return 'id="greeting"' in browser.get("/").text


def send(portal: Any, token: str | None) -> requests.Response:
    form = {} if token is None else {"logout_token": token}
    return requests.post(portal.url + "/backchannel-logout", data=form, timeout=10)


def provider_token(provider: Any, sub: str, sid: str | None) -> str:
    """A Logout Token made by the provider's own code."""
    with provider.app.app_context():
        user = db.session.query(User).filter_by(sub=sub).one()
        client = query_client(CLIENT_ID)
        assert client is not None
        token = backchannel.logout_token(user, client, sid)
        db.session.remove()
        return token


def crafted_token(provider: Any, subject: str, key: Any = None, typ: str = "logout+jwt", **changes):
    """A Logout Token with some claims changed (None drops a claim), signed with
    the provider's key unless another is given."""
    now = int(time.time())
    claims = {
        "iss": provider.url,
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(8),
        "sub": subject,
        "events": {EVENT: {}},
    }
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    with provider.app.app_context():
        signing = key or key_ring().signing_key("RS256")
        return jwt.encode({"alg": "RS256", "typ": typ, "kid": signing.kid}, claims, signing)


def test_token_with_sid_ends_just_that_portal_session(
    provider, portal, company, browser, second_browser
):
    browser.sign_in("bernd.mueller@example.de")
    second_browser.sign_in("bernd.mueller@example.de")
    (_, first_sid), (_, second_sid) = portal_sessions(portal)
    assert first_sid and second_sid and first_sid != second_sid
    response = send(portal, provider_token(provider, company.bernd, first_sid))
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert not signed_in(browser) and signed_in(second_browser)


def test_token_with_only_sub_ends_every_session_of_that_user(
    provider, portal, company, browser, second_browser
):
    browser.sign_in("bernd.mueller@example.de")
    second_browser.sign_in("anna.schmidt@example.de")
    assert send(portal, provider_token(provider, company.bernd, None)).status_code == 200
    assert not signed_in(browser) and signed_in(second_browser)


REFUSED = {
    "other key": {"key": "other"},
    "other issuer": {"iss": "https://evil.example"},
    "other audience": {"aud": "shop"},
    "no iat": {"iat": None},
    "old iat": {"iat": int(time.time()) - 3600, "exp": None},
    "expired": {"exp": int(time.time()) - 600},
    "no events": {"events": None},
    "other event": {"events": {"http://schemas.openid.net/event/other": {}}},
    "event not an object": {"events": {EVENT: "yes"}},
    "nonce": {"nonce": "n-0S6_WzA2Mj"},
    "neither sid nor sub": {"sub": None},
    "no jti": {"jti": None},
    "access token type": {"typ": "at+jwt"},
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_doubtful_tokens_are_refused_and_end_nothing(provider, portal, company, browser, case):
    browser.sign_in("bernd.mueller@example.de")
    changes = dict(REFUSED[case])
    if changes.get("key") == "other":
        changes["key"] = RSAKey.generate_key(2048, parameters={"kid": "forged"})
    response = send(portal, crafted_token(provider, company.bernd, **changes))
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert signed_in(browser)


def test_replayed_missing_or_garbled_tokens_are_refused(provider, portal, company, browser):
    token = crafted_token(provider, company.anna)
    assert send(portal, token).status_code == 200
    assert send(portal, token).status_code == 400  # same jti again
    assert send(portal, None).status_code == 400
    assert send(portal, "not.a.jwt").status_code == 400


def test_lock_by_the_administrator_ends_the_open_portal_session(
    provider, portal, company, browser, second_browser
):
    browser.sign_in("bernd.mueller@example.de")
    second_browser.sign_in("anna.schmidt@example.de")
    second_browser.get(f"/users/{company.bernd}/lock")
    done = second_browser.post(f"/users/{company.bernd}/lock")
    assert "Der Benutzer wurde gesperrt." in done.text
    assert backchannel.wait_for_deliveries(provider.app)
    assert [sub for sub, _ in portal_sessions(portal)] == [company.anna]
    assert not signed_in(browser)
