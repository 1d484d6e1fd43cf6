"""German first, English second, without a catalogue build step: messages are
German strings; ``ENGLISH`` maps them to English. The language comes from
``?lang=`` (remembered in the cookie), else ``Accept-Language``, else the
configured default. tests/portal/test_i18n.py checks that every message used
in code and templates has an English entry."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request, session

from clients.portal.config import LOCALES
from clients.portal.translations import ENGLISH


def select_locale() -> str:
    asked = request.args.get("lang", "")
    if asked in LOCALES:
        session["lang"] = asked
        return asked
    saved = session.get("lang")
    if saved in LOCALES:
        return str(saved)
    best = request.accept_languages.best_match(LOCALES)
    return best or current_app.config["PORTAL"].default_locale


def current_locale() -> str:
    if "locale" not in g:
        g.locale = select_locale()
    return str(g.locale)


def gettext(message: str, **values: Any) -> str:
    text = ENGLISH.get(message, message) if current_locale() == "en" else message
    return text % values if values else text


_ = gettext
