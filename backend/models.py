"""Database models (SQLAlchemy 2): the design's ``user`` 1:N ``samplelibrary`` 1:N ``sample`` N:M ``tag``.

Beyond the design: per-sample analysis state (content hash analysed, results, errors), stored
recommendations, background jobs and revoked token sessions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

MAIL_MAX = 254
LIBRARY_NAME_MAX = 100
SAMPLE_NAME_MAX = 1024  # a sample's name is its relative path: at most 1 024 bytes (UTF-8)
SAMPLE_SEGMENT_MAX = 255  # bytes of one folder or file name in it
TAG_NAME_MAX = 64


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


class User(db.Model):  # type: ignore[name-defined]
    """An account; ``mail`` is stored lower-cased."""

    __tablename__ = "user"
    __table_args__ = ({"sqlite_autoincrement": True},)  # ids are never reused: caches and links key on them

    id: Mapped[int] = mapped_column(primary_key=True)
    mail: Mapped[str] = mapped_column(String(MAIL_MAX), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    libraries: Mapped[list[SampleLibrary]] = relationship(back_populates="user", cascade="all, delete-orphan")


class SampleLibrary(db.Model):  # type: ignore[name-defined]
    """A named collection of samples owned by one user.

    ``version`` changes whenever anything shown by ``/get/library`` changes; ``content_version``
    whenever the set of analysed sounds changes (the timbre map, the k-NN index and the stored
    recommendations depend on it).
    """

    __tablename__ = "samplelibrary"
    __table_args__ = (
        UniqueConstraint("user_id", "name", name="uq_samplelibrary_user_name"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(LIBRARY_NAME_MAX))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=0)
    content_version: Mapped[int] = mapped_column(Integer, default=0)
    map_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    recs_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    tag_reach: Mapped[float | None] = mapped_column(Float, nullable=True)
    """How far custom tags spread (``ctagger`` reach, 0..1), set by ``POST /usertags/<lib>/reach``; NULL: strict."""

    user: Mapped[User] = relationship(back_populates="libraries")
    samples: Mapped[list[Sample]] = relationship(
        back_populates="library", cascade="all, delete-orphan", passive_deletes=True
    )


class Sample(db.Model):  # type: ignore[name-defined]
    """One sound: its path in the library (``Kits/909/kick.wav``), its stored audio (by content hash), its
    waveform peaks and its analysis."""

    __tablename__ = "sample"
    __table_args__ = (
        UniqueConstraint("library_id", "name", name="uq_sample_library_name"),
        Index("ix_sample_library_hash", "library_id", "content_hash"),
        Index("ix_sample_library_favorite", "library_id", "is_favorite"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("samplelibrary.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(SAMPLE_NAME_MAX))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    format: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(Integer)
    duration: Mapped[float] = mapped_column(Float)
    samplerate: Mapped[int] = mapped_column(Integer)
    channels: Mapped[int] = mapped_column(Integer)
    is_favorite: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Analysis: valid while analyzed_hash == content_hash; redone when analyzed_model != tagger_model.model_id().
    analyzed_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    analyzed_model: Mapped[str | None] = mapped_column(String(40), nullable=True)
    analysis_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    analysis_runs: Mapped[int] = mapped_column(Integer, default=0)
    analyzed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    auto_tag: Mapped[str | None] = mapped_column(String(TAG_NAME_MAX), nullable=True)
    auto_likelihood: Mapped[float | None] = mapped_column(Float, nullable=True)
    subclass: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """The tagger's sub-class (``drumsamp_models.subclasses``), always within ``auto_tag``'s class."""
    auto_tag_rejected: Mapped[bool] = mapped_column(Boolean, default=False)
    likelihoods: Mapped[dict[str, float] | None] = mapped_column(JSON, nullable=True)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # 200 float32 (MusiCNN)
    descriptors: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # 36 float32 (descriptors)
    non_drum: Mapped[float | None] = mapped_column(Float, nullable=True)  # the non-drum gate's probability
    map_x: Mapped[float | None] = mapped_column(Float, nullable=True)
    map_y: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Waveform: THUMB_PAIRS and PEAK_PAIRS (min, max) int8 pairs of the mono signal (backend.services.waveforms).
    thumb: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    peaks: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # Loop tempo: the estimate (Drumloop sounds) and the user's correction, which wins when set.
    bpm: Mapped[float | None] = mapped_column(Float, nullable=True)
    bpm_user: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The user's class (a correction): shown instead of the tagger's ``auto_tag``, which is kept as its guess.
    user_class: Mapped[str | None] = mapped_column(String(TAG_NAME_MAX), nullable=True)
    corrected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The content's fingerprint for near-duplicate search (gain, rate, encoding and trimming invariant).
    fingerprint: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    library: Mapped[SampleLibrary] = relationship(back_populates="samples")

    @property
    def file_name(self) -> str:
        """The last segment of the sample's path (``kick.wav`` of ``Kits/909/kick.wav``)."""
        return self.name.rsplit("/", 1)[-1]

    tag_links: Mapped[list[SampleTag]] = relationship(
        back_populates="sample", cascade="all, delete-orphan", passive_deletes=True
    )
    rejected_tags: Mapped[list[RejectedTag]] = relationship(
        back_populates="sample", cascade="all, delete-orphan", passive_deletes=True
    )


