"""The phone factor without HTTP: numbers, enrolment, codes (read from the
console gateway's log line)."""

from __future__ import annotations

import logging
import time

import pytest

from idp import accounts
from idp.credentials import phone
from idp.errors import CodeExpired, CodeInvalid, TooManyAttempts
from idp.store import Credential, db, utcnow
from tests.sms import SPELLED_CODE

MOBILE = "+4915123456789"


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.WARNING, logger="idp.sms")
    return caplog


def last_code(log) -> str:
    return SPELLED_CODE.findall(log.records[-1].getMessage())[-1].replace(" ", "")


def confirmed(user, number=MOBILE, channel="sms") -> Credential:
    credential = Credential(
        user_id=user.id, type="phone", data={"number": number, "channel": channel}
    )
    credential.confirmed_at = utcnow()
    db.session.add(credential)
    db.session.commit()
    return credential


@pytest.mark.parametrize(
    ("raw", "channel", "expected"),
    [
        ("030 1234567", "voice", "+49301234567"),
        ("+43 1 234567", "voice", "+431234567"),
        ("0151/234 567 89", "sms", MOBILE),
        ("0043 664 1234567", "sms", "+436641234567"),
        ("+49 (0)151 23456789", "voice", MOBILE),
    ],
)
def test_numbers_are_normalised_to_e164(app, raw, channel, expected):
    assert phone.normalise_number(raw, channel) == expected


@pytest.mark.parametrize(
    ("raw", "channel"),
    [
        ("", "sms"),
        ("12", "sms"),
        ("abc", "voice"),
        ("+49 30", "voice"),
        ("1" * 41, "voice"),
        ("+49 151 2345678901234567", "sms"),
        ("030 1234567", "sms"),  # a fixed line gets no SMS
        ("0900 1234567", "voice"),  # premium rate
        ("0800 1234567", "voice"),  # toll free
    ],
)
def test_unusable_numbers_are_rejected_with_a_reason(app, raw, channel):
    with pytest.raises(phone.NumberRejected) as rejected:
        phone.normalise_number(raw, channel)
    assert rejected.value.reason and rejected.value.field == "number"


def test_enrolment_sends_a_code_that_confirms_the_number(app, user, log):
    credential, pending = phone.begin_enrolment(user, "0151 23456789", "sms")
    assert not credential.confirmed and credential.data == {"number": MOBILE, "channel": "sms"}
    assert f"SMS to {MOBILE}: Ihr Code für Kunden-ID:" in log.text
    with app.test_request_context():  # the notice mail links to the settings
        phone.confirm_enrolment(user, credential, pending, last_code(log))
        db.session.commit()
    assert credential.confirmed
    assert phone.factors_of(user) == [credential]


def test_a_new_enrolment_replaces_the_unfinished_one(app, user, log):
    first, _pending = phone.begin_enrolment(user, "0151 23456789", "sms")
    second, _pending = phone.begin_enrolment(user, "030 1234567", "voice")
    db.session.commit()
    assert db.session.query(Credential).all() == [second]


def test_an_enrolled_number_cannot_be_enrolled_again(app, user, log):
    confirmed(user)
    with pytest.raises(phone.AlreadyEnrolled):
        phone.begin_enrolment(user, "+49 151 23456789", "voice")


def test_an_unknown_channel_is_rejected_at_its_field(app, user):
    with pytest.raises(phone.NumberRejected) as rejected:
        phone.begin_enrolment(user, MOBILE, "fax")
    assert rejected.value.field == "channel"


def test_wrong_codes_count_and_the_fifth_kills_the_code(app, user, log):
    credential = confirmed(user)
    pending = phone.send_code(user, credential)
    right = last_code(log)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(4):
        with pytest.raises(CodeInvalid):
            phone.verify_code(pending, user, credential, wrong)
    with pytest.raises(TooManyAttempts):
        phone.verify_code(pending, user, credential, wrong)
    with pytest.raises(TooManyAttempts):
        phone.verify_code(pending, user, credential, right)


def test_a_code_is_good_once_with_spaces_and_not_after_ten_minutes(app, user, log):
    credential = confirmed(user)
    pending = phone.send_code(user, credential)
    code = last_code(log)
    phone.verify_code(pending, user, credential, f" {code[:3]} {code[3:]} ")
    with pytest.raises(CodeInvalid):
        phone.verify_code(pending, user, credential, code)
    pending = phone.send_code(user, credential)
    pending.expires = time.time() - 1
    with pytest.raises(CodeExpired):
        phone.verify_code(pending, user, credential, last_code(log))


def test_a_code_only_works_for_its_own_credential_and_user(app, user, log):
    credential = confirmed(user)
    other_user = accounts.create_user("ben@example.de", "Korrekt-Pferd-Batterie-2")
    db.session.flush()
    other = confirmed(user, "+4917012345678")
    pending = phone.send_code(user, credential)
    with pytest.raises(CodeInvalid):
        phone.verify_code(pending, user, other, last_code(log))
    with pytest.raises(CodeInvalid):
        phone.verify_code(pending, other_user, credential, last_code(log))


def test_the_fourth_code_within_the_window_is_throttled(app, user, log):
    credential = confirmed(user)
    for _ in range(3):
        phone.send_code(user, credential)
    with pytest.raises(phone.CodeThrottled):
        phone.send_code(user, credential)
    assert len(log.records) == 3


def test_factors_are_found_only_by_their_owner_and_when_confirmed(app, user, log):
    credential = confirmed(user)
    unconfirmed, _pending = phone.begin_enrolment(user, "0170 1234567", "sms")
    other_user = accounts.create_user("ben@example.de", "Korrekt-Pferd-Batterie-2")
    db.session.commit()
    assert phone.find_factor(user, None) == credential
    assert phone.find_factor(user, str(credential.id)) == credential
    assert phone.find_factor(user, unconfirmed.id) is None
    assert phone.find_factor(other_user, credential.id) is None
    assert phone.find_factor(user, "x" * 20) is None
    assert phone.amr_of(credential) == "sms"
