"""Read feed files, folders, zip archives and gzip files, and dispatch each document to its parser.

`db import` accepts any mix of paths. Every file is recognised by its content (or by the
`--format` option), so an OSV folder, an NVD API response, a CSAF advisory, the KEV catalog
and an EPSS CSV can arrive in one call. Zip archives come from the internet (OSV
publishes one per ecosystem), so they are read with limits: a maximum member count, a
maximum size per member and for the whole archive (checked against the declared sizes before
anything is decompressed, and enforced again while reading), and member names are used only
to pick a parser and to name the member in messages, never as file system paths.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from nemecys.errors import InputError
from nemecys.feeds.csaf import looks_like_csaf, parse_csaf
from nemecys.feeds.epss import looks_like_epss, parse_epss
from nemecys.feeds.kev import looks_like_kev, parse_kev
from nemecys.feeds.nvd import looks_like_nvd, parse_nvd
from nemecys.feeds.osv import load_yaml, looks_like_osv, parse_osv
from nemecys.vulns.model import Advisory, EpssScore, KevEntry

Record = Advisory | KevEntry | EpssScore
FORMATS = ("auto", "osv", "nvd", "csaf", "kev", "epss")
DOCUMENT_SUFFIXES = (".json", ".yaml", ".yml", ".csv")
ARCHIVE_SUFFIXES = (".zip",)


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one archive or compressed file may expand to.

    The defaults leave room for the largest OSV ecosystem archives (a few hundred thousand
    members, a few GB uncompressed) while stopping a zip bomb before it fills memory or disk.
    """

    max_members: int = 2_000_000
    max_member_bytes: int = 256 * 1024 * 1024
    max_total_bytes: int = 16 * 1024 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Document:
    """One file or archive member to parse; `origin` names it in messages."""

    origin: str
    suffix: str  # ".json", ".yaml", ".yml" or ".csv", after removing a ".gz"
    read: Callable[[], bytes]
    # Found by walking a folder: a file that is no advisory document (a schema, an index
    # CSV) is skipped there, while the same file named on the command line is an error.
    in_folder: bool = False


class UnrecognisedDocumentError(InputError):
    """A well-formed JSON, YAML or CSV document that matches none of the supported feed formats."""


@dataclass
class SourceSet:
    """The documents found under the paths of one import, listed before any is parsed.

    Listing first gives the progress bar its total, and an unreadable path or an archive that
    breaks the limits fails the import before anything is written.
    """

    documents: list[Document] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    archives: list[_ZipReader] = field(default_factory=list)

    def close(self) -> None:
        """Close the archives that reading opened."""
        for archive in self.archives:
            archive.close()

    def __enter__(self) -> SourceSet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def collect(paths: Iterable[Path], limits: Limits = Limits()) -> SourceSet:
    """List the documents under `paths`: files, folders (recursively, sorted) and zip archives.

    Files in folders whose names end in another suffix are listed in `skipped`; a path given
    directly must be a document or an archive.
    """
    found = SourceSet()
    try:
        for path in paths:
            _add_path(path, found, limits)
    except BaseException:
        found.close()
        raise
    return found


def _add_path(path: Path, found: SourceSet, limits: Limits) -> None:
    if path.is_dir():
        for file in _walk(path):
            if not _add_file(file, found, limits, in_folder=True):
                found.skipped.append(str(file))
    elif path.is_file():
        if not _add_file(path, found, limits):
            raise InputError(
                f"{path}: unsupported file type; expected .json, .yaml, .yml, .csv "
                "(optionally .gz) or a .zip archive"
            )
    else:
        raise InputError(f"{path}: no such file or folder")


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            yield Path(root) / name


def _document_suffix(name: str) -> tuple[str, bool] | None:
    """Return the document suffix of a file name and whether it is gzip-compressed."""
    lower = name.lower()
    compressed = lower.endswith(".gz")
    if compressed:
        lower = lower[:-3]
    for suffix in DOCUMENT_SUFFIXES:
        if lower.endswith(suffix):
            return suffix, compressed
    return None


def _add_file(path: Path, found: SourceSet, limits: Limits, *, in_folder: bool = False) -> bool:
    if path.name.lower().endswith(ARCHIVE_SUFFIXES):
        found.documents.extend(_zip_documents(path, limits, found))
        return True
    suffix = _document_suffix(path.name)
    if suffix is None:
        return False
    kind, compressed = suffix
    if compressed:
        found.documents.append(
            Document(str(path), kind, lambda: _gunzip(path, limits), in_folder=in_folder)
        )
    else:
        found.documents.append(Document(str(path), kind, path.read_bytes, in_folder=in_folder))
    return True


def _gunzip(path: Path, limits: Limits) -> bytes:
    try:
        with gzip.open(path, "rb") as stream:
            data = stream.read(limits.max_member_bytes + 1)
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: invalid gzip file: {exc}") from None
    if len(data) > limits.max_member_bytes:
        raise InputError(
            f"{path}: expands to more than {limits.max_member_bytes} bytes; "
            "refusing it as a possible decompression bomb"
        )
    return data


