"""SMS and voice codes over HTTP: enrolment (number, channel, code), the
sign-in step (nothing sent before the button), amr in the ID token, the flood
guard, a broken gateway, odd input. Codes are read from what the real local
HTTP gateway received."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from idp import accounts
from idp.audit import EventTag
from idp.store import AuditEvent, BrowserSession, Credential, db, utcnow
from tests.sms import GATEWAY, SmsGateway
from tests.support.mail import free_port
from tests.support.oidc import csrf_token, query

pytestmark = pytest.mark.config(sms=GATEWAY.config())

PASSWORD = "Korrekt-Pferd-Batterie-1"
MOBILE = "+4915123456789"
WRONG = "Der Code ist falsch."
THROTTLED = "Es wurden zu viele Codes angefordert."
UNSENT = "Der Code konnte nicht gesendet werden. Bitte versuchen Sie es später erneut."


@pytest.fixture
def gateway() -> Iterator[SmsGateway]:
    GATEWAY.start()
    GATEWAY.reset()
    yield GATEWAY
    GATEWAY.reset()


@pytest.fixture
def phone_factor(app, user):
    """Anna with a confirmed mobile number for SMS codes."""
    return add_factor(user, MOBILE, "sms")


def add_factor(user, number, channel):
    credential = Credential(
        user_id=user.id, type="phone", data={"number": number, "channel": channel}
    )
    credential.confirmed_at = utcnow()
    db.session.add(credential)
    db.session.commit()
    return credential


def login(client, email, password=PASSWORD):
    page = client.get("/login")
    form = {"csrf_token": csrf_token(page), "rid": "", "email": email, "password": password}
    return client.post("/login", data=form)


def enrol(client, number, channel="sms"):
    page = client.get("/mfa/phone/")
    assert page.status_code == 200, page.headers.get("Location")
    form = {"csrf_token": csrf_token(page), "number": number, "channel": channel}
    return client.post("/mfa/phone/", data=form)


def post_confirm(client, code="", action="confirm"):
    page = client.get("/mfa/phone/confirm")
    form = {"csrf_token": csrf_token(page), "code": code, "action": action}
    return client.post("/mfa/phone/confirm", data=form)


def send(client, credential):
    page = client.get("/mfa/phone/challenge", query_string={"credential": credential.id})
    return client.post(
        "/mfa/phone/send", data={"csrf_token": csrf_token(page), "credential": credential.id}
    )


def post_code(client, credential, code, **extra):
    page = client.get("/mfa/phone/challenge", query_string={"credential": credential.id})
    form = {"csrf_token": csrf_token(page), "credential": credential.id, "code": code, **extra}
    return client.post("/mfa/phone/challenge", data=form)


def wrong(code):
    return "000000" if code != "000000" else "111111"


def codes_expire():
    """Ten minutes later: every pending code in every session has run out."""
    for row in db.session.query(BrowserSession):
        if "mfa_phone" in row.data:
            row.data = {
                **row.data,
                "mfa_phone": {**row.data["mfa_phone"], "expires": time.time() - 1},
            }
    db.session.commit()


# -- enrolment -----------------------------------------------------------------
def test_enrol_page_asks_for_a_number_and_offers_sms_or_call(client, user):
    login(client, user.email)
    html = client.get("/mfa/phone/").get_data(as_text=True)
    assert "Identität auf andere Art bestätigen" in html
    assert 'id="number" name="number" type="tel"' in html and 'autocomplete="tel"' in html
    assert 'id="phone-send-sms"' in html and 'id="phone-send-voice"' in html


def test_enrol_pages_need_a_signed_in_user(client):
    for path in ("/mfa/phone/", "/mfa/phone/confirm"):
        assert client.get(path).headers["Location"].startswith("/login")


def test_sms_enrolment_confirms_the_number_with_the_texted_code(client, user, gateway, mailbox):
    login(client, user.email)
    response = enrol(client, "0151 23456789", "sms")
    assert response.headers["Location"] == "/mfa/phone/confirm"
    received = gateway.last(MOBILE)
    assert received.body["channel"] == "sms" and received.authorization.startswith("Bearer ")
    assert received.body["text"] == (
        f"Ihr Code für Kunden-ID: {received.code}. Er ist 10 Minuten gültig."
    )
    page = client.get("/mfa/phone/confirm").get_data(as_text=True)
    assert "+49 1512 3456789" in page and 'autocomplete="one-time-code"' in page
    response = post_confirm(client, received.code)
    assert response.status_code == 302 and "/mfa/phone" not in response.headers["Location"]
    credential = db.session.query(Credential).filter_by(user_id=user.id, type="phone").one()
    assert credential.confirmed and credential.data == {"number": MOBILE, "channel": "sms"}
    tags = [e.tag for e in db.session.query(AuditEvent).filter_by(user_id=user.id)]
    assert str(EventTag.MFA_ENROLLED) in tags
    assert mailbox.to(user.email)


def test_call_enrolment_accepts_a_fixed_line_and_spells_the_code(client, user, gateway):
    login(client, user.email)
    assert enrol(client, "030 1234567", "voice").status_code == 302
    received = gateway.last("+49301234567")
    assert received.body["channel"] == "voice"
    assert " ".join(received.code) in received.body["text"]
    post_confirm(client, received.code)
    credential = db.session.query(Credential).filter_by(user_id=user.id).one()
    assert credential.confirmed and credential.data["channel"] == "voice"


@pytest.mark.parametrize(
    ("raw", "channel", "expected"),
    [
        ("030 1234567", "voice", "+49301234567"),
        ("+43 1 234567", "voice", "+431234567"),
        ("0043 664 1234567", "sms", "+436641234567"),
        ("0151/234 567 89", "sms", MOBILE),
    ],
)
def test_numbers_reach_the_gateway_in_e164(client, user, gateway, raw, channel, expected):
    login(client, user.email)
    assert enrol(client, raw, channel).status_code == 302
    assert [r.body["to"] for r in gateway.received] == [expected]


@pytest.mark.parametrize(
    ("number", "channel", "message"),
    [
        ("12", "sms", "Bitte geben Sie eine gültige Telefonnummer ein"),
        ("abc", "voice", "Bitte geben Sie eine gültige Telefonnummer ein"),
        ("+49 30", "voice", "Bitte geben Sie eine gültige Telefonnummer ein"),
        ("", "sms", "Bitte geben Sie Ihre Telefonnummer ein."),
        ("1" * 5000, "sms", "Bitte geben Sie eine gültige Telefonnummer ein"),
        ("030 1234567", "sms", "An diese Nummer können wir keine SMS senden."),
        ("0900 1234567", "voice", "Diese Art von Rufnummer können wir nicht verwenden."),
        (MOBILE, "fax", "Bitte wählen Sie SMS oder Anruf."),
    ],
)
def test_unusable_numbers_are_refused_at_the_field(client, user, gateway, number, channel, message):
    login(client, user.email)
    response = enrol(client, number, channel)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="number-error"' in html and message in html
    assert gateway.received == []
    assert db.session.query(Credential).count() == 0


def test_wrong_enrolment_codes_are_refused_and_the_fifth_kills_the_code(client, user, gateway):
    login(client, user.email)
    enrol(client, MOBILE)
    code = gateway.last(MOBILE).code
    for _ in range(4):
        response = post_confirm(client, wrong(code))
        assert response.status_code == 400 and WRONG in response.get_data(as_text=True)
        assert 'id="code-error"' in response.get_data(as_text=True)
    assert "zu oft falsch" in post_confirm(client, wrong(code)).get_data(as_text=True)
    assert post_confirm(client, code).status_code == 400
    assert not db.session.query(Credential).one().confirmed
    post_confirm(client, action="resend")
    assert post_confirm(client, gateway.last(MOBILE).code).status_code == 302
    assert db.session.query(Credential).one().confirmed


def test_resent_code_replaces_the_first(client, user, gateway):
    login(client, user.email)
    enrol(client, MOBILE, "voice")
    first = gateway.last(MOBILE).code
    response = post_confirm(client, action="resend")
    assert response.headers["Location"] == "/mfa/phone/confirm"
    assert "Wir rufen Sie jetzt an" in client.get("/mfa/phone/confirm").get_data(as_text=True)
    second = gateway.last(MOBILE).code
    assert len(gateway.to(MOBILE)) == 2
    if first != second:
        assert post_confirm(client, first).status_code == 400
    assert post_confirm(client, second).status_code == 302


def test_expired_enrolment_code_is_refused(client, user, gateway):
    login(client, user.email)
    enrol(client, MOBILE)
    codes_expire()
    response = post_confirm(client, gateway.last(MOBILE).code)
    assert response.status_code == 400 and "abgelaufen" in response.get_data(as_text=True)


def test_the_same_number_cannot_be_enrolled_twice(client, user, gateway):
    login(client, user.email)
    enrol(client, "0151 23456789")
    post_confirm(client, gateway.last(MOBILE).code)
    response = enrol(client, "+49 151 234 567 89", "voice")
    assert response.status_code == 400
    assert "Diese Telefonnummer ist bereits eingerichtet." in response.get_data(as_text=True)
    assert len(gateway.received) == 1


def test_confirm_without_a_code_on_its_way_goes_back_to_enrolment(client, user):
    login(client, user.email)
    assert client.get("/mfa/phone/confirm").headers["Location"] == "/mfa/phone/"
    page = client.get("/mfa/phone/")
    response = client.post("/mfa/phone/confirm", data={"csrf_token": csrf_token(page), "code": "1"})
    assert response.headers["Location"] == "/mfa/phone/"


def test_gateway_error_on_enrolment_gives_a_message_not_a_crash(client, user, gateway):
    login(client, user.email)
    gateway.status = 500
    response = enrol(client, MOBILE)
    assert response.status_code == 503 and UNSENT in response.get_data(as_text=True)
    assert db.session.query(Credential).count() == 0


@pytest.mark.config(sms=GATEWAY.config(url=f"http://127.0.0.1:{free_port()}/messages"))
def test_unreachable_gateway_gives_a_message_not_a_crash(client, user):
    login(client, user.email)
    response = enrol(client, MOBILE)
    assert response.status_code == 503 and UNSENT in response.get_data(as_text=True)


def test_fourth_code_for_one_account_in_fifteen_minutes_is_refused(client, user, gateway):
    login(client, user.email)
    for number in ("0151 23456780", "0151 23456781", "0151 23456782"):
        assert enrol(client, number).status_code == 302
    response = enrol(client, "0151 23456783")
    assert response.status_code == 429 and THROTTLED in response.get_data(as_text=True)
    assert post_confirm(client, action="resend").status_code == 429
    assert len(gateway.received) == 3


def test_fourth_code_to_one_number_is_refused_whichever_account_asks(web, user, gateway):
    other = accounts.create_user("ben@example.de", PASSWORD, email_verified=True)
    db.session.commit()
    anna, ben = web.test_client(), web.test_client()
    login(anna, user.email)
    login(ben, other.email)
    enrol(anna, MOBILE)
    post_confirm(anna, action="resend")
    assert enrol(ben, MOBILE).status_code == 302
    response = post_confirm(ben, action="resend")
    assert response.status_code == 429 and THROTTLED in response.get_data(as_text=True)
    assert len(gateway.to(MOBILE)) == 3
    assert enrol(ben, "0170 1234567").status_code == 302


# -- sign-in -------------------------------------------------------------------
def test_sign_in_shows_the_phone_step_and_sends_only_on_the_button(client, phone_factor, gateway):
    response = login(client, "anna.schmidt@example.de")
    assert client.get(response.headers["Location"]).headers["Location"] == ("/mfa/phone/challenge")
    for _ in range(2):  # reloading costs no message
        html = client.get("/mfa/phone/challenge").get_data(as_text=True)
        assert 'id="phone-send"' in html and "Code senden" in html and "+49…789" in html
    assert gateway.received == []
    response = send(client, phone_factor)
    assert response.headers["Location"] == f"/mfa/phone/challenge?credential={phone_factor.id}"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Wir haben Ihnen einen Code per SMS gesendet." in html
    assert 'autocomplete="one-time-code"' in html and 'id="remember_device"' in html
    assert len(gateway.to(MOBILE)) == 1


@pytest.mark.parametrize(("channel", "amr"), [("sms", "sms"), ("voice", "tel")])
def test_phone_sign_in_puts_its_amr_and_mfa_into_the_id_token(
    client, user, portal, gateway, channel, amr
):
    credential = add_factor(user, MOBILE, channel)
    page = portal.follow(portal.authorize())
    page = portal.follow(portal.submit_login(page, user.email, PASSWORD))
    assert page.status_code == 200 and b'id="phone-send"' in page.data
    assert (b"Anrufen" in page.data) == (channel == "voice")
    send(client, credential)
    callback = portal.follow(post_code(client, credential, gateway.last(MOBILE).code))
    assert callback.headers["Location"].startswith(portal.redirect_uri)
    tokens = portal.exchange(query(callback.headers["Location"])["code"]).json
    keys = KeySet.import_key_set(client.get("/jwks").json)
    claims = jwt.decode(tokens["id_token"], keys).claims
    assert amr in claims["amr"] and "mfa" in claims["amr"] and "pwd" in claims["amr"]
    assert claims["acr"] == "urn:idp:acr:mfa"
    db.session.refresh(credential)
    assert credential.last_used_at is not None


def test_five_wrong_codes_end_the_sign_in(client, phone_factor, gateway):
    login(client, "anna.schmidt@example.de")
    send(client, phone_factor)
    code = gateway.last(MOBILE).code
    for _ in range(4):
        response = post_code(client, phone_factor, wrong(code))
        assert response.status_code == 400 and WRONG in response.get_data(as_text=True)
    response = post_code(client, phone_factor, wrong(code))
    assert response.headers["Location"] == "/login"
    assert client.get("/mfa/phone/challenge").headers["Location"].startswith("/login")
    assert client.get("/account/").status_code == 302


def test_code_typed_before_one_was_sent_is_refused(client, phone_factor, gateway):
    login(client, "anna.schmidt@example.de")
    response = post_code(client, phone_factor, "123456")
    assert response.status_code == 400
    assert "Bitte fordern Sie zuerst einen Code an." in response.get_data(as_text=True)


def test_expired_sign_in_code_is_refused_and_a_new_one_works(client, phone_factor, gateway):
    login(client, "anna.schmidt@example.de")
    send(client, phone_factor)
    codes_expire()
    response = post_code(client, phone_factor, gateway.last(MOBILE).code)
    assert response.status_code == 400 and "abgelaufen" in response.get_data(as_text=True)
    send(client, phone_factor)
    response = post_code(client, phone_factor, gateway.last(MOBILE).code, remember_device="y")
    assert response.headers["Location"] == "/account/"
    assert client.get_cookie("idp_device") is not None


def test_gateway_error_at_sign_in_gives_a_message_not_a_crash(client, phone_factor, gateway):
    login(client, "anna.schmidt@example.de")
    gateway.status = 503
    response = send(client, phone_factor)
    assert response.status_code == 503 and UNSENT in response.get_data(as_text=True)


def test_fourth_code_at_sign_in_is_refused(client, phone_factor, gateway):
    login(client, "anna.schmidt@example.de")
    for _ in range(3):
        assert send(client, phone_factor).status_code == 302
    response = send(client, phone_factor)
    assert response.status_code == 429 and THROTTLED in response.get_data(as_text=True)
    assert len(gateway.received) == 3


@pytest.mark.parametrize("credential", ["abc", "999999", "x" * 5000, "-1", "foreign"])
def test_odd_credential_ids_lead_to_the_choice_not_a_crash(client, user, gateway, credential):
    other = accounts.create_user("ben@example.de", PASSWORD, email_verified=True)
    db.session.commit()
    foreign = add_factor(other, "+4917012345678", "sms")
    add_factor(user, MOBILE, "sms")
    value = foreign.id if credential == "foreign" else credential
    login(client, user.email)
    page = client.get("/mfa/phone/challenge", query_string={"credential": value})
    assert page.headers["Location"] == "/mfa/choose"
    form = {"csrf_token": csrf_token(client.get("/mfa/phone/challenge")), "credential": value}
    assert client.post("/mfa/phone/send", data=form).headers["Location"] == "/mfa/choose"
    form["code"] = "123456"
    assert client.post("/mfa/phone/challenge", data=form).headers["Location"] == "/mfa/choose"
    assert gateway.received == []


def test_phone_step_needs_the_password_step_first(client, phone_factor):
    assert client.get("/mfa/phone/challenge").headers["Location"].startswith("/login")
    page = client.get("/login")
    form = {"csrf_token": csrf_token(page), "credential": phone_factor.id}
    assert client.post("/mfa/phone/send", data=form).headers["Location"].startswith("/login")


@pytest.mark.config(mfa={"policy": "required"}, sms=GATEWAY.config())
def test_forced_enrolment_before_sign_in_can_use_a_phone(client, user, gateway):
    response = login(client, user.email)
    assert response.headers["Location"] == "/mfa/setup"
    assert 'id="add-phone"' in client.get("/mfa/setup").get_data(as_text=True)
    assert client.get("/account/").status_code == 302  # not signed in yet
    assert enrol(client, MOBILE).headers["Location"] == "/mfa/phone/confirm"
    response = post_confirm(client, gateway.last(MOBILE).code)
    assert response.status_code == 302 and "/mfa/phone" not in response.headers["Location"]
    assert db.session.query(Credential).filter_by(type="phone").one().confirmed
