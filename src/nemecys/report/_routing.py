"""Orthogonal edge routing for the data flow diagram: A* search on the layout's 8-pixel grid.

Nodes (inflated by one grid cell) and zone labels are obstacles. The search cost of a step
grows with bends, with running over or across edges routed earlier, with running along a
zone border, and with passing through a zone that contains neither end of the edge, so edges
prefer the gutters between zones and spread over parallel tracks. Each edge leaves and
enters its nodes at a port on the side chosen by the layout; ports on one side are spread
out and ordered by the position of the other end, which avoids most crossings near nodes.

The work is bounded so that large diagrams stay fast: each search may expand a share of a
fixed total of states (at least `_MIN_EXPANSIONS`, at most `_MAX_EXPANSIONS`). An edge whose
search runs out is searched again with a much greedier heuristic and a budget proportional to
its length. An edge that still has no route is drawn as a simple orthogonal line through the
middle between its ends, flagged `routed = False` and drawn dashed.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections import defaultdict

from nemecys.report._layout import CELL, LABEL_BOTTOM, DiagramEdge, DiagramLayout, DiagramNode, Side

_DX = (1, -1, 0, 0)
_DY = (0, 0, 1, -1)
_OPPOSITE = (1, 0, 3, 2)
_SIDE_DIRECTION: dict[Side, int] = {"right": 0, "left": 1, "bottom": 2, "top": 3}

_BEND = 6.0
_OVERLAP = 24.0  # running on top of an earlier edge in the same direction
_CROSS = 4.0  # crossing an earlier edge
_FOREIGN_ZONE = 4.0  # per step inside a zone that contains neither end
_BORDER = 3.0  # per step on a zone border
_SHARED_STEP = 0.3  # per step on a track already taken by a link of the same actor
_STUB = 2  # grid cells between a port and the first routed point
_LABEL_RADIUS = 9
_BUCKET = 80
# Weighted A*: overestimating the remaining cost expands far fewer states, because the zone
# and overlap penalties make true costs much higher than the grid distance. Routes may come
# out slightly longer than the cheapest ones.
_HEURISTIC_WEIGHT = 1.5
# Bounds on the states one search may expand. The examples need at most a few thousand per
# edge, so small diagrams are routed as if there were no bound.
_TOTAL_EXPANSIONS = 300_000
_MIN_EXPANSIONS = 500
_MAX_EXPANSIONS = 50_000
# The retry after a search ran out: nearly greedy (the heuristic outweighs every penalty, which
# only break ties), with a budget per grid cell of distance between the ends.
_GREEDY_WEIGHT = 100.0
_GREEDY_PER_CELL = 20
_GREEDY_BASE = 2_000


class _Grid:
    """Grid points of the canvas with obstacles, zone membership and edge usage."""

    def __init__(self, layout: DiagramLayout) -> None:
        self.nx = layout.width // CELL + 1
        self.ny = layout.height // CELL + 1
        size = self.nx * self.ny
        self.blocked = bytearray(size)
        self.border = bytearray(size)
        self.zone_of = array("h", [-1]) * size
        self.used_h = bytearray(size)
        self.used_v = bytearray(size)
        self.owners: dict[int, set[int]] = defaultdict(set)
        # Usage by the links of each actor, so that one actor's links can share a trunk.
        self.group_h: dict[str, bytearray] = defaultdict(lambda: bytearray(size))
        self.group_v: dict[str, bytearray] = defaultdict(lambda: bytearray(size))

        for zi, zone in enumerate(layout.zones):
            x0, y0 = zone.x // CELL, zone.y // CELL
            x1, y1 = (zone.x + zone.w) // CELL, (zone.y + zone.h) // CELL
            for gy in range(y0, y1 + 1):
                for gx in range(x0, x1 + 1):
                    index = gy * self.nx + gx
                    if gx in (x0, x1) or gy in (y0, y1):
                        self.border[index] = 1
                    else:
                        self.zone_of[index] = zi
            # The zone's name and kind, in its top left corner.
            self._block(zone.x + CELL, zone.y + CELL, zone.x + zone.label_w, zone.y + LABEL_BOTTOM)
        for node in layout.nodes.values():
            self._block(
                node.x - CELL, node.y - CELL, node.x + node.w + CELL, node.y + node.h + CELL
            )

    def _block(self, x0: int, y0: int, x1: int, y1: int) -> None:
        for gy in range(max(0, y0 // CELL), min(self.ny - 1, y1 // CELL) + 1):
            row = gy * self.nx
            for gx in range(max(0, x0 // CELL), min(self.nx - 1, x1 // CELL) + 1):
                self.blocked[row + gx] = 1

    def index(self, x: int, y: int) -> int | None:
        gx, gy = x // CELL, y // CELL
        if 0 <= gx < self.nx and 0 <= gy < self.ny:
            return gy * self.nx + gx
        return None

    def point(self, index: int) -> tuple[int, int]:
        return (index % self.nx) * CELL, (index // self.nx) * CELL

    def search(
        self,
        start: int,
        start_dir: int,
        goal: int,
        goal_dir: int,
        own_zones: set[int],
        group: str | None = None,
        *,
        weight: float = _HEURISTIC_WEIGHT,
        budget: int = _MAX_EXPANSIONS,
    ) -> list[int] | None:
        """Return a cheap grid path from `start` to `goal`, or None when there is none.

        The search overestimates the remaining cost by `weight` and gives up, returning None,
        after expanding `budget` states. With a `group`, running over earlier edges of the same
        group costs less than an empty step instead of more, so the group's edges merge into a
        tree.
        """
        nx, ny = self.nx, self.ny
        goal_x, goal_y = goal % nx, goal // nx
        blocked, border, zone_of = self.blocked, self.border, self.zone_of
        used_h, used_v = self.used_h, self.used_v
        shared_h = self.group_h[group] if group is not None else None
        shared_v = self.group_v[group] if group is not None else None

        def heuristic(index: int) -> float:
            x, y = index % nx, index // nx
            estimate = abs(x - goal_x) + abs(y - goal_y)
            return weight * (estimate + (_BEND if x != goal_x and y != goal_y else 0.0))

        best: dict[int, float] = {start * 4 + start_dir: 0.0}
        parent: dict[int, int] = {}
        heap: list[tuple[float, float, int, int]] = [
            (heuristic(start), 0.0, 0, start * 4 + start_dir)
        ]
        counter = 0
        expansions = 0
        while heap:
            _, cost, _, state = heapq.heappop(heap)
            if cost > best.get(state, math.inf):
                continue
            index, direction = divmod(state, 4)
            if index == goal:
                path = [index]
                while state in parent:
                    state = parent[state]
                    path.append(state // 4)
                path.reverse()
                return path
            expansions += 1
            if expansions > budget:
                return None
            x, y = index % nx, index // nx
            for new_dir in range(4):
                if new_dir == _OPPOSITE[direction]:
                    continue
                new_x, new_y = x + _DX[new_dir], y + _DY[new_dir]
                if not (0 <= new_x < nx and 0 <= new_y < ny):
                    continue
                new_index = new_y * nx + new_x
                step = 1.0
                if new_dir != direction:
                    step += _BEND
                if new_index == goal:
                    if new_dir != goal_dir:
                        step += _BEND
                elif blocked[new_index]:
                    continue
                along, across = (used_h, used_v) if new_dir < 2 else (used_v, used_h)
                overlap = along[new_index]
                if shared_h is not None and shared_v is not None:
                    mine = (shared_h if new_dir < 2 else shared_v)[new_index]
                    if mine:
                        overlap -= mine
                        step = _SHARED_STEP + (_BEND if new_dir != direction else 0.0)
                step += _OVERLAP * overlap + _CROSS * across[new_index]
                if border[new_index]:
                    step += _BORDER
                zone = zone_of[new_index]
                if zone >= 0 and zone not in own_zones:
                    step += _FOREIGN_ZONE
                new_cost = cost + step
                new_state = new_index * 4 + new_dir
                if new_cost < best.get(new_state, math.inf):
                    best[new_state] = new_cost
                    parent[new_state] = state
                    counter += 1
                    heapq.heappush(
                        heap, (new_cost + heuristic(new_index), new_cost, counter, new_state)
                    )
        return None

    def mark(self, points: list[tuple[int, int]], owner: int, group: str | None = None) -> None:
        """Record that an edge runs through the grid points of polyline `points`."""
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            horizontal = y0 == y1
            steps = max(abs(x1 - x0), abs(y1 - y0)) // CELL
            dx = (x1 > x0) - (x1 < x0)
            dy = (y1 > y0) - (y1 < y0)
            for s in range(steps + 1):
                index = self.index(x0 + dx * s * CELL, y0 + dy * s * CELL)
                if index is None:
                    continue
                if owner in self.owners[index]:
                    continue
                self.owners[index].add(owner)
                used = self.used_h if horizontal else self.used_v
                used[index] = min(used[index] + 1, 8)
                if group is not None:
                    shared = self.group_h[group] if horizontal else self.group_v[group]
                    shared[index] = min(shared[index] + 1, used[index])


def _port_positions(layout: DiagramLayout) -> dict[tuple[int, str], tuple[int, int]]:
    """Spread the ports along each node side and return the point of each (edge index, end)."""
    ends: dict[tuple[str, Side], list[tuple[float, int, str]]] = defaultdict(list)
    nodes = layout.nodes
    for i, edge in enumerate(layout.edges):
        other_target, other_source = nodes[edge.target], nodes[edge.source]
        ends[(edge.source, edge.source_side)].append(
            (_along(edge.source_side, other_target), i, "source")
        )
        ends[(edge.target, edge.target_side)].append(
            (_along(edge.target_side, other_source), i, "target")
        )

    positions: dict[tuple[int, str], tuple[int, int]] = {}
    for (node_id, side), all_items in ends.items():
        node = nodes[node_id]
        # An actor's links to the components it uses leave from one shared port.
        uses = [
            item
            for item in all_items
            if item[2] == "source" and layout.edges[item[1]].kind == "use"
        ]
        items = [item for item in all_items if item not in uses]
        if uses:
            items.append((sum(u[0] for u in uses) / len(uses), uses[0][1], "source"))
        items.sort()
        vertical = side in ("left", "right")
        length = node.h if vertical else node.w
        count = len(items)
        previous = -CELL
        for k, (_, edge_index, end) in enumerate(items):
            offset = round((k + 1) * length / (count + 1) / CELL) * CELL
            offset = min(max(offset, previous + CELL), length)
            previous = offset
            if side == "left":
                point = (node.x, node.y + offset)
            elif side == "right":
                point = (node.x + node.w, node.y + offset)
            elif side == "top":
                point = (node.x + offset, node.y)
            else:
                point = (node.x + offset, node.y + node.h)
            positions[(edge_index, end)] = point
        for _, edge_index, end in uses:
            positions[(edge_index, end)] = positions[(uses[0][1], "source")]
    return positions


def _along(side: Side, other: DiagramNode) -> float:
    return other.cy if side in ("left", "right") else other.cx


def _outward(point: tuple[int, int], side: Side, cells: int) -> tuple[int, int]:
    direction = _SIDE_DIRECTION[side]
    return point[0] + _DX[direction] * cells * CELL, point[1] + _DY[direction] * cells * CELL


def _plain_route(start: tuple[int, int], goal: tuple[int, int]) -> list[tuple[int, int]]:
    """Return an orthogonal line from `start` to `goal` that turns in the middle between them."""
    (x0, y0), (x1, y1) = start, goal
    if abs(x1 - x0) >= abs(y1 - y0):
        middle = (x0 + x1) // 2 // CELL * CELL
        return [start, (middle, y0), (middle, y1), goal]
    middle = (y0 + y1) // 2 // CELL * CELL
    return [start, (x0, middle), (x1, middle), goal]


def _simplify(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Drop repeated points and points in the middle of straight runs."""
    out: list[tuple[int, int]] = []
    for point in points:
        if out and out[-1] == point:
            continue
        if len(out) >= 2:
            (ax, ay), (bx, by) = out[-2], out[-1]
            if (ax == bx == point[0]) or (ay == by == point[1]):
                out[-1] = point
                continue
        out.append(point)
    return out


