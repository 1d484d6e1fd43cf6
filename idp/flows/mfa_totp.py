"""Authenticator app ("Authentifizierungs-App"): enrolment with a QR code, and
the second step of signing in with the app's code.

Enrolment shows a fresh secret (QR code and text) on every visit and completes
only with a correct code from the app; until then the credential is unconfirmed
and counts for nothing. The challenge accepts a code of any of the user's apps,
each time step once.
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
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from idp import mfa
from idp.audit import EventTag
from idp.credentials import totp
from idp.errors import CodeInvalid, NotFound
from idp.extensions import limiter
from idp.flows.mfa import (
    ChallengeFlow,
    challenge_failed,
    challenge_required,
    complete_challenge,
    enrolment_finished,
    enrolment_required,
)
from idp.security.limits import limit_from
from idp.store import Credential, CredentialType, User, db

bp = Blueprint("mfa_totp", __name__, url_prefix="/mfa/totp")


@bp.route("/enrol", methods=["GET", "POST"])
@limiter.limit(limit_from("code_limit_ip", "accounts"), methods=["POST"])
@enrolment_required
def enrol(user: User) -> BaseResponse:
    if request.method == "GET":
        credential, secret = totp.begin_enrolment(user)
        db.session.commit()
        return _enrol_page(user, credential, secret)
    credential_id = _form_int("credential")
    code = request.form.get("code", "")
    try:
        credential = totp.confirm(user, credential_id, code)
    except NotFound:
        flash(_("Die Einrichtung ist abgelaufen. Bitte scannen Sie den neuen QR-Code."), "warning")
        return redirect(url_for("mfa_totp.enrol"))
    except CodeInvalid:
        db.session.rollback()
        credential, secret = totp.pending_enrolment(user, credential_id)
        return _enrol_page(user, credential, secret, _code_error(code), 400)
    mfa.record_change(user, EventTag.MFA_ENROLLED, credential)
    response = enrolment_finished(user, credential, "otp")
    db.session.commit()
    return response


@bp.route("/challenge", methods=["GET", "POST"])
@limiter.limit(limit_from("code_limit_ip", "accounts"), methods=["POST"])
@challenge_required
def challenge(flow: ChallengeFlow, user: User) -> BaseResponse:
    """ "Bestätigen Sie Ihre Identität" with the app's code. Five wrong codes
    end the flow (``challenge_failed``)."""
    if not mfa.credentials_of(user, CredentialType.TOTP):
        return redirect(url_for("mfa.choose"))
    if request.method == "GET":
        return _challenge_page()
    code = request.form.get("code", "")
    if totp.normalise(code) is None:
        return _challenge_page(_code_error(code), 400)
    try:
        credential = totp.verify(user, code)
    except CodeInvalid as failure:
        db.session.rollback()
        ended = challenge_failed(flow)
        if ended is not None:
            return ended
        return _challenge_page(_code_error(code, failure), 400)
    return complete_challenge(flow, user, credential, "otp")


def _code_error(code: str, failure: CodeInvalid | None = None) -> str:
    if totp.normalise(code) is None:
        return _("Bitte geben Sie den 6-stelligen Code aus Ihrer Authentifizierungs-App ein.")
    if isinstance(failure, totp.CodeReused):
        return _("Dieser Code wurde bereits verwendet. Bitte warten Sie auf den nächsten Code.")
    return _("Der Code ist falsch. Bitte überprüfen Sie ihn und versuchen Sie es erneut.")


def _form_int(name: str) -> int:
    raw = request.form.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else 0


def _enrol_page(
    user: User, credential: Credential, secret: str, error: str | None = None, status: int = 200
) -> BaseResponse:
    uri = totp.provisioning_uri(user, secret)
    body = render_template(
        "flows/mfa_totp/enrol.html",
        user=user,
        credential=credential,
        qr_svg=Markup(totp.qr_svg(uri)),  # noqa: S704 - segno's own SVG, no user input
        issuer=totp.issuer_name(),
        secret=totp.grouped(secret),
        error=error,
    )
    return Response(body, status=status)


def _challenge_page(error: str | None = None, status: int = 200) -> BaseResponse:
    remember = current_app.config["IDP"].mfa.remember_device_days > 0
    body = render_template("flows/mfa_totp/challenge.html", error=error, remember=remember)
    return Response(body, status=status)
