"""Data flow diagram of the system model as standalone SVG, built without Graphviz or JavaScript.

Trust zones are dashed boxes. Components follow the DFD notation: processes are rounded
rectangles, data stores cylinders, and actors (external entities) plain rectangles, above the
zones or inside the zone the actor declares. Every flow is an orthogonal arrow with a numbered
badge; red diamonds mark where a flow crosses a trust boundary. Components and flow badges are
tinted by the worst residual risk of the threats against them. The flow table under the diagram maps each number to the
flow's name, ends, protocol, data and the boundary it crosses.

All model text is escaped: names come from the model file and are untrusted.
"""

from __future__ import annotations

from dataclasses import dataclass

from nemecys.model.schema import SystemModel
from nemecys.report._common import (
    LevelColors,
    applicable,
    level_colors,
    level_rank,
    protocol_label,
    text_width,
    words,
    wrap_text,
    xml_escape,
)
from nemecys.report._layout import (
    KIND_SIZE,
    NAME_LINE,
    NAME_SIZE,
    ZONE_NAME_SIZE,
    DiagramEdge,
    DiagramLayout,
    DiagramNode,
    DiagramZone,
    build_layout,
    zone_kind_text,
)
from nemecys.report._routing import route_edges
from nemecys.results import Assessment
from nemecys.threats.facts import ModelIndex

FONT = "'Liberation Sans', Arial, Helvetica, sans-serif"
FLOW_COLOR = "#475569"
CROSSING_COLOR = "#1e3a8a"
MARKER_COLOR = "#dc2626"
USE_COLOR = "#94a3b8"
NEUTRAL_STROKE = "#475569"
ACTOR_FILL = "#eef2f7"

_ZONE_FILLS = {
    "patient_body": "#fdf4f8",
    "patient_home": "#f2fbf4",
    "hospital_network": "#f1f6fe",
    "internet": "#fdfbee",
    "vendor_cloud": "#f6f4fe",
    "manufacturer": "#f4f5f7",
}
_KEY_HEIGHT = 86
_TABLE_FONT = 11.0
_TABLE_LINE = 14
_TABLE_MAX_LINES = 40


@dataclass(frozen=True)
class FlowRow:
    """One line of the flow table: what the number on an arrow stands for."""

    number: int
    id: str
    name: str
    source: str
    destination: str
    protocol: str
    authentication: str
    encryption: str
    data: list[str]
    bidirectional: bool
    boundary: str | None
    risk: str | None


def element_risks(
    assessment: Assessment,
) -> tuple[dict[str, tuple[int, str | None]], dict[str, str | None]]:
    """Return (threat count, worst residual level) per component and the worst level per flow.

    Threats against an interface count for the component that owns it. Threats marked not
    applicable are left out.
    """
    node_risk: dict[str, tuple[int, str | None]] = {}
    flow_risk: dict[str, str | None] = {}

    def worse(current: str | None, level: str) -> str:
        if current is None or level_rank(assessment, level) > level_rank(assessment, current):
            return level
        return current

    for threat in applicable(assessment.threats):
        level = threat.residual.level
        if threat.target.kind in ("component", "interface"):
            owner = (
                threat.target.id.partition(".")[0]
                if threat.target.kind == "interface"
                else threat.target.id
            )
            count, current = node_risk.get(owner, (0, None))
            node_risk[owner] = (count + 1, worse(current, level))
        elif threat.target.kind == "flow":
            flow_risk[threat.target.id] = worse(flow_risk.get(threat.target.id), level)
    return node_risk, flow_risk


def flow_rows(assessment: Assessment, model: SystemModel) -> list[FlowRow]:
    """Number the flows in model order, as the diagram does, and describe each."""
    index = ModelIndex(model)
    _, flow_risk = element_risks(assessment)
    names = {c.id: c.name or c.id for c in model.components}
    names.update({a.id: a.name or a.id for a in model.actors})
    assets = {a.id: a.name or a.id for a in model.assets}

    def zone_of(endpoint: str) -> str | None:
        zone = index.zone_id(endpoint)
        return zone if zone in index.zones else None

    def zone_name(endpoint: str) -> str:
        zone = zone_of(endpoint)
        if zone is None:
            return "outside (actor)"
        return index.zones[zone].name or zone

    rows = []
    for number, flow in enumerate(model.flows, start=1):
        crossing = zone_of(flow.source) != zone_of(flow.destination)
        rows.append(
            FlowRow(
                number=number,
                id=flow.id,
                name=flow.name or flow.id,
                source=names.get(flow.source, flow.source),
                destination=names.get(flow.destination, flow.destination),
                protocol=protocol_label(flow.protocol.value),
                authentication=words(flow.authentication.value),
                encryption=words(flow.encryption.value),
                data=[assets.get(a, a) for a in flow.data],
                bidirectional=flow.bidirectional,
                boundary=f"{zone_name(flow.source)} → {zone_name(flow.destination)}"
                if crossing
                else None,
                risk=flow_risk.get(flow.id),
            )
        )
    return rows


