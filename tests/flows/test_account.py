"""Account settings ("Konto verwalten"): profile and language, password change,
sessions, deletion; driven over HTTP with a second browser where it matters."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp import accounts
from idp.profile import Device, describe_device
from idp.store import AuditEvent, BrowserSession, Consent, OneTimeToken, User, UserStatus, db
from tests.support.oidc import RelyingParty, csrf_token

EMAIL = "anna.schmidt@example.de"  # the ``user`` fixture
PASSWORD = "Korrekt-Pferd-Batterie-1"
NEW_PASSWORD = "Blauer-Wal-Tanzt-Langsam-7"
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"


def sign_in(http, email, password=PASSWORD, agent=CHROME_WINDOWS):
    page = http.get("/login")
    return http.post(
        "/login",
        data={"csrf_token": csrf_token(page), "rid": "", "email": email, "password": password},
        headers={"User-Agent": agent},
    )


def post(http, path, **form):
    """Submit a form of the settings page as the browser would, CSRF token included."""
    page = http.get("/account/")
    return http.post(path, data={"csrf_token": csrf_token(page), **form})


def profile_form(**changes):
    form = {"salutation": "frau", "given_name": "Anna", "family_name": "Schmidt", "locale": "de"}
    return {**form, **changes}


def password_form(current=PASSWORD, new=NEW_PASSWORD, confirmation=None):
    return {
        "current_password": current,
        "new_password": new,
        "new_password_confirmation": new if confirmation is None else confirmation,
    }


def tags(user_id):
    db.session.expire_all()
    return [
        e.tag for e in db.session.scalars(select(AuditEvent).where(AuditEvent.user_id == user_id))
    ]


def sessions_of(user_id):
    db.session.expire_all()
    return list(db.session.scalars(select(BrowserSession).where(BrowserSession.user_id == user_id)))


@pytest.fixture
def browser(client, user):
    """The user's browser, signed in with Chrome on Windows."""
    assert sign_in(client, user.email).status_code == 302
    return client


@pytest.fixture
def other_browser(web, user):
    """A second device of the same user: Firefox on Linux."""
    http = web.test_client()
    assert sign_in(http, user.email, agent=FIREFOX_LINUX).status_code == 302
    return http


@pytest.fixture
def other_portal(other_browser, portal_client):
    return RelyingParty(
        other_browser, "portal", "portal-secret-0123456789abcdef", "https://portal.example/cb"
    )


# -- Access and page -------------------------------------------------------------


def test_not_signed_in_is_sent_to_the_login_page(client):
    response = client.get("/account/")
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_overview_has_every_section_with_stable_ids(browser):
    html = browser.get("/account/").get_data(as_text=True)
    assert "<h1>Kunden-ID verwalten</h1>" in html
    for marker in (
        'id="salutation" name="salutation"',
        'id="given_name" name="given_name"',
        'autocomplete="family-name"',
        'id="locale" name="locale"',
        'id="account-email">anna.schmidt@example.de',
        'autocomplete="current-password"',
        'id="new_password_confirmation"',
        'id="session-list"',
        'id="delete-account"',
        'id="footer-account"',
    ):
        assert marker in html, marker
    assert 'action="/account/profile"' in html and 'action="/account/password"' in html


def test_discovery_advertises_the_account_page(client):
    meta = client.get("/.well-known/openid-configuration").json
    assert meta["account_management_uri"] == "http://localhost/account/"


@pytest.mark.parametrize(
    "path", ["/account/profile", "/account/password", "/account/sessions/end-others"]
)
def test_form_without_csrf_token_is_refused(browser, path):
    response = browser.post(path, data=profile_form())
    assert response.status_code == 400 and b"Sitzung abgelaufen" in response.data


# -- Profile and language ----------------------------------------------------------


