"""Signing in and out, keeping tokens and claims fresh, and the guards every
page uses. Each page is authorised from the claims of the latest ID token:
``membership_status``, ``role`` and ``permissions`` of the chosen customer
account."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import OAuthError
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from joserfc.errors import JoseError
from werkzeug.wrappers import Response as BaseResponse

from clients.portal import oidc
from clients.portal.context import portal
from clients.portal.i18n import _, current_locale
from clients.portal.store import PortalSession

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])
EXPIRY_MARGIN = 30  # seconds: refresh a little before the access token expires


class SessionEnded(Exception):
    """The provider no longer honours this session (locked, logged out, revoked)."""


# -- The signed-in browser ---------------------------------------------------------


def current_session() -> PortalSession | None:
    if "portal_session" not in g:
        key = session.get("sid")
        g.portal_session = portal().store.load(key) if isinstance(key, str) else None
        if g.portal_session is None and "sid" in session:
            session.pop("sid")  # ended elsewhere (back-channel logout, idle)
    return cast(PortalSession | None, g.portal_session)


def claims() -> dict[str, Any]:
    current = current_session()
    return current.claims if current else {}


def end_local_session() -> None:
    current = current_session()
    if current is not None:
        portal().store.delete(current.key)
    session.pop("sid", None)
    g.portal_session = None


def ensure_fresh(current: PortalSession, *, force: bool = False) -> bool:
    """Refresh the access token when it (nearly) expired, and the claims when
    they are older than ``claims_max_age`` (or ``force``): permissions granted
    by an administrator show after the next refresh. Returns whether claims
    were re-read; raises SessionEnded when the provider refuses."""
    config, store = portal().config, portal().store

    def stale() -> tuple[bool, bool]:
        now = time.time()
        token_stale = current.token.get("expires_at", 0) - EXPIRY_MARGIN <= now
        return token_stale, force or now - current.claims_at >= config.claims_max_age

    if not any(stale()):
        return False
    with store.lock(current.key):
        latest = store.load(current.key)  # another request may have refreshed meanwhile
        if latest is None:
            raise SessionEnded
        current.token, current.claims, current.claims_at = (
            latest.token,
            latest.claims,
            latest.claims_at,
        )
        current.draft = latest.draft
        token_stale, claims_stale = stale()
        if not (token_stale or claims_stale):
            return False
        if not current.token.get("refresh_token"):
            if token_stale:
                raise SessionEnded
            return False
        try:
            token = oidc.refresh(portal().idp, current.token)
            new_claims = oidc.claims_after_refresh(portal().idp, token, current.sub)
        except (OAuthError, oidc.SubjectMismatch, JoseError) as exc:
            log.info("refresh refused, ending the portal session: %s", exc)
            raise SessionEnded from None
        except (requests.RequestException, ValueError) as exc:
            log.warning("refresh failed: %s", exc)
            if token_stale:
                raise SessionEnded from None
            return False
        current.token, current.claims, current.claims_at = token, new_claims, time.time()
        current.idp_sid = new_claims.get("sid") or current.idp_sid
        if not store.save(current):
            raise SessionEnded
        return True


@bp.before_app_request
def keep_fresh() -> None:
    if request.endpoint in (None, "static") or request.blueprint == "auth":
        return
    current = current_session()
    if current is None:
        return
    try:
        ensure_fresh(current)
    except SessionEnded:
        end_local_session()


# -- Guards -------------------------------------------------------------------------


def _safe_next(target: str | None) -> str | None:
    """Only paths of this portal (no scheme, no host, no "//")."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc or "\\" in target else target


def login_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_session() is None:
            target = request.full_path.rstrip("?") if request.method == "GET" else None
            return redirect(url_for("auth.login", next=target))
        return view(*args, **kwargs)

    return cast(F, wrapper)


def is_active_member() -> bool:
    return bool(claims().get("customer_number")) and claims().get("membership_status") == "active"


def is_admin() -> bool:
    return is_active_member() and claims().get("role") == "admin"


def may_use(code: str) -> bool:
    permissions = claims().get("permissions")
    return is_active_member() and isinstance(permissions, list) and code in permissions


def admin_required(view: F) -> F:
    """Every Benutzerverwaltung page: 403 unless an active administrator (the
    API checks again with the access token)."""

    @login_required
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not is_admin():
            abort(403)
        return view(*args, **kwargs)

    return cast(F, wrapper)


