"""Adding a user, "Benutzer hinzufügen" (manual 3.6): the form (Anrede, Vorname, Nachname,
E-Mail-Adresse, terms), then the permissions page, then one invitation through
the API; the provider mails the registration link. Between the two steps the
form's values wait in the server-side portal session."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from clients.portal import grants
from clients.portal.admin import bp, call, customer_number, refused
from clients.portal.api import ApiError
from clients.portal.auth import admin_required, current_session
from clients.portal.context import portal
from clients.portal.i18n import _

# The API's codes and their labels ("" = keine Angabe).
SALUTATIONS = {"": "Keine Angabe", "frau": "Frau", "herr": "Herr", "divers": "Divers"}
FORM_FIELDS = ("salutation", "given_name", "family_name", "email", "accept_terms")
MAX_NAME = 100
MAX_EMAIL = 254


def validate(form: dict[str, str]) -> dict[str, list[str]]:
    """First checks here, so a typo needs no round trip; the API checks again."""
    errors: dict[str, list[str]] = {}
    if form["salutation"] not in SALUTATIONS:
        errors["salutation"] = [_("Bitte wählen Sie eine Anrede aus der Liste.")]
    for name in ("given_name", "family_name"):
        if not form[name]:
            errors[name] = [_("Bitte füllen Sie dieses Feld aus.")]
        elif len(form[name]) > MAX_NAME:
            errors[name] = [_("Höchstens %(count)s Zeichen.", count=MAX_NAME)]
    email = form["email"]
    local, _at, domain = email.partition("@")
    if not email:
        errors["email"] = [_("Bitte füllen Sie dieses Feld aus.")]
    elif len(email) > MAX_EMAIL or not local or "." not in domain or " " in email:
        errors["email"] = [_("Bitte geben Sie eine gültige E-Mail-Adresse ein.")]
    if form["accept_terms"] != "yes":
        errors["accept_terms"] = [_("Bitte akzeptieren Sie die Nutzungsbedingungen.")]
    return errors


def _render_form(form: dict[str, str], errors: dict[str, list[str]], message: str = "") -> Any:
    status = 422 if errors or message else 200
    return render_template(
        "admin/new_user.html",
        form=form,
        errors=errors,
        message=message,
        salutations=SALUTATIONS,
    ), status


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new_user() -> Any:
    current = current_session()
    assert current is not None
    if request.method == "GET":
        draft = current.draft or {}
        form = {name: str(draft.get(name, "")) for name in FORM_FIELDS}
        return _render_form(form, {})
    form = {name: request.form.get(name, "").strip() for name in FORM_FIELDS}
    form["email"] = form["email"].lower()
    errors = validate(form)
    if errors:
        return _render_form(form, errors)
    current.draft = form
    portal().store.save(current)
    return redirect(url_for("admin.new_user_permissions"))


@bp.route("/new/permissions", methods=["GET", "POST"])
@admin_required
def new_user_permissions() -> Any:
    current = current_session()
    assert current is not None
    draft = current.draft
    if not draft:
        return redirect(url_for("admin.new_user"))
    try:
        catalogue = call(lambda api: api.permissions())
    except ApiError as error:
        return refused(error)
    selected: set[str] = set()
    errors: list[str] = []
    if request.method == "POST":
        selected, regrouped = grants.chosen(catalogue)
        if not regrouped:
            invitation = {
                "salutation": draft["salutation"],
                "given_name": draft["given_name"],
                "family_name": draft["family_name"],
                "email": draft["email"],
                "accept_terms": True,
                "permissions": sorted(selected),
            }
            try:
                sent = call(lambda api: api.invite(customer_number(), invitation))
            except ApiError as error:
                if error.status not in (409, 422):
                    return refused(error)
                form_errors = {k: v for k, v in error.fields.items() if k in FORM_FIELDS}
                if form_errors or error.status == 409:
                    return _render_form(dict(draft), form_errors, _(error.message))
                errors = [m for ms in error.fields.values() for m in ms] or [_(error.message)]
            else:
                current.draft = None
                portal().store.save(current)
                email = sent.get("email", draft["email"]) if isinstance(sent, dict) else ""
                flash(_("Die Einladung wurde an %(email)s gesendet.", email=email), "success")
                return redirect(url_for("admin.index"))
    user = {
        "name": f"{draft['given_name']} {draft['family_name']}",
        "email": draft["email"],
        "last_login_at": None,
        "status": "invited",
        "role": "employee",
    }
    return render_template(
        "admin/permissions.html",
        user=user,
        rows=grants.rows(catalogue),
        selected=selected,
        errors=errors,
        back=url_for("admin.new_user"),
    ), (422 if errors else 200)
