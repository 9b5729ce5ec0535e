"""`nemecys db import | update | status` as a user runs them, against local files and servers."""

from __future__ import annotations

import functools
import gzip
import http.server
import json
import shutil
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nemecys.cli import app
from nemecys.storage.engine import display_url, resolve_url
from nemecys.storage.store import SqlStore

from ._storage_support import BACKENDS, database_url
from .conftest import shared

runner = CliRunner()

# An NVD CVE API 2.0 response page with one record, its values written for this test.
NVD_RESPONSE: dict[str, Any] = {
    "resultsPerPage": 1,
    "startIndex": 0,
    "totalResults": 1,
    "format": "NVD_CVE",
    "version": "2.0",
    "timestamp": "2024-06-01T00:00:00.000",
    "vulnerabilities": [
        {
            "cve": {
                "id": "CVE-2023-1968",
                "sourceIdentifier": "ics-cert@hq.dhs.gov",
                "published": "2023-04-28T22:15:09.000",
                "lastModified": "2023-05-08T17:12:46.000",
                "vulnStatus": "Analyzed",
                "descriptions": [
                    {
                        "lang": "en",
                        "value": "Universal Copy Service binds to an unrestricted IP address.",
                    }
                ],
                "configurations": [
                    {
                        "nodes": [
                            {
                                "operator": "OR",
                                "negate": False,
                                "cpeMatch": [
                                    {
                                        "vulnerable": True,
                                        "criteria": "cpe:2.3:a:illumina:universal_copy_service:*:*:*:*:*:*:*:*",
                                        "versionStartIncluding": "2.0.0",
                                        "versionEndExcluding": "3.0.0",
                                    }
                                ],
                            }
                        ]
                    }
                ],
            }
        }
    ],
}

EPSS_CSV = "#model_version:v2023.03.01,score_date:2024-06-01T00:00:00+0000\ncve,epss,percentile\nCVE-2024-22194,0.00045,0.17\nCVE-2021-44228,0.97565,0.99998\n"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path) as url:
        yield url


def osv_record(
    advisory_id: str, package: str = "demo", modified: str = "2024-01-01T00:00:00Z"
) -> dict[str, Any]:
    return {
        "id": advisory_id,
        "modified": modified,
        "aliases": [f"CVE-2024-{advisory_id[-4:]}"],
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": package},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}
                ],
            }
        ],
    }


def status_of(url: str) -> dict[str, Any]:
    result = runner.invoke(app, ["db", "status", "--db", url, "--json"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.output)
    return document


def records_by_source(url: str) -> dict[str, int]:
    return {s["source"]: s["records"] for s in status_of(url)["sources"]}


def test_import_pysec_then_reimport(db_url: str) -> None:
    folder = str(shared("vulndb/osv-pypi/vulns"))

    first = runner.invoke(app, ["db", "import", folder, "--db", db_url])
    second = runner.invoke(app, ["db", "import", folder, "--db", db_url])

    assert first.exit_code == 0, first.output
    assert "imported 2661 records (2661 new, 0 updated)" in first.output
    assert second.exit_code == 0, second.output
    assert "imported 2661 records (0 new, 0 updated)" in second.output
    status = status_of(db_url)
    assert records_by_source(db_url) == {"osv": 2661}
    assert status["imports"] == 2
    assert status["sources"][0]["withdrawn"] == 10


def test_broken_file_leaves_database_unchanged(db_url: str, tmp_path: Path) -> None:
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "GHSA-0001.json").write_text(json.dumps(osv_record("GHSA-0001")), encoding="utf-8")
    assert runner.invoke(app, ["db", "import", str(seed), "--db", db_url]).exit_code == 0
    before = status_of(db_url)

    batch = tmp_path / "batch"
    batch.mkdir()
    for number in range(2, 40):
        (batch / f"GHSA-{number:04d}.json").write_text(
            json.dumps(osv_record(f"GHSA-{number:04d}")), encoding="utf-8"
        )
    newer = osv_record("GHSA-0001", package="changed", modified="2025-01-01T00:00:00Z")
    (batch / "GHSA-0001.json").write_text(json.dumps(newer), encoding="utf-8")
    broken = osv_record("GHSA-9999")
    del broken["modified"]
    (batch / "zz-GHSA-9999.json").write_text(json.dumps(broken), encoding="utf-8")

    result = runner.invoke(app, ["db", "import", str(batch), "--db", db_url])

    assert result.exit_code == 2
    assert "zz-GHSA-9999.json: invalid OSV record: GHSA-9999: modified is missing" in result.output
    after = status_of(db_url)
    assert after["sources"] == before["sources"]
    assert after["aliases"] == before["aliases"]
    assert after["imports"] == before["imports"]


