"""The recovery code over HTTP: shown once after the first factor with the
manual's warning, valid after the checkbox, signing in with it spends it and
shows a new one at once, and a new one can be made in the settings."""

from __future__ import annotations

import re

import pytest

from idp.audit import EventTag
from idp.store import AuditEvent, Credential, db
from tests.flows.test_mfa import id_token
from tests.flows.test_mfa_totp import (
    PASSWORD,
    RECOVERY_CODE,
    begin_enrolment,
    code_at,
    enrol_totp,
    login,
    post_code,
    post_form,
    sign_out,
    store_recovery_code,
)
from tests.support.oidc import csrf_token

WARNING = (
    "Bitte beachten Sie, dass dieser Wiederherstellungscode Ihrerseits sicher aufbewahrt "
    "werden muss, da sonst eine zukünftige Änderung des Authentifizierungsverfahrens nicht "
    "mehr möglich ist."
)


def recovery_codes(user):
    db.session.expire_all()
    return Credential.query.filter_by(user_id=user.id, type="recovery_code")


def use_code(client, user, code):
    """Password, then "Identität auf andere Art bestätigen" → recovery code."""
    login(client, user.email)
    choose = client.get("/mfa/choose")
    assert 'href="/mfa/recovery/challenge"' in choose.get_data(as_text=True)
    page = client.get("/mfa/recovery/challenge")
    return client.post(page.request.path, data={"csrf_token": csrf_token(page), "code": code})


@pytest.fixture
def enrolled(client, user):
    """Anna, signed in, with an app and a stored recovery code; returns the code."""
    login(client, user.email)
    _secret, code, _response = enrol_totp(client)
    return code


def test_first_factor_shows_the_code_once_with_the_warning(client, user):
    login(client, user.email)
    page, secret = begin_enrolment(client)
    response = post_code(client, page, code_at(secret))
    shown = client.get(response.headers["Location"])
    html = shown.get_data(as_text=True)
    assert "!!! Wichtig !!!" in html and WARNING in html
    assert re.search(r'id="recovery-code">[2-9A-Z]{4}(-[2-9A-Z]{4}){3}<', html)
    assert "Ich habe den Wiederherstellungscode sicher aufbewahrt" in html
    _code, done = store_recovery_code(client, response)
    assert done.headers["Location"] == "/mfa/setup"
    assert client.get("/mfa/recovery/new").headers["Location"] == "/mfa/setup"


def test_the_code_counts_only_after_the_checkbox(client, user):
    login(client, user.email)
    page, secret = begin_enrolment(client)
    shown = client.get(post_code(client, page, code_at(secret)).headers["Location"])
    html = shown.get_data(as_text=True)
    code = RECOVERY_CODE.search(html).group(1)
    form = {"csrf_token": csrf_token(shown), "code": code}
    form |= dict(re.findall(r'name="(credential|next)" value="(\d+)"', html))
    refused = client.post("/mfa/recovery/new", data=form)
    assert refused.status_code == 400 and code in refused.get_data(as_text=True)
    assert "Bitte bestätigen Sie" in refused.get_data(as_text=True)
    assert recovery_codes(user).one().confirmed_at is None


def test_stored_code_is_hashed_audited_and_mailed(client, user, mailbox, enrolled):
    stored = recovery_codes(user).one()
    assert stored.confirmed_at is not None and stored.secret.startswith("$argon2id$")
    tags = [e.tag for e in AuditEvent.query.filter_by(user_id=user.id).order_by(AuditEvent.id)]
    assert tags[-2:] == [EventTag.MFA_ENROLLED, EventTag.MFA_RECOVERY_CODE_CREATED]
    assert "Ein neuer Wiederherstellungscode wurde erzeugt." in mailbox.text(
        mailbox.last(user.email)
    )


