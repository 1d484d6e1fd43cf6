"""Recovery channel: setting a recovery email or phone in the settings, and
"Ich habe keinen Zugriff mehr auf meine Methoden" inside a challenge.

Which channel code the browser waits for is one ``ChannelCodeFlow`` record in
the session: "confirm" (a new channel, for the signed-in user) or "recover"
(every factor lost, for the person in a ``ChallengeFlow`` who passed the
password). The reset itself waits ``mfa.recovery_wait_hours`` and can be
cancelled from the mail to the main address; see
``idp.credentials.recovery_channel`` for the rules.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from dataclasses import dataclass

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
from flask_babel import ngettext
from werkzeug.wrappers import Response as BaseResponse

from idp.credentials import recovery_channel as channels
from idp.errors import (
    ChangeRejected,
    CodeExpired,
    CodeInvalid,
    DomainError,
    SendLimitReached,
    TooManyAttempts,
    TooSoon,
)
from idp.extensions import limiter
from idp.flows import mfa as mfa_flow
from idp.flows.mfa import ChallengeFlow, challenge_required
from idp.security.limits import limit_from
from idp.sessions import current_session, current_user
from idp.sms import GatewayError
from idp.store import User, db

bp = Blueprint("mfa_recovery_channel", __name__, url_prefix="/mfa/recovery-channel")

SESSION_KEY = "mfa_recovery_channel"
MAX_PASSWORD_LENGTH = 1024
CODE_ERRORS = (CodeInvalid, CodeExpired, TooManyAttempts)
SEND_ERRORS = (TooSoon, SendLimitReached, GatewayError)
DEAD_LINK = (CodeInvalid, CodeExpired)


@dataclass
class ChannelCodeFlow:
    """The channel code this browser waits for, whose it is, and where it went
    (as the page shows it)."""

    purpose: str  # "confirm" | "recover"
    token_id: int
    user_id: int
    shown_to: str

    @classmethod
    def load(cls, purpose: str, user: User) -> ChannelCodeFlow | None:
        data = current_session().get(SESSION_KEY)
        try:
            flow = cls(**data) if isinstance(data, dict) else None
        except TypeError:  # a record of an older shape
            return None
        if flow is None or flow.purpose != purpose or flow.user_id != user.id:
            return None
        return flow

    def save(self) -> None:
        current_session()[SESSION_KEY] = dataclasses.asdict(self)

    @staticmethod
    def drop() -> None:
        current_session().pop(SESSION_KEY, None)


# -- settings: set or change the channel ------------------------------------------
@bp.route("/", methods=["GET", "POST"])
@limiter.limit(limit_from("code_limit_ip", "accounts"), methods=["POST"])
def edit() -> BaseResponse:
    """Set a recovery address or number; a code to it confirms the change."""
    user = current_user()
    if user is None:
        return redirect(url_for("login.login"))
    form = {name: request.form.get(name, "")[:400] for name in ("recovery_email", "recovery_phone")}
    if request.method == "GET":
        return _edit_page(user, form, {})
    try:
        row, destination = channels.begin_change(
            user,
            password=request.form.get("current_password", "")[:MAX_PASSWORD_LENGTH],
            email=form["recovery_email"],
            phone=form["recovery_phone"],
        )
    except ChangeRejected as rejected:
        return _edit_page(user, form, rejected.errors, 400)
    except SEND_ERRORS as failure:
        db.session.rollback()
        return _edit_page(user, form, {"form": _send_failure(failure)}, 429)
    ChannelCodeFlow("confirm", row.id, user.id, destination.value).save()
    db.session.commit()
    return redirect(url_for("mfa_recovery_channel.confirm"))


@bp.route("/confirm", methods=["GET", "POST"])
@limiter.limit(limit_from("code_limit_ip", "accounts"), methods=["POST"])
def confirm() -> BaseResponse:
    """The code page for a new channel."""
    user = current_user()
    flow = ChannelCodeFlow.load("confirm", user) if user else None
    if user is None or flow is None:
        flash(_("Es wartet kein Code auf Ihre Eingabe. Bitte beginnen Sie erneut."), "warning")
        return redirect(url_for("mfa_recovery_channel.edit"))
    if request.method == "GET":
        return _code_page(flow)
    typed = _typed_code()
    if typed is None:
        return _code_page(flow, _("Bitte geben Sie den 6-stelligen Code ein."))
    try:
        channels.confirm_change(user, flow.token_id, typed)
    except CODE_ERRORS as failure:
        db.session.commit()  # the wrong try counts
        return _code_page(flow, _code_failure(failure), dead=isinstance(failure, TooManyAttempts))
    ChannelCodeFlow.drop()
    db.session.commit()
    flash(_("Ihre Wiederherstellungsadresse ist gespeichert."), "success")
    return redirect(url_for("mfa.setup"))


# -- every factor lost --------------------------------------------------------------
@bp.route("/lost", methods=["GET", "POST"])
@limiter.limit(limit_from("code_limit_ip", "accounts"), methods=["POST"])
@challenge_required
def lost(flow: ChallengeFlow, user: User) -> BaseResponse:
    """ "Ich habe keinen Zugriff mehr auf meine Methoden": a code to the channel
    requests the reset, or completes it once the waiting period is over."""
    if request.method == "GET":
        return _lost_page(user)
    try:
        row, destination = channels.begin_recovery(user)
    except (channels.NoRecoveryChannel, channels.ResetPending):
        return redirect(url_for("mfa_recovery_channel.lost"))
    except SEND_ERRORS as failure:
        db.session.rollback()
        return _lost_page(user, _send_failure(failure), 429)
    ChannelCodeFlow("recover", row.id, user.id, mask(destination)).save()
    db.session.commit()
    return redirect(url_for("mfa_recovery_channel.lost_code"))


@bp.route("/lost/code", methods=["GET", "POST"])
@limiter.limit(limit_from("code_limit_ip", "accounts"), methods=["POST"])
@challenge_required
def lost_code(flow: ChallengeFlow, user: User) -> BaseResponse:
    code_flow = ChannelCodeFlow.load("recover", user)
    if code_flow is None:
        return redirect(url_for("mfa_recovery_channel.lost"))
    if request.method == "GET":
        return _code_page(code_flow)
    typed = _typed_code()
    if typed is None:
        return _code_page(code_flow, _("Bitte geben Sie den 6-stelligen Code ein."))
    try:
        outcome, _reset = channels.complete_recovery(user, code_flow.token_id, typed)
    except CODE_ERRORS as failure:
        restart = mfa_flow.challenge_failed(flow)
        db.session.commit()  # the wrong try counts
        if restart is not None:
            ChannelCodeFlow.drop()
            return restart
        dead = isinstance(failure, TooManyAttempts)
        return _code_page(code_flow, _code_failure(failure), dead=dead)
    except channels.ResetPending:
        db.session.commit()
        return redirect(url_for("mfa_recovery_channel.lost"))
    ChannelCodeFlow.drop()
    if outcome == "reset":
        return mfa_flow.begin(user, flow.rid, flow.amr, "enrol")  # commits
    db.session.commit()
    flash(_("Ihr Antrag auf Zurücksetzen ist eingegangen."), "success")
    return redirect(url_for("mfa_recovery_channel.lost"))


# -- the cancel link from the mail ------------------------------------------------------
@bp.route("/cancel/<token>", methods=["GET", "POST"])
@limiter.limit(limit_from("code_limit_ip", "accounts"), methods=["POST"])
def cancel(token: str) -> BaseResponse:
    """GET asks (mail scanners open links), POST cancels the reset."""
    try:
        if request.method == "GET":
            reset = channels.check_cancel_link(token)
            return _render("cancel.html", token=token, effective_at=channels.effective_at(reset))
        channels.cancel_reset(token)
    except DEAD_LINK:
        return _render("invalid.html", status=400)
    db.session.commit()
    return redirect(url_for("mfa_recovery_channel.cancelled"))


@bp.get("/cancelled")
def cancelled() -> BaseResponse:
    return _render("cancelled.html")


# -- helpers --------------------------------------------------------------------------
def mask(destination: channels.Destination) -> str:
    """What a person who only passed the password may see of the channel."""
    if destination.kind == "phone":
        return mfa_flow.mask_phone(destination.value)
    local, _at, domain = destination.value.partition("@")
    return f"{local[:1]}…@{domain}"


def _typed_code() -> str | None:
    typed = unicodedata.normalize("NFKC", request.form.get("code", "")[:64]).replace(" ", "")
    return typed if len(typed) == 6 and typed.isascii() and typed.isdigit() else None


def _code_failure(failure: DomainError) -> str:
    if isinstance(failure, CodeExpired):
        return _("Der Code ist abgelaufen. Bitte fordern Sie einen neuen Code an.")
    if isinstance(failure, TooManyAttempts):
        return _(
            "Der Code wurde zu oft falsch eingegeben und ist nicht mehr gültig. "
            "Bitte fordern Sie einen neuen Code an, indem Sie erneut beginnen."
        )
    return _("Der Code ist falsch. Bitte überprüfen Sie ihn und versuchen Sie es erneut.")


def _send_failure(failure: DomainError) -> str:
    if isinstance(failure, TooSoon):
        return ngettext(
            "Bitte warten Sie %(num)d Sekunde, bevor Sie einen neuen Code anfordern.",
            "Bitte warten Sie %(num)d Sekunden, bevor Sie einen neuen Code anfordern.",
            current_app.config["IDP"].accounts.resend_interval,
        )
    if isinstance(failure, SendLimitReached):
        return _(
            "An diese Nummer wurden zu viele Codes gesendet. Bitte versuchen Sie es später erneut."
        )
    return _("Die SMS konnte nicht gesendet werden. Bitte versuchen Sie es später erneut.")


def _edit_page(
    user: User, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> BaseResponse:
    return _render(
        "edit.html",
        status=status,
        channel=channels.channel_of(user),
        values=values,
        errors=errors,
    )


def _lost_page(user: User, error: str | None = None, status: int = 200) -> BaseResponse:
    channel = channels.channel_of(user)
    pending = channels.pending_reset(user)
    return _render(
        "lost.html",
        status=status,
        error=error,
        shown_to=mask(channels.destination_of(channel)) if channel else None,
        pending=pending,
        due=pending is not None and channels.is_due(pending),
        effective_at=channels.effective_at(pending) if pending else None,
        hours=current_app.config["IDP"].mfa.recovery_wait_hours,
    )


def _code_page(
    flow: ChannelCodeFlow, error: str | None = None, *, dead: bool = False
) -> BaseResponse:
    return _render("code.html", status=400 if error else 200, flow=flow, error=error, dead=dead)


def _render(template: str, status: int = 200, **context: object) -> BaseResponse:
    body = render_template(f"flows/mfa_recovery_channel/{template}", **context)
    return Response(body, status=status)
