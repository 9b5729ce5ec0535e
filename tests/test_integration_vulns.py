"""The vulnerability subsystem end to end: db import, sbom scan with VEX and triage, VEX output
validated against each format's schema, and the vulnerabilities section of `nemecys assess`.

Every database is created by the test: a SQLite file, or a throw-away PostgreSQL schema when
NEMECYS_TEST_POSTGRES_URL names a server. The advisories are OSV records written here for npm
packages at versions the Nightscout 14.2.6 SBOM really contains. Their ids, ranges and CVSS
vectors follow the published advisories, and their summaries are written for these tests.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer
from jsonschema import Draft202012Validator
from rich.console import Console
from typer.testing import CliRunner

from nemecys.cli import app
from nemecys.vex import read_vex
from nemecys.vex.csaf_rules import check_csaf
from nemecys.vulns import cli as vulns_cli

from ._storage_support import BACKENDS, database_url
from .conftest import EXAMPLES, MINIMAL_MODEL, ROOT, shared
from .test_vex_write import (  # noqa: F401 - the schema fixtures are requested by name
    assert_csaf_vex_profile,
    assert_cyclonedx_valid,
    csaf_schema,
    openvex_schema,
    schema_errors,
)

runner = CliRunner()

# `nemecys sbom triage` is registered by nemecys.cli's owner; the tests register it themselves.
triage_app = typer.Typer()
triage_app.command("triage")(vulns_cli.triage)
triage_app.command("scan")(vulns_cli.scan)

NIGHTSCOUT_SBOM = "sbom/nightscout-14.2.6.cdx.json"
NAMESPACE = "https://psirt.example.com"
V1_SERIAL = "3e671687-395b-41f5-a30f-a58921a69b79"

# (GHSA id, CVE id, npm package, summary, OSV SEMVER events, CVSS v3.1 vector)
ADVISORIES = [
    (
        "GHSA-phwq-j96m-2c2q",
        "CVE-2022-29078",
        "ejs",
        "Template injection through the outputFunctionName render option",
        [{"introduced": "0"}, {"fixed": "3.1.7"}],
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    ),
    (
        "GHSA-8hfj-j24r-96c4",
        "CVE-2022-24785",
        "moment",
        "Path traversal in the locale loader",
        [{"introduced": "1.0.1"}, {"fixed": "2.29.2"}],
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N",
    ),
    (
        "GHSA-xvch-5gv4-984h",
        "CVE-2021-44906",
        "minimist",
        "Prototype pollution through crafted argument keys",
        [{"introduced": "0"}, {"fixed": "0.2.4"}, {"introduced": "1.0.0"}, {"fixed": "1.2.6"}],
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    ),
    (
        "GHSA-qwph-4952-7xr6",
        "CVE-2022-23540",
        "jsonwebtoken",
        "Signature check can be skipped when no algorithm is given",
        [{"introduced": "0"}, {"fixed": "9.0.0"}],
        "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:H/A:L",
    ),
    (
        "GHSA-35jh-r3h4-6jhm",
        "CVE-2021-23337",
        "lodash",
        "Command injection through the template function",
        [{"introduced": "0"}, {"fixed": "4.17.21"}],
        "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H",
    ),
]


def sbom(version: str, serial: str, ejs: str, moment: str) -> dict[str, Any]:
    """Return a CycloneDX SBOM of the test product at one version."""

    def npm(name: str, package_version: str) -> dict[str, str]:
        purl = f"pkg:npm/{name}@{package_version}"
        return {
            "bom-ref": purl,
            "type": "library",
            "name": name,
            "version": package_version,
            "purl": purl,
        }

    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        "metadata": {
            "timestamp": "2025-01-10T00:00:00Z",
            "component": {
                "bom-ref": "gateway",
                "type": "application",
                "name": "infusion-gateway",
                "version": version,
                "supplier": {"name": "Acme Medical"},
            },
        },
        "components": [npm("ejs", ejs), npm("moment", moment), npm("lodash", "4.17.21")],
    }


# ejs 3.1.6 and moment 2.29.1 are still below the fixed versions 3.1.7 and 2.29.2.
SBOM_V1 = sbom("1.0.0", V1_SERIAL, ejs="2.7.4", moment="2.27.0")
SBOM_V2 = sbom("1.1.0", "8f1e7a6c-1d2b-4c3d-9e8f-0a1b2c3d4e5f", ejs="3.1.6", moment="2.29.1")

EJS_NOT_AFFECTED = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.6",
    "version": 1,
    "metadata": {
        "timestamp": "2025-02-01T10:00:00Z",
        "authors": [{"name": "Alice Analyst"}],
    },
    "vulnerabilities": [
        {
            "id": "CVE-2022-29078",
            "analysis": {
                "state": "not_affected",
                "justification": "code_not_reachable",
                "detail": "Render options are fixed; outputFunctionName never comes from a request.",
            },
            "affects": [{"ref": f"urn:cdx:{V1_SERIAL}/1#pkg:npm/ejs@2.7.4"}],
        }
    ],
}


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_default_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's own advisory database out of every test."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("NEMECYS_DB", raising=False)


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


def write_osv(folder: Path) -> Path:
    folder.mkdir()
    for ghsa, cve, package, summary, events, vector in ADVISORIES:
        record = {
            "schema_version": "1.6.0",
            "id": ghsa,
            "modified": "2024-06-01T00:00:00Z",
            "published": "2022-04-01T00:00:00Z",
            "aliases": [cve],
            "summary": summary,
            "severity": [{"type": "CVSS_V3", "score": vector}],
            "affected": [
                {
                    "package": {"ecosystem": "npm", "name": package},
                    "ranges": [{"type": "SEMVER", "events": events}],
                }
            ],
        }
        write_json(folder / f"{ghsa}.json", record)
    return folder


def import_advisories(url: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "import", str(write_osv(tmp_path / "osv")), "--db", url])
    assert result.exit_code == 0, result.output


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of an advisory database holding the test advisories, on each backend."""
    with database_url(request.param, tmp_path) as url:
        import_advisories(url, tmp_path)
        yield url


