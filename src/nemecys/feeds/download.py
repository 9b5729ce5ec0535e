"""Download the public advisory feeds for `nemecys db update`.

Sources: OSV's per-ecosystem archives (`<base>/<Ecosystem>/all.zip`), the CISA KEV catalog
and the current EPSS scores. Every file is fetched into a temporary folder before anything is
imported, so a failed or partial download never changes the database. A network failure
(connection refused, no DNS, timeout) raises `OfflineError`. Its message states plainly that
nemecys works offline with the database it has. An HTTP error status raises `DownloadError`.
`download_available` fetches what it can and returns the failures, so that the feeds that
arrived can still be imported.
"""

from __future__ import annotations

import difflib
import math
import re
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError

from nemecys import __version__
from nemecys.errors import InputError, NemecysError

OSV_BASE_URL = "https://osv-vulnerabilities.storage.googleapis.com"
KEV_URL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
EPSS_URL = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"
# Ecosystems of the libraries that connected-device software (apps, cloud back ends, device
# tooling) is usually built from; `db update --ecosystem` picks others.
DEFAULT_ECOSYSTEMS = ("PyPI", "npm", "Maven", "NuGet", "Go", "crates.io", "RubyGems", "Packagist")
# The ecosystems OSV publishes (https://ossf.github.io/osv-schema/#affectedpackage-field); an
# archive name may add a release after a colon, as in "Debian:12" or "Ubuntu:22.04:LTS".
OSV_ECOSYSTEMS = (
    "AlmaLinux",
    "Alpaquita",
    "Alpine",
    "Android",
    "Azure Linux",
    "BellSoft Hardened Containers",
    "Bioconductor",
    "Bitnami",
    "Chainguard",
    "ConanCenter",
    "CRAN",
    "crates.io",
    "Debian",
    "Echo",
    "GHC",
    "GIT",
    "GitHub Actions",
    "Go",
    "Hackage",
    "Hex",
    "Julia",
    "Kubernetes",
    "Linux",
    "Mageia",
    "Maven",
    "MinimOS",
    "npm",
    "NuGet",
    "openEuler",
    "openSUSE",
    "OSS-Fuzz",
    "Packagist",
    "Photon OS",
    "Pub",
    "PyPI",
    "Red Hat",
    "Rocky Linux",
    "RubyGems",
    "SUSE",
    "SwiftURL",
    "Ubuntu",
    "VSCode",
    "Wolfi",
)
TIMEOUT_S = 60.0
# Upper bound for one downloaded file; the largest OSV ecosystem archives are well below it.
MAX_DOWNLOAD_BYTES = 4 * 1024 * 1024 * 1024
_CHUNK = 1024 * 1024


class OfflineError(NemecysError):
    """A feed host could not be reached; nothing was imported."""

    def __init__(self, url: str, reason: object) -> None:
        self.url = url
        self.host = urllib.parse.urlsplit(url).netloc or url
        self.reason = str(reason)
        super().__init__(
            f"cannot reach {self.host} ({self.reason}); working offline, "
            "the database was not changed"
        )


class DownloadError(InputError):
    """A feed host returned an error status or sent more than the size limit."""


def check_ecosystems(ecosystems: Iterable[str]) -> None:
    """Raise InputError for a name that is not an OSV ecosystem, suggesting the closest one."""
    by_lower = {name.lower(): name for name in OSV_ECOSYSTEMS}
    for ecosystem in ecosystems:
        base = ecosystem.split(":", 1)[0]
        if base in OSV_ECOSYSTEMS:
            continue
        lowered = base.strip().lower()
        matches = difflib.get_close_matches(lowered, list(by_lower), n=1, cutoff=0.6)
        close = by_lower.get(lowered) or (by_lower[matches[0]] if matches else None)
        suggestion = f"did you mean {close!r}? " if close else ""
        raise InputError(
            f"unknown OSV ecosystem {ecosystem!r}; {suggestion}"
            f"valid names (case matters): {', '.join(OSV_ECOSYSTEMS)}"
        )


