"""GOV.UK pagination links: shared by every page that lists more than fits on one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def pagination(href: Callable[[int], str], page: int, pages: int) -> dict[str, Any] | None:
    """Numbered links around the current page (with the first and last, and ellipses between), previous
    and next, as `partials/pagination.html` draws them; None when everything fits on one page."""
    if pages <= 1:
        return None
    shown = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    items: list[dict[str, Any]] = []
    for i, number in enumerate(shown):
        if i and number - shown[i - 1] > 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "href": href(number), "current": number == page})
    return {
        "items": items,
        "previous": href(page - 1) if page > 1 else None,
        "next": href(page + 1) if page < pages else None,
    }
