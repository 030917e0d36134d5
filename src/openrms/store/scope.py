"""The read scope: every read path in the store takes one, so access control filters inside the query.

`Unrestricted` is used by the system itself (migrations, batch jobs, the demo loader). The access layer
supplies scopes built from a caller's identity, purpose and sharing agreements; the store only asks each
scope for SQL conditions, so a record the caller may not see is never fetched, counted or linked to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Table, true


class ReadScope(Protocol):
    """Who is reading and why; turns into SQL conditions on the record and link tables."""

    @property
    def actor(self) -> str: ...

    @property
    def purpose(self) -> str | None: ...

    def records(self, record_table: Table, fields: Iterable[str] | None = ()) -> ColumnElement[bool]:
        """Records the caller may see. `fields`: the fields a search matches on (None: free text over all
        of them), so a record shared with some fields redacted is not found through a hidden field."""
        ...

    def links(self, link_table: Table) -> ColumnElement[bool]: ...

    def mentionable(self, record_table: Table) -> ColumnElement[bool]:
        """Records whose existence may be told to the caller even when they cannot see them: those only a
        sharing agreement stands between ("a restricted record may match; contact NYP"). A record hidden by
        its classification, its handling or a restriction to named people must stay secret, even as a hint."""
        ...

    def redact(self, agency: str, entity_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """A visible record's data without the fields the caller may not see."""
        ...


class Unrestricted:
    """The system's own view: sees everything. Never hand one to a person's request."""

    def __init__(self, actor: str = "system", purpose: str | None = None) -> None:
        self._actor, self._purpose = actor, purpose

    @property
    def actor(self) -> str:
        return self._actor

    @property
    def purpose(self) -> str | None:
        return self._purpose

    def records(self, record_table: Table, fields: Iterable[str] | None = ()) -> ColumnElement[bool]:
        return true()

    def links(self, link_table: Table) -> ColumnElement[bool]:
        return true()

    def mentionable(self, record_table: Table) -> ColumnElement[bool]:
        return true()

    def redact(self, agency: str, entity_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
        return dict(data)