def check_timeout(timeout: float) -> None:
    """Raise InputError unless `timeout` is a finite number of seconds above 0."""
    if not math.isfinite(timeout) or timeout <= 0:
        raise InputError(
            f"invalid timeout {timeout:g}: give the seconds to wait for a feed host as a number "
            f"above 0, e.g. {TIMEOUT_S:g}"
        )


@dataclass(frozen=True, slots=True)
class Feed:
    """One file to download: a label for messages, its URL and the local file name."""

    label: str
    url: str
    filename: str


def plan_feeds(
    ecosystems: Iterable[str] = DEFAULT_ECOSYSTEMS,
    osv_base_url: str = OSV_BASE_URL,
    kev_url: str | None = KEV_URL,
    epss_url: str | None = EPSS_URL,
) -> list[Feed]:
    """List the files to fetch; pass no ecosystems, or None for a URL, to leave a feed out."""
    feeds: list[Feed] = []
    base = osv_base_url.rstrip("/")
    for ecosystem in ecosystems:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", ecosystem)
        url = f"{base}/{urllib.parse.quote(ecosystem, safe='')}/all.zip"
        feeds.append(Feed(f"OSV {ecosystem}", url, f"osv-{safe}.zip"))
    if kev_url:
        feeds.append(Feed("CISA KEV", kev_url, "known_exploited_vulnerabilities.json"))
    if epss_url:
        feeds.append(Feed("EPSS", epss_url, "epss_scores-current.csv.gz"))
    return feeds


def download(
    feed: Feed,
    folder: Path,
    timeout: float = TIMEOUT_S,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    on_bytes: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Fetch one feed into `folder`; `on_bytes(done, total)` follows the transfer."""
    scheme = urllib.parse.urlsplit(feed.url).scheme
    if scheme not in ("http", "https"):
        raise DownloadError(f"{feed.label}: unsupported URL {feed.url!r}; expected http or https")
    target = folder / feed.filename
    request = urllib.request.Request(feed.url, headers={"User-Agent": f"nemecys/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            with target.open("wb") as output:
                while chunk := response.read(_CHUNK):
                    done += len(chunk)
                    if done > max_bytes:
                        raise DownloadError(
                            f"{feed.label}: {feed.url} sent more than {max_bytes} bytes; "
                            "stopped the download"
                        )
                    output.write(chunk)
                    if on_bytes is not None:
                        on_bytes(done, total)
    except HTTPError as exc:
        exc.close()  # the error carries the open response
        raise DownloadError(
            f"{feed.label}: download of {feed.url} failed: HTTP {exc.code} {exc.reason}"
        ) from None
    except URLError as exc:
        raise OfflineError(feed.url, exc.reason) from None
    except (TimeoutError, ConnectionError) as exc:
        raise OfflineError(feed.url, str(exc) or "timed out") from None
    return target


def download_all(
    feeds: Sequence[Feed],
    folder: Path,
    timeout: float = TIMEOUT_S,
    on_feed: Callable[[Feed], None] | None = None,
    on_bytes: Callable[[int, int | None], None] | None = None,
) -> list[Path]:
    """Fetch every feed into `folder`, stopping at the first failure."""
    paths: list[Path] = []
    for feed in feeds:
        if on_feed is not None:
            on_feed(feed)
        paths.append(download(feed, folder, timeout=timeout, on_bytes=on_bytes))
    return paths


@dataclass(frozen=True, slots=True)
class Fetched:
    """The outcome of `download_available`: the files that arrived and the feeds that failed."""

    paths: list[tuple[Feed, Path]]
    failures: list[tuple[Feed, NemecysError]]


def download_available(
    feeds: Sequence[Feed],
    folder: Path,
    timeout: float = TIMEOUT_S,
    on_feed: Callable[[Feed], None] | None = None,
    on_bytes: Callable[[int, int | None], None] | None = None,
) -> Fetched:
    """Fetch every feed into `folder`, going on after a failure; return both outcomes."""
    fetched = Fetched([], [])
    for feed in feeds:
        if on_feed is not None:
            on_feed(feed)
        try:
            fetched.paths.append((feed, download(feed, folder, timeout=timeout, on_bytes=on_bytes)))
        except (OfflineError, DownloadError) as exc:
            fetched.failures.append((feed, exc))
    return fetched
