"""OpenID Connect Back-Channel Logout 1.0 at the provider: logout tokens POSTed
to a real HTTP endpoint of the relying party and validated as an RP would."""

from __future__ import annotations

import json
import logging
import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp import recovery, tokens
from idp.oidc import clients
from idp.oidc.backchannel import (
    LOGOUT_EVENT,
    notify_logout,
    sign_out_everywhere,
    wait_for_deliveries,
)
from idp.store import AuditEvent, BrowserSession, db
from tests.support.backchannel import closed_port, receiver

PASSWORD = "Korrekt-Pferd-Batterie-1"


def logout_claims(client, token: str, audience: str) -> dict:
    """Section 2.6: what a relying party checks before acting on a logout token."""
    decoded = jwt.decode(token, KeySet.import_key_set(client.get("/jwks").json))
    claims = decoded.claims
    assert decoded.header["typ"] == "logout+jwt"
    assert decoded.header["alg"] == "RS256"
    assert claims["iss"] == "http://localhost"
    assert claims["aud"] == audience
    assert claims["iat"] <= time.time() < claims["exp"] <= claims["iat"] + 120
    assert claims["events"] == {LOGOUT_EVENT: {}}
    assert "nonce" not in claims and claims["jti"]
    return dict(claims)


def sent_events() -> list[AuditEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.tag == "logout.backchannel_sent"))
    )


def logout(client, id_token: str):
    return client.get(
        "/logout",
        query_string={
            "id_token_hint": id_token,
            "post_logout_redirect_uri": "https://portal.example/",
        },
    )


def use_backchannel(oauth_client, uri: str) -> None:
    clients.update(oauth_client, backchannel_logout_uri=uri)
    db.session.commit()


def test_discovery_announces_backchannel_logout_with_sessions(client):
    meta = client.get("/.well-known/openid-configuration").json
    assert meta["backchannel_logout_supported"] is True
    assert meta["backchannel_logout_session_supported"] is True


def test_rp_initiated_logout_posts_a_logout_token_naming_the_session(
    client, web, user, portal, portal_client
):
    with receiver() as rp:
        use_backchannel(portal_client, rp.uri)
        id_token = portal.tokens_for(user.email, PASSWORD)["id_token"]
        sid = jwt.decode(id_token, KeySet.import_key_set(client.get("/jwks").json)).claims["sid"]

        assert logout(client, id_token).status_code == 302
        assert wait_for_deliveries(web)

    [post] = rp.received
    assert post.path == "/backchannel-logout"
    assert post.content_type == "application/x-www-form-urlencoded"
    claims = logout_claims(client, rp.logout_tokens()[0], "portal")
    assert claims["sub"] == user.sub
    assert sid and claims["sid"] == sid
    [event] = sent_events()
    assert (event.client_id, event.user_id) == ("portal", user.id)
    assert event.details == {"status": 200, "attempts": 1}


def test_client_without_backchannel_uri_is_not_notified(
    client, web, user, portal, portal_client, shop
):
    with receiver() as rp:
        use_backchannel(portal_client, rp.uri)
        shop.sign_in(user.email, PASSWORD)  # no back-channel URI registered
        id_token = portal.tokens_for(user.email, PASSWORD)["id_token"]

        logout(client, id_token)
        assert wait_for_deliveries(web)

    assert [logout_claims(client, t, "portal")["aud"] for t in rp.logout_tokens()] == ["portal"]
    assert [event.client_id for event in sent_events()] == ["portal"]


def test_sign_out_everywhere_ends_sessions_revokes_tokens_and_notifies(
    app, client, user, portal, portal_client
):
    with receiver() as rp:
        use_backchannel(portal_client, rp.uri)
        issued = portal.tokens_for(user.email, PASSWORD)
        assert client.get("/account/").status_code == 200

        sign_out_everywhere(user)
        db.session.commit()
        assert wait_for_deliveries(app)

    assert db.session.scalars(select(BrowserSession).filter_by(user_id=user.id)).all() == []
    assert client.get("/account/").status_code == 302
    assert portal.refresh(issued["refresh_token"]).json["error"] == "invalid_grant"
    [token] = rp.logout_tokens()
    claims = logout_claims(client, token, "portal")
    # Every session of the user at the RP ends: the sub alone (section 2.6).
    assert claims["sub"] == user.sub and "sid" not in claims


def test_password_reset_notifies_relying_parties(app, client, user, portal, portal_client):
    with receiver() as rp:
        use_backchannel(portal_client, rp.uri)
        portal.tokens_for(user.email, PASSWORD)
        _, link = tokens.issue_link(tokens.Purpose.PASSWORD_RESET, user, lifetime=600)
        with app.test_request_context():  # the confirmation mail builds links
            recovery.reset_password(link, "Ganz-Neues-Passwort-2024", "Ganz-Neues-Passwort-2024")
            db.session.commit()
        assert wait_for_deliveries(app)

    assert logout_claims(client, rp.logout_tokens()[0], "portal")["sub"] == user.sub