# -- Routes -------------------------------------------------------------------------


@bp.get("/login")
def login() -> BaseResponse:
    target = _safe_next(request.args.get("next"))
    if target:
        session["next"] = target
    redirect_uri = url_for("auth.callback", _external=True)
    return cast(
        BaseResponse,
        portal().idp.authorize_redirect(redirect_uri, ui_locales=current_locale()),
    )


@bp.get("/callback")
def callback() -> Any:
    if request.args.get("error"):
        cancelled = request.args["error"] in ("access_denied", "login_required")
        message = (
            _("Die Anmeldung wurde abgebrochen.")
            if cancelled
            else _("Die Anmeldung ist fehlgeschlagen. Bitte versuchen Sie es erneut.")
        )
        return render_template("error.html", title=_("Anmeldung"), message=message), 400
    try:
        token = dict(portal().idp.authorize_access_token(leeway=oidc.LEEWAY))
    except (OAuthError, JoseError, ValueError, requests.RequestException) as exc:
        log.info("sign-in failed: %s", exc)
        message = _("Die Anmeldung ist fehlgeschlagen. Bitte versuchen Sie es erneut.")
        return render_template("error.html", title=_("Anmeldung"), message=message), 400
    userinfo = dict(token.pop("userinfo", None) or {})
    if not userinfo.get("sub"):
        message = _("Die Anmeldung ist fehlgeschlagen. Bitte versuchen Sie es erneut.")
        return render_template("error.html", title=_("Anmeldung"), message=message), 400
    end_local_session()
    target, lang = session.get("next"), session.get("lang")
    session.clear()  # a fresh cookie session after sign-in (no fixation)
    if lang:
        session["lang"] = lang
    created = portal().store.create(userinfo["sub"], userinfo.get("sid"), token, userinfo)
    session["sid"] = created.key
    return redirect(_safe_next(target) or url_for("areas.home"))


@bp.get("/logout")
def logout_page() -> str:
    return render_template("logout.html")


@bp.post("/logout")
def logout() -> BaseResponse:
    """RP-initiated logout: end ours, then the provider's, and come back home."""
    current = current_session()
    id_token = current.token.get("id_token") if current else None
    end_local_session()
    target = url_for("areas.home", _external=True)
    if not id_token:
        return redirect(target)
    url = portal().idp.create_logout_url(
        post_logout_redirect_uri=target, id_token_hint=id_token, ui_locales=current_locale()
    )["url"]
    return redirect(url)


@bp.post("/refresh")
@login_required
def refresh_claims() -> BaseResponse:
    """The "Berechtigungen aktualisieren" button: re-read the claims now."""
    current = current_session()
    assert current is not None
    try:
        ensure_fresh(current, force=True)
    except SessionEnded:
        end_local_session()
        return redirect(url_for("areas.home"))
    flash(_("Ihre Berechtigungen wurden aktualisiert."), "success")
    return redirect(_safe_next(request.form.get("next")) or url_for("areas.home"))


@bp.post("/backchannel-logout")
def backchannel_logout() -> Response | tuple[Response, int]:
    """Back-Channel Logout 1.0, 2.8: 200 when the sessions ended, 400 when the
    token is refused. Sessions named by ``sid`` end, or all of the ``sub``."""
    raw = request.form.get("logout_token", "")
    try:
        if not raw:
            raise oidc.LogoutTokenError("logout_token is missing")
        found = oidc.validate_logout_token(portal().idp, portal().config, raw)
        expires = found.get("exp") or time.time() + oidc.LOGOUT_TOKEN_MAX_AGE
        if not portal().store.first_use_of(str(found["jti"]), float(expires)):
            raise oidc.LogoutTokenError("replayed jti")
    except oidc.LogoutTokenError as exc:
        log.info("logout token refused: %s", exc)
        return _no_store(jsonify(error="invalid_request", error_description=str(exc))), 400
    except requests.RequestException:
        return _no_store(jsonify(error="temporarily_unavailable")), 503
    sid, sub = found.get("sid"), found.get("sub")
    ended = portal().store.end(
        sub=sub if isinstance(sub, str) else None, idp_sid=sid if isinstance(sid, str) else None
    )
    log.info("back-channel logout ended %s portal session(s)", ended)
    return _no_store(Response(status=200))


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
