"""Coverage of the advisory store per package type, and labelled worst-case rubric scores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nemecys.cli import app
from nemecys.sbom.model import SbomDocument, SoftwareComponent
from nemecys.storage.store import SqlStore
from nemecys.vulns.cli import EXIT_UNCHECKED
from nemecys.vulns.model import Advisory, AffectedPackage, Event, Range
from nemecys.vulns.scoring import QUESTIONS, answers_from_vector, score_rubric
from nemecys.vulns.store import CPE_COVERAGE, AdvisoryStore, MemoryStore
from nemecys.vulns.workflow import scan_with_triage

from .conftest import shared

NIGHTSCOUT_SBOM = "sbom/nightscout-14.2.6.cdx.json"


def pypi_advisory(advisory_id: str = "PYSEC-2099-1", package: str = "demo-lib") -> Advisory:
    return Advisory(
        id=advisory_id,
        source="osv",
        modified="2024-01-01T00:00:00Z",
        affected=(
            AffectedPackage(
                ecosystem="PyPI",
                name=package,
                ranges=(Range("ECOSYSTEM", (Event(introduced="0"), Event(fixed="2.0"))),),
            ),
        ),
    )


def document(*components: SoftwareComponent) -> SbomDocument:
    return SbomDocument(
        path="test.cdx.json",
        format="CycloneDX",
        encoding="json",
        spec_version="1.5",
        components=components,
    )


PYPI = SoftwareComponent(key="a", name="demo-lib", version="1.0", purl="pkg:pypi/demo-lib@1.0")
NPM = SoftwareComponent(key="b", name="left-pad", version="1.0", purl="pkg:npm/left-pad@1.0")
NPM2 = SoftwareComponent(key="c", name="@x/y", version="2.0", purl="pkg:npm/%40x/y@2.0")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AdvisoryStore]:
    if request.param == "memory":
        yield MemoryStore([pypi_advisory()])
        return
    with SqlStore.open(f"sqlite:///{tmp_path / 'db.sqlite'}") as sql:
        sql.import_records([pypi_advisory()], "test")
        yield sql


def test_covered_types(store: AdvisoryStore) -> None:
    assert store.covered_types() == {"pypi"}


def test_scan_counts_uncovered_components(store: AdvisoryStore) -> None:
    result = scan_with_triage(document(PYPI, NPM, NPM2), store).result
    assert [f.vulnerability_id for f in result.findings] == ["PYSEC-2099-1"]
    assert result.uncovered == {"npm": ("b", "c")}
    data = result.to_dict()
    assert data["uncovered"] == {"npm": 2}
    (message,) = data["coverage"]
    assert message.startswith("2 npm components were not checked")
    assert "nemecys db update -e npm" in message


def test_cpe_only_component_covered_by_cpe_data() -> None:
    cpe_advisory = Advisory(
        id="CVE-2099-1",
        source="nvd",
        affected=(AffectedPackage(cpe="cpe:2.3:a:acme:widget:1.0:*:*:*:*:*:*:*"),),
    )
    component = SoftwareComponent(
        key="w", name="widget", version="1.0", cpe="cpe:2.3:a:acme:widget:1.0:*:*:*:*:*:*:*"
    )
    with_cpe = MemoryStore([cpe_advisory])
    assert CPE_COVERAGE in with_cpe.covered_types()
    assert scan_with_triage(document(component), with_cpe).result.uncovered == {}
    without = MemoryStore([pypi_advisory()])
    assert scan_with_triage(document(component), without).result.uncovered == {"cpe": ("w",)}


def test_rubric_without_vector_is_labelled_worst_case() -> None:
    score = score_rubric()
    assert score.base_score == 10.0
    assert score.worst_case
    assert "XACL" in score.unknown_questions and "XCP" in score.unknown_questions
    assert "no CVSS v3 or v4 vector" in score.label()


def test_rubric_fully_answered_is_not_worst_case() -> None:
    score = score_rubric(user=dict.fromkeys(QUESTIONS, "N"))
    assert score.base_score == 0.0
    assert not score.worst_case
    assert score.label() == "0.0 none"


def test_rubric_moot_questions_do_not_count() -> None:
    # PR:N answers XPRZ=N, which makes XPRL and XPRS moot.
    advisory = answers_from_vector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
    model = {q: "N" for q in QUESTIONS if q not in advisory}
    score = score_rubric(model=model, advisory=advisory)
    assert not score.worst_case


def test_json_carries_worst_case_flag(store: AdvisoryStore) -> None:
    result = scan_with_triage(document(PYPI), store).result
    (entry,) = result.to_dict()["findings"]
    assert entry["rubric_worst_case"] is True
    assert "XS" in entry["rubric_unknown_questions"]


def _sqlite_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    with SqlStore.open(url) as sql:
        sql.import_records([pypi_advisory()], "test")
    return url


def _cyclonedx(tmp_path: Path) -> Path:
    path = tmp_path / "app.cdx.json"
    components = [
        {"type": "library", "bom-ref": c.key, "name": c.name, "version": c.version, "purl": c.purl}
        for c in (PYPI, NPM)
    ]
    path.write_text(
        json.dumps(
            {
                "bomFormat": "CycloneDX",
                "specVersion": "1.5",
                "version": 1,
                "components": components,
            }
        )
    )
    return path


def test_fail_on_does_not_pass_silently(tmp_path: Path) -> None:
    url = _sqlite_db(tmp_path)
    sbom = _cyclonedx(tmp_path)
    runner = CliRunner()
    table = runner.invoke(app, ["sbom", "scan", str(sbom), "--db", url])
    assert table.exit_code == 0, table.output
    assert "1 npm component was not checked" in table.stdout
    assert "worst case" in table.stdout
    # The one finding is critical, so --fail-on critical fails on it (exit 1).
    assert (
        runner.invoke(app, ["sbom", "scan", str(sbom), "--db", url, "--fail-on", "low"]).exit_code
        == 1
    )
    only_npm = tmp_path / "npm.cdx.json"
    data = json.loads(sbom.read_text())
    data["components"] = data["components"][1:]
    only_npm.write_text(json.dumps(data))
    gated = runner.invoke(app, ["sbom", "scan", str(only_npm), "--db", url, "--fail-on", "low"])
    assert gated.exit_code == EXIT_UNCHECKED, gated.output
    assert "cannot pass" in gated.stderr
    sarif = runner.invoke(app, ["sbom", "scan", str(sbom), "--db", url, "-f", "sarif"])
    run = json.loads(sarif.stdout)["runs"][0]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert "npm" in notes[0]["message"]["text"]
    assert run["results"][0]["properties"]["rubricWorstCase"] is True


def test_nightscout_sbom_without_npm_advisories(tmp_path: Path) -> None:
    from nemecys.sbom import read_sbom_document

    path = shared(NIGHTSCOUT_SBOM)
    result = scan_with_triage(read_sbom_document(path), MemoryStore([pypi_advisory()])).result
    assert result.findings == ()
    assert result.uncovered.get("npm")
    assert any("npm components were not checked" in m for m in result.coverage_messages())
