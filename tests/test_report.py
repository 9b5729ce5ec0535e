"""Report writers on the real example models: DFD and heatmap SVG, HTML, Markdown, CSV and SARIF."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import random
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jsonschema import validators

from nemecys.assess import assess
from nemecys.model import LoadedModel, load_model
from nemecys.report import FORMATS, write_reports
from nemecys.report._common import sorted_threats, xml_escape
from nemecys.report._layout import DiagramLayout
from nemecys.report.csv import COLUMNS, render_csv
from nemecys.report.diagram import flow_rows, layout_dfd, render_dfd
from nemecys.report.heatmap import EXPLOITABILITY_LEVELS, SEVERITY_LEVELS, render_heatmap
from nemecys.report.html import render_html
from nemecys.report.markdown import md, render_markdown
from nemecys.report.sarif import FINGERPRINT_KEY, build_sarif
from nemecys.results import Assessment
from tests.conftest import EXAMPLES, ROOT, shared

SVG = "{http://www.w3.org/2000/svg}"
SARIF_SCHEMA = Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json"
EXAMPLE_NAMES = ("nightscout", "infusion-hospital", "imaging-hospital")
INJECTION = "<script>alert(1)</script>"


@dataclass(frozen=True)
class Run:
    assessment: Assessment
    loaded: LoadedModel
    out: Path
    written: dict[str, Path]


def _run(project: Path, out: Path) -> Run:
    assessment = assess(project)
    loaded = load_model(project)
    return Run(assessment, loaded, out, write_reports(assessment, loaded, out))


@pytest.fixture(scope="module")
def nightscout(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _run(EXAMPLES / "nightscout", tmp_path_factory.mktemp("nightscout"))


@pytest.fixture(scope="module")
def infusion(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _run(EXAMPLES / "infusion-hospital", tmp_path_factory.mktemp("infusion"))


def _texts(element: ET.Element) -> list[str]:
    return [t.text or "" for t in element.iter(f"{SVG}text")]


# --- write_reports ------------------------------------------------------------------------------


def test_formats_are_the_five_report_formats() -> None:
    assert FORMATS == ("json", "html", "md", "csv", "sarif")


def test_write_reports_writes_every_file(nightscout: Run) -> None:
    expected = {
        "json": "results.json",
        "html": "report.html",
        "md": "report.md",
        "csv": "threats.csv",
        "sarif": "results.sarif",
        "dfd": "dfd.svg",
        "heatmap-initial": "heatmap-initial.svg",
        "heatmap-residual": "heatmap-residual.svg",
    }
    assert {key: path.name for key, path in nightscout.written.items()} == expected
    for path in nightscout.written.values():
        assert path.parent == nightscout.out
        assert path.stat().st_size > 0, path


def test_write_reports_only_requested_formats(tmp_path: Path) -> None:
    assessment = assess(EXAMPLES / "infusion-hospital")
    loaded = load_model(EXAMPLES / "infusion-hospital")
    written = write_reports(assessment, loaded, tmp_path, ("csv",))
    assert list(written) == ["csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["threats.csv"]


def test_write_reports_rejects_unknown_format(tmp_path: Path) -> None:
    assessment = assess(EXAMPLES / "infusion-hospital")
    loaded = load_model(EXAMPLES / "infusion-hospital")
    with pytest.raises(ValueError, match="unknown report format pdf"):
        write_reports(assessment, loaded, tmp_path, ("pdf",))


def test_reports_are_deterministic(nightscout: Run, tmp_path: Path) -> None:
    again = write_reports(nightscout.assessment, nightscout.loaded, tmp_path)
    for key, path in nightscout.written.items():
        assert again[key].read_bytes() == path.read_bytes(), key


# --- data flow diagram --------------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_dfd_shows_every_component_actor_and_flow(example: str) -> None:
    assessment = assess(EXAMPLES / example)
    model = load_model(EXAMPLES / example).model
    root = ET.fromstring(render_dfd(assessment, model))

    nodes = {
        g.get("data-id"): g
        for g in root.iter(f"{SVG}g")
        if (g.get("class") or "").startswith("node")
    }
    for component in model.components:
        group = nodes[component.id]
        name_lines = [
            t.text or "" for t in group.iter(f"{SVG}text") if t.get("font-weight") == "bold"
        ]
        assert " ".join(name_lines) == (component.name or component.id)
    for actor in model.actors:
        assert actor.id in nodes
    assert len(nodes) == len(model.components) + len(model.actors)

    flows = {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("class") == "flow"}
    badges = {g.get("data-flow"): g for g in root.iter(f"{SVG}g") if g.get("class") == "flow-label"}
    assert len(flows) == len(model.flows)
    for number, flow in enumerate(model.flows, start=1):
        group = flows[f"dfd-flow-{number}"]
        assert group.get("data-id") == flow.id
        path = group.find(f"{SVG}path")
        assert path is not None
        assert path.get("d", "").startswith("M ")
        assert _texts(badges[str(number)]) == [str(number)]
        table_row = [t for t in root.iter(f"{SVG}text") if t.text == str(number)]
        assert len(table_row) == 2, "one badge and one flow table row per number"


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_dfd_layout_has_no_overlaps(example: str) -> None:
    assessment = assess(EXAMPLES / example)
    model = load_model(EXAMPLES / example).model
    layout = layout_dfd(assessment, model)
    _check_layout(layout)


def _check_layout(layout: DiagramLayout) -> None:
    boxes = list(layout.nodes.values())
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y
            assert apart, f"{a.id} overlaps {b.id}"
    zones = {z.id: z for z in layout.zones}
    zone_list = list(zones.values())
    for i, first in enumerate(zone_list):
        for second in zone_list[i + 1 :]:
            apart = (
                first.x + first.w < second.x
                or second.x + second.w < first.x
                or first.y + first.h < second.y
                or second.y + second.h < first.y
            )
            assert apart, f"zone {first.id} overlaps zone {second.id}"
    for node in boxes:
        if node.zone is None:
            for zone in zone_list:
                assert not zone.contains(node.cx, node.cy), (
                    f"actor {node.id} drawn inside {zone.id}"
                )
            continue
        zone = zones[node.zone]
        assert zone.x < node.x, node.id
        assert node.x + node.w < zone.x + zone.w, node.id
        assert zone.y < node.y, node.id
        assert node.y + node.h < zone.y + zone.h, node.id
    for edge in layout.edges:
        assert edge.routed, f"{edge.key} fell back to a straight line"
        for (x0, y0), (x1, y1) in zip(edge.points, edge.points[1:], strict=False):
            assert x0 == x1 or y0 == y1, f"{edge.key} has a diagonal segment"
        # Every point between the two port stubs stays outside every node.
        for x, y in edge.points[2:-2]:
            for node in boxes:
                inside = node.x < x < node.x + node.w and node.y < y < node.y + node.h
                assert not inside, f"{edge.key} runs through {node.id}"


def test_dfd_marks_boundary_crossings(infusion: Run) -> None:
    layout = layout_dfd(infusion.assessment, infusion.loaded.model)
    by_flow = {e.flow_id: e for e in layout.edges if e.kind == "flow"}
    # The EHR and the pump server share the hospital data center zone.
    assert by_flow["ehr-order"].crosses is False
    assert by_flow["ehr-order"].crossings == []
    # Pump (medical device network) to pump server (data center) crosses two zone borders.
    assert by_flow["pump-check-in"].crosses is True
    assert len(by_flow["pump-check-in"].crossings) >= 2
    svg = infusion.written["dfd"].read_text(encoding="utf-8")
    markers = svg.count('class="boundary-crossing"')
    assert markers == sum(len(e.crossings) for e in layout.edges)


def test_flow_rows_describe_each_flow(infusion: Run) -> None:
    rows = flow_rows(infusion.assessment, infusion.loaded.model)
    assert [r.number for r in rows] == list(range(1, len(infusion.loaded.model.flows) + 1))
    firmware = next(r for r in rows if r.id == "firmware-download")
    assert firmware.protocol == "HTTPS"
    assert firmware.boundary == "Hospital data center → Manufacturer"
    assert firmware.data == ["Pump firmware packages"]
    order = next(r for r in rows if r.id == "ehr-order")
    assert order.protocol == "HL7 v2 (MLLP)"
    assert order.boundary is None


def _big_model(path: Path, components_per_zone: list[int], flow_count: int) -> Path:
    """Write a model with many zones, components and random flows, for layout limits."""
    rng = random.Random(7)
    kinds = ["patient_body", "patient_home", "hospital_network", "hospital_network",
             "hospital_network", "internet", "vendor_cloud", "vendor_cloud", "manufacturer"]  # fmt: skip
    lines = [
        "system:",
        "  name: Layout test system",
        "  intended_use: Layout test.",
        "  clinical_functions:",
        "    - {id: therapy, harm: Overdose, severity: critical}",
        "zones:",
    ]

    components: list[str] = []
    body: list[str] = []
    for z, (kind, count) in enumerate(zip(kinds, components_per_zone, strict=True)):
        lines.append(f"  - {{id: zone{z}, name: Zone number {z}, kind: {kind}}}")
        for c in range(count):
            component = f"z{z}-c{c}"
            components.append(component)
            kind_name = rng.choice(["device", "mobile_app", "web_app", "database", "gateway"])
            body.append(
                f"  - {{id: {component}, name: Component {c} of zone {z} with a long name, "
                f"kind: {kind_name}, zone: zone{z}}}"
            )
    lines += ["components:", *body, "flows:"]

    pairs: set[tuple[str, str]] = set()
    while len(pairs) < flow_count:
        a, b = rng.sample(components, 2)
        pairs.add((a, b))
    for k, (a, b) in enumerate(sorted(pairs)):
        lines.append(f"  - {{id: f{k}, source: {a}, destination: {b}, protocol: https}}")

    lines.append("actors:")
    for j in range(4):
        uses = ", ".join(rng.sample(components, 3))
        lines.append(f"  - {{id: actor{j}, kind: clinician, uses: [{uses}]}}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_dfd_layout_scales_to_forty_components(tmp_path: Path) -> None:
    project = _big_model(tmp_path / "nemecys.yaml", [3, 5, 4, 6, 5, 5, 6, 4, 2], flow_count=50)
    assessment = assess(project)
    model = load_model(project).model
    assert len(model.components) == 40
    started = time.monotonic()
    layout = layout_dfd(assessment, model)
    elapsed = time.monotonic() - started
    _check_layout(layout)
    assert len([e for e in layout.edges if e.kind == "flow"]) == 50
    # NOTE: a generous bound, because the layout takes a few seconds on a 2-core machine.
    assert elapsed < 60


def test_dfd_large_model_draws_every_component_and_flow(tmp_path: Path) -> None:
    # The router's work is bounded per edge; a large model must still show everything.
    project = _big_model(
        tmp_path / "nemecys.yaml", [10, 20, 20, 15, 15, 20, 20, 20, 10], flow_count=400
    )
    assessment = assess(project)
    model = load_model(project).model
    assert len(model.components) == 150
    layout = layout_dfd(assessment, model)
    for edge in layout.edges:
        assert len(edge.points) >= 2, edge.key
        for (x0, y0), (x1, y1) in zip(edge.points, edge.points[1:], strict=False):
            assert x0 == x1 or y0 == y1, f"{edge.key} has a diagonal segment"
    root = ET.fromstring(render_dfd(assessment, model, layout=layout))
    node_ids = {
        g.get("data-id") for g in root.iter(f"{SVG}g") if (g.get("class") or "").startswith("node")
    }
    assert node_ids == {c.id for c in model.components} | {a.id for a in model.actors}
    flows = {g.get("id") for g in root.iter(f"{SVG}g") if g.get("class") == "flow"}
    badges = {g.get("data-flow") for g in root.iter(f"{SVG}g") if g.get("class") == "flow-label"}
    numbers = range(1, len(model.flows) + 1)
    assert flows == {f"dfd-flow-{n}" for n in numbers}
    assert badges == {str(n) for n in numbers}


ZONED_ACTOR_MODEL = """\
system:
  name: Zoned actor system
  intended_use: Layout test.
  clinical_functions:
    - {id: therapy, harm: Overdose, severity: critical}
