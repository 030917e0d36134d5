"""The database tables, as SQLAlchemy Core: records, immutable versions, links and masters.

Facts live in versions, which are only ever inserted. `record` holds a record's identity, provenance and a
pointer to its current version; `master_id` on it is the record's cluster membership, the only thing a merge
or unmerge changes. Alembic migrations in `store/migrations` create and evolve exactly these tables.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timestamps are always UTC and always come back timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given; OpenRMS stores only timezone-aware times")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


Document = JSON().with_variant(JSONB(), "postgresql")

ID = 24  # width of generated ids (see store.ids)
MAX_VERSION = 2**31 - 1  # versions are 32-bit integers: a bigger number can name no version


def _provenance_columns() -> list[Column[Any]]:
    return [
        Column("agency", String(40), nullable=False),
        Column("source_system", String(80), nullable=False),
        Column("source_key", String(200), nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("created_by", String(120), nullable=False),
    ]


def _marking_columns() -> list[Column[Any]]:
    return [
        Column("classification", String(20), nullable=False, server_default="OFFICIAL"),
        Column("handling", String(2), nullable=False, server_default="P"),
    ]


record = Table(
    "record",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("entity_type", String(40), nullable=False),
    Column("category", String(10), nullable=False),
    *_provenance_columns(),
    Column("current_version", Integer, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    *_marking_columns(),
    Column("master_id", String(ID), ForeignKey("master.id"), nullable=False),
    Column("deleted", Boolean, nullable=False, server_default="0"),
    Column("content_hash", String(32), nullable=False),
    Index("ix_record_master", "master_id"),
    Index("ix_record_type_id", "entity_type", "id"),
)

record_version = Table(
    "record_version",
    metadata,
    Column("record_id", String(ID), ForeignKey("record.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("data", Document, nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("recorded_by", String(120), nullable=False),
    *_marking_columns(),
    Column("handling_conditions", Text),
    Column("deleted", Boolean, nullable=False, server_default="0"),
    Column("reason", Text),
    Column("warnings", Document),
    PrimaryKeyConstraint("record_id", "version"),
)

link = Table(
    "link",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("link_type", String(40), nullable=False),
    Column("from_id", String(ID), ForeignKey("record.id"), nullable=False),
    Column("to_id", String(ID), ForeignKey("record.id"), nullable=False),
    *_provenance_columns(),
    Column("current_version", Integer, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    *_marking_columns(),
    Column("deleted", Boolean, nullable=False, server_default="0"),
    Column("content_hash", String(32), nullable=False),
    Index("ix_link_from", "from_id"),
    Index("ix_link_to", "to_id"),
)

link_version = Table(
    "link_version",
    metadata,
    Column("link_id", String(ID), ForeignKey("link.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("valid_from", String(25)),
    Column("valid_to", String(25)),
    Column("data", Document, nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("recorded_by", String(120), nullable=False),
    *_marking_columns(),
    Column("handling_conditions", Text),
    Column("deleted", Boolean, nullable=False, server_default="0"),
    Column("reason", Text),
    PrimaryKeyConstraint("link_id", "version"),
)

master = Table(
    "master",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("entity_type", String(40), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("status", String(10), nullable=False, server_default="active"),
    Column("merged_into", String(ID)),
    sqlite_with_rowid=False,
)


# The far end of a link, as a second name for `record`: built once (an alias proxies every column, which
# costs more than the query it is used in).
other_record = record.alias("other")

import_run = Table(
    "import_run",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("mapping", String(200), nullable=False),
    Column("mapping_text", Text),  # the mapping as it was run, so its quarantine can be retried later
    Column("source", String(500), nullable=False),
    Column("source_digest", String(64), nullable=False),
    Column("mapping_digest", String(64), nullable=False),
    Column("agency", String(40), nullable=False),
    Column("source_system", String(80), nullable=False),
    Column("dry_run", Boolean, nullable=False, server_default="0"),
    Column("snapshot", Boolean, nullable=False, server_default="0"),
    Column("status", String(12), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("started_by", String(120), nullable=False),
    Column("checkpoint", Integer, nullable=False, server_default="0"),
    # For a source its bytes cannot identify (a query's rows): a digest of the rows up to the checkpoint, so
    # that resuming can tell whether the rows it skips are still the ones the run read.
    Column("checkpoint_digest", String(64)),
    Column("counts", Document, nullable=False),
    Column("error", Text),
    Column("warnings", Document),  # what the run's report warned of (a snapshot left incomplete...)
    Index("ix_import_run_resume", "source_digest", "mapping_digest", "status"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("run_id", String(ID), ForeignKey("import_run.id"), nullable=False),
    Column("row_number", Integer, nullable=False),
    Column("location", String(200), nullable=False),
    Column("raw", Text, nullable=False),
    # Plain JSON, not JSONB, on PostgreSQL too: JSONB reorders keys, and a person reading a quarantined row
    # (or its export, a column a field) expects the fields in the source's own order.
    Column("fields", JSON()),
    Column("reasons", Document, nullable=False),
    Column("status", String(12), nullable=False, server_default="open"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("resolved_at", UTCDateTime()),
    Column("resolved_by", String(120)),
    Column("resolution", Text),
    Index("ix_quarantine_run_row", "run_id", "row_number"),
    Index("ix_quarantine_status", "status"),
)

# Record and link ids each snapshot import saw (`record_id` holds both: ids never collide, being digests of
# differently prefixed parts), so those its source no longer has can be retracted at the end.
import_seen = Table(
    "import_seen",
    metadata,
    Column("run_id", String(ID), ForeignKey("import_run.id"), nullable=False),
    Column("record_id", String(ID), nullable=False),
    PrimaryKeyConstraint("run_id", "record_id"),
    sqlite_with_rowid=False,
)

# ---- the master index (openrms.identity) ----

# Blocking keys: a record's normalised identifiers and name/date combinations, each a short string. Two
# records sharing a key are candidates for comparison, in real time (an indexed lookup) and in batch (a self
# join). Written in the same transaction as the record, so a record is matchable the moment it commits.
match_key = Table(
    "match_key",
    metadata,
    Column("key", String(120), nullable=False),
    Column("record_id", String(ID), nullable=False),
    Column("entity_type", String(40), nullable=False),
    PrimaryKeyConstraint("key", "record_id"),
    Index("ix_match_key_record", "record_id"),
    sqlite_with_rowid=False,
)

# The normalised comparison features of a record (forename, phonetic keys, date parts, identifiers...), kept
# so candidates are scored without reading and normalising their records again.
match_features = Table(
    "match_features",
    metadata,
    Column("record_id", String(ID), primary_key=True),
    Column("entity_type", String(40), nullable=False),
    Column("features", Document, nullable=False),
)

# Trained match models, versioned: the Splink model JSON plus OpenRMS thresholds. The newest version of a
# type is the one in use; older ones stay so every model judgement can name the model that made it.
match_model = Table(
    "match_model",
    metadata,
    Column("entity_type", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("model", Document, nullable=False),
    Column("summary", Document, nullable=False),
    PrimaryKeyConstraint("entity_type", "version"),
)

# Every pairwise decision, by the model or by a person. record_a < record_b. A person's judgement is never
# overridden by the model; a "different" by a person forbids any automatic merge of the pair's masters.
# A model judgement of "review" puts the pair on the review queue until a person decides.
judgement = Table(
    "judgement",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("record_a", String(ID), nullable=False),
    Column("record_b", String(ID), nullable=False),
    Column("entity_type", String(40), nullable=False),
    Column("decision", String(10), nullable=False),  # same, different, unsure, review
    Column("by_kind", String(6), nullable=False),  # model or person
    Column("by", String(120), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("probability", Float),
    Column("model_version", Integer),
    Column("reason", Text),
    Column("explanation", Document),
    Column("current", Boolean, nullable=False, server_default="1"),
    Index("ix_judgement_pair", "record_a", "record_b"),
    Index("ix_judgement_b", "record_b"),
    Index("ix_judgement_queue", "current", "decision", "by_kind"),
)

# A change to master membership: a merge, a split, an unmerge, a resolution. Its membership_change rows say
# which records moved from which master to which; undoing the event moves them back.
master_event = Table(
    "master_event",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("entity_type", String(40), nullable=False),
    Column("action", String(12), nullable=False),  # merge, split, unmerge, resolve
    Column("at", UTCDateTime(), nullable=False),
    Column("by", String(120), nullable=False),
    Column("reason", Text),
    Column("undoes", String(ID)),
    Column("undone_by", String(ID)),
    Column("detail", Document),
)

membership_change = Table(
    "membership_change",
    metadata,
    Column("event_id", String(ID), nullable=False),
    Column("record_id", String(ID), nullable=False),
    Column("old_master", String(ID), nullable=False),
    Column("new_master", String(ID), nullable=False),
    PrimaryKeyConstraint("event_id", "record_id"),
    Index("ix_membership_change_record", "record_id"),
    sqlite_with_rowid=False,
)

# Which masters an event touched, so a master's history is an indexed lookup.
master_event_master = Table(
    "master_event_master",
    metadata,
    Column("master_id", String(ID), nullable=False),
    Column("event_id", String(ID), nullable=False),
    PrimaryKeyConstraint("master_id", "event_id"),
    sqlite_with_rowid=False,
)

# ---- the search index (openrms.search) ----


def _filled(name: str, *columns: str) -> Index:
    """An index of the documents that have a value in `columns[0]`: each document fills few of the filter
    columns (a person has no VRM, a vehicle no date of birth), so full indexes would mostly index NULLs and
    make every write update all of them. `col = ?` implies `col IS NOT NULL`, so both SQLite and PostgreSQL
    use these for the filters."""
    where = text(f"{columns[0]} IS NOT NULL")
    return Index(name, *columns, sqlite_where=where, postgresql_where=where)


# One row per live record: the values search filters on, normalised, each with an index. Written in the same
# transaction as the record (see openrms.search.index), so a record is findable the moment it commits.
# Events carry the coordinates of the place they occurred at (copied when the OCCURRED_AT link is written),
# so "burglaries within 500 m" is one indexed range over (cell, event_date).
search_doc = Table(
    "search_doc",
    metadata,
    Column("record_id", String(ID), primary_key=True),
    Column("entity_type", String(40), nullable=False),
    Column("category", String(10), nullable=False),
    Column("title", String(300), nullable=False),
    Column("names", Text),  # person name variants, "FORENAMES|SURNAME KEY|PARTS;..." for scoring
    Column("dob", String(10)),  # ISO at its precision: 1985, 1985-03 or 1985-03-02
    Column("dob_year", Integer),
    Column("gender", String(2)),
    Column("vrm", String(12)),
    Column("make", String(40)),
    Column("model", String(60)),
    Column("colour", String(20)),
    Column("postcode", String(8)),
    Column("sector", String(6)),
    Column("district", String(4)),
    Column("street", String(120)),
    Column("town", String(100)),
    Column("area", String(100)),
    Column("area_code", String(20)),
    Column("event_type", String(80)),  # an event's own classification: crime type, incident type...
    Column("ho_class", String(10)),
    Column("offence_code", String(10)),
    Column("crime_type", String(80)),
    Column("outcome", String(80)),
    Column("hate", Boolean),
    Column("event_date", String(10)),
    Column("month", String(7)),
    Column("lat", Float),
    Column("lon", Float),
    Column("cell", Integer),  # 0.01-degree grid square of (lat, lon)
    Column("cell10", Integer),  # 0.1-degree grid square, for wide areas
    Column("terms", Text),  # the search_term keys written for the record, so they can be removed again
    Index("ix_search_doc_type", "entity_type"),
    _filled("ix_search_doc_dob", "dob"),
    _filled("ix_search_doc_dob_year", "dob_year"),
    _filled("ix_search_doc_gender", "gender"),
    _filled("ix_search_doc_vrm", "vrm"),
    _filled("ix_search_doc_make", "make", "model"),
    _filled("ix_search_doc_colour", "colour"),
    _filled("ix_search_doc_postcode", "postcode"),
    _filled("ix_search_doc_sector", "sector"),
    _filled("ix_search_doc_district", "district"),
    _filled("ix_search_doc_street", "street"),
    _filled("ix_search_doc_town", "town"),
    _filled("ix_search_doc_area", "area"),
    _filled("ix_search_doc_area_code", "area_code"),
    _filled("ix_search_doc_event", "event_type", "event_date"),
    _filled("ix_search_doc_ho_class", "ho_class"),
    _filled("ix_search_doc_offence", "offence_code"),
    _filled("ix_search_doc_crime", "crime_type", "event_date"),
    _filled("ix_search_doc_outcome", "outcome"),
    _filled("ix_search_doc_date", "event_date"),
    _filled("ix_search_doc_cell", "cell", "event_date"),
    _filled("ix_search_doc_cell10", "cell10", "event_date"),
)

# Keys a record is found by, each prefixed by its kind: "sn:SMITH" (surname), "sp:SM0" (its phonetic key),
# "nr:WILLIAM" (a nickname root), "sy:SMITH|1985" (surname and year of birth), "vg:B12" (a piece of a VRM),
# "ph:+441134960000", "id:pnc_id:2001/0123456F"... See openrms.search.terms.
search_term = Table(
    "search_term",
    metadata,
    Column("term", String(160), nullable=False),
    Column("record_id", String(ID), nullable=False),
    PrimaryKeyConstraint("term", "record_id"),
    sqlite_with_rowid=False,
)

# The free text of a record (names, descriptions, MO, narrative, code labels). SQLite indexes it in the FTS5
# table `search_fts` (rowid = `doc`); PostgreSQL in a generated tsvector column `tsv` with a GIN index. Both
# are made by the migration, outside this metadata, as they exist on one back end only.
search_text = Table(
    "search_text",
    metadata,
    Column("record_id", String(ID), primary_key=True),
    Column("doc", BigInteger, nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_search_text_doc", "doc", unique=True),
)

# ---- access control (openrms.access) ----

# Agencies sharing the platform: police forces, prosecutors, courts, prisons, probation, health, social care.
agency = Table(
    "agency",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),  # police, prosecutor, court, prison, probation, health...
    Column("created_at", UTCDateTime(), nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
)

unit = Table(
    "unit",
    metadata,
    Column("agency", String(40), ForeignKey("agency.code"), nullable=False),
    Column("code", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    PrimaryKeyConstraint("agency", "code"),
)

# A person (or a system) who signs in. `roles` is a JSON list; `vetting` the highest classification they
# are cleared for. The password hash is argon2id; failed attempts lock the account for a while.
user_account = Table(
    "user_account",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("username", String(120), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("agency", String(40), ForeignKey("agency.code"), nullable=False),
    Column("unit", String(40)),
    Column("roles", Document, nullable=False),
    Column("vetting", String(20), nullable=False),
    Column("password_hash", String(200)),
    Column("external_id", String(200), unique=True),  # OIDC subject, when signed in through a provider
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("failed_attempts", Integer, nullable=False, server_default="0"),
    Column("locked_until", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(120), nullable=False),
)

# Scoped, revocable API tokens for systems. Only a SHA-256 of the token is stored.
api_token = Table(
    "api_token",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("user_id", String(ID), ForeignKey("user_account.id"), nullable=False),
    Column("name", String(120), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("scopes", Document, nullable=False),  # "read", "write", "admin", "audit"
    Column("purpose", String(40)),  # the purpose a system declares once, for every call made with the token
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime()),
    Column("revoked_at", UTCDateTime()),
    Column("last_used_at", UTCDateTime()),
)

# Web sessions: the cookie carries a random id; only its SHA-256 is stored, with the CSRF token and the
# purpose (and reason) the user declared for the session.
web_session = Table(
    "web_session",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", String(ID), ForeignKey("user_account.id"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("purpose", String(40)),
    Column("reason", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime()),
)

# Agreements under which one agency's records are shared with another: which entity types, which fields of
# each (null: every field), for which purposes, from when to when, approved by both sides; revocable.
sharing_agreement = Table(
    "sharing_agreement",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("provider", String(40), ForeignKey("agency.code"), nullable=False),
    Column("recipient", String(40), ForeignKey("agency.code"), nullable=False),
    Column("entity_types", Document, nullable=False),  # {"person": ["forenames", ...] or null, ...}
    Column("purposes", Document, nullable=False),
    Column("valid_from", UTCDateTime(), nullable=False),
    Column("valid_to", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("provider_approved_by", String(120)),
    Column("provider_approved_at", UTCDateTime()),
    Column("recipient_approved_by", String(120)),
    Column("recipient_approved_at", UTCDateTime()),
    Column("revoked_at", UTCDateTime()),
    Column("revoked_by", String(120)),
    Index("ix_sharing_agreement_recipient", "recipient"),
)

# A record restricted to named users or units (covert operations, staff as suspects, public figures): only
# those principals ("user:<id>" or "unit:<agency>/<code>") may see it. A record with no rows is unrestricted.
record_restriction = Table(
    "record_restriction",
    metadata,
    Column("record_id", String(ID), nullable=False),
    Column("principal", String(120), nullable=False),
    Column("added_at", UTCDateTime(), nullable=False),
    Column("added_by", String(120), nullable=False),
    PrimaryKeyConstraint("record_id", "principal"),
    sqlite_with_rowid=False,
)

# The audit trail: append-only, each entry's hash covers its content and the previous entry's hash, so an
# edited, removed or reordered entry breaks the chain at that point (see openrms.access.audit).
audit_entry = Table(
    "audit_entry",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("agency", String(40)),
    Column("action", String(40), nullable=False),
    Column("purpose", String(40)),
    Column("reason", Text),
    Column("detail", Document, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_entry_actor", "actor", "seq"),
)

# Which records each audit entry disclosed or changed, so "who saw this record" is an indexed lookup.
audit_record = Table(
    "audit_record",
    metadata,
    Column("record_id", String(ID), nullable=False),
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    PrimaryKeyConstraint("record_id", "seq"),
    Index("ix_audit_record_seq", "seq", "record_id"),
    sqlite_with_rowid=False,
)
