"""OpenID Connect RP-Initiated Logout 1.0.

With a valid ``id_token_hint`` for the signed-in user the logout happens at
once; otherwise the user confirms it on a page (section 2: the OP SHOULD ask
when it cannot tell the request came from the RP). ``post_logout_redirect_uri``
is honoured only on exact match with a URI registered for the client that the
hint or ``client_id`` names (section 3). Relying parties that registered a
back-channel logout URI hear of the ended session through ``oidc.backchannel``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authlib.common.urls import add_params_to_uri
from flask import Response, redirect, render_template
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from idp.audit import EventTag, record_event
from idp.oidc.backchannel import notify_logout
from idp.oidc.server import query_client
from idp.oidc.tokens import InvalidToken, decode_jwt, revoke_where
from idp.sessions import current_session, current_user, end_session
from idp.store import OAuthClient, Token

SESSION_KEY = "logout"


def begin(values: Mapping[str, str]) -> BaseResponse | str:
    try:
        target, hinted_sub = _validate(values)
    except ValueError as exc:
        return Response(
            render_template("oidc/error.html", error="invalid_request", description=str(exc)),
            status=400,
        )
    user = current_user()
    if user is None:
        return _finish(target)
    if hinted_sub is not None and hinted_sub == user.sub:
        _sign_out()
        return _finish(target)
    current_session()[SESSION_KEY] = {"target": target}
    client = query_client(values.get("client_id", "")) if values.get("client_id") else None
    return render_template("oidc/logout_confirm.html", user=user, client=client)


def confirm(agreed: bool) -> BaseResponse | str:
    pending = current_session().pop(SESSION_KEY, None) or {}
    target = pending.get("target")
    if agreed and current_user() is not None:
        _sign_out()
    elif not agreed:
        return redirect("/")
    return _finish(target)


def _sign_out() -> None:
    user = current_user()
    sid = end_session()
    if sid:
        revoke_where(Token.sid == sid)
        if user is not None:
            notify_logout(user, [sid])
    record_event(EventTag.LOGOUT, user=user)


def _finish(target: str | None) -> BaseResponse | str:
    if target:
        return redirect(target)
    return render_template("oidc/logged_out.html")


def _validate(values: Mapping[str, str]) -> tuple[str | None, str | None]:
    hint = values.get("id_token_hint")
    claims: dict[str, Any] = {}
    if hint:
        try:
            claims = decode_jwt(hint)
        except InvalidToken:
            raise ValueError(_("Der id_token_hint ist ungültig.")) from None
    audience = claims.get("aud")
    client_id = values.get("client_id") or (audience if isinstance(audience, str) else None)
    if values.get("client_id") and audience and audience != values["client_id"]:
        raise ValueError(_("Die client_id passt nicht zum id_token_hint."))
    uri = values.get("post_logout_redirect_uri")
    target = None
    if uri:
        client: OAuthClient | None = query_client(client_id or "")
        if client is None or uri not in client.post_logout_redirect_uris:
            raise ValueError(
                _("Die post_logout_redirect_uri ist für diesen Client nicht registriert.")
            )
        state = values.get("state")
        target = add_params_to_uri(uri, [("state", state)]) if state else uri
    sub = claims.get("sub")
    return target, sub if isinstance(sub, str) else None
