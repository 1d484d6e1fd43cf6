"""Joining a customer account after signing up ("Starten Sie durch!"): choose the
affiliation, then join by the 9-digit customer number or link an account of the
old portal ("ehemals Servicewelt"). A pending authorization (``rid``) is kept
through every step, so "Weiter" continues to the relying party; "Später" goes on
without a customer account.

The authorization endpoint sends people here on its own (``oidc.authorize``):
to onboarding when a client wants the ``customer`` scope and the user has no
membership yet, and to the picker ("Kundenkonto auswählen") when the user has
several and the client named none; the choice is kept with the pending
authorization and ends up in the token.

The rules (number format, who is active or pending, one link per legacy account)
are ``idp.orgs.service``'s; this module only turns its outcomes into pages."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response as BaseResponse

from idp.errors import (
    Conflict,
    InvalidCredentials,
    InvalidCustomerNumber,
    InvoicePrefix,
    NotFound,
    WrongAffiliation,
)
from idp.extensions import limiter
from idp.flows import state
from idp.flows.account import login_required
from idp.orgs import service
from idp.security.limits import limit_from
from idp.store import Membership, MembershipStatus, ProductLine, User, db

bp = Blueprint("onboarding", __name__, url_prefix="/onboarding")

MAX_NUMBER_LENGTH = 100
MAX_USERNAME_LENGTH = 200
MAX_PASSWORD_LENGTH = 1024
STATUS_LABELS = {
    MembershipStatus.ACTIVE: _l("Aktiv"),
    MembershipStatus.PENDING: _l("Wartet auf Freischaltung"),
    MembershipStatus.LOCKED: _l("Gesperrt"),
}


@dataclass(frozen=True)
class Affiliation:
    """One "Hier anmelden" group of the affiliation page."""

    key: str
    country: str
    products: str
    product_lines: tuple[ProductLine, ...]


AFFILIATIONS = {
    a.key: a
    for a in (
        Affiliation(
            "sage50",
            _l("Deutschland"),
            _l(
                "Sage 50 Connected, Sage 50 Handwerk, Sage 100, Sage ERP, Sage HR Suite, "
                "Sage Business Cloud Payroll, Sage HR Lohnabrechnung Service uvm."
            ),
            (ProductLine.SAGE50, ProductLine.SAGE100, ProductLine.SAGEHR),
        ),
        Affiliation(
            "sageb7",
            _l("Deutschland"),
            _l("Sage b7, Sage Wincarat, Sage X3"),
            (ProductLine.SAGEB7, ProductLine.WINCARAT, ProductLine.SAGEX3),
        ),
        Affiliation("dpw", _l("Österreich"), _l("Sage DPW"), (ProductLine.DPW,)),
    )
}


def _legacy_username_key() -> str:
    return "legacy:" + request.form.get("legacy_username", "").lower()[:100]


@bp.get("/")
@login_required
def start(user: User) -> str:
    rid = _rid()
    return render_template("flows/onboarding/start.html", affiliations=AFFILIATIONS, rid=rid)


@bp.route("/join", methods=["GET", "POST"])
@limiter.limit(limit_from("login_limit_ip"), methods=["POST"])
@limiter.limit(
    limit_from("login_limit_account"),
    key_func=_legacy_username_key,
    methods=["POST"],
    # Only password guesses count per username; numbers would share one key.
    exempt_when=lambda: request.form.get("action") != "legacy",
)
@login_required
def join(user: User) -> BaseResponse | str:
    key = request.values.get("group", "")
    if not key:
        return redirect(url_for(".start", rid=_rid() or None))
    affiliation = AFFILIATIONS.get(key) or abort(400)
    if request.method == "GET":
        return _join_page(affiliation)
    form = request.form
    action = form.get("action")
    try:
        if action == "number":
            membership = service.join_by_customer_number(
                user,
                form.get("customer_number", "")[:MAX_NUMBER_LENGTH],
                product_lines=affiliation.product_lines,
            )
        elif action == "legacy":
            membership = service.link_legacy_account(
                user,
                form.get("legacy_username", "")[:MAX_USERNAME_LENGTH],
                form.get("legacy_password", "")[:MAX_PASSWORD_LENGTH],
            )
        else:
            abort(400)
    except (
        InvoicePrefix,
        InvalidCustomerNumber,
        NotFound,
        WrongAffiliation,
        Conflict,
        InvalidCredentials,
    ) as exc:
        return _join_page(affiliation, _field_error(action or "", exc), 400)
    db.session.commit()
    return _done_page(membership)


@bp.post("/skip")
@login_required
def skip(user: User) -> BaseResponse:
    """ "Später": no customer account for now; a pending authorization goes on
    without one (and does not offer onboarding again)."""
    rid = _rid()
    pending = state.load(rid)
    if pending is None:
        return redirect(url_for("account.index"))
    pending.onboarding_done = True
    state.save(rid, pending)
    return redirect(url_for("oidc.resume", rid=rid))


@bp.route("/choose", methods=["GET", "POST"])
@login_required
def choose(user: User) -> BaseResponse:
    """ "Kundenkonto auswählen": which membership the pending authorization's
    token carries. Locked memberships are shown but cannot be picked."""
    rid = _rid()
    pending = state.load(rid)
    if pending is None:
        return redirect(url_for("account.index"))
    memberships = service.memberships_of(user)
    if request.method == "GET":
        return _choose_page(memberships, rid)
    number = request.form.get("customer_number", "")[:MAX_NUMBER_LENGTH]
    chosen = next(
        (
            m
            for m in memberships
            if m.customer_account.customer_number == number and m.status != MembershipStatus.LOCKED
        ),
        None,
    )
    if chosen is None:
        return _choose_page(memberships, rid, _("Bitte wählen Sie ein Kundenkonto aus."), 400)
    pending.customer_number = number
    state.save(rid, pending)
    return redirect(url_for("oidc.resume", rid=rid))


def _choose_page(
    memberships: list[Membership], rid: str, error: str | None = None, status: int = 200
) -> BaseResponse:
    body = render_template(
        "flows/onboarding/choose.html",
        memberships=memberships,
        rid=rid,
        error=error,
        status_labels=STATUS_LABELS,
    )
    return Response(body, status=status)


def _field_error(action: str, failure: Exception) -> dict[str, str]:
    """The German message for a refused form, at the field it belongs to."""
    if action == "legacy":
        if isinstance(failure, Conflict):
            return {"legacy_username": _("Dieser Zugang ist bereits mit einem Konto verknüpft.")}
        return {"legacy_password": _("Benutzername oder Passwort ist falsch.")}
    if isinstance(failure, InvoicePrefix):
        message = _("Bitte geben Sie nur die neun Ziffern ohne das vorangestellte „D“ ein.")
    elif isinstance(failure, InvalidCustomerNumber):
        message = _("Die Kundennummer besteht aus genau neun Ziffern.")
    elif isinstance(failure, WrongAffiliation):
        message = _("Diese Kundennummer gehört nicht zur gewählten Zugehörigkeit.")
    elif isinstance(failure, NotFound):
        message = _(
            "Zu dieser Kundennummer haben wir kein Kundenkonto gefunden. "
            "Bitte prüfen Sie die Nummer."
        )
    else:
        message = _("Sie gehören diesem Kundenkonto bereits an.")
    return {"customer_number": message}


def _rid() -> str:
    """The pending authorization's id, if there is one to continue."""
    rid = request.values.get("rid", "")
    return rid if state.load(rid) is not None else ""


def _join_page(
    affiliation: Affiliation, errors: dict[str, str] | None = None, status: int = 200
) -> BaseResponse:
    body = render_template(
        "flows/onboarding/join.html",
        affiliation=affiliation,
        rid=_rid(),
        errors=errors or {},
        customer_number=request.form.get("customer_number", "")[:MAX_NUMBER_LENGTH],
        legacy_username=request.form.get("legacy_username", "")[:MAX_USERNAME_LENGTH],
    )
    return Response(body, status=status)


def _done_page(membership: Membership) -> str:
    rid = _rid()
    next_url = url_for("oidc.resume", rid=rid) if rid else url_for("account.index")
    return render_template(
        "flows/onboarding/done.html",
        membership=membership,
        active=membership.status == MembershipStatus.ACTIVE,
        next_url=next_url,
    )