def test_profile_change_is_saved_and_reaches_a_new_tokens_userinfo(browser, user, portal):
    form = profile_form(salutation="divers", given_name="Anne", family_name="Schmidt-Berg")
    response = post(browser, "/account/profile", **form)
    assert response.status_code == 302 and response.headers["Location"] == "/account/#profile"
    assert "Ihre Änderungen wurden gespeichert." in browser.get("/account/").get_data(as_text=True)
    db.session.expire_all()
    saved = db.session.get(User, user.id)
    assert (saved.salutation, saved.given_name, saved.family_name) == (
        "divers",
        "Anne",
        "Schmidt-Berg",
    )
    assert "profile.changed" in tags(user.id)
    tokens = portal.tokens_for(user.email, PASSWORD)
    info = browser.get("/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert info.json["name"] == "Anne Schmidt-Berg" and info.json["given_name"] == "Anne"


def test_no_salutation_is_stored_as_none(browser, user):
    post(browser, "/account/profile", **profile_form(salutation=""))
    db.session.expire_all()
    assert db.session.get(User, user.id).salutation is None


def test_switching_to_english_changes_the_page_language(browser, user):
    response = post(browser, "/account/profile", **profile_form(locale="en"))
    assert response.status_code == 302
    page = browser.get("/account/", headers={"Accept-Language": "de"})
    assert b'<html lang="en">' in page.data and b"Sign out" in page.data
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "en"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"salutation": "dr"}, "salutation"),
        ({"locale": "fr"}, "locale"),
        ({"given_name": "A" * 101}, "given_name"),
        ({"family_name": "x" * 20_000}, "family_name"),
        ({"given_name": "   "}, "given_name"),
        ({"family_name": "Sch\u0007midt"}, "family_name"),
    ],
)
def test_bad_profile_input_is_a_400_page_with_the_error_at_the_field(browser, user, changes, field):
    response = post(browser, "/account/profile", **profile_form(**changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{field}-error"' in html
    db.session.expire_all()
    assert db.session.get(User, user.id).given_name == "Anna"


def test_missing_profile_fields_are_a_400_page_not_a_crash(browser):
    assert post(browser, "/account/profile").status_code == 400


# -- Password --------------------------------------------------------------------


def test_wrong_current_password_is_refused_at_the_field(browser, user, mailbox):
    response = post(browser, "/account/password", **password_form(current="falsch"))
    assert response.status_code == 400
    assert "Das aktuelle Passwort ist falsch." in response.get_data(as_text=True)
    assert 'id="current_password-error"' in response.get_data(as_text=True)
    assert mailbox.to(user.email) == []
    assert "login.failed" not in tags(user.id)


@pytest.mark.parametrize(
    ("new", "confirmation", "message"),
    [
        ("kurz", None, "mindestens 8 Zeichen"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "stimmen nicht überein"),
        ("password123", None, "zu häufig"),
        (PASSWORD, None, "vom aktuellen unterscheiden"),
    ],
)
def test_new_password_breaking_the_policy_is_refused(browser, user, new, confirmation, message):
    response = post(
        browser, "/account/password", **password_form(new=new, confirmation=confirmation)
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and 'id="new_password-error"' in html
    assert sign_in(browser, user.email, PASSWORD).status_code == 302


def test_password_change_keeps_this_session_ends_the_others_and_sends_a_notice(
    browser, other_browser, user, mailbox
):
    response = post(browser, "/account/password", **password_form())
    assert response.status_code == 302 and response.headers["Location"] == "/account/#password"
    assert "Ihr Passwort wurde geändert." in browser.get("/account/").get_data(as_text=True)
    assert other_browser.get("/account/").status_code == 302
    assert len(sessions_of(user.id)) == 1
    notice = mailbox.last(user.email)
    assert notice["Subject"] == "Ihr Passwort wurde geändert"
    assert "http://localhost/" in mailbox.text(notice)
    assert "password.changed" in tags(user.id)
    db.session.expire_all()
    assert db.session.get(User, user.id).password_changed_at is not None


def test_after_a_password_change_only_the_new_password_signs_in(web, browser, user):
    post(browser, "/account/password", **password_form())
    fresh = web.test_client()
    assert sign_in(fresh, user.email, PASSWORD).status_code == 401
    assert sign_in(fresh, user.email, NEW_PASSWORD).status_code == 302


def test_password_change_revokes_the_tokens_of_other_sessions_only(
    browser, user, portal, other_portal
):
    mine = portal.tokens_for(user.email, PASSWORD)
    theirs = other_portal.tokens_for(user.email, PASSWORD)
    post(browser, "/account/password", **password_form())
    assert other_portal.refresh(theirs["refresh_token"]).json["error"] == "invalid_grant"
    assert portal.refresh(mine["refresh_token"]).status_code == 200


@pytest.mark.config(security={"login_limit_account": "2 per minute"})
def test_password_checks_are_rate_limited_per_account(browser):
    statuses = [
        post(browser, "/account/password", **password_form(current="falsch")).status_code
        for _ in range(3)
    ]
    assert statuses == [400, 400, 429]


# -- Sessions --------------------------------------------------------------------


def test_sessions_list_shows_both_devices_and_marks_this_one(browser, other_browser):
    html = browser.get("/account/").get_data(as_text=True)
    table = html[html.index('id="session-list"') : html.index("</table>")]
    assert "Chrome unter Windows" in table and "Firefox unter Linux" in table
    assert "Diese Sitzung" in table and "127.0.0.1" in table
    assert "vor 1 Minute" in table
    assert table.count('id="end-session-') == 1  # this session ends through "Abmelden"
    assert 'id="end-other-sessions"' in html


def other_sid(user_id, browser_session_digest):
    return next(s.sid for s in sessions_of(user_id) if s.id != browser_session_digest)


def this_session(http, user_id):
    from idp.store import digest

    return digest(http.get_cookie("idp_session").value)


def test_signing_out_one_other_session_ends_it_and_revokes_its_tokens(
    browser, other_browser, user, other_portal
):
    theirs = other_portal.tokens_for(user.email, PASSWORD)
    sid = other_sid(user.id, this_session(browser, user.id))
    response = post(browser, f"/account/sessions/{sid}/end")
    assert response.status_code == 302 and response.headers["Location"] == "/account/#sessions"
    assert other_browser.get("/account/").status_code == 302
    assert browser.get("/account/").status_code == 200
    assert other_portal.refresh(theirs["refresh_token"]).json["error"] == "invalid_grant"
    assert "session.ended" in tags(user.id)


def test_signing_out_everywhere_else_keeps_only_this_session(web, browser, other_browser, user):
    third = web.test_client()
    sign_in(third, user.email, agent="curl/8.5.0")
    response = post(browser, "/account/sessions/end-others")
    assert response.status_code == 302
    assert "Sie wurden überall sonst abgemeldet." in browser.get("/account/").get_data(as_text=True)
    assert other_browser.get("/account/").status_code == 302
    assert third.get("/account/").status_code == 302
    assert [s.id for s in sessions_of(user.id)] == [this_session(browser, user.id)]


def test_someone_elses_or_an_unknown_session_id_is_not_found(web, browser, user):
    accounts.create_user("ben@example.de", PASSWORD, given_name="Ben", family_name="Berg")
    db.session.commit()
    ben = web.test_client()
    sign_in(ben, "ben@example.de")
    ben_user = accounts.find_by_email("ben@example.de")
    bens_sid = sessions_of(ben_user.id)[0].sid
    own_sid = sessions_of(user.id)[0].sid
    for sid in (bens_sid, own_sid, "nope", "x" * 300):
        assert post(browser, f"/account/sessions/{sid}/end").status_code == 404, sid
    assert ben.get("/account/").status_code == 200


# -- Deletion --------------------------------------------------------------------


def delete_account(http, password=PASSWORD, confirm="y"):
    page = http.get("/account/delete")
    form = {"csrf_token": csrf_token(page), "password": password}
    if confirm:
        form["confirm"] = confirm
    return http.post("/account/delete", data=form)


def test_deletion_page_asks_for_password_and_confirmation(browser):
    html = browser.get("/account/delete").get_data(as_text=True)
    assert 'id="password" name="password" type="password"' in html
    assert 'id="confirm" name="confirm" type="checkbox"' in html
    assert 'id="delete-submit"' in html


@pytest.mark.parametrize(
    ("password", "confirm", "field"), [("falsch", "y", "password"), (PASSWORD, None, "confirm")]
)
def test_deletion_needs_the_right_password_and_the_tick(browser, user, password, confirm, field):
    response = delete_account(browser, password, confirm)
    assert response.status_code == 400 and f'id="{field}-error"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).status == UserStatus.ACTIVE


def test_deleted_account_is_signed_out_everywhere_and_its_tokens_revoked(
    web, browser, other_browser, user, portal, mailbox
):
    tokens = portal.tokens_for(EMAIL, PASSWORD)
    response = delete_account(browser)
    assert response.status_code == 200
    assert "Ihr Konto wurde gelöscht" in response.get_data(as_text=True)
    assert browser.get("/account/").status_code == 302
    assert other_browser.get("/account/").status_code == 302
    assert portal.refresh(tokens["refresh_token"]).json["error"] == "invalid_grant"
    info = web.test_client().get(
        "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}
    )
    assert info.status_code == 401
    assert sign_in(web.test_client(), EMAIL).status_code == 401
    assert mailbox.last(EMAIL)["Subject"] == "Ihr Konto wurde gelöscht"


def test_deletion_scrubs_personal_data_but_keeps_the_audit_subject(browser, user, portal):
    portal.tokens_for(EMAIL, PASSWORD)
    sub = user.sub
    delete_account(browser)
    db.session.expire_all()
    gone = db.session.get(User, user.id)
    assert gone.status == UserStatus.DELETED and gone.sub == sub
    assert gone.email == f"deleted-{user.id}@invalid" and gone.password_hash is None
    assert (gone.given_name, gone.family_name, gone.phone_number, gone.address) == (None,) * 4
    assert db.session.scalars(select(Consent).where(Consent.user_id == user.id)).all() == []
    assert (
        db.session.scalars(select(OneTimeToken).where(OneTimeToken.user_id == user.id)).all() == []
    )
    assert "account.deleted" in tags(user.id) and "user.created" in tags(user.id)


def test_deleted_accounts_address_is_free_for_a_new_account(web, browser, user):
    delete_account(browser)
    db.session.expire_all()
    again = accounts.create_user(EMAIL, NEW_PASSWORD, given_name="Anna", family_name="Neu")
    db.session.commit()
    assert again.sub != user.sub
    assert sign_in(web.test_client(), EMAIL, NEW_PASSWORD).status_code == 302


@pytest.mark.config(security={"login_limit_account": "2 per minute"})
def test_deletion_password_checks_are_rate_limited(browser):
    statuses = [delete_account(browser, "falsch").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]


def test_deletion_without_csrf_token_is_refused(browser, user):
    response = browser.post("/account/delete", data={"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(User, user.id).status == UserStatus.ACTIVE


# -- Device summary ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        (CHROME_WINDOWS, Device("Chrome", "Windows")),
        (FIREFOX_LINUX, Device("Firefox", "Linux")),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
            Device("Edge", "Windows"),
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.4 Safari/605.1.15",
            Device("Safari", "macOS"),
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
            Device("Safari", "iOS"),
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
            "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
            Device("Samsung Internet", "Android"),
        ),
        (
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0.0.0 Mobile Safari/537.36",
            Device("Chrome", "Android"),
        ),
        (
            "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0.0.0 Safari/537.36 OPR/109.0.0.0",
            Device("Opera", "ChromeOS"),
        ),
        (
            "Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko",
            Device("Internet Explorer", "Windows"),
        ),
        ("curl/8.5.0", Device(None, None)),
        ("", Device(None, None)),
        (None, Device(None, None)),
    ],
)
def test_user_agent_summary_names_browser_and_system(agent, expected):
    assert describe_device(agent) == expected


def test_unknown_device_is_shown_as_such(web, browser, user):
    sign_in(web.test_client(), user.email, agent="curl/8.5.0")
    assert "Unbekanntes Gerät" in browser.get("/account/").get_data(as_text=True)


def test_language_link_on_a_rejected_form_leads_back_to_the_overview(browser):
    html = post(browser, "/account/password", **password_form(current="falsch")).get_data(
        as_text=True
    )
    assert 'href="/account/password?ui_locales=en"' in html
    response = browser.get("/account/password?ui_locales=en")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/?ui_locales=en"
    assert b'<html lang="en">' in browser.get(response.headers["Location"]).data


def test_posting_while_signed_out_leads_to_the_login_page(client, user):
    page = client.get("/login")
    response = client.post(
        "/account/profile", data={"csrf_token": csrf_token(page), **profile_form()}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/login"


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/account/profile", {**profile_form(), "given_name": ["Anna", "Eva"]}),
        ("/account/profile", profile_form(given_name="An\x00na")),
        ("/account/password", password_form(current="x" * 5000, new="y" * 5000)),
        ("/account/delete", {"password": "ä" * 3000, "confirm": "maybe"}),
        ("/account/sessions/%00/end", {}),
        ("/account/sessions/..%2F..%2Fetc/end", {}),
    ],
)
def test_odd_input_gets_a_page_never_a_crash(browser, user, path, form):
    response = post(browser, path, **form)
    assert response.status_code in (302, 400, 404)  # two names: the first counts
    assert "Traceback" not in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).status == UserStatus.ACTIVE
