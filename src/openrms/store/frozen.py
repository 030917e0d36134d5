"""A SQL condition built once and reused in many statements, whose cache key is computed once.

SQLAlchemy looks up each statement's compiled SQL by a cache key that it computes by walking the whole
statement tree on every execution. A read scope's visibility condition is the largest part of most read
statements and is the same object for every request of the same kind of caller (see
`openrms.access.policy`), so walking it every time is wasted work: for a sub-millisecond search it was most
of what access filtering cost. `frozen(condition)` wraps it in an element whose cache key is a token fixed
when it is built. Its bound values are fixed too, so a compiled statement reused under that token is
always right; they are still reported as the statement's parameters, in the same order every time, as
SQLAlchemy expects.
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

from sqlalchemy import Boolean, ColumnElement
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.visitors import InternalTraversal

_tokens = itertools.count()


class FrozenCondition(ColumnElement[bool]):
    """A boolean SQL condition with a precomputed cache key (see the module docstring)."""

    __visit_name__ = "frozen_condition"
    _traverse_internals: ClassVar[list[tuple[str, Any]]] = [("inner", InternalTraversal.dp_clauseelement)]
    type = Boolean()

    def __init__(self, inner: ColumnElement[bool]) -> None:
        self.inner = inner.self_group()
        self._token = ("frozen_condition", next(_tokens))
        self._binds = [e for e in visitors.iterate(self.inner) if isinstance(e, BindParameter)]

    def _gen_cache_key(self, anon_map: Any, bindparams: list[BindParameter[Any]] | None) -> tuple[Any, ...]:
        if bindparams is not None:
            bindparams.extend(self._binds)
        return self._token

    @property
    def _from_objects(self) -> list[Any]:
        return self.inner._from_objects

    def self_group(self, against: Any = None) -> FrozenCondition:
        return self  # the inner condition is already grouped


@compiles(FrozenCondition)
def _compile(element: FrozenCondition, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.inner, **kw)


def frozen(condition: ColumnElement[bool]) -> FrozenCondition:
    """`condition`, with its cache key computed once (its bound values must never change)."""
    return FrozenCondition(condition)