class Tag(db.Model):  # type: ignore[name-defined]
    """A tag name (custom tags; the tagger's classes live on the sample)."""

    __tablename__ = "tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(TAG_NAME_MAX), unique=True)


class SampleTag(db.Model):  # type: ignore[name-defined]
    """The design's ``sample_tags``: a custom tag on a sample, set by the user or propagated by the k-NN tagger."""

    __tablename__ = "sample_tags"

    sample_id: Mapped[int] = mapped_column(ForeignKey("sample.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float, default=1.0)

    sample: Mapped[Sample] = relationship(back_populates="tag_links")
    tag: Mapped[Tag] = relationship()


class RejectedTag(db.Model):  # type: ignore[name-defined]
    """A custom tag the user removed from a sample: never propagated onto it again, and a vote against the tag
    for its neighbours. Cleared when the user gives the tag back or the sample gets new content."""

    __tablename__ = "rejected_tag"

    sample_id: Mapped[int] = mapped_column(ForeignKey("sample.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True)

    sample: Mapped[Sample] = relationship(back_populates="rejected_tags")
    tag: Mapped[Tag] = relationship()


class Recommendation(db.Model):  # type: ignore[name-defined]
    """A stored recommendation of a library, for its favourites as of ``SampleLibrary.recs_key``."""

    __tablename__ = "recommendation"

    library_id: Mapped[int] = mapped_column(ForeignKey("samplelibrary.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("sample.id", ondelete="CASCADE"))
    distance: Mapped[float] = mapped_column(Float)
    # The favourite it is recommended for (its nearest favourite); null when that favourite is gone.
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sample.id", ondelete="SET NULL"), nullable=True)


class ClassSuggestion(db.Model):  # type: ignore[name-defined]
    """A class suggested for a sample from the user's corrections of similar sounds: ``pending`` until the user
    accepts it (it becomes the sample's ``user_class`` and the row goes) or rejects it (kept, never suggested again)."""

    __tablename__ = "class_suggestion"

    sample_id: Mapped[int] = mapped_column(ForeignKey("sample.id", ondelete="CASCADE"), primary_key=True)
    suggested_class: Mapped[str] = mapped_column(String(TAG_NAME_MAX), primary_key=True)
    confidence: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


ACTIVE_JOB_SQL = "state IN ('queued', 'running')"


class Job(db.Model):  # type: ignore[name-defined]
    """A background analysis of one library; ``owner`` is the worker that holds it, ``heartbeat`` its last sign."""

    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_state", "state"),
        # At most one queued or running job per library, whatever the number of processes.
        Index(
            "uq_job_active_library",
            "library_id",
            unique=True,
            sqlite_where=text(ACTIVE_JOB_SQL),
            postgresql_where=text(ACTIVE_JOB_SQL),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("samplelibrary.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="analyze")
    state: Mapped[str] = mapped_column(String(16), default="queued")
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    heartbeat: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class StoredBlob(db.Model):  # type: ignore[name-defined]
    """A stored audio file (``storage/<user>/<hash>.<ext>``): the row that uploads and deletions lock.

    An upload inserts (or locks) the row of its content in the transaction that records the sample; the
    file is removed only while the row is locked and no committed sample uses the content. So an upload
    and a deletion of the same content never both act on the file at once.
    """

    __tablename__ = "stored_blob"

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    format: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StreamLink(db.Model):  # type: ignore[name-defined]
    """A link of one session: an opaque random token (stored as its SHA-256) for one sample (``/audio-url``) or for
    one library's export with its selection (``/export-url``; ``selection`` as ``export.Selection.as_json``)."""

    __tablename__ = "stream_link"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    sample_id: Mapped[int | None] = mapped_column(ForeignKey("sample.id", ondelete="CASCADE"), index=True)
    library_id: Mapped[int | None] = mapped_column(ForeignKey("samplelibrary.id", ondelete="CASCADE"), index=True)
    selection: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    sid: Mapped[str] = mapped_column(String(64), index=True)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class RevokedSession(db.Model):  # type: ignore[name-defined]
    """A logged-out session: every token (access and refresh) carrying this ``sid`` is refused."""

    __tablename__ = "revoked_session"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    revoked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[float] = mapped_column(Float)