def test_signing_in_with_the_code_spends_it_and_shows_a_new_one(client, user, enrolled):
    sign_out(client)
    response = use_code(client, user, enrolled.lower())
    assert response.headers["Location"] == "/mfa/recovery/new"
    assert client.get("/account/").status_code == 200  # signed in already
    html = client.get("/mfa/recovery/new").get_data(as_text=True)
    assert "Sie haben sich mit Ihrem Wiederherstellungscode angemeldet" in html
    new_code, done = store_recovery_code(client, response)
    assert new_code != enrolled and done.headers["Location"] == "/account/"
    used = AuditEvent.query.filter_by(tag=str(EventTag.MFA_RECOVERY_CODE_USED)).one()
    assert used.user_id == user.id
    sign_out(client)
    assert use_code(client, user, enrolled).status_code == 400
    assert use_code(client, user, new_code).headers["Location"] == "/mfa/recovery/new"


def test_five_wrong_codes_end_the_flow_without_spending_the_code(client, user, enrolled):
    sign_out(client)
    wrong = "AAAA-BBBB-CCCC-DDDD"
    answers = [use_code(client, user, wrong)]
    page = client.get("/mfa/recovery/challenge")
    answers += [post_form(client, page, code=wrong) for _ in range(4)]
    assert [a.status_code for a in answers] == [400, 400, 400, 400, 302]
    assert "Der Wiederherstellungscode ist falsch." in answers[0].get_data(as_text=True)
    assert answers[-1].headers["Location"] == "/login"
    assert post_form(client, page, code=enrolled).headers["Location"] == "/login"
    assert recovery_codes(user).one().confirmed_at is not None  # not spent


def test_regenerating_replaces_the_code_once_the_new_one_is_stored(client, user, enrolled):
    setup = client.get("/mfa/setup")
    assert 'id="recovery-regenerate"' in setup.get_data(as_text=True)
    response = post_form(client, setup, "/mfa/recovery/regenerate")
    assert response.headers["Location"] == "/mfa/recovery/new"
    new_code, done = store_recovery_code(client, response)
    assert new_code != enrolled and done.headers["Location"] == "/mfa/setup"
    assert recovery_codes(user).count() == 1
    sign_out(client)
    assert use_code(client, user, enrolled).status_code == 400
    assert use_code(client, user, new_code).headers["Location"] == "/mfa/recovery/new"


def test_an_unconfirmed_new_code_leaves_the_old_one_working(client, user, enrolled):
    response = post_form(client, client.get("/mfa/setup"), "/mfa/recovery/regenerate")
    assert RECOVERY_CODE.search(client.get(response.headers["Location"]).get_data(as_text=True))
    sign_out(client)
    assert use_code(client, user, enrolled).headers["Location"] == "/mfa/recovery/new"


def test_regenerating_needs_a_signed_in_user(client, user):
    response = post_form(client, client.get("/login"), "/mfa/recovery/regenerate")
    assert response.headers["Location"] == "/login"


def test_no_code_without_a_second_factor(client, user):
    login(client, user.email)
    assert client.get("/mfa/recovery/new").headers["Location"] == "/mfa/setup"
    assert recovery_codes(user).count() == 0


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"code": "x" * 5000},
        {"code": "AAAA", "credential": "-1", "next": "x"},
        {"code": "🙂" * 19, "credential": "9" * 40, "stored": "y"},
        {"code": ["A", "B"], "credential": ["1", "2"]},
    ],
)
def test_odd_input_gets_a_page_not_a_crash(client, user, enrolled, form):
    answer = post_form(client, client.get("/mfa/setup"), "/mfa/recovery/new", **form)
    assert answer.status_code == 302  # back to a fresh code page
    sign_out(client)
    login(client, user.email)
    page = client.get("/mfa/recovery/challenge")
    assert post_form(client, page, **form).status_code == 400


def test_recovery_code_in_an_oidc_sign_in_shows_the_new_code_then_goes_on(
    client, user, portal, enrolled
):
    sign_out(client)
    portal.follow(portal.submit_login(portal.follow(portal.authorize()), user.email, PASSWORD))
    response = post_form(client, client.get("/mfa/recovery/challenge"), code=enrolled)
    assert response.headers["Location"] == "/mfa/recovery/new"
    _new_code, done = store_recovery_code(client, response)
    assert done.headers["Location"].startswith("/authorize/continue?rid=")
    claims = id_token(client, portal, portal.follow(done))
    assert claims["amr"] == ["mfa", "otp", "pwd"] and claims["acr"] == "urn:idp:acr:mfa"