def test_import_all_kinds_in_one_call(db_url: str, tmp_path: Path) -> None:
    epss = tmp_path / "epss_scores-2024-06-01.csv"
    epss.write_text(EPSS_CSV, encoding="utf-8")
    nvd = tmp_path / "nvd-page.json"
    nvd.write_text(json.dumps(NVD_RESPONSE), encoding="utf-8")
    paths = [
        nvd,
        shared("vulndb/osv-pypi/vulns/case-utils"),
        shared("vulndb/csaf-medical/icsma/2023/icsma-23-117-01.json"),
        shared("vulndb/kev/known_exploited_vulnerabilities.json"),
        epss,
    ]

    result = runner.invoke(app, ["db", "import", *map(str, paths), "--db", db_url])

    assert result.exit_code == 0, result.output
    counts = records_by_source(db_url)
    assert counts["csaf"] == 2
    assert counts["kev"] == 1404
    assert counts["epss"] == 2
    assert counts["osv"] >= 1
    assert counts["nvd"] == 1
    assert status_of(db_url)["epss_date"] == "2024-06-01T00:00:00.000000Z"
    with SqlStore.open(db_url) as store:
        (advisory,) = store.advisories_for_cpe("illumina", "universal_copy_service")
        assert advisory.id == "CVE-2023-1968"
        assert "ICSMA-23-117-01/CVE-2023-1968" in advisory.aliases
        assert advisory.affected[0].ranges[0].vers == "vers:generic/>=2.0.0|<3.0.0"


def test_default_database_location(tmp_path: Path) -> None:
    data_home = tmp_path / "data"
    record = tmp_path / "GHSA-0042.json"
    record.write_text(json.dumps(osv_record("GHSA-0042")), encoding="utf-8")

    result = runner.invoke(
        app,
        ["db", "import", str(record)],
        env={"XDG_DATA_HOME": str(data_home), "NEMECYS_DB": None},
    )

    assert result.exit_code == 0, result.output
    assert (data_home / "nemecys" / "advisories.db").is_file()
    assert str(data_home / "nemecys" / "advisories.db") in result.output


def test_nemecys_db_variable(tmp_path: Path) -> None:
    target = tmp_path / "custom" / "vulns.db"
    record = tmp_path / "GHSA-0043.json"
    record.write_text(json.dumps(osv_record("GHSA-0043")), encoding="utf-8")

    result = runner.invoke(app, ["db", "import", str(record)], env={"NEMECYS_DB": str(target)})

    assert result.exit_code == 0, result.output
    assert target.is_file()


def test_resolve_url_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("NEMECYS_DB", raising=False)
    assert resolve_url(None) == f"sqlite:///{tmp_path / 'xdg' / 'nemecys' / 'advisories.db'}"

    monkeypatch.setenv("NEMECYS_DB", "postgresql+psycopg://scanner@db.example/advisories")
    assert resolve_url(None) == "postgresql+psycopg://scanner@db.example/advisories"
    assert resolve_url(str(tmp_path / "given.db")) == f"sqlite:///{tmp_path / 'given.db'}"


def test_status_hides_password() -> None:
    assert display_url("postgresql+psycopg://nemecys:s3cret@db.example:5432/advisories") == (
        "postgresql+psycopg://nemecys:***@db.example:5432/advisories"
    )


def test_status_of_empty_database(tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "status", "--db", f"sqlite:///{tmp_path / 'empty.db'}"])

    assert result.exit_code == 0, result.output
    assert "empty: run 'nemecys db update'" in result.output


def test_unreachable_database_reported(tmp_path: Path) -> None:
    port = closed_port()
    url = f"postgresql+psycopg://nemecys:s3cret@127.0.0.1:{port}/advisories?connect_timeout=2"

    result = runner.invoke(app, ["db", "status", "--db", url])

    assert result.exit_code == 2
    assert (
        f"database error on postgresql+psycopg://nemecys:***@127.0.0.1:{port}/advisories"
        in result.output
    )
    assert "s3cret" not in result.output


# -- db update against a feed server on loopback --------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base signature
        pass


