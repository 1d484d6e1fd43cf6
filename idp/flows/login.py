"""Signing in with email and password (and signing out)."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from idp import accounts
from idp.errors import AccountBlocked, AccountLocked, InvalidCredentials
from idp.extensions import limiter
from idp.flows import state
from idp.flows.mfa import after_first_factor
from idp.i18n import adopt_user_locale
from idp.oidc.authorize import ACR_PASSWORD
from idp.security.limits import account_key, limit_from
from idp.sessions import begin_authenticated_session
from idp.store import User, db

bp = Blueprint("login", __name__)

MAX_PASSWORD_LENGTH = 1024


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(limit_from("login_limit_ip"), methods=["POST"])
@limiter.limit(limit_from("login_limit_account"), key_func=account_key, methods=["POST"])
def login() -> BaseResponse | str:
    rid = request.values.get("rid", "")
    pending = state.load(rid)
    email = request.form.get("email", "").strip()
    if request.method == "GET":
        email = pending.params.get("login_hint", "") if pending else ""
        return _page(rid if pending else "", email)
    password = request.form.get("password", "")
    if not email or not password:
        return _page(rid, email, _("Bitte geben Sie E-Mail-Adresse und Passwort ein."), 400)
    try:
        user = accounts.authenticate_password(email, password[:MAX_PASSWORD_LENGTH])
    except (InvalidCredentials, AccountBlocked, AccountLocked) as failure:
        db.session.commit()  # the failure counts
        message, status = _failure(failure)
        return _page(rid, email, message, status)
    return after_first_factor(user, rid, ["pwd"])


def finish_sign_in(
    user: User, rid: str, *, amr: list[str] | None = None, acr: str = ACR_PASSWORD
) -> BaseResponse:
    """Start the signed-in session (new id) and continue where the visitor came
    from: the pending authorization request, else the landing a flow named
    (``state.set_landing``), else the account page. Every way of signing in
    (password, registration, second factor, passkey) ends here."""
    begin_authenticated_session(
        user,
        amr=amr or ["pwd"],
        acr=acr,
        user_agent=request.user_agent.string,
        keep=state.carried_over(),
    )
    pending = state.load(rid)
    accounts.note_login(user, client_id=pending.params.get("client_id") if pending else None)
    adopt_user_locale(user.locale)
    landing = state.pop_landing()
    if pending is not None:
        pending.login_done = True
        state.save(rid, pending)
    db.session.commit()
    if pending is not None:
        return redirect(url_for("oidc.resume", rid=rid))
    return redirect(landing or url_for("account.index"))


def _failure(failure: Exception) -> tuple[str, int]:
    """The message for a failed password step. A blocked account and an unknown
    address with as many failures get the same one (see ``idp.lockout``)."""
    if isinstance(failure, AccountBlocked):
        return (
            _(
                "Zu viele fehlgeschlagene Anmeldeversuche. Bitte versuchen Sie es später "
                "erneut oder folgen Sie dem Link in der E-Mail, die wir Ihnen gesendet haben."
            ),
            429,
        )
    if isinstance(failure, AccountLocked):
        return _("Ihr Konto ist gesperrt. Bitte wenden Sie sich an Ihren Administrator."), 403
    return _("E-Mail-Adresse oder Passwort ist falsch."), 401


def _page(rid: str, email: str, error: str | None = None, status: int = 200) -> BaseResponse:
    body = render_template("flows/login/login.html", rid=rid, email=email, error=error)
    return Response(body, status=status)


@bp.get("/logout")
def logout() -> BaseResponse:
    """The "Abmelden" link: the protocol's logout page asks for confirmation."""
    return redirect(url_for("oidc.end_session"))
