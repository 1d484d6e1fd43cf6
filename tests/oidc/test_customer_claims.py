"""Scope ``customer``: the chosen membership in ID token, userinfo and JWT access token."""

from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import select

from idp.orgs import service
from idp.store import AuthorizationCode, Token, db
from tests.oidc.test_code_flow import verify
from tests.support.oidc import RID, csrf_token, query

PASSWORD = "Korrekt-Pferd-Batterie-1"
CUSTOMER_CLAIMS = {"customer_number", "customer_name", "role", "permissions", "membership_status"}


@pytest.fixture
def member(user):
    service.import_customers(
        [
            {
                "customer_number": "447712782",
                "name": "Bäckerei Schmidt GmbH",
                "country": "DE",
                "product_line": "sage50",
            },
            {
                "customer_number": "261973069",
                "name": "Müller & Söhne KG",
                "country": "DE",
                "product_line": "sage100",
            },
            {
                "customer_number": "523938499",
                "name": "Elektro Weber e.K.",
                "country": "AT",
                "product_line": "dpw",
            },
        ]  # fmt: skip
    )
    membership = service.join_by_customer_number(user, "447712782")
    membership.permissions = ["licenses", "documents"]
    db.session.commit()
    return membership


def all_claims(client, tokens: dict) -> tuple[dict, dict, dict]:
    id_token = verify(client, tokens["id_token"], "portal")
    access = verify(client, tokens["access_token"], "portal")
    info = client.get("/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert info.status_code == 200
    return id_token, access, info.json


def test_customer_scope_puts_the_membership_in_every_token(client, user, member, portal):
    tokens = portal.tokens_for(user.email, PASSWORD, scope="openid customer")
    expected = {
        "customer_number": "447712782",
        "customer_name": "Bäckerei Schmidt GmbH",
        "role": "employee",
        "permissions": ["documents", "licenses"],
        "membership_status": "active",
    }
    for claims in all_claims(client, tokens):
        assert {k: claims[k] for k in CUSTOMER_CLAIMS} == expected


def test_without_the_customer_scope_there_are_no_customer_claims(client, user, member, portal):
    tokens = portal.tokens_for(user.email, PASSWORD, scope="openid profile")
    for claims in all_claims(client, tokens):
        assert not CUSTOMER_CLAIMS & set(claims)


def test_several_memberships_with_a_hint_need_no_picker(client, user, member, portal):
    service.join_by_customer_number(user, "261973069")
    db.session.commit()
    tokens = portal.tokens_for(
        user.email, PASSWORD, scope="openid customer", customer_number="261973069"
    )
    for claims in all_claims(client, tokens):
        assert claims["customer_number"] == "261973069"
        assert claims["customer_name"] == "Müller & Söhne KG"
        assert "_customer_number" not in claims
    stored = db.session.scalars(select(AuthorizationCode.claims)).all()
    assert {"_customer_number": "261973069"} in stored  # kept server-side only


def signed_in_to_picker(portal, user, **extra):
    """Authorize with scope ``customer``, sign in, and stop at the next page."""
    login_page = portal.follow(portal.authorize(scope="openid customer", **extra))
    return portal.follow(portal.submit_login(login_page, user.email, PASSWORD))


def pick(portal, page, number):
    return portal.http.post(
        "/onboarding/choose",
        data={"csrf_token": csrf_token(page), "rid": RID.search(page.text).group(1),
              "customer_number": number},
    )  # fmt: skip


def test_several_memberships_without_a_hint_are_picked_and_the_pick_is_in_the_token(
    client, user, member, portal
):
    service.join_by_customer_number(user, "261973069")
    db.session.commit()
    page = signed_in_to_picker(portal, user)
    assert page.status_code == 200 and page.request.path == "/onboarding/choose"
    text = html.unescape(page.text)
    assert "Kundenkonto auswählen" in text
    for number, name in (
        ("447712782", "Bäckerei Schmidt GmbH"),
        ("261973069", "Müller & Söhne KG"),
    ):
        row = text[text.index(f'id="choice-{number}"') :]
        assert name in row[: row.index("</div>")] and "Aktiv" in row[: row.index("</div>")]
    callback = portal.follow(pick(portal, page, "261973069"))
    tokens = portal.exchange(query(callback.headers["Location"])["code"]).json
    for claims in all_claims(client, tokens):
        assert claims["customer_number"] == "261973069"
    assert db.session.scalars(select(AuthorizationCode.claims)).all() == [
        {"_customer_number": "261973069"}
    ]


def test_locked_memberships_cannot_be_picked(client, user, member, portal):
    service.join_by_customer_number(user, "261973069")
    other = service.join_by_customer_number(user, "523938499")
    other.status = "locked"
    db.session.commit()
    page = signed_in_to_picker(portal, user)
    assert 'id="customer-523938499" name="customer_number" value="523938499" disabled' in page.text
    refused = pick(portal, page, "523938499")
    assert refused.status_code == 400 and "Bitte wählen Sie ein Kundenkonto aus." in refused.text
    assert pick(portal, page, "999999999").status_code == 400
    callback = portal.follow(pick(portal, page, "447712782"))
    assert "code=" in callback.headers["Location"]


def test_a_hint_naming_a_locked_membership_shows_the_locked_page_not_another_account(
    client, user, member, portal
):
    """Never silently a different customer account than the one the client named:
    the user learns that this one is locked, and no code is issued."""
    service.join_by_customer_number(user, "261973069").status = "locked"
    db.session.commit()
    page = signed_in_to_picker(portal, user, customer_number="261973069")
    assert page.status_code == 403
    text = html.unescape(page.text)
    assert "Ihr Zugang wurde von Ihrem Administrator gesperrt." in text
    assert "Müller & Söhne KG (261973069)" in text
    assert db.session.scalar(select(AuthorizationCode.id)) is None
    # signed in by now: a silent request gets the OAuth error at the redirect URI
    silent = portal.authorize(scope="openid customer", prompt="none", customer_number="261973069")
    assert silent.headers["Location"].startswith(portal.redirect_uri + "?")
    params = query(silent.headers["Location"])
    assert params["error"] == "access_denied" and params["state"] == portal.state
    # the usable membership is still there for a request that names it (or none)
    for hint in ("447712782", None):
        tokens = portal.tokens_for(
            user.email, PASSWORD, scope="openid customer", customer_number=hint
        )
        for claims in all_claims(client, tokens):
            assert claims["customer_number"] == "447712782"


def test_a_locked_membership_is_never_chosen_for_a_token(user, member):
    """At the token endpoint too: a hint naming a locked membership yields none."""
    other = service.join_by_customer_number(user, "261973069")
    other.status = "locked"
    db.session.commit()
    assert service.choose_membership(user, "261973069") is None
    assert service.choose_membership(user, None) is member  # the only usable one


def test_a_hint_naming_a_foreign_account_falls_back_to_the_normal_choice(
    client, user, member, portal
):
    """523938499 exists, but the user is no member: as if there were no hint."""
    tokens = portal.tokens_for(
        user.email, PASSWORD, scope="openid customer", customer_number="523938499"
    )
    for claims in all_claims(client, tokens):
        assert claims["customer_number"] == "447712782"  # the only membership
    service.join_by_customer_number(user, "261973069")
    db.session.commit()
    page = portal.follow(portal.authorize(scope="openid customer", customer_number="523938499"))
    assert page.status_code == 200 and page.request.path == "/onboarding/choose"


def back_to_the_client(page) -> str:
    """The locked page's "Zurück zur Anwendung" link."""
    match = re.search(r'<a [^>]*id="locked-back" href="([^"]+)"', page.text)
    assert match, "no way back to the client on the locked page"
    assert "Zurück zur Anwendung" in page.text
    return html.unescape(match.group(1))


@pytest.mark.parametrize("hint", [None, "447712782"])
def test_the_locked_page_returns_access_denied_to_the_client(client, user, member, portal, hint):
    """The pending request is not left hanging: the way back answers it with
    ``access_denied`` (state and issuer included, RFC 6749 4.1.2.1, RFC 9207)."""
    member.status = "locked"
    db.session.commit()
    page = signed_in_to_picker(portal, user, customer_number=hint)
    assert page.status_code == 403
    location = back_to_the_client(page)
    assert location.startswith(portal.redirect_uri + "?")
    params = query(location)
    assert params["error"] == "access_denied"
    assert params["state"] == portal.state
    assert params["iss"] == client.application.config["IDP"].issuer
    assert set(params) <= {"error", "error_description", "state", "iss"}
    assert db.session.scalar(select(AuthorizationCode.id)) is None


def test_the_way_back_uses_the_redirect_uri_of_the_validated_request(
    client, user, member, portal, portal_client
):
    """With two registered redirect URIs, the one the request named; a forged one
    never gets that far (an unregistered redirect URI is an error page)."""
    portal_client.redirect_uris = ["https://portal.example/cb", "https://portal.example/cb2"]
    member.status = "locked"
    db.session.commit()
    portal.redirect_uri = "https://portal.example/cb2"
    page = signed_in_to_picker(portal, user)
    location = back_to_the_client(page)
    assert location.startswith("https://portal.example/cb2?")
    assert query(location)["state"] == portal.state
    forged = portal.authorize(scope="openid customer", redirect_uri="https://evil.example/cb")
    assert forged.status_code == 400 and "Location" not in forged.headers
    assert 'id="locked-back"' not in forged.text


def test_without_state_the_way_back_has_none(client, user, member, portal):
    member.status = "locked"
    db.session.commit()
    portal.state = ""
    page = signed_in_to_picker(portal, user)
    params = query(back_to_the_client(page))
    assert params["error"] == "access_denied" and "state" not in params


def test_select_account_shows_the_picker_even_with_a_hint(client, user, member, portal):
    service.join_by_customer_number(user, "261973069")
    db.session.commit()
    page = signed_in_to_picker(portal, user, prompt="select_account", customer_number="261973069")
    assert page.request.path == "/onboarding/choose"


def test_prompt_none_with_several_memberships_is_interaction_required(client, user, member, portal):
    service.join_by_customer_number(user, "261973069")
    db.session.commit()
    portal.tokens_for(user.email, PASSWORD, customer_number="447712782", scope="openid customer")
    response = portal.authorize(scope="openid customer", prompt="none")
    assert query(response.headers["Location"])["error"] == "interaction_required"


def test_a_user_whose_memberships_are_all_locked_is_refused(client, user, member, portal):
    member.status = "locked"
    db.session.commit()
    page = signed_in_to_picker(portal, user)
    assert page.status_code == 403
    assert "Ihr Zugang wurde von Ihrem Administrator gesperrt." in page.text
    assert db.session.scalar(select(AuthorizationCode.id)) is None
    # signed in by now: a silent request gets the OAuth error at the redirect URI
    silent = portal.authorize(scope="openid customer", prompt="none")
    params = query(silent.headers["Location"])
    assert silent.headers["Location"].startswith(portal.redirect_uri)
    assert params["error"] == "access_denied" and params["state"] == portal.state
    # clients that do not ask for the customer scope still let the user in
    assert "code" in portal.sign_in(user.email, PASSWORD, scope="openid profile")


def test_changed_permissions_show_at_the_next_refresh(client, user, member, portal):
    tokens = portal.tokens_for(
        user.email, PASSWORD, scope="openid customer", customer_number="447712782"
    )
    member.permissions = ["shop"]
    member.role = "admin"
    db.session.commit()
    refreshed = portal.refresh(tokens["refresh_token"]).json
    for claims in all_claims(client, refreshed):
        assert claims["permissions"] == ["shop"] and claims["role"] == "admin"
        assert "_customer_number" not in claims
    assert db.session.scalar(select(Token.claims).where(Token.rotated_at.is_(None))) == {
        "_customer_number": "447712782"
    }


def test_a_malformed_hint_is_ignored_and_never_stored(client, user, member, portal):
    tokens = portal.tokens_for(
        user.email, PASSWORD, scope="openid customer", customer_number="D447712782"
    )
    for claims in all_claims(client, tokens):
        assert claims["customer_number"] == "447712782"
    assert db.session.scalars(select(AuthorizationCode.claims)).all() == [None]


def test_discovery_announces_the_customer_scope_and_claims(client):
    meta = client.get("/.well-known/openid-configuration").json
    assert "customer" in meta["scopes_supported"]
    assert set(meta["claims_supported"]) >= CUSTOMER_CLAIMS
    assert "_customer_number" not in json.dumps(meta)