def route_edges(layout: DiagramLayout) -> None:
    """Route every edge of `layout`, then place flow number labels and boundary markers."""
    grid = _Grid(layout)
    ports = _port_positions(layout)
    zone_index = {zone.id: i for i, zone in enumerate(layout.zones)}
    nodes = layout.nodes

    def length(i: int) -> int:
        (ax, ay), (bx, by) = ports[(i, "source")], ports[(i, "target")]
        return abs(ax - bx) + abs(ay - by)

    # Flows go first, short ones before long ones so that they get the direct tracks. Actor
    # links go last.
    order = sorted(
        range(len(layout.edges)),
        key=lambda i: (layout.edges[i].kind != "flow", length(i), i),
    )
    budget = _TOTAL_EXPANSIONS // max(len(order), 1)
    budget = min(max(budget, _MIN_EXPANSIONS), _MAX_EXPANSIONS)
    for i in order:
        edge = layout.edges[i]
        source_port, target_port = ports[(i, "source")], ports[(i, "target")]
        start = _outward(source_port, edge.source_side, _STUB)
        goal = _outward(target_port, edge.target_side, _STUB)
        start_index, goal_index = grid.index(*start), grid.index(*goal)
        own = {
            zone_index[zone]
            for zone in (nodes[edge.source].zone, nodes[edge.target].zone)
            if zone is not None
        }
        group = edge.source if edge.kind == "use" else None
        path = None
        if start_index is not None and goal_index is not None:
            ends = (
                start_index,
                _SIDE_DIRECTION[edge.source_side],
                goal_index,
                _OPPOSITE[_SIDE_DIRECTION[edge.target_side]],
            )
            path = grid.search(*ends, own, group, budget=budget)
            if path is None:
                cells = (abs(start[0] - goal[0]) + abs(start[1] - goal[1])) // CELL
                path = grid.search(
                    *ends,
                    own,
                    group,
                    weight=_GREEDY_WEIGHT,
                    budget=_GREEDY_BASE + _GREEDY_PER_CELL * cells,
                )
        if path is None:
            edge.points = _simplify([source_port, *_plain_route(start, goal), target_port])
            edge.routed = False
        else:
            edge.points = _simplify([source_port, *(grid.point(p) for p in path), target_port])
            edge.routed = True
        grid.mark(edge.points, i, group)

    for edge in layout.edges:
        if edge.kind == "flow":
            edge.crossings = _boundary_crossings(layout, edge)
    _place_labels(layout, grid)


