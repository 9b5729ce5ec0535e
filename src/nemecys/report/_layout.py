"""Placement of the data flow diagram: zones in columns, components in zones, actors above.

Steps:
  (1) take the zones that contain components in kind order, left to right: patient body,
      patient home, hospital network, internet, vendor cloud, manufacturer;
  (2) split the zones of each kind over one or more columns with the lowest layout cost.
      Zones that exchange many flows go side by side rather than stacked, and no column
      should be taller than the row budget of about sqrt(2 × components) rows;
  (3) order zones inside each column and components inside each zone by the barycenter of
      their neighbours' positions, sweeping left and right and keeping the best order found;
  (4) choose the side of each node that each edge leaves or enters by, size the nodes so
      that their ports fit, and compute coordinates on an 8-pixel grid;
  (5) place the actors (external entities) without a zone in a band above the zones, each
      near the components it uses. An actor that declares a zone is placed inside that zone
      like a component.

Edge routing is done afterwards by `nemecys.report._routing`.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from nemecys.model.schema import ComponentKind, SystemModel, ZoneKind
from nemecys.report._common import text_width, visible_controls, wrap_text
from nemecys.threats.facts import ModelIndex

CELL = 8
NODE_W = 176
ACTOR_W = 152
V_GAP = 40
H_GAP = 48
ZONE_PAD = 24
ZONE_HEAD = 56
LABEL_BOTTOM = 32  # the zone name and kind take the top 32 pixels of a zone
ZONE_GAP = 48
MARGIN = 48
BAND_GAP = 72
NAME_SIZE = 12.0
NAME_LINE = 15
KIND_SIZE = 10.5
ZONE_NAME_SIZE = 12.5
PORT_SPACING = 16

KIND_ORDER = (
    ZoneKind.PATIENT_BODY,
    ZoneKind.PATIENT_HOME,
    ZoneKind.HOSPITAL_NETWORK,
    ZoneKind.INTERNET,
    ZoneKind.VENDOR_CLOUD,
    ZoneKind.MANUFACTURER,
)

Side = Literal["left", "right", "top", "bottom"]
Shape = Literal["process", "store", "external"]
EdgeKind = Literal["flow", "use"]

# Zones of one kind are split over columns by exhaustive search up to this many zones, which
# is 3,125 assignments for 5 zones. Larger groups are packed greedily in model order.
_MAX_EXHAUSTIVE_ZONES = 5
_EXTRA_COLUMN_COST = 1.5
_OVER_BUDGET_COST = 3.0
_STACKED_FLOW_COST = 1.25
_HEIGHT_COST = 0.5  # per row of the tallest column
_SWEEPS = 8


def snap(value: float) -> int:
    """Round up to the grid."""
    return int(math.ceil(value / CELL - 1e-9)) * CELL


@dataclass
class DiagramNode:
    """A component or actor with its place in the diagram."""

    id: str
    name: str
    kind: str
    shape: Shape
    zone: str | None
    out_of_scope: bool = False
    threats: int = 0
    risk: str | None = None
    lines: list[str] = field(default_factory=list)
    column: int = -1  # global sub-column, -1 for actors
    x: int = 0
    y: int = 0
    w: int = 0
    h: int = 0

    @property
    def is_actor(self) -> bool:
        return self.shape == "external"

    @property
    def in_band(self) -> bool:
        """True for an actor without a zone, drawn in the band above the zones."""
        return self.zone is None

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass
class DiagramZone:
    """A trust zone box and the components it contains, in display order."""

    id: str
    name: str
    kind: ZoneKind
    nodes: list[str]
    columns: int = 1
    x: int = 0
    y: int = 0
    w: int = 0
    h: int = 0
    label_w: int = 0  # width of the name and kind label in the top left corner

    def contains(self, px: float, py: float) -> bool:
        return self.x < px < self.x + self.w and self.y < py < self.y + self.h


@dataclass
class DiagramEdge:
    """A numbered data flow, or an actor's use of a component, with its route once computed."""

    key: str
    kind: EdgeKind
    source: str
    target: str
    number: int | None = None
    flow_id: str | None = None
    bidirectional: bool = False
    crosses: bool = False
    risk: str | None = None
    source_side: Side = "right"
    target_side: Side = "left"
    points: list[tuple[int, int]] = field(default_factory=list)
    label: tuple[int, int] | None = None
    crossings: list[tuple[int, int]] = field(default_factory=list)
    routed: bool = False


@dataclass
class DiagramLayout:
    width: int
    height: int
    nodes: dict[str, DiagramNode]
    zones: list[DiagramZone]
    edges: list[DiagramEdge]


