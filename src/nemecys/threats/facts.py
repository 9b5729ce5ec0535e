"""Facts: the flat, typed view of each model element that threat rules test.

Rules never see pydantic objects. For each element the engine computes a dictionary of named
facts once (the protocol of a flow, the interface kinds of a component, whether a flow crosses
a trust boundary), and rule conditions compare those facts with constants. The registry
`FACTS` declares every fact with its type and allowed values, so a rule that names an unknown
fact or an impossible value fails when the library loads, not silently at evaluation time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any

from nemecys.model.schema import (
    STANDARD_ZONES,
    ActorKind,
    AssetKind,
    Authentication,
    Component,
    ComponentKind,
    DataAsset,
    Encryption,
    Flow,
    Interface,
    InterfaceKind,
    Level,
    Objective,
    Protocol,
    Reach,
    Severity,
    SystemModel,
    UpdateMechanism,
    Zone,
    ZoneKind,
)


class Target(StrEnum):
    """Kind of model element a rule is checked against."""

    SYSTEM = "system"
    COMPONENT = "component"
    INTERFACE = "interface"
    FLOW = "flow"
    ASSET = "asset"


class Network(StrEnum):
    """Attacker position needed to reach a flow, the basis of the CVSS attack vector."""

    INTERNET = "internet"
    LOCAL_NETWORK = "local_network"
    PROXIMITY = "proximity"
    PHYSICAL = "physical"


class FactType(StrEnum):
    STR = "str"
    BOOL = "bool"
    INT = "int"
    SET = "set"


@dataclass(frozen=True)
class FactSpec:
    type: FactType
    description: str
    values: tuple[str, ...] | None = None  # allowed values of a str fact or members of a set fact


def _values(enum: type[Enum], *extra: str) -> tuple[str, ...]:
    return (*(str(m.value) for m in enum), *extra)


_LEVEL_HELP = " (0 none, 1 low, 2 medium, 3 high)"
_ENDPOINT_KINDS = _values(ComponentKind, "actor")

FACTS: dict[Target, dict[str, FactSpec]] = {
    Target.SYSTEM: {
        "component_kinds": FactSpec(
            FactType.SET, "Kinds of in-scope components.", _values(ComponentKind)
        ),
        "asset_kinds": FactSpec(FactType.SET, "Kinds of data assets.", _values(AssetKind)),
        "actor_kinds": FactSpec(FactType.SET, "Kinds of actors.", _values(ActorKind)),
        "zone_kinds": FactSpec(
            FactType.SET, "Kinds of zones holding components.", _values(ZoneKind)
        ),
        "protocols": FactSpec(FactType.SET, "Protocols of all flows.", _values(Protocol)),
        "interfaces": FactSpec(
            FactType.SET, "Interface kinds enabled in the field.", _values(InterfaceKind)
        ),
        "update_mechanisms": FactSpec(
            FactType.SET, "Update mechanisms of components.", _values(UpdateMechanism)
        ),
        "cyber_device": FactSpec(
            FactType.BOOL, "Declared a cyber device (FD&C Act 524B); false when unknown."
        ),
        "internet_facing": FactSpec(
            FactType.BOOL, "At least one component is reachable from the internet."
        ),
        "multi_patient": FactSpec(
            FactType.BOOL, "A function or component reaches several patients."
        ),
        "max_severity": FactSpec(FactType.INT, "Highest clinical-function severity, 1 to 5."),
        "components_without_sbom": FactSpec(
            FactType.INT, "In-scope software components with no SBOM."
        ),
    },
    Target.COMPONENT: {
        "kind": FactSpec(FactType.STR, "Component kind.", _values(ComponentKind)),
        "zone_kind": FactSpec(FactType.STR, "Kind of its trust zone.", _values(ZoneKind)),
        "interfaces": FactSpec(
            FactType.SET, "Interface kinds enabled in the field.", _values(InterfaceKind)
        ),
        "disabled_interfaces": FactSpec(
            FactType.SET,
            "Interface kinds present but disabled in the field.",
            _values(InterfaceKind),
        ),
        "stores": FactSpec(FactType.SET, "Kinds of data kept at rest.", _values(AssetKind)),
        "processes": FactSpec(
            FactType.SET, "Kinds of data stored, sent or received.", _values(AssetKind)
        ),
        "receives": FactSpec(
            FactType.SET, "Kinds of data received by inbound flows.", _values(AssetKind)
        ),
        "inbound_protocols": FactSpec(
            FactType.SET, "Protocols of inbound flows.", _values(Protocol)
        ),
        "outbound_protocols": FactSpec(
            FactType.SET, "Protocols of outbound flows.", _values(Protocol)
        ),
        "inbound_authentication": FactSpec(
            FactType.SET, "Authentication of inbound flows.", _values(Authentication)
        ),
        "inbound_networks": FactSpec(
            FactType.SET, "Networks inbound flows travel over.", _values(Network)
        ),
        "connected_zone_kinds": FactSpec(
            FactType.SET, "Zone kinds of the components it exchanges data with.", _values(ZoneKind)
        ),
        "actor_kinds": FactSpec(FactType.SET, "Kinds of actors that use it.", _values(ActorKind)),
        "patients": FactSpec(
            FactType.STR, "Whether it serves one patient or several.", _values(Reach)
        ),
        "internet_facing": FactSpec(FactType.BOOL, "Reachable from the internet."),
        "has_functions": FactSpec(FactType.BOOL, "Performs at least one clinical function."),
        "max_severity": FactSpec(
            FactType.INT, "Highest severity of the functions it performs or whose data it holds."
        ),
        "sbom": FactSpec(FactType.BOOL, "An SBOM is declared for its software."),
        "third_party": FactSpec(FactType.BOOL, "Off-the-shelf software."),
        "update_mechanism": FactSpec(
            FactType.STR, "How its software is updated.", _values(UpdateMechanism)
        ),
        "flow_count": FactSpec(FactType.INT, "Number of flows in and out."),
        "tags": FactSpec(FactType.SET, "Free-form tags from the model."),
    },
    Target.INTERFACE: {
        "kind": FactSpec(FactType.STR, "Interface kind.", _values(InterfaceKind)),
        "authentication": FactSpec(
            FactType.STR, "Authentication at the interface.", _values(Authentication)
        ),
        "enabled_in_field": FactSpec(FactType.BOOL, "Enabled in production units."),
        "component_kind": FactSpec(
            FactType.STR, "Kind of the owning component.", _values(ComponentKind)
        ),
        "component_zone_kind": FactSpec(
            FactType.STR, "Zone kind of the owning component.", _values(ZoneKind)
        ),
        "component_processes": FactSpec(
            FactType.SET, "Kinds of data the component handles.", _values(AssetKind)
        ),
        "component_has_functions": FactSpec(
            FactType.BOOL, "The component performs a clinical function."
        ),
        "component_max_severity": FactSpec(
            FactType.INT, "Highest severity reached through the component."
        ),
        "component_update_mechanism": FactSpec(
            FactType.STR, "How the component is updated.", _values(UpdateMechanism)
        ),
        "carries": FactSpec(
            FactType.SET, "Kinds of data on flows that use this interface.", _values(AssetKind)
        ),
    },
    Target.FLOW: {
        "protocol": FactSpec(FactType.STR, "Protocol.", _values(Protocol)),
        "authentication": FactSpec(
            FactType.STR, "Authentication of the flow.", _values(Authentication)
        ),
        "encryption": FactSpec(FactType.STR, "Encryption in transit.", _values(Encryption)),
        "data": FactSpec(FactType.SET, "Kinds of data carried.", _values(AssetKind)),
        "network": FactSpec(
            FactType.STR, "Where an attacker must be to reach the flow.", _values(Network)
        ),
        "interface": FactSpec(
            FactType.STR,
            "Interface kind used, 'none' when not declared.",
            _values(InterfaceKind, "none"),
        ),
        "crosses_boundary": FactSpec(
            FactType.BOOL, "Source and destination sit in different trust zones."
        ),
        "bidirectional": FactSpec(FactType.BOOL, "Data moves both ways."),
        "source_kind": FactSpec(
            FactType.STR, "Kind of the source (component kind or 'actor').", _ENDPOINT_KINDS
        ),
        "destination_kind": FactSpec(
            FactType.STR, "Kind of the destination (component kind or 'actor').", _ENDPOINT_KINDS
        ),
        "source_zone_kind": FactSpec(FactType.STR, "Zone kind of the source.", _values(ZoneKind)),
        "destination_zone_kind": FactSpec(
            FactType.STR, "Zone kind of the destination.", _values(ZoneKind)
        ),
        "destination_patients": FactSpec(
            FactType.STR, "Patients served by the destination.", _values(Reach)
        ),
        "source_patients": FactSpec(FactType.STR, "Patients served by the source.", _values(Reach)),
        "destination_has_functions": FactSpec(
            FactType.BOOL, "The destination performs a clinical function."
        ),
        "destination_max_severity": FactSpec(
            FactType.INT, "Highest severity reached through the destination."
        ),
        "destination_internet_facing": FactSpec(
            FactType.BOOL, "The destination is reachable from the internet."
        ),
        "data_confidentiality": FactSpec(
            FactType.INT, "Highest confidentiality need of the data" + _LEVEL_HELP
        ),
        "data_integrity": FactSpec(
            FactType.INT, "Highest integrity need of the data" + _LEVEL_HELP
        ),
        "data_availability": FactSpec(
            FactType.INT, "Highest availability need of the data" + _LEVEL_HELP
        ),
    },
    Target.ASSET: {
        "kind": FactSpec(FactType.STR, "Data asset kind.", _values(AssetKind)),
        "confidentiality": FactSpec(FactType.INT, "Confidentiality need" + _LEVEL_HELP),
        "integrity": FactSpec(FactType.INT, "Integrity need" + _LEVEL_HELP),
        "availability": FactSpec(FactType.INT, "Availability need" + _LEVEL_HELP),
        "stored_in_kinds": FactSpec(
            FactType.SET, "Kinds of components storing it.", _values(ComponentKind)
        ),
        "stored_in_zone_kinds": FactSpec(
            FactType.SET, "Zone kinds where it is stored.", _values(ZoneKind)
        ),
        "carried_over": FactSpec(
            FactType.SET, "Protocols of flows carrying it.", _values(Protocol)
        ),
        "carried_unencrypted": FactSpec(
            FactType.BOOL, "A flow carries it with encryption 'none' or 'unknown'."
        ),
        "has_functions": FactSpec(FactType.BOOL, "A clinical function depends on it."),
    },
}

LEVEL_RANK = {Level.NONE: 0, Level.LOW: 1, Level.MEDIUM: 2, Level.HIGH: 3}

# Default reach of a component kind when the model leaves `patients` unset. Equipment worn by
# or used for one patient reaches one, while shared servers and hospital systems reach many.
_SINGLE_PATIENT_KINDS = frozenset(
    {ComponentKind.DEVICE, ComponentKind.SENSOR, ComponentKind.IMPLANT, ComponentKind.MOBILE_APP}
)

_PROXIMITY_INTERFACES = frozenset({InterfaceKind.BLE, InterfaceKind.NFC})
_PHYSICAL_INTERFACES = frozenset(
    {InterfaceKind.USB, InterfaceKind.SERIAL_DEBUG, InterfaceKind.REMOVABLE_MEDIA, InterfaceKind.UI}
)
_PROTOCOL_INTERFACE = {
    Protocol.BLE_GATT: InterfaceKind.BLE,
    Protocol.NFC: InterfaceKind.NFC,
    Protocol.USB: InterfaceKind.USB,
    Protocol.SERIAL: InterfaceKind.SERIAL_DEBUG,
    Protocol.UI: InterfaceKind.UI,
}
# Zone pairs joined by a local link rather than the internet.
_LOCAL_ZONE_KINDS = frozenset({ZoneKind.PATIENT_BODY, ZoneKind.PATIENT_HOME})


@dataclass(frozen=True)
class Element:
    """One element the rules are checked against: its target kind, id, display name and facts."""

    target: Target
    id: str
    name: str
    facts: dict[str, Any]
    scope: frozenset[str]  # ids a control's `applies_to` may name to cover this element
    related_components: tuple[str, ...] = ()
    text: dict[str, str] = field(default_factory=dict)  # extra placeholders for "why" texts


class ModelIndex:
    """Lookups over a model: ids to objects, flows per component, resolved defaults."""

    def __init__(self, model: SystemModel) -> None:
        self.model = model
        self.zones: dict[str, Zone] = {z.id: z for z in STANDARD_ZONES}
        self.zones.update({z.id: z for z in model.zones})
        self.components = {c.id: c for c in model.components}
        self.in_scope = [c for c in model.components if not c.out_of_scope]
        self.assets = {a.id: a for a in model.assets}
        self.flows = {f.id: f for f in model.flows}
        self.actors = {a.id: a for a in model.actors}
        self.functions = {f.id: f for f in model.system.clinical_functions}
        self.inbound: dict[str, list[Flow]] = defaultdict(list)
        self.outbound: dict[str, list[Flow]] = defaultdict(list)
        self.interface_flows: dict[str, list[Flow]] = defaultdict(list)
        self.carrying: dict[str, list[Flow]] = defaultdict(list)
        for flow in model.flows:
            for asset_id in flow.data:
                self.carrying[asset_id].append(flow)
            self.outbound[flow.source].append(flow)
            self.inbound[flow.destination].append(flow)
            if flow.interface:
                self.interface_flows[flow.interface].append(flow)
        self.users: dict[str, set[ActorKind]] = defaultdict(set)
        for actor in model.actors:
            for used in actor.uses:
                self.users[used].add(actor.kind)
        self.stored_in: dict[str, list[Component]] = defaultdict(list)
        for component in model.components:
            for asset_id in component.stores:
                self.stored_in[asset_id].append(component)
        self._function_severity: dict[tuple[str, Objective | None], Severity] = {}
        self._networks = {flow.id: self._network(flow) for flow in model.flows}
        self._internet_facing = {c.id: self._resolve_internet_facing(c) for c in model.components}

    # -- resolved attributes --

    def zone_id(self, endpoint: str) -> str | None:
        component = self.components.get(endpoint)
        if component is not None:
            return component.zone
        actor = self.actors.get(endpoint)
        return actor.zone if actor is not None else None

    def zone_kind(self, endpoint: str) -> ZoneKind:
        zone = self.zone_id(endpoint)
        # An actor with no declared zone is treated as outside every boundary.
        return self.zones[zone].kind if zone is not None else ZoneKind.INTERNET

    def patients(self, component: Component) -> Reach:
        if component.patients is not None:
            return component.patients
        return Reach.SINGLE if component.kind in _SINGLE_PATIENT_KINDS else Reach.MULTIPLE

    def internet_facing(self, component_id: str) -> bool:
        return self._internet_facing.get(component_id, False)

    def network(self, flow: Flow) -> Network:
        return self._networks[flow.id]

    def flow_interface(self, flow: Flow) -> InterfaceKind | None:
        if flow.interface:
            owner, _, iface_id = flow.interface.partition(".")
            component = self.components.get(owner)
            if component:
                for iface in component.interfaces:
                    if iface.id == iface_id:
                        return iface.kind
        return _PROTOCOL_INTERFACE.get(flow.protocol)

    def function_severity(self, function_id: str, objective: Objective | None) -> Severity:
        key = (function_id, objective)
        found = self._function_severity.get(key)
        if found is None:
            found = self._compute_function_severity(function_id, objective)
            self._function_severity[key] = found
        return found

    def _compute_function_severity(self, function_id: str, objective: Objective | None) -> Severity:
        function = self.functions[function_id]
        by_objective = function.severity_by_objective
        if by_objective is not None and objective is not None:
            key = {
                Objective.AUTHENTICITY: "integrity",
                Objective.AUTHORIZATION: "integrity",
                Objective.UPDATABILITY: "integrity",
            }.get(objective, objective.value)
            specific = getattr(by_objective, key, None)
            if specific is not None:
                return Severity.parse(specific)
        return Severity.parse(function.severity)

    def component_functions(self, component: Component) -> set[str]:
        """Functions a component performs, plus those depending on data it stores or sends.

        Data it only receives is left out: a display that receives therapy data cannot alter
        the therapy, while a store or a sender can forge or withhold what others rely on.
        """
        found = set(component.functions)
        for asset_id in component.stores:
            found.update(self.assets[asset_id].functions)
        for flow in self.outbound.get(component.id, ()):
            for asset_id in flow.data:
                found.update(self.assets[asset_id].functions)
        return found

    def max_severity(self, functions: Iterable[str]) -> int:
        return max((int(Severity.parse(self.functions[f].severity)) for f in functions), default=0)

    def _network(self, flow: Flow) -> Network:
        interface = self.flow_interface(flow)
        if interface in _PROXIMITY_INTERFACES:
            return Network.PROXIMITY
        if interface in _PHYSICAL_INTERFACES:
            return Network.PHYSICAL
        if interface in (InterfaceKind.INTERNET, InterfaceKind.CELLULAR):
            return Network.INTERNET
        source, destination = self.zone_kind(flow.source), self.zone_kind(flow.destination)
        if ZoneKind.INTERNET in (source, destination):
            return Network.INTERNET
        # One zone, the body and home of one patient, or two segments of a hospital network
        # are joined locally. Any other pair of zones is joined over the internet.
        same_zone = self.zone_id(flow.source) == self.zone_id(flow.destination)
        both_hospital = source is destination is ZoneKind.HOSPITAL_NETWORK
        if same_zone or both_hospital or {source, destination} <= _LOCAL_ZONE_KINDS:
            return Network.LOCAL_NETWORK
        return Network.INTERNET

    def _resolve_internet_facing(self, component: Component) -> bool:
        if component.internet_facing is not None:
            return component.internet_facing
        if self.zones[component.zone].kind is ZoneKind.INTERNET:
            return True
        return any(
            self._networks[f.id] is Network.INTERNET for f in self.inbound.get(component.id, ())
        )


def _kinds(index: ModelIndex, asset_ids: Iterable[str]) -> set[str]:
    return {index.assets[a].kind.value for a in asset_ids}


def _name(obj: Component | Flow | DataAsset | Zone, fallback: str) -> str:
    return obj.name or fallback


def system_element(index: ModelIndex) -> Element:
    model = index.model
    scope = index.in_scope
    multi = any(f.reach is Reach.MULTIPLE for f in model.system.clinical_functions) or any(
        index.patients(c) is Reach.MULTIPLE for c in scope
    )
    facts: dict[str, Any] = {
        "component_kinds": {c.kind.value for c in scope},
        "asset_kinds": {a.kind.value for a in model.assets},
        "actor_kinds": {a.kind.value for a in model.actors},
        "zone_kinds": {index.zones[c.zone].kind.value for c in scope},
        "protocols": {f.protocol.value for f in model.flows},
        "interfaces": {i.kind.value for c in scope for i in c.interfaces if i.enabled_in_field},
        "update_mechanisms": {c.software.update_mechanism.value for c in scope},
        "cyber_device": bool(model.system.cyber_device),
        "internet_facing": any(index.internet_facing(c.id) for c in scope),
        "multi_patient": multi,
        "max_severity": index.max_severity(index.functions),
        "components_without_sbom": sum(1 for c in scope if c.software.sbom is None),
    }
    everything = frozenset(
        [*index.components, *index.zones, *(f.id for f in model.flows), "system"]
        + [f"{c.id}.{i.id}" for c in model.components for i in c.interfaces]
    )
    return Element(
        Target.SYSTEM, "system", model.system.name, facts, everything, tuple(c.id for c in scope)
    )


def component_element(index: ModelIndex, component: Component) -> Element:
    inbound = index.inbound.get(component.id, [])
    outbound = index.outbound.get(component.id, [])
    functions = index.component_functions(component)
    received = {a for f in inbound for a in f.data}
    sent = {a for f in outbound for a in f.data}
    peers = [f.source for f in inbound] + [f.destination for f in outbound]
    facts: dict[str, Any] = {
        "kind": component.kind.value,
        "zone_kind": index.zones[component.zone].kind.value,
        "interfaces": {i.kind.value for i in component.interfaces if i.enabled_in_field},
        "disabled_interfaces": {
            i.kind.value for i in component.interfaces if not i.enabled_in_field
        },
        "stores": _kinds(index, component.stores),
        "processes": _kinds(index, set(component.stores) | received | sent),
        "receives": _kinds(index, received),
        "inbound_protocols": {f.protocol.value for f in inbound},
        "outbound_protocols": {f.protocol.value for f in outbound},
        "inbound_authentication": {f.authentication.value for f in inbound},
        "inbound_networks": {index.network(f).value for f in inbound},
        "connected_zone_kinds": {index.zone_kind(p).value for p in peers},
        "actor_kinds": {k.value for k in index.users.get(component.id, ())},
        "patients": index.patients(component).value,
        "internet_facing": index.internet_facing(component.id),
        "has_functions": bool(functions),
        "max_severity": index.max_severity(functions),
        "sbom": component.software.sbom is not None,
        "third_party": component.software.third_party,
        "update_mechanism": component.software.update_mechanism.value,
        "flow_count": len(inbound) + len(outbound),
        "tags": set(component.tags),
    }
    zone = index.zones[component.zone]
    scope = frozenset(
        [component.id, component.zone, *(f"{component.id}.{i.id}" for i in component.interfaces)]
    )
    text = {"zone": _name(zone, zone.id)}
    return Element(
        Target.COMPONENT,
        component.id,
        _name(component, component.id),
        facts,
        scope,
        (component.id,),
        text,
    )


def interface_element(index: ModelIndex, component: Component, interface: Interface) -> Element:
    ref = f"{component.id}.{interface.id}"
    functions = index.component_functions(component)
    carried = {a for f in index.interface_flows.get(ref, ()) for a in f.data}
    all_data = set(component.stores) | {
        a for f in index.inbound.get(component.id, ()) for a in f.data
    }
    all_data |= {a for f in index.outbound.get(component.id, ()) for a in f.data}
    facts: dict[str, Any] = {
        "kind": interface.kind.value,
        "authentication": interface.authentication.value,
        "enabled_in_field": interface.enabled_in_field,
        "component_kind": component.kind.value,
        "component_zone_kind": index.zones[component.zone].kind.value,
        "component_processes": _kinds(index, all_data),
        "component_has_functions": bool(functions),
        "component_max_severity": index.max_severity(functions),
        "component_update_mechanism": component.software.update_mechanism.value,
        "carries": _kinds(index, carried),
    }
    name = f"{_name(component, component.id)} {interface.kind.value.upper()} interface"
    if interface.id != interface.kind.value:
        name = f"{_name(component, component.id)} interface '{interface.id}'"
    text = {"component": _name(component, component.id)}
    return Element(
        Target.INTERFACE,
        ref,
        name,
        facts,
        frozenset([ref, component.id, component.zone]),
        (component.id,),
        text,
    )


def _endpoint_name(index: ModelIndex, endpoint: str) -> str:
    component = index.components.get(endpoint)
    if component is not None:
        return _name(component, endpoint)
    actor = index.actors.get(endpoint)
    return actor.name if actor and actor.name else endpoint


def flow_element(index: ModelIndex, flow: Flow) -> Element:
    assets = [index.assets[a] for a in flow.data]
    source = index.components.get(flow.source)
    destination = index.components.get(flow.destination)
    dest_functions = index.component_functions(destination) if destination else set()
    interface = index.flow_interface(flow)
    source_zone = index.zone_kind(flow.source)
    destination_zone = index.zone_kind(flow.destination)
    facts: dict[str, Any] = {
        "protocol": flow.protocol.value,
        "authentication": flow.authentication.value,
        "encryption": flow.encryption.value,
        "data": {a.kind.value for a in assets},
        "network": index.network(flow).value,
        "interface": interface.value if interface else "none",
        "crosses_boundary": index.zone_id(flow.source) != index.zone_id(flow.destination),
        "bidirectional": flow.bidirectional,
        "source_kind": source.kind.value if source else "actor",
        "destination_kind": destination.kind.value if destination else "actor",
        "source_zone_kind": source_zone.value,
        "destination_zone_kind": destination_zone.value,
        "destination_patients": index.patients(destination).value
        if destination
        else Reach.SINGLE.value,
        "source_patients": index.patients(source).value if source else Reach.SINGLE.value,
        "destination_has_functions": bool(dest_functions),
        "destination_max_severity": index.max_severity(dest_functions),
        "destination_internet_facing": index.internet_facing(flow.destination),
        "data_confidentiality": max((LEVEL_RANK[a.confidentiality] for a in assets), default=0),
        "data_integrity": max((LEVEL_RANK[a.integrity] for a in assets), default=0),
        "data_availability": max((LEVEL_RANK[a.availability] for a in assets), default=0),
    }
    scope = {flow.id, flow.source, flow.destination}
    scope.update(z for z in (index.zone_id(flow.source), index.zone_id(flow.destination)) if z)
    if flow.interface:
        scope.add(flow.interface)
    related = tuple(c for c in (flow.source, flow.destination) if c in index.components)
    text = {
        "source": _endpoint_name(index, flow.source),
        "destination": _endpoint_name(index, flow.destination),
        "data_names": ", ".join(a.name or a.id for a in assets) or "no declared data",
    }
    return Element(
        Target.FLOW,
        flow.id,
        flow.name or f"{text['source']} → {text['destination']}",
        facts,
        frozenset(scope),
        related,
        text,
    )


def asset_element(index: ModelIndex, asset: DataAsset) -> Element:
    holders = index.stored_in.get(asset.id, [])
    carrying = index.carrying.get(asset.id, [])
    facts: dict[str, Any] = {
        "kind": asset.kind.value,
        "confidentiality": LEVEL_RANK[asset.confidentiality],
        "integrity": LEVEL_RANK[asset.integrity],
        "availability": LEVEL_RANK[asset.availability],
        "stored_in_kinds": {c.kind.value for c in holders},
        "stored_in_zone_kinds": {index.zones[c.zone].kind.value for c in holders},
        "carried_over": {f.protocol.value for f in carrying},
        "carried_unencrypted": any(
            f.encryption in (Encryption.NONE, Encryption.UNKNOWN) for f in carrying
        ),
        "has_functions": bool(asset.functions),
    }
    scope = frozenset([asset.id, *(c.id for c in holders)])
    text = {"stored_in": ", ".join(c.name or c.id for c in holders) or "no declared store"}
    return Element(
        Target.ASSET,
        asset.id,
        _name(asset, asset.id),
        facts,
        scope,
        tuple(c.id for c in holders),
        text,
    )


def build_elements(index: ModelIndex) -> dict[Target, list[Element]]:
    """Compute the facts of every in-scope element, grouped by target kind."""
    model = index.model
    in_scope_ids = {c.id for c in index.in_scope}
    elements: dict[Target, list[Element]] = {t: [] for t in Target}
    elements[Target.SYSTEM].append(system_element(index))
    for component in index.in_scope:
        elements[Target.COMPONENT].append(component_element(index, component))
        for interface in component.interfaces:
            elements[Target.INTERFACE].append(interface_element(index, component, interface))
    for flow in model.flows:
        # A flow between two out-of-scope components is out of scope too.
        if flow.source in in_scope_ids or flow.destination in in_scope_ids:
            elements[Target.FLOW].append(flow_element(index, flow))
    for asset in model.assets:
        elements[Target.ASSET].append(asset_element(index, asset))
    return elements
