"""Account settings ("Konto verwalten"): personal data and language, email,
password, active sessions, deleting the account.

One page shows every section at a stable URL (advertised to relying parties as
``account_management_uri``). Each form posts to its own endpoint, which on
success redirects back to its section with a message and on a rejected form
renders the page again with status 400 and the message at the field."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from idp import i18n, profile
from idp.errors import ChangeRejected, NotFound
from idp.extensions import limiter
from idp.orgs.service import memberships_of
from idp.security.clientip import client_ip
from idp.security.limits import limit_from
from idp.sessions import current_session, current_user, end_session
from idp.store import User, db, utcnow

bp = Blueprint("account", __name__, url_prefix="/account")


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Visitors who are not signed in go to the login page, which brings them
    back here; the view gets the signed-in user as its first argument."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            return redirect(url_for("login.login"))
        return view(user, *args, **kwargs)

    return wrapper


def signed_in_key() -> str:
    """Counts password checks per account, whatever address they come from."""
    user = current_user()
    return f"account-user:{user.id}" if user else f"ip:{client_ip()}"


def password_checks_limited(view: Callable[..., Any]) -> Callable[..., Any]:
    """A password typed here is as guessable as at login, so the login limits
    apply: per client address and per signed-in account."""
    per_account = limiter.limit(
        limit_from("login_limit_account"), key_func=signed_in_key, methods=["POST"]
    )
    per_address = limiter.limit(limit_from("login_limit_ip"), methods=["POST"])
    return per_address(per_account(view))


@bp.get("/")
@login_required
def index(user: User) -> BaseResponse:
    return _overview(user)


@bp.post("/profile")
@login_required
def update_profile(user: User) -> BaseResponse:
    form = request.form
    try:
        profile.update_profile(
            user,
            salutation=form.get("salutation", ""),
            given_name=form.get("given_name", ""),
            family_name=form.get("family_name", ""),
            locale=form.get("locale", ""),
        )
    except ChangeRejected as exc:
        return _overview(user, exc.errors)
    current_session()[i18n.SESSION_KEY] = user.locale  # the page switches language too
    db.session.commit()
    with force_locale(user.locale):
        flash(_("Ihre Änderungen wurden gespeichert."), "success")
    return redirect(url_for(".index", _anchor="profile"))


@bp.post("/password")
@password_checks_limited
@login_required
def change_password(user: User) -> BaseResponse:
    form = request.form
    try:
        profile.change_password(
            user,
            current=form.get("current_password", ""),
            new=form.get("new_password", ""),
            confirmation=form.get("new_password_confirmation", ""),
            keep_session_id=_current_session_id(),
        )
    except ChangeRejected as exc:
        return _overview(user, exc.errors)
    db.session.commit()
    flash(_("Ihr Passwort wurde geändert."), "success")
    return redirect(url_for(".index", _anchor="password"))


@bp.post("/sessions/<sid>/end")
@login_required
def end_one_session(user: User, sid: str) -> BaseResponse:
    try:
        profile.end_one_session(user, sid, _current_session_id())
    except NotFound:
        abort(404)
    db.session.commit()
    flash(_("Die Sitzung wurde abgemeldet."), "success")
    return redirect(url_for(".index", _anchor="sessions"))


@bp.post("/sessions/end-others")
@login_required
def end_other_sessions(user: User) -> BaseResponse:
    profile.end_other_sessions(user, _current_session_id())
    db.session.commit()
    flash(_("Sie wurden überall sonst abgemeldet."), "success")
    return redirect(url_for(".index", _anchor="sessions"))


@bp.route("/delete", methods=["GET", "POST"])
@password_checks_limited
@login_required
def delete(user: User) -> BaseResponse | str:
    """A page of its own with the password and a confirmation, so the account
    cannot be deleted by a stray click on the overview."""
    if request.method == "GET":
        return render_template("flows/account/delete.html", errors={})
    try:
        profile.delete_account(
            user,
            password=request.form.get("password", ""),
            confirmed=request.form.get("confirm") == "y",
            current_session_id=_current_session_id(),
        )
    except ChangeRejected as exc:
        body = render_template("flows/account/delete.html", errors=exc.errors)
        return Response(body, status=400)
    end_session()
    db.session.commit()
    return render_template("flows/account/deleted.html")


@bp.get("/profile")
@bp.get("/password")
@bp.get("/sessions/end-others")
def back_to_overview() -> BaseResponse:
    """A rejected form is shown at its POST URL, so the page's language links
    point here: go to the overview in that language instead of a 405."""
    return redirect(url_for(".index", ui_locales=request.args.get("ui_locales")))


def _current_session_id() -> str | None:
    record = current_session().record
    return record.id if record is not None else None


def _overview(user: User, errors: dict[str, str] | None = None) -> BaseResponse:
    """The settings page; with ``errors`` the rejected form's input is shown again."""
    body = render_template(
        "flows/account/index.html",
        user=user,
        sessions=profile.active_sessions(user, _current_session_id()),
        languages=profile.language_choices(),
        memberships=memberships_of(user),
        errors=errors or {},
        values=request.form if errors else {},
        now=utcnow(),
    )
    return Response(body, status=400 if errors else 200)