@dataclass
class _Column:
    kind: ZoneKind
    zones: list[str]


def kind_label(kind: str) -> str:
    return kind.replace("_", " ").replace("third party", "third-party")


def zone_kind_text(kind: ZoneKind) -> str:
    return f"trust zone: {kind_label(kind.value)}"


def build_layout(
    model: SystemModel,
    node_risk: dict[str, tuple[int, str | None]],
    flow_risk: dict[str, str | None],
) -> DiagramLayout:
    """Place every component, zone and actor of `model`, and choose the sides edges attach to.

    Edges get no route here: `nemecys.report._routing.route_edges` adds them.
    """
    index = ModelIndex(model)
    nodes: dict[str, DiagramNode] = {}
    for component in model.components:
        count, risk = node_risk.get(component.id, (0, None))
        nodes[component.id] = DiagramNode(
            id=component.id,
            name=component.name or component.id,
            kind=kind_label(component.kind.value),
            shape="store" if component.kind is ComponentKind.DATABASE else "process",
            zone=component.zone,
            out_of_scope=component.out_of_scope,
            threats=count,
            risk=risk,
        )
    for actor in model.actors:
        nodes[actor.id] = DiagramNode(
            id=actor.id,
            name=actor.name or actor.id,
            kind=kind_label(actor.kind.value),
            shape="external",
            zone=actor.zone if actor.zone in index.zones else None,
        )
    for node in nodes.values():
        node.name = visible_controls(node.name, keep_layout=False)

    zones: dict[str, DiagramZone] = {}
    for node in nodes.values():
        if node.zone is None:
            continue
        if node.zone not in zones:
            zone = index.zones[node.zone]
            zones[node.zone] = DiagramZone(
                id=zone.id,
                name=visible_controls(zone.name or zone.id, keep_layout=False),
                kind=zone.kind,
                nodes=[],
            )
        zones[node.zone].nodes.append(node.id)

    edges: list[DiagramEdge] = []
    for number, flow in enumerate(model.flows, start=1):
        source, target = nodes[flow.source], nodes[flow.destination]
        edges.append(
            DiagramEdge(
                key=f"flow-{number}",
                kind="flow",
                source=flow.source,
                target=flow.destination,
                number=number,
                flow_id=flow.id,
                bidirectional=flow.bidirectional,
                crosses=source.zone != target.zone,
                risk=flow_risk.get(flow.id),
            )
        )
    for actor in model.actors:
        edges.extend(
            DiagramEdge(key=f"use-{actor.id}-{used}", kind="use", source=actor.id, target=used)
            for used in actor.uses
            if used in nodes
        )

    flows = [e for e in edges if e.kind == "flow"]
    budget = max(4, math.ceil(math.sqrt(2 * max(len(model.components), 1))))
    columns = _assign_columns(zones, nodes, flows, budget)
    _order_within_columns(columns, zones, nodes, flows)
    _number_columns(columns, zones, nodes)
    _choose_sides(edges, nodes, columns, zones)
    _size_nodes(nodes, edges)
    width, height = _place(columns, zones, nodes, edges)
    width = max(width, _place_actors(nodes, edges, width))
    return DiagramLayout(
        width=width, height=height, nodes=nodes, zones=list(zones.values()), edges=edges
    )


# --- (1) and (2) zones to columns ----------------------------------------------------------


def _zone_weights(
    zones: dict[str, DiagramZone], nodes: dict[str, DiagramNode], flows: list[DiagramEdge]
) -> dict[tuple[str, str], int]:
    """Count the flows between each pair of zones."""
    weights: dict[tuple[str, str], int] = defaultdict(int)
    for edge in flows:
        a, b = nodes[edge.source].zone, nodes[edge.target].zone
        if a is None or b is None or a == b:
            continue
        weights[(min(a, b), max(a, b))] += 1
    return weights


def _assign_columns(
    zones: dict[str, DiagramZone],
    nodes: dict[str, DiagramNode],
    flows: list[DiagramEdge],
    budget: int,
) -> list[_Column]:
    """Split the zones of each kind over one or more columns, kinds left to right."""
    weights = _zone_weights(zones, nodes, flows)
    for zone in zones.values():
        zone.columns = max(1, math.ceil(len(zone.nodes) / budget))
    rank = {kind: i for i, kind in enumerate(KIND_ORDER)}
    columns: list[_Column] = []
    for kind in KIND_ORDER:
        group = [z for z in zones if zones[z].kind is kind]
        if not group:
            continue
        before: dict[str, int] = defaultdict(int)
        after: dict[str, int] = defaultdict(int)
        for (a, b), weight in weights.items():
            for zone_id, other in ((a, b), (b, a)):
                if zone_id in group and zones[other].kind is not kind:
                    if rank[zones[other].kind] < rank[kind]:
                        before[zone_id] += weight
                    else:
                        after[zone_id] += weight
        split = _split_kind(group, zones, weights, before, after, budget)
        columns.extend(_Column(kind=kind, zones=members) for members in split)
    return columns


