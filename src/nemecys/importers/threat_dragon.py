"""Import an OWASP Threat Dragon 2 JSON model as a nemecys model.

Mapping, over the cells of every diagram:

- processes and stores become components. A store is a database. A process is a web app when
  Threat Dragon marks it `isWebApplication`. Otherwise its kind is guessed from its name, with
  `cloud_service` as the fallback (listed in a warning). Out-of-scope elements keep their reason.
- actors become actors, with a kind guessed from the name, and `uses` lists the components they
  exchange flows with. Flows may start or end at an actor.
- trust boundary boxes become zones, with a kind guessed from the box label (`vendor_cloud`
  when the label says nothing). A component belongs to the box Threat Dragon embeds it in
  (`parent`), else to the smallest box containing the centre of its shape. Components outside
  every box go to the declared zone `outside-trust-boundaries` of kind `internet`, so the least
  trusted zone is assumed until the user moves them.
- flows become flows. The protocol is recognised in the free-text protocol field, else in the
  flow label, else it is `proprietary`. `isEncrypted` gives encryption `tls` (`ble_link` for
  Bluetooth), as does an encrypted protocol name such as HTTPS, otherwise `none`.
  `isPublicNetwork` marks the receiving components `internet_facing`. `isBidirectional` carries
  over. Threat Dragon flows carry no authentication, so it stays `unknown`.
- stores flagged `storesCredentials` or `isALog` store the data assets `credentials` and `logs`.
  Threat Dragon has no other data assets.

Not imported: trust boundary curves (lines carry no containment), text blocks, and the threats
recorded in the file, which are counted in a warning because nemecys derives its own threats.
Threat Dragon has no clinical functions and no intended use, so placeholders are added.
Threat Dragon 1 files (`diagramJson`) are rejected with a request to open and save them in
Threat Dragon 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nemecys.importers._common import (
    IdAllocator,
    ImportResult,
    ZoneIdAllocator,
    assemble,
    compact,
    format_ids,
    guess_actor_kind,
    guess_component_kind,
    guess_protocol,
    guess_zone_kind,
    input_error,
    mentions_encryption,
    one_line,
    placeholder_system,
    plural,
    text_value,
    type_name,
)
from nemecys.model.schema import AssetKind, ComponentKind, Encryption, Level, Protocol, ZoneKind

FORMAT = "threat-dragon"
SOURCE_LABEL = "Threat Dragon"
DEFAULT_ZONE_ID = "outside-trust-boundaries"

# Threat Dragon 2.0 files may lack `shape`, but their `data.type` names the same element kinds.
_SHAPES_BY_TYPE = {
    "tm.Actor": "actor",
    "tm.Process": "process",
    "tm.Store": "store",
    "tm.Flow": "flow",
    "tm.Boundary": "trust-boundary-curve",
    "tm.BoundaryBox": "trust-boundary-box",
    "tm.Text": "td-text-block",
}
_KNOWN_SHAPES = frozenset(_SHAPES_BY_TYPE.values())


def looks_like(data: Any) -> bool:
    """Return whether parsed JSON has Threat Dragon's `detail.diagrams` structure."""
    return (
        isinstance(data, dict)
        and isinstance(data.get("detail"), dict)
        and "diagrams" in data["detail"]
    )


@dataclass(frozen=True)
class _Rect:
    x: float
    y: float
    width: float
    height: float

    @property
    def area(self) -> float:
        return self.width * self.height

    def contains(self, px: float, py: float) -> bool:
        return self.x <= px <= self.x + self.width and self.y <= py <= self.y + self.height


@dataclass
class _Cell:
    ident: str
    shape: str
    name: str | None
    data: dict[str, Any]
    raw: dict[str, Any]
    diagram: int
    rect: _Rect | None


def convert(path: Path, root: Any) -> ImportResult:
    """Convert a parsed Threat Dragon 2 document into a nemecys document."""
    return _Converter(path, root).run()


