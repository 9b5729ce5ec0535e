"""`nemecys db ...` commands: import feed files, update from the public feeds, show status.

Registered on the `db` group by `nemecys.cli`. Errors in the input (an invalid record, an
unreachable database) print one message and exit with code 2; the database is unchanged.
An update that fetches no feed at all (no network, or every host failed) prints that it
works offline, leaves the database as it was and exits with code 4. An update where some
feeds arrived and others did not imports those that arrived, each in its own transaction,
names those that failed and exits with code 5.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from nemecys.errors import NemecysError
from nemecys.feeds import download as feeds_download
from nemecys.feeds.reader import FORMATS, Document, collect, iter_records
from nemecys.storage.engine import display_url, resolve_url
from nemecys.storage.ingest import ImportSummary, SourceCounts
from nemecys.storage.store import DatabaseStatus, SqlStore

app = typer.Typer(help="Manage the local advisory database.", no_args_is_help=True)

EXIT_INVALID_INPUT = 2  # the same code nemecys.cli uses for invalid input
EXIT_NO_FEED = 4  # `db update` fetched no feed, so the database is unchanged
EXIT_SOME_FEEDS = 5  # `db update` imported some feeds, but others could not be fetched
EXIT_INTERRUPTED = 130
# Imports and downloads that finish sooner show no progress bar.
PROGRESS_DELAY_S = 1.0

T = TypeVar("T")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help=(
            "SQLAlchemy database URL, e.g. postgresql+psycopg://user@host/nemecys, or a SQLite "
            "file path. Default: $NEMECYS_DB, else advisories.db in $XDG_DATA_HOME/nemecys "
            "(~/.local/share/nemecys)."
        ),
        show_default=False,
    ),
]


def _consoles() -> tuple[Console, Console]:
    # Imported here because nemecys.cli imports this module while it is being set up.
    from nemecys.cli import err, out

    return out, err


def _guarded(url: str, action: Callable[[], T]) -> T:
    """Run `action`, turning input and database errors into a message and exit code 2."""
    _, err = _consoles()
    try:
        return action()
    except NemecysError as exc:
        err.print(exc.diagnostics(), markup=False, highlight=False)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        err.print(
            f"database error on {display_url(url)}: {reason}; the database was not changed",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    except KeyboardInterrupt:
        err.print("interrupted; the database was not changed", markup=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None


class _DelayedProgress:
    """A rich progress bar on stderr that appears only once a task has run for a second.

    It stays hidden when stderr is not a terminal, so logs and captured output hold only the
    summary.
    """

    def __init__(self, console: Console, description: str, total: int | None, bytes_: bool = False):
        self.console = console
        self.description = description
        self.total = total
        self.started = time.monotonic()
        columns = [TextColumn("{task.description}"), BarColumn()]
        columns.append(DownloadColumn() if bytes_ else MofNCompleteColumn())
        columns.append(TimeRemainingColumn())
        self.progress = Progress(*columns, console=console, transient=True)
        self.task: TaskID | None = None

    def update(
        self, completed: int, total: int | None = None, description: str | None = None
    ) -> None:
        if description is not None:
            self.description = description
        if total is not None:
            self.total = total
        if self.task is None:
            if not self.console.is_terminal or time.monotonic() - self.started < PROGRESS_DELAY_S:
                return
            self.progress.start()
            self.task = self.progress.add_task(self.description, total=self.total)
        self.progress.update(
            self.task, completed=completed, total=self.total, description=self.description
        )

    def stop(self) -> None:
        if self.task is not None:
            self.progress.stop()


@contextmanager
def _progress(
    console: Console, description: str, total: int | None, bytes_: bool = False
) -> Iterator[_DelayedProgress]:
    bar = _DelayedProgress(console, description, total, bytes_)
    try:
        yield bar
    finally:
        bar.stop()


def _import_paths(
    store: SqlStore, paths: list[Path], fmt: str, origin: str
) -> tuple[ImportSummary, list[str]]:
    _, err = _consoles()
    with collect(paths) as sources, _progress(err, "importing", len(sources.documents)) as bar:
        done = 0

        def advance(_document: Document) -> None:
            nonlocal done
            done += 1
            bar.update(done)

        summary = store.import_records(iter_records(sources, fmt, on_document=advance), origin)
        return summary, sources.skipped


def _print_summary(summary: ImportSummary, skipped: list[str], url: str) -> None:
    out, _ = _consoles()
    table = Table(
        "source", "records", "new", "updated", "unchanged", "older (skipped)", "withdrawn"
    )
    for source, counts in sorted(summary.counts.items()):
        table.add_row(
            source,
            *(
                str(value)
                for value in (
                    counts.records,
                    counts.new,
                    counts.updated,
                    counts.unchanged,
                    counts.older,
                    counts.withdrawn,
                )
            ),
        )
    if summary.counts:
        out.print(table)
    rate = summary.records / summary.seconds if summary.seconds > 0 else 0.0
    out.print(
        f"imported {summary.records} records ({summary.new} new, {summary.updated} updated) "
        f"in {summary.seconds:.1f} s ({rate:,.0f} records/s) into {display_url(url)}",
        markup=False,
        highlight=False,
    )
    if skipped:
        listed = ", ".join(skipped[:5]) + (", ..." if len(skipped) > 5 else "")
        out.print(
            f"skipped {len(skipped)} files that are not advisory documents: {listed}",
            markup=False,
            highlight=False,
        )


@app.command("import")
def import_(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files, folders or .zip archives of OSV (JSON or YAML), NVD CVE 2.0, CSAF 2.0, "
            "KEV JSON or EPSS CSV (optionally .gz) records.",
            show_default=False,
        ),
    ],
    db: DbOption = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", help=f"Input format: {', '.join(FORMATS)}. 'auto' reads it from each file."
        ),
    ] = "auto",
) -> None:
    """Import advisories into the local database, all or nothing."""
    url = resolve_url(db)

    def run() -> tuple[ImportSummary, list[str]]:
        with SqlStore.open(url) as store:
            return _import_paths(store, paths, fmt, "\n".join(str(p) for p in paths))

    summary, skipped = _guarded(url, run)
    _print_summary(summary, skipped, url)


@app.command()
def update(
    db: DbOption = None,
    ecosystem: Annotated[
        list[str] | None,
        typer.Option(
            "--ecosystem",
            "-e",
            help=f"OSV ecosystem to download; repeat for more. Default: {', '.join(feeds_download.DEFAULT_ECOSYSTEMS)}.",
            show_default=False,
        ),
    ] = None,
    no_osv: Annotated[bool, typer.Option("--no-osv", help="Skip the OSV archives.")] = False,
    no_kev: Annotated[bool, typer.Option("--no-kev", help="Skip the KEV catalog.")] = False,
    no_epss: Annotated[bool, typer.Option("--no-epss", help="Skip the EPSS scores.")] = False,
    osv_base_url: Annotated[
        str, typer.Option(envvar="NEMECYS_OSV_BASE_URL", help="Base URL of the OSV archives.")
    ] = feeds_download.OSV_BASE_URL,
    kev_url: Annotated[
        str, typer.Option(envvar="NEMECYS_KEV_URL", help="URL of the KEV catalog JSON.")
    ] = feeds_download.KEV_URL,
    epss_url: Annotated[
        str, typer.Option(envvar="NEMECYS_EPSS_URL", help="URL of the EPSS scores CSV (.gz).")
    ] = feeds_download.EPSS_URL,
    timeout: Annotated[
        float,
        typer.Option(help="Seconds (above 0) to wait for a feed host before working offline."),
    ] = feeds_download.TIMEOUT_S,
) -> None:
    """Download the public feeds and import them; without a network, keep the database as is.

    Each feed that arrives is imported in its own transaction. Exit codes: 0 every feed
    updated; 2 invalid options or input, or a database error; 4 no feed could be fetched
    (offline), the database was not changed; 5 some feeds could not be fetched, the others
    were imported.
    """
    out, err = _consoles()
    url = resolve_url(db)
    ecosystems = () if no_osv else tuple(ecosystem or feeds_download.DEFAULT_ECOSYSTEMS)
    try:
        feeds_download.check_ecosystems(ecosystems)
        feeds_download.check_timeout(timeout)
    except NemecysError as exc:
        err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    feeds = feeds_download.plan_feeds(
        ecosystems,
        osv_base_url,
        kev_url=None if no_kev else kev_url,
        epss_url=None if no_epss else epss_url,
    )
    if not feeds:
        err.print("nothing to update: every feed was left out")
        raise typer.Exit(EXIT_INVALID_INPUT)

    with tempfile.TemporaryDirectory(prefix="nemecys-update-") as folder:
        fetched = _download(feeds, Path(folder), timeout, err)
        if not fetched.paths:
            for _, problem in fetched.failures:
                message = str(problem)
                if not isinstance(problem, feeds_download.OfflineError):
                    message += "; the database was not changed"
                err.print(message, markup=False, highlight=False)
            raise typer.Exit(EXIT_NO_FEED)

        def run() -> list[tuple[ImportSummary, list[str]]]:
            # One transaction per feed: a feed that fails to import leaves the others in.
            with SqlStore.open(url) as store:
                return [
                    _import_paths(store, [path], "auto", feed.url) for feed, path in fetched.paths
                ]

        results = _guarded(url, run)
    summary = _combined([s for s, _ in results])
    _print_summary(summary, [name for _, skipped in results for name in skipped], url)
    if fetched.failures:
        updated = ", ".join(feed.label for feed, _ in fetched.paths)
        err.print(
            f"updated: {updated}; not updated ({len(fetched.failures)} feeds could not be "
            "fetched, the database keeps their earlier records):",
            markup=False,
            highlight=False,
        )
        for feed, problem in fetched.failures:
            err.print(f"  {feed.label}: {_failure_reason(problem)}", markup=False, highlight=False)
        raise typer.Exit(EXIT_SOME_FEEDS)


def _combined(summaries: list[ImportSummary]) -> ImportSummary:
    """Add up the imports of several feeds for one summary table."""
    total = ImportSummary(
        import_id=summaries[-1].import_id,
        started_at=summaries[0].started_at,
        finished_at=summaries[-1].finished_at,
        seconds=sum(s.seconds for s in summaries),
    )
    for summary in summaries:
        for source, counts in summary.counts.items():
            into = total.counts.setdefault(source, SourceCounts())
            for name in ("records", "new", "updated", "unchanged", "older", "withdrawn"):
                setattr(into, name, getattr(into, name) + getattr(counts, name))
    return total


def _failure_reason(exc: NemecysError) -> str:
    if isinstance(exc, feeds_download.OfflineError):
        return f"cannot reach {exc.host} ({exc.reason})"
    return str(exc)


def _download(
    feeds: list[feeds_download.Feed], folder: Path, timeout: float, err: Console
) -> feeds_download.Fetched:
    with _progress(err, "downloading", None, bytes_=True) as bar:
        label = "downloading"

        def on_feed(feed: feeds_download.Feed) -> None:
            nonlocal label
            label = f"downloading {feed.label}"

        def on_bytes(done: int, total: int | None) -> None:
            bar.update(done, total, label)

        return feeds_download.download_available(
            feeds, folder, timeout, on_feed=on_feed, on_bytes=on_bytes
        )


@app.command()
def status(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Show what the database holds: records per source, last imports, the database URL."""
    out, _ = _consoles()
    url = resolve_url(db)

    def run() -> DatabaseStatus:
        with SqlStore.open(url) as store:
            return store.status()

    result = _guarded(url, run)
    if as_json:
        out.print_json(json.dumps(asdict(result)))
        return
    out.print(f"database: {result.url}", markup=False, highlight=False)
    if not result.sources:
        out.print("empty: run 'nemecys db update' or 'nemecys db import PATH'", markup=False)
        return
    table = Table("source", "records", "withdrawn", "last import (UTC)")
    for source in result.sources:
        table.add_row(
            source.source, str(source.records), str(source.withdrawn), source.last_import or "-"
        )
    out.print(table)
    out.print(
        f"{result.vulnerabilities} vulnerabilities under {result.aliases} ids; "
        f"{result.imports} imports"
        + (f"; EPSS scores of {result.epss_date}" if result.epss_date else ""),
        markup=False,
        highlight=False,
    )
