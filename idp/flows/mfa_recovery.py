"""The recovery code: shown once after the first factor is enrolled, used to
sign in instead of a factor, and renewed from the settings.

A new code is valid only after the person confirms having stored it ("Ich habe
den Wiederherstellungscode sicher aufbewahrt"); until then the old code (if
any) keeps working, so nobody is left without one by a closed tab. Signing in
with the code spends it, and the very next page shows its successor.

Why the "new code" page was reached is one ``RecoveryFlow`` record: a
regenerate asked in the settings, or a sign-in with the old code and where
that sign-in was going.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from idp import mfa
from idp.audit import EventTag
from idp.credentials import recovery_code
from idp.errors import CodeInvalid, NotFound
from idp.extensions import limiter
from idp.flows.mfa import (
    ChallengeFlow,
    challenge_failed,
    challenge_required,
    complete_challenge,
    continue_after_enrolment,
    enrolling_user,
    enrolment_required,
)
from idp.security.limits import limit_from
from idp.sessions import current_session, current_user
from idp.store import Credential, CredentialType, User, db

bp = Blueprint("mfa_recovery", __name__, url_prefix="/mfa/recovery")

SESSION_KEY = "mfa_recovery"


@dataclass
class RecoveryFlow:
    """Why the "new code" page is shown: ``regenerate`` asked in the settings,
    or ``continue_to`` the place a sign-in with the old code was going."""

    regenerate: bool = False
    continue_to: str = ""

    @classmethod
    def load(cls) -> RecoveryFlow:
        data = current_session().get(SESSION_KEY)
        try:
            return cls(**data) if isinstance(data, dict) else cls()
        except TypeError:  # a record of an older shape
            return cls()

    def save(self) -> None:
        current_session()[SESSION_KEY] = dataclasses.asdict(self)

    @staticmethod
    def drop() -> None:
        current_session().pop(SESSION_KEY, None)


@bp.route("/new", methods=["GET", "POST"])
@enrolment_required
def show_new(user: User) -> BaseResponse:
    """Show a new code once; it counts after the checkbox is ticked."""
    flow = RecoveryFlow.load()
    if not mfa.has_second_factor(user):
        return redirect(url_for("mfa.setup"))
    if request.method == "GET":
        if recovery_code.has_code(user) and not flow.regenerate:
            return redirect(url_for("mfa.setup"))
        credential, code = recovery_code.issue(user)
        db.session.commit()
        return _show_page(flow, credential, code)
    code = request.form.get("code", "")
    try:
        credential = recovery_code.pending(user, _form_int("credential"), code)
    except NotFound:
        return redirect(url_for("mfa_recovery.show_new", next=request.form.get("next") or None))
    if not request.form.get("stored"):
        error = _(
            "Bitte bestätigen Sie, dass Sie den Wiederherstellungscode sicher aufbewahrt haben."
        )
        return _show_page(flow, credential, code, error, 400)
    recovery_code.confirm(user, credential)
    mfa.record_change(user, EventTag.MFA_RECOVERY_CODE_CREATED, credential)
    RecoveryFlow.drop()
    response = _after_confirmation(user, flow)
    db.session.commit()
    return response


@bp.route("/challenge", methods=["GET", "POST"])
@limiter.limit(limit_from("code_limit_ip", "accounts"), methods=["POST"])
@challenge_required
def challenge(flow: ChallengeFlow, user: User) -> BaseResponse:
    """Sign in with the recovery code instead of a factor; it is spent, and the
    next page shows a new one before the sign-in continues."""
    if request.method == "GET":
        return _challenge_page()
    typed = request.form.get("code", "")
    if recovery_code.normalise(typed) is None:
        return _challenge_page(_("Bitte geben Sie Ihren Wiederherstellungscode ein."), 400)
    try:
        credential = recovery_code.use(user, typed)
    except CodeInvalid:
        db.session.rollback()
        ended = challenge_failed(flow)
        if ended is not None:
            return ended
        return _challenge_page(_("Der Wiederherstellungscode ist falsch."), 400)
    mfa.record_change(user, EventTag.MFA_RECOVERY_CODE_USED, credential)
    response = complete_challenge(flow, user, credential, mfa.AMR[CredentialType.RECOVERY_CODE])
    RecoveryFlow(continue_to=response.location or url_for("account.index")).save()
    response.location = url_for("mfa_recovery.show_new")
    return response


@bp.post("/regenerate")
def regenerate() -> BaseResponse:
    """ "Neuen Wiederherstellungscode erzeugen": the new code replaces the old
    one once it is confirmed as stored."""
    user = current_user()
    if user is None:
        return redirect(url_for("login.login"))
    RecoveryFlow(regenerate=True).save()
    return redirect(url_for("mfa_recovery.show_new"))


def _after_confirmation(user: User, flow: RecoveryFlow) -> BaseResponse:
    """Back to where the code page interrupted: the sign-in with the old code,
    the settings, or the enrolment of the factor named in ``next``."""
    if flow.continue_to:
        return redirect(flow.continue_to)
    _user, enrolling = enrolling_user()
    if flow.regenerate and enrolling is None:
        flash(_("Ihr neuer Wiederherstellungscode ist jetzt gültig."), "success")
        return redirect(url_for("mfa.setup"))
    factor = _factor(user, _form_int("next")) or mfa.preferred_factor(user)
    assert factor is not None  # show_new requires a second factor
    return continue_after_enrolment(user, factor, _amr(factor))


def _factor(user: User, credential_id: int) -> Credential | None:
    return next((c for c in mfa.second_factors(user) if c.id == credential_id), None)


def _amr(credential: Credential) -> str:
    """RFC 8176 name of the factor just enrolled; a phone says which channel."""
    kind = CredentialType(credential.type)
    if kind in mfa.AMR:
        return mfa.AMR[kind]
    return "tel" if (credential.data or {}).get("channel") == "voice" else "sms"


def _form_int(name: str) -> int:
    raw = request.values.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else 0


def _show_page(
    flow: RecoveryFlow,
    credential: Credential,
    code: str,
    error: str | None = None,
    status: int = 200,
) -> BaseResponse:
    body = render_template(
        "flows/mfa_recovery/show_new.html",
        credential=credential,
        code=recovery_code.formatted(code),
        next_id=_form_int("next") or None,
        after_use=bool(flow.continue_to),
        error=error,
    )
    return Response(body, status=status)


def _challenge_page(error: str | None = None, status: int = 200) -> BaseResponse:
    body = render_template("flows/mfa_recovery/challenge.html", error=error)
    return Response(body, status=status)