def layout_dfd(assessment: Assessment, model: SystemModel) -> DiagramLayout:
    """Place and route the diagram of `model`."""
    node_risk, flow_risk = element_risks(assessment)
    layout = build_layout(model, node_risk, flow_risk)
    route_edges(layout)
    return layout


def render_dfd(
    assessment: Assessment,
    model: SystemModel,
    *,
    flow_table: bool = True,
    id_prefix: str = "dfd",
    layout: DiagramLayout | None = None,
) -> str:
    """Return the SVG document of the data flow diagram, with the flow table unless disabled.

    Pass the `layout` from `layout_dfd` to draw one diagram several times without placing and
    routing it again.
    """
    if layout is None:
        layout = layout_dfd(assessment, model)
    colors = level_colors(assessment.risk_levels)
    rows = flow_rows(assessment, model)
    width = max(layout.width, 960)
    key_svg, key_height = _key(assessment, layout.height, width, id_prefix)
    table_svg, table_height = (
        _flow_table(rows, layout.height + key_height, width) if flow_table else ("", 0)
    )
    height = layout.height + key_height + table_height

    title = f"Data flow diagram: {model.system.name}"
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{xml_escape(title)}" '
        f'font-family="{FONT}" class="dfd" id="{id_prefix}">',
        f"<title>{xml_escape(title)}</title>",
        "<defs>",
        _marker(f"{id_prefix}-arrow", FLOW_COLOR),
        _marker(f"{id_prefix}-arrow-crossing", CROSSING_COLOR),
        "</defs>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for number, zone in enumerate(layout.zones):
        out.append(_zone(zone, f"{id_prefix}-zone-{number}"))
    uses = [e for e in layout.edges if e.kind == "use"]
    flows = [e for e in layout.edges if e.kind == "flow"]
    out.extend(_use_link(edge, layout) for edge in uses)
    out.extend(_flow(edge, rows, id_prefix) for edge in flows)
    out.extend(
        _node(node, f"{id_prefix}-node-{number}", colors, layout)
        for number, node in enumerate(layout.nodes.values())
    )
    out.extend(_diamond(x, y) for edge in flows for x, y in edge.crossings)
    out.extend(_badge(edge, colors) for edge in flows)
    out.append(key_svg)
    out.append(table_svg)
    out.append("</svg>")
    return "\n".join(part for part in out if part) + "\n"


# --- pieces -----------------------------------------------------------------------------------


def _marker(marker_id: str, color: str) -> str:
    return (
        f'<marker id="{marker_id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>'
    )


def _zone(zone: DiagramZone, element_id: str) -> str:
    fill = _ZONE_FILLS.get(zone.kind.value, "#f8fafc")
    kind_text = zone_kind_text(zone.kind)
    return (
        f'<g class="zone" id="{element_id}" data-id="{xml_escape(zone.id)}">'
        f"<title>{xml_escape(zone.name)} ({xml_escape(kind_text)})</title>"
        f'<rect x="{zone.x}" y="{zone.y}" width="{zone.w}" height="{zone.h}" rx="8" fill="{fill}" '
        f'stroke="#64748b" stroke-width="1.4" stroke-dasharray="7 4"/>'
        f'<text x="{zone.x + 12}" y="{zone.y + 20}" font-size="{ZONE_NAME_SIZE}" font-weight="bold" '
        f'fill="#1e293b">{xml_escape(zone.name)}</text>'
        f'<text x="{zone.x + 12}" y="{zone.y + 35}" font-size="{KIND_SIZE}" fill="#64748b">'
        f"{xml_escape(kind_text)}</text></g>"
    )