def _samples(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Return every grid point along an orthogonal polyline, in order."""
    out: list[tuple[int, int]] = []
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        if x0 != x1 and y0 != y1:
            out.extend([(x0, y0), (x1, y1)])
            continue
        steps = max(abs(x1 - x0), abs(y1 - y0)) // CELL
        dx = (x1 > x0) - (x1 < x0)
        dy = (y1 > y0) - (y1 < y0)
        out.extend((x0 + dx * s * CELL, y0 + dy * s * CELL) for s in range(steps))
    if points:
        out.append(points[-1])
    return out


def _boundary_crossings(layout: DiagramLayout, edge: DiagramEdge) -> list[tuple[int, int]]:
    """Return the points where a flow crosses the border of its source's or destination's zone."""
    if not edge.crosses:
        return []
    zones = [
        z
        for z in layout.zones
        if z.id in (layout.nodes[edge.source].zone, layout.nodes[edge.target].zone)
    ]
    samples = _samples(edge.points)
    marks: list[tuple[int, int]] = []
    for zone in zones:
        inside = [zone.contains(x, y) for x, y in samples]
        for k in range(1, len(samples)):
            if inside[k] == inside[k - 1]:
                continue
            outside_point = samples[k] if inside[k - 1] else samples[k - 1]
            if outside_point not in marks:
                marks.append(outside_point)
    return marks


def _keep_clear(layout: DiagramLayout, grid: _Grid) -> bytearray:
    """Mark the grid points strictly inside a node (with a margin) or a zone label."""
    mask = bytearray(grid.nx * grid.ny)
    boxes = [
        (n.x - 12, n.y - 12, n.x + n.w + 12, n.y + n.h + 12) for n in layout.nodes.values()
    ] + [(z.x, z.y, z.x + z.label_w + 8, z.y + LABEL_BOTTOM + 8) for z in layout.zones]
    for x0, y0, x1, y1 in boxes:
        gx0, gx1 = max(0, x0 // CELL + 1), min(grid.nx - 1, (x1 - 1) // CELL)
        for gy in range(max(0, y0 // CELL + 1), min(grid.ny - 1, (y1 - 1) // CELL) + 1):
            row = gy * grid.nx
            mask[row + gx0 : row + gx1 + 1] = b"\x01" * max(0, gx1 - gx0 + 1)
    return mask


def _nearest(buckets: dict[tuple[int, int], list[tuple[int, int]]], x: int, y: int) -> float:
    """Return the distance to the nearest placed badge, or 99 when none is within 80 pixels."""
    bx, by = x // _BUCKET, y // _BUCKET
    return min(
        (
            math.dist((x, y), point)
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            for point in buckets.get((bx + dx, by + dy), ())
        ),
        default=99.0,
    )


def _place_labels(layout: DiagramLayout, grid: _Grid) -> None:
    keep_clear = _keep_clear(layout, grid)
    # Placed badges by 80-pixel square, so that only nearby ones are measured: a badge farther
    # than 80 pixels counts the same as none.
    buckets: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    edge_index = {id(edge): i for i, edge in enumerate(layout.edges)}
    for edge in sorted((e for e in layout.edges if e.kind == "flow"), key=lambda e: e.number or 0):
        own = edge_index[id(edge)]
        samples = _samples(edge.points)
        total = len(samples)
        corners = edge.points
        best: tuple[float, tuple[int, int]] | None = None
        for k, (x, y) in enumerate(samples):
            if k < 3 or k > total - 4:
                continue
            grid_index = grid.index(x, y)
            if grid_index is not None and x % CELL == 0 and y % CELL == 0:
                if keep_clear[grid_index]:
                    continue
                owners = grid.owners.get(grid_index)
                others = len(owners - {own}) if owners else 0
            else:
                others = 0
            nearest_badge = _nearest(buckets, x, y)
            if nearest_badge < 2 * _LABEL_RADIUS + 4:
                continue
            nearest_corner = min(abs(x - cx) + abs(y - cy) for cx, cy in corners)
            score = (
                min(nearest_corner, 24)
                - 0.04 * abs(k - total / 2) * CELL
                - 40 * others
                + 0.15 * min(nearest_badge, 80)
            )
            if best is None or score > best[0]:
                best = (score, (x, y))
        if best is None:
            middle = samples[total // 2] if samples else (0, 0)
            edge.label = middle
        else:
            edge.label = best[1]
        buckets[(edge.label[0] // _BUCKET, edge.label[1] // _BUCKET)].append(edge.label)
