"""Recovery channel through HTTP: setting a recovery email or phone (confirmed by
a code by mail or SMS), and "Ich habe keinen Zugriff mehr auf meine Methoden":
request, waiting period, cancel link to the main address, and the reset that
leads to a new enrolment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from idp.store import AuditEvent, Credential, OneTimeToken, db, utcnow
from tests.sms import GATEWAY, SmsGateway
from tests.support.oidc import csrf_token

PASSWORD = "Korrekt-Pferd-Batterie-1"
RECOVERY_EMAIL = "anna.privat@example.org"
MOBILE = "+4915123456789"
FACTOR_MOBILE = "+4917612345678"


@pytest.fixture
def gateway() -> Iterator[SmsGateway]:
    GATEWAY.start()
    GATEWAY.reset()
    yield GATEWAY
    GATEWAY.reset()


def add_credential(user, type_, **data) -> Credential:
    credential = Credential(user_id=user.id, type=type_, secret="x", data=data)
    credential.confirmed_at = utcnow()
    db.session.add(credential)
    db.session.commit()
    return credential


def sign_in(client, user):
    page = client.get("/login")
    return client.post(
        "/login",
        data={"csrf_token": csrf_token(page), "rid": "", "email": user.email, "password": PASSWORD},
    )


def post(client, url, page_url=None, **form):
    page = client.get(page_url or url)
    return client.post(url, data={"csrf_token": csrf_token(page), **form})


def set_channel(client, **form):
    form = {"recovery_email": "", "recovery_phone": "", "current_password": PASSWORD, **form}
    return post(client, "/mfa/recovery-channel/", **form)


def channels(user) -> list[Credential]:
    db.session.expire_all()
    query = select(Credential).where(
        Credential.user_id == user.id, Credential.type.in_(["recovery_email", "recovery_phone"])
    )
    return list(db.session.scalars(query))


def tags(user) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.tag).where(AuditEvent.user_id == user.id)))


def reset_request(user) -> OneTimeToken | None:
    db.session.expire_all()
    query = select(OneTimeToken).where(
        OneTimeToken.user_id == user.id, OneTimeToken.purpose == "mfa_reset"
    )
    return db.session.scalars(query.order_by(OneTimeToken.id.desc())).first()


def make_due(user) -> None:
    """Move the waiting period into the past, as time would."""
    row = reset_request(user)
    assert row is not None
    past = utcnow() - dt.timedelta(minutes=1)
    row.payload = {**row.payload, "effective_at": past.isoformat()}
    row.expires_at = past + dt.timedelta(days=7)
    db.session.commit()


def lost_code(client, mailbox, code=None):
    """On the lost-access page: send a code to the recovery address and type it."""
    assert post(client, "/mfa/recovery-channel/lost").headers["Location"].endswith("/lost/code")
    code = code or mailbox.code(RECOVERY_EMAIL)
    return post(client, "/mfa/recovery-channel/lost/code", code=code)


@pytest.fixture
def locked_out(user):
    """Anna: an authenticator app she has lost, and a recovery address."""
    add_credential(user, "totp")
    add_credential(user, "recovery_code")
    add_credential(user, "recovery_email", address=RECOVERY_EMAIL)
    return user


# -- setting the channel ---------------------------------------------------------
def test_recovery_email_counts_only_after_the_mailed_code(client, user, mailbox):
    sign_in(client, user)
    response = set_channel(client, recovery_email=" Anna.Privat@Example.org ")
    assert response.headers["Location"] == "/mfa/recovery-channel/confirm"
    assert channels(user) == []
    page = client.get("/mfa/recovery-channel/confirm").get_data(as_text=True)
    assert RECOVERY_EMAIL in page and 'autocomplete="one-time-code"' in page
    response = post(client, "/mfa/recovery-channel/confirm", code=mailbox.code(RECOVERY_EMAIL))
    assert response.headers["Location"] == "/mfa/setup"
    (channel,) = channels(user)
    assert channel.type == "recovery_email" and channel.data == {"address": RECOVERY_EMAIL}
    assert "mfa.recovery_channel_set" in tags(user)
    assert "Wiederherstellungsadresse wurde geändert" in mailbox.text(mailbox.last(user.email))


def test_edit_page_quotes_the_manual_and_has_stable_fields(client, user):
    sign_in(client, user)
    html = client.get("/mfa/recovery-channel/").get_data(as_text=True)
    assert "Für die Wiederherstellung ist eine abweichende Telefonnummer notwendig" in html
    assert 'id="recovery_email" name="recovery_email" type="email"' in html
    assert 'id="recovery_phone" name="recovery_phone" type="tel"' in html
    assert 'autocomplete="current-password"' in html and 'id="recovery-channel-submit"' in html
    assert 'id="recovery-channel"' in client.get("/mfa/setup").get_data(as_text=True)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"recovery_email": "anna.schmidt@example.de"}, "andere E-Mail-Adresse als die Ihrer"),
        ({"recovery_email": "kein-at-zeichen"}, "gültige E-Mail-Adresse"),
        ({"recovery_email": RECOVERY_EMAIL, "recovery_phone": MOBILE}, "entweder"),
        ({}, "entweder"),
        ({"recovery_phone": "030 1234567"}, "Mobilfunknummer"),
        ({"recovery_phone": "+49 12"}, "Mobilfunknummer"),
        ({"recovery_email": RECOVERY_EMAIL, "current_password": "falsch"}, "Passwort ist falsch"),
    ],
)
def test_rejected_channel_form_says_why_and_sends_nothing(client, user, mailbox, form, message):
    sign_in(client, user)
    mailbox.messages.clear()
    response = set_channel(client, **form)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert channels(user) == [] and mailbox.messages == []


@pytest.mark.config(sms=GATEWAY.config())
def test_recovery_phone_gets_its_code_by_sms(client, user, gateway):
    sign_in(client, user)
    response = set_channel(client, recovery_phone="0151 234 567 89")
    assert response.headers["Location"] == "/mfa/recovery-channel/confirm"
    assert MOBILE in client.get("/mfa/recovery-channel/confirm").get_data(as_text=True)
    code = gateway.last(MOBILE).code
    response = post(client, "/mfa/recovery-channel/confirm", code=code)
    assert response.headers["Location"] == "/mfa/setup"
    (channel,) = channels(user)
    assert channel.type == "recovery_phone" and channel.data == {"number": MOBILE}


@pytest.mark.config(sms=GATEWAY.config())
def test_recovery_phone_must_differ_from_the_sms_factor(client, user, gateway):
    sign_in(client, user)
    add_credential(user, "phone", number=FACTOR_MOBILE, channel="sms")
    response = set_channel(client, recovery_phone="0176 12345678")
    assert response.status_code == 400
    assert "andere Telefonnummer als die Ihrer SMS-Methode" in response.get_data(as_text=True)
    assert gateway.received == []


@pytest.mark.config(sms=GATEWAY.config())
def test_gateway_failure_is_a_message_not_a_crash(client, user, gateway):
    sign_in(client, user)
    gateway.status = 503
    response = set_channel(client, recovery_phone=MOBILE)
    assert response.status_code == 429
    assert "SMS konnte nicht gesendet werden" in response.get_data(as_text=True)
    assert channels(user) == []


def test_wrong_confirmation_code_counts_and_keeps_the_old_channel(client, user, mailbox):
    add_credential(user, "recovery_email", address="alt@example.org")
    sign_in(client, user)
    set_channel(client, recovery_email=RECOVERY_EMAIL)
    wrong = "000000" if mailbox.code(RECOVERY_EMAIL) != "000000" else "111111"
    response = post(client, "/mfa/recovery-channel/confirm", code=wrong)
    assert response.status_code == 400 and "Der Code ist falsch" in response.get_data(as_text=True)
    assert [c.data["address"] for c in channels(user)] == ["alt@example.org"]
    db.session.expire_all()
    row = db.session.scalar(
        select(OneTimeToken).where(OneTimeToken.purpose == "mfa_channel_confirm")
    )
    assert row is not None and row.attempts == 1


def test_channel_pages_need_a_signed_in_user(client, user):
    assert client.get("/mfa/recovery-channel/").headers["Location"].startswith("/login")
    response = client.get("/mfa/recovery-channel/confirm")
    assert response.headers["Location"] == "/mfa/recovery-channel/"


# -- every factor lost ----------------------------------------------------------------
def test_choose_page_offers_lost_access(client, locked_out):
    assert sign_in(client, locked_out).headers["Location"].startswith("/mfa/")
    html = client.get("/mfa/choose").get_data(as_text=True)
    assert 'id="challenge-lost-access" href="/mfa/recovery-channel/lost"' in html
    assert "Ich habe keinen Zugriff mehr auf meine Methoden" in html


def test_lost_access_needs_the_password_first(client, locked_out):
    response = client.get("/mfa/recovery-channel/lost")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_lost_access_requests_a_reset_and_mails_the_cancel_link(client, locked_out, mailbox):
    sign_in(client, locked_out)
    page = client.get("/mfa/recovery-channel/lost").get_data(as_text=True)
    assert "a…@example.org" in page and RECOVERY_EMAIL not in page
    assert "erst nach 24 Stunden wirksam" in page
    response = lost_code(client, mailbox)
    assert response.headers["Location"] == "/mfa/recovery-channel/lost"
    row = reset_request(locked_out)
    assert row is not None and row.used_at is None
    effective = dt.datetime.fromisoformat(row.payload["effective_at"])
    assert dt.timedelta(hours=23) < effective - utcnow() <= dt.timedelta(hours=24)
    assert row.expires_at - effective == dt.timedelta(days=7)
    notice = mailbox.text(mailbox.last(locked_out.email))
    assert "Zurücksetzen" in notice and "/mfa/recovery-channel/cancel/" in mailbox.link(
        locked_out.email
    )
    page = client.get("/mfa/recovery-channel/lost").get_data(as_text=True)
    assert 'id="lost-pending"' in page and "wirksam" in page
    assert "mfa.reset_requested" in tags(locked_out)
    assert len(channels(locked_out)) == 1


def test_before_the_waiting_period_nothing_changes(client, locked_out, mailbox):
    sign_in(client, locked_out)
    lost_code(client, mailbox)
    client.delete_cookie("idp_session")
    mailbox.messages.clear()
    sign_in(client, locked_out)
    assert 'id="lost-send"' not in client.get("/mfa/recovery-channel/lost").get_data(as_text=True)
    response = post(client, "/mfa/recovery-channel/lost", "/login")
    assert response.headers["Location"] == "/mfa/recovery-channel/lost"
    assert mailbox.to(RECOVERY_EMAIL) == []
    response = post(client, "/mfa/recovery-channel/lost/code", "/login", code="123456")
    assert response.headers["Location"] == "/mfa/recovery-channel/lost"
    kinds = {c.type for c in db.session.scalars(select(Credential))}
    assert {"totp", "recovery_code", "recovery_email"} == kinds


def test_cancel_link_asks_first_then_cancels_for_good(client, locked_out, mailbox):
    sign_in(client, locked_out)
    lost_code(client, mailbox)
    link = mailbox.link(locked_out.email)
    client.delete_cookie("idp_session")
    page = client.get(link)
    assert page.status_code == 200 and 'id="reset-cancel-submit"' in page.get_data(as_text=True)
    assert reset_request(locked_out).used_at is None  # a mail scanner's GET changes nothing
    response = client.post(link, data={"csrf_token": csrf_token(page)})
    assert response.headers["Location"] == "/mfa/recovery-channel/cancelled"
    assert reset_request(locked_out).used_at is not None
    assert "mfa.reset_cancelled" in tags(locked_out)
    assert "abgebrochen" in mailbox.text(mailbox.last(locked_out.email))
    assert client.get(link).status_code == 400
    make_due(locked_out)  # even a cancelled request moved past its time stays dead
    sign_in(client, locked_out)
    page = client.get("/mfa/recovery-channel/lost").get_data(as_text=True)
    assert 'id="lost-pending"' not in page and 'id="lost-due"' not in page


def test_after_the_waiting_period_sign_in_leads_to_enrolment(client, locked_out, mailbox):
    sign_in(client, locked_out)
    lost_code(client, mailbox)
    cancel_link = mailbox.link(locked_out.email)
    make_due(locked_out)
    client.delete_cookie("idp_session")
    sign_in(client, locked_out)
    assert 'id="lost-due"' in client.get("/mfa/recovery-channel/lost").get_data(as_text=True)
    response = lost_code(client, mailbox)
    assert response.headers["Location"] == "/mfa/setup"
    kinds = [c.type for c in db.session.scalars(select(Credential))]
    assert kinds == ["recovery_email"]
    assert "mfa.reset_done" in tags(locked_out)
    assert "zurückgesetzt" in mailbox.text(mailbox.last(locked_out.email))
    setup = client.get("/mfa/setup").get_data(as_text=True)
    assert "ein zweiter Faktor vorgeschrieben" in setup
    assert client.get("/account/").status_code == 302  # not signed in before enrolling
    assert client.get(cancel_link).status_code == 400


def test_due_reset_needs_the_channel_code(client, locked_out, mailbox):
    sign_in(client, locked_out)
    lost_code(client, mailbox)
    make_due(locked_out)
    client.delete_cookie("idp_session")
    sign_in(client, locked_out)
    direct = post(client, "/mfa/recovery-channel/lost/code", "/login", code="123456")
    assert direct.headers["Location"] == "/mfa/recovery-channel/lost"
    post(client, "/mfa/recovery-channel/lost")
    right = mailbox.code(RECOVERY_EMAIL)
    response = post(
        client, "/mfa/recovery-channel/lost/code", code=f"{(int(right) + 1) % 10**6:06d}"
    )
    assert response.status_code == 400 and "Der Code ist falsch" in response.get_data(as_text=True)
    assert reset_request(locked_out).used_at is None
    assert "totp" in {c.type for c in db.session.scalars(select(Credential))}


def test_five_wrong_codes_end_the_challenge(client, locked_out, mailbox):
    sign_in(client, locked_out)
    post(client, "/mfa/recovery-channel/lost")
    wrong = f"{(int(mailbox.code(RECOVERY_EMAIL)) + 1) % 10**6:06d}"
    for _ in range(4):
        response = post(client, "/mfa/recovery-channel/lost/code", code=wrong)
        assert response.status_code == 400
    response = post(client, "/mfa/recovery-channel/lost/code", code=wrong)
    assert response.headers["Location"].startswith("/login")
    assert reset_request(locked_out) is None


def test_lost_access_without_a_channel_points_to_support(client, user):
    add_credential(user, "totp")
    sign_in(client, user)
    page = client.get("/mfa/recovery-channel/lost").get_data(as_text=True)
    assert 'id="lost-no-channel"' in page and 'id="lost-send"' not in page
    assert post(client, "/mfa/recovery-channel/lost", "/login").status_code == 302


@pytest.mark.config(sms=GATEWAY.config())
def test_recovery_phone_gets_the_lost_access_code_by_sms(client, user, gateway, mailbox):
    add_credential(user, "totp")
    add_credential(user, "recovery_phone", number=MOBILE)
    sign_in(client, user)
    assert "+49…789" in client.get("/mfa/recovery-channel/lost").get_data(as_text=True)
    post(client, "/mfa/recovery-channel/lost")
    response = post(client, "/mfa/recovery-channel/lost/code", code=gateway.last(MOBILE).code)
    assert response.headers["Location"] == "/mfa/recovery-channel/lost"
    assert reset_request(user).payload["channel"] == "recovery_phone"
    assert "/mfa/recovery-channel/cancel/" in mailbox.link(user.email)


# -- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "/mfa/recovery-channel/cancel/" + "x" * 5000,
        "/mfa/recovery-channel/cancel/%00%ff",
        "/mfa/recovery-channel/cancel/unknown-token",
    ],
)
def test_unknown_cancel_links_get_a_page_not_a_crash(client, url):
    assert client.get(url).status_code in (400, 404)


@pytest.mark.parametrize(
    "form",
    [
        {"recovery_email": "a" * 5000 + "@example.org"},
        {"recovery_phone": "9" * 5000},
        {"recovery_phone": "+49 151 abc"},
        {"recovery_email": "\x00@example.org"},
    ],
)
def test_odd_channel_input_gets_a_page_not_a_crash(client, user, form):
    sign_in(client, user)
    assert set_channel(client, **form).status_code == 400


@pytest.mark.parametrize("code", ["", "12", "abcdef", "1" * 5000, "１２３４５６"])
def test_odd_codes_get_a_page_not_a_crash(client, locked_out, mailbox, code):
    sign_in(client, locked_out)
    post(client, "/mfa/recovery-channel/lost")
    response = post(client, "/mfa/recovery-channel/lost/code", code=code)
    assert response.status_code in (302, 400)
