"""Timing requests against the app in-process: one event loop, httpx's ASGI transport, no sockets.

Starlette's TestClient starts a thread portal for every request, which adds milliseconds of harness time
to each; this measures the application itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx


def time_requests(
    app: Any,
    paths: Sequence[str],
    warmup: int = 100,
    method: str = "GET",
    body: Callable[[int], Any] | None = None,
) -> list[float]:
    """Milliseconds per request, in order; every response must be 2xx."""

    async def run() -> list[float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for path in paths[:warmup]:
                await client.request(method, path, json=body(0) if body else None)
            samples = []
            for index, path in enumerate(paths):
                started = time.perf_counter()
                response = await client.request(method, path, json=body(index) if body else None)
                samples.append((time.perf_counter() - started) * 1000)
                if response.status_code >= 300:
                    raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:200]}")
            return samples

    return asyncio.run(run())