def _path_d(points: list[tuple[int, int]], radius: float = 6.0) -> str:
    """SVG path data through `points`, with rounded corners on orthogonal bends."""
    if len(points) < 3:
        return "M " + " L ".join(f"{x},{y}" for x, y in points)
    parts = [f"M {points[0][0]},{points[0][1]}"]
    for k in range(1, len(points) - 1):
        (ax, ay), (bx, by), (cx, cy) = points[k - 1], points[k], points[k + 1]
        before = min(radius, (abs(bx - ax) + abs(by - ay)) / 2)
        after = min(radius, (abs(cx - bx) + abs(cy - by)) / 2)
        ux, uy = _unit(ax, ay, bx, by)
        vx, vy = _unit(bx, by, cx, cy)
        parts.append(f"L {bx - ux * before:g},{by - uy * before:g}")
        parts.append(f"Q {bx},{by} {bx + vx * after:g},{by + vy * after:g}")
    parts.append(f"L {points[-1][0]},{points[-1][1]}")
    return " ".join(parts)


def _unit(ax: float, ay: float, bx: float, by: float) -> tuple[float, float]:
    length = abs(bx - ax) + abs(by - ay)
    if length == 0:
        return 0.0, 0.0
    return (bx - ax) / length, (by - ay) / length


def _use_link(edge: DiagramEdge, layout: DiagramLayout) -> str:
    actor, component = layout.nodes[edge.source], layout.nodes[edge.target]
    tip = f"{actor.name} uses {component.name}"
    return (
        f'<g class="use"><title>{xml_escape(tip)}</title>'
        f'<path d="{_path_d(edge.points)}" fill="none" stroke="{USE_COLOR}" stroke-width="1.2" '
        f'stroke-dasharray="2 3"/></g>'
    )


def _flow(edge: DiagramEdge, rows: list[FlowRow], id_prefix: str) -> str:
    row = rows[(edge.number or 1) - 1]
    color = CROSSING_COLOR if edge.crosses else FLOW_COLOR
    marker = f"{id_prefix}-arrow-crossing" if edge.crosses else f"{id_prefix}-arrow"
    ends = f'marker-end="url(#{marker})"'
    if edge.bidirectional:
        ends += f' marker-start="url(#{marker})"'
    arrow = "↔" if edge.bidirectional else "→"
    tip = f"{row.number}. {row.name}: {row.source} {arrow} {row.destination} ({row.protocol})"
    if row.boundary:
        tip += f"; crosses {row.boundary}"
    dash = "" if edge.routed else ' stroke-dasharray="4 3"'
    return (
        f'<g class="flow" id="{id_prefix}-flow-{edge.number}" data-id="{xml_escape(row.id)}">'
        f"<title>{xml_escape(tip)}</title>"
        f'<path d="{_path_d(edge.points)}" fill="none" stroke="{color}" stroke-width="1.5" '
        f'stroke-linejoin="round" {ends}{dash}/></g>'
    )


def _diamond(x: int, y: int) -> str:
    return (
        f'<path class="boundary-crossing" d="M {x},{y - 5} L {x + 5},{y} L {x},{y + 5} L {x - 5},{y} Z" '
        f'fill="{MARKER_COLOR}" stroke="#ffffff" stroke-width="1"/>'
    )


def _badge(edge: DiagramEdge, colors: dict[str, LevelColors]) -> str:
    if edge.label is None:
        return ""
    x, y = edge.label
    number = str(edge.number)
    radius = 9 if len(number) < 3 else 11.5
    fill, stroke = "#ffffff", "#1e293b"
    if edge.risk is not None and edge.risk in colors:
        fill, stroke = colors[edge.risk].tint, colors[edge.risk].stroke
    return (
        f'<g class="flow-label" data-flow="{number}">'
        f'<circle cx="{x}" cy="{y}" r="{radius}" fill="{fill}" stroke="{stroke}" stroke-width="1.4"/>'
        f'<text x="{x}" y="{y + 3.8}" font-size="10.5" font-weight="bold" text-anchor="middle" '
        f'fill="#0f172a">{number}</text></g>'
    )


