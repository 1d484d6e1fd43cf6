"""Development only: the console mail backend's messages, readable in the browser,
so a newcomer can register end to end without an SMTP server."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from idp.store import OutboxMessage, db

bp = Blueprint("devmail", __name__, url_prefix="/dev/mail")


@bp.get("/")
def index() -> str:
    messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(20))
    return render_template("mail/_dev.html", messages=list(messages))
