"""OpenID Connect Back-Channel Logout 1.0 at the provider.

When a user signs out here (RP-initiated logout, a lock, a password reset, the
account deleted), every relying party that registered a
``backchannel_logout_uri`` and holds a session of that user gets a Logout Token
(section 2.4) POSTed to it (section 2.5), so it can end its own session too.

Tokens are built inside the request, while the user and the keys are at hand,
and held on the database session; they go out only once that transaction has
committed (a rolled-back logout notifies nobody). Delivery runs on a small
thread pool, so a slow or absent relying party never holds up the request, with
a short timeout and a few retries with backoff. Each outcome is an audit event
(``BACKCHANNEL_LOGOUT_SENT``). Tests call ``wait_for_deliveries``.
"""

from __future__ import annotations

import http.client
import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Flask, current_app
from joserfc import jwt
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from idp.audit import EventTag, record_event
from idp.oidc.keys import key_ring
from idp.oidc.tokens import revoke_for_user
from idp.sessions import end_all_sessions
from idp.store import AuthorizationCode, OAuthClient, Token, User, db

log = logging.getLogger(__name__)

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYPE = "logout+jwt"  # section 2.4: explicit typing (RFC 8725 3.11)
LOGOUT_TOKEN_LIFETIME = 120  # seconds; section 2.4 recommends a short lifetime
TIMEOUT = 3.0  # seconds per attempt
RETRY_DELAYS = (0.5, 2.0)  # seconds to wait before the second and the third attempt
WORKERS = 4

_PENDING = "idp.backchannel.pending"
_HOOKED = "idp.backchannel.hooked"
_SENDER = "idp.backchannel"
_sender_lock = threading.Lock()


@dataclass(frozen=True)
class Delivery:
    """One Logout Token on its way to one relying party."""

    client_id: str
    uri: str
    logout_token: str
    user_id: int


# -- What the rest of the provider calls --------------------------------------


def notify_logout(user: User, sids: Iterable[str] | None = None) -> None:
    """Tell relying parties that sessions of ``user`` have ended.

    With ``sids``, each relying party that was issued a code or a token in one
    of those browser sessions gets a Logout Token naming the ``sid`` (and the
    ``sub``), so it ends just that session. Without, each relying party the user
    has ever signed in to gets one with the ``sub`` alone, which ends all of the
    user's sessions there (section 2.6). Clients without a
    ``backchannel_logout_uri`` are skipped. Sent after the caller commits."""
    wanted = None if sids is None else sorted({sid for sid in sids if sid})
    if wanted == []:
        return
    for client, sid in _audience(user, wanted):
        assert client.backchannel_logout_uri is not None
        _pending().append(
            Delivery(
                client_id=client.client_id,
                uri=client.backchannel_logout_uri,
                logout_token=logout_token(user, client, sid),
                user_id=user.id,
            )
        )


def sign_out_everywhere(user: User) -> None:
    """End every browser session of ``user``, revoke every token, and send
    each relying party a Logout Token for the user (lock, password reset).

    The Logout Tokens carry the ``sub`` without a ``sid``: every token of the
    user is revoked, including those of browser sessions that had already
    expired, so each relying party must end all of the user's sessions."""
    end_all_sessions(user)
    revoke_for_user(user)
    # a code issued before, not yet exchanged, must not yield tokens afterwards
    db.session.execute(
        delete(AuthorizationCode).where(
            AuthorizationCode.user_id == user.id, AuthorizationCode.used_at.is_(None)
        )
    )
    notify_logout(user)


