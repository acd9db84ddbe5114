"""SCIM error responses (RFC 7644 §3.12): every failure the server reports goes through here."""

from __future__ import annotations

from typing import Any

from scimitar.schema import ERROR


class ScimError(Exception):
    """An error answered as a SCIM Error body.

    RFC 7644 §3.12: "status: The HTTP status code ... expressed as a JSON string. REQUIRED."
    """

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type

    def body(
        self, *, status_as_number: bool = False, with_schemas: bool = True, with_scim_type: bool = True
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if with_schemas:
            out["schemas"] = [ERROR]
        out["status"] = self.status if status_as_number else str(self.status)
        if self.scim_type and with_scim_type:
            out["scimType"] = self.scim_type
        out["detail"] = self.detail
        return out


def bad_request(detail: str, scim_type: str) -> ScimError:
    return ScimError(400, detail, scim_type)


def not_found(detail: str) -> ScimError:
    return ScimError(404, detail)
