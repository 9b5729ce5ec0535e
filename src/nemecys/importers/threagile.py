"""Import a Threagile YAML model (format 1.0, with `includes:`) as a nemecys model.

Mapping:

- technical assets become components. The kind comes from `technology` (a table below), or from
  `type` when the technology is unknown; a `datastore` is always a database. `internet: true`
  sets `internet_facing`, `custom_developed_parts: false` sets `software.third_party`,
  `data_assets_stored` becomes `stores`, and out-of-scope assets keep their justification.
- each trust boundary becomes a declared zone. Cloud and dedicated-hoster boundaries are
  `vendor_cloud`, `network-on-prem` is `hospital_network`, and other types (VLAN, namespace,
  execution environment) take the kind of the boundary they are nested in, else a guess from the
  name. A component sits in the boundary that lists it in `technical_assets_inside`; components
  in no boundary go to the standard `internet` zone. Nemecys zones are flat, so nesting is kept
  only as a sentence in the zone description.
- communication links become flows. Protocols map to the nearest `Protocol` value; those with
  none (LDAP, JMS, IMAP and others) become `proprietary` with a warning. Encrypted protocol
  variants give encryption `tls`, and so do SSH-based ones (ssh, sftp, scp), because `tls` is the
  schema's value for an encrypted transport. `vpn: true` on an unencrypted link gives `vpn`.
  `data_assets_sent` and `data_assets_received` together become the flow's data, and a link that
  receives data is bidirectional.
- data assets become assets. Confidentiality maps public→none, internal→low,
  restricted→medium, confidential and strictly-confidential→high. Integrity and availability
  map archive and operational→low, important→medium, critical and mission-critical→high. The
  asset kind is guessed from the name (credentials, logs, configuration, health data); others
  become `other` with a warning.

Not imported: risk tracking, individual risk categories, abuse cases, security requirements,
questions, shared runtimes, authorization, data formats and at-rest encryption. Threagile has
no clinical functions and no intended use, so placeholders are added (see `placeholder_system`).

Threagile sections are maps, so components, assets, zones and flows are emitted sorted by their
Threagile id (links by title). The result is therefore the same however the model is split over
includes. Includes are read relative to the including file, must stay inside the folder of the
main model file, and are limited in depth, count and total size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nemecys.importers._common import (
    MAX_INPUT_BYTES,
    STANDARD_ZONE_IDS,
    IdAllocator,
    ImportResult,
    assemble,
    compact,
    format_ids,
    input_error,
    parse_yaml,
    placeholder_system,
    plural,
    read_input,
    text_value,
    type_name,
)
from nemecys.importers._common import guess_zone_kind as _guess_zone_kind_from_name
from nemecys.model.schema import (
    AssetKind,
    Authentication,
    ComponentKind,
    Encryption,
    Level,
    Protocol,
    ZoneKind,
)

FORMAT = "threagile"
SOURCE_LABEL = "Threagile"

MAX_INCLUDE_DEPTH = 16
MAX_INCLUDED_FILES = 256

# Sections whose entries are keyed by title. An include adds entries, and an entry defined
# again is merged into the first definition.
_MAP_SECTIONS = (
    "data_assets",
    "technical_assets",
    "trust_boundaries",
    "shared_runtimes",
    "individual_risk_categories",
    "risk_tracking",
    "questions",
    "abuse_cases",
    "security_requirements",
)
_LIST_SECTIONS = ("tags_available", "custom_risk_categories")

# --- mapping tables ---------------------------------------------------------------------------

_TECHNOLOGY_KINDS: dict[str, ComponentKind] = {
    "browser": ComponentKind.WEB_APP,
    "web-server": ComponentKind.WEB_APP,
    "web-application": ComponentKind.WEB_APP,
    "cms": ComponentKind.WEB_APP,
    "desktop": ComponentKind.DESKTOP_APP,
    "client-system": ComponentKind.DESKTOP_APP,
    "devops-client": ComponentKind.DESKTOP_APP,
    "tool": ComponentKind.DESKTOP_APP,
    "cli": ComponentKind.DESKTOP_APP,
    "mobile-app": ComponentKind.MOBILE_APP,
    "iot-device": ComponentKind.DEVICE,
    "database": ComponentKind.DATABASE,
    "identity-store-database": ComponentKind.DATABASE,
    "identity-store-ldap": ComponentKind.DATABASE,
    "file-server": ComponentKind.DATABASE,
    "local-file-system": ComponentKind.DATABASE,
    "data-lake": ComponentKind.DATABASE,
    "big-data-platform": ComponentKind.DATABASE,
    "block-storage": ComponentKind.DATABASE,
    "search-index": ComponentKind.DATABASE,
    "load-balancer": ComponentKind.GATEWAY,
    "reverse-proxy": ComponentKind.GATEWAY,
    "gateway": ComponentKind.GATEWAY,
    "waf": ComponentKind.GATEWAY,
    "service-mesh": ComponentKind.GATEWAY,
    "ids": ComponentKind.GATEWAY,
    "ips": ComponentKind.GATEWAY,
}
# Threagile technologies that are server-side software; all become cloud services.
_SERVER_TECHNOLOGIES = frozenset(
    {
        "application-server",
        "erp",
        "web-service-rest",
        "web-service-soap",
        "ejb",
        "search-engine",
        "service-registry",
        "build-pipeline",
        "sourcecode-repository",
        "artifact-registry",
        "code-inspection-platform",
        "monitoring",
        "ldap-server",
        "container-platform",
        "batch-processing",
        "event-listener",
        "identity-provider",
        "task",
        "function",
        "message-queue",
        "stream-processing",
        "report-engine",
        "ai",
        "mail-server",
        "vault",
        "hsm",
        "scheduler",
        "mainframe",
        "library",
    }
)

_BOUNDARY_KINDS: dict[str, ZoneKind | None] = {
    "network-on-prem": ZoneKind.HOSPITAL_NETWORK,
    "network-dedicated-hoster": ZoneKind.VENDOR_CLOUD,
    "network-cloud-provider": ZoneKind.VENDOR_CLOUD,
    "network-cloud-security-group": ZoneKind.VENDOR_CLOUD,
    # These types describe how a boundary separates, not where it is, so nesting or the name decides.
    "network-virtual-lan": None,
    "network-policy-namespace-isolation": None,
    "execution-environment": None,
}
# Kind used for the types above when neither a parent boundary nor the name gives one.
_BOUNDARY_DEFAULT_KINDS: dict[str, ZoneKind] = {
    "network-virtual-lan": ZoneKind.HOSPITAL_NETWORK,
    "network-policy-namespace-isolation": ZoneKind.VENDOR_CLOUD,
    "execution-environment": ZoneKind.VENDOR_CLOUD,
}

# Threagile protocol → (nemecys protocol, encrypted by the protocol itself or None if unknown).
_PROTOCOLS: dict[str, tuple[Protocol, bool | None]] = {
    "unknown-protocol": (Protocol.PROPRIETARY, None),
    "http": (Protocol.HTTP, False),
    "https": (Protocol.HTTPS, True),
    "ws": (Protocol.WEBSOCKET, False),
    "wss": (Protocol.WEBSOCKET, True),
    "reverse-proxy-web-protocol": (Protocol.HTTP, False),
    "reverse-proxy-web-protocol-encrypted": (Protocol.HTTPS, True),
    "mqtt": (Protocol.MQTT, False),
    "jdbc": (Protocol.SQL, False),
    "jdbc-encrypted": (Protocol.SQL, True),
    "odbc": (Protocol.SQL, False),
    "odbc-encrypted": (Protocol.SQL, True),
    "sql-access-protocol": (Protocol.SQL, False),
    "sql-access-protocol-encrypted": (Protocol.SQL, True),
    "ssh": (Protocol.SSH, True),
    "ssh-tunnel": (Protocol.SSH, True),
    "smtp": (Protocol.SMTP, False),
    "smtp-encrypted": (Protocol.SMTP, True),
    "ftp": (Protocol.FILE_TRANSFER, False),
    "ftps": (Protocol.FILE_TRANSFER, True),
    "sftp": (Protocol.FILE_TRANSFER, True),
    "scp": (Protocol.FILE_TRANSFER, True),
    "nfs": (Protocol.FILE_TRANSFER, False),
    "smb": (Protocol.FILE_TRANSFER, False),
    "smb-encrypted": (Protocol.FILE_TRANSFER, True),
    "local-file-access": (Protocol.FILE_TRANSFER, False),
}
# Threagile protocols without a nemecys equivalent, imported as `proprietary`, and whether each
# is encrypted.
_PROPRIETARY_PROTOCOLS: dict[str, bool] = {
    "nosql-access-protocol": False,
    "nosql-access-protocol-encrypted": True,
    "binary": False,
    "binary-encrypted": True,
    "text": False,
    "text-encrypted": True,
    "pop3": False,
    "pop3-encrypted": True,
    "imap": False,
    "imap-encrypted": True,
    "ldap": False,
    "ldaps": True,
    "jms": False,
    "nrpe": False,
    "xmpp": False,
    "iiop": False,
    "iiop-encrypted": True,
    "jrmp": False,
    "jrmp-encrypted": True,
    "in-process-library-call": False,
    "inter-process-communication": False,
    "container-spawning": False,
}
_SSH_BASED = frozenset({"ssh", "ssh-tunnel", "sftp", "scp"})

_AUTHENTICATION: dict[str, Authentication] = {
    "none": Authentication.NONE,
    "credentials": Authentication.PASSWORD,
    "session-id": Authentication.TOKEN,
    "token": Authentication.TOKEN,
    "client-certificate": Authentication.CERTIFICATE,
    "two-factor": Authentication.MULTI_FACTOR,
}

_CONFIDENTIALITY: dict[str, Level] = {
    "public": Level.NONE,
    "internal": Level.LOW,
    "restricted": Level.MEDIUM,
    "confidential": Level.HIGH,
    "strictly-confidential": Level.HIGH,
}
_CRITICALITY: dict[str, Level] = {
    "archive": Level.LOW,
    "operational": Level.LOW,
    "important": Level.MEDIUM,
    "critical": Level.HIGH,
    "mission-critical": Level.HIGH,
}

# Whole words in a data asset's id or title; the first matching row wins.
_ASSET_KIND_WORDS: tuple[tuple[frozenset[str], AssetKind], ...] = (
    (
        frozenset(
            {
                "patient",
                "patients",
                "health",
                "medical",
                "clinical",
                "phi",
                "diagnosis",
                "diagnoses",
            }
        ),
        AssetKind.PHI,
    ),
    (
        frozenset(
            {
                "credential",
                "credentials",
                "password",
                "passwords",
                "account",
                "accounts",
                "secret",
                "secrets",
                "token",
                "tokens",
                "key",
                "keys",
                "certificate",
                "certificates",
            }
        ),
        AssetKind.CREDENTIALS,
    ),
    (frozenset({"log", "logs", "logging", "audit"}), AssetKind.LOGS),
    (
        frozenset(
            {"config", "configuration", "customizing", "customising", "customization", "settings"}
        ),
        AssetKind.CONFIGURATION,
    ),
    (frozenset({"firmware"}), AssetKind.FIRMWARE),
    (frozenset({"image", "images", "dicom"}), AssetKind.IMAGES),
)


def looks_like(data: Any) -> bool:
    """Return whether parsed YAML has the top-level keys of a Threagile model."""
    return isinstance(data, dict) and ("threagile_version" in data or "technical_assets" in data)


# --- reading and merging includes -------------------------------------------------------------


@dataclass
class _Merged:
    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[tuple[str, str], Path] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    total_bytes: int = 0
    warnings: list[str] = field(default_factory=list)


def _merge_file(
    path: Path, data: Any, merged: _Merged, chain: tuple[Path, ...], root_dir: Path
) -> None:
    if data is None:
        data = {}  # a file of comments only, such as an unused diagram_tweak.yaml
    if not isinstance(data, dict):
        raise input_error(
            path,
            f"top level is a {type_name(data)}, expected a mapping",
            "a Threagile file maps keys such as 'technical_assets'",
        )
    merged.files.append(path)

    for key, value in data.items():
        section = str(key)
        if section == "includes":
            continue
        if section in _MAP_SECTIONS:
            _merge_map_section(path, section, value, merged)
        elif section in _LIST_SECTIONS:
            if isinstance(value, list):
                merged.data.setdefault(section, []).extend(value)
        elif section not in merged.data:
            merged.data[section] = value
        elif merged.data[section] != value:
            merged.warnings.append(
                f"'{section}' is defined differently in more than one file; the import kept the "
                f"first value and ignored the one in {path.name}."
            )

    includes = data.get("includes")
    if includes is None:
        return
    if not isinstance(includes, list) or not all(isinstance(item, str) for item in includes):
        raise input_error(
            path, "'includes' must be a list of file paths", "write one relative path per list item"
        )
    for include in includes:
        _merge_include(path, include, merged, chain, root_dir)


def _merge_map_section(path: Path, section: str, value: Any, merged: _Merged) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise input_error(
            path,
            f"'{section}' is a {type_name(value)}, expected a mapping of titles to entries",
            "indent each entry under its title",
        )
    target = merged.data.setdefault(section, {})
    for raw_title, entry in value.items():
        title = str(raw_title)
        if title not in target:
            target[title] = entry
            merged.origins[(section, title)] = path
            continue
        # Like Threagile, an entry defined again is merged into the first definition.
        first = merged.origins[(section, title)]
        target[title] = _merge_values(
            target[title], entry, f"{section} entry '{title}'", first, path
        )


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _merge_values(first: Any, second: Any, where: str, first_file: Path, second_file: Path) -> Any:
    """Merge two definitions of one entry: lists unite, mappings merge, scalars must agree."""
    if first == second or _is_empty(second):
        return first
    if _is_empty(first):
        return second
    if isinstance(first, bool) and isinstance(second, bool):
        return first or second
    if isinstance(first, list) and isinstance(second, list):
        return first + [item for item in second if item not in first]
    if isinstance(first, dict) and isinstance(second, dict):
        result = dict(first)
        for key, value in second.items():
            if key in result:
                result[key] = _merge_values(
                    result[key], value, f"{where}, key '{key}'", first_file, second_file
                )
            else:
                result[key] = value
        return result
    raise input_error(
        second_file,
        f"{where} is defined in {first_file} as {_shorten(first)} and here as {_shorten(second)}",
        "make the definitions agree or keep only one",
    )


def _shorten(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _merge_include(
    path: Path, include: str, merged: _Merged, chain: tuple[Path, ...], root_dir: Path
) -> None:
    target = (path.parent / include).resolve()
    if target in chain:
        loop = " -> ".join(p.name for p in (*chain, target))
        raise input_error(
            path, f"include cycle: {loop}", f"remove the include of '{include}' that loops back"
        )
    if target in merged.files:
        return  # merged already through another include; merging it again changes nothing
    if not target.is_relative_to(root_dir):
        raise input_error(
            path,
            f"include '{include}' resolves to {target}, outside the model folder {root_dir}",
            "copy the file into the model folder; the importer reads no files outside it",
        )
    if len(chain) >= MAX_INCLUDE_DEPTH:
        raise input_error(
            path, f"includes nest deeper than {MAX_INCLUDE_DEPTH} levels at '{include}'"
        )
    if len(merged.files) >= MAX_INCLUDED_FILES:
        raise input_error(path, f"the model includes more than {MAX_INCLUDED_FILES} files")
    if not target.is_file():
        raise input_error(
            path, f"included file '{include}' not found", f"paths are relative to {path.parent}"
        )

    text = read_input(target)
    merged.total_bytes += len(text.encode("utf-8"))
    if merged.total_bytes > MAX_INPUT_BYTES:
        raise input_error(
            target,
            f"the model and its includes exceed the import limit of {MAX_INPUT_BYTES:,} bytes together",
            "remove unused includes or embedded data",
        )
    _merge_file(target, parse_yaml(text, target), merged, (*chain, target), root_dir)


def _load(path: Path, root: Any) -> _Merged:
    path = path.resolve()
    merged = _Merged(total_bytes=path.stat().st_size)
    _merge_file(path, root, merged, (path,), path.parent)
    return merged


# --- conversion -------------------------------------------------------------------------------


def convert(path: Path, root: Any) -> ImportResult:
    """Convert the parsed Threagile file at `path`, reading its includes, into a nemecys document."""
    merged = _load(path, root)
    converter = _Converter(path, merged)
    return converter.run()


@dataclass
class _Entry:
    title: str
    ident: str
    body: dict[str, Any]
    file: Path


class _Converter:
    def __init__(self, path: Path, merged: _Merged) -> None:
        self.path = path
        self.merged = merged
        self.data = merged.data
        self.warnings: list[str] = list(merged.warnings)
        self.asset_ids: dict[str, str] = {}
        self.component_ids: dict[str, str] = {}
        self.zone_ids: dict[str, str] = {}

    # --- shape checks ---

    def entries(self, section: str) -> list[_Entry]:
        """Return a map section's entries sorted by Threagile id, checking ids are unique."""
        result: list[_Entry] = []
        seen: dict[str, str] = {}
        for title, body in (self.data.get(section) or {}).items():
            file = self.merged.origins[(section, title)]
            if body is None:
                body = {}
            if not isinstance(body, dict):
                raise input_error(
                    file, f"{section} entry '{title}' is a {type_name(body)}, expected a mapping"
                )
            ident = text_value(body.get("id"))
            if ident is None:
                raise input_error(
                    file, f"{section} entry '{title}' has no 'id'", "add a unique 'id:' to it"
                )
            if ident in seen:
                raise input_error(
                    file,
                    f"{section} entries '{seen[ident]}' and '{title}' share the id '{ident}'",
                    "give each entry a unique id",
                )
            seen[ident] = title
            result.append(_Entry(title, ident, body, file))
        return sorted(result, key=lambda entry: (entry.ident, entry.title))

    def id_list(
        self, entry: _Entry, key: str, container: dict[str, Any] | None = None
    ) -> list[str]:
        value = (container if container is not None else entry.body).get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise input_error(
                entry.file,
                f"'{key}' of '{entry.title}' is a {type_name(value)}, expected a list of ids",
            )
        ids: list[str] = []
        for item in value:
            text = text_value(item)
            if text is None:
                raise input_error(
                    entry.file,
                    f"'{key}' of '{entry.title}' contains {type_name(item)}, expected ids",
                )
            ids.append(text)
        return ids

    # --- sections ---

    def run(self) -> ImportResult:
        title = text_value(self.data.get("title")) or self.path.stem
        system = placeholder_system(
            name=title,
            description=self.overview(),
            source_label=SOURCE_LABEL,
            warnings=self.warnings,
        )
        assets = self.convert_assets()
        boundary_of = self.assign_boundaries()
        zones = self.convert_zones()
        components = self.convert_components(boundary_of)
        flows = self.convert_flows()
        self.note_skipped_sections()
        document = assemble(
            system=system, zones=zones, components=components, assets=assets, flows=flows, actors=[]
        )
        return ImportResult(document=document, warnings=self.warnings, source_format=FORMAT)

    def overview(self) -> str | None:
        parts: list[str] = []
        for key in ("business_overview", "technical_overview"):
            section = self.data.get(key)
            if isinstance(section, dict):
                text = text_value(section.get("description"))
                if text and text not in parts:
                    parts.append(text)
        return "\n\n".join(parts) or None

    def convert_assets(self) -> list[dict[str, Any]]:
        allocator = IdAllocator()
        assets: list[dict[str, Any]] = []
        unclassified: list[str] = []
        for entry in self.entries("data_assets"):
            asset_id = allocator.allocate(entry.ident, entry.title)
            self.asset_ids[entry.ident] = asset_id
            kind = _asset_kind(f"{entry.ident} {entry.title}")
            if kind is AssetKind.OTHER:
                unclassified.append(asset_id)
            asset: dict[str, Any] = {
                "id": asset_id,
                "name": entry.title,
                "kind": kind.value,
                "description": text_value(entry.body.get("description")),
            }
            for key, table in (
                ("confidentiality", _CONFIDENTIALITY),
                ("integrity", _CRITICALITY),
                ("availability", _CRITICALITY),
            ):
                asset[key] = self.level(entry, key, table)
            assets.append(compact(asset))
        if unclassified:
            self.warnings.append(
                f"The kind of {plural(len(unclassified), 'data asset')} could not be told from the "
                f"name and was set to 'other': {format_ids(unclassified)}. Set the right kind "
                "(phi, therapy_commands, firmware ...), because rules select assets by kind."
            )
        return assets

    def level(self, entry: _Entry, key: str, table: dict[str, Level]) -> str | None:
        raw = text_value(entry.body.get(key))
        if raw is None:
            return None
        level = table.get(raw.lower())
        if level is None:
            self.warnings.append(
                f"Data asset '{entry.ident}' has an unknown {key} '{raw}'; the import left the "
                f"default (medium). Expected one of {', '.join(table)}."
            )
            return None
        return level.value

    def assign_boundaries(self) -> dict[str, str]:
        """Map each technical asset id to the Threagile id of the boundary that lists it."""
        boundary_of: dict[str, str] = {}
        for entry in self.entries("trust_boundaries"):
            for asset in self.id_list(entry, "technical_assets_inside"):
                if asset in boundary_of:
                    self.warnings.append(
                        f"Technical asset '{asset}' is inside both trust boundaries "
                        f"'{boundary_of[asset]}' and '{entry.ident}'; the import placed it in "
                        f"'{boundary_of[asset]}'."
                    )
                    continue
                boundary_of[asset] = entry.ident
        return boundary_of

    def convert_zones(self) -> list[dict[str, Any]]:
        entries = self.entries("trust_boundaries")
        parent_of: dict[str, str] = {}
        for entry in entries:
            for child in self.id_list(entry, "trust_boundaries_nested"):
                parent_of.setdefault(child, entry.ident)
        by_id = {entry.ident: entry for entry in entries}

        allocator = IdAllocator(reserved=STANDARD_ZONE_IDS)
        for entry in entries:
            self.zone_ids[entry.ident] = allocator.allocate(entry.ident, entry.title)

        zones: list[dict[str, Any]] = []
        summary: list[str] = []
        for entry in entries:
            kind = _zone_kind(entry, by_id, parent_of)
            zone_id = self.zone_ids[entry.ident]
            boundary_type = text_value(entry.body.get("type")) or "no type"
            summary.append(f"{zone_id} ({boundary_type}) -> {kind.value}")
            description = text_value(entry.body.get("description"))
            parent = parent_of.get(entry.ident)
            if parent in self.zone_ids:
                nesting = f"Nested inside the Threagile trust boundary '{self.zone_ids[parent]}'."
                description = f"{description}. {nesting}" if description else nesting
            zones.append(
                compact(
                    {
                        "id": zone_id,
                        "name": entry.title,
                        "kind": kind.value,
                        "description": description,
                    }
                )
            )
        if summary:
            self.warnings.append(
                "Zone kinds were derived from Threagile trust boundary types and names: "
                f"{'; '.join(summary)}. Check them; for example a manufacturer's own network "
                "should have kind 'manufacturer'."
            )
        return zones

    def convert_components(self, boundary_of: dict[str, str]) -> list[dict[str, Any]]:
        entries = self.entries("technical_assets")
        if not entries:
            raise input_error(
                self.path,
                "the model has no technical assets, so there is nothing to import",
                "a nemecys model needs at least one component",
            )
        allocator = IdAllocator()
        for entry in entries:
            self.component_ids[entry.ident] = allocator.allocate(entry.ident, entry.title)

        components: list[dict[str, Any]] = []
        unzoned: list[str] = []
        out_of_scope: list[str] = []
        for entry in entries:
            component_id = self.component_ids[entry.ident]
            boundary = boundary_of.get(entry.ident)
            if boundary in self.zone_ids:
                zone = self.zone_ids[boundary]
            else:
                zone = "internet"
                unzoned.append(component_id)
            component: dict[str, Any] = {
                "id": component_id,
                "name": entry.title,
                "kind": self.component_kind(entry).value,
                "zone": zone,
                "description": text_value(entry.body.get("description")),
            }
            if entry.body.get("internet") is True:
                component["internet_facing"] = True
            if entry.body.get("custom_developed_parts") is False:
                component["software"] = {"third_party": True}
            component["stores"] = self.asset_refs(entry, "data_assets_stored", entry.body)
            if entry.body.get("out_of_scope") is True:
                out_of_scope.append(component_id)
                component["out_of_scope"] = True
                component["out_of_scope_rationale"] = text_value(
                    entry.body.get("justification_out_of_scope")
                ) or ("Marked out of scope in Threagile without a justification.")
            component["tags"] = [tag for tag in (text_value(t) for t in self.tags(entry)) if tag]
            components.append(compact(component))

        if unzoned:
            self.warnings.append(
                "Components in no Threagile trust boundary were placed in the 'internet' zone: "
                f"{format_ids(unzoned)}."
            )
        if out_of_scope:
            self.warnings.append(
                "Components out of scope in Threagile stay out of scope, so nemecys raises no "
                f"threats against them: {format_ids(out_of_scope)}."
            )
        return components

    def tags(self, entry: _Entry) -> list[Any]:
        tags = entry.body.get("tags")
        return tags if isinstance(tags, list) else []

    def component_kind(self, entry: _Entry) -> ComponentKind:
        asset_type = (text_value(entry.body.get("type")) or "").lower()
        technology = _technology(entry.body)
        if asset_type == "datastore":
            return ComponentKind.DATABASE
        if technology in _TECHNOLOGY_KINDS:
            return _TECHNOLOGY_KINDS[technology]
        if technology in _SERVER_TECHNOLOGIES:
            return ComponentKind.CLOUD_SERVICE
        if asset_type == "external-entity":
            kind = (
                ComponentKind.DESKTOP_APP
                if entry.body.get("used_as_client_by_human") is True
                else ComponentKind.THIRD_PARTY_SERVICE
            )
        else:
            kind = ComponentKind.CLOUD_SERVICE
        if technology:
            self.warnings.append(
                f"Technical asset '{entry.ident}' has the unknown technology '{technology}'; the "
                f"import chose kind '{kind.value}' from its type."
            )
        return kind

    def asset_refs(self, entry: _Entry, key: str, container: dict[str, Any]) -> list[str]:
        refs: list[str] = []
        for ident in self.id_list(entry, key, container):
            mapped = self.asset_ids.get(ident)
            if mapped is None:
                self.warnings.append(
                    f"'{entry.title}' names the unknown data asset '{ident}' in '{key}'; it was left out."
                )
            elif mapped not in refs:
                refs.append(mapped)
        return refs

    def convert_flows(self) -> list[dict[str, Any]]:
        allocator = IdAllocator()
        flows: list[dict[str, Any]] = []
        proprietary: dict[str, list[str]] = {}
        for entry in self.entries("technical_assets"):
            links = entry.body.get("communication_links")
            if links is None:
                continue
            if not isinstance(links, dict):
                raise input_error(
                    entry.file,
                    f"'communication_links' of '{entry.title}' is a {type_name(links)}, expected a mapping of titles to links",
                )
            for raw_title, link in sorted(links.items(), key=lambda item: str(item[0])):
                flow = self.convert_link(entry, str(raw_title), link, allocator, proprietary)
                if flow is not None:
                    flows.append(flow)
        for protocol, flow_ids in sorted(proprietary.items()):
            if protocol == "unknown-protocol":
                message = f"Threagile records no protocol for {plural(len(flow_ids), 'flow')}"
            else:
                message = (
                    f"The Threagile protocol '{protocol}' has no nemecys equivalent, which affects "
                    f"{plural(len(flow_ids), 'flow')}"
                )
            self.warnings.append(f"{message}; imported as 'proprietary': {format_ids(flow_ids)}.")
        return flows

    def convert_link(
        self,
        entry: _Entry,
        title: str,
        link: Any,
        allocator: IdAllocator,
        proprietary: dict[str, list[str]],
    ) -> dict[str, Any] | None:
        if not isinstance(link, dict):
            raise input_error(
                entry.file,
                f"communication link '{title}' of '{entry.title}' is a {type_name(link)}, expected a mapping",
            )
        target = text_value(link.get("target"))
        source_id = self.component_ids[entry.ident]
        if target is None or target not in self.component_ids:
            self.warnings.append(
                f"Communication link '{title}' of '{entry.ident}' targets the unknown technical "
                f"asset '{target}'; it was not imported."
            )
            return None
        destination_id = self.component_ids[target]
        if destination_id == source_id:
            self.warnings.append(
                f"Communication link '{title}' of '{entry.ident}' targets its own asset; it was not imported."
            )
            return None

        flow_id = allocator.allocate(title, f"{source_id}-to-{destination_id}")
        raw_protocol = (text_value(link.get("protocol")) or "unknown-protocol").lower()
        protocol, encrypted = self.protocol(raw_protocol, flow_id, proprietary)
        encryption = _encryption(encrypted, link.get("vpn") is True)
        sent = self.asset_refs(entry, "data_assets_sent", link)
        received = self.asset_refs(entry, "data_assets_received", link)
        data = sent + [ident for ident in received if ident not in sent]
        flow: dict[str, Any] = {
            "id": flow_id,
            "name": title,
            "source": source_id,
            "destination": destination_id,
            "protocol": protocol.value,
            "authentication": self.authentication(link, raw_protocol, encryption, flow_id).value,
            "encryption": encryption.value,
            "data": data,
            "bidirectional": True if received else None,
            "description": text_value(link.get("description")),
        }
        return compact(flow)

    def protocol(
        self, raw: str, flow_id: str, proprietary: dict[str, list[str]]
    ) -> tuple[Protocol, bool | None]:
        if raw in _PROTOCOLS:
            protocol, encrypted = _PROTOCOLS[raw]
            if raw == "unknown-protocol":
                proprietary.setdefault(raw, []).append(flow_id)
            return protocol, encrypted
        proprietary.setdefault(raw, []).append(flow_id)
        if raw in _PROPRIETARY_PROTOCOLS:
            return Protocol.PROPRIETARY, _PROPRIETARY_PROTOCOLS[raw]
        return Protocol.PROPRIETARY, raw.endswith("-encrypted") or None

    def authentication(
        self, link: dict[str, Any], raw_protocol: str, encryption: Encryption, flow_id: str
    ) -> Authentication:
        raw = (text_value(link.get("authentication")) or "").lower()
        if not raw:
            return Authentication.UNKNOWN
        if (
            raw == "client-certificate"
            and encryption is Encryption.TLS
            and raw_protocol not in _SSH_BASED
        ):
            return Authentication.MUTUAL_TLS
        mapped = _AUTHENTICATION.get(raw)
        if mapped is None:
            self.warnings.append(
                f"Flow '{flow_id}' has the Threagile authentication '{raw}', which says nothing "
                "about how the link itself is authenticated; it was imported as 'unknown'."
            )
            return Authentication.UNKNOWN
        return mapped

    def note_skipped_sections(self) -> None:
        skipped: list[str] = []
        for key, noun, nouns in (
            ("risk_tracking", "risk tracking entry", "risk tracking entries"),
            (
                "individual_risk_categories",
                "individual risk category",
                "individual risk categories",
            ),
            ("custom_risk_categories", "custom risk category", "custom risk categories"),
            ("abuse_cases", "abuse case", "abuse cases"),
            ("security_requirements", "security requirement", "security requirements"),
            ("questions", "question", "questions"),
            ("shared_runtimes", "shared runtime", "shared runtimes"),
        ):
            value = self.data.get(key)
            if isinstance(value, dict | list) and value:
                skipped.append(f"{len(value)} {noun if len(value) == 1 else nouns}")
        if skipped:
            self.warnings.append(
                f"Not imported: {', '.join(skipped)}. Nemecys derives its own threats from the "
                "model, so Threagile risks and their tracking status do not carry over; record "
                "decisions again under 'decisions:' once nemecys has listed its threats."
            )


