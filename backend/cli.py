"""``flask --app backend drumsampler ...``: DrumSampler's commands on the server itself.

``import DIR --user MAIL --library NAME`` imports a folder tree of audio files from the server's disk with
the rules of ``POST /upload`` (``backend.services.importer``), then queues the library's analysis.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from tqdm import tqdm

from .errors import ApiError, storage_full
from .extensions import db
from .models import User
from .services import importer, uploads
from .services.access import check_library_name
from .services.auth import normalise_mail

drumsampler = AppGroup("drumsampler", help="DrumSampler's commands on the server (imports).")


@drumsampler.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path))
@click.option("--user", "mail", required=True, help="the mail of the account that gets the library")
@click.option("--library", "lib_name", required=True, help="the library to import into (created when new)")
@click.option(
    "--no-analyse", "--no-analyze", "no_analyse", is_flag=True, help="do not queue the analysis of the library"
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="write every file that was not simply stored (rejected, duplicate, replaced, skipped) to this JSON file",
)
@click.option("--show", default=20, show_default=True, help="rejected files listed in the summary")
def import_command(folder: Path, mail: str, lib_name: str, no_analyse: bool, report: Path | None, show: int) -> None:
    """Import every audio file under FOLDER into a library, as uploads would.

    Takes .wav .wave .aif .aiff .aifc .flac .ogg .oga .mp3 files (any case), each under its path relative to
    FOLDER; validates and stores them with the rules of POST /upload, one file per transaction. Running it
    again imports only what changed, and continues an interrupted import. Then queues the library's analysis
    (a running server processes it). Exit status 0 when the import ran, even if files were rejected.
    """
    from . import upgrade_database

    try:
        check_library_name(lib_name)
    except ApiError as exc:
        raise click.BadParameter(exc.message, param_hint="'--library'") from None
    upgrade_database(current_app._get_current_object())  # type: ignore[attr-defined]
    user = db.session.scalar(select(User).where(User.mail == normalise_mail(mail)))
    if user is None:
        raise click.BadParameter(f"no account with the mail {mail!r}", param_hint="'--user'")
    user_id = user.id
    db.session.rollback()

    def progress(candidates: list[importer.Candidate]) -> Iterator[importer.Candidate]:
        return iter(tqdm(candidates, desc="importing", unit="file", file=sys.stderr, dynamic_ncols=True))

    try:
        result = importer.run_import(user_id, lib_name, folder, analyse=not no_analyse, progress=progress)
    except Exception as exc:
        if storage_full(exc):
            click.echo("error: the server's storage is full; free space and run the import again to continue", err=True)
            sys.exit(1)
        raise
    if result.job_id and current_app.config["CELERY_BROKER_URL"]:
        from .jobs import runner

        try:
            runner().submit(result.job_id)  # Celery workers get it now (a local worker's sweep finds it by itself)
        except ApiError as exc:
            click.echo(f"warning: {exc.message}; the job is queued for the next worker start", err=True)
    _print_summary(result, folder, lib_name, user_id, show)
    if report is not None:
        _write_report(report, result, folder, lib_name)
        click.echo(f"report: {report}")
    if result.interrupted:
        click.echo("interrupted: run the same command again to continue", err=True)
        sys.exit(130)


def _print_summary(result: importer.ImportReport, folder: Path, lib_name: str, user_id: int, show: int) -> None:
    rate = result.files / result.seconds if result.seconds else 0.0
    click.echo(f"{importer.shown(str(folder))} -> library '{lib_name}': {result.summary()}")
    click.echo(
        f"{result.files} file(s) in {result.seconds:.1f} s ({rate:.0f} files/s); the library holds "
        f"{importer.library_sample_count(user_id, lib_name)} sample(s)"
    )
    if result.cleaned_temporaries or result.cleaned_orphans:
        click.echo(
            f"left by an interrupted run and removed: {result.cleaned_temporaries} temporary file(s), "
            f"{result.cleaned_orphans} stored file(s) no sample used"
        )
    rejected = result.of(uploads.REJECTED)
    if rejected:
        click.echo(f"rejected ({len(rejected)}):")
        for outcome in rejected[:show]:
            click.echo(f"  {outcome.path}: {outcome.message}")
        if len(rejected) > show:
            click.echo(f"  ... and {len(rejected) - show} more (--report PATH lists them all)")
    if result.job_message:
        click.echo(result.job_message)


def _write_report(path: Path, result: importer.ImportReport, folder: Path, lib_name: str) -> None:
    body = {
        "folder": importer.shown(str(folder)),
        "library": lib_name,
        "counts": {status: result.counts[status] for status in importer.STATUSES},
        "seconds": round(result.seconds, 3),
        "interrupted": result.interrupted,
        "job": result.job_id,
        "files": [outcome.as_json() for outcome in result.notable],
    }
    path.write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n", encoding="utf-8", errors="backslashreplace")
