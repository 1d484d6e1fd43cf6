"""SMS and voice-call codes as a second factor: enrolment ("Identität auf andere
Art bestätigen": number + SMS or call, then the code) and the sign-in step.

The code on its way is one ``PendingCode`` under the session key ``mfa_phone``
(server-side session, so its attempt count cannot be reset by the browser).
At sign-in nothing is sent on GET: the page offers a "Code senden" / "Anrufen"
button, so reloading the page never costs a message.
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

from idp.credentials import phone
from idp.credentials.phone import AlreadyEnrolled, CodeThrottled, NumberRejected, PendingCode
from idp.errors import CodeExpired, CodeInvalid, DomainError, TooManyAttempts
from idp.extensions import limiter
from idp.flows.mfa import (
    ChallengeFlow,
    challenge_failed,
    challenge_required,
    complete_challenge,
    enrolment_finished,
    enrolment_required,
    mask_phone,
)
from idp.security.limits import limit_from
from idp.sessions import current_session
from idp.sms import GatewayError
from idp.store import Credential, User, db

bp = Blueprint("mfa_phone", __name__, url_prefix="/mfa/phone")

SESSION_KEY = "mfa_phone"
MAX_NUMBER_INPUT = 200
CODE_LIMIT = limit_from("code_limit_ip", "accounts")


def _pending() -> PendingCode | None:
    return PendingCode.from_dict(current_session().get(SESSION_KEY))


def _keep(pending: PendingCode) -> None:
    current_session()[SESSION_KEY] = pending.as_dict()


def _drop() -> None:
    current_session().pop(SESSION_KEY, None)


def _message(failure: DomainError) -> tuple[str, int]:
    """The message and status for a failure of sending or checking a code."""
    if isinstance(failure, CodeThrottled):
        return _("Es wurden zu viele Codes angefordert. Bitte versuchen Sie es später erneut."), 429
    if isinstance(failure, GatewayError):
        return (
            _("Der Code konnte nicht gesendet werden. Bitte versuchen Sie es später erneut."),
            503,
        )
    if isinstance(failure, CodeExpired):
        return _("Der Code ist abgelaufen. Bitte fordern Sie einen neuen Code an."), 400
    if isinstance(failure, TooManyAttempts):
        return (
            _(
                "Der Code wurde zu oft falsch eingegeben und ist nicht mehr gültig. "
                "Bitte fordern Sie einen neuen Code an."
            ),
            400,
        )
    if isinstance(failure, AlreadyEnrolled):
        return _("Diese Telefonnummer ist bereits eingerichtet."), 400
    return _("Der Code ist falsch. Bitte überprüfen Sie ihn und versuchen Sie es erneut."), 400


# -- enrolment ---------------------------------------------------------------
@bp.route("/", methods=["GET", "POST"])
@limiter.limit(CODE_LIMIT, methods=["POST"])
@enrolment_required
def enrol(user: User) -> BaseResponse | str:
    """Number and channel; the first code goes out at once."""
    if request.method == "GET":
        return _enrol_page()
    number = request.form.get("number", "")[:MAX_NUMBER_INPUT]
    channel = request.form.get("channel", "")
    try:
        _credential, pending = phone.begin_enrolment(user, number, channel)
    except NumberRejected as rejected:
        db.session.rollback()
        return _enrol_page(number, {rejected.field: rejected.reason}, status=400)
    except AlreadyEnrolled as failure:
        db.session.rollback()
        return _enrol_page(number, {"number": _message(failure)[0]}, status=400)
    except (CodeThrottled, GatewayError) as failure:
        db.session.rollback()
        message, status = _message(failure)
        return _enrol_page(number, {"form": message}, status=status)
    _keep(pending)
    db.session.commit()
    return redirect(url_for("mfa_phone.confirm"))


@bp.route("/confirm", methods=["GET", "POST"])
@limiter.limit(CODE_LIMIT, methods=["POST"])
@enrolment_required
def confirm(user: User) -> BaseResponse | str:
    """The code sent for enrolment; the right one makes the number a factor."""
    pending = _pending()
    credential = phone.pending_enrolment(user, pending.credential_id) if pending else None
    if pending is None or credential is None or not pending.belongs_to(user, credential):
        flash(_("Es wartet kein Code auf Ihre Eingabe. Bitte beginnen Sie erneut."), "warning")
        return redirect(url_for("mfa_phone.enrol"))
    if request.method == "GET":
        return _confirm_page(credential)
    if request.form.get("action") == "resend":
        return _resend(user, credential)
    try:
        phone.confirm_enrolment(user, credential, pending, request.form.get("code", ""))
    except (CodeInvalid, CodeExpired, TooManyAttempts, AlreadyEnrolled) as failure:
        _keep(pending)  # the try counts
        db.session.commit()
        message, status = _message(failure)
        return _confirm_page(credential, message, status)
    _drop()
    db.session.commit()
    return enrolment_finished(user, credential, phone.amr_of(credential))


def _resend(user: User, credential: Credential) -> BaseResponse:
    try:
        pending = phone.send_code(user, credential)
    except (CodeThrottled, GatewayError) as failure:
        message, status = _message(failure)
        return _confirm_page(credential, notice=message, status=status)
    _keep(pending)
    db.session.commit()
    flash(_sent_message(credential), "success")
    return redirect(url_for("mfa_phone.confirm"))


# -- sign-in -----------------------------------------------------------------
@bp.route("/challenge", methods=["GET", "POST"])
@limiter.limit(CODE_LIMIT, methods=["POST"])
@challenge_required
def challenge(flow: ChallengeFlow, user: User) -> BaseResponse | str:
    """GET shows the page (nothing is sent); POST checks the code."""
    credential = phone.find_factor(user, request.values.get("credential", "")[:20])
    if credential is None:
        return redirect(url_for("mfa.choose"))
    if request.method == "GET":
        return _challenge_page(user, credential)
    pending = _pending()
    if pending is None or not pending.belongs_to(user, credential):
        return _challenge_page(
            user, credential, error=_("Bitte fordern Sie zuerst einen Code an."), status=400
        )
    try:
        phone.verify_code(pending, user, credential, request.form.get("code", ""))
    except (CodeInvalid, CodeExpired, TooManyAttempts) as failure:
        _keep(pending)
        ended = None if isinstance(failure, CodeExpired) else challenge_failed(flow)
        if ended is not None:
            _drop()
            return ended
        message, status = _message(failure)
        return _challenge_page(user, credential, error=message, status=status)
    _drop()
    return complete_challenge(flow, user, credential, phone.amr_of(credential))


@bp.post("/send")
@limiter.limit(CODE_LIMIT)
@challenge_required
def send(flow: ChallengeFlow, user: User) -> BaseResponse | str:
    """ "Code senden" / "Anrufen": a code to the chosen number."""
    credential = phone.find_factor(user, request.form.get("credential", "")[:20])
    if credential is None:
        return redirect(url_for("mfa.choose"))
    try:
        pending = phone.send_code(user, credential)
    except (CodeThrottled, GatewayError) as failure:
        message, status = _message(failure)
        return _challenge_page(user, credential, notice=message, status=status)
    _keep(pending)
    db.session.commit()
    flash(_sent_message(credential), "success")
    return redirect(url_for("mfa_phone.challenge", credential=credential.id))


# -- pages -------------------------------------------------------------------
def _sent_message(credential: Credential) -> str:
    if phone.channel_of(credential) == "voice":
        return _("Wir rufen Sie jetzt an und nennen Ihnen den Code.")
    return _("Wir haben Ihnen einen Code per SMS gesendet.")


def _enrol_page(
    number: str = "", errors: dict[str, str] | None = None, status: int = 200
) -> BaseResponse:
    body = render_template("flows/mfa_phone/enrol.html", number=number, errors=errors or {})
    return Response(body, status=status)


def _confirm_page(
    credential: Credential, error: str | None = None, status: int = 200, notice: str | None = None
) -> BaseResponse:
    body = render_template(
        "flows/mfa_phone/confirm.html",
        channel=phone.channel_of(credential),
        number=phone.display_number(credential.data.get("number", "")),
        error=error,
        notice=notice,
    )
    return Response(body, status=status)


def _challenge_page(
    user: User,
    credential: Credential,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> BaseResponse:
    pending = _pending()
    body = render_template(
        "flows/mfa_phone/challenge.html",
        credential=credential,
        channel=phone.channel_of(credential),
        number=mask_phone(credential.data.get("number", "")),
        sent=pending is not None and pending.belongs_to(user, credential) and pending.live,
        remember=current_app.config["IDP"].mfa.remember_device_days > 0,
        error=error,
        notice=notice,
    )
    return Response(body, status=status)