@pytest.fixture
def sqlite_database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'advisories.db'}"
    import_advisories(url, tmp_path)
    return url


def scan(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["sbom", "scan", *args])
    return result.exit_code, result.stdout, result.stderr


def scan_json(*args: str) -> dict[str, Any]:
    code, stdout, stderr = scan(*args, "--format", "json")
    assert code == 0, stderr
    data: dict[str, Any] = json.loads(stdout)
    return data


def finding(data: dict[str, Any], vulnerability: str) -> dict[str, Any]:
    matches: list[dict[str, Any]] = [
        f for f in data["findings"] if f["vulnerability_id"] == vulnerability
    ]
    (found,) = matches
    return found


# --- sbom scan with VEX and triage ---------------------------------------------------------


def test_scan_vex_marks_not_affected(sqlite_database: str, tmp_path: Path) -> None:
    sbom_path = write_json(tmp_path / "gateway-1.0.0.cdx.json", SBOM_V1)
    vex_path = write_json(tmp_path / "ejs.vex.json", EJS_NOT_AFFECTED)

    before = scan_json(str(sbom_path), "--db", sqlite_database)
    assert finding(before, "CVE-2022-29078")["state"] == "affected"
    assert finding(before, "CVE-2022-29078")["triage"] is None
    assert before["product"] == "infusion-gateway"

    after = scan_json(str(sbom_path), "--db", sqlite_database, "--vex", str(vex_path))
    ejs = finding(after, "CVE-2022-29078")
    assert ejs["state"] == "not_affected"
    assert ejs["justification"] == "code_not_reachable"
    assert ejs["triage"]["source"] == str(vex_path)
    assert ejs["triage"]["author"] == "Alice Analyst"
    assert finding(after, "CVE-2022-24785")["state"] == "affected"
    # Closed findings rank after every open one.
    assert ejs["priority"] == len(after["findings"])


def test_scan_lodash_fixed_version_not_found(sqlite_database: str, tmp_path: Path) -> None:
    sbom_path = write_json(tmp_path / "gateway.cdx.json", SBOM_V1)
    data = scan_json(str(sbom_path), "--db", sqlite_database)
    assert {f["vulnerability_id"] for f in data["findings"]} == {
        "CVE-2022-29078",
        "CVE-2022-24785",
    }