def _split_kind(
    group: list[str],
    zones: dict[str, DiagramZone],
    weights: dict[tuple[str, str], int],
    before: dict[str, int],
    after: dict[str, int],
    budget: int,
) -> list[list[str]]:
    """Choose the columns of one kind's zones with the lowest layout cost.

    The cost adds a charge per extra column and per row above the budget. It adds the flows
    between zones stacked in one column, which need vertical detours, and the flows between
    this kind's columns weighted by distance. Flows to earlier or later kinds count by how
    far the zone sits from that side.
    """
    rows = {z: math.ceil(len(zones[z].nodes) / zones[z].columns) for z in group}
    if len(group) > _MAX_EXHAUSTIVE_ZONES:
        return _pack_greedy(group, rows, budget)
    inner = [(a, b, w) for (a, b), w in weights.items() if a in rows and b in rows]
    best: tuple[float, tuple[int, ...]] | None = None
    for assignment in itertools.product(range(len(group)), repeat=len(group)):
        used = sorted(set(assignment))
        if used != list(range(len(used))):
            continue
        count = len(used)
        where = dict(zip(group, assignment, strict=True))
        cost = _EXTRA_COLUMN_COST * (count - 1)
        heights = [0] * count
        for zone_id in group:
            column = where[zone_id]
            heights[column] += rows[zone_id]
            cost += before[zone_id] * column + after[zone_id] * (count - 1 - column)
        cost += _OVER_BUDGET_COST * sum(max(0, h - budget) for h in heights)
        cost += _HEIGHT_COST * max(heights)
        for a, b, weight in inner:
            distance = abs(where[a] - where[b])
            if distance == 0:
                # Flows between stacked zones run as vertical detours beside the column. A few are
                # fine but many form a thick bundle, so the cost grows faster than the count.
                cost += weight * _STACKED_FLOW_COST + 0.5 * weight * (weight - 1)
            else:
                cost += weight * distance
        if best is None or cost < best[0] - 1e-9:
            best = (cost, assignment)
    assert best is not None
    assignment = best[1]
    return [
        [z for z, c in zip(group, assignment, strict=True) if c == i]
        for i in range(max(assignment) + 1)
    ]


def _pack_greedy(group: list[str], rows: dict[str, int], budget: int) -> list[list[str]]:
    """Fill columns in model order, starting a new one when the row budget would be exceeded."""
    columns: list[list[str]] = []
    height = 0
    for zone_id in group:
        if columns and height + rows[zone_id] <= budget:
            columns[-1].append(zone_id)
            height += rows[zone_id]
        else:
            columns.append([zone_id])
            height = rows[zone_id]
    return columns


# --- (3) barycenter ordering ----------------------------------------------------------------


def _positions(columns: list[_Column], zones: dict[str, DiagramZone]) -> dict[str, float]:
    """Return the vertical rank of each component in rows, with some room for zone headers."""
    position: dict[str, float] = {}
    for column in columns:
        cursor = 0.0
        for zone_id in column.zones:
            zone = zones[zone_id]
            cursor += 0.6
            for i, node in enumerate(zone.nodes):
                position[node] = cursor + i // zone.columns
            cursor += math.ceil(len(zone.nodes) / zone.columns) + 0.4
    return position


