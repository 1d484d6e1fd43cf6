"""The SMS/voice gateway: console for development, JSON over HTTP to a real
local server for production, one GatewayError for every way delivery fails,
and the flood guard per number and per account."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from idp import sms
from tests.sms import GATEWAY, TOKEN, SmsGateway
from tests.support.mail import free_port

MOBILE = "+4915123456789"


@pytest.fixture
def gateway() -> Iterator[SmsGateway]:
    GATEWAY.start()
    GATEWAY.reset()
    yield GATEWAY
    GATEWAY.reset()


def test_console_backend_logs_the_message_and_sends_nothing(app, gateway, caplog):
    with caplog.at_level(logging.WARNING, logger="idp.sms"):
        sms.send(MOBILE, "Hallo", "sms")
    assert f"SMS to {MOBILE}: Hallo" in caplog.text
    assert gateway.received == []


@pytest.mark.config(sms=GATEWAY.config())
def test_http_backend_posts_json_with_the_bearer_token(app, gateway):
    sms.send(MOBILE, "Hallo", "voice")
    (received,) = gateway.received
    assert received.body == {
        "to": MOBILE,
        "channel": "voice",
        "text": "Hallo",
        "sender": "KundenID",
    }
    assert received.authorization == f"Bearer {TOKEN}"
    assert received.content_type == "application/json"


@pytest.mark.config(sms=GATEWAY.config())
@pytest.mark.parametrize("status", [400, 401, 500, 503])
def test_error_status_from_the_gateway_raises_gateway_error(app, gateway, status):
    gateway.status = status
    with pytest.raises(sms.GatewayError, match=str(status)):
        sms.send(MOBILE, "Hallo", "sms")


@pytest.mark.config(sms=GATEWAY.config(url=f"http://127.0.0.1:{free_port()}/messages"))
def test_refused_connection_raises_gateway_error(app):
    with pytest.raises(sms.GatewayError):
        sms.send(MOBILE, "Hallo", "sms")


@pytest.mark.config(sms=GATEWAY.config(timeout=1))
def test_gateway_slower_than_the_timeout_raises_gateway_error(app, gateway):
    gateway.delay = 1.5
    with pytest.raises(sms.GatewayError):
        sms.send(MOBILE, "Hallo", "sms")


@pytest.mark.config(sms=GATEWAY.config())
def test_code_text_names_the_product_and_lifetime(app, gateway):
    sms.send_code(MOBILE, "123456", "sms", "de", 10)
    assert gateway.last(MOBILE).body["text"] == (
        "Ihr Code für Kunden-ID: 123456. Er ist 10 Minuten gültig."
    )


@pytest.mark.config(sms=GATEWAY.config())
def test_a_call_spells_the_code_digit_by_digit(app, gateway):
    sms.send_code(MOBILE, "123456", "voice", None, 10)
    received = gateway.last(MOBILE)
    assert received.body["channel"] == "voice"
    assert "1 2 3 4 5 6" in received.body["text"]
    assert received.code == "123456"


def test_three_codes_per_number_then_refused(app):
    assert [sms.allow(MOBILE, None) for _ in range(4)] == [True, True, True, False]
    assert sms.allow("+4917012345678", None)


def test_three_codes_per_account_across_numbers_then_refused(app):
    numbers = [f"+491511234567{digit}" for digit in range(4)]
    assert [sms.allow(number, 7) for number in numbers] == [True, True, True, False]
    assert sms.allow("+4917012345678", 8)


def test_refused_attempt_does_not_use_up_the_other_counter(app):
    for digit in range(3):
        assert sms.allow(f"+491511234567{digit}", 7)
    assert not sms.allow(MOBILE, 7)
    assert [sms.allow(MOBILE, 8) for _ in range(4)] == [True, True, True, False]
