"""Importing this module makes every record and link write maintain the search index (see store.hooks)."""

from __future__ import annotations

from openrms.search.index import on_links_written, on_records_written, place_events, prepare
from openrms.store.hooks import on_links_write, on_prepare, on_prepare_batch, on_write

on_prepare("search", prepare)
on_prepare_batch(place_events)
on_write(on_records_written)
on_links_write(on_links_written)