def test_rolled_back_logout_notifies_nobody(app, user, portal, portal_client):
    with receiver() as rp:
        use_backchannel(portal_client, rp.uri)
        portal.tokens_for(user.email, PASSWORD)
        notify_logout(user)
        db.session.rollback()
        db.session.commit()
        assert wait_for_deliveries(app)

    assert rp.received == []


def test_relying_party_that_is_down_does_not_break_logout(
    client, web, user, portal, portal_client, caplog
):
    use_backchannel(portal_client, closed_port())
    id_token = portal.tokens_for(user.email, PASSWORD)["id_token"]

    started = time.monotonic()
    response = logout(client, id_token)
    assert response.status_code == 302
    assert time.monotonic() - started < 2  # delivery would take 2.5 s (retries)
    with caplog.at_level(logging.WARNING, logger="idp.oidc.backchannel"):
        assert wait_for_deliveries(web, timeout=15)

    [event] = sent_events()
    assert event.details == {"status": "unreachable", "attempts": 3}
    [record] = [r for r in caplog.records if r.name == "idp.oidc.backchannel"]
    assert "portal" in record.getMessage() and "eyJ" not in record.getMessage()


def test_refusal_by_the_relying_party_is_not_retried(client, web, user, portal, portal_client):
    with receiver() as rp:
        rp.status = 400
        use_backchannel(portal_client, rp.uri)
        logout(client, portal.tokens_for(user.email, PASSWORD)["id_token"])
        assert wait_for_deliveries(web)

    assert len(rp.received) == 1
    assert sent_events()[0].details == {"status": 400, "attempts": 1}


def test_cli_sets_and_removes_the_backchannel_logout_uri(idp_cli):
    uri = "https://erp.example/backchannel-logout"
    added = idp_cli(
        "clients", "add", "--name", "ERP", "--client-id", "erp",
        "--grant-type", "client_credentials", "--backchannel-logout-uri", uri,
    )  # fmt: skip
    assert json.loads(added)["backchannel_logout_uri"] == uri
    idp_cli("clients", "update", "erp", "--backchannel-logout-uri", "")
    assert json.loads(idp_cli("clients", "show", "erp"))["backchannel_logout_uri"] is None


@pytest.mark.parametrize(
    "uri",
    [
        "http://erp.example/logout",
        "https://erp.example/logout#frag",
        "ftp://erp.example/logout",
        "/logout",
    ],
)
def test_cli_refuses_unsafe_backchannel_logout_uris(idp_cli, uri):
    args = ["--name", "ERP", "--grant-type", "client_credentials"]
    assert "Error" in idp_cli("clients", "add", *args, "--backchannel-logout-uri", uri, ok=False)


@pytest.mark.parametrize(
    "uri", ["http://localhost:5001/bc", "http://[::1]/bc", "http://127.0.0.2/"]
)
def test_plain_http_is_fine_for_loopback(app, uri):
    client, _ = clients.register(
        name="Dev", grant_types=["client_credentials"], backchannel_logout_uri=uri
    )
    assert client.backchannel_logout_uri == uri


@pytest.mark.config(oidc={"backchannel_allow_http": True})
def test_operator_may_allow_plain_http_on_a_private_network(app):
    client, _ = clients.register(
        name="Intranet",
        grant_types=["client_credentials"],
        backchannel_logout_uri="http://portal.internal:8080/backchannel-logout",
    )
    assert client.backchannel_logout_uri.startswith("http://portal.internal")


def test_signing_out_other_sessions_names_each_ended_session(
    app, client, user, portal, portal_client
):
    from idp import profile

    with receiver() as rp:
        use_backchannel(portal_client, rp.uri)
        id_token = portal.tokens_for(user.email, PASSWORD)["id_token"]
        sid = jwt.decode(id_token, KeySet.import_key_set(client.get("/jwks").json)).claims["sid"]

        assert profile.end_other_sessions(user, current_id=None) == 1
        db.session.commit()
        assert wait_for_deliveries(app)

    [token] = rp.logout_tokens()
    assert logout_claims(client, token, "portal")["sid"] == sid


def test_a_code_issued_before_sign_out_everywhere_yields_no_tokens(app, user, portal):
    callback = portal.sign_in(user.email, PASSWORD)

    sign_out_everywhere(user)
    db.session.commit()

    response = portal.exchange(callback["code"])
    assert response.status_code == 400
    assert response.json["error"] == "invalid_grant"
