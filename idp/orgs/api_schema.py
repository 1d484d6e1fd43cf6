"""The administration API's data: request and response models (pydantic v2)
and the OpenAPI 3.1 document assembled from them and from the operation
table in ``idp.orgs.api``.

Request models forbid unknown fields, so no request can set a field it
should not (no mass assignment); bodies are validated strictly (JSON types as
declared), query parameters leniently (they arrive as text)."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints
from pydantic.json_schema import models_json_schema

from idp.oidc.claims import CUSTOMER_ADMIN_SCOPE
from idp.orgs.members import MAX_SEARCH, PER_PAGE_CHOICES

SCOPE = CUSTOMER_ADMIN_SCOPE
REF = "#/components/schemas/{model}"
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
MAX_PAGE = 100_000
MAX_ID = 2**31 - 1  # row ids are 32-bit integers

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NO_CONTROL)
]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]


class PerPage(enum.IntEnum):
    TEN = 10
    TWENTY_FIVE = 25
    FIFTY = 50
    HUNDRED = 100


assert tuple(PerPage) == PER_PAGE_CHOICES


# -- requests ------------------------------------------------------------------------
class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoBody(Body):
    """Actions take no fields; an empty body or ``{}``."""


class NoQuery(Query):
    pass


class PageQuery(Query):
    search: str = Field("", max_length=MAX_SEARCH, pattern=NO_CONTROL)
    page: int = Field(1, ge=1, le=MAX_PAGE)
    per_page: PerPage = PerPage.TEN


class PermissionsBody(Body):
    """The whole set of permission codes (saved as a whole, as "Speichern")."""

    permissions: list[Code] = Field(max_length=100)


class InvitationBody(Body):
    salutation: Literal["", "frau", "herr", "divers"] = Field(description='"" = keine Angabe')
    given_name: Name
    family_name: Name
    email: str = Field(max_length=320, pattern=EMAIL_SHAPE)
    accept_terms: Literal[True] = Field(
        description="The administrator accepts the terms of use for the invited user."
    )
    permissions: list[Code] = Field(default_factory=list, max_length=100)


# -- responses -----------------------------------------------------------------------
class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PermissionOut(Out):
    code: str
    label: str
    description: str
    group: str | None = Field(description='null or "Meine Daten" (translated)')


class PermissionList(RootModel[list[PermissionOut]]):
    pass


class CustomerOut(Out):
    customer_number: str = Field(pattern=r"^[0-9]{9}$")
    name: str
    country: Literal["DE", "AT"]
    product_line: str


class UserOut(Out):
    id: str = Field(description="The user's OpenID Connect subject (`sub`).")
    salutation: str | None
    given_name: str | None
    family_name: str | None
    name: str
    email: str
    last_login_at: dt.datetime | None
    status: Literal["active", "locked", "pending"]
    role: Literal["employee", "admin"]
    permissions: list[str]


class UserPage(Out):
    items: list[UserOut]
    total: int
    page: int
    per_page: int


class LogEntryOut(Out):
    at: dt.datetime
    category: str = Field(description='e.g. "Benutzer gesperrt" (translated)')
    details: str
    actor: str = Field(description='Who made the change: "Vorname Nachname" or "System".')


class LogPage(Out):
    items: list[LogEntryOut]
    total: int
    page: int
    per_page: int


class InvitationOut(Out):
    email: str
    expires_at: dt.datetime


class AdminRequestOut(Out):
    id: int
    user: UserOut
    created_at: dt.datetime
    reason: str | None


class AdminRequestList(RootModel[list[AdminRequestOut]]):
    pass


class ErrorOut(Out):
    error: str = Field(
        description="invalid_token, insufficient_scope, forbidden, not_found, conflict, "
        "validation_error, bad_request, method_not_allowed, payload_too_large, "
        "unsupported_media_type"
    )
    message: str
    fields: dict[str, list[str]] | None = Field(
        None, description="validation_error only: messages by field name"
    )


# -- the OpenAPI document ----------------------------------------------------------
@dataclass(frozen=True)
class Operation:
    """One API operation: what the route takes and answers, for routing,
    validation and the document alike."""

    method: str
    path: str  # OpenAPI template, relative to /api/v1
    operation_id: str
    summary: str
    tag: str
    query: type[Query] = NoQuery
    body: type[Body] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    public: bool = False
    description: str = ""


PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "customer_number": {"type": "string", "pattern": "^[0-9]{9}$"},
    "user_id": {"type": "string", "minLength": 1, "maxLength": 64},
    "request_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}
PATH_PARAMETER = re.compile(r"\{([a-z_]+)\}")
ERROR_TEXT = {
    400: "Malformed request: a body that is not JSON, a NUL byte in the query",
    401: "Missing, invalid, expired or revoked access token",
    403: "Scope customer_admin missing, or not an active administrator of this account",
    404: "No such customer account, user or request (or one of another customer account)",
    409: "Conflicts with the current state",
    413: "Request body too large",
    415: "Body is not application/json",
    422: "Invalid parameters or body; `fields` names them",
}


def flask_rule(path: str) -> str:
    def convert(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"<int:{name}>" if PATH_PARAMETERS[name]["type"] == "integer" else f"<{name}>"

    return PATH_PARAMETER.sub(convert, path)


def document(operations: Iterable[Operation], *, issuer: str) -> dict[str, Any]:
    operations = list(operations)
    models: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
        (ErrorOut, "serialization")
    ]
    for op in operations:
        models.append((op.query, "validation"))
        if op.body is not None:
            models.append((op.body, "validation"))
        if op.response is not None:
            models.append((op.response, "serialization"))
    _, top = models_json_schema(list(dict.fromkeys(models)), ref_template=REF)
    schemas: dict[str, Any] = top.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas)
    for model in {op.query for op in operations} | {NoBody}:
        schemas.pop(model.__name__, None)  # inlined as parameters, or no body at all
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Administration API",
            "version": "1",
            "description": "Delegated administration of customer accounts: the users of a "
            "customer account, their permissions, locks, invitations and change log. "
            f"Requests carry an access token of this provider with the scope `{SCOPE}`; "
            "its user must be an active administrator of the customer account addressed. "
            "Customer accounts and users of other customers are answered with 404.",
        },
        "servers": [{"url": f"{issuer}/api/v1"}],
        "security": [{"bearerAuth": [SCOPE]}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": f"An access token issued by {issuer} (authorization code "
                    f"flow, see {issuer}/.well-known/openid-configuration) with the scope "
                    f"`{SCOPE}`.",
                }
            },
        },
    }


def _operation(op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": _path_parameters(op.path) + _query_parameters(op.query, schemas),
        "responses": _responses(op),
    }
    if op.description:
        spec["description"] = op.description
    if op.public:
        spec["security"] = []
    if op.body is not None and op.body is not NoBody:
        spec["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": REF.format(model=op.body.__name__)}}
            },
        }
    return spec


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS[name]}
        for name in PATH_PARAMETER.findall(path)
    ]


def _query_parameters(model: type[Query], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    schema = schemas.get(model.__name__, {})
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _responses(op: Operation) -> dict[str, Any]:
    success: dict[str, Any] = {"description": "Success"}
    if op.response is not None:
        ref = {"$ref": REF.format(model=op.response.__name__)}
        success["content"] = {"application/json": {"schema": ref}}
    responses: dict[str, Any] = {str(op.status): success}
    codes = set(op.errors)
    if not op.public:
        codes |= {400, 401, 403, 422}
    if op.body is not None:
        codes |= {413, 415}
    if PATH_PARAMETER.search(op.path):
        codes.add(404)
    for code in sorted(codes):
        responses[str(code)] = {
            "description": ERROR_TEXT[code],
            "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorOut")}}},
        }
        if code == 401:
            responses["401"]["headers"] = {
                "WWW-Authenticate": {"schema": {"type": "string"}, "description": "RFC 6750 3"}
            }
    return responses
