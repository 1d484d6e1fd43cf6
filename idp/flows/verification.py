"""The code page ("Code") shared by registration and email change, and the start
of an email change ("E-Mail-Adresse ändern").

Which code the browser waits for is one ``VerificationFlow`` record in the
session; every step route is guarded by ``flow_required``. What happens after
the right code depends on the record's purpose: a new account is created and
signed in, or the signed-in account moves to its new address."""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from idp import accounts, registration
from idp.errors import (
    CodeExpired,
    CodeInvalid,
    Conflict,
    DomainError,
    InvalidCredentials,
    SendLimitReached,
    TooManyAttempts,
    TooSoon,
)
from idp.extensions import limiter
from idp.flows.mfa import after_first_factor
from idp.security.limits import limit_from
from idp.sessions import current_session, current_user
from idp.store import OneTimeToken, User, db
from idp.tokens import Purpose

bp = Blueprint("verification", __name__, url_prefix="/verify")

SESSION_KEY = "verification"
MAX_PASSWORD_LENGTH = 1024
EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass
class VerificationFlow:
    """The code this browser is waiting for: its purpose, its record, the address
    it went to, and the pending authorization request (``rid``) to go back to."""

    purpose: str
    token_id: int
    email: str
    rid: str = ""

    @classmethod
    def load(cls) -> VerificationFlow | None:
        data = current_session().get(SESSION_KEY)
        try:
            flow = cls(**data) if isinstance(data, dict) else None
        except TypeError:  # a record of an older shape
            return None
        return flow if flow is not None and flow.purpose in set(Purpose) else None

    def save(self) -> None:
        current_session()[SESSION_KEY] = dataclasses.asdict(self)

    @staticmethod
    def drop() -> None:
        current_session().pop(SESSION_KEY, None)

    @property
    def restart_url(self) -> str:
        if self.purpose == Purpose.EMAIL_CHANGE:
            return url_for("verification.change_email")
        return url_for("registration.start", rid=self.rid or None)

    @property
    def cancel_url(self) -> str:
        if self.purpose == Purpose.EMAIL_CHANGE:
            return url_for("account.index")
        return url_for("login.login", rid=self.rid or None)


def begin_flow(purpose: Purpose, row: OneTimeToken, rid: str = "") -> BaseResponse:
    """Remember the issued code and show the code page."""
    VerificationFlow(str(purpose), row.id, str(row.email), rid).save()
    return redirect(url_for("verification.code"))


def email_field_error(raw: str) -> str | None:
    """The message for a missing or malformed address, or None."""
    if not raw:
        return _("Bitte geben Sie Ihre E-Mail-Adresse ein.")
    email = accounts.normalise_email(raw[: accounts.MAX_EMAIL_LENGTH * 2])
    if len(email) > accounts.MAX_EMAIL_LENGTH or not EMAIL_SHAPE.fullmatch(email):
        return _("Bitte geben Sie eine gültige E-Mail-Adresse ein.")
    return None


def flow_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """No flow: back to a start with a message. An email change needs its user."""

    @functools.wraps(view)
    def guarded(**kwargs: Any) -> Any:
        flow = VerificationFlow.load()
        user = current_user()
        if flow is not None and flow.purpose == Purpose.EMAIL_CHANGE and user is None:
            VerificationFlow.drop()
            return redirect(url_for("login.login"))
        if flow is None:
            flash(_("Es wartet kein Code auf Ihre Eingabe. Bitte beginnen Sie erneut."), "warning")
            return redirect(url_for("account.index" if user else "registration.start"))
        return view(flow, **kwargs)

    return guarded


def _messages() -> dict[type[DomainError], str]:
    dead = _(
        "Der Code wurde zu oft falsch eingegeben und ist nicht mehr gültig. "
        "Bitte fordern Sie einen neuen Code an, indem Sie erneut beginnen."
    )
    return {
        CodeInvalid: _(
            "Der Code ist falsch. Bitte überprüfen Sie ihn und versuchen Sie es erneut."
        ),
        CodeExpired: _("Der Code ist abgelaufen. Bitte fordern Sie einen neuen Code an."),
        TooManyAttempts: dead,
        SendLimitReached: _(
            "Sie haben zu oft einen neuen Code angefordert. Bitte beginnen Sie erneut."
        ),
        Conflict: _("Diese E-Mail-Adresse wird bereits verwendet."),
    }


