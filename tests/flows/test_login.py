"""Password login: one message for every failure, session renewal, limits, headers."""

from __future__ import annotations

import pytest
from passlib.hash import md5_crypt

from idp.store import BrowserSession, User, UserStatus, db
from tests.support.oidc import csrf_token

PASSWORD = "Korrekt-Pferd-Batterie-1"


def post_login(client, email, password, page=None):
    page = page or client.get("/login")
    return client.post(
        "/login",
        data={"csrf_token": csrf_token(page), "rid": "", "email": email, "password": password},
    )


def test_login_page_has_stable_ids_and_autocomplete(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'id="email" name="email" type="email"' in html
    # "webauthn" lets the browser offer passkeys in the username autofill.
    assert 'autocomplete="username webauthn"' in html
    assert 'autocomplete="current-password"' in html
    assert 'id="login-submit"' in html


def test_unknown_email_and_wrong_password_look_the_same(client, user):
    unknown = post_login(client, "nobody@example.de", PASSWORD)
    wrong = post_login(client, user.email, "falsch")
    assert unknown.status_code == wrong.status_code == 401
    assert b"E-Mail-Adresse oder Passwort ist falsch." in unknown.data
    assert unknown.data.replace(b"nobody@example.de", b"").count(b"alert") == (
        wrong.data.replace(user.email.encode(), b"").count(b"alert")
    )


def test_login_replaces_the_session_id(client, user):
    page = client.get("/login")
    before = client.get_cookie("idp_session").value
    response = post_login(client, user.email.upper(), PASSWORD, page)
    assert response.headers["Location"] == "/account/"
    after = client.get_cookie("idp_session").value
    assert after != before
    assert db.session.query(BrowserSession).filter_by(user_id=user.id).count() == 1


def test_logout_ends_the_session_on_the_server(client, user):
    post_login(client, user.email, PASSWORD)
    stolen = client.get_cookie("idp_session").value
    page = client.get("/logout")
    client.post("/logout/confirm", data={"csrf_token": csrf_token(page), "decision": "logout"})
    client.set_cookie("idp_session", stolen)
    assert client.get("/account/").status_code == 302
    assert db.session.query(BrowserSession).filter_by(user_id=user.id).count() == 0


def test_login_without_csrf_token_is_refused(client, user):
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400 and b"Sitzung abgelaufen" in response.data


@pytest.mark.parametrize(
    "form",
    [
        {"email": "", "password": ""},
        {"email": "a" * 5000 + "@example.de", "password": "x"},
        {"email": "anna@example.de", "password": "x" * 5000},
    ],
)
def test_odd_login_input_gets_a_page_not_a_crash(client, user, form):
    page = client.get("/login")
    response = client.post("/login", data={"csrf_token": csrf_token(page), **form})
    assert response.status_code in (400, 401)


def test_locked_account_cannot_sign_in(client, user):
    user.status = UserStatus.LOCKED
    db.session.commit()
    response = post_login(client, user.email, PASSWORD)
    assert response.status_code == 403 and b"gesperrt" in response.data


def test_legacy_hash_verifies_and_is_upgraded_to_argon2id(client, user):
    user.password_hash = md5_crypt.hash("altanna0")
    db.session.commit()
    assert post_login(client, user.email, "altanna0").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash.startswith("$argon2id$")


@pytest.mark.config(security={"login_limit_account": "3 per minute"})
def test_attempts_against_one_account_are_rate_limited(client, user):
    statuses = [post_login(client, user.email, "falsch").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def post_from(client, forwarded_for):
    page = client.get("/login")
    return client.post(
        "/login",
        headers={"X-Forwarded-For": forwarded_for},
        data={"csrf_token": csrf_token(page), "email": "x@example.de", "password": "falsch"},
    )


@pytest.mark.config(security={"login_limit_ip": "2 per minute"})
def test_spoofed_forwarded_for_does_not_reset_the_ip_limit(client):
    statuses = [post_from(client, f"10.0.0.{n}").status_code for n in range(3)]
    assert statuses == [401, 401, 429]


@pytest.mark.config(security={"login_limit_ip": "2 per minute"}, server={"trusted_proxies": 1})
def test_forwarded_for_counts_when_a_proxy_is_trusted(client):
    statuses = [post_from(client, f"10.0.0.{n}").status_code for n in range(3)]
    assert statuses == [401, 401, 401]


def test_pages_carry_security_headers(client):
    response = client.get("/login")
    assert response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers  # plain http in tests
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/nope")
    assert response.status_code == 404 and b"Seite nicht gefunden" in response.data
