"""Fast JSON answers for the read endpoints.

FastAPI walks a returned dict with `jsonable_encoder` before encoding it, which costs more than the
database read for a record with its versions; our views are already plain JSON values, so they are
encoded once with orjson and returned as a finished response.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
