"""The second step of signing in, and the MFA settings page.

After the password (or the registration code) ``after_first_factor`` decides:
no second factor needed → signed in; a factor enrolled → the challenge step;
required by policy but none enrolled → enrolment first. Until a factor is
passed the browser holds only a ``ChallengeFlow`` record, not a session with a
user, so no later URL of the login flow can be reached before the step is done.

Each factor has its own blueprint (``mfa_totp``, ``mfa_phone``, ``mfa_passkey``,
``mfa_recovery``) with an enrolment and a challenge page; they finish with
``complete_challenge`` or ``enrolment_finished`` from here.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
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
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from idp import mfa
from idp.audit import EventTag
from idp.credentials import password as password_credential
from idp.errors import InvalidCredentials
from idp.flows import state
from idp.oidc.authorize import ACR_MFA
from idp.sessions import current_session, current_user
from idp.store import Credential, CredentialType, User, db

bp = Blueprint("mfa", __name__, url_prefix="/mfa")

SESSION_KEY = "mfa"
FLOW_LIFETIME = 10 * 60

# The challenge page of each factor type, when its blueprint is installed.
CHALLENGE_ENDPOINTS = {
    CredentialType.TOTP: "mfa_totp.challenge",
    CredentialType.PHONE: "mfa_phone.challenge",
    CredentialType.WEBAUTHN: "mfa_passkey.challenge",
    CredentialType.RECOVERY_CODE: "mfa_recovery.challenge",
}


@dataclass
class ChallengeFlow:
    """A person who passed the first factor and now owes a second one
    (``purpose`` "login" or "step_up"), or must enrol one first ("enrol")."""

    user_id: int
    rid: str
    amr: list[str]
    purpose: str = "login"
    started_at: float = field(default_factory=time.time)
    failures: int = 0

    @classmethod
    def load(cls) -> ChallengeFlow | None:
        data = current_session().get(SESSION_KEY)
        if not isinstance(data, dict):
            return None
        flow = cls(**data)
        return None if time.time() - flow.started_at > FLOW_LIFETIME else flow

    def save(self) -> None:
        current_session()[SESSION_KEY] = dataclasses.asdict(self)

    @staticmethod
    def drop() -> None:
        current_session().pop(SESSION_KEY, None)


def after_first_factor(user: User, rid: str, amr: list[str]) -> BaseResponse:
    """Password (or registration) done: sign in, challenge, or enrol first."""
    from idp.flows.login import finish_sign_in

    pending = state.load(rid)
    client_id = pending.params.get("client_id") if pending else None
    remembered = mfa.is_remembered(user, request.cookies.get(mfa.DEVICE_COOKIE))
    if mfa.has_second_factor(user) and not remembered:
        return begin(user, rid, amr, "login")
    if mfa.required_for(client_id) and not mfa.has_second_factor(user):
        return begin(user, rid, amr, "enrol")
    return finish_sign_in(user, rid, amr=amr)


def begin(user: User, rid: str, amr: list[str], purpose: str) -> BaseResponse:
    ChallengeFlow(user_id=user.id, rid=rid, amr=amr, purpose=purpose).save()
    db.session.commit()
    if purpose == "enrol":
        flash(_("Bitte richten Sie jetzt die Multi-Faktor-Authentifizierung ein."), "info")
        return redirect(url_for("mfa.setup"))
    return redirect(url_for("mfa.challenge"))


def challenge_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Guard for challenge pages: the view gets (flow, user)."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        flow = ChallengeFlow.load()
        user = db.session.get(User, flow.user_id) if flow else None
        if flow is None or user is None or not user.is_active or flow.purpose == "enrol":
            flash(_("Bitte melden Sie sich erneut an."), "warning")
            return redirect(url_for("login.login"))
        return view(flow, user, *args, **kwargs)

    return guarded


MAX_CHALLENGE_FAILURES = 5


def challenge_failed(flow: ChallengeFlow) -> BaseResponse | None:
    """Count a wrong second factor. After five the flow ends and the person
    starts again with the password, so codes cannot be guessed in one flow."""
    flow.failures += 1
    if flow.failures < MAX_CHALLENGE_FAILURES:
        flow.save()
        return None
    ChallengeFlow.drop()
    flash(_("Zu viele falsche Eingaben. Bitte melden Sie sich erneut an."), "error")
    return redirect(url_for("login.login", rid=flow.rid or None))


def enrolling_user() -> tuple[User | None, ChallengeFlow | None]:
    """Who may enrol a factor now: the person whom the policy (or a client's
    step-up) sends through enrolment before sign-in completes, or else the
    signed-in user."""
    flow = ChallengeFlow.load()
    signed_in = current_user()
    if flow is not None and flow.purpose == "enrol":
        candidate = db.session.get(User, flow.user_id)
        if candidate is not None and candidate.is_active and signed_in in (None, candidate):
            return candidate, flow
    return signed_in, None


def enrolment_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Guard for enrolment pages: the view gets the user."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        user, _flow = enrolling_user()
        if user is None:
            return redirect(url_for("login.login"))
        return view(user, *args, **kwargs)

    return guarded


def complete_challenge(
    flow: ChallengeFlow, user: User, credential: Credential, amr_value: str
) -> BaseResponse:
    """A second factor was passed: sign in with truthful amr/acr (RFC 8176),
    and remember this browser if asked."""
    from idp.flows.login import finish_sign_in

    mfa.note_used(credential)
    ChallengeFlow.drop()
    amr = sorted({*flow.amr, amr_value, "mfa"})
    response = finish_sign_in(user, flow.rid, amr=amr, acr=ACR_MFA)
    if request.form.get("remember_device") and current_app.config["IDP"].mfa.remember_device_days:
        token, max_age = mfa.remember_device(user, request.user_agent.string)
        db.session.commit()
        response.set_cookie(
            mfa.DEVICE_COOKIE,
            token,
            max_age=max_age,
            httponly=True,
            secure=current_app.config["IDP"].uses_tls,
            samesite="Lax",
        )
    return response


def enrolment_finished(user: User, credential: Credential, amr_value: str) -> BaseResponse:
    """A factor was confirmed. The first one brings a recovery code, shown once;
    a person in forced enrolment is then signed in with it."""
    has_code = bool(mfa.credentials_of(user, CredentialType.RECOVERY_CODE))
    if not has_code and "mfa_recovery.show_new" in current_app.view_functions:
        return redirect(url_for("mfa_recovery.show_new", next=credential.id))
    return continue_after_enrolment(user, credential, amr_value)


def continue_after_enrolment(user: User, credential: Credential, amr_value: str) -> BaseResponse:
    _user, flow = enrolling_user()
    if flow is not None:
        return complete_challenge(flow, user, credential, amr_value)
    flash(_("Die Multi-Faktor-Authentifizierung ist eingerichtet."), "success")
    return redirect(url_for("mfa.setup"))


# -- views ------------------------------------------------------------------
@bp.get("/")
@challenge_required
def challenge(flow: ChallengeFlow, user: User) -> BaseResponse:
    """The last used factor first (the manual's default)."""
    preferred = mfa.preferred_factor(user)
    endpoint = CHALLENGE_ENDPOINTS.get(CredentialType(preferred.type)) if preferred else None
    if endpoint is None or endpoint not in current_app.view_functions:
        return redirect(url_for("mfa.choose"))
    return redirect(url_for(endpoint))


@bp.get("/step-up")
def step_up() -> BaseResponse:
    """A signed-in user whose client wants a second factor (acr_values, an
    essential acr claim, or the policy): challenge, or enrol when none exists."""
    user = current_user()
    record = current_session().record
    rid = request.args.get("rid", "")
    if user is None or record is None or state.load(rid) is None:
        return redirect(url_for("login.login", rid=rid or None))
    purpose = "login" if mfa.has_second_factor(user) else "enrol"
    return begin(user, rid, list(record.amr or ["pwd"]), purpose)


@bp.get("/choose")
@challenge_required
def choose(flow: ChallengeFlow, user: User) -> str:
    """ "Identität auf andere Art bestätigen": every enrolled way, and the recovery code."""
    options = [
        (credential, CHALLENGE_ENDPOINTS[CredentialType(credential.type)])
        for credential in mfa.second_factors(user)
        if CHALLENGE_ENDPOINTS[CredentialType(credential.type)] in current_app.view_functions
    ]
    return render_template("flows/mfa/choose.html", options=options)


@bp.get("/setup")
@enrolment_required
def setup(user: User) -> str:
    _user, flow = enrolling_user()
    return render_template(
        "flows/mfa/setup.html",
        user=user,
        forced=flow is not None,
        factors=mfa.second_factors(user),
        recovery=mfa.credentials_of(
            user,
            CredentialType.RECOVERY_CODE,
            CredentialType.RECOVERY_EMAIL,
            CredentialType.RECOVERY_PHONE,
        ),
    )


@bp.post("/credentials/<int:credential_id>/remove")
def remove(credential_id: int) -> BaseResponse:
    """Removing a factor needs the password again: a left-open browser must not
    be enough to weaken the account."""
    user = current_user()
    if user is None:
        return redirect(url_for("login.login"))
    credential = db.session.get(Credential, credential_id)
    if credential is None or credential.user_id != user.id:
        return Response(render_template("errors/error.html", status=404), status=404)
    try:
        password_credential.verify(user, request.form.get("password", "")[:1024])
    except InvalidCredentials:
        db.session.rollback()
        flash(_("Das Passwort ist falsch."), "error")
        return redirect(url_for("mfa.setup"))
    db.session.delete(credential)
    mfa.forget_devices(user)
    mfa.record_change(user, EventTag.MFA_REMOVED, credential)
    db.session.commit()
    flash(_("Die Methode wurde entfernt."), "success")
    return redirect(url_for("mfa.setup"))


def mask_phone(number: str) -> str:
    return number[:3] + "…" + number[-3:] if len(number) > 6 else number


@bp.app_context_processor
def labels() -> dict[str, Any]:
    def factor_label(credential: Credential) -> str:
        kind = CredentialType(credential.type)
        data = credential.data or {}
        if kind == CredentialType.TOTP:
            return _("Authentifizierungs-App") + (
                f" „{credential.name}“" if credential.name else ""
            )
        if kind == CredentialType.PHONE:
            return _("SMS oder Anruf an %(number)s", number=mask_phone(data.get("number", "")))
        if kind == CredentialType.WEBAUTHN:
            return _("Passkey „%(name)s“", name=credential.name or _("ohne Namen"))
        if kind == CredentialType.RECOVERY_CODE:
            return _(
                "Wiederherstellungscode vom %(date)s",
                date=credential.created_at.strftime("%d.%m.%Y"),
            )
        if kind == CredentialType.RECOVERY_EMAIL:
            return _("Wiederherstellung per E-Mail an %(address)s", address=data.get("address", ""))
        return _(
            "Wiederherstellung per Telefon an %(number)s", number=mask_phone(data.get("number", ""))
        )

    return {"factor_label": factor_label}