def _order_within_columns(
    columns: list[_Column],
    zones: dict[str, DiagramZone],
    nodes: dict[str, DiagramNode],
    flows: list[DiagramEdge],
) -> None:
    neighbours: dict[str, list[str]] = defaultdict(list)
    for edge in flows:
        a, b = edge.source, edge.target
        if a == b or nodes[a].in_band or nodes[b].in_band:
            continue
        neighbours[a].append(b)
        neighbours[b].append(a)

    def total_span(position: dict[str, float]) -> float:
        return sum(
            abs(position[e.source] - position[e.target])
            for e in flows
            if e.source in position and e.target in position
        )

    def snapshot() -> tuple[list[list[str]], list[list[str]]]:
        return [list(c.zones) for c in columns], [
            list(zones[z].nodes) for c in columns for z in c.zones
        ]

    best = snapshot()
    best_span = total_span(_positions(columns, zones))
    for sweep in range(_SWEEPS):
        sequence = columns if sweep % 2 == 0 else list(reversed(columns))
        for column in sequence:
            position = _positions(columns, zones)

            def barycenter(node: str, position: dict[str, float] = position) -> float:
                linked = [position[n] for n in neighbours[node] if n in position]
                return sum(linked) / len(linked) if linked else position[node]

            for zone_id in column.zones:
                zone = zones[zone_id]
                zone.nodes.sort(key=lambda n: (barycenter(n), position[n]))
            position = _positions(columns, zones)
            column.zones.sort(
                key=lambda z: (
                    sum(barycenter(n, position) for n in zones[z].nodes) / len(zones[z].nodes),
                    position[zones[z].nodes[0]],
                )
            )
        span = total_span(_positions(columns, zones))
        if span < best_span - 1e-9:
            best, best_span = snapshot(), span

    column_orders, zone_orders = best
    flat = iter(zone_orders)
    for column, zone_order in zip(columns, column_orders, strict=True):
        column.zones = zone_order
        for zone_id in column.zones:
            zones[zone_id].nodes = next(flat)


def _number_columns(
    columns: list[_Column], zones: dict[str, DiagramZone], nodes: dict[str, DiagramNode]
) -> None:
    """Give each component its global sub-column index, left to right."""
    base = 0
    for column in columns:
        width = max(zones[z].columns for z in column.zones)
        for zone_id in column.zones:
            zone = zones[zone_id]
            for i, node in enumerate(zone.nodes):
                nodes[node].column = base + i % zone.columns
        base += width


# --- (4) sides, sizes, coordinates ----------------------------------------------------------


def _stacks(columns: list[_Column], zones: dict[str, DiagramZone]) -> dict[str, tuple[int, int]]:
    """Return (sub-column, index from the top within that sub-column) for each component."""
    stacks: dict[str, tuple[int, int]] = {}
    base = 0
    for column in columns:
        width = max(zones[z].columns for z in column.zones)
        depth = [0] * width
        for zone_id in column.zones:
            zone = zones[zone_id]
            for i, node in enumerate(zone.nodes):
                sub = i % zone.columns
                stacks[node] = (base + sub, depth[sub])
                depth[sub] += 1
        base += width
    return stacks


def _choose_sides(
    edges: list[DiagramEdge],
    nodes: dict[str, DiagramNode],
    columns: list[_Column],
    zones: dict[str, DiagramZone],
) -> None:
    stacks = _stacks(columns, zones)
    for edge in edges:
        a, b = nodes[edge.source], nodes[edge.target]
        sides: tuple[Side, Side]
        if a.in_band and b.in_band:
            sides = ("bottom", "bottom")
        elif a.in_band:
            sides = ("bottom", "top")
        elif b.in_band:
            sides = ("top", "bottom")
        elif a.id == b.id:
            sides = ("right", "top")
        elif a.column < b.column:
            sides = ("right", "left")
        elif a.column > b.column:
            sides = ("left", "right")
        else:
            depth_a, depth_b = stacks[a.id][1], stacks[b.id][1]
            if abs(depth_a - depth_b) == 1:
                sides = ("bottom", "top") if depth_a < depth_b else ("top", "bottom")
            else:
                sides = ("right", "right")
        edge.source_side, edge.target_side = sides


def _size_nodes(nodes: dict[str, DiagramNode], edges: list[DiagramEdge]) -> None:
    ports: dict[tuple[str, Side], int] = defaultdict(int)
    for edge in edges:
        ports[(edge.source, edge.source_side)] += 1
        ports[(edge.target, edge.target_side)] += 1
    for node in nodes.values():
        node.w = ACTOR_W if node.is_actor else NODE_W
        node.lines = wrap_text(node.name, node.w - 20, NAME_SIZE, bold=True)
        text_h = len(node.lines) * NAME_LINE + 14 + 20
        if node.shape == "store":
            text_h += 12
        side_ports = max(ports[(node.id, "left")], ports[(node.id, "right")])
        node.h = snap(max(text_h, (side_ports + 1) * PORT_SPACING, 48))
        top_ports = max(ports[(node.id, "top")], ports[(node.id, "bottom")])
        node.w = max(node.w, snap((top_ports + 1) * PORT_SPACING))


