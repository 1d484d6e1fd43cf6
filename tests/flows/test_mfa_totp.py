"""Authenticator app over HTTP: enrolment with QR code and key, confirmation by
a code from the app (computed with pyotp), the challenge step at sign-in.

The helpers here (sign in, enrol, next code) are shared by the other MFA tests."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from idp.audit import EventTag
from idp.store import AuditEvent, Credential, CredentialType, db, utcnow
from tests.support.oidc import csrf_token

PASSWORD = "Korrekt-Pferd-Batterie-1"
SECRET = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')
CREDENTIAL = re.compile(r'name="credential" value="(\d+)"')
RECOVERY_CODE = re.compile(r'id="recovery-code">([A-Z0-9-]+)<')
WRONG = "Der Code ist falsch."


def login(client, email, password=PASSWORD, rid=""):
    page = client.get("/login", query_string={"rid": rid} if rid else None)
    form = {"csrf_token": csrf_token(page), "rid": rid, "email": email, "password": password}
    return client.post("/login", data=form)


def sign_out(client):
    page = client.get("/logout")
    client.post("/logout/confirm", data={"csrf_token": csrf_token(page), "decision": "logout"})


def code_at(secret, steps=0):
    """The app's code ``steps`` time steps from now (30 s each)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


def time_passes(user):
    """A few minutes later: the steps used so far lie outside the window."""
    step = int(time.time() // 30)
    for credential in Credential.query.filter_by(user_id=user.id, type="totp"):
        credential.data = {**credential.data, "last_step": step - 5}
    db.session.commit()


def begin_enrolment(client):
    page = client.get("/mfa/totp/enrol")
    assert page.status_code == 200, page.headers.get("Location")
    secret = SECRET.search(page.get_data(as_text=True)).group(1).replace(" ", "")
    return page, secret


def post_form(client, page, path=None, **form):
    """Submit a form of ``page`` (to its own URL unless ``path`` is given)."""
    return client.post(path or page.request.path, data={"csrf_token": csrf_token(page), **form})


def post_code(client, page, code, **form):
    match = CREDENTIAL.search(page.get_data(as_text=True))
    if match:
        form["credential"] = match.group(1)
    return post_form(client, page, code=code, **form)


def store_recovery_code(client, response):
    """Follow to the recovery code page, read the code, tick the box."""
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    code = RECOVERY_CODE.search(html).group(1)
    form = {"csrf_token": csrf_token(page), "code": code, "stored": "y"}
    form |= dict(re.findall(r'name="(credential|next)" value="(\d+)"', html))
    return code, client.post("/mfa/recovery/new", data=form)


def enrol_totp(client):
    """Enrol an app from the settings; returns (secret, recovery code or None,
    last response). Only the first factor brings a recovery code."""
    page, secret = begin_enrolment(client)
    response = post_code(client, page, code_at(secret))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    recovery = None
    if "/mfa/recovery/new" in response.headers["Location"]:
        recovery, response = store_recovery_code(client, response)
    return secret, recovery, response


@pytest.fixture
def signed_in(client, user):
    assert login(client, user.email).headers["Location"] == "/account/"
    return user


@pytest.fixture
def with_totp(client, signed_in):
    """Anna with an authenticator app, signed out again; returns its secret."""
    secret, _recovery, _response = enrol_totp(client)
    sign_out(client)
    return secret


def test_enrol_page_shows_qr_code_key_and_the_manual_text(client, signed_in):
    page, secret = begin_enrolment(client)
    html = page.get_data(as_text=True)
    assert '<div class="qr" id="totp-qr"' in html and "<svg" in html
    assert "Schlüssel manuell eingeben" in html and len(secret) == 32
    assert "Empfehlenswert ist eine Bestätigung über eine Authentifizierungs-App" in html
    assert "Scannen Sie den angezeigten QR-Code mit Ihrer Authentifizierungs-App" in html
    assert "Konto: anna.schmidt@example.de" in html and "Aussteller: Kunden-ID" in html
    assert 'autocomplete="one-time-code"' in html and 'inputmode="numeric"' in html


def test_enrolment_is_refused_to_visitors(client, user):
    assert client.get("/mfa/totp/enrol").headers["Location"] == "/login"


def test_wrong_code_keeps_the_enrolment_unconfirmed_with_the_same_key(client, signed_in):
    page, secret = begin_enrolment(client)
    wrong = str((int(code_at(secret)) + 1) % 1_000_000).zfill(6)
    response = post_code(client, page, wrong)
    assert response.status_code == 400 and WRONG in response.get_data(as_text=True)
    assert secret in response.get_data(as_text=True).replace(" ", "")
    assert Credential.query.filter_by(user_id=signed_in.id).one().confirmed_at is None


def test_right_code_confirms_the_app_records_it_and_mails_the_owner(client, signed_in, mailbox):
    page, secret = begin_enrolment(client)
    response = post_code(client, page, code_at(secret))
    assert response.headers["Location"].startswith("/mfa/recovery/new?next=")
    credential = Credential.query.filter_by(user_id=signed_in.id, type="totp").one()
    assert credential.confirmed_at is not None
    assert AuditEvent.query.filter_by(tag=str(EventTag.MFA_ENROLLED)).count() == 1
    mail = mailbox.last(signed_in.email)
    assert mail["Subject"] == "Änderung an Ihrer Anmeldung"
    assert "Methode der Multi-Faktor-Authentifizierung wurde hinzugefügt" in mailbox.text(mail)


def test_key_is_stored_encrypted_not_in_clear(client, signed_in):
    _page, secret = begin_enrolment(client)
    stored = Credential.query.filter_by(user_id=signed_in.id).one().secret
    assert secret not in stored and stored.startswith("gAAAAA")  # a Fernet token


def test_a_new_visit_replaces_the_abandoned_enrolment(client, signed_in):
    first, old_secret = begin_enrolment(client)
    _second, secret = begin_enrolment(client)
    assert Credential.query.filter_by(user_id=signed_in.id).count() == 1
    response = post_code(client, first, code_at(old_secret))
    assert response.status_code in (302, 400)  # 400 where the database reuses the row id
    assert Credential.query.filter_by(user_id=signed_in.id).one().confirmed_at is None


def test_second_app_does_not_bring_another_recovery_code(client, signed_in):
    enrol_totp(client)
    _secret, recovery, response = enrol_totp(client)
    assert recovery is None and response.headers["Location"] == "/mfa/setup"
    confirmed = Credential.query.filter_by(user_id=signed_in.id, type="totp")
    assert confirmed.filter(Credential.confirmed_at.is_not(None)).count() == 2


def test_user_with_an_app_gets_the_challenge_after_the_password(client, user, with_totp):
    response = login(client, user.email)
    assert response.headers["Location"] == "/mfa/"
    assert client.get("/mfa/").headers["Location"] == "/mfa/totp/challenge"
    html = client.get("/mfa/totp/challenge").get_data(as_text=True)
    assert "Bestätigen Sie Ihre Identität" in html
    assert 'id="code" name="code" type="text" autocomplete="one-time-code"' in html
    assert 'inputmode="numeric"' in html and 'name="remember_device"' in html
    assert 'href="/mfa/choose"' in html and "Identität auf andere Art bestätigen" in html


def test_right_code_at_the_challenge_signs_in(client, user, with_totp):
    login(client, user.email)
    page = client.get("/mfa/totp/challenge")
    response = post_code(client, page, code_at(with_totp, 1))
    assert response.headers["Location"] == "/account/"
    assert client.get("/account/").status_code == 200


def test_wrong_code_at_the_challenge_is_shown_at_the_field(client, user, with_totp):
    login(client, user.email)
    page = client.get("/mfa/totp/challenge")
    response = post_code(client, page, code_at(with_totp, 3))
    assert response.status_code == 400 and WRONG in response.get_data(as_text=True)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)