@pytest.fixture
def feed_server(tmp_path: Path) -> Iterator[str]:
    """Serve a PyPI OSV archive, a KEV catalog and EPSS scores on 127.0.0.1."""
    root = tmp_path / "feeds"
    (root / "osv" / "PyPI").mkdir(parents=True)
    with zipfile.ZipFile(root / "osv" / "PyPI" / "all.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for source in sorted(shared("vulndb/osv-pypi/vulns/jinja2").glob("*.yaml")):
            archive.write(source, source.name)
        archive.writestr("GHSA-0100.json", json.dumps(osv_record("GHSA-0100", package="jinja2")))
    shutil.copy(shared("vulndb/kev/known_exploited_vulnerabilities.json"), root / "kev.json")
    (root / "epss.csv.gz").write_bytes(gzip.compress(EPSS_CSV.encode("utf-8")))

    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def update_args(base: str, db_url: str) -> list[str]:
    return [
        "db",
        "update",
        "--db",
        db_url,
        "--ecosystem",
        "PyPI",
        "--osv-base-url",
        f"{base}/osv",
        "--kev-url",
        f"{base}/kev.json",
        "--epss-url",
        f"{base}/epss.csv.gz",
        "--timeout",
        "10",
    ]


def test_update_from_local_server(db_url: str, feed_server: str) -> None:
    jinja_records = len(list(shared("vulndb/osv-pypi/vulns/jinja2").glob("*.yaml")))

    result = runner.invoke(app, update_args(feed_server, db_url))
    again = runner.invoke(app, update_args(feed_server, db_url))

    assert result.exit_code == 0, result.output
    assert records_by_source(db_url) == {"epss": 2, "kev": 1404, "osv": jinja_records + 1}
    assert again.exit_code == 0, again.output
    assert f"imported {jinja_records + 1 + 1404 + 2} records (0 new, 0 updated)" in again.output


def test_update_urls_from_environment(tmp_path: Path, feed_server: str) -> None:
    db = f"sqlite:///{tmp_path / 'env.db'}"
    env = {
        "NEMECYS_OSV_BASE_URL": f"{feed_server}/osv",
        "NEMECYS_KEV_URL": f"{feed_server}/kev.json",
        "NEMECYS_EPSS_URL": f"{feed_server}/epss.csv.gz",
    }

    result = runner.invoke(app, ["db", "update", "--db", db, "-e", "PyPI"], env=env)

    assert result.exit_code == 0, result.output
    assert records_by_source(db)["kev"] == 1404


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_update_offline_changes_nothing(db_url: str, feed_server: str) -> None:
    assert runner.invoke(app, update_args(feed_server, db_url)).exit_code == 0
    before = status_of(db_url)
    port = closed_port()
    args = update_args(f"http://127.0.0.1:{port}", db_url)

    result = runner.invoke(app, args)

    assert result.exit_code == 4, result.output
    assert f"cannot reach 127.0.0.1:{port}" in result.output
    assert "working offline, the database was not changed" in result.output
    assert status_of(db_url)["sources"] == before["sources"]


def test_update_offline_creates_no_database(tmp_path: Path) -> None:
    path = tmp_path / "never.db"
    port = closed_port()

    result = runner.invoke(app, update_args(f"http://127.0.0.1:{port}", f"sqlite:///{path}"))

    assert result.exit_code == 4, result.output
    assert "working offline, the database was not changed" in result.output
    assert not path.exists()


def test_update_some_feeds_failed(db_url: str, feed_server: str) -> None:
    port = closed_port()
    args = update_args(feed_server, db_url)
    args[args.index("--epss-url") + 1] = f"http://127.0.0.1:{port}/epss.csv.gz"
    args[args.index("--ecosystem") + 1] = "npm"  # not served: HTTP 404

    result = runner.invoke(app, args)

    assert result.exit_code == 5, result.output
    assert "updated: CISA KEV; not updated (2 feeds could not be fetched" in result.output
    assert f"EPSS: cannot reach 127.0.0.1:{port}" in result.output
    assert "OSV npm: download of" in result.output
    assert "HTTP 404" in result.output
    assert records_by_source(db_url) == {"kev": 1404}


def test_update_help_documents_exit_codes() -> None:
    result = runner.invoke(app, ["db", "update", "--help"], terminal_width=200)
    assert "4 no feed could be fetched" in " ".join(result.output.split())


def test_update_timeout_is_offline(tmp_path: Path) -> None:
    # A listening socket that never responds: the connection opens, the response never comes.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        result = runner.invoke(
            app,
            [
                "db",
                "update",
                "--db",
                f"sqlite:///{tmp_path / 't.db'}",
                "--no-osv",
                "--no-epss",
                "--kev-url",
                f"http://127.0.0.1:{port}/kev.json",
                "--timeout",
                "0.5",
            ],
        )

    assert result.exit_code == 4, result.output
    assert f"cannot reach 127.0.0.1:{port}" in result.output
    assert "timed out" in result.output


@pytest.mark.parametrize(
    ("name", "suggestion"), [("NoSuchEcosystem", None), ("pypi", "PyPI"), ("Mavn", "Maven")]
)
def test_update_unknown_ecosystem_is_error(
    tmp_path: Path, name: str, suggestion: str | None
) -> None:
    path = tmp_path / "missing.db"
    args = update_args(f"http://127.0.0.1:{closed_port()}", f"sqlite:///{path}")
    args[args.index("--ecosystem") + 1] = name

    result = runner.invoke(app, args, terminal_width=400)

    assert result.exit_code == 2, result.output
    assert f"unknown OSV ecosystem '{name}'" in result.output
    assert "valid names (case matters): AlmaLinux," in result.output
    if suggestion:
        assert f"did you mean '{suggestion}'?" in result.output
    else:
        assert "did you mean" not in result.output
    assert not path.exists()


@pytest.mark.parametrize("value", ["0", "-1", "nan"])
def test_update_timeout_must_be_positive(tmp_path: Path, value: str) -> None:
    path = tmp_path / "t.db"
    args = update_args(f"http://127.0.0.1:{closed_port()}", f"sqlite:///{path}")
    args[args.index("--timeout") + 1] = value

    result = runner.invoke(app, args, terminal_width=400)

    assert result.exit_code == 2, result.output
    assert "invalid timeout" in result.output
    assert "as a number above 0" in result.output
    assert not path.exists()
