"""The MFA core through HTTP, with the authenticator app as the factor: no
session before the second step, truthful amr/acr, the attempt limit, replay,
remembered devices, policies, step-up, max_age, password reset, removal and
the change notices."""

from __future__ import annotations

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.store import Credential, RememberedDevice, db, utcnow
from tests.flows.test_mfa_totp import (
    PASSWORD,
    begin_enrolment,
    code_at,
    enrol_totp,
    login,
    post_code,
    post_form,
    sign_out,
    store_recovery_code,
    time_passes,
)
from tests.flows.test_recovery import request_link, set_password
from tests.support.oidc import query

ACR_MFA = "urn:idp:acr:mfa"
CHANGED = "Änderung an Ihrer Anmeldung"


@pytest.fixture
def secret(client, user):
    """Anna has an authenticator app (enrolled from the settings), signed out."""
    login(client, user.email)
    secret, _recovery, _response = enrol_totp(client)
    sign_out(client)
    return secret


def id_token(client, portal, callback):
    """The callback's code exchanged; the ID token verified against /jwks."""
    assert callback.headers["Location"].startswith(portal.redirect_uri), callback.data[:500]
    tokens = portal.exchange(query(callback.headers["Location"])["code"]).json
    keys = KeySet.import_key_set(client.get("/jwks").json)
    return jwt.decode(tokens["id_token"], keys).claims


def challenge_page(portal, user, **extra):
    """authorize → login → the page of the second step."""
    page = portal.follow(portal.authorize(**extra))
    if b'id="login-submit"' in page.data:
        page = portal.follow(portal.submit_login(page, user.email, PASSWORD))
    return page


def pass_challenge(client, portal, page, code):
    assert page.request.path == "/mfa/totp/challenge", page.request.path
    return portal.follow(post_code(client, page, code))


def test_owing_the_second_factor_is_not_being_signed_in(client, user, portal, secret):
    started = portal.authorize()
    rid = query(started.headers["Location"])["rid"]
    page = portal.follow(portal.submit_login(portal.follow(started), user.email, PASSWORD))
    assert page.request.path == "/mfa/totp/challenge"
    assert client.get("/account/").headers["Location"] == "/login"
    resumed = client.get("/authorize/continue", query_string={"rid": rid})
    assert resumed.headers["Location"] == f"/login?rid={rid}"  # no code for the client


def test_id_token_after_the_app_says_mfa(client, user, portal, secret):
    callback = pass_challenge(client, portal, challenge_page(portal, user), code_at(secret, 1))
    claims = id_token(client, portal, callback)
    assert claims["amr"] == ["mfa", "otp", "pwd"] and claims["acr"] == ACR_MFA


def test_password_only_user_gets_the_password_acr(client, user, portal):
    callback = portal.follow(
        portal.submit_login(portal.follow(portal.authorize()), user.email, PASSWORD)
    )
    claims = id_token(client, portal, callback)
    assert claims["amr"] == ["pwd"] and claims["acr"] == "urn:idp:acr:pwd"


def test_five_wrong_codes_end_the_flow(client, user, secret):
    login(client, user.email)
    page = client.get("/mfa/totp/challenge")
    answers = [post_code(client, page, code_at(secret, 4)) for _ in range(5)]
    assert [a.status_code for a in answers] == [400, 400, 400, 400, 302]
    assert answers[-1].headers["Location"] == "/login"
    assert "Zu viele falsche Eingaben" in client.get("/login").get_data(as_text=True)
    assert post_code(client, page, code_at(secret, 1)).headers["Location"] == "/login"
    assert client.get("/account/").headers["Location"] == "/login"


def test_a_code_once_used_is_refused(client, user, secret):
    login(client, user.email)
    code = code_at(secret, 1)
    assert post_code(client, client.get("/mfa/totp/challenge"), code).status_code == 302
    sign_out(client)
    login(client, user.email)
    replay = post_code(client, client.get("/mfa/totp/challenge"), code)
    assert replay.status_code == 400
    assert "Dieser Code wurde bereits verwendet" in replay.get_data(as_text=True)


def test_remembered_device_skips_the_challenge_until_a_factor_is_removed(client, user, secret):
    login(client, user.email)
    page = client.get("/mfa/totp/challenge")
    post_code(client, page, code_at(secret, 1), remember_device="y")
    assert client.get_cookie("idp_device") is not None
    second_page, second = begin_enrolment(client)
    post_code(client, second_page, code_at(second))
    sign_out(client)
    assert login(client, user.email).headers["Location"] == "/account/"
    apps = Credential.query.filter_by(user_id=user.id, type="totp").order_by(Credential.id)
    removed = remove_factor(client, apps.all()[-1].id)
    assert removed.headers["Location"] == "/mfa/setup"
    assert RememberedDevice.query.one().revoked_at is not None
    sign_out(client)
    assert login(client, user.email).headers["Location"] == "/mfa/"