components:
  - {id: station, name: Nurse station, kind: desktop_app, zone: hospital-network}
  - {id: cloud, name: Vendor cloud, kind: cloud_service, zone: vendor-cloud}
flows:
  - {id: entry, source: nurse, destination: station, protocol: https}
  - {id: remote, source: visitor, destination: station, protocol: https}
  - {id: upload, source: station, destination: cloud, protocol: https}
actors:
  - {id: nurse, name: Nurse, kind: clinician, zone: hospital-network, uses: [station]}
  - {id: visitor, name: Visitor, kind: patient, uses: [station]}
"""


def test_dfd_draws_actor_in_its_zone(tmp_path: Path) -> None:
    project = tmp_path / "nemecys.yaml"
    project.write_text(ZONED_ACTOR_MODEL, encoding="utf-8")
    assessment = assess(project)
    model = load_model(project).model
    layout = layout_dfd(assessment, model)
    _check_layout(layout)
    zone = next(z for z in layout.zones if z.id == "hospital-network")
    assert "nurse" in zone.nodes
    nurse, visitor = layout.nodes["nurse"], layout.nodes["visitor"]
    assert nurse.zone == "hospital-network" and zone.contains(nurse.cx, nurse.cy)
    assert visitor.zone is None
    by_flow = {e.flow_id: e for e in layout.edges if e.kind == "flow"}
    assert by_flow["entry"].crosses is False
    assert by_flow["entry"].crossings == []
    assert by_flow["remote"].crosses is True
    rows = {r.id: r for r in flow_rows(assessment, model)}
    assert rows["entry"].boundary is None
    assert rows["remote"].boundary == "outside (actor) → Hospital network"
    svg = render_dfd(assessment, model, layout=layout)
    assert "Nurse (nurse): clinician in Hospital network" in svg


def test_dfd_large_zone_uses_several_columns(tmp_path: Path) -> None:
    lines = [
        "system:",
        "  name: One large zone",
        "  intended_use: Layout test.",
        "  clinical_functions:",
        "    - {id: therapy, harm: Overdose, severity: critical}",
        "components:",
        *(f"  - {{id: c{i}, kind: web_app, zone: hospital-network}}" for i in range(20)),
        "  - {id: outside, kind: cloud_service, zone: vendor-cloud}",
        "flows:",
        *(
            f"  - {{id: f{i}, source: c{i}, destination: c{i + 1}, protocol: https}}"
            for i in range(19)
        ),
        "  - {id: upload, source: c3, destination: outside, protocol: https}",
    ]
    project = tmp_path / "nemecys.yaml"
    project.write_text("\n".join(lines) + "\n", encoding="utf-8")
    layout = layout_dfd(assess(project), load_model(project).model)
    _check_layout(layout)
    hospital = next(z for z in layout.zones if z.id == "hospital-network")
    assert hospital.columns == 3
    assert len({layout.nodes[n].x for n in hospital.nodes}) == 3


# --- heatmaps ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["initial", "residual"])
def test_heatmap_cells_follow_the_matrix(infusion: Run, stage: str) -> None:
    root = ET.fromstring(render_heatmap(infusion.assessment, stage))  # type: ignore[arg-type]
    cells = [g for g in root.iter(f"{SVG}g") if g.get("class") == "cell"]
    assert len(cells) == 25
    matrix = infusion.assessment.matrix_cells
    for cell in cells:
        severity, exploitability = cell.get("data-severity"), cell.get("data-exploitability")
        assert severity in SEVERITY_LEVELS
        assert exploitability in EXPLOITABILITY_LEVELS
        assert (
            cell.get("data-level") == matrix[severity][EXPLOITABILITY_LEVELS.index(exploitability)]
        )
    applicable = [t for t in infusion.assessment.threats if t.status != "not_applicable"]
    assert sum(int(c.get("data-count") or 0) for c in cells) == len(applicable)
    for threat in applicable:
        rating = getattr(threat, stage)
        cell = next(
            c
            for c in cells
            if c.get("data-severity") == rating.severity
            and c.get("data-exploitability") == rating.exploitability
        )
        assert int(cell.get("data-count") or 0) >= 1
        assert cell.get("data-level") == rating.level


def test_heatmap_rows_put_catastrophic_on_top(infusion: Run) -> None:
    root = ET.fromstring(render_heatmap(infusion.assessment, "initial"))
    rows: dict[str, float] = {}
    for cell in root.iter(f"{SVG}g"):
        if cell.get("class") == "cell":
            rect = cell.find(f"{SVG}rect")
            assert rect is not None
            rows[cell.get("data-severity") or ""] = float(rect.get("y") or 0)
    assert sorted(rows, key=rows.__getitem__) == list(reversed(SEVERITY_LEVELS))


# --- HTML ---------------------------------------------------------------------------------------


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def _parse_html(text: str) -> _Collector:
    collector = _Collector()
    collector.feed(text)
    collector.close()
    return collector


def test_html_loads_nothing_from_elsewhere(nightscout: Run) -> None:
    page = _parse_html(nightscout.written["html"].read_text(encoding="utf-8"))
    loading = {
        "script",
        "link",
        "img",
        "iframe",
        "source",
        "object",
        "embed",
        "video",
        "audio",
        "image",
        "use",
    }
    for tag, attrs in page.tags:
        if tag not in loading:
            continue
        for name in ("src", "href", "xlink:href", "data", "srcset"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), f"<{tag} {name}={value}>"
    assert not [tag for tag, _ in page.tags if tag == "script"]
    style = "".join(page.styles).lower()
    assert "@import" not in style
    assert "url(" not in style


def test_html_contains_the_report_sections(nightscout: Run) -> None:
    text = nightscout.written["html"].read_text(encoding="utf-8")
    page = _parse_html(text)
    ids = {attrs.get("id") for _, attrs in page.tags}
    for section in (
        "summary",
        "system",
        "dfd",
        "heatmaps",
        "threats",
        "details",
        "controls",
        "sbom",
        "method",
    ):
        assert section in ids, section

    assessment = nightscout.assessment
    assert f"<title>Threat model and risk assessment: {assessment.system.name}</title>" in text
    for threat in assessment.threats:
        assert threat.id in text
    for function in assessment.system.functions:
        assert function.name in text

    flow_rows_html = [
        attrs
        for tag, attrs in page.tags
        if tag == "tr" and (attrs.get("id") or "").startswith("flow-")
    ]
    assert len(flow_rows_html) == len(nightscout.loaded.model.flows)

    assert "8.22 × AV × AC × PR × UI" in text
    assert ("Gate passed." if assessment.gate.passed else "Gate failed.") in text
    assert 'id="heatmap-initial"' in text
    assert 'id="heatmap-residual"' in text
    assert 'class="dfd"' in text


def test_html_lists_threats_by_residual_then_initial_risk(nightscout: Run) -> None:
    text = nightscout.written["html"].read_text(encoding="utf-8")
    table = text[text.index('<table class="threats">') : text.index('<section id="details">')]
    positions = [table.index(f">{t.id}<") for t in sorted_threats(nightscout.assessment)]
    assert positions == sorted(positions)
    rank = nightscout.assessment.risk_levels.index
    keys = [
        (rank(t.residual.level), rank(t.initial.level))
        for t in sorted_threats(nightscout.assessment)
    ]
    assert keys == sorted(keys, reverse=True)


@pytest.mark.shared_data
def test_html_sbom_section_is_compact(tmp_path: Path) -> None:
    sbom = shared("sbom/nightscout-14.2.6.cdx.json")
    project = EXAMPLES / "nightscout"
    assessment = assess(project, {"nightscout-server": sbom})
    text = render_html(assessment, load_model(project))
    assert len(assessment.sboms) == 1
    count = len(assessment.sboms[0].components)
    assert count == 1627
    assert "List of 1,627 components" in text
    assert text.count('<details class="sbom">') == 1
    assert "pkg:npm/" in text
    assert "Nightscout server (cgm-remote-monitor)" in text


# --- Markdown and CSV ---------------------------------------------------------------------------


def test_markdown_lists_every_threat(nightscout: Run) -> None:
    text = nightscout.written["md"].read_text(encoding="utf-8")
    assert text.startswith(
        f"# Threat model and risk assessment: {nightscout.assessment.system.name}"
    )
    for threat in nightscout.assessment.threats:
        assert f"`{threat.id}`" in text
    assert "![Data flow diagram](dfd.svg)" in text
    for heading in ("## Summary", "## Threats", "## Controls", "## Policies"):
        assert heading in text


def test_csv_has_one_row_per_threat(nightscout: Run) -> None:
    with nightscout.written["csv"].open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == COLUMNS
    body = rows[1:]
    threats = sorted_threats(nightscout.assessment)
    assert len(body) == len(threats)
    assert [row[0] for row in body] == [t.id for t in threats]
    first = dict(zip(COLUMNS, body[0], strict=True))
    assert first["residual_risk"] == threats[0].residual.level
    assert first["cvss_exploitability_vector"] == threats[0].exploitability.cvss_vector
    assert first["why"] == threats[0].why


# --- SARIF --------------------------------------------------------------------------------------


def _validate_sarif(log: dict[str, object]) -> None:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator = validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_sarif_validates_against_the_schema(example: str, tmp_path: Path) -> None:
    assessment = assess(EXAMPLES / example)
    _validate_sarif(build_sarif(assessment, tmp_path / "out"))


def test_sarif_file_matches_the_threats(nightscout: Run) -> None:
    log = json.loads(nightscout.written["sarif"].read_text(encoding="utf-8"))
    _validate_sarif(log)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "nemecys"
    threats = nightscout.assessment.threats
    assert [r["id"] for r in driver["rules"]] == sorted({t.rule for t in threats})

    expected = {
        t.id: t
        for t in threats
        if t.residual.acceptance != "acceptable" and t.status != "not_applicable"
    }
    results = run["results"]
    assert len(results) == len(expected)
    for result in results:
        threat = expected[result["partialFingerprints"][FINGERPRINT_KEY]]
        assert result["ruleId"] == threat.rule
        assert driver["rules"][result["ruleIndex"]]["id"] == threat.rule
        assert result["level"] == (
            "error" if threat.residual.acceptance == "unacceptable" else "warning"
        )
        assert result["message"]["text"].startswith(threat.why)
        assert f"Residual risk {threat.residual.level}" in result["message"]["text"]
        assert result["properties"]["residualRisk"]["level"] == threat.residual.level

        location = result["locations"][0]["physicalLocation"]
        assert threat.location is not None
        assert location["region"] == {
            "startLine": threat.location.line,
            "startColumn": threat.location.column,
        }
        # The model lies outside the temporary output folder's parent, so the URI is a file URI.
        assert location["artifactLocation"]["uri"] == Path(threat.location.file).as_uri()


def test_sarif_uris_relative_below_output_parent(nightscout: Run) -> None:
    log = build_sarif(nightscout.assessment, ROOT / "nemecys-out")
    run = log["runs"][0]
    assert run["originalUriBaseIds"]["MODELROOT"]["uri"] == ROOT.as_uri() + "/"
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    }
    assert uris
    assert all(uri.startswith("examples/nightscout/") for uri in uris), uris
    bases = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"]
        for r in run["results"]
    }
    assert bases == {"MODELROOT"}


def test_sarif_rule_help_names_controls(nightscout: Run) -> None:
    log = build_sarif(nightscout.assessment, nightscout.out, {"CTL-TLS": "Transport encryption"})
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    for threat in nightscout.assessment.threats:
        rule = rules[threat.rule]
        assert rule["shortDescription"]["text"] == threat.title
        for control in threat.missing_controls:
            assert control in rule["help"]["text"]
            assert control in rule["properties"]["controls"]
        for letter in threat.stride:
            assert any(tag.startswith("stride/") for tag in rule["properties"]["tags"]), letter
        for cwe in threat.cwe:
            assert f"external/cwe/cwe-{cwe}" in rule["properties"]["tags"]


# --- untrusted text -----------------------------------------------------------------------------

HOSTILE_MODEL = f"""\
system:
  name: "{INJECTION} system"
  intended_use: "Test of escaping {INJECTION}"
  clinical_functions:
    - {{id: dosing, name: "{INJECTION} dosing", harm: "Overdose {INJECTION}", severity: critical}}
