"""The TOTP credential: encrypted secret, confirmation, the ±1 step window and
the replay guard (RFC 6238 5.2)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from idp import mfa
from idp.credentials import totp
from idp.errors import CodeInvalid, NotFound
from idp.store import Credential, db


def code_at(secret, steps=0):
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


@pytest.fixture
def enrolled(app, user):
    """A confirmed authenticator whose first code is spent; returns its secret."""
    credential, secret = totp.begin_enrolment(user)
    totp.confirm(user, credential.id, code_at(secret, -1))
    db.session.commit()
    return secret


def test_secret_is_encrypted_at_rest(app, user):
    credential, secret = totp.begin_enrolment(user)
    assert secret not in credential.secret
    assert totp.secret_of(credential) == secret and len(secret) == 32  # 160 bits


def test_unconfirmed_enrolment_is_no_factor(app, user):
    credential, secret = totp.begin_enrolment(user)
    assert not mfa.has_second_factor(user)
    with pytest.raises(CodeInvalid):
        totp.verify(user, code_at(secret))


def test_right_code_confirms_the_enrolment(app, user):
    credential, secret = totp.begin_enrolment(user)
    assert totp.confirm(user, credential.id, code_at(secret)) is credential
    assert credential.confirmed_at is not None and mfa.has_second_factor(user)


def test_wrong_code_does_not_confirm(app, user):
    credential, secret = totp.begin_enrolment(user)
    with pytest.raises(CodeInvalid):
        totp.confirm(user, credential.id, code_at(secret, 5))
    assert credential.confirmed_at is None


def test_someone_elses_or_a_confirmed_enrolment_is_not_found(app, user):
    from idp import accounts

    other = accounts.create_user("bernd@example.at", None)
    credential, secret = totp.begin_enrolment(user)
    with pytest.raises(NotFound):
        totp.confirm(other, credential.id, code_at(secret))
    totp.confirm(user, credential.id, code_at(secret))
    with pytest.raises(NotFound):
        totp.confirm(user, credential.id, code_at(secret, 1))


def test_new_enrolment_replaces_an_abandoned_one(app, user):
    totp.begin_enrolment(user)
    totp.begin_enrolment(user)
    assert Credential.query.filter_by(user_id=user.id).count() == 1


@pytest.mark.parametrize("steps", [0, 1])
def test_codes_of_now_and_the_next_step_are_accepted(app, user, enrolled, steps):
    assert totp.verify(user, code_at(enrolled, steps)).confirmed


@pytest.mark.parametrize("seconds", [-90, 90, 3600])
def test_codes_two_or_more_steps_away_are_refused(app, user, enrolled, seconds):
    with pytest.raises(CodeInvalid):
        totp.verify(user, pyotp.TOTP(enrolled).at(time.time() + seconds))


def test_a_used_code_is_never_accepted_again(app, user, enrolled):
    code = code_at(enrolled)
    totp.verify(user, code)
    with pytest.raises(totp.CodeReused):
        totp.verify(user, code)


def test_an_older_step_after_a_newer_one_is_refused(app, user, enrolled):
    totp.verify(user, code_at(enrolled, 1))
    with pytest.raises(totp.CodeReused):
        totp.verify(user, code_at(enrolled))


def test_used_step_is_stored_on_the_credential(app, user, enrolled):
    step = int(time.time() // 30) + 1
    credential = totp.verify(user, pyotp.TOTP(enrolled).at(step * 30))
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Credential, credential.id).data["last_step"] == step


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "1" * 5000, "12 34 5"])
def test_malformed_codes_are_refused(app, user, enrolled, typed):
    with pytest.raises(CodeInvalid):
        totp.verify(user, typed)


def test_spaces_and_full_width_digits_are_read(app, user, enrolled):
    code = code_at(enrolled)
    assert totp.normalise(f" {code[:3]} {code[3:]} ") == code
    full_width = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert totp.verify(user, full_width).confirmed


def test_changed_encryption_key_refuses_codes_instead_of_crashing(app, user, enrolled):
    app.config["MFA_ENCRYPTION_KEY"] = "another-key-" * 4
    with pytest.raises(CodeInvalid):
        totp.verify(user, code_at(enrolled))


def test_uri_names_the_product_and_the_email(app, user):
    uri = urlsplit(totp.provisioning_uri(user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"))
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert uri.path == "/Kunden-ID:anna.schmidt%40example.de"
    assert parse_qs(uri.query)["issuer"] == ["Kunden-ID"]


@pytest.mark.config(mfa={"totp_issuer": "Sage ID"})
def test_uri_uses_the_configured_issuer(app, user):
    uri = totp.provisioning_uri(user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    assert parse_qs(urlsplit(uri).query)["issuer"] == ["Sage ID"]


def test_qr_code_is_inline_svg(app):
    svg = totp.qr_svg("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP")
    assert svg.startswith("<svg") and "<path" in svg and svg.endswith("</svg>")
