"""The customer portal: a relying party that signs people in at the identity
provider and authorises them from the token's claims. It imports nothing from
``idp``; it only speaks OpenID Connect to it."""

from __future__ import annotations

import os
import secrets
from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask, redirect, render_template, session, url_for


def create_portal(
    issuer: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    secret_key: str | None = None,
) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key or os.environ.get("PORTAL_SECRET_KEY") or secrets.token_hex(32),
        SESSION_COOKIE_NAME="portal_session",
        IDP_ISSUER=(issuer or os.environ.get("PORTAL_IDP_ISSUER", "http://127.0.0.1:5000")).rstrip(
            "/"
        ),
    )
    oauth = OAuth(app)
    oauth.register(
        "idp",
        server_metadata_url=app.config["IDP_ISSUER"] + "/.well-known/openid-configuration",
        client_id=client_id or os.environ.get("PORTAL_CLIENT_ID", "demo-portal"),
        client_secret=client_secret
        or os.environ.get("PORTAL_CLIENT_SECRET", "demo-portal-secret-change-me"),
        client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"},
    )

    @app.get("/")
    def index() -> str:
        return render_template("index.html", claims=session.get("claims"))

    @app.get("/login")
    def login() -> Any:
        return oauth.idp.authorize_redirect(url_for("callback", _external=True))

    @app.get("/callback")
    def callback() -> Any:
        token = oauth.idp.authorize_access_token()
        session.clear()
        session["claims"] = dict(token["userinfo"])
        session["id_token"] = token["id_token"]
        return redirect(url_for("index"))

    @app.get("/logout")
    def logout() -> Any:
        id_token = session.pop("id_token", None)
        session.clear()
        metadata = oauth.idp.load_server_metadata()
        target = url_for("index", _external=True)
        if not id_token:
            return redirect(target)
        query = {"id_token_hint": id_token, "post_logout_redirect_uri": target}
        from urllib.parse import urlencode

        return redirect(metadata["end_session_endpoint"] + "?" + urlencode(query))

    return app
