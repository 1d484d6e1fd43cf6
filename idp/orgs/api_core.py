"""How the administration API (``idp.orgs.api``) handles a request: each
operation is declared once with ``@operation``, which routes it, checks the
bearer token, resolves the customer account and user named in the path,
validates query and body, turns domain errors into JSON errors, and lists the
operation for the OpenAPI document.

Checks run in the order token (401, 403 scope) -> customer account (404 for
other tenants' accounts, 403 for non-administrators) -> user (404) -> query
and body (422), so no validation error tells anything about another tenant."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import force_locale
from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from idp.errors import (
    ChangeRejected,
    Conflict,
    DomainError,
    Forbidden,
    InvalidPermissions,
    NotFound,
)
from idp.oidc.tokens import InvalidToken, validate_access_token
from idp.orgs import members
from idp.orgs.api_schema import MAX_ID, SCOPE, Operation, flask_rule
from idp.store import CustomerAccount, Membership, User, db

PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=PREFIX)
OPERATIONS: list[Operation] = []
SUB = re.compile(r"[\x21-\x7e]{1,64}")
ERROR_CODES = {
    400: "bad_request",
    401: "invalid_token",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "server_error",
    503: "temporarily_unavailable",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, list[str]] | None = None,
        challenge: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.fields = status, message, fields
        self.code = code or ERROR_CODES.get(status, "error")
        self.challenge = challenge

    def response(self) -> Response:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.fields is not None:
            body["fields"] = self.fields
        response = jsonify(body)
        response.status_code = self.status
        if self.challenge:
            response.headers["WWW-Authenticate"] = self.challenge
        return response


def is_api_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def http_error(status: int) -> Response:
    """Errors raised outside a view (no such route, method, NUL bytes, too
    large, database trouble), in the API's error format (see errorpages)."""
    messages = {
        400: _("Die Anfrage ist fehlerhaft."),
        404: _("Nicht gefunden."),
        405: _("Diese Methode ist hier nicht erlaubt."),
        413: _("Die Anfrage ist zu groß."),
        503: _("Der Dienst ist vorübergehend nicht verfügbar."),
    }
    return ApiError(status, messages.get(status, _("Die Anfrage ist fehlgeschlagen."))).response()


@bp.after_request
def no_store(response: Response) -> Response:
    if request.endpoint != "api.openapi":
        response.headers["Cache-Control"] = "no-store"  # personal data
    return response


# -- one declaration per operation ---------------------------------------------------
@dataclass
class Call:
    """What an operation's view gets: the checked caller and the validated input."""

    caller: User | None = None  # None for public operations only
    query: Any = None
    body: Any = None
    path: dict[str, Any] = field(default_factory=dict)
    customer_account: CustomerAccount | None = None
    membership: Membership | None = None

    @property
    def user(self) -> User:
        assert self.caller is not None
        return self.caller

    @property
    def account(self) -> CustomerAccount:
        assert self.customer_account is not None
        return self.customer_account

    @property
    def member(self) -> Membership:
        assert self.membership is not None
        return self.membership


View = Callable[[Call], BaseModel | Response | None]


def operation(method: str, path: str, **meta: Any) -> Callable[[View], View]:
    def register(view: View) -> View:
        op = Operation(method, path, view.__name__, **meta)
        OPERATIONS.append(op)

        def handle(**path_values: Any) -> Response:
            locale = request.accept_languages.best_match(_locales()) or _locales()[0]
            with force_locale(locale):
                try:
                    result = view(_prepare(op, path_values))
                except ApiError as error:
                    return error.response()
                except DomainError as error:
                    db.session.rollback()
                    return _domain_error(error).response()
                response = _respond(op, result)
                response.headers["Content-Language"] = locale
                return response

        bp.add_url_rule(flask_rule(path), view.__name__, handle, methods=[method])
        return view

    return register


def _locales() -> list[str]:
    config = current_app.config["IDP"].i18n
    return [config.default_locale, *(x for x in config.locales if x != config.default_locale)]


def _prepare(op: Operation, path: dict[str, Any]) -> Call:
    if op.public:
        return Call(path=path)
    call = Call(caller=_authenticate(), path=path)
    if "customer_number" in path:
        call.customer_account = members.administered_account(call.user, path["customer_number"])
    if "user_id" in path:
        if not SUB.fullmatch(path["user_id"]):
            raise NotFound(_("Benutzer nicht gefunden."))
        call.membership = members.find_member(call.account, path["user_id"])
    if path.get("request_id", 0) > MAX_ID:
        raise NotFound(_("Diesen Antrag gibt es nicht."))
    call.query = _validate_query(op)
    if op.body is not None:
        call.body = _validate_body(op.body)
    return call


def _respond(op: Operation, result: BaseModel | Response | None) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        response = Response(status=204)
        del response.headers["Content-Type"]  # no content, so no type either
        return response
    response = jsonify(result.model_dump(mode="json"))
    response.status_code = op.status
    return response


