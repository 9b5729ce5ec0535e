"""Generate benchmark models of N elements for nemecys and the equivalent OWASP pytm model.

Elements are components, flows and data assets, split 30 % / 55 % / 15 %. The model is built
from "clusters" of 20 elements: 6 components, 11 flows and 3 data assets. Each cluster is one
connected care system: a sensor, a therapy device, a mobile app or workstation, a gateway, a
cloud or hospital service and its database. Even clusters are home-care systems and odd ones
are hospital systems. Two of the 11 flows join a cluster to the previous one, so the whole
model is one connected graph. Every choice comes from `random.Random(seed)`, so the same N and
seed give the same files byte for byte.

Besides the counted elements, a model has 7 clinical functions, 6 declared zones (plus the
standard ones), 5 actors whose `uses` lists grow with N, 2 assumptions, one decision and one
control per cluster (catalog or custom, implemented or planned).

`write_model` writes `nemecys.yaml` (system, zones, actors, controls, decisions) with
`components.yaml`, `assets.yaml` and `flows.yaml` as includes, the way a large model is split
in practice. This also keeps every file below the loader's 4 MiB limit at N = 10,000.
`build_pytm` turns the same document into pytm objects, and its docstring gives the mapping.

Run it alone to write models for inspection:

    .venv/bin/python benchmarks/generate.py --sizes 100 1000 --output benchmarks/results/models
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nemecys.controls import load_catalog
from nemecys.threats import FACTS, load_library
from nemecys.threats.facts import FactType, Target

CLUSTER_COMPONENTS = 6
CLUSTER_FLOWS = 11
CLUSTER_ASSETS = 3
CLUSTER_SIZE = CLUSTER_COMPONENTS + CLUSTER_FLOWS + CLUSTER_ASSETS

# The number of threat rules pytm 1.4.0 loads: threatlib/threats.json has 114 entries, and
# pytm skips the one marked deprecated. `synthetic_library` tops the nemecys rules up to it.
PYTM_RULE_COUNT = 113

CLINICAL_FUNCTIONS: list[dict[str, Any]] = [
    {
        "id": "insulin-delivery",
        "harm": "Insulin overdose causing severe hypoglycaemia or death.",
        "severity": "catastrophic",
        "reach": "single",
        "severity_by_objective": {
            "confidentiality": "negligible",
            "integrity": "catastrophic",
            "availability": "critical",
        },
    },
    {
        "id": "glucose-monitoring",
        "harm": "Wrong or missing glucose values lead to a wrong dose.",
        "severity": "critical",
        "reach": "single",
    },
    {
        "id": "dose-calculation",
        "harm": "A wrong bolus suggestion is accepted by the patient.",
        "severity": "critical",
        "reach": "single",
    },
    {
        "id": "alarm-notification",
        "harm": "A missed hypoglycaemia alarm delays treatment.",
        "severity": "critical",
        "reach": "multiple",
    },
    {
        "id": "remote-monitoring",
        "harm": "Caregivers act on stale or forged readings.",
        "severity": "serious",
        "reach": "multiple",
    },
    {
        "id": "infusion-documentation",
        "harm": "Wrong documented volumes lead to repeated doses.",
        "severity": "serious",
        "reach": "multiple",
    },
    {
        "id": "usage-reporting",
        "harm": "Reports for the care team are wrong or unavailable.",
        "severity": "minor",
        "reach": "multiple",
    },
]

ZONES: list[dict[str, str]] = [
    {"id": "home-network", "kind": "patient_home", "name": "Patient home Wi-Fi"},
    {"id": "ward-wlan", "kind": "hospital_network", "name": "Medical device wireless network"},
    {"id": "data-center", "kind": "hospital_network", "name": "Hospital data center"},
    {"id": "vendor-cloud-eu", "kind": "vendor_cloud", "name": "Vendor cloud, EU region"},
    {"id": "vendor-cloud-us", "kind": "vendor_cloud", "name": "Vendor cloud, US region"},
    {"id": "service-depot", "kind": "manufacturer", "name": "Manufacturer service depot"},
]

# Component templates per cluster variant: (suffix, kind, zone, interfaces, functions,
# update mechanism, stored asset slots). An interface is (id, kind, authentication, enabled).
_Interface = tuple[str, str, str, bool]
_ComponentTemplate = tuple[str, str, str, list[_Interface], list[str], str, list[int]]

HOME_COMPONENTS: list[_ComponentTemplate] = [
    (
        "cgm",
        "sensor",
        "patient-body",
        [("ble", "ble", "ble_pairing", True)],
        ["glucose-monitoring"],
        "none",
        [0],
    ),
    (
        "pump",
        "device",
        "patient-body",
        [
            ("ble", "ble", "ble_pairing", True),
            ("usb", "usb", "password", True),
            ("debug", "serial_debug", "none", False),
        ],
        ["insulin-delivery", "alarm-notification"],
        "service_tool",
        [0, 1],
    ),
    (
        "app",
        "mobile_app",
        "home-network",
        [("ble", "ble", "ble_pairing", True), ("ui", "ui", "none", True)],
        ["dose-calculation", "alarm-notification"],
        "app_store",
        [0, 2],
    ),
    (
        "hub",
        "gateway",
        "home-network",
        [("wifi", "wifi", "password", True)],
        ["remote-monitoring"],
        "remote",
        [0],
    ),
    (
        "cloud",
        "cloud_service",
        "vendor-cloud-eu",
        [("api", "internet", "token", True)],
        ["remote-monitoring", "usage-reporting"],
        "remote",
        [0, 2],
    ),
    (
        "db",
        "database",
        "vendor-cloud-eu",
        [("mongo", "internal", "password", True)],
        [],
        "operator_managed",
        [0, 1, 2],
    ),
]

HOSPITAL_COMPONENTS: list[_ComponentTemplate] = [
    (
        "monitor",
        "sensor",
        "ward-wlan",
        [("wifi", "wifi", "certificate", True)],
        ["glucose-monitoring"],
        "remote",
        [0],
    ),
    (
        "pump",
        "device",
        "ward-wlan",
        [
            ("wifi", "wifi", "certificate", True),
            ("usb", "usb", "password", True),
            ("ui", "ui", "none", True),
        ],
        ["insulin-delivery", "alarm-notification"],
        "remote",
        [0, 1],
    ),
    (
        "station",
        "desktop_app",
        "data-center",
        [("lan", "ethernet", "password", True)],
        ["dose-calculation", "infusion-documentation"],
        "operator_managed",
        [0, 2],
    ),
    (
        "gateway",
        "gateway",
        "data-center",
        [("lan", "ethernet", "mutual_tls", True)],
        ["remote-monitoring"],
        "operator_managed",
        [0],
    ),
    (
        "ehr",
        "hospital_system",
        "data-center",
        [("hl7", "ethernet", "none", True)],
        ["infusion-documentation", "usage-reporting"],
        "operator_managed",
        [0, 2],
    ),
    (
        "db",
        "database",
        "data-center",
        [("sql", "internal", "password", True)],
        [],
        "operator_managed",
        [0, 1, 2],
    ),
]

# Flow templates: (suffix, source index, destination index, protocols, interface owner,
# interface id, asset slots, authentications, encryptions). A negative source or destination
# index names a component of the previous cluster (-1 - index). Protocols, authentications
# and encryptions are choices drawn per flow.
_FlowTemplate = tuple[
    str, int, int, list[str], int | None, str | None, list[int], list[str], list[str]
]

HOME_FLOWS: list[_FlowTemplate] = [
    ("reading", 0, 2, ["ble_gatt"], 0, "ble", [0], ["ble_pairing", "none"], ["ble_link", "none"]),
    (
        "bolus",
        2,
        1,
        ["ble_gatt"],
        1,
        "ble",
        [1],
        ["ble_pairing", "none", "unknown"],
        ["ble_link", "none"],
    ),
    ("pump-status", 1, 2, ["ble_gatt"], 1, "ble", [0], ["ble_pairing"], ["ble_link"]),
    ("upload", 2, 4, ["https", "websocket"], 4, "api", [0, 2], ["token", "api_key"], ["tls"]),
    (
        "relay",
        3,
        4,
        ["mqtts", "mqtt", "https"],
        4,
        "api",
        [0],
        ["certificate", "api_key", "none"],
        ["tls", "none"],
    ),
    (
        "store",
        4,
        5,
        ["mongodb"],
        5,
        "mongo",
        [0, 1, 2],
        ["password", "shared_secret"],
        ["tls", "none", "unknown"],
    ),
    ("alert", 4, 2, ["push_notification"], None, None, [0], ["token"], ["tls"]),
    ("settings", 4, 3, ["https"], 3, "wifi", [1], ["token", "certificate"], ["tls"]),
    ("service-read", 1, 3, ["usb", "serial"], 1, "usb", [1], ["password", "none"], ["none"]),
    ("replicate", 4, -5, ["https"], None, None, [2], ["mutual_tls", "token"], ["tls"]),
    ("backup", 5, -6, ["mongodb"], None, None, [0, 2], ["password"], ["tls", "vpn"]),
]

HOSPITAL_FLOWS: list[_FlowTemplate] = [
    ("reading", 0, 3, ["mqtt", "mqtts"], 0, "wifi", [0], ["certificate", "none"], ["tls", "none"]),
    (
        "program",
        3,
        1,
        ["https", "proprietary"],
        1,
        "wifi",
        [1],
        ["mutual_tls", "password"],
        ["tls", "unknown"],
    ),
    ("pump-events", 1, 3, ["https"], 1, "wifi", [0], ["certificate"], ["tls"]),
    (
        "order",
        4,
        3,
        ["hl7v2_mllp", "fhir_rest"],
        4,
        "hl7",
        [1, 2],
        ["none", "certificate"],
        ["none", "tls"],
    ),
    (
        "document",
        3,
        4,
        ["hl7v2_mllp", "fhir_rest"],
        4,
        "hl7",
        [0, 2],
        ["none", "certificate"],
        ["none", "tls"],
    ),
    ("store", 3, 5, ["sql"], 5, "sql", [0, 1, 2], ["password"], ["tls", "none"]),
    ("review", 2, 4, ["https"], 2, "lan", [2], ["password", "multi_factor"], ["tls"]),
    ("library", 2, 3, ["https"], 3, "lan", [1], ["password"], ["tls"]),
    ("service-read", 1, 2, ["usb"], 1, "usb", [1], ["password", "none"], ["none"]),
    ("replicate", 5, -6, ["sql"], None, None, [2], ["password"], ["tls", "vpn"]),
    (
        "exchange",
        4,
        -5,
        ["fhir_rest", "hl7v2_mllp"],
        None,
        None,
        [2],
        ["certificate", "none"],
        ["tls", "none"],
    ),
]

# Asset slots per variant: (suffix, kind, confidentiality, integrity, availability, functions).
HOME_ASSETS: list[tuple[str, str, str, str, str, list[str]]] = [
    (
        "readings",
        "sensor_readings",
        "medium",
        "high",
        "high",
        ["glucose-monitoring", "remote-monitoring"],
    ),
    ("bolus-commands", "therapy_commands", "low", "high", "high", ["insulin-delivery"]),
    ("patient-record", "phi", "high", "medium", "medium", ["remote-monitoring"]),
]
HOSPITAL_ASSETS: list[tuple[str, str, str, str, str, list[str]]] = [
    ("observations", "sensor_readings", "medium", "high", "high", ["glucose-monitoring"]),
    (
        "infusion-orders",
        "therapy_parameters",
        "medium",
        "high",
        "high",
        ["insulin-delivery", "dose-calculation"],
    ),
    ("staff-credentials", "credentials", "high", "high", "medium", ["infusion-documentation"]),
]

VARIANTS = (
    ("home", HOME_COMPONENTS, HOME_FLOWS, HOME_ASSETS),
    ("ward", HOSPITAL_COMPONENTS, HOSPITAL_FLOWS, HOSPITAL_ASSETS),
)

_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_ENCRYPTED = frozenset({"tls", "ble_link", "application", "vpn"})
_AUTHENTICATED = frozenset(
    {
        "password",
        "api_key",
        "token",
        "ble_pairing",
        "certificate",
        "mutual_tls",
        "multi_factor",
        "shared_secret",
    }
)


@dataclass(frozen=True)
class Split:
    """Element counts of one generated model."""

    components: int
    flows: int
    assets: int

    @property
    def total(self) -> int:
        return self.components + self.flows + self.assets


def split(elements: int) -> Split:
    """Split ELEMENTS into about 30 % components, 55 % flows and 15 % assets."""
    if elements < CLUSTER_SIZE:
        raise ValueError(f"a model needs at least {CLUSTER_SIZE} elements, got {elements}")
    components = round(elements * CLUSTER_COMPONENTS / CLUSTER_SIZE)
    flows = round(elements * CLUSTER_FLOWS / CLUSTER_SIZE)
    return Split(components, flows, elements - components - flows)


def _cluster_id(cluster: int) -> str:
    return f"{VARIANTS[cluster % 2][0]}{cluster:05d}"


def _packaged_rule_ids() -> list[str]:
    return sorted(load_library().rules)


def build_document(elements: int, seed: int = 1) -> dict[str, Any]:
    """Return the nemecys model of ELEMENTS elements as plain data, split into files by key.

    The result maps a file name to its YAML document, and `nemecys.yaml` is the root.
    """
    counts = split(elements)
    rng = random.Random(f"nemecys-bench-{elements}-{seed}")
    clusters = -(-counts.total // CLUSTER_SIZE)
    cloud_zones = ("vendor-cloud-eu", "vendor-cloud-us")

    components: list[dict[str, Any]] = []
    assets: list[dict[str, Any]] = []
    flows: list[dict[str, Any]] = []
    asset_ids: set[str] = set()
    for cluster in range(clusters):
        prefix = _cluster_id(cluster)
        _, component_templates, _, asset_templates = VARIANTS[cluster % 2]
        for suffix, kind, confidentiality, integrity, availability, functions in asset_templates:
            if len(assets) == counts.assets:
                break
            assets.append(
                {
                    "id": f"{prefix}-{suffix}",
                    "name": f"{suffix.replace('-', ' ')} of system {prefix}",
                    "kind": kind,
                    "confidentiality": confidentiality,
                    "integrity": integrity,
                    "availability": availability,
                    "functions": functions,
                }
            )
            asset_ids.add(assets[-1]["id"])
        cluster_assets = {slot: f"{prefix}-{t[0]}" for slot, t in enumerate(asset_templates)}
        for suffix, kind, zone, interfaces, functions, update, stores in component_templates:
            if len(components) == counts.components:
                break
            if zone == "vendor-cloud-eu":
                zone = rng.choice(cloud_zones)
            component: dict[str, Any] = {
                "id": f"{prefix}-{suffix}",
                "name": f"{suffix} of system {prefix}",
                "kind": kind,
                "zone": zone,
                "functions": functions,
                "interfaces": [
                    {
                        "id": iid,
                        "kind": ikind,
                        "authentication": auth,
                        **({} if enabled else {"enabled_in_field": False}),
                    }
                    for iid, ikind, auth, enabled in interfaces
                ],
                "software": {
                    "version": f"{rng.randint(1, 9)}.{rng.randint(0, 20)}",
                    "update_mechanism": update,
                    **({"third_party": True} if kind == "database" else {}),
                },
                "stores": [cluster_assets[s] for s in stores if cluster_assets[s] in asset_ids],
            }
            if kind == "database" and cluster % 25 == 24:
                component["out_of_scope"] = True
                component["out_of_scope_rationale"] = (
                    "Operated and assessed by the hospital's IT department."
                )
            components.append(component)

    component_ids = _ids(components)
    known_components = set(component_ids)
    for cluster in range(clusters):
        if len(flows) == counts.flows:
            break
        prefix = _cluster_id(cluster)
        _, component_templates, flow_templates, asset_templates = VARIANTS[cluster % 2]
        for (
            suffix,
            source,
            destination,
            protocols,
            owner,
            interface,
            slots,
            auths,
            encryptions,
        ) in flow_templates:
            if len(flows) == counts.flows:
                break
            source_id = _endpoint(cluster, source)
            destination_id = _endpoint(cluster, destination)
            if source_id not in known_components or destination_id not in known_components:
                continue
            data = [f"{prefix}-{asset_templates[s][0]}" for s in slots]
            flow: dict[str, Any] = {
                "id": f"{prefix}-{suffix}",
                "source": source_id,
                "destination": destination_id,
                "protocol": rng.choice(protocols),
                "authentication": rng.choice(auths),
                "encryption": rng.choice(encryptions),
                "data": [d for d in data if d in asset_ids],
            }
            if owner is not None and interface is not None:
                flow["interface"] = f"{_endpoint(cluster, owner)}.{interface}"
            if rng.random() < 0.3:
                flow["bidirectional"] = True
            flows.append(flow)
    # Models whose size is no multiple of CLUSTER_SIZE, or whose last cluster lost an
    # endpoint, get their remaining flows as extra uploads between existing components.
    extra = 0
    while len(flows) < counts.flows:
        source_id, destination_id = rng.sample(component_ids, 2)
        flows.append(
            {
                "id": f"extra{extra:05d}",
                "source": source_id,
                "destination": destination_id,
                "protocol": "https",
                "authentication": "token",
                "encryption": "tls",
                "data": [rng.choice(assets)["id"]] if assets else [],
            }
        )
        extra += 1

    rule_ids = _packaged_rule_ids()
    root: dict[str, Any] = {
        "schema_version": 1,
        "includes": ["components.yaml", "assets.yaml", "flows.yaml"],
        "system": {
            "name": f"Benchmark diabetes care network ({elements} elements)",
            "version": "1.0",
            "manufacturer": "Example Benchmark Devices",
            "intended_use": "Insulin therapy and glucose monitoring at home and in hospital wards.",
            "classification": {"eu_mdr": "IIb", "fda": "II"},
            "cyber_device": True,
            "clinical_functions": CLINICAL_FUNCTIONS,
        },
        "zones": ZONES,
        "actors": _actors(components),
        "controls": _controls(clusters, components, flows, rng),
        "assumptions": [
            {"id": "physical-security", "text": "Servers run in access-controlled rooms."},
            {
                "id": "trained-staff",
                "text": "Only trained biomedical engineers open the service port.",
            },
        ],
        "decisions": [
            {"threat": rule_ids[0], "status": "open", "owner": "security lead"},
        ],
    }
    return {
        "nemecys.yaml": root,
        "components.yaml": {"components": components},
        "assets.yaml": {"assets": assets},
        "flows.yaml": {"flows": flows},
    }


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def _endpoint(cluster: int, index: int) -> str:
    """Return the component id that a template index names, seen from CLUSTER."""
    if index >= 0:
        owner = cluster
    else:
        owner, index = cluster - 1, -1 - index
    if owner < 0:
        return ""
    templates = VARIANTS[owner % 2][1]
    return f"{_cluster_id(owner)}-{templates[index][0]}"


def _actors(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_kind: dict[str, list[str]] = {}
    for component in components:
        by_kind.setdefault(component["kind"], []).append(component["id"])
    return [
        {"id": "patient", "kind": "patient", "uses": by_kind.get("mobile_app", [])},
        {"id": "caregiver", "kind": "caregiver", "uses": by_kind.get("mobile_app", [])[::3]},
        {"id": "nurse", "kind": "clinician", "uses": by_kind.get("desktop_app", [])},
        {"id": "biomed", "kind": "biomedical_engineer", "uses": by_kind.get("device", [])},
        {"id": "it-admin", "kind": "it_administrator", "uses": by_kind.get("database", [])},
    ]


def _controls(
    clusters: int,
    components: list[dict[str, Any]],
    flows: list[dict[str, Any]],
    rng: random.Random,
) -> list[dict[str, Any]]:
    """Return one control per cluster, implemented (70 %) or planned.

    The controls cycle through the catalog controls that packaged flow, component and
    interface rules recommend. Each covers half of the cluster's elements of the rule's
    target. Every fourth control is instead a custom hardening control on the cluster's
    devices and databases, and it mitigates the first two rule ids.
    """
    library = load_library()
    catalog = set(load_catalog().by_id())
    recommended = sorted(
        {
            (control, rule.spec.target.value)
            for rule in library.rules.values()
            for control in rule.spec.controls
            if control in catalog
            and rule.spec.target in (Target.FLOW, Target.COMPONENT, Target.INTERFACE)
        }
    )
    rule_ids = sorted(library.rules)
    flows_by_cluster: dict[str, list[str]] = {}
    for flow in flows:
        flows_by_cluster.setdefault(flow["id"].split("-", 1)[0], []).append(flow["id"])
    components_by_cluster: dict[str, list[dict[str, Any]]] = {}
    for component in components:
        components_by_cluster.setdefault(component["id"].split("-", 1)[0], []).append(component)

    controls: list[dict[str, Any]] = []
    for cluster in range(clusters):
        prefix = _cluster_id(cluster)
        status = "implemented" if rng.random() < 0.7 else "planned"
        members = components_by_cluster.get(prefix, [])
        if cluster % 4 == 3 or not recommended:
            hardened = [c["id"] for c in members if c["kind"] in ("device", "database")]
            if hardened:
                controls.append(
                    {
                        "id": f"{prefix}-hardening",
                        "name": "Hardened configuration baseline",
                        "status": status,
                        "applies_to": hardened,
                        "mitigates": rule_ids[:2],
                        "exploitability_reduction": 1,
                    }
                )
            continue
        catalog_id, target = recommended[cluster % len(recommended)]
        if target == "flow":
            targets = flows_by_cluster.get(prefix, [])
        elif target == "interface":
            targets = [f"{c['id']}.{i['id']}" for c in members for i in c["interfaces"]]
        else:
            targets = [c["id"] for c in members]
        if targets:
            controls.append(
                {
                    "id": f"{prefix}-{catalog_id.lower()}",
                    "catalog": catalog_id,
                    "status": status,
                    "applies_to": rng.sample(targets, max(1, len(targets) // 2)),
                }
            )
    return controls


# --- synthetic rules ----------------------------------------------------------------------------

# Rules per target in the synthetic library, in the same proportions as pytm's rule targets
# (mostly process and server rules, then flows) mapped to nemecys targets.
_SYNTHETIC_TARGET_WEIGHTS = {
    Target.COMPONENT: 6,
    Target.INTERFACE: 2,
    Target.FLOW: 3,
    Target.ASSET: 1,
    Target.SYSTEM: 1,
}


def synthetic_library(count: int, seed: int = 1) -> dict[str, Any]:
    """Return a rule library of COUNT rules whose conditions are drawn from the fact registry.

    Each rule tests two facts of its target: a string or set fact against one to three of
    its allowed values, and a second fact of any type. The rules are not threat knowledge;
    they only give the engine the same number of rules to evaluate as pytm.
    """
    rng = random.Random(f"nemecys-bench-rules-{seed}")
    targets = [t for t, weight in _SYNTHETIC_TARGET_WEIGHTS.items() for _ in range(weight)]
    rules = []
    for number in range(1, count + 1):
        target = targets[number % len(targets)]
        facts = FACTS[target]
        choosable = sorted(name for name, spec in facts.items() if spec.values)
        first = rng.choice(choosable)
        second = rng.choice(sorted(name for name in facts if name != first))
        rules.append(
            {
                "id": f"BENCH-{target.value.upper()}-{number:03d}",
                "title": f"Synthetic {target.value} rule {number}",
                "description": "Benchmark rule generated from the fact registry.",
                "target": target.value,
                "stride": [
                    rng.choice(
                        ["spoofing", "tampering", "information_disclosure", "denial_of_service"]
                    )
                ],
                "objectives": [rng.choice(["confidentiality", "integrity", "availability"])],
                "when": {
                    "all": [
                        _condition(first, facts[first], rng),
                        _condition(second, facts[second], rng),
                    ]
                },
                "why": f"{{name}} matches {first} and {second}.",
            }
        )
    return {
        "library": {"id": "bench-synthetic", "version": "1", "source": "benchmarks/generate.py"},
        "rules": rules,
    }


def _condition(name: str, spec: Any, rng: random.Random) -> dict[str, Any]:
    if spec.type is FactType.BOOL:
        return {name: rng.random() < 0.5}
    if spec.type is FactType.INT:
        return {name: {"at_least": rng.randint(0, 3)}}
    if spec.values is None:  # a free-form set such as tags
        return {name: {"is_empty": True}}
    picked = rng.sample(spec.values, min(len(spec.values), rng.randint(1, 3)))
    if spec.type is FactType.SET:
        return {name: {"has_any": picked} if rng.random() < 0.7 else {"has_none": picked}}
    return {name: {"in": picked}}


def write_model(elements: int, folder: Path, *, seed: int = 1, rules_to: int = 0) -> Path:
    """Write the model of ELEMENTS elements into FOLDER and return the root file.

    With `rules_to` above the number of packaged rules, a synthetic library tops the rule
    count up to `rules_to` and the model names it under `threats.libraries`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    files = build_document(elements, seed)
    extra = rules_to - len(_packaged_rule_ids())
    if extra > 0:
        files["bench-rules.yaml"] = synthetic_library(extra, seed)
        files["nemecys.yaml"]["threats"] = {"libraries": ["bench-rules.yaml"]}
    for name, document in files.items():
        text = yaml.dump(document, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=100)
        (folder / name).write_text(text, encoding="utf-8")
    return folder / "nemecys.yaml"


