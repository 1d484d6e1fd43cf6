"""The operator's ``idp`` command."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.cli import main
from tests.support.oidc import basic


def test_clients_lifecycle(idp_cli, client):
    added = json.loads(
        idp_cli(
            "clients",
            "add",
            "--name",
            "ERP",
            "--client-id",
            "erp",
            "--grant-type",
            "client_credentials",
            "--auth-method",
            "client_secret_post",
        )
    )
    assert added["client_id"] == "erp" and len(added["client_secret"]) >= 40
    assert "erp\tERP\tclient_secret_post" in idp_cli("clients", "list")
    idp_cli("clients", "update", "erp", "--name", "ERP Cloud", "--scope", "openid")
    assert json.loads(idp_cli("clients", "show", "erp"))["name"] == "ERP Cloud"
    secret = json.loads(idp_cli("clients", "rotate-secret", "erp"))["client_secret"]
    form = {"grant_type": "client_credentials", "client_id": "erp"}
    assert (
        client.post("/token", data={**form, "client_secret": added["client_secret"]}).status_code
        == 401
    )
    assert client.post("/token", data={**form, "client_secret": secret}).status_code == 200
    idp_cli("clients", "remove", "erp")
    assert "no client" in idp_cli("clients", "show", "erp", ok=False)


@pytest.mark.parametrize(
    "args",
    [
        ["--name", "X", "--redirect-uri", "http://example.com/cb"],
        ["--name", "X", "--redirect-uri", "https://x.example/cb#frag"],
        ["--name", "X", "--grant-type", "authorization_code"],
        ["--name", "X", "--auth-method", "none", "--grant-type", "client_credentials"],
        ["--redirect-uri", "https://x.example/cb"],
    ],
)
def test_clients_add_refuses_unsafe_registrations(idp_cli, args):
    assert "Error" in idp_cli("clients", "add", *args, ok=False)


def test_users_add_creates_a_verified_user_who_can_log_in(idp_cli, app):
    from idp import accounts

    idp_cli("users", "add", "--email", "Neu@Example.de", "--password", "Ein-gutes-Passwort-1")
    assert accounts.find_by_email("neu@example.de").email_verified is True
    assert "exists" in idp_cli(
        "users", "add", "--email", "neu@example.de", "--password", "x", ok=False
    )


def test_key_rotation_keeps_old_tokens_valid(idp_cli, client, oauth_client):
    def issue():
        return client.post(
            "/token",
            data={"grant_type": "client_credentials"},
            headers=basic("shop", "shop-secret-0123456789abcdef"),
        ).json["access_token"]

    before = issue()
    next_kid = [
        line.split("\t")[0]
        for line in idp_cli("keys", "list").splitlines()
        if "\tRS256\tnext" in line
    ][0]
    assert next_kid in client.get("/jwks").get_data(as_text=True)  # published ahead
    idp_cli("keys", "rotate", "--alg", "RS256")
    client.application.extensions["idp.keyring"].loaded_at = 0  # skip the cache period
    after = issue()
    keys = KeySet.import_key_set(client.get("/jwks").json)
    assert jwt.decode(after, keys).header["kid"] == next_kid
    assert jwt.decode(before, keys).claims["sub"] == "shop"


def test_bad_config_is_reported_with_the_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[oidc]\ncode_lifetime = "soon"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(path), "keys", "list"])
    assert result.exit_code == 1 and "oidc.code_lifetime" in result.output


def test_prune_deletes_only_what_is_dead(idp_cli, user, portal):
    import datetime as dt

    from sqlalchemy import func, select, update

    from idp.store import AuthorizationCode, BrowserSession, Token, db

    live = portal.tokens_for(user.email, "Korrekt-Pferd-Batterie-1")
    dead = portal.refresh(live["refresh_token"]).json  # rotates the first one
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    db.session.execute(
        update(Token)
        .where(Token.rotated_at.is_not(None))
        .values(access_expires_at=long_ago, rotated_at=long_ago)
    )
    db.session.execute(update(AuthorizationCode).values(expires_at=long_ago))
    db.session.commit()
    assert idp_cli("db", "prune") == "0 sessions, 1 codes, 1 tokens\n"
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Token)) == 1
    assert db.session.scalar(select(func.count()).select_from(BrowserSession)) == 1
    assert portal.refresh(dead["refresh_token"]).status_code == 200