def _node(
    node: DiagramNode, element_id: str, colors: dict[str, LevelColors], layout: DiagramLayout
) -> str:
    fill, stroke = "#ffffff", NEUTRAL_STROKE
    if node.risk is not None and node.risk in colors:
        fill, stroke = colors[node.risk].tint, colors[node.risk].stroke
    dash = ""
    if node.out_of_scope:
        fill, stroke, dash = "#f3f4f6", "#6b7280", ' stroke-dasharray="5 3"'

    x, y, w, h = node.x, node.y, node.w, node.h
    shape: str
    if node.shape == "external":
        shape = (
            f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{ACTOR_FILL}" stroke="#1f2937" '
            f'stroke-width="1.6"/>'
        )
    elif node.shape == "store":
        ry = 6
        shape = (
            f'<path d="M {x},{y + ry} L {x},{y + h - ry} A {w / 2:g},{ry} 0 0 0 {x + w},{y + h - ry} '
            f'L {x + w},{y + ry} A {w / 2:g},{ry} 0 0 0 {x},{y + ry} Z" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="1.6"{dash}/>'
            f'<ellipse cx="{x + w / 2:g}" cy="{y + ry}" rx="{w / 2:g}" ry="{ry}" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="1.6"{dash}/>'
        )
    else:
        shape = (
            f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="10" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="1.6"{dash}/>'
        )

    if node.is_actor:
        detail = f"actor: {node.kind}"
    elif node.out_of_scope:
        detail = f"{node.kind} · out of scope"
    elif node.threats:
        detail = f"{node.kind} · {node.threats} threat{'s' if node.threats != 1 else ''}"
    else:
        detail = node.kind
    block = len(node.lines) * NAME_LINE + 14
    offset = 6 if node.shape == "store" else 0
    baseline = y + offset + (h - offset - block) / 2 + 11
    texts = [
        f'<text x="{x + w / 2:g}" y="{baseline + i * NAME_LINE:g}" font-size="{NAME_SIZE}" '
        f'font-weight="bold" text-anchor="middle" fill="#0f172a">{xml_escape(line)}</text>'
        for i, line in enumerate(node.lines)
    ]
    texts.append(
        f'<text x="{x + w / 2:g}" y="{baseline + len(node.lines) * NAME_LINE + 1:g}" font-size="{KIND_SIZE}" '
        f'text-anchor="middle" fill="#475569" class="detail">{xml_escape(detail)}</text>'
    )
    zone_name = next((z.name for z in layout.zones if z.id == node.zone), None)
    tip = f"{node.name} ({node.id}): {node.kind}"
    if zone_name:
        tip += f" in {zone_name}"
    if node.risk:
        tip += f"; {node.threats} threats, worst residual risk {node.risk}"
    return (
        f'<g class="node {node.shape}" id="{element_id}" data-id="{xml_escape(node.id)}">'
        f"<title>{xml_escape(tip)}</title>{shape}{''.join(texts)}</g>"
    )


# --- key and flow table -------------------------------------------------------------------------


def _key(assessment: Assessment, top: int, width: int, id_prefix: str) -> tuple[str, int]:
    """Render the key to symbols and risk colours and return the SVG and its height."""
    colors = level_colors(assessment.risk_levels)
    y = top + 8
    out = [f'<g class="key"><line x1="24" y1="{y}" x2="{width - 24}" y2="{y}" stroke="#cbd5e1"/>']
    symbols = [
        (_key_box("#ffffff", NEUTRAL_STROKE, rx=4), "Process (component)"),
        (_key_box("#ffffff", NEUTRAL_STROKE, rx=14, ry=5), "Data store"),
        (_key_box(ACTOR_FILL, "#1f2937"), "External entity (actor)"),
        (_key_box("#f3f4f6", "#6b7280", rx=4, dash="4 2"), "Out of scope"),
        (_key_box("#f8fafc", "#64748b", rx=3, dash="5 3"), "Trust zone"),
        (_key_line(FLOW_COLOR, f"{id_prefix}-arrow"), "Flow inside a zone"),
        (_key_line(CROSSING_COLOR, f"{id_prefix}-arrow-crossing"), "Flow between zones"),
        (_key_line(CROSSING_COLOR, None, diamond=True), "Trust boundary crossing"),
        (_key_line(USE_COLOR, None, dash="2 3"), "Actor uses component"),
    ]
    x, row_y = 32.0, y + 24.0
    for symbol, label in symbols:
        item_w = text_width(label, 11.5) + 64
        if x + item_w > width - 24:
            x, row_y = 32.0, row_y + 28
        out.append(symbol.format(x=f"{x:g}", y=f"{row_y:g}"))
        out.append(
            f'<text x="{x + 40:g}" y="{row_y + 4:g}" font-size="11.5" fill="#1f2937">{xml_escape(label)}</text>'
        )
        x += item_w

    x, row_y = 32.0, row_y + 28
    caption = "Fill: worst residual risk of the threats against the element."
    out.append(
        f'<text x="{x:g}" y="{row_y + 4:g}" font-size="11.5" fill="#1f2937">{xml_escape(caption)}</text>'
    )
    x += text_width(caption, 11.5) + 16
    swatches = [
        (words(level), colors[level].tint, colors[level].stroke) for level in assessment.risk_levels
    ]
    swatches.append(("no threat", "#ffffff", NEUTRAL_STROKE))
    for label, fill, stroke in swatches:
        out.append(
            f'<rect x="{x:g}" y="{row_y - 7:g}" width="22" height="14" rx="3" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="1.4"/>'
            f'<text x="{x + 28:g}" y="{row_y + 4:g}" font-size="11.5" fill="#1f2937">{xml_escape(label)}</text>'
        )
        x += 44 + text_width(label, 11.5)
    out.append("</g>")
    return "\n".join(out), max(int(row_y + 24 - top), _KEY_HEIGHT)