def _zone_size(zone: DiagramZone, nodes: dict[str, DiagramNode]) -> tuple[int, list[int]]:
    """Return the zone's inner width and the height of each of its rows."""
    rows = math.ceil(len(zone.nodes) / zone.columns)
    heights = [0] * rows
    for i, node in enumerate(zone.nodes):
        heights[i // zone.columns] = max(heights[i // zone.columns], nodes[node].h)
    width = zone.columns * NODE_W + (zone.columns - 1) * H_GAP
    return width, heights


def _gutters(
    columns: list[_Column],
    zones: dict[str, DiagramZone],
    nodes: dict[str, DiagramNode],
    edges: list[DiagramEdge],
) -> list[int]:
    """Return the width of the gap right of each column, wider for more edges likely to pass."""
    column_of = {n: ci for ci, c in enumerate(columns) for z in c.zones for n in zones[z].nodes}
    counts = [0] * len(columns)
    for edge in edges:
        if edge.source not in column_of or edge.target not in column_of:
            continue
        a, b = column_of[edge.source], column_of[edge.target]
        if a == b:
            if "right" in (edge.source_side, edge.target_side):
                counts[a] += 1
            continue
        for gap in range(min(a, b), max(a, b)):
            counts[gap] += 1
    gutters = [snap(min(max(56, 24 + 10 * count), 200)) for count in counts]
    if gutters:
        # Right of the last column only its own detours run; the canvas margin follows.
        gutters[-1] = snap(10 * counts[-1])
    return gutters


def _place(
    columns: list[_Column],
    zones: dict[str, DiagramZone],
    nodes: dict[str, DiagramNode],
    edges: list[DiagramEdge],
) -> tuple[int, int]:
    has_actors = any(n.in_band for n in nodes.values())
    band = max((n.h for n in nodes.values() if n.in_band), default=0)
    top = MARGIN + (band + BAND_GAP if has_actors else 0)
    gutters = _gutters(columns, zones, nodes, edges)

    heights: list[int] = []
    for column in columns:
        total = 0
        for zone_id in column.zones:
            _, rows = _zone_size(zones[zone_id], nodes)
            total += ZONE_HEAD + sum(rows) + V_GAP * (len(rows) - 1) + ZONE_PAD
        heights.append(total + ZONE_GAP * (len(column.zones) - 1))
    tallest = max(heights, default=0)

    for zone in zones.values():
        zone.label_w = snap(
            max(
                text_width(zone.name, ZONE_NAME_SIZE, bold=True),
                text_width(zone_kind_text(zone.kind), KIND_SIZE),
            )
            + 16
        )

    x = MARGIN + 16
    for ci, column in enumerate(columns):
        width = max(
            max(_zone_size(zones[z], nodes)[0] + 2 * ZONE_PAD, zones[z].label_w + CELL)
            for z in column.zones
        )
        y = top + snap((tallest - heights[ci]) / 2)
        for zone_id in column.zones:
            zone = zones[zone_id]
            inner, rows = _zone_size(zone, nodes)
            zone.x, zone.y, zone.w = x, y, width
            zone.h = ZONE_HEAD + sum(rows) + V_GAP * (len(rows) - 1) + ZONE_PAD
            left = x + snap((width - inner) / 2)
            row_y = y + ZONE_HEAD
            for r, row_h in enumerate(rows):
                for c in range(zone.columns):
                    i = r * zone.columns + c
                    if i >= len(zone.nodes):
                        break
                    node = nodes[zone.nodes[i]]
                    node.x = left + c * (NODE_W + H_GAP) + snap((NODE_W - node.w) / 2)
                    node.y = row_y + snap((row_h - node.h) / 2)
                row_y += row_h + V_GAP
            y += zone.h + ZONE_GAP
        x += width + gutters[ci]
    return x + MARGIN, top + tallest + MARGIN


# --- (5) actors -----------------------------------------------------------------------------


def _place_actors(nodes: dict[str, DiagramNode], edges: list[DiagramEdge], width: int) -> int:
    """Place the actors without a zone in a row above the zones; return the row's right edge."""
    actors = [n for n in nodes.values() if n.in_band]
    if not actors:
        return width
    linked: dict[str, list[float]] = defaultdict(list)
    for edge in edges:
        a, b = nodes[edge.source], nodes[edge.target]
        if a.in_band and not b.in_band:
            linked[a.id].append(b.cx)
        if b.in_band and not a.in_band:
            linked[b.id].append(a.cx)
    fallback = float(width)
    preferred_x = {
        a.id: (sum(linked[a.id]) / len(linked[a.id]) if linked[a.id] else fallback) for a in actors
    }
    right = MARGIN
    for actor in sorted(actors, key=lambda a: (preferred_x[a.id], a.id)):
        actor.x = max(snap(preferred_x[actor.id] - actor.w / 2), right)
        actor.y = MARGIN
        right = actor.x + actor.w + 24
    return snap(right) + MARGIN