# --- the equivalent pytm model --------------------------------------------------------------

# nemecys component kind to pytm class name.
PYTM_CLASS = {
    "device": "Process",
    "sensor": "Process",
    "implant": "Process",
    "mobile_app": "Process",
    "desktop_app": "Process",
    "cloud_service": "Server",
    "web_app": "Server",
    "gateway": "Server",
    "hospital_system": "Server",
    "database": "Datastore",
    "third_party_service": "ExternalEntity",
}

# Confidentiality need to pytm data classification.
PYTM_CLASSIFICATION = {
    "none": "PUBLIC",
    "low": "RESTRICTED",
    "medium": "SENSITIVE",
    "high": "SECRET",
}


def build_pytm(files: dict[str, Any]) -> Any:
    """Build the pytm 1.4.0 model of a `build_document` result and return its `TM`.

    Zones become Boundaries. Components become Server, Process, Datastore or ExternalEntity
    (see `PYTM_CLASS`) in their zone's Boundary, and actors become Actors. Assets become Data
    with a classification from their confidentiality need, `isPII` for PHI and readings,
    `isCredentials`, and `isStored` when a component stores them. Flows become Dataflows with
    protocol, data, `controls.isEncrypted` and `controls.authenticatesSource`.

    Implemented controls map by catalog category. Cryptography and confidentiality controls
    set `isEncrypted` on the flows they cover. Authentication and authorization controls set
    `authenticatesSource` on the flows and components they cover. Other categories and custom
    controls set `controls.isHardened` on the components they cover.

    pytm's `TM.check()` copies the sink's `protocol` and `controls.isEncrypted` onto each
    forward flow and overwrites the flow's own values. So each sink also gets the most common
    protocol of its inbound flows, and `isEncrypted` when all of them are encrypted.

    The caller must call `TM.reset()` first, because pytm keeps elements in class state.
    """
    import pytm

    root = files["nemecys.yaml"]
    components = files["components.yaml"]["components"]
    assets = files["assets.yaml"]["assets"]
    flows = files["flows.yaml"]["flows"]

    model = pytm.TM(root["system"]["name"], description=root["system"]["intended_use"])
    zone_ids = {z["id"] for z in root["zones"]} | {c["zone"] for c in components}
    boundaries = {zone: pytm.Boundary(zone) for zone in sorted(zone_ids)}

    inbound: dict[str, list[dict[str, Any]]] = {}
    for flow in flows:
        inbound.setdefault(flow["destination"], []).append(flow)
    categories = {
        c.id: str(getattr(c.category, "value", c.category)) for c in load_catalog().controls
    }
    encrypted_by_control: set[str] = set()
    authenticated_by_control: set[str] = set()
    hardened: set[str] = set()
    for control in root["controls"]:
        if control["status"] != "implemented":
            continue
        category = categories.get(control.get("catalog", ""))
        if category in ("cryptography", "confidentiality"):
            encrypted_by_control.update(control["applies_to"])
        elif category in ("authentication", "authorization"):
            authenticated_by_control.update(control["applies_to"])
        else:
            hardened.update(control["applies_to"])

    elements: dict[str, Any] = {}
    for component in components:
        cls = getattr(pytm, PYTM_CLASS[component["kind"]])
        incoming = inbound.get(component["id"], [])
        kwargs: dict[str, Any] = {"inBoundary": boundaries[component["zone"]]}
        if component.get("out_of_scope"):
            kwargs["inScope"] = False
        if incoming:
            kwargs["protocol"] = Counter(f["protocol"] for f in incoming).most_common(1)[0][0]
        element = cls(component["id"], **kwargs)
        element.controls.isEncrypted = bool(incoming) and all(
            f["encryption"] in _ENCRYPTED for f in incoming
        )
        if component["id"] in hardened:
            element.controls.isHardened = True
        if component["id"] in authenticated_by_control:
            element.controls.authenticatesSource = True
        elements[component["id"]] = element
    for actor in root["actors"]:
        elements[actor["id"]] = pytm.Actor(actor["id"])

    stored = {a for c in components for a in c.get("stores", [])}
    data: dict[str, Any] = {}
    for asset in assets:
        data[asset["id"]] = pytm.Data(
            asset["id"],
            classification=getattr(
                pytm.Classification, PYTM_CLASSIFICATION[asset["confidentiality"]]
            ),
            isPII=asset["kind"] in ("phi", "sensor_readings"),
            isCredentials=asset["kind"] == "credentials",
            isStored=asset["id"] in stored,
        )

    for flow in flows:
        dataflow = pytm.Dataflow(
            elements[flow["source"]],
            elements[flow["destination"]],
            flow["id"],
            protocol=flow["protocol"],
            data=[data[d] for d in flow["data"]],
        )
        dataflow.controls.isEncrypted = (
            flow["encryption"] in _ENCRYPTED or flow["id"] in encrypted_by_control
        )
        dataflow.controls.authenticatesSource = (
            flow["authentication"] in _AUTHENTICATED or flow["id"] in authenticated_by_control
        )
        dataflow.usesVPN = flow["encryption"] == "vpn"
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description="Write nemecys benchmark models as YAML files.")
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[100, 1000, 10000],
        help="element counts (components + flows + assets) of the models",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("benchmarks/results/models"),
        help="folder that receives one sub-folder per size",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the generator")
    parser.add_argument(
        "--rules-to",
        type=int,
        default=0,
        help="top the rule count up to this many rules with a synthetic library (0: off)",
    )
    args = parser.parse_args()
    for size in args.sizes:
        path = write_model(size, args.output / f"n{size}", seed=args.seed, rules_to=args.rules_to)
        counts = split(size)
        print(
            f"{path}: {counts.components} components, {counts.flows} flows, {counts.assets} assets"
        )


if __name__ == "__main__":
    main()
