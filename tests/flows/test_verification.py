"""The shared code page: wrong tries, resend throttle, expiry, guard, bad input;
and the email change that uses it ("E-Mail-Adresse ändern")."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from idp import accounts
from idp.audit import EventTag
from idp.store import AuditEvent, OneTimeToken, User, UserStatus, db, utcnow
from tests.flows.test_registration import NEW, enter_code, other_than, register
from tests.support.oidc import csrf_token

PASSWORD = "Korrekt-Pferd-Batterie-1"
DEAD = "nicht mehr gültig"
WRONG = "Der Code ist falsch."


def code_row():
    db.session.expire_all()
    return db.session.scalars(select(OneTimeToken).order_by(OneTimeToken.id.desc())).first()


def move_back(**fields):
    """Move time: the newest code's timestamps lie further in the past."""
    row = code_row()
    for name, seconds in fields.items():
        setattr(row, name, utcnow() - dt.timedelta(seconds=seconds))
    db.session.commit()


def post(client, path, **form):
    page = client.get("/verify/")
    return client.post(path, data={"csrf_token": csrf_token(page), **form})


def sign_in(client, email, password=PASSWORD):
    page = client.get("/login")
    form = {"csrf_token": csrf_token(page), "email": email, "password": password}
    return client.post("/login", data=form)


def test_code_page_without_a_flow_redirects_to_registration_with_a_message(client):
    response = client.get("/verify/")
    assert response.status_code == 302 and response.headers["Location"] == "/register/"
    page = client.get("/register/")
    assert "Bitte beginnen Sie erneut" in page.get_data(as_text=True)
    for path in ("/verify/", "/verify/resend", "/verify/cancel"):
        response = client.post(path, data={"csrf_token": csrf_token(page), "code": "123456"})
        assert response.headers["Location"] == "/register/"


def test_five_wrong_codes_kill_the_code_even_for_the_right_one(client, mailbox):
    register(client)
    right = mailbox.code(NEW)
    texts = [enter_code(client, other_than(right)).get_data(as_text=True) for _ in range(5)]
    assert all(WRONG in t for t in texts[:4]) and DEAD in texts[4]
    response = enter_code(client, right)
    assert response.status_code == 400 and DEAD in response.get_data(as_text=True)
    assert 'id="code-restart"' in response.get_data(as_text=True)
    assert client.get("/account/").status_code == 302


def test_resend_too_soon_is_refused(client, mailbox):
    register(client)
    response = post(client, "/verify/resend")
    assert response.status_code == 429
    assert "Bitte warten Sie 60 Sekunden" in response.get_data(as_text=True)
    assert len(mailbox.to(NEW)) == 1


def test_resend_sends_a_new_code_and_the_old_one_dies(client, mailbox):
    register(client)
    old = mailbox.code(NEW)
    move_back(last_sent_at=61)
    response = post(client, "/verify/resend")
    assert response.headers["Location"] == "/verify/"
    assert "Wir haben einen neuen Code" in client.get("/verify/").get_data(as_text=True)
    new = mailbox.code(NEW)
    if new != old:
        assert WRONG in enter_code(client, old).get_data(as_text=True)
    assert enter_code(client, new).headers["Location"] == "/onboarding/"


def test_resend_keeps_the_count_of_wrong_tries(client, mailbox):
    register(client)
    for _ in range(4):
        enter_code(client, other_than(mailbox.code(NEW)))
    move_back(last_sent_at=61)
    post(client, "/verify/resend")
    fresh = mailbox.code(NEW)
    assert DEAD in enter_code(client, other_than(fresh)).get_data(as_text=True)
    assert DEAD in enter_code(client, fresh).get_data(as_text=True)
    assert code_row().attempts == 5


