"""The one error hierarchy of OpenRMS.

Every layer raises these so that the API renders one problem-details shape (RFC 9457) and the CLI one
message style. This module imports nothing of ours, so every layer, the schema registry included, may use it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


def with_article(noun: str) -> str:
    """A noun with its indefinite article ("an incident", "a person"): messages name entity types, and
    many of ours start with a vowel."""
    sounds_like_you = noun.lower().startswith(("uni", "use", "usu", "uk"))
    vowel = noun[:1].lower() in "aeiou" and not sounds_like_you
    return f"{'an' if vowel else 'a'} {noun}"


@dataclass(frozen=True)
class Issue:
    """One problem found in one record: rule `code`, the field `path` it concerns, and a message.

    `severity` is "error" (the write is refused) or "warning" (a data-quality flag kept with the record).
    """

    code: str
    path: str
    message: str
    severity: str = "error"
    value: Any = None

    def as_dict(self) -> dict[str, Any]:
        out = {"code": self.code, "path": self.path, "message": self.message, "severity": self.severity}
        if self.value is not None:
            # The value as sent, unless JSON cannot carry it (NaN, Infinity): then as text.
            finite = not isinstance(self.value, float) or math.isfinite(self.value)
            out["value"] = self.value if finite else str(self.value)
        return out


class OpenRMSError(Exception):
    """Base error; `status` is the HTTP status the API answers with, `kind` a stable problem type."""

    status = 500
    kind = "internal-error"
    title = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class BadRequest(OpenRMSError):
    status = 400
    kind = "bad-request"
    title = "Bad request"


class NotFound(OpenRMSError):
    status = 404
    kind = "not-found"
    title = "Not found"


class Unauthorized(OpenRMSError):
    """No valid credentials: sign in, or send a bearer token."""

    status = 401
    kind = "unauthorized"
    title = "Authentication required"


class Forbidden(OpenRMSError):
    """Signed in, but the caller's roles, scopes or purpose do not allow this action. Never raised for a
    record the caller may not see: that answers exactly like a missing record (404)."""

    status = 403
    kind = "forbidden"
    title = "Forbidden"


class Conflict(OpenRMSError):
    status = 409
    kind = "conflict"
    title = "Conflict"


@dataclass
class RecordInvalid(OpenRMSError):
    """A record broke one or more rules. Carries every issue at once, so a form can mark every field."""

    record_ref: str
    issues: list[Issue] = field(default_factory=list)

    status = 422
    kind = "validation-failed"
    title = "Validation failed"

    def __post_init__(self) -> None:
        errors = [i for i in self.issues if i.severity == "error"]
        lines = "; ".join(f"{i.path}: {i.message}" for i in errors[:10])
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        super().__init__(f"{self.record_ref} is invalid: {lines}{more}")
        self.extra = {"record": self.record_ref, "issues": [i.as_dict() for i in self.issues]}


class BatchInvalid(OpenRMSError):
    """Some records of a batch are invalid; nothing of the batch was written. Lists each with its issues."""

    status = 422
    kind = "validation-failed"
    title = "Validation failed"

    def __init__(self, failures: list[RecordInvalid]) -> None:
        shown = "; ".join(f.detail for f in failures[:5])
        more = f" (and {len(failures) - 5} more records)" if len(failures) > 5 else ""
        super().__init__(f"{len(failures)} record(s) invalid, nothing written: {shown}{more}")
        self.failures = failures
        self.extra = {"records": [f.extra for f in failures]}

    def __reduce__(self) -> tuple[type, tuple[list[RecordInvalid]]]:
        return (BatchInvalid, (self.failures,))  # so it crosses process boundaries intact
