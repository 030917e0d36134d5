"""Fast JSON answers for the read endpoints, and files streamed as downloads.

FastAPI walks a returned dict with `jsonable_encoder` before encoding it, which costs more than the
database read for a record with its versions; our views are already plain JSON values, so they are
encoded once with orjson and returned as a finished response.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from fastapi import Response
from fastapi.responses import StreamingResponse


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def attachment(pieces: Iterator[str], media_type: str, file_name: str) -> StreamingResponse:
    """A file the browser saves as `file_name` (made of letters, digits, dots and dashes only), sent as
    its pieces come: an export of a large table never sits whole in memory."""
    headers = {"Content-Disposition": f'attachment; filename="{file_name}"'}
    return StreamingResponse(pieces, media_type=media_type, headers=headers)
