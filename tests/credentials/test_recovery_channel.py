"""The recovery channel without HTTP: which addresses and numbers count, codes,
the reset request, its waiting period, cancelling and completing it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from idp import accounts, mfa
from idp.credentials import recovery_channel as channels
from idp.errors import ChangeRejected, CodeExpired, CodeInvalid, TooSoon
from idp.store import Credential, OneTimeToken, OutboxMessage, RememberedDevice, db, utcnow

PASSWORD = "Korrekt-Pferd-Batterie-1"
RECOVERY_EMAIL = "anna.privat@example.org"
MOBILE = "+4915123456789"


@pytest.fixture
def request_context(app: Flask) -> Iterator[None]:
    """Mails carry absolute links; the service runs inside a request."""
    with app.test_request_context("/"):
        yield


def add_credential(user, type_, **data) -> Credential:
    credential = Credential(user_id=user.id, type=type_, secret="x", data=data)
    credential.confirmed_at = utcnow()
    db.session.add(credential)
    db.session.flush()
    return credential


def last_code(address: str) -> str:
    message = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == address)
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert message is not None
    match = re.search(r"\b(\d{6})\b", message.text_body)
    assert match
    return match.group(1)


def cancel_token(user) -> str:
    message = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "mfa_reset_requested")
    ).one()
    match = re.search(r"/cancel/(\S+)", message.text_body)
    assert match
    return match.group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.fixture
def locked_out(user, request_context):
    add_credential(user, "totp")
    add_credential(user, "recovery_code")
    add_credential(user, "recovery_email", address=RECOVERY_EMAIL)
    return user


def request_reset(user) -> OneTimeToken:
    row, _destination = channels.begin_recovery(user)
    outcome, reset = channels.complete_recovery(user, row.id, last_code(RECOVERY_EMAIL))
    assert outcome == "requested"
    return reset


def make_due(reset: OneTimeToken) -> None:
    past = utcnow() - dt.timedelta(seconds=1)
    reset.payload = {**reset.payload, "effective_at": past.isoformat()}
    reset.expires_at = past + dt.timedelta(days=7)
    db.session.flush()


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("0151 234 567 89", MOBILE),
        ("+49 (0)151 23456789", MOBILE),
        ("0043 664 1234567", "+436641234567"),
    ],
)
def test_mobile_numbers_are_normalised_to_e164(app, user, phone, expected):
    destination = channels.parse_destination(user, email="", phone=phone)
    assert (destination.kind, destination.value) == ("phone", expected)


@pytest.mark.parametrize(
    ("email", "phone", "field"),
    [
        ("", "", "recovery_email"),
        (RECOVERY_EMAIL, MOBILE, "recovery_email"),
        ("ANNA.SCHMIDT@example.de", "", "recovery_email"),
        ("a@b", "", "recovery_email"),
        ("", "030 1234567", "recovery_phone"),  # a landline gets no SMS
        ("", "+1 555", "recovery_phone"),
        ("", "+" + "9" * 40, "recovery_phone"),
    ],
)
def test_unfit_channels_are_rejected_at_their_field(app, user, email, phone, field):
    with pytest.raises(ChangeRejected) as rejected:
        channels.parse_destination(user, email=email, phone=phone)
    assert field in rejected.value.errors


def test_number_of_a_phone_factor_is_no_recovery_number(app, user):
    add_credential(user, "phone", number=MOBILE, channel="sms")
    with pytest.raises(ChangeRejected) as rejected:
        channels.parse_destination(user, email="", phone="0151 23456789")
    assert "recovery_phone" in rejected.value.errors


def test_confirmed_channel_replaces_the_earlier_one(user, request_context):
    add_credential(user, "recovery_phone", number=MOBILE)
    row, _ = channels.begin_change(user, password=PASSWORD, email=RECOVERY_EMAIL, phone="")
    assert channels.channel_of(user).type == "recovery_phone"  # not before the code
    channels.confirm_change(user, row.id, last_code(RECOVERY_EMAIL))
    channel = channels.channel_of(user)
    assert channel is not None and channel.data == {"address": RECOVERY_EMAIL}
    assert len(db.session.scalars(select(Credential)).all()) == 1


def test_code_of_another_user_does_not_confirm(user, request_context):
    other = accounts.create_user("bernd@example.de", PASSWORD, email_verified=True)
    row, _ = channels.begin_change(user, password=PASSWORD, email=RECOVERY_EMAIL, phone="")
    with pytest.raises(CodeInvalid):
        channels.confirm_change(other, row.id, last_code(RECOVERY_EMAIL))


def test_a_new_code_within_the_resend_interval_is_refused(locked_out):
    channels.begin_recovery(locked_out)
    with pytest.raises(TooSoon):
        channels.begin_recovery(locked_out)


def test_expired_code_does_not_request_a_reset(locked_out):
    row, _ = channels.begin_recovery(locked_out)
    row.expires_at = utcnow() - dt.timedelta(seconds=1)
    with pytest.raises(CodeExpired):
        channels.complete_recovery(locked_out, row.id, last_code(RECOVERY_EMAIL))
    assert channels.pending_reset(locked_out) is None


def test_request_waits_for_the_configured_hours(locked_out):
    reset = request_reset(locked_out)
    wait = channels.effective_at(reset) - utcnow()
    assert dt.timedelta(hours=23, minutes=59) < wait <= dt.timedelta(hours=24)
    assert not channels.is_due(reset)
    with pytest.raises(channels.ResetPending):
        channels.begin_recovery(locked_out)


def test_unreadable_request_is_never_due_early(locked_out):
    reset = request_reset(locked_out)
    reset.payload = {"effective_at": "morgen"}
    assert channels.effective_at(reset) == reset.expires_at
    assert not channels.is_due(reset)


def test_due_request_removes_factors_and_devices_but_keeps_the_channel(locked_out):
    other = accounts.create_user("bernd@example.de", PASSWORD, email_verified=True)
    add_credential(other, "totp")
    db.session.add(
        RememberedDevice(
            user_id=locked_out.id, token_hash="h" * 64, expires_at=utcnow() + dt.timedelta(days=1)
        )
    )
    make_due(request_reset(locked_out))
    row, _ = channels.begin_recovery(locked_out)
    outcome, reset = channels.complete_recovery(locked_out, row.id, last_code(RECOVERY_EMAIL))
    assert outcome == "reset" and reset.used_at is not None
    mine = db.session.scalars(select(Credential).where(Credential.user_id == locked_out.id))
    assert [c.type for c in mine] == ["recovery_email"]
    assert db.session.scalars(select(Credential).where(Credential.user_id == other.id)).one()
    assert db.session.scalars(select(RememberedDevice)).one().revoked_at is not None
    assert channels.pending_reset(locked_out) is None


def test_wrong_code_completes_nothing(locked_out):
    make_due(request_reset(locked_out))
    row, _ = channels.begin_recovery(locked_out)
    with pytest.raises(CodeInvalid):
        channels.complete_recovery(locked_out, row.id, wrong(last_code(RECOVERY_EMAIL)))
    assert channels.pending_reset(locked_out) is not None
    assert len(mfa.second_factors(locked_out)) == 1


def test_cancel_link_works_once_and_kills_the_request(locked_out):
    request_reset(locked_out)
    token = cancel_token(locked_out)
    assert channels.check_cancel_link(token).user_id == locked_out.id
    assert channels.cancel_reset(token) == locked_out
    assert channels.pending_reset(locked_out) is None
    with pytest.raises(CodeInvalid):
        channels.cancel_reset(token)


def test_cancel_link_dies_when_the_reset_is_done(locked_out):
    reset = request_reset(locked_out)
    token = cancel_token(locked_out)
    make_due(reset)
    channels.reset_factors(locked_out, reset)
    with pytest.raises(CodeInvalid):
        channels.check_cancel_link(token)


@pytest.mark.parametrize("token", ["", "x" * 101, "kein-token"])
def test_unknown_cancel_tokens_are_invalid(app, token):
    with pytest.raises(CodeInvalid):
        channels.check_cancel_link(token)