@bp.route("/", methods=["GET", "POST"])
@limiter.limit(limit_from("code_limit_ip", "accounts"), methods=["POST"])
@flow_required
def code(flow: VerificationFlow) -> BaseResponse:
    if request.method == "GET":
        return _code_page(flow)
    typed = unicodedata.normalize("NFKC", request.form.get("code", "")[:64]).replace(" ", "")
    if not (len(typed) == 6 and typed.isascii() and typed.isdigit()):
        return _code_page(flow, _("Bitte geben Sie den 6-stelligen Code aus der E-Mail ein."))
    try:
        if flow.purpose == Purpose.EMAIL_CHANGE:
            user = registration.complete_email_change(flow.token_id, typed, _signed_in_user())
        else:
            user = registration.complete_registration(flow.token_id, typed)
    except (CodeInvalid, CodeExpired, TooManyAttempts, Conflict) as exc:
        db.session.commit()  # the wrong try counts
        return _code_page(flow, _messages()[type(exc)], dead=isinstance(exc, TooManyAttempts))
    VerificationFlow.drop()
    if flow.purpose == Purpose.EMAIL_CHANGE:
        db.session.commit()
        flash(_("Ihre E-Mail-Adresse wurde geändert."), "success")
        return redirect(url_for("account.index"))
    return after_first_factor(user, flow.rid, ["pwd"])


@bp.post("/resend")
@limiter.limit(limit_from("code_limit_ip", "accounts"))
@flow_required
def resend(flow: VerificationFlow) -> BaseResponse:
    """ "Code erneut senden": throttled, counted, and it keeps the wrong tries."""
    try:
        registration.resend_code(flow.token_id, Purpose(flow.purpose))
    except CodeInvalid:
        VerificationFlow.drop()
        flash(_("Dieser Code ist nicht mehr gültig. Bitte beginnen Sie erneut."), "warning")
        return redirect(flow.restart_url)
    except TooSoon:
        message = ngettext(
            "Bitte warten Sie %(num)d Sekunde, bevor Sie einen neuen Code anfordern.",
            "Bitte warten Sie %(num)d Sekunden, bevor Sie einen neuen Code anfordern.",
            current_app.config["IDP"].accounts.resend_interval,
        )
        return _code_page(flow, notice=message, status=429)
    except (TooManyAttempts, SendLimitReached) as exc:
        return _code_page(flow, notice=_messages()[type(exc)], dead=True, status=429)
    db.session.commit()
    flash(_("Wir haben einen neuen Code an %(email)s gesendet.", email=flow.email), "success")
    return redirect(url_for("verification.code"))


@bp.post("/cancel")
@flow_required
def cancel(flow: VerificationFlow) -> BaseResponse:
    """ "Abbrechen": the code dies; back to where the flow began."""
    registration.abandon(flow.token_id)
    VerificationFlow.drop()
    db.session.commit()
    return redirect(flow.cancel_url)


@bp.route("/change-email", methods=["GET", "POST"])
@limiter.limit(limit_from("login_limit_ip"), methods=["POST"])
def change_email() -> BaseResponse:
    """New address and current password; the code goes to the new address."""
    user = current_user()
    if user is None:
        return redirect(url_for("login.login"))
    if request.method == "GET":
        return _change_page("", {})
    new_email = request.form.get("new_email", "").strip()
    password = request.form.get("password", "")
    errors = {"new_email": email_field_error(new_email)}
    if not password:
        errors["password"] = _("Bitte geben Sie Ihr aktuelles Passwort ein.")
    if any(errors.values()):
        return _change_page(new_email, errors, 400)
    try:
        row = registration.begin_email_change(
            user, new_email, password[:MAX_PASSWORD_LENGTH], locale=str(get_locale())
        )
    except InvalidCredentials:
        return _change_page(new_email, {"password": _("Das Passwort ist falsch.")}, 401)
    except Conflict:
        return _change_page(new_email, {"new_email": _messages()[Conflict]}, 409)
    db.session.commit()
    return begin_flow(Purpose.EMAIL_CHANGE, row)


def _signed_in_user() -> User:
    user = current_user()
    assert user is not None  # flow_required
    return user


def _code_page(
    flow: VerificationFlow,
    error: str | None = None,
    *,
    notice: str | None = None,
    dead: bool = False,
    status: int | None = None,
) -> BaseResponse:
    body = render_template(
        "flows/verification/code.html", flow=flow, error=error, notice=notice, dead=dead
    )
    return Response(body, status=status or (400 if error else 200))


def _change_page(new_email: str, errors: dict[str, str | None], status: int = 200) -> Response:
    body = render_template(
        "flows/verification/change_email.html", new_email=new_email, errors=errors
    )
    return Response(body, status=status)