def _technology(body: dict[str, Any]) -> str:
    technology = text_value(body.get("technology"))
    if technology is None:
        # Later Threagile versions allow a list under 'technologies'; the first known one counts.
        listed = body.get("technologies")
        if isinstance(listed, list):
            for item in listed:
                text = (text_value(item) or "").lower()
                if text in _TECHNOLOGY_KINDS or text in _SERVER_TECHNOLOGIES:
                    return text
    return (technology or "").lower()


def _zone_kind(entry: _Entry, by_id: dict[str, _Entry], parent_of: dict[str, str]) -> ZoneKind:
    """Choose a zone kind: boundary type, then the enclosing boundary, then the name."""
    current: _Entry | None = entry
    visited: set[str] = set()
    while current is not None and current.ident not in visited:
        visited.add(current.ident)
        kind = _BOUNDARY_KINDS.get((text_value(current.body.get("type")) or "").lower())
        if kind is not None:
            return kind
        parent = parent_of.get(current.ident)
        current = by_id.get(parent) if parent else None
    named = _guess_zone_kind_from_name(f"{entry.title} {entry.ident}")
    if named is not None:
        return named
    return _BOUNDARY_DEFAULT_KINDS.get(
        (text_value(entry.body.get("type")) or "").lower(), ZoneKind.VENDOR_CLOUD
    )


def _encryption(encrypted: bool | None, vpn: bool) -> Encryption:
    if encrypted:
        return Encryption.TLS
    if vpn:
        return Encryption.VPN
    return Encryption.UNKNOWN if encrypted is None else Encryption.NONE


def _asset_kind(text: str) -> AssetKind:
    words = set(re.split(r"[^a-z0-9]+", text.lower()))
    for keywords, kind in _ASSET_KIND_WORDS:
        if words & keywords:
            return kind
    return AssetKind.OTHER