def wait_for_deliveries(app: Flask | None = None, timeout: float = 10.0) -> bool:
    """Block until every delivery handed over so far has finished (tests, and
    commands that exit right after). Returns False on timeout."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    sender: _Sender | None = app.extensions.get(_SENDER)
    return sender.wait(timeout) if sender is not None else True


def logout_token(user: User, client: OAuthClient, sid: str | None) -> str:
    """Section 2.4: a JWT signed like our ID tokens (the client's ID token
    algorithm, our active key for it), typed ``logout+jwt``; it MUST NOT carry
    a ``nonce``."""
    config = current_app.config["IDP"]
    alg = client.id_token_signed_response_alg or config.oidc.default_signing_alg
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": config.issuer,
        "aud": client.client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_LIFETIME,
        "jti": secrets.token_urlsafe(16),
        "sub": user.sub,
        "events": {LOGOUT_EVENT: {}},
    }
    if sid:
        claims["sid"] = sid
    key = key_ring().signing_key(alg)
    return jwt.encode({"alg": alg, "typ": LOGOUT_TOKEN_TYPE, "kid": key.kid}, claims, key)


def _audience(user: User, sids: list[str] | None) -> list[tuple[OAuthClient, str | None]]:
    """(client, sid) pairs to notify: clients with a back-channel URI that were
    issued a code or a token for ``user`` (in one of ``sids``, when given)."""
    used: set[tuple[str, str | None]] = set()
    for model in (Token, AuthorizationCode):
        query = select(model.client_id, model.sid).where(model.user_id == user.id).distinct()
        if sids is not None:
            query = query.where(model.sid.in_(sids))
        used.update((client_id, sid) for client_id, sid in db.session.execute(query))
    if not used:
        return []
    clients = {
        client.client_id: client
        for client in db.session.scalars(
            select(OAuthClient).where(
                OAuthClient.client_id.in_({client_id for client_id, _ in used}),
                OAuthClient.backchannel_logout_uri.is_not(None),
                OAuthClient.backchannel_logout_uri != "",
            )
        )
    }
    pairs = {(client_id, sid if sids is not None else None) for client_id, sid in used}
    return [(clients[c], sid) for c, sid in sorted(pairs, key=str) if c in clients]


# -- After commit ---------------------------------------------------------------


def _pending() -> list[Delivery]:
    """The deliveries waiting for this database session to commit."""
    session = db.session()
    if not session.info.get(_HOOKED):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", _after_rollback)
        session.info[_HOOKED] = True
    pending: list[Delivery] = session.info.setdefault(_PENDING, [])
    return pending


def _after_commit(session: Session) -> None:
    deliveries: list[Delivery] = session.info.pop(_PENDING, [])
    if deliveries:
        sender = _sender(current_app._get_current_object())  # type: ignore[attr-defined]
        for delivery in deliveries:
            sender.submit(delivery)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _sender(app: Flask) -> _Sender:
    with _sender_lock:
        sender: _Sender | None = app.extensions.get(_SENDER)
        if sender is None:
            sender = app.extensions[_SENDER] = _Sender(app)
        return sender


class _Sender:
    """The app's delivery pool. Its threads are joined when the interpreter
    exits, so a command that signs users out still delivers before it ends."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="backchannel-logout")
        self.running: set[Future[None]] = set()
        self.lock = threading.Lock()

    def submit(self, delivery: Delivery) -> None:
        future = self.executor.submit(self._run, delivery)
        with self.lock:
            self.running.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self.lock:
            self.running.discard(future)

    def wait(self, timeout: float) -> bool:
        with self.lock:
            running = set(self.running)
        return not wait(running, timeout).not_done

    def _run(self, delivery: Delivery) -> None:
        status, attempts = deliver(delivery)
        # A thread of its own: its own app context, session and commit.
        with self.app.app_context():
            try:
                record_event(
                    EventTag.BACKCHANNEL_LOGOUT_SENT,
                    user=db.session.get(User, delivery.user_id),
                    client_id=delivery.client_id,
                    status=status,
                    attempts=attempts,
                )
                db.session.commit()
            except Exception:
                log.exception("could not record the back-channel logout to %s", delivery.client_id)
                db.session.rollback()
            finally:
                db.session.remove()


# -- Delivery -------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect answer is a failure: the token goes to the registered URI only."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def deliver(delivery: Delivery) -> tuple[int | str, int]:
    """Section 2.5: POST ``logout_token`` form-encoded; the RP answers 200
    (section 2.8; any 2xx counts, some frameworks answer 204). Server errors and network faults
    are retried; a 4xx means the RP refused the token, which retrying would not
    change. Returns the last status (or "unreachable") and the attempts made.
    Logs name the client, never the token."""
    status: int | str = "unreachable"
    attempts = 0
    for delay in (0.0, *RETRY_DELAYS):
        time.sleep(delay)
        attempts += 1
        try:
            status = _post(delivery)
        except urllib.error.HTTPError as exc:
            status, reason = exc.code, f"HTTP {exc.code}"
            exc.close()
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            status, reason = "unreachable", str(getattr(exc, "reason", exc)) or type(exc).__name__
        else:
            reason = f"HTTP {status}"
        if isinstance(status, int) and 200 <= status < 300:
            return status, attempts
        if isinstance(status, int) and status < 500:
            break
    log.warning(
        "back-channel logout to client %s (%s) failed after %s attempt(s): %s",
        delivery.client_id,
        delivery.uri,
        attempts,
        reason,
    )
    return status, attempts


def _post(delivery: Delivery) -> int:
    request = urllib.request.Request(  # noqa: S310 - registered URI, http(s) checked
        delivery.uri,
        data=urlencode({"logout_token": delivery.logout_token}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with _opener.open(request, timeout=TIMEOUT) as response:
        status: int = response.status
        return status
