"""Server-side browser sessions.

The cookie carries only a random value; the row is keyed by its SHA-256. Signing
in replaces the value (session fixation), signing out deletes the row, and
locking a user deletes all of its rows, which ends those sessions at once.
"""

from __future__ import annotations

import copy
import datetime as dt
import secrets
from typing import Any

from flask import Flask, Request, Response, g
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete, select
from werkzeug.datastructures import CallbackDict

from idp.security.clientip import client_ip
from idp.store import BrowserSession, User, db, digest, utcnow

TOUCH_INTERVAL = dt.timedelta(seconds=60)


class ServerSession(CallbackDict[str, Any], SessionMixin):
    def __init__(self, record: BrowserSession | None = None) -> None:
        def on_update(_: Any) -> None:
            self.modified = True

        # a deep copy: flash() appends to a list in place, which a shallow copy
        # would share with the stored row, so the change would never be saved
        super().__init__(copy.deepcopy(record.data) if record else {}, on_update)
        self.record = record
        self.modified = False
        self.regenerate = False
        self.ended = False
        self.login: dict[str, Any] | None = None


class ServerSessionInterface(SessionInterface):
    def open_session(self, app: Flask, request: Request) -> ServerSession:
        token = request.cookies.get(self.get_cookie_name(app))
        if not token or len(token) > 128:
            return ServerSession()
        record = db.session.get(BrowserSession, digest(token))
        now = utcnow()
        idle = dt.timedelta(seconds=app.config["IDP"].session.idle_timeout)
        if record is None or record.expires_at <= now or record.last_seen_at + idle <= now:
            return ServerSession()
        return ServerSession(record)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)
        name = self.get_cookie_name(app)
        record = session.record
        if session.ended or (session.regenerate and record is not None):
            if record is not None:
                # A bulk DELETE: the row may already be gone (end_all_sessions).
                db.session.execute(delete(BrowserSession).where(BrowserSession.id == record.id))
            record = None
            if session.ended:
                db.session.commit()
                response.delete_cookie(name, path=self.get_cookie_path(app))
                return
        if record is None:
            if not session and not session.regenerate:
                return
            token = secrets.token_urlsafe(32)
            record = _new_record(app, token, session)
            db.session.add(record)
            db.session.commit()
            response.set_cookie(
                name,
                token,
                max_age=app.config["IDP"].session.lifetime,
                path=self.get_cookie_path(app),
                secure=app.config["IDP"].uses_tls,
                httponly=True,
                samesite="Lax",
            )
            return
        now = utcnow()
        if session.modified or now - record.last_seen_at > TOUCH_INTERVAL:
            record.data = dict(session)
            record.last_seen_at = now
            db.session.commit()


def _new_record(app: Flask, token: str, session: ServerSession) -> BrowserSession:
    now = utcnow()
    record = BrowserSession(
        id=digest(token),
        sid=secrets.token_urlsafe(32),
        data=dict(session),
        ip=client_ip(),
        created_at=now,
        last_seen_at=now,
        expires_at=now + dt.timedelta(seconds=app.config["IDP"].session.lifetime),
    )
    if session.login:
        record.user_id = session.login["user_id"]
        record.auth_time = session.login["auth_time"]
        record.amr = session.login["amr"]
        record.acr = session.login["acr"]
        record.user_agent = session.login["user_agent"]
    return record


def current_session() -> ServerSession:
    from flask import session

    assert isinstance(session, ServerSession)
    return session


def current_user() -> User | None:
    """The signed-in, active user of this browser session, or None."""
    if "current_user" not in g:
        record = current_session().record
        user = db.session.get(User, record.user_id) if record and record.user_id else None
        g.current_user = user if user is not None and user.is_active else None
    return g.current_user


def begin_authenticated_session(
    user: User, *, amr: list[str], acr: str, user_agent: str | None, keep: dict[str, Any]
) -> None:
    """Replace the session by a new one (new id, new sid) for ``user``.

    ``keep`` carries flow state (a pending authorization request) across."""
    session = current_session()
    session.clear()
    session.update(keep)
    session.regenerate = True
    session.login = {
        "user_id": user.id,
        "auth_time": utcnow(),
        "amr": amr,
        "acr": acr,
        "user_agent": (user_agent or "")[:500],
    }
    g.current_user = user


def end_session() -> str | None:
    """Sign the browser out; returns the ended session's ``sid``."""
    session = current_session()
    sid = session.record.sid if session.record else None
    session.clear()
    session.ended = True
    g.current_user = None
    return sid


def end_all_sessions(user: User) -> list[str]:
    """Delete every session of ``user`` (lock, delete, password reset)."""
    sids = list(
        db.session.scalars(select(BrowserSession.sid).where(BrowserSession.user_id == user.id))
    )
    db.session.execute(delete(BrowserSession).where(BrowserSession.user_id == user.id))
    return sids
