"""Import an Open Threat Model (OTM 0.x, JSON or YAML) document as a nemecys model.

Mapping:

- trust zones become zones. The kind is guessed from the zone name. When the name gives no
  hint, a `trustRating` of 20 or less gives `internet` and any other rating `vendor_cloud`, with
  a warning.
- components become components in the zone of their `parent.trustZone`, or of their parent
  component. The kind is guessed from the name, then from the OTM `type`, and falls back to
  `cloud_service` with a warning. `assets.stored` becomes `stores` and `tags` carry over.
  Components with no zone go to the declared zone `outside-trust-zones` of kind `internet`.
- dataflows become flows. OTM has no protocol field, so the protocol is recognised in the name
  and tags, else it is `proprietary`; encryption is `tls` only when they name an encrypted
  protocol, else `unknown`. `assets` become the flow's data and `bidirectional` carries over.
- assets become data assets, with kind `other` and OTM's 0-100 risk values mapped in thirds:
  0→none, 1-33→low, 34-66→medium, 67-100→high.

Not imported: threats, mitigations and representations; the threat count is reported in a
warning, because nemecys derives its own threats. OTM has no clinical functions and no
intended use, so placeholders are added.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nemecys.importers._common import (
    IdAllocator,
    ImportResult,
    ZoneIdAllocator,
    assemble,
    compact,
    format_ids,
    guess_component_kind,
    guess_protocol,
    guess_zone_kind,
    input_error,
    one_line,
    placeholder_system,
    plural,
    text_value,
    type_name,
)
from nemecys.model.schema import AssetKind, ComponentKind, Encryption, Level, Protocol, ZoneKind

FORMAT = "otm"
SOURCE_LABEL = "OTM"
DEFAULT_ZONE_ID = "outside-trust-zones"
UNTRUSTED_RATING = 20  # trust ratings at or below this are treated as the internet


def looks_like(data: Any) -> bool:
    """Return whether parsed content carries OTM's `otmVersion` key."""
    return isinstance(data, dict) and "otmVersion" in data


def convert(path: Path, root: Any) -> ImportResult:
    """Convert a parsed OTM document into a nemecys document."""
    return _Converter(path, root).run()