@pytest.mark.config(accounts={"resend_max": 3, "resend_interval": 0})
def test_resends_stop_at_resend_max(client, mailbox):
    register(client)
    statuses = [post(client, "/verify/resend").status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    last = post(client, "/verify/resend").get_data(as_text=True)
    assert "zu oft einen neuen Code angefordert" in last
    assert len(mailbox.to(NEW)) == 3


def test_expired_code_is_refused_and_a_resend_brings_a_working_one(client, mailbox):
    register(client)
    move_back(expires_at=1, last_sent_at=61)
    response = enter_code(client, mailbox.code(NEW))
    assert response.status_code == 400 and "abgelaufen" in response.get_data(as_text=True)
    post(client, "/verify/resend")
    assert enter_code(client, mailbox.code(NEW)).headers["Location"] == "/onboarding/"


@pytest.mark.parametrize("typed", ["", "abcdef", "12345", "1234567", "12a456", "٣" * 6, "9" * 5000])
def test_malformed_codes_get_a_400_and_do_not_count(client, mailbox, typed):
    register(client)
    response = enter_code(client, typed)
    assert response.status_code == 400
    assert "6-stelligen Code" in response.get_data(as_text=True)
    assert code_row().attempts == 0


def test_code_with_spaces_or_fullwidth_digits_is_accepted(client, mailbox):
    register(client)
    code = mailbox.code(NEW)
    typed = " ".join(chr(ord(d) - ord("0") + ord("０")) for d in code)
    assert enter_code(client, typed).headers["Location"] == "/onboarding/"


def test_cancel_kills_the_code_and_returns_to_the_login_page(client, mailbox):
    register(client)
    response = post(client, "/verify/cancel")
    assert response.headers["Location"] == "/login"
    assert code_row().used_at is not None
    assert client.get("/verify/").headers["Location"] == "/register/"


@pytest.mark.parametrize("path", ["/verify/", "/verify/resend", "/verify/cancel"])
def test_bad_posts_to_the_code_page_never_break_it(client, mailbox, path):
    register(client)
    token = csrf_token(client.get("/verify/"))
    for kwargs in (
        {"data": bytes(range(256)) * 4, "content_type": "application/octet-stream"},
        {"data": b"%%%=&&&=%zz\xff", "content_type": "application/x-www-form-urlencoded"},
        {"data": {"csrf_token": token, "code": "\x00" * 6}},
        {"data": {"csrf_token": token, "code": "1" * 100_000}},
        {"data": {"csrf_token": [token, token], "code": ["1", "2"]}},
    ):
        response = client.post(path, **kwargs)
        assert response.status_code < 500 and response.mimetype == "text/html"
    assert code_row().attempts == 0


def test_change_email_needs_a_signed_in_user(client):
    for method in ("GET", "POST"):
        response = client.open("/verify/change-email", method=method)
        assert response.status_code in (302, 400)
    assert client.get("/verify/change-email").headers["Location"] == "/login"


def start_change(client, new_email, password=PASSWORD):
    page = client.get("/verify/change-email")
    form = {"csrf_token": csrf_token(page), "new_email": new_email, "password": password}
    return client.post("/verify/change-email", data=form)


def test_email_change_with_the_code_moves_the_account_and_tells_the_old_address(
    client, user, mailbox
):
    sign_in(client, user.email)
    page = client.get("/verify/change-email").get_data(as_text=True)
    assert "Neue E-Mail-Adresse" in page and 'autocomplete="current-password"' in page
    response = start_change(client, "Anna.Neu@Example.de")
    assert response.headers["Location"] == "/verify/"
    assert "anna.neu@example.de" in client.get("/verify/").get_data(as_text=True)
    assert mailbox.to(user.email) == []  # the notice waits for the change
    done = enter_code(client, mailbox.code("anna.neu@example.de"))
    assert done.headers["Location"] == "/account/"
    db.session.expire_all()
    changed = db.session.get(User, user.id)
    assert changed.email == "anna.neu@example.de" and changed.email_verified
    notice = mailbox.last("anna.schmidt@example.de")
    assert "anna.neu@example.de" in mailbox.text(notice)
    tags = db.session.scalars(select(AuditEvent.tag).where(AuditEvent.user_id == user.id))
    assert str(EventTag.EMAIL_CHANGED) in list(tags)
    assert "anna.neu@example.de" in client.get("/account/").get_data(as_text=True)


def test_email_change_to_another_accounts_address_is_refused_without_a_code(client, user, mailbox):
    accounts.create_user("bernd@example.de", "Bernd-Sein-Passwort-9")
    db.session.commit()
    sign_in(client, user.email)
    response = start_change(client, "Bernd@Example.de")
    assert response.status_code == 409
    assert "Diese E-Mail-Adresse wird bereits verwendet." in response.get_data(as_text=True)
    assert start_change(client, user.email).status_code == 409
    assert mailbox.to("bernd@example.de") == [] and code_row() is None


def test_email_change_with_a_wrong_password_sends_no_code(client, user, mailbox):
    sign_in(client, user.email)
    response = start_change(client, "anna.neu@example.de", password="falsch")
    assert response.status_code == 401 and "Das Passwort ist falsch." in response.data.decode()
    assert mailbox.to("anna.neu@example.de") == []


def test_email_change_with_a_wrong_code_keeps_the_old_address(client, user, mailbox):
    sign_in(client, user.email)
    start_change(client, "anna.neu@example.de")
    response = enter_code(client, other_than(mailbox.code("anna.neu@example.de")))
    assert response.status_code == 400 and WRONG in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "anna.schmidt@example.de"
    assert mailbox.to("anna.schmidt@example.de") == []


def test_email_change_code_page_without_an_active_user_goes_to_login(client, user, mailbox):
    sign_in(client, user.email)
    start_change(client, "anna.neu@example.de")
    user.status = UserStatus.LOCKED
    db.session.commit()
    assert client.get("/verify/").headers["Location"] == "/login"
    assert client.get("/verify/").headers["Location"] == "/register/"  # the flow is gone


@pytest.mark.config(accounts={"code_limit_ip": "2 per minute"})
def test_code_entries_from_one_address_are_rate_limited(client, mailbox):
    register(client)
    wrong = other_than(mailbox.code(NEW))
    assert [enter_code(client, wrong).status_code for _ in range(3)] == [400, 400, 429]