class _Converter:
    def __init__(self, path: Path, root: Any) -> None:
        if not looks_like(root):
            raise input_error(path, "not a Threat Dragon model: 'detail.diagrams' is missing")
        self.path = path
        self.root: dict[str, Any] = root
        self.warnings: list[str] = []
        self.element_ids: dict[str, str] = {}  # cell id -> component or actor id
        self.component_cells: set[str] = set()
        self.actor_cells: set[str] = set()
        self.zone_of_box: dict[str, str] = {}

    # --- reading cells ---

    def cells(self) -> list[_Cell]:
        self.reject_version_1()
        diagrams = self.root["detail"]["diagrams"]
        if not isinstance(diagrams, list):
            raise input_error(
                self.path, f"'detail.diagrams' is a {type_name(diagrams)}, expected a list"
            )
        cells: list[_Cell] = []
        seen: set[str] = set()
        for index, diagram in enumerate(diagrams):
            if not isinstance(diagram, dict):
                raise input_error(
                    self.path, f"diagram {index + 1} is a {type_name(diagram)}, expected an object"
                )
            raw_cells = diagram.get("cells") or []
            if not isinstance(raw_cells, list):
                raise input_error(
                    self.path,
                    f"'cells' of diagram {index + 1} is a {type_name(raw_cells)}, expected a list",
                )
            for raw in raw_cells:
                cell = self.read_cell(raw, index)
                if cell.ident in seen:
                    raise input_error(
                        self.path,
                        f"cell id '{cell.ident}' appears more than once",
                        "save the model again from Threat Dragon, which gives each cell a unique id",
                    )
                seen.add(cell.ident)
                cells.append(cell)
        return cells

    def reject_version_1(self) -> None:
        version = text_value(self.root.get("version")) or ""
        diagrams = self.root["detail"].get("diagrams")
        legacy = isinstance(diagrams, list) and any(
            isinstance(d, dict) and "diagramJson" in d for d in diagrams
        )
        if legacy or version.startswith("1."):
            raise input_error(
                self.path,
                "this is a Threat Dragon 1 model, which the importer does not read",
                "open it in Threat Dragon 2 and save it, which converts it to the version 2 format",
            )

    def read_cell(self, raw: Any, diagram: int) -> _Cell:
        if not isinstance(raw, dict):
            raise input_error(
                self.path,
                f"a cell of diagram {diagram + 1} is a {type_name(raw)}, expected an object",
            )
        ident = text_value(raw.get("id"))
        if ident is None:
            raise input_error(
                self.path,
                f"a cell of diagram {diagram + 1} has no 'id'",
                "save the model again from Threat Dragon",
            )
        data = raw.get("data")
        if not isinstance(data, dict):
            data = {}
        shape = text_value(raw.get("shape")) or _SHAPES_BY_TYPE.get(
            text_value(data.get("type")) or "", ""
        )
        return _Cell(ident, shape, _cell_name(raw, data), data, raw, diagram, _rect(raw))

    # --- conversion ---

    def run(self) -> ImportResult:
        cells = self.cells()
        by_shape: dict[str, list[_Cell]] = {}
        for cell in cells:
            by_shape.setdefault(cell.shape, []).append(cell)
        nodes = [c for c in cells if c.shape in ("process", "store")]
        if not nodes:
            raise input_error(
                self.path,
                "the model has no processes or stores, so there is nothing to import",
                "a nemecys model needs at least one component; draw the system's processes and stores first",
            )

        summary = self.root.get("summary")
        summary = summary if isinstance(summary, dict) else {}
        name = one_line(text_value(summary.get("title"))) or self.path.stem
        system = placeholder_system(
            name=name,
            description=text_value(summary.get("description")),
            source_label=SOURCE_LABEL,
            warnings=self.warnings,
        )

        zones = self.convert_zones(by_shape.get("trust-boundary-box", []))
        self.allocate_element_ids(cells)
        boxes = by_shape.get("trust-boundary-box", [])
        flows, internet_facing, uses = self.convert_flows(by_shape.get("flow", []))
        components, assets, needs_default_zone = self.convert_components(
            nodes, boxes, internet_facing
        )
        if needs_default_zone:
            zones.append(
                {
                    "id": DEFAULT_ZONE_ID,
                    "name": "Outside any trust boundary",
                    "kind": ZoneKind.INTERNET.value,
                    "description": (
                        "Threat Dragon elements drawn outside every trust boundary box. The kind "
                        "internet assumes the least trust; change it if they run somewhere safer."
                    ),
                }
            )
        actors = self.convert_actors(by_shape.get("actor", []), uses)
        self.note_ignored(by_shape, cells)
        document = assemble(
            system=system,
            zones=zones,
            components=components,
            assets=assets,
            flows=flows,
            actors=actors,
        )
        return ImportResult(document=document, warnings=self.warnings, source_format=FORMAT)

    def convert_zones(self, boxes: list[_Cell]) -> list[dict[str, Any]]:
        allocator = ZoneIdAllocator(reserved={DEFAULT_ZONE_ID})
        zones: list[dict[str, Any]] = []
        guessed: list[str] = []
        for box in boxes:
            kind = guess_zone_kind(box.name)
            known = kind is not None
            kind = kind or ZoneKind.VENDOR_CLOUD
            zone_id, declare = allocator.allocate(box.name or "", "trust-boundary", kind)
            self.zone_of_box[box.ident] = zone_id
            if not known:
                guessed.append(zone_id)
            if declare:
                zones.append(
                    compact(
                        {
                            "id": zone_id,
                            "name": one_line(box.name),
                            "kind": kind.value,
                            "description": text_value(box.data.get("description")),
                        }
                    )
                )
        if guessed:
            self.warnings.append(
                "The label of these trust boundary boxes does not say where they are, so their "
                f"zones got kind 'vendor_cloud': {format_ids(guessed)}. Set the right kind."
            )
        return zones

    def allocate_element_ids(self, cells: list[_Cell]) -> None:
        # Components and actors share one namespace: a flow endpoint may name either.
        allocator = IdAllocator()
        for cell in cells:
            if cell.shape in ("process", "store"):
                self.element_ids[cell.ident] = allocator.allocate(cell.name or "", cell.shape)
                self.component_cells.add(cell.ident)
            elif cell.shape == "actor":
                self.element_ids[cell.ident] = allocator.allocate(cell.name or "", "actor")
                self.actor_cells.add(cell.ident)

    def convert_components(
        self, nodes: list[_Cell], boxes: list[_Cell], internet_facing: set[str]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
        components: list[dict[str, Any]] = []
        default_kind: list[str] = []
        unboxed: list[str] = []
        out_of_scope: list[str] = []
        credential_stores: list[str] = []
        log_stores: list[str] = []
        for cell in nodes:
            component_id = self.element_ids[cell.ident]
            zone = self.zone_for(cell, boxes)
            if zone is None:
                zone = DEFAULT_ZONE_ID
                unboxed.append(component_id)
            kind = self.component_kind(cell)
            if kind is None:
                kind = ComponentKind.CLOUD_SERVICE
                default_kind.append(component_id)
            component: dict[str, Any] = {
                "id": component_id,
                "name": one_line(cell.name),
                "kind": kind.value,
                "zone": zone,
                "description": text_value(cell.data.get("description")),
                "internet_facing": True if component_id in internet_facing else None,
            }
            if cell.shape == "store":
                stores: list[str] = []
                if cell.data.get("storesCredentials") is True:
                    stores.append("credentials")
                    credential_stores.append(component_id)
                if cell.data.get("isALog") is True:
                    stores.append("logs")
                    log_stores.append(component_id)
                component["stores"] = stores
            if cell.data.get("outOfScope") is True:
                out_of_scope.append(component_id)
                component["out_of_scope"] = True
                component["out_of_scope_rationale"] = text_value(
                    cell.data.get("reasonOutOfScope")
                ) or ("Marked out of scope in Threat Dragon without a reason.")
            components.append(compact(component))

        assets: list[dict[str, Any]] = []
        if credential_stores:
            assets.append(
                _flag_asset(
                    "credentials", "Credentials", AssetKind.CREDENTIALS, "storesCredentials"
                )
            )
        if log_stores:
            assets.append(_flag_asset("logs", "Logs", AssetKind.LOGS, "isALog"))

        if default_kind:
            self.warnings.append(
                "The kind of these processes could not be told from their names, so they became "
                f"'cloud_service': {format_ids(default_kind)}. Set the right kind."
            )
        if unboxed:
            self.warnings.append(
                f"Components outside every trust boundary box were placed in the zone "
                f"'{DEFAULT_ZONE_ID}' (kind internet): {format_ids(unboxed)}."
            )
        if out_of_scope:
            self.warnings.append(
                "Components out of scope in Threat Dragon stay out of scope, so nemecys raises no "
                f"threats against them: {format_ids(out_of_scope)}."
            )
        return components, assets, bool(unboxed)

    def component_kind(self, cell: _Cell) -> ComponentKind | None:
        if cell.shape == "store":
            return ComponentKind.DATABASE
        if cell.data.get("isWebApplication") is True:
            return ComponentKind.WEB_APP
        return guess_component_kind(cell.name)

    def zone_for(self, cell: _Cell, boxes: list[_Cell]) -> str | None:
        parent = text_value(cell.raw.get("parent"))
        if parent in self.zone_of_box:
            return self.zone_of_box[parent]
        if cell.rect is None:
            return None
        cx = cell.rect.x + cell.rect.width / 2
        cy = cell.rect.y + cell.rect.height / 2
        containing = [
            box
            for box in boxes
            if box.diagram == cell.diagram and box.rect is not None and box.rect.contains(cx, cy)
        ]
        if not containing:
            return None
        # Boxes may nest, and the smallest containing box is the innermost one.
        innermost = min(containing, key=lambda box: box.rect.area if box.rect else math.inf)
        return self.zone_of_box[innermost.ident]

    def convert_flows(
        self, cells: list[_Cell]
    ) -> tuple[list[dict[str, Any]], set[str], dict[str, list[str]]]:
        allocator = IdAllocator()
        flows: list[dict[str, Any]] = []
        internet_facing: set[str] = set()
        uses: dict[str, list[str]] = {}
        dangling: list[str] = []
        self_loops: list[str] = []
        unknown_protocol: list[str] = []
        out_of_scope: list[str] = []
        for cell in cells:
            label = one_line(cell.name) or cell.ident
            source = self.endpoint(cell.raw.get("source"))
            destination = self.endpoint(cell.raw.get("target"))
            if source is None or destination is None:
                dangling.append(label)
                continue
            source_id = self.element_ids[source]
            destination_id = self.element_ids[destination]
            if source_id == destination_id:
                self_loops.append(label)
                continue

            flow_id = allocator.allocate(cell.name or "", f"{source_id}-to-{destination_id}")
            protocol_text = text_value(cell.data.get("protocol"))
            guess = guess_protocol(protocol_text) or guess_protocol(cell.name)
            if guess is None:
                unknown_protocol.append(flow_id)
            protocol = guess.protocol if guess else Protocol.PROPRIETARY
            encrypted = cell.data.get("isEncrypted") is True or (
                guess is not None and guess.encrypted
            )
            if guess is None:
                encrypted = (
                    encrypted
                    or mentions_encryption(protocol_text)
                    or mentions_encryption(cell.name)
                )
            bidirectional = cell.data.get("isBidirectional") is True
            flows.append(
                compact(
                    {
                        "id": flow_id,
                        "name": one_line(cell.name),
                        "source": source_id,
                        "destination": destination_id,
                        "protocol": protocol.value,
                        "encryption": _encryption(protocol, encrypted).value,
                        "bidirectional": True if bidirectional else None,
                        "description": text_value(cell.data.get("description")),
                    }
                )
            )

            if cell.data.get("isPublicNetwork") is True:
                receivers = [destination, source] if bidirectional else [destination]
                internet_facing.update(
                    self.element_ids[c] for c in receivers if c in self.component_cells
                )
            if cell.data.get("outOfScope") is True:
                out_of_scope.append(flow_id)
            for actor, other in ((source, destination), (destination, source)):
                if actor in self.actor_cells and other in self.component_cells:
                    used = uses.setdefault(self.element_ids[actor], [])
                    if self.element_ids[other] not in used:
                        used.append(self.element_ids[other])

        self.note_flow_problems(dangling, self_loops, unknown_protocol, out_of_scope)
        return flows, internet_facing, uses

    def note_flow_problems(
        self,
        dangling: list[str],
        self_loops: list[str],
        unknown_protocol: list[str],
        out_of_scope: list[str],
    ) -> None:
        if dangling:
            self.warnings.append(
                "Flows not connected to a process, store or actor at both ends were not imported: "
                f"{format_ids(dangling)}. Connect both ends in Threat Dragon."
            )
        if self_loops:
            self.warnings.append(
                f"Flows from an element to itself were not imported: {format_ids(self_loops)}."
            )
        if unknown_protocol:
            self.warnings.append(
                f"No protocol could be recognised for {plural(len(unknown_protocol), 'flow')}, "
                f"so they use 'proprietary': {format_ids(unknown_protocol)}. Set the real protocols."
            )
        if out_of_scope:
            self.warnings.append(
                "Flows out of scope in Threat Dragon were imported anyway, because nemecys flows "
                f"have no out-of-scope flag: {format_ids(out_of_scope)}."
            )

    def endpoint(self, end: Any) -> str | None:
        """Return the cell id a flow end is attached to, if it is a process, store or actor."""
        if not isinstance(end, dict):
            return None
        cell = text_value(end.get("cell"))
        return cell if cell in self.element_ids else None

    def convert_actors(
        self, cells: list[_Cell], uses: dict[str, list[str]]
    ) -> list[dict[str, Any]]:
        actors: list[dict[str, Any]] = []
        for cell in cells:
            actor_id = self.element_ids[cell.ident]
            actors.append(
                compact(
                    {
                        "id": actor_id,
                        "name": one_line(cell.name),
                        "kind": guess_actor_kind(cell.name).value,
                        "uses": uses.get(actor_id, []),
                        "description": text_value(cell.data.get("description")),
                    }
                )
            )
        return actors

    def note_ignored(self, by_shape: dict[str, list[_Cell]], cells: list[_Cell]) -> None:
        curves = len(by_shape.get("trust-boundary-curve", []))
        if curves:
            self.warnings.append(
                f"{plural(curves, 'trust boundary curve')} not imported: a curve marks a crossing "
                "but encloses nothing, so it cannot become a zone. Draw trust boundary boxes, or "
                "set the components' zones by hand."
            )
        unknown = sorted(
            {cell.shape or "(none)" for cell in cells if cell.shape not in _KNOWN_SHAPES}
        )
        if unknown:
            self.warnings.append(f"Cells of unknown shape were ignored: {', '.join(unknown)}.")
        threats = 0
        open_threats = 0
        elements = 0
        for cell in cells:
            recorded = cell.data.get("threats")
            if isinstance(recorded, list) and recorded:
                elements += 1
                threats += len(recorded)
                open_threats += sum(
                    1
                    for t in recorded
                    if isinstance(t, dict) and str(t.get("status", "")).lower() == "open"
                )
        if threats:
            self.warnings.append(
                f"The file records {plural(threats, 'threat')} ({open_threats} open) on "
                f"{plural(elements, 'element')}. They were not imported, because nemecys derives "
                "its own threats from the model; compare them with the threats nemecys lists."
            )


def _cell_name(raw: dict[str, Any], data: dict[str, Any]) -> str | None:
    name = text_value(data.get("name"))
    if name:
        return name
    attrs = raw.get("attrs")
    if isinstance(attrs, dict):
        for key in ("text", "label"):
            part = attrs.get(key)
            if isinstance(part, dict) and text_value(part.get("text")):
                return text_value(part.get("text"))
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _rect(raw: dict[str, Any]) -> _Rect | None:
    position = raw.get("position")
    size = raw.get("size")
    if not isinstance(position, dict) or not isinstance(size, dict):
        return None
    x, y = _number(position.get("x")), _number(position.get("y"))
    width, height = _number(size.get("width")), _number(size.get("height"))
    if x is None or y is None or width is None or height is None or width < 0 or height < 0:
        return None
    return _Rect(x, y, width, height)


def _encryption(protocol: Protocol, encrypted: bool) -> Encryption:
    if not encrypted:
        return Encryption.NONE
    return Encryption.BLE_LINK if protocol is Protocol.BLE_GATT else Encryption.TLS


def _flag_asset(ident: str, name: str, kind: AssetKind, flag: str) -> dict[str, Any]:
    return {
        "id": ident,
        "name": name,
        "kind": kind.value,
        "description": f"Added because Threat Dragon stores are flagged '{flag}'.",
        "confidentiality": Level.HIGH.value
        if kind is AssetKind.CREDENTIALS
        else Level.MEDIUM.value,
    }
