"""Passkeys: adding one, confirming a sign-in with one (second factor), and
signing in with one alone from the login page (passwordless).

Each ceremony has two JSON calls: ``*_options`` keeps a challenge in the
session (single-use, 5 minutes, bound to its purpose and user) and returns the
options for ``navigator.credentials``; the verify call takes the browser's
answer and responds ``{"redirect": url}`` or ``{"error": message}``. The pages
run ``static/passkeys.js``. A passkey with user verification is possession and
inherence (or a PIN) at once, so signing in with it alone counts as MFA
(RFC 8176: amr "hwk", "user", "mfa").
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from idp import mfa
from idp.audit import EventTag, record_event
from idp.credentials import webauthn
from idp.errors import ChangeRejected
from idp.extensions import limiter
from idp.flows.login import finish_sign_in
from idp.flows.mfa import (
    ChallengeFlow,
    challenge_failed,
    challenge_required,
    complete_challenge,
    enrolling_user,
    enrolment_finished,
    enrolment_required,
)
from idp.oidc.authorize import ACR_MFA
from idp.security.limits import limit_from
from idp.sessions import current_session, current_user
from idp.store import Credential, CredentialType, User, db

bp = Blueprint("mfa_passkey", __name__, url_prefix="/mfa/passkey")

SESSION_KEY = "passkey"
# RFC 8176: a hardware-secured key ("hwk") that verified its user ("user"):
# possession plus a fingerprint or PIN, two factors ("mfa") in one gesture.
PASSWORDLESS_AMR = ["hwk", "mfa", "user"]
JSON_ENDPOINTS = {
    "mfa_passkey.register_options",
    "mfa_passkey.register_verify",
    "mfa_passkey.authenticate_options",
    "mfa_passkey.authenticate_verify",
}


@dataclass
class PendingCeremony:
    """A challenge handed to the browser, waiting for its answer."""

    challenge: str
    user_id: int | None
    expires_at: float


def _keep(purpose: str, ceremony: webauthn.Ceremony, user: User | None) -> None:
    stored = current_session().get(SESSION_KEY)
    stored = dict(stored) if isinstance(stored, dict) else {}
    stored[purpose] = dataclasses.asdict(
        PendingCeremony(
            challenge=ceremony.challenge,
            user_id=user.id if user else None,
            expires_at=time.time() + webauthn.CHALLENGE_LIFETIME,
        )
    )
    current_session()[SESSION_KEY] = stored


def _take(purpose: str, user: User | None) -> str | None:
    """The challenge for ``purpose``, removed: each one answers once."""
    stored = current_session().get(SESSION_KEY)
    stored = dict(stored) if isinstance(stored, dict) else {}
    data = stored.pop(purpose, None)
    current_session()[SESSION_KEY] = stored
    if not isinstance(data, dict):
        return None
    pending = PendingCeremony(**data)
    if pending.expires_at < time.time() or pending.user_id != (user.id if user else None):
        return None
    return pending.challenge


# -- pages ------------------------------------------------------------------
@bp.get("/")
@enrolment_required
def enrol(user: User) -> str:
    return render_template(
        "flows/mfa_passkey/enrol.html",
        passkeys=webauthn.passkeys_of(user),
        signed_in=current_user() is not None,
    )


@bp.get("/challenge")
@challenge_required
def challenge(flow: ChallengeFlow, user: User) -> str:
    remember = current_app.config["IDP"].mfa.remember_device_days > 0
    return render_template("flows/mfa_passkey/challenge.html", remember=remember)


@bp.post("/<int:credential_id>/rename")
def rename(credential_id: int) -> BaseResponse:
    user = current_user()
    if user is None:
        return redirect(url_for("login.login"))
    credential = db.session.get(Credential, credential_id)
    if (
        credential is None
        or credential.user_id != user.id
        or credential.type != CredentialType.WEBAUTHN
    ):
        return Response(render_template("errors/error.html", status=404), status=404)
    try:
        webauthn.rename(credential, request.form.get("name", "")[:1000])
    except ChangeRejected as rejected:
        flash(rejected.errors["name"], "error")
        return redirect(url_for("mfa_passkey.enrol"))
    db.session.commit()
    flash(_("Der Passkey wurde umbenannt."), "success")
    return redirect(url_for("mfa_passkey.enrol"))


# -- registration (JSON) ----------------------------------------------------
@bp.post("/register/options")
def register_options() -> Response:
    user, _flow = enrolling_user()
    if user is None:
        return _signed_out()
    try:
        webauthn.check_name(_body().get("name"))
    except ChangeRejected as rejected:
        return _error(rejected.errors["name"], field="name")
    ceremony = webauthn.registration_options(user)
    _keep("register", ceremony, user)
    return jsonify(ceremony.options)


@bp.post("/register")
def register_verify() -> Response:
    user, _flow = enrolling_user()
    if user is None:
        return _signed_out()
    body = _body()
    challenge = _take("register", user)
    if challenge is None:
        return _error(_expired())
    try:
        credential = webauthn.register(user, body.get("credential"), challenge, body.get("name"))
    except ChangeRejected as rejected:
        return _error(rejected.errors["name"], field="name")
    except webauthn.PasskeyAlreadyRegistered:
        return _error(_("Dieser Passkey ist bereits eingerichtet."))
    except webauthn.PasskeyRejected:
        return _error(
            _("Der Passkey konnte nicht eingerichtet werden. Bitte versuchen Sie es erneut.")
        )
    mfa.record_change(user, EventTag.MFA_ENROLLED, credential)
    response = enrolment_finished(user, credential, mfa.AMR[CredentialType.WEBAUTHN])
    db.session.commit()
    return _as_json(response)


# -- authentication (JSON) --------------------------------------------------
@bp.post("/authenticate/options")
def authenticate_options() -> Response:
    """``mode`` "second_factor" (the challenge page) or "sign_in" (the login
    page, which asks on every visit for its autofill: not rate-limited, it only
    hands out a challenge)."""
    mode = _mode()
    if mode is None:
        return _error(_("Die Anfrage konnte nicht verarbeitet werden."))
    user = None
    if mode == "second_factor":
        challenged = _challenged()
        if challenged is None:
            return _signed_out()
        user = challenged[1]
    ceremony = webauthn.authentication_options(user)
    _keep(mode, ceremony, user)
    return jsonify(ceremony.options)


@bp.post("/authenticate")
@limiter.limit(limit_from("login_limit_ip"), methods=["POST"])
def authenticate_verify() -> Response:
    mode = _mode()
    if mode == "second_factor":
        return _second_factor()
    if mode == "sign_in":
        return _sign_in()
    return _error(_("Die Anfrage konnte nicht verarbeitet werden."))


def _second_factor() -> Response:
    """After the password: the passkey must be one of this person's."""
    challenged = _challenged()
    if challenged is None:
        return _signed_out()
    flow, user = challenged
    challenge = _take("second_factor", user)
    if challenge is None:
        return _error(_expired())
    try:
        credential, _verified = webauthn.authenticate(_body().get("credential"), challenge, user)
    except webauthn.PasskeyRejected as rejected:
        message = _refused(rejected)
        ended = challenge_failed(flow)
        db.session.commit()
        return _error(message, redirect=ended.headers["Location"] if ended else None)
    return _as_json(complete_challenge(flow, user, credential, mfa.AMR[CredentialType.WEBAUTHN]))