def remove_factor(client, credential_id, password=PASSWORD):
    page = client.get("/mfa/setup")
    return post_form(client, page, f"/mfa/credentials/{credential_id}/remove", password=password)


def test_removing_a_factor_needs_the_password_and_ownership(client, user, mailbox, secret):
    from idp import accounts

    other = accounts.create_user("bernd@example.at", PASSWORD)
    db.session.flush()
    foreign = Credential(user_id=other.id, type="totp", confirmed_at=utcnow())
    db.session.add(foreign)
    db.session.commit()
    login(client, user.email)
    post_code(client, client.get("/mfa/totp/challenge"), code_at(secret, 1))
    own = Credential.query.filter_by(user_id=user.id, type="totp").one()
    wrong = remove_factor(client, own.id, "falsch")
    assert wrong.headers["Location"] == "/mfa/setup"
    assert "Das Passwort ist falsch." in client.get("/mfa/setup").get_data(as_text=True)
    assert remove_factor(client, foreign.id).status_code == 404
    assert remove_factor(client, own.id).status_code == 302
    db.session.expire_all()
    assert Credential.query.filter_by(type="totp").all() == [foreign]
    assert "wurde entfernt" in mailbox.text(mailbox.last(user.email))


@pytest.mark.config(mfa={"policy": "required"})
def test_required_policy_enrols_before_signing_in(client, user, portal):
    setup = challenge_page(portal, user)
    assert setup.request.path == "/mfa/setup" and "vorgeschrieben" in setup.get_data(as_text=True)
    assert client.get("/account/").headers["Location"] == "/login"
    page, secret = begin_enrolment(client)
    confirmed = post_code(client, page, code_at(secret))
    assert confirmed.headers["Location"].startswith("/mfa/recovery/new")
    _code, done = store_recovery_code(client, confirmed)
    claims = id_token(client, portal, portal.follow(done))
    assert claims["amr"] == ["mfa", "otp", "pwd"] and claims["acr"] == ACR_MFA


@pytest.mark.config(mfa={"policy": "per_client", "required_for_clients": ["portal"]})
def test_per_client_policy_asks_only_the_named_clients(client, user, portal, shop):
    callback = shop.sign_in(user.email, PASSWORD)
    assert "code" in callback
    step_up = portal.follow(portal.authorize())
    assert step_up.request.path == "/mfa/setup"
    assert "vorgeschrieben" in step_up.get_data(as_text=True)


def test_acr_values_step_a_password_session_up(client, user, portal):
    login(client, user.email)
    secret, _recovery, _response = enrol_totp(client)
    assert "code" in portal.sign_in(user.email, PASSWORD)  # no factor asked for
    page = portal.follow(portal.authorize(acr_values=ACR_MFA))
    assert page.request.path == "/mfa/totp/challenge"
    claims = id_token(client, portal, pass_challenge(client, portal, page, code_at(secret, 1)))
    assert claims["acr"] == ACR_MFA and "mfa" in claims["amr"]


def test_max_age_zero_asks_for_password_and_second_factor_again(client, user, portal, secret):
    first = pass_challenge(client, portal, challenge_page(portal, user), code_at(secret, 1))
    first_claims = id_token(client, portal, first)
    time_passes(user)
    login_page = portal.follow(portal.authorize(max_age="0"))
    assert b'id="login-submit"' in login_page.data
    page = portal.follow(portal.submit_login(login_page, user.email, PASSWORD))
    claims = id_token(client, portal, pass_challenge(client, portal, page, code_at(secret)))
    assert claims["acr"] == ACR_MFA and claims["auth_time"] >= first_claims["auth_time"]


def test_password_reset_signs_nobody_in_and_the_app_is_still_asked(client, user, mailbox, secret):
    assert request_link(client, user.email).status_code == 302
    assert (
        set_password(client, mailbox.link(user.email), "Neues-Pferd-Batterie-2").status_code == 302
    )
    assert client.get("/account/").headers["Location"] == "/login"
    assert login(client, user.email, "Neues-Pferd-Batterie-2").headers["Location"] == "/mfa/"


def test_every_change_mails_the_owner(client, user, mailbox):
    login(client, user.email)
    enrol_totp(client)
    factor = Credential.query.filter_by(user_id=user.id, type="totp").one()
    remove_factor(client, factor.id)
    mails = mailbox.to(user.email)
    assert [m["Subject"] for m in mails] == [CHANGED] * 3
    texts = [mailbox.text(m) for m in mails]
    assert "wurde hinzugefügt" in texts[0] and "Wiederherstellungscode wurde erzeugt" in texts[1]
    assert "wurde entfernt" in texts[2]