def test_record_triage_carries_to_next_version(database: str, tmp_path: Path) -> None:
    v1 = write_json(tmp_path / "gateway-1.0.0.cdx.json", SBOM_V1)
    v2 = write_json(tmp_path / "gateway-1.1.0.cdx.json", SBOM_V2)
    vex_path = write_json(tmp_path / "ejs.vex.json", EJS_NOT_AFFECTED)

    code, _, stderr = scan(
        str(v1), "--db", database, "--vex", str(vex_path), "--record-triage", "-f", "json"
    )
    assert code == 0, stderr
    assert "recorded 1 triage decision for product 'infusion-gateway'" in stderr

    data = scan_json(str(v2), "--db", database)
    ejs = finding(data, "CVE-2022-29078")
    assert ejs["component_version"] == "3.1.6"
    assert ejs["state"] == "not_affected"
    assert ejs["justification"] == "code_not_reachable"
    triage = ejs["triage"]
    assert triage["source"] == "database"
    assert triage["author"] == "Alice Analyst"
    assert triage["timestamp"] == "2025-02-01T10:00:00Z"
    assert triage["taken_on_version"] == "2.7.4"
    assert triage["version_changed"] is True
    assert triage["needs_review"] is True
    assert finding(data, "CVE-2022-24785")["state"] == "affected"

    code, table, _ = scan(str(v2), "--db", database)
    assert code == 0
    assert "by Alice Analyst" in table
    assert "on 2.7.4" in table


def test_record_triage_needs_vex(sqlite_database: str, tmp_path: Path) -> None:
    v1 = write_json(tmp_path / "gateway.cdx.json", SBOM_V1)
    code, _, stderr = scan(str(v1), "--db", sqlite_database, "--record-triage")
    assert code == 2
    assert "pass at least one --vex FILE" in stderr