zones:
  - {{id: home, name: "{INJECTION} zone", kind: patient_home}}
components:
  - id: pump
    name: "{INJECTION} pump"
    kind: device
    zone: home
    functions: [dosing]
    interfaces: [{{id: ble, kind: ble, authentication: none}}]
  - id: app
    name: "=HYPERLINK(\\"x\\") app & <b>bold</b>"
    kind: mobile_app
    zone: home
  - id: cloud
    name: "=SUM(1+1) cloud ]]> \\" ' service"
    kind: cloud_service
    zone: vendor-cloud
assets:
  - {{id: dose, name: "{INJECTION} dose", kind: therapy_commands, integrity: high, functions: [dosing]}}
flows:
  - id: command
    name: "{INJECTION} command"
    source: app
    destination: pump
    protocol: ble_gatt
    interface: pump.ble
    authentication: none
    encryption: none
    data: [dose]
  - {{id: upload, name: "upload", source: app, destination: cloud, protocol: https, data: [dose]}}
  - {{id: nurse-entry, name: "{INJECTION} entry", source: nurse, destination: app, protocol: proprietary}}
actors:
  - {{id: nurse, name: "{INJECTION} nurse", kind: clinician, uses: [app]}}
"""


@pytest.fixture
def hostile(tmp_path: Path) -> Run:
    project = tmp_path / "model"
    project.mkdir()
    (project / "nemecys.yaml").write_text(HOSTILE_MODEL, encoding="utf-8")
    return _run(project, tmp_path / "out")


def test_hostile_names_are_escaped_in_html(hostile: Run) -> None:
    text = hostile.written["html"].read_text(encoding="utf-8")
    assert INJECTION not in text
    assert "<b>bold</b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; pump" in text
    page = _parse_html(text)
    assert not [tag for tag, _ in page.tags if tag in ("script", "b")]


@pytest.mark.parametrize("figure", ["dfd", "heatmap-initial"])
def test_hostile_names_are_escaped_in_svg(hostile: Run, figure: str) -> None:
    text = hostile.written[figure].read_text(encoding="utf-8")
    assert INJECTION not in text
    root = ET.fromstring(text)  # raises on markup the names could have broken
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    if figure == "dfd":
        labels = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
        assert f"{INJECTION} pump" in labels
        assert "=SUM(1+1) cloud ]]> \" ' service" in labels


def test_hostile_names_are_escaped_in_markdown_and_csv(hostile: Run) -> None:
    markdown = render_markdown(hostile.assessment)
    assert INJECTION not in markdown
    assert "&lt;script&gt;" in markdown
    rows = list(csv.reader(io.StringIO(render_csv(hostile.assessment))))
    names = {row[COLUMNS.index("target_name")] for row in rows[1:]}
    assert all(not name.startswith("=") for name in names)
    assert "'=SUM(1+1) cloud ]]> \" ' service" in names


def test_xml_escape_shows_characters_xml_forbids() -> None:
    assert xml_escape("a\x00b\x1bc<d>&\"'") == "a\\u0000b\\u001bc&lt;d&gt;&amp;&quot;&#39;"
    ET.fromstring(f'<t a="{xml_escape(chr(7) + "x")}">{xml_escape("y" + chr(11))}</t>')


CONTROL_NAME = "Pump\x00 \u202eexe.fdp\u202c \x85\u2066x\u2069\x1b end"
CONTROL_SHOWN = "Pump\\u0000 \\u202eexe.fdp\\u202c \\u0085\\u2066x\\u2069\\u001b end"
RAW_CONTROLS = [chr(c) for c in (*range(0, 9), *range(11, 32), *range(0x7F, 0xA0))] + [
    chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
]


@pytest.fixture
def controls(tmp_path: Path) -> Run:
    # Model validation rejects these characters, so they are put into the loaded model and the
    # assessment afterwards: the writers must be safe on their own.
    project = tmp_path / "model"
    project.mkdir()
    (project / "nemecys.yaml").write_text(
        HOSTILE_MODEL.replace(f"{INJECTION} pump", "PUMP-NAME"), encoding="utf-8"
    )
    loaded = load_model(project)
    text = assess(project).model_dump_json()
    assessment = Assessment.model_validate_json(
        text.replace("PUMP-NAME", json.dumps(CONTROL_NAME)[1:-1])
    )
    components = [
        c.model_copy(update={"name": CONTROL_NAME}) if c.id == "pump" else c
        for c in loaded.model.components
    ]
    model = loaded.model.model_copy(update={"components": components})
    loaded = dataclasses.replace(loaded, model=model)
    out = tmp_path / "out"
    return Run(assessment, loaded, out, write_reports(assessment, loaded, out))


def test_control_characters_are_shown_as_escapes(controls: Run) -> None:
    assert any(t.target.name == CONTROL_NAME for t in controls.assessment.threats)
    texts = {
        "html": controls.written["html"].read_text(encoding="utf-8"),
        "md": controls.written["md"].read_text(encoding="utf-8"),
        "csv": controls.written["csv"].read_text(encoding="utf-8"),
        "dfd": controls.written["dfd"].read_text(encoding="utf-8"),
    }
    for name, text in texts.items():
        raw = sorted({hex(ord(c)) for c in text if c in RAW_CONTROLS and c not in "\r"})
        assert raw == [], name
        assert "\\u202e" in text, name
    assert CONTROL_SHOWN in texts["html"]
    # Markdown doubles the backslash, so that the escape shows as typed.
    assert "Pump\\\\u0000 \\\\u202eexe.fdp" in md(CONTROL_NAME)
    assert md(CONTROL_NAME) in texts["md"]
    ET.fromstring(texts["dfd"])
    labels = " ".join(t.text or "" for t in ET.fromstring(texts["dfd"]).iter(f"{SVG}text"))
    assert "\\u202e" in labels
    rows = list(csv.reader(io.StringIO(texts["csv"])))
    assert CONTROL_SHOWN in {row[COLUMNS.index("target_name")] for row in rows[1:]}
