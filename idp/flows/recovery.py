"""Getting back in: "Passwort vergessen?" (reset by emailed link) and the unblock
link mailed when too many failed logins blocked an account.

Links are checked on GET and used only on POST, because mail scanners and link
previews open them before the person does. ``rid`` (a pending authorization
request) is carried through, so the person can continue to the application
after signing in with the new password.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from idp import lockout, recovery
from idp.accounts import MAX_EMAIL_LENGTH
from idp.errors import CodeExpired, CodeInvalid, PasswordRejected
from idp.extensions import limiter
from idp.flows import state
from idp.security.limits import limit_from
from idp.store import db

bp = Blueprint("recovery", __name__, url_prefix="/recovery")

MAX_PASSWORD_LENGTH = 1024
DEAD_LINK = (CodeInvalid, CodeExpired)


@bp.route("/", methods=["GET", "POST"])
@limiter.limit(limit_from("reset_limit_ip", "accounts"), methods=["POST"])
def start() -> BaseResponse:
    """ "Haben Sie Ihr Passwort vergessen?": the answer is the login page with the
    same notice whether or not the address has an account."""
    rid = _rid()
    email = request.form.get("email", "").strip()
    if request.method == "GET":
        return _render("start.html", rid=rid, email="")
    if not email or len(email) > MAX_EMAIL_LENGTH or "@" not in email:
        error = _("Bitte geben Sie eine gültige E-Mail-Adresse ein.")
        return _render("start.html", 400, rid=rid, email=email[:MAX_EMAIL_LENGTH], error=error)
    recovery.request_reset(email, rid=rid)
    db.session.commit()
    flash(
        _(
            "Wir haben den Link an die von Ihnen angegebene E-Mail-Adresse gesendet. "
            "Verwenden Sie den Link aus der E-Mail, um Ihr Passwort zurückzusetzen."
        ),
        "info",
    )
    return redirect(url_for("login.login", rid=rid or None))


@bp.route("/password/<token>", methods=["GET", "POST"])
@limiter.limit(limit_from("code_limit_ip", "accounts"), methods=["POST"])
def reset(token: str) -> BaseResponse:
    """ "Ein neues Passwort erstellen". A rejected password keeps the link alive."""
    rid = _rid()
    try:
        user = recovery.check_reset_link(token)
        if request.method == "GET":
            return _reset_form(token, rid, user.email)
        password = request.form.get("password", "")[:MAX_PASSWORD_LENGTH]
        confirmation = request.form.get("password_confirmation", "")[:MAX_PASSWORD_LENGTH]
        recovery.reset_password(token, password, confirmation)
    except DEAD_LINK:
        return _render("invalid.html", 400, rid=rid)
    except PasswordRejected as rejected:
        return _reset_form(token, rid, user.email, rejected.reason)
    db.session.commit()
    return redirect(url_for("recovery.done", rid=rid or None))


@bp.get("/password-changed")
def done() -> BaseResponse:
    """ "Passwort geändert!"; "Weiter" leads to the login page (not signed in)."""
    return _render("done.html", rid=_rid())


@bp.route("/unblock/<token>", methods=["GET", "POST"])
@limiter.limit(limit_from("code_limit_ip", "accounts"), methods=["POST"])
def unblock(token: str) -> BaseResponse:
    """The link from the "account blocked" mail: GET asks, POST unblocks."""
    try:
        if request.method == "GET":
            user = lockout.check_unblock_link(token)
            return _render("unblock.html", token=token, email=user.email)
        lockout.unblock(token)
    except DEAD_LINK:
        return _render("invalid.html", 400, rid="")
    db.session.commit()
    return redirect(url_for("recovery.unblocked"))


@bp.get("/unblocked")
def unblocked() -> BaseResponse:
    return _render("unblocked.html")


def _rid() -> str:
    """The pending authorization request to continue afterwards, if it is ours."""
    rid = request.values.get("rid", "")
    return rid if state.load(rid) is not None else ""


def _reset_form(token: str, rid: str, email: str, error: str | None = None) -> BaseResponse:
    min_length = current_app.config["IDP"].accounts.password_min_length
    return _render(
        "reset.html",
        400 if error else 200,
        token=token,
        rid=rid,
        email=email,
        error=error,
        min_length=min_length,
    )


def _render(template: str, status: int = 200, **context: object) -> BaseResponse:
    return Response(render_template(f"flows/recovery/{template}", **context), status=status)
