"""HTTP endpoints of the protocol. Thin: parse, call one service, respond,
commit once."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from idp.audit import EventTag, record_event
from idp.extensions import csrf, limiter
from idp.flows import state
from idp.oidc import authorize as authz
from idp.oidc import claims as oidc_claims
from idp.oidc import discovery, logout
from idp.oidc.server import authorization_server
from idp.oidc.tokens import InvalidToken, validate_access_token
from idp.security.limits import limit_from
from idp.sessions import current_user
from idp.store import Consent, db

bp = Blueprint("oidc", __name__)


@bp.route("/authorize", methods=["GET", "POST"])
@csrf.exempt  # OIDC Core 3.1.2.1: relying parties may POST the request here
def authorize() -> BaseResponse:
    oauth_request, params = authz.live_request()
    ui_locale = params.get("ui_locales")
    if ui_locale:
        from idp.i18n import remember_ui_locales

        remember_ui_locales(ui_locale)
    response = authz.process(oauth_request, params)
    db.session.commit()
    return response


@bp.get("/authorize/continue")
def resume() -> BaseResponse:
    rid = request.args.get("rid", "")
    pending = state.load(rid)
    if pending is None:
        return _expired_page()
    response = authz.process(authz.stored_request(pending.params), pending.params, pending, rid)
    db.session.commit()
    return response


@bp.route("/consent", methods=["GET", "POST"])
def consent() -> BaseResponse | str:
    rid = request.values.get("rid", "")
    pending = state.load(rid)
    user = current_user()
    if pending is None or user is None:
        return _expired_page()
    client = authorization_server().query_client(pending.params.get("client_id", ""))
    if client is None:
        return _expired_page()
    scopes = client.get_allowed_scope(pending.params.get("scope", "")).split()
    if request.method == "GET":
        return render_template(
            "oidc/consent.html",
            client=client,
            scopes=scopes,
            rid=rid,
            scope_labels=discovery.scope_labels(),
        )
    if request.form.get("decision") != "allow":
        state.drop(rid)
        oauth_request = authz.stored_request(pending.params)
        grant = authorization_server().get_consent_grant(oauth_request, end_user=None)
        response = authz.with_issuer(
            authorization_server().create_authorization_response(
                oauth_request, grant_user=None, grant=grant
            )
        )
        db.session.commit()
        return response
    _remember_consent(user.id, client.client_id, scopes)
    pending.consent_done = True
    state.save(rid, pending)
    db.session.commit()
    return redirect(url_for("oidc.resume", rid=rid))


def _remember_consent(user_id: int, client_id: str, scopes: list[str]) -> None:
    existing = authz.granted_consent(user_id, client_id)
    if existing is None:
        db.session.add(Consent(user_id=user_id, client_id=client_id, scopes=sorted(scopes)))
    else:
        existing.scopes = sorted(set(existing.scopes) | set(scopes))
    record_event(EventTag.CONSENT_GRANTED, client_id=client_id, scopes=sorted(scopes))


@bp.post("/token")
@csrf.exempt
@limiter.limit(limit_from("token_limit_ip"))
def token() -> BaseResponse:
    response = authorization_server().create_token_response()
    # Committed whatever the outcome: a replayed code or refresh token revokes
    # its family even though this request fails.
    db.session.commit()
    return response


@bp.post("/revoke")
@csrf.exempt
@limiter.limit(limit_from("token_limit_ip"))
def revoke() -> BaseResponse:
    response = authorization_server().create_endpoint_response("revocation")
    db.session.commit()
    return response


@bp.post("/introspect")
@csrf.exempt
@limiter.limit(limit_from("token_limit_ip"))
def introspect() -> BaseResponse:
    return authorization_server().create_endpoint_response("introspection")


@bp.route("/userinfo", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit(limit_from("token_limit_ip"))
def userinfo() -> BaseResponse:
    """OIDC Core 5.3; bearer token in the header or the form body (RFC 6750 2.1, 2.2)."""
    value = _bearer_token()
    if value is None:
        return _bearer_error(401, None)
    try:
        row, user = validate_access_token(value)
    except InvalidToken:
        return _bearer_error(401, "invalid_token")
    if user is None or "openid" not in row.scope.split():
        return _bearer_error(403, "insufficient_scope")
    return jsonify(oidc_claims.release(user, row.scope, row.claims, "userinfo"))


def _bearer_token() -> str | None:
    """RFC 6750 2.1 (header) or 2.2 (form body); using both at once is invalid."""
    header = request.headers.get("Authorization", "")
    in_body = request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded"
    body_token = request.form.get("access_token") if in_body else None
    if header[:7].lower() == "bearer " and body_token is None:
        return header[7:].strip()
    if body_token is not None and not header:
        return body_token
    return None


def _bearer_error(status: int, error: str | None) -> BaseResponse:
    challenge = 'Bearer realm="userinfo"'
    if error:
        challenge += f', error="{error}"'
    body: dict[str, Any] = {"error": error} if error else {"error": "invalid_request"}
    response = jsonify(body)
    response.status_code = status
    response.headers["WWW-Authenticate"] = challenge
    return response


@bp.route("/logout", methods=["GET", "POST"])
@csrf.exempt  # RP-Initiated Logout 1.0 section 2: the RP may POST here
def end_session() -> BaseResponse | str:
    result = logout.begin(request.values)
    db.session.commit()
    return result


@bp.post("/logout/confirm")
def confirm_logout() -> BaseResponse | str:
    result = logout.confirm(request.form.get("decision") == "logout")
    db.session.commit()
    return result


def _expired_page() -> BaseResponse:
    page = render_template("oidc/error.html", error="expired", description=None)
    return Response(page, status=400)