def _sign_in() -> Response:
    """Passwordless: the passkey names its owner, who signs in with MFA."""
    challenge = _take("sign_in", None)
    if challenge is None:
        return _error(_expired())
    try:
        credential, _verified = webauthn.authenticate(_body().get("credential"), challenge, None)
    except webauthn.PasskeyRejected as rejected:
        message = _refused(rejected)
        db.session.commit()
        return _error(message)
    owner = db.session.get(User, credential.user_id)
    if owner is None or not owner.is_active:
        db.session.rollback()
        return _error(
            _("Ihr Konto ist gesperrt. Bitte wenden Sie sich an Ihren Administrator."), 403
        )
    rid = str(_body().get("rid") or "")[:100]
    # Without a user, ``authenticate`` demanded user verification (UV flag).
    return _as_json(finish_sign_in(owner, rid, amr=PASSWORDLESS_AMR, acr=ACR_MFA))


def _refused(rejected: webauthn.PasskeyRejected) -> str:
    """The message for a refused assertion; a copied key is put on record."""
    if isinstance(rejected, webauthn.PasskeyCloned):
        owner = db.session.get(User, rejected.credential.user_id)
        record_event(
            EventTag.LOGIN_FAILED,
            user=owner,
            reason="passkey_cloned",
            name=rejected.credential.name,
        )
        return _(
            "Dieser Passkey wurde abgelehnt, weil er kopiert worden sein könnte. Bitte "
            "melden Sie sich auf andere Art an und entfernen Sie den Passkey."
        )
    return _("Der Passkey konnte nicht bestätigt werden. Bitte versuchen Sie es erneut.")


# -- helpers ----------------------------------------------------------------
def _challenged() -> tuple[ChallengeFlow, User] | None:
    """The person owing a second factor (as ``challenge_required`` checks)."""
    flow = ChallengeFlow.load()
    user = db.session.get(User, flow.user_id) if flow else None
    if flow is None or user is None or not user.is_active or flow.purpose == "enrol":
        return None
    return flow, user


def _body() -> dict[str, Any]:
    """The request's fields: a JSON object, or a form (the challenge page posts
    its form, so ``complete_challenge`` finds the remember-device checkbox)."""
    if request.is_json:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}
    return request.form.to_dict()


def _mode() -> str | None:
    mode = _body().get("mode") or "sign_in"
    return mode if mode in ("second_factor", "sign_in") else None


def _expired() -> str:
    return _("Die Anfrage ist abgelaufen. Bitte versuchen Sie es erneut.")


def _error(message: str, status: int = 400, **extra: Any) -> Response:
    response = jsonify(error=message, **{k: v for k, v in extra.items() if v is not None})
    response.status_code = status
    return response


def _signed_out() -> Response:
    return _error(_("Bitte melden Sie sich erneut an."), 401, redirect=url_for("login.login"))


def _as_json(response: BaseResponse) -> Response:
    """A flow's redirect as ``{"redirect": url}`` for the script, with its
    cookies (the remembered-device cookie)."""
    body = jsonify(redirect=response.headers["Location"])
    for cookie in response.headers.getlist("Set-Cookie"):
        body.headers.add("Set-Cookie", cookie)
    return body


@bp.errorhandler(CSRFError)
@bp.errorhandler(HTTPException)
def json_error(error: HTTPException) -> Response:
    """The JSON calls answer errors in JSON too (an expired CSRF token, a body
    too large, too many requests); the pages get the error page."""
    status = error.code or 400
    csrf = isinstance(error, CSRFError)
    if request.endpoint not in JSON_ENDPOINTS:
        body = render_template("errors/error.html", status=status, csrf=csrf)
        return Response(body, status=status)
    if csrf:
        message = _(
            "Das Formular ist abgelaufen. Bitte laden Sie die Seite neu und versuchen Sie es "
            "noch einmal."
        )
    elif status == 413:
        message = _("Die gesendeten Daten sind zu groß.")
    elif status == 429:
        message = _("Bitte warten Sie einen Moment und versuchen Sie es dann erneut.")
    else:
        message = _("Die Anfrage konnte nicht verarbeitet werden.")
    return _error(message, status)