def _key_box(
    fill: str, stroke: str, rx: float = 0, ry: float | None = None, dash: str | None = None
) -> str:
    """Return a 32 × 14 swatch as a template with {x} and {y} placeholders, y being the text middle."""
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<rect x="{{x}}" y="{{y}}" width="32" height="14" rx="{rx:g}" ry="{rx if ry is None else ry:g}" '
        f'transform="translate(0,-8)" fill="{fill}" stroke="{stroke}" stroke-width="1.4"{dash_attr}/>'
    )


def _key_line(
    color: str, marker: str | None, dash: str | None = None, diamond: bool = False
) -> str:
    """Return a 32-pixel line as a template with {x} and {y} placeholders, with arrow or diamond."""
    marker_attr = f' marker-end="url(#{marker})"' if marker else ""
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    line = (
        f'<path d="M {{x}},{{y}} h 30" fill="none" stroke="{color}" stroke-width="1.5"'
        f"{marker_attr}{dash_attr}/>"
    )
    if diamond:
        line += (
            '<path d="M 16,-5 L 21,0 L 16,5 L 11,0 Z" transform="translate({x},{y})" '
            f'fill="{MARKER_COLOR}" stroke="#ffffff"/>'
        )
    return line


def _flow_table(rows: list[FlowRow], top: int, width: int) -> tuple[str, int]:
    """Render the flow table below the diagram and return the SVG and its height."""
    if not rows:
        return "", 0
    fixed = [("#", 36), ("Flow", 190), ("From → to", 250), ("Protocol", 120)]
    boundary_w = 230
    data_w = max(width - 48 - sum(w for _, w in fixed) - boundary_w, 180)
    columns = [*fixed, ("Data", data_w), ("Crosses", boundary_w)]
    table_w = sum(w for _, w in columns)

    y = top + 12
    out = [
        '<g class="flow-table">',
        f'<text x="24" y="{y + 12}" font-size="13" font-weight="bold" fill="#0f172a">Flows</text>',
    ]
    y += 24
    out.append(f'<rect x="24" y="{y}" width="{table_w}" height="22" fill="#e2e8f0"/>')
    x = 24
    for name, column_w in columns:
        out.append(
            f'<text x="{x + 6}" y="{y + 15}" font-size="{_TABLE_FONT}" font-weight="bold" '
            f'fill="#0f172a">{xml_escape(name)}</text>'
        )
        x += column_w
    y += 22

    for k, row in enumerate(rows):
        arrow = "↔" if row.bidirectional else "→"
        cells = [
            str(row.number),
            row.name,
            f"{row.source} {arrow} {row.destination}",
            row.protocol,
            ", ".join(row.data) or "—",
            row.boundary or "—",
        ]
        wrapped = [
            wrap_text(text, column_w - 12, _TABLE_FONT, max_lines=_TABLE_MAX_LINES)
            for text, (_, column_w) in zip(cells, columns, strict=True)
        ]
        row_h = max(len(lines) for lines in wrapped) * _TABLE_LINE + 8
        if k % 2:
            out.append(f'<rect x="24" y="{y}" width="{table_w}" height="{row_h}" fill="#f8fafc"/>')

        x = 24
        for lines, (_, column_w) in zip(wrapped, columns, strict=True):
            out.extend(
                f'<text x="{x + 6}" y="{y + 14 + i * _TABLE_LINE}" font-size="{_TABLE_FONT}" '
                f'fill="#1f2937">{xml_escape(line)}</text>'
                for i, line in enumerate(lines)
            )
            x += column_w
        y += row_h

    out.append("</g>")
    return "\n".join(out), y - top + 16
