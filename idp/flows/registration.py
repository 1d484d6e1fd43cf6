"""Creating an account ("Konto erstellen"): the form, then the emailed code on
the shared code page (flows/verification.py), which creates the account.

A pending authorization request (``rid``) is carried through, so a visitor who
registers from a relying party's login ends up back at that relying party (by
way of onboarding when it asks for the ``customer`` scope). A visitor who came
on their own is handed to onboarding ("Starten Sie durch!") once the code is
typed, as the manual has it (2.1)."""

from __future__ import annotations

import unicodedata

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from idp import accounts, registration
from idp.errors import PasswordRejected
from idp.extensions import limiter
from idp.flows import state
from idp.flows.verification import begin_flow, email_field_error
from idp.security.limits import limit_from
from idp.store import db
from idp.tokens import Purpose

bp = Blueprint("registration", __name__, url_prefix="/register")

FIELDS = ("email", "given_name", "family_name", "password", "password_confirm")
MAX_NAME_LENGTH = 100
MAX_PASSWORD_LENGTH = 1024


@bp.route("/", methods=["GET", "POST"])
@limiter.limit(limit_from("register_limit_ip", "accounts"), methods=["POST"])
def start() -> BaseResponse:
    rid = request.values.get("rid", "")
    rid = rid if state.load(rid) is not None else ""
    if request.method == "GET":
        return _page(rid, {}, {})
    form = {name: request.form.get(name, "") for name in FIELDS}
    errors = field_errors(form)
    if errors:
        return _page(rid, form, errors, 400)
    try:
        row = registration.begin_registration(
            form["email"],
            form["password"],
            form["password_confirm"],
            given_name=form["given_name"].strip(),
            family_name=form["family_name"].strip(),
            locale=str(get_locale()),
        )
    except PasswordRejected as exc:
        return _page(rid, form, {"password": exc.reason}, 400)
    db.session.commit()
    if not rid:
        state.set_landing(url_for("onboarding.start"))
    return begin_flow(Purpose.REGISTRATION, row, rid)


def field_errors(form: dict[str, str]) -> dict[str, str]:
    """Missing and oversized input and names with control characters, each at its
    field; the password policy is the service's (``check_new_password``)."""
    errors = {"email": email_field_error(form["email"].strip())}
    for name, missing in (
        ("given_name", _("Bitte geben Sie Ihren Vornamen ein.")),
        ("family_name", _("Bitte geben Sie Ihren Nachnamen ein.")),
    ):
        value = form[name].strip()
        if not value:
            errors[name] = missing
        elif len(value) > MAX_NAME_LENGTH:
            errors[name] = _("Bitte höchstens %(n)d Zeichen.", n=MAX_NAME_LENGTH)
        elif bad := accounts.name_character_error(value):
            errors[name] = bad
    if not form["password"]:
        errors["password"] = _("Bitte geben Sie ein Passwort ein.")
    elif len(form["password"]) > MAX_PASSWORD_LENGTH:
        errors["password"] = _("Bitte höchstens %(n)d Zeichen.", n=MAX_PASSWORD_LENGTH)
    elif nfc(form["password"]) != nfc(form["password_confirm"]):
        errors["password_confirm"] = _("Die Passwörter stimmen nicht überein.")
    return {name: message for name, message in errors.items() if message}


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _page(
    rid: str, form: dict[str, str], errors: dict[str, str], status: int = 200
) -> BaseResponse:
    body = render_template(
        "flows/registration/start.html",
        rid=rid,
        form=form,
        errors=errors,
        min_length=current_app.config["IDP"].accounts.password_min_length,
    )
    return Response(body, status=status)