def test_challenge_without_a_password_step_goes_to_login(client, user, with_totp):
    response = client.get("/mfa/totp/challenge")
    assert response.headers["Location"] == "/login"


def test_challenge_for_a_user_without_an_app_offers_the_other_ways(client, app, user, with_totp):
    login(client, user.email)
    Credential.query.filter_by(user_id=user.id, type="totp").delete()
    passkey = Credential(user_id=user.id, type=str(CredentialType.WEBAUTHN), confirmed_at=utcnow())
    db.session.add(passkey)
    db.session.commit()
    assert client.get("/mfa/totp/challenge").headers["Location"] == "/mfa/choose"


ODD_FORMS = [
    {},
    {"code": "x" * 5000},
    {"code": "12345"},
    {"code": "abcdef", "credential": "-1"},
    {"code": "123456", "credential": "9" * 40},
    {"code": "１２３４５６", "credential": "abc"},
    {"code": ["1", "2"], "credential": ["1", "2"]},
]


@pytest.mark.parametrize("form", ODD_FORMS)
def test_odd_challenge_input_gets_a_page_not_a_crash(client, user, with_totp, form):
    login(client, user.email)
    page = client.get("/mfa/totp/challenge")
    response = client.post(page.request.path, data={"csrf_token": csrf_token(page), **form})
    assert response.status_code == 400


@pytest.mark.parametrize("form", ODD_FORMS)
def test_odd_enrolment_input_gets_a_page_not_a_crash(client, signed_in, form):
    page, _secret = begin_enrolment(client)
    response = client.post(page.request.path, data={"csrf_token": csrf_token(page), **form})
    assert response.status_code in (302, 400)
    assert Credential.query.filter(Credential.confirmed_at.is_not(None)).count() == 0
