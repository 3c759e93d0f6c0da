"""Import from the server's disk: walk a folder tree and ingest every audio file the way an upload is ingested.

Each file goes through :func:`backend.services.uploads.ingest` (the function behind ``POST /upload``): it is
streamed from disk into ``DATA_DIR/tmp``, hashed, answered from the hash when the library already holds that
content (no decoding), validated and recorded in one transaction of its own. So an import is

- idempotent: a file whose path already holds the same content is ``unchanged`` (hashed, never decoded);
- resumable: an interrupted import keeps every file it committed; run it again and it continues. What a
  killed run can leave behind (its temporary file, a stored file whose transaction never committed) is
  removed when the next import starts (:func:`clean_up`);
- the same rules as the API: formats, limits, paths (``access.check_sample_path``), duplicates.

The sample path of a file is its path relative to the imported folder, ``/``-separated.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy import select

from drumsamp_models.utils import AUDIO_EXTENSIONS

from ..errors import ApiError
from ..extensions import db
from ..models import Sample, SampleLibrary
from . import analysis, storage, uploads
from .access import find_library
from .processes import pid_alive

# Files are taken by extension (drumsamp_models.utils.AUDIO_EXTENSIONS, any case); other files are skipped.
# Temporary files of an import: upload-import-<pid>-*, so that the next import can tell a dead run's from a live
# one's (and the server's start-up sweep of upload-* still covers them).
TMP_BASE = uploads.TMP_PREFIX + "import-"
TMP_PREFIX = TMP_BASE + "{pid}-"
UNCHANGED, SKIPPED = "unchanged", "skipped"
STATUSES = (uploads.STORED, uploads.REPLACED, UNCHANGED, uploads.DUPLICATE, uploads.REJECTED, SKIPPED)


@dataclass(frozen=True)
class Candidate:
    """An audio file found in the tree: where it is (the target of a link inside the tree) and its sample path."""

    source: Path
    name: str


@dataclass
class ImportReport:
    """Counts per status and the files that were not simply stored: ``{path, status, message, duplicateOf?}``."""

    counts: Counter[str] = field(default_factory=Counter)
    notable: list[uploads.FileOutcome] = field(default_factory=list)  # replaced, duplicate, rejected, skipped
    seconds: float = 0.0
    interrupted: bool = False
    cleaned_temporaries: int = 0
    cleaned_orphans: int = 0
    job_id: str | None = None
    job_message: str = ""

    def add(self, outcome: uploads.FileOutcome, unchanged: bool = False) -> None:
        status = UNCHANGED if unchanged else outcome.status
        self.counts[status] += 1
        if status not in (uploads.STORED, UNCHANGED):
            self.notable.append(outcome)

    def of(self, status: str) -> list[uploads.FileOutcome]:
        return [o for o in self.notable if o.status == status]

    @property
    def files(self) -> int:
        """Files looked at (skipped ones included)."""
        return sum(self.counts.values())

    def summary(self) -> str:
        """``12 stored, 0 replaced, ...`` in the order of :data:`STATUSES`."""
        return ", ".join(f"{self.counts[s]} {s}" for s in STATUSES)


def shown(name: str) -> str:
    """A path as text that can always be printed and written as UTF-8 (undecodable bytes as ``\\udcxx``)."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def walk(root: Path) -> tuple[list[Candidate], list[uploads.FileOutcome]]:
    """The audio files under ``root`` in sorted order, and the entries skipped (with the reason).

    Hidden entries (names starting with ``.``: ``.DS_Store``, ``._kick.wav``, ``.git/``) are skipped, and so is
    anything that is not a regular file. Symbolic links are followed only to regular files inside ``root``
    (never to folders, so no loop and no way out of the tree).
    """
    top = root.resolve()
    found: list[Candidate] = []
    skipped: list[uploads.FileOutcome] = []

    def skip(name: str, reason: str) -> None:
        skipped.append(uploads.FileOutcome(shown(name), SKIPPED, reason))

    stack: list[tuple[Path, str]] = [(top, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            skip(prefix or ".", f"folder cannot be read: {exc.strerror or exc}")
            continue
        subfolders = []
        for entry in entries:
            name = f"{prefix}{entry.name}"
            if entry.name.startswith("."):
                skip(name + ("/" if entry.is_dir(follow_symlinks=False) else ""), "hidden")
                continue
            source = Path(entry.path)
            try:
                if entry.is_symlink():
                    target = source.resolve()
                    if not target.is_relative_to(top):
                        skip(name, "symbolic link out of the imported folder (not followed)")
                        continue
                    if target.is_dir():
                        skip(name + "/", "symbolic link to a folder (not followed)")
                        continue
                    source = target
                    mode = target.stat().st_mode
                else:
                    mode = entry.stat(follow_symlinks=False).st_mode
            except OSError as exc:
                skip(name, f"cannot be read: {exc.strerror or exc}")
                continue
            if stat.S_ISDIR(mode):
                subfolders.append((source, name + "/"))
            elif not stat.S_ISREG(mode):
                skip(name, "not a regular file")
            elif os.path.splitext(entry.name)[1].lower() not in AUDIO_EXTENSIONS:
                skip(name, "not an audio file extension (" + ", ".join(sorted(AUDIO_EXTENSIONS)) + ")")
            else:
                found.append(Candidate(source, name))
        stack.extend(reversed(subfolders))  # depth first, in sorted order
    found.sort(key=lambda c: c.name)
    skipped.sort(key=lambda o: o.path)
    return found, skipped


class _Source:
    """A file of the tree as the upload's stream: a read error is the file's fault (400), not the server's."""

    def __init__(self, handle: IO[bytes], name: str) -> None:
        self._handle = handle
        self._name = name

    def read(self, size: int = -1) -> bytes:
        try:
            return self._handle.read(size)
        except OSError as exc:
            raise ApiError(400, f"'{shown(self._name)}' could not be read: {exc.strerror or exc}") from None


def _open(path: Path) -> IO[bytes]:
    """The file opened for reading, refusing anything that is (or was swapped for) a link or not a regular file."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def import_file(user_id: int, lib_name: str, candidate: Candidate) -> uploads.FileOutcome:
    """Ingest one file of the tree (its own transaction), as ``POST /upload`` ingests one file of a batch."""
    try:
        handle = _open(candidate.source)
    except OSError as exc:
        return uploads.FileOutcome(shown(candidate.name), uploads.REJECTED, f"cannot be read: {exc.strerror or exc}")
    with handle:
        prefix = TMP_PREFIX.format(pid=os.getpid())
        outcome = uploads.ingest(user_id, lib_name, candidate.name, _Source(handle, candidate.name), prefix)
    if outcome.status == uploads.REJECTED:
        return uploads.FileOutcome(shown(candidate.name), outcome.status, outcome.message)
    return outcome


def clean_up(user_id: int) -> tuple[int, int]:
    """Remove what a killed import left: temporaries of import processes that are gone, and the user's stored
    files that no committed sample uses (checked under their locks, like the server's start-up sweep, so an
    upload in flight elsewhere is never touched). Returns (temporaries, stored files) removed."""
    temporaries = 0
    for path in storage.tmp_dir().glob(TMP_BASE + "*"):
        pid = path.name[len(TMP_BASE) :].partition("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                temporaries += 1
    return temporaries, storage.release(user_id, storage.stored_files(user_id).get(user_id, set()))


def start_analysis(user_id: int, lib_name: str) -> tuple[str | None, str]:
    """Create (or join) the library's analysis job, as ``GET /analyze`` does: (job id, what to tell the user)."""
    library = find_library(user_id, lib_name)
    if library is None:
        return None, f"library '{lib_name}' does not exist (nothing was stored): no analysis"
    job = analysis.create_job(user_id, library)
    if job.state not in analysis.ACTIVE:
        return job.id, f"nothing to analyse in '{lib_name}': every sample is up to date"
    return job.id, (
        f"analysis job {job.id} queued for {job.total} sample(s) of '{lib_name}': a running server (make run) takes "
        "it up within JOB_POLL_SECONDS, or at its next start; follow it with GET /jobs/" + job.id
    )


def run_import(
    user_id: int,
    lib_name: str,
    root: Path,
    analyse: bool = True,
    progress: Callable[[list[Candidate]], Iterator[Candidate]] | None = None,
) -> ImportReport:
    """Import the audio files under ``root`` into the user's library ``lib_name`` (created when new).

    ``progress`` wraps the iteration over the files (a progress bar). Ctrl-C stops at once (the file in flight
    is committed or rolled back whole) and returns the report so far with ``interrupted``.
    """
    report = ImportReport()
    started = time.perf_counter()
    report.cleaned_temporaries, report.cleaned_orphans = clean_up(user_id)
    candidates, skipped = walk(root)
    for outcome in skipped:
        report.add(outcome)
    try:
        for candidate in progress(candidates) if progress else candidates:
            outcome = import_file(user_id, lib_name, candidate)
            report.add(outcome, unchanged=outcome.unchanged)
            db.session.rollback()  # no transaction or snapshot carried over to the next file
    except KeyboardInterrupt:
        report.interrupted = True
        db.session.rollback()
    report.seconds = time.perf_counter() - started
    if analyse and not report.interrupted:
        report.job_id, report.job_message = start_analysis(user_id, lib_name)
    return report


def library_sample_count(user_id: int, lib_name: str) -> int:
    """How many samples the user's library holds (0 when it does not exist)."""
    count = db.session.scalar(
        select(db.func.count(Sample.id))
        .join(SampleLibrary, Sample.library_id == SampleLibrary.id)
        .where(SampleLibrary.user_id == user_id, SampleLibrary.name == lib_name)
    )
    return count or 0
