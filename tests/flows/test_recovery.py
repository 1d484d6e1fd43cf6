"""Password reset by emailed link: same answer for every address, single-use links
bound to purpose, lifetime and password; a reset ends every session and token."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest

from idp import tokens
from idp.credentials.password import hash_password
from idp.store import AuditEvent, BrowserSession, OneTimeToken, User, db, utcnow
from idp.tokens import Purpose
from tests.support.oidc import RID, csrf_token

PASSWORD = "Korrekt-Pferd-Batterie-1"
NEW_PASSWORD = "Neues-Pferd-Batterie-2"
DEAD = "Dieser Link ist ungültig oder abgelaufen."


def request_link(client, email, rid="", **kwargs):
    page = client.get("/recovery/", query_string={"rid": rid} if rid else None, **kwargs)
    form = {"csrf_token": csrf_token(page), "rid": rid, "email": email}
    return client.post("/recovery/", data=form, **kwargs)


def path_of(link):
    parts = urlsplit(link)
    return parts.path + ("?" + parts.query if parts.query else "")


def set_password(client, link, password, confirmation=None):
    form = {
        "csrf_token": csrf_token(client.get("/recovery/")),
        "password": password,
        "password_confirmation": password if confirmation is None else confirmation,
    }
    return client.post(path_of(link), data=form)


def reset_link(client, mailbox, user):
    assert request_link(client, user.email).status_code == 302
    return mailbox.link(user.email)


def login(client, email, password):
    form = {"csrf_token": csrf_token(client.get("/login")), "email": email, "password": password}
    return client.post("/login", data=form)


def without_tokens(body):
    """A page without its per-request secrets (CSRF token, CSP nonce)."""
    return re.sub(rb'(name="csrf_token" value|nonce)="[^"]+"', b"", body)


def test_start_page_shows_the_texts_of_the_manual(client):
    html = client.get("/recovery/").get_data(as_text=True)
    assert "Haben Sie Ihr Passwort vergessen?" in html
    assert "Sie erhalten die E-Mail zum Zurücksetzen Ihres Passworts nur, wenn Ihr Konto" in html
    assert 'id="email" name="email" type="email"' in html and 'autocomplete="email"' in html
    assert 'id="recovery-submit"' in html and "E-Mail senden" in html
    assert 'href="/login" id="recovery-cancel"' in html and "Abbrechen" in html


def test_login_page_links_to_the_reset(client):
    assert 'id="forgot-password" href="/recovery/"' in client.get("/login").get_data(as_text=True)


def test_reset_by_mail_link_sets_the_new_password(client, user, mailbox):
    response = request_link(client, user.email)
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "Verwenden Sie den Link aus der E-Mail" in client.get("/login").get_data(as_text=True)
    mail = mailbox.last(user.email)
    assert mail["Subject"] == "Ihr Passwort zurücksetzen"
    assert "Sie haben uns eine Anfrage zum Ändern des Passworts" in mailbox.text(mail)
    form = client.get(path_of(mailbox.link(user.email))).get_data(as_text=True)
    assert "Ein neues Passwort erstellen" in form and user.email in form
    assert form.count('autocomplete="new-password"') == 2 and 'id="reset-submit"' in form
    done = set_password(client, mailbox.link(user.email), NEW_PASSWORD)
    assert done.headers["Location"] == "/recovery/password-changed"
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Passwort geändert!" in page and 'href="/login" id="reset-continue"' in page
    assert client.get("/account/").status_code == 302  # not signed in by the reset
    assert mailbox.last(user.email)["Subject"] == "Ihr Passwort wurde geändert"
    assert login(client, user.email, PASSWORD).status_code == 401
    assert login(client, user.email, NEW_PASSWORD).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).password_changed_at is not None
    assert db.session.query(AuditEvent).filter_by(tag="password.reset").count() == 1


def test_reset_ends_every_session_and_revokes_tokens(client, web, user, portal, mailbox):
    issued = portal.tokens_for(user.email, PASSWORD)  # signs ``client`` in as well
    other = web.test_client()
    assert login(other, user.email, PASSWORD).status_code == 302
    link = reset_link(client, mailbox, user)
    assert set_password(client, link, NEW_PASSWORD).status_code == 302
    assert client.get("/account/").status_code == 302
    assert other.get("/account/").status_code == 302
    assert portal.refresh(issued["refresh_token"]).json["error"] == "invalid_grant"


def test_reset_in_the_signed_in_browser_after_a_pause_signs_it_out(client, user, mailbox):
    assert login(client, user.email, PASSWORD).status_code == 302
    link = reset_link(client, mailbox, user)
    form = {"csrf_token": csrf_token(client.get("/recovery/")), "password": NEW_PASSWORD}
    form["password_confirmation"] = NEW_PASSWORD
    pause = utcnow() - dt.timedelta(minutes=5)  # the session row is due for a touch
    db.session.query(BrowserSession).update({"last_seen_at": pause})
    db.session.commit()
    assert client.post(path_of(link), data=form).status_code == 302
    assert client.get("/account/").status_code == 302
    assert db.session.query(BrowserSession).filter_by(user_id=user.id).count() == 0


def test_known_and_unknown_address_get_the_same_answer(web, user, mailbox):
    answers = []
    for email in (user.email, "niemand@example.de"):
        browser = web.test_client()
        response = request_link(browser, email)
        page = browser.get(response.headers["Location"])
        answers.append((response.status_code, response.headers["Location"], page.status_code))
        answers.append(without_tokens(page.data))
    assert answers[0] == answers[2] and answers[1] == answers[3]
    assert len(mailbox.to(user.email)) == 1 and mailbox.to("niemand@example.de") == []


def test_reset_link_works_only_once(client, user, mailbox):
    link = reset_link(client, mailbox, user)
    assert set_password(client, link, NEW_PASSWORD).status_code == 302
    again = set_password(client, link, "Noch-ein-Pferd-Batterie-3")
    assert again.status_code == 400 and DEAD in again.get_data(as_text=True)
    assert client.get(path_of(link)).status_code == 400


def test_opening_the_link_does_not_use_it(client, user, mailbox):
    link = reset_link(client, mailbox, user)
    assert client.get(path_of(link)).status_code == 200
    assert client.get(path_of(link)).status_code == 200  # a mail scanner came first
    assert set_password(client, link, NEW_PASSWORD).status_code == 302


def test_expired_reset_link_is_refused(client, user, mailbox):
    link = reset_link(client, mailbox, user)
    row = db.session.query(OneTimeToken).filter_by(purpose="password_reset").one()
    row.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    response = set_password(client, link, NEW_PASSWORD)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and DEAD in page and 'id="request-new-link"' in page
    assert login(client, user.email, PASSWORD).status_code == 302


@pytest.mark.config(accounts={"reset_link_lifetime": 600})
def test_reset_link_lifetime_comes_from_the_config(client, user, mailbox):
    reset_link(client, mailbox, user)
    row = db.session.query(OneTimeToken).filter_by(purpose="password_reset").one()
    assert abs((row.expires_at - utcnow()).total_seconds() - 600) < 30
    assert "10 Minuten gültig" in mailbox.text(mailbox.last(user.email))


def test_reset_link_dies_when_the_password_changes(client, user, mailbox):
    link = reset_link(client, mailbox, user)
    db.session.get(User, user.id).password_hash = hash_password("Anders-Gesetzt-Pferd-7")
    db.session.commit()  # changed elsewhere, e.g. in the account settings
    assert client.get(path_of(link)).status_code == 400
    assert set_password(client, link, NEW_PASSWORD).status_code == 400


def test_a_newer_link_replaces_the_older_one(client, user, mailbox):
    first = reset_link(client, mailbox, user)
    second = reset_link(client, mailbox, user)
    assert first != second
    assert set_password(client, first, NEW_PASSWORD).status_code == 400
    assert set_password(client, second, NEW_PASSWORD).status_code == 302


def test_links_are_bound_to_their_purpose(client, user):
    _, unblock_token = tokens.issue_link(Purpose.UNBLOCK, user, lifetime=3600)
    _, reset_token = tokens.issue_link(Purpose.PASSWORD_RESET, user, lifetime=3600)
    db.session.commit()
    assert client.get(f"/recovery/password/{unblock_token}").status_code == 400
    assert (
        set_password(client, f"/recovery/password/{unblock_token}", NEW_PASSWORD).status_code == 400
    )
    assert client.get(f"/recovery/unblock/{reset_token}").status_code == 400
    assert client.get(f"/recovery/password/{reset_token}").status_code == 200


@pytest.mark.parametrize(
    ("password", "confirmation", "message"),
    [
        ("kurz", "kurz", "mindestens 8 Zeichen"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "stimmen nicht überein"),
        ("password123", "password123", "zu häufig"),
        ("x" * 5000, "x" * 5000, "höchstens 128 Zeichen"),
        ("", "", "mindestens 8 Zeichen"),
    ],
)
def test_policy_errors_show_at_the_field_and_keep_the_link(
    client, user, mailbox, password, confirmation, message
):
    link = reset_link(client, mailbox, user)
    response = set_password(client, link, password, confirmation)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and message in html and 'id="password-error"' in html
    assert set_password(client, link, NEW_PASSWORD).status_code == 302


def test_rid_is_kept_through_the_reset_to_the_application(client, user, portal, mailbox):
    login_page = portal.follow(portal.authorize())
    rid = RID.search(login_page.get_data(as_text=True)).group(1)
    assert f"/recovery/?rid={rid}" in login_page.get_data(as_text=True)
    assert request_link(client, user.email, rid).headers["Location"] == f"/login?rid={rid}"
    link = mailbox.link(user.email)
    assert f"rid={rid}" in link
    done = client.get(set_password(client, link, NEW_PASSWORD).headers["Location"])
    assert f'href="/login?rid={rid}"' in done.get_data(as_text=True)
    response = portal.follow(
        portal.submit_login(client.get(f"/login?rid={rid}"), user.email, NEW_PASSWORD)
    )
    assert response.headers["Location"].startswith(portal.redirect_uri)


def test_mail_links_point_at_the_issuer_whatever_the_host_header(client, user, mailbox):
    response = request_link(client, user.email, base_url="http://evil.example")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert mailbox.link(user.email).startswith("http://localhost/recovery/password/")


@pytest.mark.config(accounts={"reset_limit_ip": "2 per minute"})
def test_reset_requests_are_rate_limited_per_client_address(client, user):
    statuses = [request_link(client, f"n{n}@example.de").status_code for n in range(3)]
    assert statuses == [302, 302, 429]


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"email": ""},
        {"email": "kein-at-zeichen"},
        {"email": "a" * 5000 + "@example.de"},
        {"email": "anna@example.de", "rid": "../../etc" + "x" * 3000},
        {"email": ["a@example.de", "b@example.de"]},
    ],
)
def test_odd_reset_requests_get_a_page_not_a_crash(client, user, form):
    response = client.post(
        "/recovery/", data={"csrf_token": csrf_token(client.get("/recovery/")), **form}
    )
    assert response.status_code in (302, 400)


@pytest.mark.parametrize("prefix", ["/recovery/password/", "/recovery/unblock/"])
@pytest.mark.parametrize("token", ["x", "a" * 5000, "%00", "%ff%fe", "%20", "null"])
def test_garbage_links_get_the_dead_link_page(client, user, prefix, token):
    for response in (client.get(prefix + token), set_password(client, prefix + token, "x")):
        assert response.status_code == 400 and DEAD in response.get_data(as_text=True)


def test_a_slash_in_the_token_is_not_found(client):
    assert client.get("/recovery/password/..%2F..%2Flogin").status_code == 404


def test_reset_post_without_csrf_token_is_refused(client, user, mailbox):
    link = reset_link(client, mailbox, user)
    response = client.post(path_of(link), data={"password": NEW_PASSWORD})
    assert response.status_code == 400 and b"Sitzung abgelaufen" in response.data
    assert set_password(client, link, NEW_PASSWORD).status_code == 302