class _Converter:
    def __init__(self, path: Path, root: Any) -> None:
        if not looks_like(root):
            raise input_error(path, "not an OTM document: 'otmVersion' is missing")
        self.path = path
        self.root: dict[str, Any] = root
        self.warnings: list[str] = []
        self.zone_ids: dict[str, str] = {}
        self.component_ids: dict[str, str] = {}
        self.asset_ids: dict[str, str] = {}

    def section(self, key: str) -> list[dict[str, Any]]:
        value = self.root.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise input_error(self.path, f"'{key}' is a {type_name(value)}, expected a list")
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise input_error(
                    self.path, f"{key}[{index}] is a {type_name(item)}, expected an object"
                )
            ident = text_value(item.get("id"))
            if ident is None:
                raise input_error(
                    self.path, f"{key}[{index}] has no 'id'", "give every element a unique id"
                )
            if ident in seen:
                raise input_error(
                    self.path,
                    f"'{key}' contains the id '{ident}' twice",
                    "give every element a unique id",
                )
            seen.add(ident)
            items.append(item)
        return items

    def run(self) -> ImportResult:
        project = self.root.get("project")
        project = project if isinstance(project, dict) else {}
        system = placeholder_system(
            name=one_line(text_value(project.get("name"))) or self.path.stem,
            description=text_value(project.get("description")),
            source_label=SOURCE_LABEL,
            warnings=self.warnings,
        )
        assets = self.convert_assets()
        zones = self.convert_zones()
        components, needs_default_zone = self.convert_components()
        if needs_default_zone:
            zones.append(
                {
                    "id": DEFAULT_ZONE_ID,
                    "name": "Outside any trust zone",
                    "kind": ZoneKind.INTERNET.value,
                    "description": (
                        "OTM components without a trust zone. The kind internet assumes the least "
                        "trust; change it if they run somewhere safer."
                    ),
                }
            )
        flows = self.convert_flows()
        self.note_threats()
        document = assemble(
            system=system, zones=zones, components=components, assets=assets, flows=flows, actors=[]
        )
        return ImportResult(document=document, warnings=self.warnings, source_format=FORMAT)

    def convert_assets(self) -> list[dict[str, Any]]:
        allocator = IdAllocator()
        assets: list[dict[str, Any]] = []
        for item in self.section("assets"):
            ident = str(text_value(item.get("id")))
            asset_id = allocator.allocate(text_value(item.get("name")) or ident, ident)
            self.asset_ids[ident] = asset_id
            risk = _mapping(item.get("risk"))
            assets.append(
                compact(
                    {
                        "id": asset_id,
                        "name": one_line(text_value(item.get("name"))),
                        "kind": AssetKind.OTHER.value,
                        "description": text_value(item.get("description")),
                        "confidentiality": _level(risk.get("confidentiality")),
                        "integrity": _level(risk.get("integrity")),
                        "availability": _level(risk.get("availability")),
                    }
                )
            )
        if assets:
            self.warnings.append(
                f"OTM assets have no kind, so {plural(len(assets), 'data asset')} got kind 'other': "
                f"{format_ids([a['id'] for a in assets])}. Set the right kind (phi, "
                "therapy_commands, firmware ...), because rules select assets by kind."
            )
        return assets

    def convert_zones(self) -> list[dict[str, Any]]:
        allocator = ZoneIdAllocator(reserved={DEFAULT_ZONE_ID})
        zones: list[dict[str, Any]] = []
        guessed: list[str] = []
        for item in self.section("trustZones"):
            ident = str(text_value(item.get("id")))
            name = one_line(text_value(item.get("name")))
            kind = guess_zone_kind(name)
            known = kind is not None
            kind = kind or _kind_from_rating(item.get("risk"))
            zone_id, declare = allocator.allocate(name or ident, "trust-zone", kind)
            self.zone_ids[ident] = zone_id
            if not known:
                guessed.append(f"{zone_id} -> {kind.value}")
            if declare:
                zones.append(
                    compact(
                        {
                            "id": zone_id,
                            "name": name,
                            "kind": kind.value,
                            "description": text_value(item.get("description")),
                        }
                    )
                )
        if guessed:
            self.warnings.append(
                "These trust zone names do not say where the zone is, so the kind follows the "
                f"trust rating: {'; '.join(guessed)}. Check them."
            )
        return zones

    def convert_components(self) -> tuple[list[dict[str, Any]], bool]:
        items = self.section("components")
        if not items:
            raise input_error(
                self.path,
                "the model has no components, so there is nothing to import",
                "a nemecys model needs at least one component",
            )
        allocator = IdAllocator()
        parents: dict[str, dict[str, Any]] = {}
        for item in items:
            ident = str(text_value(item.get("id")))
            self.component_ids[ident] = allocator.allocate(
                text_value(item.get("name")) or ident, ident
            )
            parent = item.get("parent")
            parents[ident] = parent if isinstance(parent, dict) else {}

        components: list[dict[str, Any]] = []
        unzoned: list[str] = []
        default_kind: list[str] = []
        for item in items:
            ident = str(text_value(item.get("id")))
            component_id = self.component_ids[ident]
            zone = self.zone_of(ident, parents)
            if zone is None:
                zone = DEFAULT_ZONE_ID
                unzoned.append(component_id)
            name = one_line(text_value(item.get("name")))
            kind = guess_component_kind(name) or guess_component_kind(text_value(item.get("type")))
            if kind is None:
                kind = ComponentKind.CLOUD_SERVICE
                default_kind.append(component_id)
            stored = _mapping(item.get("assets")).get("stored")
            tags = _list(item.get("tags"))
            components.append(
                compact(
                    {
                        "id": component_id,
                        "name": name,
                        "kind": kind.value,
                        "zone": zone,
                        "description": text_value(item.get("description")),
                        "stores": self.asset_refs(stored, component_id),
                        "tags": [t for t in (text_value(tag) for tag in tags) if t],
                    }
                )
            )
        if unzoned:
            self.warnings.append(
                f"Components without a trust zone were placed in the zone '{DEFAULT_ZONE_ID}' "
                f"(kind internet): {format_ids(unzoned)}."
            )
        if default_kind:
            self.warnings.append(
                "The kind of these components could not be told from their name or OTM type, so "
                f"they became 'cloud_service': {format_ids(default_kind)}. Set the right kind."
            )
        return components, bool(unzoned)

    def zone_of(self, ident: str, parents: dict[str, dict[str, Any]]) -> str | None:
        """Follow parent components up to the first one placed in a trust zone."""
        visited: set[str] = set()
        current: str | None = ident
        while current is not None and current not in visited:
            visited.add(current)
            parent = parents.get(current, {})
            zone = text_value(parent.get("trustZone"))
            if zone is not None:
                return self.zone_ids.get(zone)
            current = text_value(parent.get("component"))
        return None

    def asset_refs(self, value: Any, owner: str) -> list[str]:
        if not isinstance(value, list):
            return []
        refs: list[str] = []
        for item in value:
            ident = text_value(item)
            mapped = self.asset_ids.get(ident or "")
            if mapped is None:
                self.warnings.append(
                    f"'{owner}' names the unknown asset '{ident}'; it was left out."
                )
            elif mapped not in refs:
                refs.append(mapped)
        return refs

    def convert_flows(self) -> list[dict[str, Any]]:
        allocator = IdAllocator()
        flows: list[dict[str, Any]] = []
        skipped: list[str] = []
        unknown_protocol: list[str] = []
        for item in self.section("dataflows"):
            ident = str(text_value(item.get("id")))
            source = self.component_ids.get(text_value(item.get("source")) or "")
            destination = self.component_ids.get(text_value(item.get("destination")) or "")
            if source is None or destination is None or source == destination:
                skipped.append(ident)
                continue
            name = one_line(text_value(item.get("name")))
            flow_id = allocator.allocate(name or ident, f"{source}-to-{destination}")
            tags = _list(item.get("tags"))
            text = " ".join([name or "", *(t for t in (text_value(tag) for tag in tags) if t)])
            guess = guess_protocol(text)
            if guess is None:
                unknown_protocol.append(flow_id)
            flows.append(
                compact(
                    {
                        "id": flow_id,
                        "name": name,
                        "source": source,
                        "destination": destination,
                        "protocol": (guess.protocol if guess else Protocol.PROPRIETARY).value,
                        "encryption": (
                            Encryption.TLS if guess and guess.encrypted else Encryption.UNKNOWN
                        ).value,
                        "data": self.asset_refs(item.get("assets"), flow_id),
                        "bidirectional": True if item.get("bidirectional") is True else None,
                        "description": text_value(item.get("description")),
                    }
                )
            )
        if skipped:
            self.warnings.append(
                "Dataflows that do not connect two different components were not imported: "
                f"{format_ids(skipped)}."
            )
        if unknown_protocol:
            self.warnings.append(
                f"OTM dataflows carry no protocol and none was recognised in the names or tags of "
                f"{plural(len(unknown_protocol), 'flow')}, so they use 'proprietary': "
                f"{format_ids(unknown_protocol)}. Set the real protocols."
            )
        return flows

    def note_threats(self) -> None:
        threats = self.root.get("threats")
        mitigations = self.root.get("mitigations")
        counted = [
            plural(len(value), noun)
            for value, noun in ((threats, "threat"), (mitigations, "mitigation"))
            if isinstance(value, list) and value
        ]
        if counted:
            self.warnings.append(
                f"Not imported: {' and '.join(counted)}. Nemecys derives its own threats from "
                "the model; record controls again under 'controls:'."
            )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _level(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value <= 0:
        return Level.NONE.value
    if value <= 33:
        return Level.LOW.value
    if value <= 66:
        return Level.MEDIUM.value
    return Level.HIGH.value


def _kind_from_rating(risk: Any) -> ZoneKind:
    rating = risk.get("trustRating") if isinstance(risk, dict) else None
    if (
        isinstance(rating, int | float)
        and not isinstance(rating, bool)
        and rating <= UNTRUSTED_RATING
    ):
        return ZoneKind.INTERNET
    return ZoneKind.VENDOR_CLOUD
