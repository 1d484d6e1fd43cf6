"""The authorization endpoint's decisions (OIDC Core 3.1.2).

``process`` takes one authorization request, live or resumed from the session
after login or consent, and answers with one of: an error page (nothing about
the redirect URI is trusted yet), an error redirect, a redirect to the login or
consent step, or the code redirect.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AccessDeniedError, InvalidRequestError, OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
    RequestNotSupportedError,
    RequestURINotSupportedError,
)
from flask import Response, current_app, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from idp.flows import state
from idp.oidc import claims as oidc_claims
from idp.oidc.server import Principal, authorization_server
from idp.oidc.tokens import InvalidToken, decode_jwt
from idp.sessions import current_session, current_user
from idp.store import Consent, CustomerAccount, MembershipStatus, OAuthClient, db

MAX_PARAM_LENGTH = 4096
ACR_PASSWORD = "urn:idp:acr:pwd"
ACR_MFA = "urn:idp:acr:mfa"
ACR_VALUES = (ACR_PASSWORD, ACR_MFA)
DISPLAY_VALUES = ("page", "popup", "touch", "wap")


@dataclass
class Outcome:
    """How far the request got: which step it needs next, if any."""

    # "login" | "mfa" | "consent" | "onboarding" | "choose" | "locked" | None
    needs: str | None = None
    principal: Principal | None = None
    # "locked" for the customer account the client named (None: every membership)
    locked_account: CustomerAccount | None = None


def live_request() -> tuple[OAuth2Request, dict[str, str]]:
    """The current HTTP request (GET query or POST form, OIDC Core 3.1.2.1)."""
    oauth_request = authorization_server().create_oauth2_request(None)
    return oauth_request, {k: v for k, v in request.values.items()}


def stored_request(params: dict[str, str]) -> OAuth2Request:
    oauth_request = OAuth2Request("GET", current_app.config["IDP"].issuer + "/authorize")
    oauth_request.payload = BasicOAuth2Payload(params)
    return oauth_request


def process(
    oauth_request: OAuth2Request,
    params: dict[str, str],
    pending: state.PendingAuthorization | None = None,
    rid: str | None = None,
) -> BaseResponse:
    server = authorization_server()
    principal = current_principal()
    try:
        _check_sizes(params)
        grant = server.get_consent_grant(oauth_request, end_user=principal)
    except OAuth2Error as error:
        return error_response(error, params)
    try:
        outcome = decide(oauth_request, grant.redirect_uri, params, principal, pending)
    except OAuth2Error as error:
        error.redirect_uri = error.redirect_uri or grant.redirect_uri
        return error_response(error, params)
    if outcome.needs == "locked":
        if rid is not None:
            state.drop(rid)
        return _locked_page(outcome.locked_account, grant.redirect_uri, params)
    if outcome.needs is not None:
        if pending is None or rid is None:
            rid = state.stash(params)
        endpoint = {
            "login": "login.login",
            "consent": "oidc.consent",
            "mfa": "mfa.step_up",
            "onboarding": "onboarding.start",
            "choose": "onboarding.choose",
        }[outcome.needs]
        return redirect(url_for(endpoint, rid=rid))
    if rid is not None:
        state.drop(rid)
    response = server.create_authorization_response(
        oauth_request, grant_user=outcome.principal, grant=grant
    )
    return with_issuer(response)


def decide(
    oauth_request: OAuth2Request,
    redirect_uri: str,
    params: dict[str, str],
    principal: Principal | None,
    pending: state.PendingAuthorization | None,
) -> Outcome:
    """OIDC Core 3.1.2.1-3.1.2.4 and 6.1: refuse what we do not support, then
    decide whether the user must sign in or consent first."""
    if "request" in params:
        raise RequestNotSupportedError()  # discovery: request_parameter_supported false
    if "request_uri" in params:
        raise RequestURINotSupportedError()
    if params.get("response_mode", "query") != "query":
        raise InvalidRequestError("Only response_mode=query is supported.")
    if params.get("display", "page") not in DISPLAY_VALUES:
        raise InvalidRequestError("Unknown 'display' value.")
    requested_claims = oidc_claims.parse_claims_parameter(params.get("claims"))
    prompts = set(params.get("prompt", "").split())
    unknown = prompts - {"none", "login", "consent", "select_account"}
    if unknown:
        raise InvalidRequestError("Unknown 'prompt' value.")
    max_age = _max_age(params.get("max_age"))
    hinted_sub = _id_token_hint_subject(params.get("id_token_hint"))
    just_logged_in = pending is not None and pending.login_done
    needs_login = principal is None
    if principal is not None and not just_logged_in:
        # OIDC Core 3.1.2.1: prompt=login and max_age force a fresh sign-in.
        too_old = max_age is not None and time.time() - principal.auth_time.timestamp() > max_age
        needs_login = "login" in prompts or too_old
    if principal is not None and hinted_sub and hinted_sub != principal.user.sub:
        needs_login = True  # OIDC Core 3.1.2.1: id_token_hint names someone else
    if needs_login:
        if "none" in prompts:
            raise LoginRequiredError()  # OIDC Core 3.1.2.6
        return Outcome(needs="login")
    assert principal is not None
    essential_acr = oidc_claims.requested_acr_values(requested_claims)
    if principal.acr != ACR_MFA and _wants_mfa(params, essential_acr, principal):
        if "none" in prompts:
            raise LoginRequiredError()  # a second factor needs the user's hand
        return Outcome(needs="mfa")
    if essential_acr and principal.acr not in essential_acr:
        # OIDC Core 5.5.1.1: an unmet essential acr is a failed authentication.
        raise AccessDeniedError("The requested authentication context cannot be met.")
    client: OAuthClient = oauth_request.client
    if _needs_consent(client, principal, oauth_request.scope or "", prompts, pending):
        if "none" in prompts:
            raise ConsentRequiredError()
        return Outcome(needs="consent")
    needs, hint, locked = _customer_step(
        client, oauth_request.scope or "", params, principal, pending
    )
    if needs is not None:
        return Outcome(needs=needs, locked_account=locked)
    principal.claims = oidc_claims.with_customer_hint(requested_claims, hint)
    return Outcome(principal=principal)


def _customer_step(
    client: OAuthClient,
    scope: str,
    params: dict[str, str],
    principal: Principal,
    pending: state.PendingAuthorization | None,
) -> tuple[str | None, str | None, CustomerAccount | None]:
    """Scope ``customer``: the step the user needs first, if any, the customer
    number to keep with the code (the one picked here, else the client's hint),
    and for "locked" the customer account the client named, if it did.

    No membership yet: onboarding is offered (once; "Später" goes on without).
    The hint names a locked membership: locked, never another account in its
    place. Every membership locked: this client is closed to the user. Several and
    no usable hint (a hint naming an account the user is not in is none), or
    ``prompt=select_account``: the user picks one. With ``prompt=none`` none of
    these pages may be shown (OIDC Core 3.1.2.1)."""
    from idp.orgs import service

    picked = pending.customer_number if pending is not None else ""
    hint = picked or params.get("customer_number")
    if oidc_claims.CUSTOMER_SCOPE not in client.get_allowed_scope(scope).split():
        return None, hint, None
    prompts = set(params.get("prompt", "").split())
    memberships = service.memberships_of(principal.user)
    usable = [m for m in memberships if m.status != MembershipStatus.LOCKED]
    if not memberships:
        if "none" in prompts or (pending is not None and pending.onboarding_done):
            return None, hint, None
        return "onboarding", hint, None
    hinted = service.hinted_membership(memberships, hint)
    if hinted is not None and hinted.status == MembershipStatus.LOCKED:
        if "none" in prompts:
            raise AccessDeniedError("The user's access to this customer account is locked.")
        return "locked", hint, hinted.customer_account
    if not usable:
        if "none" in prompts:
            raise AccessDeniedError("The user's access to every customer account is locked.")
        return "locked", hint, None
    choose = service.choose_membership(principal.user, hint) is None or (
        "select_account" in prompts and not picked and len(usable) > 1
    )
    if choose:
        if "none" in prompts:
            raise InteractionRequiredError()  # the user must pick a customer account
        return "choose", hint, None
    return None, hint, None


def _locked_page(
    account: CustomerAccount | None, redirect_uri: str, params: dict[str, str]
) -> BaseResponse:
    """ "Zugang gesperrt", with the way back to the client: the pending request
    answered with ``access_denied`` at the validated request's redirect URI (the
    one the client registered and named, never anything typed in), with its
    ``state`` and the issuer (RFC 6749 4.1.2.1, RFC 9207)."""
    refusal = AccessDeniedError(
        "The user's access to the customer account is locked.", redirect_uri=redirect_uri
    )
    back_url = error_response(refusal, params).location
    body = render_template("flows/onboarding/locked.html", account=account, back_url=back_url)
    return Response(body, status=403)


def _wants_mfa(params: dict[str, str], essential_acr: list[str], principal: Principal) -> bool:
    """Step-up (OIDC Core 3.1.2.1 acr_values, 5.5.1.1 essential acr): ask for a
    second factor when the client or the policy wants one and it can be had.
    A voluntary ``acr_values`` for a user without factors is not met, and the
    ID token says so truthfully in ``acr``."""
    from idp import mfa

    demanded = ACR_MFA in params.get("acr_values", "").split() or ACR_MFA in essential_acr
    required = mfa.required_for(params.get("client_id"))
    return required or (
        demanded and (mfa.has_second_factor(principal.user) or ACR_MFA in essential_acr)
    )


def _needs_consent(
    client: OAuthClient,
    principal: Principal,
    scope: str,
    prompts: set[str],
    pending: state.PendingAuthorization | None,
) -> bool:
    if pending is not None and pending.consent_done:
        return False
    if "consent" in prompts:
        return True
    if client.first_party:
        return False
    consent = granted_consent(principal.user.id, client.client_id)
    return consent is None or not set(client.get_allowed_scope(scope).split()) <= set(
        consent.scopes
    )


def granted_consent(user_id: int, client_id: str) -> Consent | None:
    return db.session.scalar(
        select(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id)
    )


def _max_age(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 10:
        raise InvalidRequestError("'max_age' must be a non-negative integer.")
    return int(raw)


def _id_token_hint_subject(raw: str | None) -> str | None:
    """OIDC Core 3.1.2.1: an ID token we issued, possibly expired."""
    if not raw:
        return None
    try:
        claims = decode_jwt(raw)
    except InvalidToken:
        raise InvalidRequestError("Invalid 'id_token_hint'.") from None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) else None


def _check_sizes(params: dict[str, str]) -> None:
    for name, value in params.items():
        if len(value) > MAX_PARAM_LENGTH or len(name) > 64:
            raise InvalidRequestError(f"Parameter '{name[:64]}' is too long.")


def current_principal() -> Principal | None:
    user = current_user()
    record = current_session().record
    if user is None or record is None or record.auth_time is None:
        return None
    return Principal(
        user=user,
        auth_time=record.auth_time,
        amr=list(record.amr or []),
        acr=record.acr,
        sid=record.sid,
    )


def with_issuer(response: BaseResponse) -> BaseResponse:
    """RFC 9207 2: every authorization response, errors included, names the issuer."""
    if response.location:
        response.location = add_params_to_uri(
            response.location, [("iss", current_app.config["IDP"].issuer)]
        )
    return response


def error_response(error: OAuth2Error, params: dict[str, Any]) -> BaseResponse:
    """RFC 6749 4.1.2.1: without a verified redirect URI the error is shown to
    the user, never redirected."""
    error.state = params.get("state")
    if error.redirect_uri:
        status, _, headers = error()
        response = Response(status=status, headers=headers)
        return with_issuer(response)
    page = render_template("oidc/error.html", error=error.error, description=error.description)
    return Response(page, status=400)
