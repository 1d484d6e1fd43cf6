"""Benutzerverwaltung (manual, chapter 3) through the portal, against the
provider's administration API: the list, permissions, lock/unlock, approve,
delete, change log; API refusals as messages; 403 for everyone but admins."""

from __future__ import annotations

import re
from typing import Any

import pytest

from idp import accounts
from idp.store import Membership, User, db
from tests.portal.conftest import NUMBER, PASSWORD, Browser


def rows(html: str) -> list[str]:
    """E-mail addresses of the user table's rows, top to bottom."""
    return re.findall(r'<tr data-email="([^"]+)"', html)


def row(html: str, email: str) -> str:
    match = re.search(rf'<tr data-email="{re.escape(email)}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {email}"
    return match.group(1)


def checked(html: str) -> list[str]:
    return sorted(re.findall(r'value="([a-z_]+)" id="perm-[a-z_]+" checked', html))


def stored_permissions(provider: Any, sub: str) -> list[str]:
    with provider.app.app_context():
        user = db.session.query(User).filter_by(sub=sub).one()
        found = db.session.query(Membership).filter_by(user_id=user.id).one()
        permissions = sorted(found.permissions)
        db.session.remove()
        return permissions


@pytest.fixture
def admin(browser: Browser, company: Any) -> Browser:
    browser.sign_in("anna.schmidt@example.de")
    return browser


ADMIN_PAGES = [
    ("get", "/users/"),
    ("get", "/users/new"),
    ("post", "/users/new"),
    ("get", "/users/new/permissions"),
    ("get", "/users/{sub}/permissions"),
    ("post", "/users/{sub}/permissions"),
    ("get", "/users/{sub}/lock"),
    ("post", "/users/{sub}/lock"),
    ("post", "/users/{sub}/unlock"),
    ("post", "/users/{sub}/activate"),
    ("post", "/users/{sub}/delete"),
    ("post", "/users/{sub}/resign"),
    ("get", "/users/{sub}/changelog"),
]


@pytest.mark.parametrize("email", ["bernd.mueller@example.de", "clara.wagner@example.de"])
def test_every_user_management_url_is_refused_to_non_admins(browser, company, provider, email):
    browser.sign_in(email)
    for method, path in ADMIN_PAGES:
        browser.get("/")  # a page with a valid CSRF token
        url = path.format(sub=company.anna)
        page = browser.get(url) if method == "get" else browser.post(url, {"permissions": "shop"})
        assert page.status_code == 403, (method, url)
        assert "Kein Zugriff" in page.text
    assert stored_permissions(provider, company.anna) != ["shop"]


def test_list_shows_the_manual_columns_and_actions_by_status(admin, company):
    page = admin.get("/users/")
    for heading in ("Name", "E-Mail-Adresse", "Letzte Anmeldung", "Status", "Rolle", "Verwaltung"):
        assert f'<th scope="col">{heading}</th>' in page.text
    assert sorted(rows(page.text)) == [
        "anna.schmidt@example.de",
        "bernd.mueller@example.de",
        "clara.wagner@example.de",
    ]
    assert "1 bis 3 von 3 Einträgen" in page.text and "10 Einträge" not in page.text
    bernd = row(page.text, "bernd.mueller@example.de")
    assert "Aktiv" in bernd and "Mitarbeiter" in bernd and "Benutzer sperren" in bernd
    clara = row(page.text, "clara.wagner@example.de")
    assert "Ausstehend" in clara and "Freischalten" in clara and "sperren" not in clara
    anna = row(page.text, "anna.schmidt@example.de")
    assert "Administrator" in anna and "löschen" not in anna and "sperren" not in anna


def test_search_page_size_and_paging(admin, company, provider):
    with provider.app.app_context():
        from tests.portal.conftest import _member

        for n in range(9):
            user = accounts.create_user(
                f"azubi{n}@example.de", PASSWORD, given_name="Azubi", family_name=f"Nr{n}"
            )
            _member(user, "employee", "active", [])
        db.session.commit()
        db.session.remove()
    first = admin.get("/users/")
    assert len(rows(first.text)) == 10 and "1 bis 10 von 12 Einträgen" in first.text
    assert 'href="/users/?page=2&amp;per_page=10" rel="next">Nächste' in first.text
    second = admin.get("/users/?page=2&per_page=10")
    assert len(rows(second.text)) == 2 and "11 bis 12 von 12 Einträgen" in second.text
    everyone = admin.get("/users/?per_page=25")
    assert len(rows(everyone.text)) == 12 and '<option value="25" selected>' in everyone.text
    found = admin.get("/users/?search=bernd")
    assert rows(found.text) == ["bernd.mueller@example.de"] and 'value="bernd"' in found.text
    nothing = admin.get("/users/?search=niemand")
    assert "Keine Einträge gefunden." in nothing.text and "0 bis 0 von 0" in nothing.text
    odd = admin.get("/users/?per_page=7&page=abc")
    assert odd.status_code == 200 and len(rows(odd.text)) == 10


def test_group_buttons_tick_without_saving_and_save_stores_the_whole_set(admin, company, provider):
    page = admin.get(f"/users/{company.bernd}/permissions")
    assert checked(page.text) == ["licenses"]
    labels = re.findall(r'id="perm-[a-z_]+"(?: checked)?> ([^<]+)</label>', page.text)
    assert labels[:4] == [
        "Bestell-Service Cloud",
        "Kündigen",
        "Mein HR Lohnabrechnung Service",
        "Meine Belege",
    ]
    assert labels[4:8] == [
        "Meine Lizenzen",
        "Namens- und Adressänderung",
        "Sage Shop",
        "Zahlungsmethoden",
    ]
    ticked = admin.post(
        f"/users/{company.bernd}/permissions",
        {"permissions": ["licenses", "documents"], "group_action": "check:Meine Daten"},
    )
    assert checked(ticked.text) == [
        "documents",
        "licenses",
        "master_data",
        "payment_methods",
        "shop",
    ]
    assert stored_permissions(provider, company.bernd) == ["licenses"]  # not saved yet
    cleared = admin.post(
        f"/users/{company.bernd}/permissions",
        {"permissions": ["documents", "shop"], "group_action": "uncheck:Meine Daten"},
    )
    assert checked(cleared.text) == ["documents"]
    saved = admin.post(f"/users/{company.bernd}/permissions", {"permissions": ["documents"]})
    assert saved.url.endswith("/users/") and "Die Berechtigungen wurden gespeichert." in saved.text
    assert stored_permissions(provider, company.bernd) == ["documents"]


def test_lock_and_unlock_with_confirmation_pages(admin, company):
    confirm = admin.get(f"/users/{company.bernd}/lock")
    assert "kein Login mehr möglich" in confirm.text
    assert "Die Sperre gilt sofort" in confirm.text and "bernd.mueller@example.de" in confirm.text
    assert f"<dd>{NUMBER}</dd>" in confirm.text
    locked = admin.post(f"/users/{company.bernd}/lock")
    assert "Der Benutzer wurde gesperrt." in locked.text
    bernd = row(locked.text, "bernd.mueller@example.de")
    assert "Gesperrt" in bernd and "Benutzer entsperren" in bernd
    admin.get(f"/users/{company.bernd}/unlock")
    unlocked = admin.post(f"/users/{company.bernd}/unlock")
    assert "Der Benutzer wurde entsperrt." in unlocked.text
    assert "Aktiv" in row(unlocked.text, "bernd.mueller@example.de")


def test_approving_a_pending_user_leads_to_the_permissions_page(admin, company):
    admin.get(f"/users/{company.clara}/activate")
    page = admin.post(f"/users/{company.clara}/activate")
    assert page.url.endswith(f"/users/{company.clara}/permissions")
    assert "Der Benutzer wurde freigeschaltet." in page.text and "<dd>Aktiv</dd>" in page.text


def test_delete_after_confirmation(admin, company):
    confirm = admin.get(f"/users/{company.bernd}/delete")
    assert "z.B. bei Mitarbeiteraustritt" in confirm.text
    done = admin.post(f"/users/{company.bernd}/delete")
    assert "Der Benutzer wurde gelöscht." in done.text
    assert "bernd.mueller@example.de" not in rows(done.text)


def test_change_log_shows_each_step_with_the_administrator_as_actor(admin, company):
    admin.get(f"/users/{company.bernd}/permissions")
    admin.post(f"/users/{company.bernd}/permissions", {"permissions": ["documents"]})
    admin.get(f"/users/{company.bernd}/lock")
    admin.post(f"/users/{company.bernd}/lock")
    log = admin.get(f"/users/{company.bernd}/changelog")
    for heading in ("Datum", "Kategorie", "Details", "Benutzer"):
        assert f'<th scope="col">{heading}</th>' in log.text
    cells = re.findall(r"<tr>\s*<td[^>]*>([^<]*)</td>\s*<td[^>]*>([^<]*)</td>", log.text)
    assert len(cells) >= 3 and all(
        re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", d) for d, _ in cells
    )
    assert log.text.count(">Anna Schmidt</td>") >= 2
    assert "Benutzer gesperrt" in log.text
    searched = admin.get(f"/users/{company.bernd}/changelog?search=gesperrt")
    assert "1 bis 1 von 1 Einträgen" in searched.text


def test_api_refusals_are_messages_not_errors(admin, company):
    admin.get("/users/")
    own = admin.post(f"/users/{company.anna}/lock")  # the page offers no such link
    assert own.status_code == 200 and own.url.endswith("/users/")
    assert 'class="alert alert-error"' in own.text
    admin.get("/users/")
    resign = admin.post(f"/users/{company.anna}/resign")  # the only administrator
    assert resign.url.endswith("/users/") and 'class="alert alert-error"' in resign.text
    missing = admin.get("/users/0000000000000000/permissions")
    assert missing.url.endswith("/users/") and "Der Benutzer wurde nicht gefunden." in missing.text
    admin.get("/users/")
    again = admin.post(f"/users/{company.clara}/unlock")  # not locked: 409
    assert again.url.endswith("/users/") and 'class="alert alert-error"' in again.text


def test_user_management_forms_need_the_csrf_token(admin, company, provider):
    admin.get(f"/users/{company.bernd}/lock")
    assert admin.post(f"/users/{company.bernd}/lock", csrf=False).status_code == 400
    assert "Aktiv" in row(admin.get("/users/").text, "bernd.mueller@example.de")
