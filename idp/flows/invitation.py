"""Accepting an invitation ("Einladung zum Portal", manual 3.6).

The mailed link opens a registration pre-filled with the invited data (the
address cannot be changed); the password policy and the emailed code are the
registration's (``idp.registration`` and the code page in flows/verification.py),
and the code makes the new account an active member. An address that already
has an account is asked to sign in; signed in, the owner accepts with one click.
Either way the person lands at the portal (``branding.portal_url``) or, without
one, on the account page.

The rules (who may accept, single use, expiry) are ``idp.orgs.invitations``'s."""

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
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from idp import accounts
from idp.errors import CodeExpired, CodeInvalid, Conflict, Forbidden, PasswordRejected
from idp.extensions import limiter
from idp.flows import state
from idp.flows.registration import field_errors
from idp.flows.verification import begin_flow
from idp.orgs import invitations, service
from idp.orgs.invitations import SALUTATIONS, Invitation
from idp.security.limits import limit_from
from idp.sessions import current_user
from idp.store import db
from idp.tokens import Purpose

bp = Blueprint("invitation", __name__, url_prefix="/invitation")

FIELDS = ("salutation", "given_name", "family_name", "password", "password_confirm")


def landing_url() -> str:
    """Where an invited person goes once they are in: the portal, if configured."""
    return current_app.config["IDP"].branding.portal_url or url_for("account.index")


@bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit(limit_from("register_limit_ip", "accounts"), methods=["POST"])
def show(token: str) -> BaseResponse:
    try:
        invitation = invitations.find_invitation(token)
    except (CodeInvalid, CodeExpired) as exc:
        return _invalid_page(expired=isinstance(exc, CodeExpired))
    if accounts.find_by_email(invitation.email) is not None:
        return _existing_account_page(token, invitation)
    if request.method == "GET":
        return _register_page(token, invitation, _prefilled(invitation), {})
    form = {name: request.form.get(name, "") for name in FIELDS}
    errors = field_errors({**form, "email": invitation.email})
    if form["salutation"] and form["salutation"] not in SALUTATIONS:
        errors["salutation"] = _("Bitte wählen Sie eine Anrede aus der Liste.")
    if errors:
        return _register_page(token, invitation, form, errors, 400)
    try:
        row = invitations.begin_registration(
            token,
            form["password"],
            form["password_confirm"],
            salutation=form["salutation"],
            given_name=form["given_name"].strip(),
            family_name=form["family_name"].strip(),
            locale=str(get_locale()),
        )
    except PasswordRejected as exc:
        return _register_page(token, invitation, form, {"password": exc.reason}, 400)
    except Conflict:  # registered meanwhile
        return _existing_account_page(token, invitation)
    db.session.commit()
    state.set_landing(landing_url())
    return begin_flow(Purpose.REGISTRATION, row)


@bp.post("/<token>/accept")
def accept(token: str) -> BaseResponse:
    """ "Einladung annehmen": the signed-in owner of the address joins."""
    user = current_user()
    if user is None:
        return redirect(url_for(".show", token=token))
    try:
        membership = invitations.accept_invitation(token, user)
    except (CodeInvalid, CodeExpired) as exc:
        return _invalid_page(expired=isinstance(exc, CodeExpired))
    except (Forbidden, Conflict):
        return redirect(url_for(".show", token=token))
    db.session.commit()
    flash(
        _("Sie sind jetzt Mitglied von %(name)s.", name=membership.customer_account.name),
        "success",
    )
    return redirect(landing_url())


def _prefilled(invitation: Invitation) -> dict[str, str]:
    return {
        "salutation": invitation.salutation,
        "given_name": invitation.given_name,
        "family_name": invitation.family_name,
    }


def _register_page(
    token: str,
    invitation: Invitation,
    form: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> BaseResponse:
    body = render_template(
        "flows/invitation/register.html",
        token=token,
        invitation=invitation,
        form=form,
        errors=errors,
        min_length=current_app.config["IDP"].accounts.password_min_length,
    )
    return Response(body, status=status)


def _existing_account_page(token: str, invitation: Invitation) -> BaseResponse:
    """The address has an account: its owner accepts once signed in; anyone else
    is asked to sign in with it (and comes back here afterwards)."""
    user = current_user()
    owner_signed_in = user is not None and user.email == invitation.email
    member = (
        owner_signed_in
        and user is not None
        and service.membership_in(user, invitation.account) is not None
    )
    if not owner_signed_in:
        state.set_landing(url_for(".show", token=token))
    body = render_template(
        "flows/invitation/existing.html",
        token=token,
        invitation=invitation,
        user=user,
        owner_signed_in=owner_signed_in,
        member=member,
        landing=landing_url(),
    )
    return Response(body, status=200)


def _invalid_page(*, expired: bool) -> BaseResponse:
    body = render_template("flows/invitation/invalid.html", expired=expired)
    return Response(body, status=410 if expired else 404)
