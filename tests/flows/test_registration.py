"""Registration ("Konto erstellen") through HTTP with the real SMTP sink: the
form, the emailed code, existing addresses, spellings, mail outages, OIDC."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select, update

from idp import accounts
from idp.credentials import password as password_credential
from idp.mail.outbox import deliver_due
from idp.store import OneTimeToken, OutboxMessage, User, db, utcnow
from tests.support.oidc import CSRF, RID, csrf_token, query

PASSWORD = "Sonnen-Blumen-Wiese-42"
NEW = "nora.neumann@example.de"


def register(client, email=NEW, password=PASSWORD, confirm=None, rid="", page=None, **extra):
    """Fill in and send the registration form as a browser would."""
    page = page or client.get("/register/", query_string={"rid": rid} if rid else None)
    form = {
        "csrf_token": csrf_token(page),
        "rid": rid,
        "email": email,
        "given_name": "Nora",
        "family_name": "Neumann",
        "password": password,
        "password_confirm": password if confirm is None else confirm,
    }
    form.update(extra)
    return client.post("/register/", data=form)


def enter_code(client, code):
    page = client.get("/verify/")
    return client.post("/verify/", data={"csrf_token": csrf_token(page), "code": code})


def other_than(code):
    return "123456" if code != "123456" else "654321"


def find_user(email):
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def test_registration_page_has_the_fields_buttons_and_autocomplete(client):
    html = client.get("/register/").get_data(as_text=True)
    assert "Erstellen Sie Ihr Konto" in html
    assert "Mit Ihrem Kunden-ID-Konto haben Sie Zugriff auf alle Produkte und Services." in html
    for name in ("email", "given_name", "family_name", "password", "password_confirm"):
        assert f'id="{name}" name="{name}"' in html
    assert 'autocomplete="username"' in html and 'autocomplete="new-password"' in html
    assert 'id="register-submit"' in html and "Registrieren" in html
    assert 'href="/login" id="register-cancel"' in html and "Abbrechen" in html


def test_login_page_links_to_registration(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'id="register" href="/register/"' in html


def test_registration_with_the_mailed_code_signs_in_and_lands_on_onboarding(client, mailbox):
    response = register(client, email=" Nora.Neumann@Example.DE ")
    assert response.status_code == 302 and response.headers["Location"] == "/verify/"
    page = client.get("/verify/").get_data(as_text=True)
    assert "Geben Sie den Code ein, den wir an folgende Adresse gesendet haben." in page
    assert NEW in page and 'autocomplete="one-time-code"' in page
    assert 'inputmode="numeric"' in page and "Code erneut senden" in page
    mail = mailbox.last(NEW)
    assert mail["Subject"] == "Verifizieren Sie Ihre E-Mail-Adresse"
    assert find_user(NEW) is None  # nothing exists before the code
    done = enter_code(client, mailbox.code(NEW))
    assert done.status_code == 302 and done.headers["Location"] == "/onboarding/"
    assert NEW in client.get("/account/").get_data(as_text=True)
    user = find_user(NEW)
    assert user.email_verified and (user.given_name, user.family_name) == ("Nora", "Neumann")
    assert user.locale == "de" and user.password_hash.startswith("$argon2id$")
    password_credential.verify(user, PASSWORD)


def test_registration_remembers_the_interface_language(client, mailbox):
    page = client.get("/register/", query_string={"ui_locales": "en"})
    register(client, page=page)
    enter_code(client, mailbox.code(NEW))
    assert find_user(NEW).locale == "en"


def test_pending_registration_stores_no_plain_password(client, mailbox):
    register(client)
    message = db.session.scalar(select(OutboxMessage))
    row = db.session.scalar(select(OneTimeToken))
    assert PASSWORD not in str(row.payload) and row.payload["password_hash"].startswith("$argon2")
    assert message.to_address == NEW


def test_registration_inside_an_authorization_returns_to_the_relying_party(client, portal, mailbox):
    login_page = portal.follow(portal.authorize())
    link = re.search(r'id="register" href="([^"]+)"', login_page.get_data(as_text=True))
    form_page = client.get(link.group(1).replace("&amp;", "&"))
    rid = RID.search(form_page.get_data(as_text=True)).group(1)
    assert rid and f"/login?rid={rid}" in form_page.get_data(as_text=True)  # Abbrechen
    assert register(client, rid=rid, page=form_page).headers["Location"] == "/verify/"
    done = enter_code(client, mailbox.code(NEW))
    assert done.headers["Location"] == f"/authorize/continue?rid={rid}"
    callback = portal.follow(done)
    params = query(callback.headers["Location"])
    assert params["state"] == portal.state
    tokens = portal.exchange(params["code"]).json
    assert "id_token" in tokens and "access_token" in tokens


NONCE = re.compile(r'nonce="[^"]+"')


def scrub(response):
    """The body without the values that differ per request: CSRF token, CSP nonce."""
    return NONCE.sub("", CSRF.sub("", response.get_data(as_text=True)))


def test_existing_address_looks_exactly_like_a_new_one(app, web, mailbox):
    email = "anna.schmidt@example.de"
    first, second = web.test_client(), web.test_client()
    new = register(first, email=email)
    new_page = first.get("/verify/")
    sent_to_first = mailbox.code(email)
    new_wrong = enter_code(first, other_than(sent_to_first))

    accounts.create_user(email, "Korrekt-Pferd-Batterie-1", email_verified=True)
    db.session.commit()
    mailbox.messages.clear()
    old = register(second, email=email)
    old_page = second.get("/verify/")
    old_wrong = enter_code(second, other_than(sent_to_first))

    assert (new.status_code, new.headers["Location"]) == (old.status_code, old.headers["Location"])
    assert scrub(new) == scrub(old)
    assert (new_page.status_code, scrub(new_page)) == (old_page.status_code, scrub(old_page))
    assert (new_wrong.status_code, scrub(new_wrong)) == (old_wrong.status_code, scrub(old_wrong))
    attempt = mailbox.last(email)
    assert attempt["Subject"] == "Registrierungsversuch mit Ihrer E-Mail-Adresse"
    assert "http://localhost/login" in mailbox.text(attempt)
    assert len(mailbox.to(email)) == 1  # no code went out


def test_no_code_completes_a_registration_of_an_existing_address(client, user, mailbox):
    register(client, email=user.email)
    assert mailbox.to(user.email) and not re.search(
        r"\b\d{6}\b", mailbox.text(mailbox.last(user.email))
    )
    for code in ("000000", "123456", "999999"):
        assert b"Der Code ist falsch." in enter_code(client, code).data
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert client.get("/account/").status_code == 302  # not signed in


def resend(client):
    page = client.get("/verify/")
    return client.post("/verify/resend", data={"csrf_token": csrf_token(page)})


def test_resending_for_an_existing_address_looks_like_a_real_resend(client, web, user, mailbox):
    other = web.test_client()
    register(client, email=user.email)
    register(other, email="nora.neumann@example.de")
    assert scrub(resend(client)) == scrub(resend(other)).replace(NEW, user.email)
    db.session.execute(update(OneTimeToken).values(last_sent_at=utcnow() - dt.timedelta(hours=1)))
    db.session.commit()
    again, again_other = resend(client), resend(other)
    assert (again.status_code, again.headers["Location"]) == (302, "/verify/")
    assert (again_other.status_code, again_other.headers["Location"]) == (302, "/verify/")
    assert scrub(client.get("/verify/")) == scrub(other.get("/verify/")).replace(NEW, user.email)
    assert len(mailbox.to(user.email)) == 2  # two notices to the owner, never a code
    assert all("Registrierungsversuch" in m["Subject"] for m in mailbox.to(user.email))


@pytest.mark.parametrize(
    ("password", "confirm", "field", "message"),
    [
        ("kurz-1", None, "password", "mindestens 8 Zeichen"),
        (PASSWORD, PASSWORD + "x", "password_confirm", "Die Passwörter stimmen nicht überein."),
        ("password123", None, "password", "zu häufig"),
        ("Passwort1", None, "password", "zu häufig"),
        ("x" * 200, None, "password", "höchstens 128 Zeichen"),
    ],
)
def test_password_policy_errors_show_at_the_field(
    client, mailbox, password, confirm, field, message
):
    response = register(client, password=password, confirm=confirm)
    assert response.status_code == 400
    error = re.search(rf'id="{field}-error">([^<]*)<', response.get_data(as_text=True))
    assert error and message in error.group(1)
    assert NEW in response.get_data(as_text=True)  # the address is kept
    assert mailbox.messages == []


def test_two_spellings_of_one_address_make_one_account(client, web, mailbox):
    register(client, email="Anna@Example.de")
    enter_code(client, mailbox.code("anna@example.de"))
    other = web.test_client()
    for spelling in ("anna@example.de", "ＡＮＮＡ＠ｅｘａｍｐｌｅ．ｄｅ"):
        mailbox.messages.clear()
        assert register(other, email=spelling).headers["Location"] == "/verify/"
        assert "anna@example.de" in other.get("/verify/").get_data(as_text=True)
        attempt = mailbox.last("anna@example.de")
        assert attempt["Subject"] == "Registrierungsversuch mit Ihrer E-Mail-Adresse"
    count = select(func.count()).select_from(User).where(User.email == "anna@example.de")
    assert db.session.scalar(count) == 1


def test_registration_survives_a_mail_server_outage(client, mailbox):
    mailbox.refuse = True
    response = register(client)
    assert response.headers["Location"] == "/verify/"
    assert client.get("/verify/").status_code == 200
    assert mailbox.to(NEW) == []
    mailbox.refuse = False
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_address == NEW))
    assert message.sent_at is None and message.attempts == 1
    message.next_attempt_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    assert deliver_due() == 1
    done = enter_code(client, mailbox.code(NEW))
    assert done.headers["Location"] == "/onboarding/"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": ""}, "email"),
        ({"email": "keine-adresse"}, "email"),
        ({"email": "a" * 5000 + "@example.de"}, "email"),
        ({"given_name": ""}, "given_name"),
        ({"family_name": "x" * 5000}, "family_name"),
        ({"password": "", "password_confirm": ""}, "password"),
        ({"password": "y" * 5000, "password_confirm": "y" * 5000}, "password"),
    ],
)
def test_missing_or_oversized_fields_get_a_400_at_the_field(client, mailbox, changes, field):
    response = register(client, **changes)
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert mailbox.messages == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"given_name": "No\r\nra"}, "given_name"),
        ({"family_name": "Neu\nmann"}, "family_name"),
        ({"family_name": "Neu\tmann"}, "family_name"),
        ({"given_name": "Nora\u200b"}, "given_name"),  # format character (Cf)
    ],
)
def test_control_characters_in_names_get_a_400_at_the_field(client, mailbox, changes, field):
    """A line break in a name would break mail headers later (the greeting, the
    invitation's sender line): names with Unicode "C" characters are refused."""
    response = register(client, **changes)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert f'id="{field}-error"' in body and "Der Name enthält unzulässige Zeichen." in body
    assert mailbox.messages == []
    assert accounts.find_by_email(NEW) is None


def test_a_form_without_fields_gets_a_400_page(client):
    page = client.get("/register/")
    response = client.post("/register/", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 400 and b"Bitte geben Sie Ihre E-Mail-Adresse ein." in (
        response.data
    )


@pytest.mark.config(accounts={"register_limit_ip": "2 per hour"})
def test_registrations_from_one_address_are_rate_limited(client, mailbox):
    statuses = [register(client, email=f"n{i}@example.de").status_code for i in range(3)]
    assert statuses == [302, 302, 429]