def _zip_documents(path: Path, limits: Limits, found: SourceSet) -> list[Document]:
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: invalid zip archive: {exc}") from None
    reader = _ZipReader(archive, limits)
    found.archives.append(reader)
    members = [info for info in archive.infolist() if not info.is_dir()]
    if len(members) > limits.max_members:
        raise InputError(
            f"{path}: {len(members)} members exceed the limit of {limits.max_members}; "
            "refusing it as a possible zip bomb"
        )
    total = sum(info.file_size for info in members)
    if total > limits.max_total_bytes:
        raise InputError(
            f"{path}: members expand to {total} bytes, over the limit of {limits.max_total_bytes}; "
            "refusing it as a possible zip bomb"
        )
    documents: list[Document] = []
    for info in members:
        origin = f"{path} (entry {info.filename})"
        if info.file_size > limits.max_member_bytes:
            raise InputError(
                f"{origin}: expands to {info.file_size} bytes, over the limit of "
                f"{limits.max_member_bytes}; refusing it as a possible zip bomb"
            )
        suffix = _document_suffix(info.filename)
        if suffix is None or suffix[1]:
            continue
        documents.append(Document(origin, suffix[0], reader.reader_for(info, origin)))
    return documents


class _ZipReader:
    """Reads members of one archive through the handle that listed them."""

    def __init__(self, archive: zipfile.ZipFile, limits: Limits) -> None:
        self.archive = archive
        self.limits = limits

    def reader_for(self, info: zipfile.ZipInfo, origin: str) -> Callable[[], bytes]:
        return lambda: self.read(info, origin)

    def read(self, info: zipfile.ZipInfo, origin: str) -> bytes:
        try:
            # ZipExtFile stops at the declared size; the extra byte detects a lying header.
            with self.archive.open(info) as member:
                data = member.read(self.limits.max_member_bytes + 1)
        except (OSError, zipfile.BadZipFile, RuntimeError, NotImplementedError) as exc:
            raise InputError(f"{origin}: cannot read the entry: {exc}") from None
        if len(data) > min(info.file_size, self.limits.max_member_bytes):
            raise InputError(f"{origin}: entry is larger than its declared size")
        return data

    def close(self) -> None:
        self.archive.close()


def parse_document(document: Document, fmt: str = "auto") -> list[Record]:
    """Parse one document into records; raise InputError naming its origin when it is invalid."""
    data = document.read()
    if document.suffix == ".csv" or fmt == "epss":
        return _parse_csv(data, document.origin)
    parsed = _load(data, document)
    if isinstance(parsed, list):
        records: list[Record] = []
        for index, item in enumerate(parsed):
            records.extend(_dispatch(item, f"{document.origin} [item {index}]", fmt))
        return records
    return _dispatch(parsed, document.origin, fmt)


def _load(data: bytes, document: Document) -> object:
    if document.suffix == ".json":
        try:
            return json.loads(data.removeprefix(b"\xef\xbb\xbf"))
        except UnicodeDecodeError as exc:
            raise InputError(f"{document.origin}: invalid JSON: not UTF-8 text ({exc})") from None
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{document.origin}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
    try:
        return load_yaml(data)
    except yaml.YAMLError as exc:
        raise InputError(f"{document.origin}: invalid YAML: {exc}") from None


def _parse_csv(data: bytes, origin: str) -> list[Record]:
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{origin}: invalid CSV: not UTF-8 text ({exc})") from None
    lines = io.StringIO(content)
    first = content.split("\n", 1)[0]
    if not looks_like_epss(first):
        raise UnrecognisedDocumentError(
            f"{origin}: not an EPSS CSV; expected a '#model_version:...' line or the header "
            "cve,epss,percentile"
        )
    return list(parse_epss(lines, origin))


def _dispatch(parsed: object, origin: str, fmt: str) -> list[Record]:
    if fmt == "auto":
        fmt = _detect(parsed, origin)
    if fmt == "osv":
        return [parse_osv(parsed, origin)]
    if fmt == "nvd":
        return list(parse_nvd(parsed, origin))
    if fmt == "csaf":
        return list(parse_csaf(parsed, origin))
    if fmt == "kev":
        return list(parse_kev(parsed, origin))
    raise InputError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def _detect(parsed: object, origin: str) -> str:
    if isinstance(parsed, Mapping):
        if looks_like_csaf(parsed):
            return "csaf"
        if looks_like_kev(parsed):
            return "kev"
        if looks_like_nvd(parsed):
            return "nvd"
        if looks_like_osv(parsed):
            return "osv"
    raise UnrecognisedDocumentError(
        f"{origin}: not a recognised advisory document; expected an OSV record, an NVD CVE "
        "2.0 record or API response, a CSAF 2.0 document or the KEV catalog "
        "(use --format to name the format)"
    )


def iter_records(
    sources: SourceSet,
    fmt: str = "auto",
    on_document: Callable[[Document], None] | None = None,
) -> Iterator[Record]:
    """Yield the records of every document in order, calling `on_document` after each.

    A document found in a folder that is not of a supported format is added to
    `sources.skipped` instead of failing the import.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    for document in sources.documents:
        try:
            records = parse_document(document, fmt)
        except UnrecognisedDocumentError:
            if not document.in_folder:
                raise
            sources.skipped.append(document.origin)
            records = []
        yield from records
        if on_document is not None:
            on_document(document)
