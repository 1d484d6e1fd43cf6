"""German first, English complete: every message is translated and compiled."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "translations" / "en" / "LC_MESSAGES"
METHODS = [("idp/**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]


def source_messages() -> set[str]:
    keywords = {"_": None, "_l": None, "gettext": None, "ngettext": (1, 2)}
    found = extract_from_dir(str(ROOT), METHODS, keywords=keywords)
    return {key(message) for _, _, message, _, _ in found}


def key(value):
    """Plural entries are (singular, plural) pairs; make them hashable."""
    return tuple(value) if isinstance(value, list | tuple) else value


def test_every_message_has_an_english_translation():
    with open(CATALOG / "messages.po", "rb") as f:
        catalog = read_po(f)
    translated = {key(m.id) for m in catalog if m.id and all(key(m.string))}
    assert source_messages() - translated == set(), "run scripts/translations and translate"


def test_compiled_catalog_matches_the_po_file():
    with open(CATALOG / "messages.po", "rb") as f:
        po = {key(m.id): key(m.string) for m in read_po(f) if m.id}
    with open(CATALOG / "messages.mo", "rb") as f:
        mo = {key(m.id): key(m.string) for m in read_mo(f) if m.id}
    assert po == mo, "run scripts/translations to compile"


def test_browser_language_picks_english(client):
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert b'<html lang="en">' in page.data and b"Sign in" in page.data


def test_german_is_the_default(client):
    page = client.get("/login", headers={"Accept-Language": "fr"})
    assert b'<html lang="de">' in page.data and b"Anmelden" in page.data


def test_after_login_the_page_speaks_the_users_language(app, client, user):
    from idp.store import db
    from tests.support.oidc import csrf_token

    user.locale = "en"
    db.session.commit()
    page = client.get("/login")
    client.post(
        "/login",
        data={
            "csrf_token": csrf_token(page),
            "email": user.email,
            "password": "Korrekt-Pferd-Batterie-1",
        },
    )
    assert b'<html lang="en">' in client.get("/account/").data
