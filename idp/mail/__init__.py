"""Outgoing mail: one function per message, templates in templates/mail/<message>/.

The only code that talks SMTP lives here (registration, reset and notification
mails arrive with the self-service issue)."""

from typing import Any

from flask import current_app, has_request_context, request, url_for


def issuer_url(endpoint: str, **values: Any) -> str:
    """An absolute link for a mail, rooted at the configured issuer.

    Never built from the request's Host header: a forged Host would otherwise
    plant the attacker's server in a genuine reset mail (password-reset poisoning)."""
    path = url_for(endpoint, **values)
    root = request.script_root if has_request_context() else ""
    return str(current_app.config["IDP"].issuer).rstrip("/") + path[len(root) :]
