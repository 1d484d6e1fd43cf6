"""Scope ``customer``: the chosen membership in ID token, userinfo and JWT access token."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from idp.orgs import service
from idp.store import AuthorizationCode, Token, db
from tests.oidc.test_code_flow import verify

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


def test_several_memberships_need_a_hint(client, user, member, portal):
    service.join_by_customer_number(user, "261973069")
    db.session.commit()
    tokens = portal.tokens_for(user.email, PASSWORD, scope="openid customer")
    for claims in all_claims(client, tokens):
        assert not CUSTOMER_CLAIMS & set(claims)

    tokens = portal.tokens_for(
        user.email, PASSWORD, scope="openid customer", customer_number="261973069"
    )
    for claims in all_claims(client, tokens):
        assert claims["customer_number"] == "261973069"
        assert claims["customer_name"] == "Müller & Söhne KG"
        assert "_customer_number" not in claims
    stored = db.session.scalars(select(AuthorizationCode.claims)).all()
    assert {"_customer_number": "261973069"} in stored  # kept server-side only


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
