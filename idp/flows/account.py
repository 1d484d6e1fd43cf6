"""Account overview ("Konto verwalten"); the settings pages grow here."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from werkzeug.wrappers import Response as BaseResponse

from idp.sessions import current_user

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.get("/")
def index() -> BaseResponse | str:
    user = current_user()
    if user is None:
        return redirect(url_for("login.login"))
    return render_template("flows/account/index.html", user=user)
