"""A query against another database (a legacy system's own tables), streamed with a server-side cursor.

`source` is a SQLAlchemy URL. The query runs once when the reader is opened, to check it and learn its
columns (only the cursor's description is read), and again for `rows()`; with stream_results the
driver fetches yield_per rows at a time instead of the whole result. Messages quote the URL with the
password hidden, and any password the driver repeats is masked too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from openrms.ingest.readers._common import check_unique, failed, to_json
from openrms.ingest.rows import SourceError, SourceRow

YIELD_PER = 1000


class SqlReader:
    """Each result row of `query` is a record; values are the driver's native types."""

    OPTIONS = frozenset({"query"})

    def __init__(self, source: str, *, query: str | None = None) -> None:
        try:
            self.url: URL = make_url(str(source))
        except (SQLAlchemyError, ValueError, TypeError):
            raise SourceError(
                "the source is not a database URL; expected a SQLAlchemy URL such as "
                "'postgresql+psycopg://user:password@host/db' or 'sqlite:///path/to/file.db'"
            ) from None
        self.shown = self.url.render_as_string(hide_password=True)
        if not isinstance(query, str) or not query.strip():
            raise SourceError(
                f"{self.shown}: option 'query' (the SQL whose rows are the records) is required"
            )
        self.query = query
        with self._execute() as result:
            self._columns = list(result.keys())
        check_unique(self.shown, self._columns, "query's result (alias them with AS)")

    @property
    def columns(self) -> Sequence[str]:
        return tuple(self._columns)

    def _message(self, exc: BaseException) -> str:
        orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        message = " ".join(str(orig).split()) or type(orig).__name__
        if self.url.password:
            message = message.replace(str(self.url.password), "***")
        return message

    @contextmanager
    def _execute(self) -> Iterator[Any]:
        engine = None
        try:
            engine = create_engine(self.url, poolclass=NullPool)
            with engine.connect() as conn:
                streaming = conn.execution_options(stream_results=True, yield_per=YIELD_PER)
                yield streaming.execute(text(self.query))
        except ImportError as exc:
            raise SourceError(f"{self.shown}: the database driver is not installed ({exc.name})") from None
        except SQLAlchemyError as exc:
            raise SourceError(f"{self.shown}: cannot run the query: {self._message(exc)}") from None
        finally:
            if engine is not None:
                engine.dispose()

    def rows(self) -> Iterator[SourceRow]:
        with self._execute() as result:
            self._columns = list(result.keys())
            number = 0
            while True:
                try:
                    row = next(result)
                except StopIteration:
                    return
                except SQLAlchemyError as exc:
                    yield failed(
                        number + 1,
                        f"result row {number + 1}",
                        "",
                        f"the query failed after {number} rows: {self._message(exc)}",
                    )
                    return
                number += 1
                fields = dict(row._mapping)
                yield SourceRow(number, f"result row {number}", to_json(fields), fields)
