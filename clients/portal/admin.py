"""Benutzerverwaltung (manual, chapter 3): the administrator's pages, each a thin
layer over the provider's administration API called with the administrator's
own access token. Every URL here answers 403 to anyone but an active
administrator; the API checks the same again."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from clients.portal import grants
from clients.portal.api import AdminApi, ApiError
from clients.portal.auth import (
    SessionEnded,
    admin_required,
    claims,
    current_session,
    ensure_fresh,
)
from clients.portal.context import portal
from clients.portal.i18n import _, current_locale

bp = Blueprint("admin", __name__, url_prefix="/users")
T = TypeVar("T")
PER_PAGE_CHOICES = (10, 25, 50, 100)
MAX_SEARCH = 200


# -- Calling the API ------------------------------------------------------------------


def customer_number() -> str:
    return str(claims()["customer_number"])


def call(operation: Callable[[AdminApi], T]) -> T:
    """Run one API call with the current access token; when the provider
    answers 401 (token expired or revoked), refresh once and retry."""
    current = current_session()
    assert current is not None
    config = portal().config

    def attempt() -> T:
        api = AdminApi(
            config.issuer, current.token["access_token"], current_locale(), config.http_timeout
        )
        return operation(api)

    try:
        return attempt()
    except ApiError as error:
        if error.status != 401:
            raise
    ensure_fresh(current, force=True)  # SessionEnded: the app sends the browser to sign in
    return attempt()


def refused(error: ApiError) -> BaseResponse:
    """An API refusal as a message on the user list (never a 500)."""
    if error.status == 403:
        abort(403)
    if error.status == 404:
        flash(_("Der Benutzer wurde nicht gefunden."), "error")
    else:
        flash(_(error.message) if error.message else _("Die Aktion ist fehlgeschlagen."), "error")
    return redirect(url_for("admin.index"))


# -- Lists: search, page size, paging ---------------------------------------------------


@dataclass
class Query:
    search: str
    page: int
    per_page: int

    @classmethod
    def from_request(cls) -> Query:
        args = request.args
        try:
            page = max(1, min(int(args.get("page", "1")), 1_000_000))
        except ValueError:
            page = 1
        try:
            per_page = int(args.get("per_page", "10"))
        except ValueError:
            per_page = 10
        if per_page not in PER_PAGE_CHOICES:
            per_page = 10
        return cls(args.get("search", "").strip()[:MAX_SEARCH], page, per_page)

    def args(self) -> dict[str, Any]:
        return {"search": self.search, "page": self.page, "per_page": self.per_page}


@dataclass
class Paging:
    """Paging of a list: "1 bis 3 von 3 Einträgen", "Zurück 1 Nächste"."""

    query: Query
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))

    @property
    def first(self) -> int:
        return 0 if self.total == 0 else (self.query.page - 1) * self.query.per_page + 1

    @property
    def last(self) -> int:
        return min(self.total, self.query.page * self.query.per_page)

    def window(self) -> list[int]:
        start = max(1, min(self.query.page - 2, self.pages - 4))
        return list(range(start, min(self.pages, start + 4) + 1))

    def url(self, endpoint: str, page: int, **values: Any) -> str:
        args = {**self.query.args(), "page": page, **values}
        if not args["search"]:
            del args["search"]
        return url_for(endpoint, **args)


def page_of(body: Any, query: Query) -> tuple[list[dict[str, Any]], Paging]:
    items = body.get("items") if isinstance(body, dict) else None
    total = body.get("total") if isinstance(body, dict) else None
    return list(items or []), Paging(query, int(total or 0))


# -- Pages ------------------------------------------------------------------------------


@bp.get("/")
@admin_required
def index() -> Any:
    query = Query.from_request()
    try:
        users, paging = page_of(
            call(lambda api: api.users(customer_number(), **query.args())), query
        )
    except ApiError as error:
        if error.status == 403:
            abort(403)
        flash(
            _(error.message)
            if error.message
            else _("Die Benutzerliste konnte nicht geladen werden."),
            "error",
        )
        users, paging = [], Paging(query, 0)
    return render_template(
        "admin/users.html",
        users=users,
        paging=paging,
        per_page_choices=PER_PAGE_CHOICES,
        my_sub=claims().get("sub"),
    )


@dataclass(frozen=True)
class Action:
    """A confirmed change of one user: its page texts and the API call."""

    title: str
    subtitle: str
    text: str
    button: str
    done: str
    api: str  # "lock", "unlock", "activate", "resign" or "delete"


ACTIONS = {
    "lock": Action(
        "Benutzer sperren",
        "kein Login mehr möglich",
        "Durch Sperren des Benutzers verhindern Sie, dass der Benutzer sich anmelden kann. "
        "Er bekommt somit keinen Zugang mehr zu geschützten Bereichen. Die Sperre gilt "
        "sofort: Ist der Benutzer gerade angemeldet, wird er abgemeldet.",
        "Benutzer sperren",
        "Der Benutzer wurde gesperrt.",
        "lock",
    ),
    "unlock": Action(
        "Benutzer entsperren",
        "Login wieder möglich",
        "Durch Entsperren kann sich der Benutzer wieder anmelden und erhält wieder Zugang "
        "zu den Bereichen, für die er berechtigt ist.",
        "Benutzer entsperren",
        "Der Benutzer wurde entsperrt.",
        "unlock",
    ),
    "activate": Action(
        "Benutzer freischalten",
        "Zugang zum Portal gewähren",
        "Der Benutzer hat sich mit Ihrer Kundennummer registriert und wartet auf die "
        "Freischaltung. Nach der Freischaltung erteilen Sie ihm die Berechtigungen für "
        "die Bereiche, die er nutzen soll.",
        "Benutzer freischalten",
        "Der Benutzer wurde freigeschaltet. Erteilen Sie jetzt die Berechtigungen.",
        "activate",
    ),
    "delete": Action(
        "Benutzer löschen",
        "z.B. bei Mitarbeiteraustritt",
        "Wenn dieser Benutzer aus Ihrem Unternehmen ausgetreten ist oder aber keinen Zugang "
        "mehr zum Portal haben soll, dann klicken Sie unten bitte auf den Button "
        "„Benutzer löschen“.",
        "Benutzer löschen",
        "Der Benutzer wurde gelöscht.",
        "delete",
    ),
    "resign": Action(
        "Admin-Rechte abgeben",
        "Sie werden Mitarbeiter",
        "Sie geben Ihre Administrator-Rolle für dieses Kundenkonto ab und behalten Ihren "
        "Zugang als Mitarbeiter. Die Benutzerverwaltung steht Ihnen danach nicht mehr zur "
        "Verfügung. Der letzte Administrator kann seine Rechte nicht abgeben.",
        "Admin-Rechte abgeben",
        "Sie haben Ihre Admin-Rechte abgegeben.",
        "resign",
    ),
}


@bp.route("/<user_id>/<any(lock, unlock, activate, delete, resign):name>", methods=["GET", "POST"])
@admin_required
def confirm(user_id: str, name: str) -> Any:
    action = ACTIONS[name]
    cn = customer_number()
    try:
        user = call(lambda api: api.user(cn, user_id))
        if request.method == "GET":
            return render_template("admin/confirm.html", user=user, action=action, name=name)
        if action.api == "delete":
            call(lambda api: api.delete(cn, user_id))
        else:
            call(lambda api: api.action(cn, user_id, action.api))
    except ApiError as error:
        return refused(error)
    flash(_(action.done), "success")
    if name == "activate":
        return redirect(url_for("admin.permissions", user_id=user_id))
    if name == "resign":
        current = current_session()
        assert current is not None
        with contextlib.suppress(SessionEnded):
            ensure_fresh(current, force=True)
        return redirect(url_for("areas.home"))
    return redirect(url_for("admin.index"))


@bp.get("/<user_id>/changelog")
@admin_required
def changelog(user_id: str) -> Any:
    query = Query.from_request()
    cn = customer_number()
    try:
        user = call(lambda api: api.user(cn, user_id))
        entries, paging = page_of(
            call(lambda api: api.changelog(cn, user_id, **query.args())), query
        )
    except ApiError as error:
        return refused(error)
    return render_template(
        "admin/changelog.html",
        user=user,
        entries=entries,
        paging=paging,
        per_page_choices=PER_PAGE_CHOICES,
    )


@bp.route("/<user_id>/permissions", methods=["GET", "POST"])
@admin_required
def permissions(user_id: str) -> Any:
    cn = customer_number()
    errors: list[str] = []
    try:
        user = call(lambda api: api.user(cn, user_id))
        catalogue = call(lambda api: api.permissions())
    except ApiError as error:
        return refused(error)
    selected = set(user.get("permissions") or [])
    if request.method == "POST":
        selected, regrouped = grants.chosen(catalogue)
        if not regrouped:
            try:
                call(lambda api: api.set_permissions(cn, user_id, sorted(selected)))
            except ApiError as error:
                if error.status not in (409, 422):
                    return refused(error)
                errors = [m for ms in error.fields.values() for m in ms] or [_(error.message)]
            else:
                flash(_("Die Berechtigungen wurden gespeichert."), "success")
                return redirect(url_for("admin.index"))
    return render_template(
        "admin/permissions.html",
        user=user,
        rows=grants.rows(catalogue),
        selected=selected,
        errors=errors,
        back=url_for("admin.index"),
    ), (422 if errors else 200)