# -- authentication (RFC 6750) -------------------------------------------------------
def _authenticate() -> User:
    """The bearer token's user: the token must be ours, unexpired, unrevoked,
    carry the scope ``customer_admin`` and belong to an active user."""
    scheme, _sep, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        # RFC 6750 3.1: no error code when the request had no credentials
        raise ApiError(401, _("Ein Bearer-Token ist erforderlich."), challenge='Bearer realm="api"')
    try:
        row, user = validate_access_token(value.strip())
    except InvalidToken:
        user = None
    if user is None:
        raise ApiError(
            401,
            _("Das Zugriffstoken ist ungültig, abgelaufen oder widerrufen."),
            challenge='Bearer realm="api", error="invalid_token"',
        )
    if SCOPE not in row.scope.split():
        raise ApiError(
            403,
            _("Dem Zugriffstoken fehlt der Scope %(scope)s.", scope=SCOPE),
            code="insufficient_scope",
            challenge=f'Bearer realm="api", error="insufficient_scope", scope="{SCOPE}"',
        )
    return user


# -- validation ------------------------------------------------------------------------
def _validate_query(op: Operation) -> Any:
    args = request.args
    repeated = {name: [_("Nur einmal erlaubt.")] for name in args if len(args.getlist(name)) > 1}
    if repeated:
        raise ApiError(422, _("Ungültige Parameter."), fields=repeated)
    try:
        return op.query.model_validate(args.to_dict())
    except ValidationError as error:
        raise ApiError(422, _("Ungültige Parameter."), fields=_fields(error)) from None


def _validate_body(model: type[BaseModel]) -> Any:
    raw = request.get_data(cache=True)
    if not raw.strip():
        raw = b"{}"
    elif request.mimetype != "application/json":
        raise ApiError(415, _("Der Anfragetext muss JSON sein (application/json)."))
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        if any(e["type"] in ("json_invalid", "json_type") for e in error.errors()):
            raise ApiError(400, _("Der Anfragetext ist kein gültiges JSON.")) from None
        raise ApiError(422, _("Ungültige Eingaben."), fields=_fields(error)) from None


def _fields(error: ValidationError) -> dict[str, list[str]]:
    """Messages by top-level field name (``body`` for the body as a whole)."""
    fields: dict[str, list[str]] = {}
    for detail in error.errors():
        name = str(detail["loc"][0]) if detail["loc"] else "body"
        message = _message(name, detail)
        if message not in fields.setdefault(name, []):
            fields[name].append(message)
    return fields


def _message(name: str, detail: ErrorDetails) -> str:
    kind, ctx = detail["type"], detail.get("ctx") or {}
    if name == "accept_terms":
        return _("Bitte akzeptieren Sie die Nutzungsbedingungen.")
    if name == "email" and kind == "string_pattern_mismatch":
        return _("Bitte geben Sie eine gültige E-Mail-Adresse ein.")
    if name == "salutation" and kind == "literal_error":
        return _("Bitte wählen Sie eine Anrede aus der Liste.")
    if name == "per_page" and kind == "enum":
        return _("Erlaubt sind 10, 25, 50 oder 100 Einträge pro Seite.")
    messages = {
        "missing": _("Pflichtfeld."),
        "extra_forbidden": _("Unbekanntes Feld."),
        "model_type": _("Erwartet wird ein JSON-Objekt."),
        "model_attributes_type": _("Erwartet wird ein JSON-Objekt."),
        "string_type": _("Erwartet wird ein Text."),
        "list_type": _("Erwartet wird eine Liste."),
        "int_type": _("Erwartet wird eine ganze Zahl."),
        "int_parsing": _("Erwartet wird eine ganze Zahl."),
        "int_from_float": _("Erwartet wird eine ganze Zahl."),
        "string_too_short": _("Darf nicht leer sein."),
        "string_too_long": _("Höchstens %(n)s Zeichen.", n=ctx.get("max_length")),
        "too_long": _("Höchstens %(n)s Einträge.", n=ctx.get("max_length")),
        "greater_than_equal": _("Mindestens %(n)s.", n=ctx.get("ge")),
        "less_than_equal": _("Höchstens %(n)s.", n=ctx.get("le")),
        "enum": _("Dieser Wert ist nicht erlaubt."),
        "literal_error": _("Dieser Wert ist nicht erlaubt."),
        "string_pattern_mismatch": _("Ungültiges Format."),
    }
    return messages.get(kind, _("Ungültiger Wert."))


def _domain_error(error: DomainError) -> ApiError:
    if isinstance(error, NotFound):
        return ApiError(404, str(error) or _("Nicht gefunden."))
    if isinstance(error, Forbidden):
        return ApiError(403, str(error))
    if isinstance(error, InvalidPermissions):
        message = _("Unbekannte Berechtigungen: %(codes)s", codes=", ".join(error.codes))
        return ApiError(422, message, fields={"permissions": [message]})
    if isinstance(error, ChangeRejected):
        fields = {name: [message] for name, message in error.errors.items()}
        return ApiError(422, _("Ungültige Eingaben."), fields=fields)
    if isinstance(error, Conflict):
        return ApiError(409, str(error))
    return ApiError(409, str(error) or _("Die Anfrage ist fehlgeschlagen."))