def test_triage_command_records_decision(database: str, tmp_path: Path) -> None:
    v2 = write_json(tmp_path / "gateway-1.1.0.cdx.json", SBOM_V2)
    result = runner.invoke(
        triage_app,
        [
            "triage",
            "--db",
            database,
            "--product",
            "infusion-gateway",
            "--component",
            "pkg:npm/moment@2.29.1",
            "--vulnerability",
            "GHSA-8hfj-j24r-96c4",
            "--state",
            "exploitable",
            "--response",
            "update",
            "--detail",
            "Locale names reach moment from the user profile.",
            "--author",
            "Bob Reviewer",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "recorded exploitable for GHSA-8hfj-j24r-96c4 in pkg:npm/moment 2.29.1" in result.stdout

    data = scan_json(str(v2), "--db", database)
    moment = finding(data, "CVE-2022-24785")
    assert moment["state"] == "exploitable"
    assert moment["detail"] == "Locale names reach moment from the user profile."
    assert moment["triage"]["author"] == "Bob Reviewer"
    assert moment["triage"]["vulnerability"] == "GHSA-8hfj-j24r-96c4"
    assert moment["triage"]["taken_on_version"] == "2.29.1"
    assert moment["triage"]["needs_review"] is False
    assert moment["triage"]["responses"] == ["update"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--state", "fixed"], "invalid --state 'fixed'; expected one of resolved"),
        (["--state", "not_affected"], "needs --justification or --detail"),
        (
            ["--state", "exploitable", "--justification", "code_not_present"],
            "--justification explains a not_affected state",
        ),
        (
            ["--state", "not_affected", "--justification", "vulnerable_code_not_present"],
            "invalid --justification 'vulnerable_code_not_present'",
        ),
        (["--state", "in_triage", "--response", "vendor_fix"], "invalid --response"),
        (["--state", "in_triage", "--component", "pkg:"], "invalid --component purl"),
        (["--state", "in_triage", "--vulnerability", "CVE 1"], "an id has no spaces"),
    ],
)
def test_triage_command_rejects_invalid_input(
    sqlite_database: str, options: list[str], message: str
) -> None:
    base = {
        "--product": "infusion-gateway",
        "--component": "pkg:npm/ejs@2.7.4",
        "--vulnerability": "CVE-2022-29078",
    }
    for index in range(0, len(options), 2):
        base[options[index]] = options[index + 1]
    args = ["triage", "--db", sqlite_database]
    for option, value in base.items():
        args += [option, value]
    result = runner.invoke(triage_app, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_scan_missing_database_names_fix(tmp_path: Path) -> None:
    v1 = write_json(tmp_path / "gateway.cdx.json", SBOM_V1)
    code, _, stderr = scan(str(v1), "--db", str(tmp_path / "absent.db"))
    assert code == 2
    assert "advisory database not found" in stderr
    assert "nemecys db update" in stderr
    assert not (tmp_path / "absent.db").exists()

    code, _, stderr = scan(str(v1))
    assert code == 2
    assert "no advisory database found" in stderr


# --- VEX output ------------------------------------------------------------------------------


@pytest.fixture
def triaged_scan(sqlite_database: str, tmp_path: Path) -> list[str]:
    """Return the scan arguments of SBOM v1 with the ejs statement applied."""
    v1 = write_json(tmp_path / "gateway-1.0.0.cdx.json", SBOM_V1)
    vex_path = write_json(tmp_path / "ejs.vex.json", EJS_NOT_AFFECTED)
    return [str(v1), "--db", sqlite_database, "--vex", str(vex_path)]


def vex_output(arguments: list[str], fmt: str, *extra: str) -> str:
    code, stdout, stderr = scan(
        *arguments, "--format", fmt, "--timestamp", "2025-03-01T00:00:00Z", *extra
    )
    assert code == 0, stderr
    return stdout


def ejs_state(path: Path, sbom_path: Path) -> str:
    from nemecys.sbom import read_sbom_document

    document = read_vex(path, sboms=(read_sbom_document(sbom_path),))
    (statement,) = [s for s in document.statements if s.vulnerability == "CVE-2022-29078"]
    return statement.state.value


@pytest.mark.parametrize("fmt", ["cyclonedx-vex", "cyclonedx-vdr"])
def test_cyclonedx_output_valid(triaged_scan: list[str], tmp_path: Path, fmt: str) -> None:
    text = vex_output(triaged_scan, fmt)
    assert_cyclonedx_valid(text)
    document = json.loads(text)
    assert document["metadata"]["authors"] == [{"name": "Acme Medical"}]
    path = write_json(tmp_path / "out.json", document)
    assert ejs_state(path, Path(triaged_scan[0])) == "not_affected"


def test_openvex_output_valid(
    triaged_scan: list[str], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    validator: Draft202012Validator = request.getfixturevalue("openvex_schema")
    document = json.loads(vex_output(triaged_scan, "openvex", "--author", "Acme PSIRT"))
    assert schema_errors(validator, document) == []
    assert document["author"] == "Acme PSIRT"
    assert document["timestamp"] == "2025-03-01T00:00:00Z"
    path = write_json(tmp_path / "out.openvex.json", document)
    assert ejs_state(path, Path(triaged_scan[0])) == "not_affected"


def test_csaf_output_valid(
    triaged_scan: list[str], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    validator: Draft202012Validator = request.getfixturevalue("csaf_schema")
    text = vex_output(triaged_scan, "csaf", "--publisher-namespace", NAMESPACE)
    document = json.loads(text)
    assert schema_errors(validator, document) == []
    assert check_csaf(document) == []
    assert_csaf_vex_profile(document)
    assert document["document"]["publisher"] == {
        "category": "vendor",
        "name": "Acme Medical",
        "namespace": NAMESPACE,
    }
    assert document["document"]["tracking"]["id"] == "infusion-gateway-1.0.0-vex-2025-03-01"
    path = write_json(tmp_path / "out.csaf.json", document)
    assert ejs_state(path, Path(triaged_scan[0])) == "not_affected"


def test_vex_output_names_missing_option(sqlite_database: str, tmp_path: Path) -> None:
    anonymous = dict(SBOM_V1, metadata={"timestamp": "2025-01-10T00:00:00Z"})
    path = write_json(tmp_path / "anonymous.cdx.json", anonymous)
    code, _, stderr = scan(str(path), "--db", sqlite_database, "--format", "openvex")
    assert code == 2
    assert "pass --author NAME" in stderr

    v1 = write_json(tmp_path / "gateway.cdx.json", SBOM_V1)
    code, _, stderr = scan(str(v1), "--db", sqlite_database, "--format", "csaf")
    assert code == 2
    assert "pass --publisher-namespace URL" in stderr

    code, _, stderr = scan(
        str(v1), "--db", sqlite_database, "-f", "csaf", "--publisher-namespace", "psirt"
    )
    assert code == 2
    assert "invalid --publisher-namespace 'psirt'" in stderr


# --- progress --------------------------------------------------------------------------------


def test_scan_progress_only_on_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vulns_cli, "PROGRESS_DELAY_S", 0.0)
    terminal = io.StringIO()
    with vulns_cli.ScanProgress(
        Console(file=terminal, force_terminal=True, width=100), "scanning app.cdx.json"
    ) as progress:
        progress(10, 40)
        progress(40, 40)
    assert "scanning app.cdx.json" in terminal.getvalue()

    captured = io.StringIO()
    with vulns_cli.ScanProgress(Console(file=captured, width=100), "scanning") as progress:
        progress(40, 40)
    assert captured.getvalue() == ""


# --- nemecys assess --------------------------------------------------------------------------


def assess(model: Path, out: Path, *args: str) -> None:
    result = runner.invoke(app, ["assess", str(model), "-o", str(out), *args])
    assert result.exit_code == 0, result.output


def test_assess_nightscout_lists_vulnerabilities(database: str, tmp_path: Path) -> None:
    sbom_path = shared(NIGHTSCOUT_SBOM)
    recorded = runner.invoke(
        triage_app,
        [
            "triage",
            "--db",
            database,
            "--product",
            "nightscout",
            "--component",
            "pkg:npm/ejs@2.7.4",
            "--vulnerability",
            "CVE-2022-29078",
            "--state",
            "not_affected",
            "--justification",
            "code_not_reachable",
            "--author",
            "Carol Clinician-Engineer",
        ],
    )
    assert recorded.exit_code == 0, recorded.output
    out = tmp_path / "out"
    assess(
        EXAMPLES / "nightscout",
        out,
        "--sbom",
        f"nightscout-server={sbom_path}",
        "--db",
        database,
    )

    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    schema = json.loads((ROOT / "docs" / "results.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(results, schema)
    section = results["vulnerabilities"]
    assert section["status"] == "scanned"
    assert [s["source"] for s in section["sources"]] == ["osv"]
    (scanned,) = section["sboms"]
    assert scanned["component"] == "nightscout-server"
    assert scanned["product"] == "nightscout"
    assert scanned["components"] > 1000
    found = {(f["id"], f["component"], f["version"]) for f in scanned["findings"]}
    assert ("CVE-2022-29078", "ejs", "2.7.4") in found
    assert ("CVE-2022-24785", "moment", "2.27.0") in found
    assert ("CVE-2022-23540", "jsonwebtoken", "8.5.1") in found
    assert ("CVE-2021-44906", "minimist", "1.2.5") in found
    assert ("CVE-2021-44906", "minimist", "0.0.8") in found
    # The SBOM has lodash 4.17.20 at the top and 4.17.21 below another package.
    assert ("CVE-2021-23337", "lodash", "4.17.20") in found
    assert ("CVE-2021-23337", "lodash", "4.17.21") not in found
    for item in scanned["findings"]:
        assert item["rubric_score"] is not None, item["id"]
    assert scanned["rubric_answers"]["XAVN"] == "Y"
    (ejs,) = [f for f in scanned["findings"] if f["id"] == "CVE-2022-29078"]
    assert ejs["state"] == "not_affected"
    assert ejs["triage"]["author"] == "Carol Clinician-Engineer"
    assert scanned["triage_applied"] == 1
    priorities = [f["priority"] for f in scanned["findings"]]
    assert priorities == sorted(priorities)
    assert scanned["findings"][-1]["id"] == "CVE-2022-29078"

    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<section id="vulnerabilities">' in html
    assert "CVE-2022-24785" in html
    assert "Carol Clinician-Engineer" in html
    assert "1 finding closed by triage" in html
    assert "×4" in html  # minimist 1.2.5 at four install paths is one row
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "## Known vulnerabilities" in markdown
    assert "CVE-2022-23540" in markdown


def test_assess_without_database_says_so(tmp_path: Path) -> None:
    out = tmp_path / "out"
    sbom_path = shared(NIGHTSCOUT_SBOM)
    assess(EXAMPLES / "nightscout", out, "--sbom", f"nightscout-server={sbom_path}")

    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    section = results["vulnerabilities"]
    assert section["status"] == "no_database"
    assert section["sboms"] == []
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "No advisory database was available" in html
    assert "nemecys db import" in html
    assert "nemecys db update" in html
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "No advisory database was available" in markdown


def test_assess_without_sbom_opens_no_database(tmp_path: Path) -> None:
    model = tmp_path / "nemecys.yaml"
    model.write_text(MINIMAL_MODEL, encoding="utf-8")
    out = tmp_path / "out"
    # The database named here does not exist; without an SBOM it is never looked for.
    assess(model, out, "--db", str(tmp_path / "absent.db"), "--format", "json")
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["vulnerabilities"]["status"] == "no_sbom"
    assert not (tmp_path / "absent.db").exists()


def test_assess_missing_database_file_exits_2(tmp_path: Path) -> None:
    sbom_path = shared(NIGHTSCOUT_SBOM)
    result = runner.invoke(
        app,
        [
            "assess",
            str(EXAMPLES / "nightscout"),
            "-o",
            str(tmp_path / "out"),
            "--sbom",
            f"nightscout-server={sbom_path}",
            "--db",
            str(tmp_path / "absent.db"),
        ],
    )
    assert result.exit_code == 2
    assert "advisory database not found" in result.output
