"""Language choice: ``ui_locales`` (OIDC Core 3.1.2.1) or an explicit switch,
remembered in the session; otherwise the browser's Accept-Language; German by
default."""

from __future__ import annotations

from flask import current_app, has_request_context, request

from idp.sessions import current_session

SESSION_KEY = "ui_locale"


def _supported() -> list[str]:
    return list(current_app.config["IDP"].i18n.locales)


def first_supported(ui_locales: str) -> str | None:
    """The first tag of a space-separated BCP 47 list we support, by language."""
    for tag in ui_locales.split()[:10]:
        language = tag.split("-")[0].lower()
        if language in _supported():
            return language
    return None


def remember_ui_locales(ui_locales: str) -> None:
    chosen = first_supported(ui_locales)
    if chosen:
        current_session()[SESSION_KEY] = chosen


def select_locale() -> str:
    config = current_app.config["IDP"].i18n
    if not has_request_context():
        return str(config.default_locale)
    explicit = request.args.get("ui_locales")
    if explicit and first_supported(explicit):
        remember_ui_locales(explicit)
    chosen = current_session().get(SESSION_KEY)
    if chosen in config.locales:
        return str(chosen)
    best = request.accept_languages.best_match(config.locales)
    return best or str(config.default_locale)


def adopt_user_locale(locale: str | None) -> None:
    """After sign-in the UI speaks the user's saved language, unless this visit
    already chose one (``ui_locales`` from the relying party, or the switch)."""
    session = current_session()
    if locale in _supported() and SESSION_KEY not in session:
        session[SESSION_KEY] = locale
