"""Excel workbooks (.xlsx), one sheet, streamed with openpyxl's read-only mode.

Values stay native (datetime, int, float, bool, str) as the cells hold them: data_only=True gives a
formula's last computed value rather than its text. Read-only mode trusts the sheet's declared dimensions,
which some exporters get wrong, so they are reset and every row the sheet holds is read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import openpyxl

from openrms.ingest.readers._common import check_unique, failed, opt_int, source_file, to_json
from openrms.ingest.rows import SourceError, SourceRow


def _name(value: Any, index: int) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        value = value.isoformat()
    text = "" if value is None else str(value).strip()
    return text or f"column_{index}"


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class XlsxReader:
    """One worksheet: `sheet` is its name or 1-based position (default the first); `header_row` (1-based)
    names the columns and the rows below it are the records. Fully empty rows are skipped."""

    OPTIONS = frozenset({"sheet", "header_row"})

    def __init__(self, source: str | Path, *, sheet: str | int | None = None, header_row: int = 1) -> None:
        self.path = source_file(source, "an Excel workbook (.xlsx)")
        self.header_row = opt_int(self.path, "header_row", header_row, 1)
        if sheet is not None and (isinstance(sheet, bool) or not isinstance(sheet, (str, int))):
            raise SourceError(
                f"{self.path}: option 'sheet' must be a sheet name or 1-based number, not {sheet!r}"
            )
        self.sheet = sheet
        book = self._load()
        try:
            ws = self._worksheet(book)
            self.sheet_name: str = ws.title
            first = ws.iter_rows(min_row=self.header_row, max_row=self.header_row, values_only=True)
            header = next(first, ())
        except SourceError:
            raise
        except Exception as exc:
            raise SourceError(f"{self.path}: cannot read sheet {self.sheet!r}: {exc}") from None
        finally:
            book.close()
        cells = list(header)
        while cells and _empty(cells[-1]):
            cells.pop()
        if not cells:
            raise SourceError(
                f"{self.path}: row {self.header_row} of sheet {self.sheet_name!r} is empty; "
                "expected the header naming the columns (set header_row)"
            )
        self._names = [_name(value, i) for i, value in enumerate(cells, 1)]
        check_unique(self.path, self._names, f"header (sheet {self.sheet_name!r} row {self.header_row})")

    @property
    def columns(self) -> Sequence[str]:
        return tuple(self._names)

    def _load(self) -> Any:
        try:
            return openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on a damaged or foreign file
            raise SourceError(
                f"{self.path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc}); "
                "expected an Excel 2007+ workbook (legacy .xls must be saved as .xlsx or CSV)"
            ) from None

    def _worksheet(self, book: Any) -> Any:
        sheets = {ws.title: ws for ws in book.worksheets}
        listed = ", ".join(repr(name) for name in sheets)
        if self.sheet is None:
            if not book.worksheets:
                raise SourceError(f"{self.path}: the workbook has no worksheets")
            ws = book.worksheets[0]
        elif isinstance(self.sheet, int):
            if not 1 <= self.sheet <= len(book.worksheets):
                raise SourceError(
                    f"{self.path}: there is no sheet {self.sheet}; the workbook has "
                    f"{len(book.worksheets)}: {listed}"
                )
            ws = book.worksheets[self.sheet - 1]
        elif self.sheet in sheets:
            ws = sheets[self.sheet]
        else:
            raise SourceError(f"{self.path}: no sheet named {self.sheet!r}; the workbook has {listed}")
        ws.reset_dimensions()
        return ws

    def rows(self) -> Iterator[SourceRow]:
        book = self._load()
        try:
            ws = self._worksheet(book)
            cells = ws.iter_rows(min_row=self.header_row + 1, values_only=True)
            number, row_no, width = 0, self.header_row, len(self._names)
            while True:
                row_no += 1
                where = f"sheet {self.sheet_name} row {row_no}"
                try:
                    values = next(cells)
                except StopIteration:
                    return
                except Exception as exc:  # a damaged sheet part: nothing after it can be located
                    yield failed(
                        number + 1,
                        where,
                        "",
                        f"the sheet cannot be read past this row ({type(exc).__name__}: {exc})",
                    )
                    return
                if all(_empty(v) for v in values):
                    continue
                number += 1
                extra = next((i for i in range(width, len(values)) if not _empty(values[i])), None)
                if extra is not None:
                    yield failed(
                        number,
                        where,
                        to_json(list(values)),
                        f"a value in column {extra + 1} is beyond the header's {width} columns",
                    )
                    continue
                fields = {name: values[i] if i < len(values) else None for i, name in enumerate(self._names)}
                yield SourceRow(number, where, to_json(fields), fields)
        finally:
            book.close()
