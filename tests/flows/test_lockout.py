"""Brute-force protection: consecutive failed logins block the account for growing
periods, the owner gets one mail per block with an unblock link, and an unknown
address looks the same."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest

from idp.store import AuditEvent, OneTimeToken, User, db, utcnow
from tests.support.oidc import csrf_token

PASSWORD = "Korrekt-Pferd-Batterie-1"
BLOCKED = "Zu viele fehlgeschlagene Anmeldeversuche."
# The per-minute rate limits would answer 429 before the lockout shows.
NO_RATE_LIMITS = {"login_limit_account": "1000 per minute", "login_limit_ip": "1000 per minute"}
pytestmark = pytest.mark.config(security=NO_RATE_LIMITS)


def login(client, email, password, **kwargs):
    form = {"csrf_token": csrf_token(client.get("/login")), "email": email, "password": password}
    return client.post("/login", data=form, **kwargs)


def fail(client, email, times):
    return [login(client, email, "falsch").status_code for _ in range(times)]


def blocked_mails(mailbox, user):
    return [m for m in mailbox.to(user.email) if "gesperrt" in m["Subject"]]


def path_of(link):
    return urlsplit(link).path


def stored(user):
    db.session.expire_all()
    return db.session.get(User, user.id)


def expire_block(user, **changes):
    row = stored(user)
    row.blocked_until = utcnow() - dt.timedelta(seconds=1)
    for name, value in changes.items():
        setattr(row, name, value)
    db.session.commit()


def seconds_left(user):
    return (stored(user).blocked_until - utcnow()).total_seconds()


def test_ten_failures_block_the_account_and_mail_the_owner_once(client, user, mailbox):
    assert fail(client, user.email, 9) == [401] * 9
    response = login(client, user.email, "falsch")
    assert response.status_code == 429 and BLOCKED in response.get_data(as_text=True)
    assert fail(client, user.email, 2) == [429, 429]
    mails = blocked_mails(mailbox, user)
    assert len(mails) == 1 and mails[0]["Subject"] == "Ihr Konto wurde vorübergehend gesperrt"
    text = mailbox.text(mails[0])
    assert "nach mehreren fehlgeschlagenen Anmeldeversuchen vorübergehend gesperrt" in text
    assert "Die Sperre endet automatisch nach 1 Minute." in text
    assert mailbox.link(user.email).startswith("http://localhost/recovery/unblock/")
    assert stored(user).failed_logins == 12
    assert 50 < seconds_left(user) <= 60  # further failures extend nothing
    assert db.session.query(AuditEvent).filter_by(tag="account.blocked").count() == 1


def test_blocked_account_refuses_even_the_right_password(client, user):
    fail(client, user.email, 10)
    response = login(client, user.email, PASSWORD)
    assert response.status_code == 429 and BLOCKED in response.get_data(as_text=True)
    assert client.get("/account/").status_code == 302
    assert stored(user).failed_logins == 10  # the right password is no failure


def test_each_new_block_lasts_twice_as_long_up_to_the_maximum(client, user, mailbox):
    fail(client, user.email, 10)
    assert 50 < seconds_left(user) <= 60
    expire_block(user)
    assert fail(client, user.email, 1) == [429]
    assert 110 < seconds_left(user) <= 120
    expire_block(user)
    fail(client, user.email, 1)
    assert 230 < seconds_left(user) <= 240
    assert len(blocked_mails(mailbox, user)) == 3  # one per block
    expire_block(user, failed_logins=40)
    fail(client, user.email, 1)
    assert 3590 < seconds_left(user) <= 3600


def test_after_the_block_the_right_password_works_and_resets_the_counter(client, user):
    fail(client, user.email, 10)
    expire_block(user)
    assert login(client, user.email, PASSWORD).status_code == 302
    assert stored(user).failed_logins == 0 and stored(user).blocked_until is None


def test_successful_login_resets_the_counter(client, web, user):
    assert fail(client, user.email, 9) == [401] * 9
    assert login(web.test_client(), user.email, PASSWORD).status_code == 302
    assert stored(user).failed_logins == 0
    assert fail(client, user.email, 9) == [401] * 9


def test_unblock_link_lifts_the_block(client, user, mailbox):
    fail(client, user.email, 10)
    link = path_of(mailbox.link(user.email))
    page = client.get(link)
    assert page.status_code == 200 and 'id="unblock-submit"' in page.get_data(as_text=True)
    assert stored(user).blocked_until is not None  # opening the link changes nothing
    response = client.post(link, data={"csrf_token": csrf_token(page)})
    assert response.headers["Location"] == "/recovery/unblocked"
    done = client.get("/recovery/unblocked").get_data(as_text=True)
    assert "Ihr Konto ist wieder freigegeben" in done and 'href="/login"' in done
    assert stored(user).failed_logins == 0 and stored(user).blocked_until is None
    assert db.session.query(AuditEvent).filter_by(tag="account.unblocked").count() == 1
    assert login(client, user.email, PASSWORD).status_code == 302
    again = client.post(link, data={"csrf_token": csrf_token(client.get("/login"))})
    assert again.status_code == 400 and "ungültig oder abgelaufen" in again.get_data(as_text=True)


def test_expired_unblock_link_is_refused(client, user, mailbox):
    fail(client, user.email, 10)
    link = path_of(mailbox.link(user.email))
    row = db.session.query(OneTimeToken).filter_by(purpose="unblock").one()
    row.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    assert client.get(link).status_code == 400
    assert (
        client.post(link, data={"csrf_token": csrf_token(client.get("/login"))}).status_code == 400
    )
    assert stored(user).blocked_until is not None


def test_password_reset_lifts_the_block(client, user, mailbox):
    fail(client, user.email, 10)
    page = client.get("/recovery/")
    client.post("/recovery/", data={"csrf_token": csrf_token(page), "email": user.email})
    link = path_of(mailbox.link(user.email))
    assert "/recovery/password/" in link
    form = {"csrf_token": csrf_token(page), "password": "Neues-Pferd-Batterie-2"}
    form["password_confirmation"] = form["password"]
    assert client.post(link, data=form).status_code == 302
    assert login(client, user.email, "Neues-Pferd-Batterie-2").status_code == 302


def without_secrets(response, email):
    body = response.get_data(as_text=True).replace(email, "")
    return re.sub(r'(name="csrf_token" value|nonce)="[^"]+"', "", body)


def test_unknown_address_gets_the_same_blocked_answer(client, user):
    fail(client, user.email, 9)
    assert fail(client, "niemand@example.de", 9) == [401] * 9
    known = login(client, user.email, "falsch")
    unknown = login(client, "niemand@example.de", "falsch")
    assert known.status_code == unknown.status_code == 429
    assert without_secrets(known, user.email) == without_secrets(unknown, "niemand@example.de")
    assert login(client, "NIEMAND@example.de ", PASSWORD).status_code == 429  # one spelling


PROXIED = pytest.mark.config(security=NO_RATE_LIMITS, server={"trusted_proxies": 1})


@pytest.mark.parametrize(
    "proxied", [pytest.param(False, id="spoofed"), pytest.param(True, id="proxied", marks=PROXIED)]
)
def test_changing_forwarded_for_does_not_reset_the_account_counter(client, user, proxied):
    """Behind a trusted proxy the client address really changes with every
    attempt; without one the header is ignored. The account counts either way."""
    statuses = [
        login(client, user.email, "falsch", headers={"X-Forwarded-For": f"10.0.{n}.1"}).status_code
        for n in range(10)
    ]
    assert statuses == [401] * 9 + [429]
    assert stored(user).failed_logins == 10
