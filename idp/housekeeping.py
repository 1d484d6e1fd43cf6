"""Deleting what has expired: sessions, codes and dead tokens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, or_

from idp.store import AuthorizationCode, BrowserSession, Token, db, utcnow


def prune(keep: dt.timedelta) -> dict[str, int]:
    now = utcnow()
    horizon = now - keep
    sessions = db.session.execute(delete(BrowserSession).where(BrowserSession.expires_at < now))
    codes = db.session.execute(
        delete(AuthorizationCode).where(AuthorizationCode.expires_at < horizon)
    )
    tokens = db.session.execute(
        delete(Token).where(
            Token.access_expires_at < horizon,
            or_(
                Token.refresh_expires_at.is_(None),
                Token.refresh_expires_at < horizon,
                Token.revoked_at < horizon,
                Token.rotated_at < horizon,
            ),
        )
    )
    return {
        "sessions": sessions.rowcount,  # type: ignore[attr-defined]
        "codes": codes.rowcount,  # type: ignore[attr-defined]
        "tokens": tokens.rowcount,  # type: ignore[attr-defined]
    }
