"""Importing this module makes every record write maintain the master index (see store.hooks)."""

from __future__ import annotations

from openrms.identity.index import index_of
from openrms.identity.resolver import on_records_written
from openrms.store.hooks import on_prepare, on_write

on_prepare("identity", index_of)
on_write(on_records_written)
