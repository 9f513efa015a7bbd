"""The database schema, as typed SQLAlchemy 2.0 mappings.

ORM classes never leave `crm.core`: plugins read `Tables` (the Core `Table` objects) on a read-only
connection, and receive frozen entities and columnar facts.

Money is stored as integer minor units (cents), so sums are exact on every database, SQLite included
(its NUMERIC affinity would store floats). Times are stored as naive UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from attrs import frozen
from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Bumped with every schema change; `crm` refuses a database whose version it does not know.
SCHEMA_VERSION = 2
# History: 1 stored one assignment row and one JSON score object per customer and run; 2 stores
# runs as compressed column chunks (crm.core.migrations converts 1 -> 2).

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class MetaRow(Base):
    __tablename__ = "crm_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class CustomerRow(Base):
    __tablename__ = "customer"

    # An integer surrogate key: measured, string keys with a plain FK index make the RFM
    # aggregate about 3x slower than an integer key with a covering index.
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    country: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(32))
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    consent_email: Mapped[bool | None]
    consent_sms: Mapped[bool | None]
    consent_phone: Mapped[bool | None]
    consent_profiling: Mapped[bool | None]
    created_at: Mapped[datetime] = mapped_column(DateTime)


class InteractionRow(Base):
    __tablename__ = "interaction"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    channel: Mapped[str | None] = mapped_column(String(64))
    campaign: Mapped[str | None] = mapped_column(String(100))
    stage: Mapped[str | None] = mapped_column(String(64))
    order_id: Mapped[str | None] = mapped_column(String(64))
    # The interaction's identity for idempotent re-imports: "x:<external id>" when the source
    # has one, else "f:<content fingerprint>:<n>" for the n-th identical row of that content.
    source_key: Mapped[str] = mapped_column(String(100))
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        # Covers the per-customer purchase aggregate (min/max time, count, sum, distinct orders),
        # so the GROUP BY reads the index alone instead of one random row lookup per interaction.
        Index(
            "ix_interaction_facts", "kind", "customer_id", "occurred_at", "amount_minor", "order_id"
        ),
        Index("ix_interaction_customer_time", "customer_id", "occurred_at"),
        # A unique index rather than a constraint: SQLite cannot drop a table constraint, and a
        # first import into an empty table builds this index once instead of row by row.
        Index("uq_interaction_source_key", "source_key", unique=True),
    )


class RunRow(Base):
    __tablename__ = "segmentation_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    as_of: Mapped[date] = mapped_column(Date)
    config_hash: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    plugins: Mapped[dict[str, str]] = mapped_column(JSON)
    customers: Mapped[int]


class CustomerMergeRow(Base):
    """One merge of customers into a survivor (crm.core.merging), with what undoing it needs."""

    __tablename__ = "customer_merge"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merged_at: Mapped[datetime] = mapped_column(DateTime)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    #: The merged customers' integer keys, in the order their fields filled the survivor's gaps.
    merged_ids: Mapped[list[int]] = mapped_column(JSON)
    #: Every column of the survivor's row before the merge (dates as ISO text), for an exact undo.
    survivor_before: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Aliases that pointed at a merged customer (earlier merges), by external id -> former target.
    repointed_aliases: Mapped[dict[str, int]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(200))
    undone_at: Mapped[datetime | None] = mapped_column(DateTime)


class CustomerAliasRow(Base):
    """A merged customer's external id, resolved to the survivor by imports and lookups.

    The merged customer's own row stays in `customer` (stored runs still name it), but a customer
    with an alias row is no longer a customer of its own: facts and listings leave it out.
    """

    __tablename__ = "customer_alias"

    external_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    merged_customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    merge_id: Mapped[int] = mapped_column(ForeignKey("customer_merge.id"), index=True)


class MergedInteractionRow(Base):
    """An interaction a merge moved to the survivor, with the customer it belonged to before.

    No foreign key to `interaction`: erasing an interaction must not be blocked by a merge record.
    """

    __tablename__ = "customer_merge_interaction"

    merge_id: Mapped[int] = mapped_column(ForeignKey("customer_merge.id"), primary_key=True)
    interaction_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))


class RunSegmentationRow(Base):
    """One segmentation or stage model of a run: its segments, stored once per run."""

    __tablename__ = "run_segmentation"

    run_id: Mapped[int] = mapped_column(ForeignKey("segmentation_run.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int]
    #: [{"name": ..., "description": ..., "action": ...}, ...]; the stored codes index this list.
    segments: Mapped[list[dict[str, str]]] = mapped_column(JSON)


class RunMetricRow(Base):
    """One metric of a run (`rfm.r`), so a stored run shows its scores as a fresh one does."""

    __tablename__ = "run_metric"

    run_id: Mapped[int] = mapped_column(ForeignKey("segmentation_run.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(130), primary_key=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(500))


class RunChunkRow(Base):
    """A run's customers in chunks of ascending keys; a customer's chunk is found by key range."""

    __tablename__ = "run_chunk"

    run_id: Mapped[int] = mapped_column(ForeignKey("segmentation_run.id"), primary_key=True)
    chunk: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_key: Mapped[int]
    last_key: Mapped[int]
    customers: Mapped[int]
    #: crm.core.run_codec.encode_keys: delta-encoded, compressed customer keys.
    keys: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_run_chunk_range", "run_id", "first_key", "last_key"),)


class RunColumnRow(Base):
    """One column of one chunk: `segment:<name>`, `score:<metric>` or `fact:<name>`."""

    __tablename__ = "run_column"

    run_id: Mapped[int] = mapped_column(primary_key=True)
    chunk: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(140), primary_key=True)
    #: crm.core.run_codec: i1, i2, i4, i8, f4 or f8.
    encoding: Mapped[str] = mapped_column(String(8))
    data: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        ForeignKeyConstraint(
            ["run_id", "chunk"], ["run_chunk.run_id", "run_chunk.chunk"], name="fk_run_column_chunk"
        ),
    )


class RunArtifactRow(Base):
    """A named JSON document a scorer or stage model attached to the run (a fitted model's card)."""

    __tablename__ = "run_artifact"

    run_id: Mapped[int] = mapped_column(ForeignKey("segmentation_run.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    data: Mapped[Any] = mapped_column(JSON)


class ImportRow(Base):
    __tablename__ = "import_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    imported_at: Mapped[datetime] = mapped_column(DateTime)
    target: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(500))
    rows_read: Mapped[int]
    rows_added: Mapped[int]
    rows_rejected: Mapped[int]


class AuditRow(Base):
    """One line of the audit log: who did what, when, with counts; never personal data.

    Append-only from the CLI: no command updates or deletes these rows (see docs/privacy.md).
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    os_user: Mapped[str] = mapped_column(String(100))
    command: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    #: Counts by name ({"rows_read": 10, ...}) and short non-personal details (config hashes).
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)


class TombstoneRow(Base):
    """An erased customer id, kept only as a keyed hash (HMAC-SHA256 with the database's secret
    in crm_meta), so a later import of the same id can be refused without storing the id."""

    __tablename__ = "customer_tombstone"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(DateTime)


class CampaignRow(Base):
    """A marketing campaign; interactions name it by `id` in their `campaign` column.

    Keyed by the id your systems use (the same text the interactions carry), so an interactions
    file and a campaigns file join without a lookup table. Money in minor units; a campaign
    without a known cost has `cost_minor` NULL (its ROI is unavailable, never infinite).
    """

    __tablename__ = "campaign"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(64))
    #: First and last day it ran (inclusive, UTC); `ends_on` NULL while it runs.
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    cost_minor: Mapped[int | None] = mapped_column(BigInteger)
    budget_minor: Mapped[int | None] = mapped_column(BigInteger)
    #: The segment it targets as "segmentation=segment" (e.g. "rfm=At Risk"), if any.
    target_segment: Mapped[str | None] = mapped_column(String(200))


@frozen
class Tables:
    """The Core tables a plugin may query on the read-only connection it is given."""

    customer: Table
    interaction: Table
    run: Table
    #: Merged customers' external ids -> the survivor (`merged_customer_id` is left out of facts).
    customer_alias: Table = CustomerAliasRow.__table__  # type: ignore[assignment]
    customer_merge: Table = CustomerMergeRow.__table__  # type: ignore[assignment]
    #: Imported campaigns (`crm import campaigns`); interactions name them in `campaign`.
    campaign: Table = CampaignRow.__table__  # type: ignore[assignment]

    @classmethod
    def default(cls) -> Tables:
        return cls(
            customer=CustomerRow.__table__,  # type: ignore[arg-type]
            interaction=InteractionRow.__table__,  # type: ignore[arg-type]
            run=RunRow.__table__,  # type: ignore[arg-type]
        )
