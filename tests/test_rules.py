"""Tests of the packaged threat rules and control catalog against small models and examples.

Four small scenario models cover every packaged rule: a home insulin system (BLE, phone apps,
cloud), a hospital (HL7, DICOM, FHIR, MQTT, service ports, remote service), a bonded-BLE pair,
and a cyber device with no update path and no logs. The table `EXPECTED` names, for each rule
id, the scenario and the element it must fire on, and a new rule without an entry fails
`test_every_rule_has_a_scenario`. Negative cases change one design fact and check that the rule
goes quiet. The real examples then run through the whole assessment.
"""

from __future__ import annotations

import copy
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from nemecys.assess import assess
from nemecys.controls import load_catalog
from nemecys.model.schema import SystemModel
from nemecys.threats import ModelIndex, ThreatLibrary, derive_threats, load_library

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CONTROL_CATEGORIES = {
    "authentication",
    "authorization",
    "cryptography",
    "integrity",
    "confidentiality",
    "event_detection_and_logging",
    "resiliency_and_recovery",
    "updatability_and_patchability",
}


@cache
def catalog_ids() -> frozenset[str]:
    return frozenset(c.id for c in load_catalog().controls)


@cache
def library() -> ThreatLibrary:
    return load_library(catalog_ids=set(catalog_ids()))


def derive(model: dict[str, Any]) -> dict[str, str]:
    """Return the threats the packaged library raises on `model`, as threat id to why text."""
    index = ModelIndex(SystemModel.model_validate(model))
    return {t.id: t.why for t in derive_threats(index, library())}


# --- scenario models --------------------------------------------------------------------------


def home_insulin_system() -> dict[str, Any]:
    """Insulin pump and CGM on BLE, a phone app, a multi-patient cloud with third parties."""
    return {
        "system": {
            "name": "Home insulin system",
            "intended_use": "Insulin delivery adjusted from CGM readings, with remote follow-up.",
            "cyber_device": True,
            "clinical_functions": [
                {"id": "insulin-delivery", "harm": "Overdose", "severity": "catastrophic"},
                {"id": "glucose-alarms", "harm": "Missed hypoglycaemia", "severity": "critical"},
                {"id": "remote-monitoring", "harm": "Caregiver acts late", "severity": "serious"},
            ],
        },
        "components": [
            {
                "id": "cgm",
                "kind": "sensor",
                "zone": "patient-body",
                "functions": ["remote-monitoring", "glucose-alarms"],
                "interfaces": [{"id": "ble", "kind": "ble", "authentication": "none"}],
                "stores": ["readings"],
            },
            {
                "id": "pump",
                "kind": "device",
                "zone": "patient-body",
                "functions": ["insulin-delivery"],
                "interfaces": [
                    {"id": "ble", "kind": "ble", "authentication": "none"},
                    {"id": "ui", "kind": "ui", "authentication": "none"},
                    {"id": "uart", "kind": "serial_debug", "authentication": "none"},
                    {"id": "usb", "kind": "usb", "authentication": "none"},
                    {"id": "nfc", "kind": "nfc", "authentication": "none"},
                ],
                "software": {"update_mechanism": "remote"},
                "stores": ["settings", "pump-keys", "pump-firmware", "pump-config"],
            },
            {
                "id": "app",
                "kind": "mobile_app",
                "zone": "patient-home",
                "functions": ["insulin-delivery", "glucose-alarms"],
                "interfaces": [
                    {"id": "ble", "kind": "ble", "authentication": "ble_pairing"},
                    {"id": "internet", "kind": "internet"},
                ],
                "software": {"update_mechanism": "remote"},
                "stores": ["history", "app-token", "bolus"],
            },
            {
                "id": "cloud",
                "kind": "web_app",
                "zone": "vendor-cloud",
                "functions": ["remote-monitoring", "insulin-delivery"],
                "patients": "multiple",
                "interfaces": [{"id": "api", "kind": "internet", "authentication": "token"}],
                "software": {"update_mechanism": "operator_managed"},
                "stores": [
                    "cloud-secrets",
                    "cloud-config",
                    "server-logs",
                    "settings",
                    "pump-firmware",
                ],
            },
            {
                "id": "db",
                "kind": "database",
                "zone": "vendor-cloud",
                "patients": "multiple",
                "internet_facing": True,
                "software": {"update_mechanism": "operator_managed", "third_party": True},
                "stores": ["readings", "history"],
            },
            {
                "id": "push",
                "kind": "third_party_service",
                "zone": "vendor-cloud",
                "functions": ["glucose-alarms"],
                "software": {"third_party": True},
            },
        ],
        "assets": [
            {
                "id": "readings",
                "kind": "sensor_readings",
                "integrity": "high",
                "availability": "high",
                "functions": ["remote-monitoring", "glucose-alarms"],
            },
            {
                "id": "bolus",
                "kind": "therapy_commands",
                "integrity": "high",
                "functions": ["insulin-delivery"],
            },
            {
                "id": "settings",
                "kind": "therapy_parameters",
                "integrity": "high",
                "functions": ["insulin-delivery"],
            },
            {
                "id": "history",
                "kind": "phi",
                "confidentiality": "high",
                "integrity": "high",
                "functions": ["remote-monitoring"],
            },
            {
                "id": "alarm-events",
                "kind": "alarms",
                "integrity": "high",
                "availability": "high",
                "functions": ["glucose-alarms"],
            },
            {"id": "app-token", "kind": "credentials", "confidentiality": "high"},
            {"id": "pump-keys", "kind": "credentials", "confidentiality": "high"},
            {"id": "cloud-secrets", "kind": "credentials", "confidentiality": "high"},
            {
                "id": "cloud-config",
                "kind": "configuration",
                "integrity": "high",
                "functions": ["glucose-alarms"],
            },
            {"id": "pump-config", "kind": "configuration"},
            {
                "id": "pump-firmware",
                "kind": "firmware",
                "integrity": "high",
                "functions": ["insulin-delivery"],
            },
            {
                "id": "server-logs",
                "kind": "logs",
                "confidentiality": "medium",
                "integrity": "medium",
            },
        ],
        "flows": [
            {
                "id": "cgm-to-app",
                "source": "cgm",
                "destination": "app",
                "protocol": "ble_gatt",
                "interface": "cgm.ble",
                "authentication": "none",
                "encryption": "none",
                "data": ["readings"],
            },
            {
                "id": "app-to-pump",
                "source": "app",
                "destination": "pump",
                "protocol": "ble_gatt",
                "interface": "pump.ble",
                "authentication": "none",
                "encryption": "none",
                "data": ["bolus"],
            },
            {
                "id": "remote-bolus",
                "source": "cloud",
                "destination": "app",
                "protocol": "https",
                "authentication": "api_key",
                "encryption": "tls",
                "data": ["bolus"],
            },
            {
                "id": "app-upload",
                "source": "app",
                "destination": "cloud",
                "protocol": "https",
                "interface": "cloud.api",
                "authentication": "token",
                "encryption": "tls",
                "data": ["readings", "history"],
            },
            {
                "id": "uploader-secret",
                "source": "app",
                "destination": "cloud",
                "protocol": "https",
                "authentication": "shared_secret",
                "encryption": "tls",
                "data": ["readings"],
            },
            {
                "id": "clinic-portal",
                "source": "clinician",
                "destination": "cloud",
                "protocol": "websocket",
                "authentication": "password",
                "encryption": "tls",
                "data": ["history", "settings"],
                "bidirectional": True,
            },
            {
                "id": "public-view",
                "source": "caregiver",
                "destination": "cloud",
                "protocol": "https",
                "authentication": "none",
                "encryption": "tls",
                "data": ["readings"],
            },
            {
                "id": "cloud-to-db",
                "source": "cloud",
                "destination": "db",
                "protocol": "mongodb",
                "authentication": "password",
                "encryption": "tls",
                "data": ["readings", "history"],
                "bidirectional": True,
            },
            {
                "id": "alarm-out",
                "source": "cloud",
                "destination": "push",
                "protocol": "https",
                "authentication": "api_key",
                "encryption": "tls",
                "data": ["alarm-events", "history"],
            },
            {
                "id": "alarm-push",
                "source": "push",
                "destination": "app",
                "protocol": "push_notification",
                "authentication": "token",
                "encryption": "tls",
                "data": ["alarm-events", "history"],
            },
            {
                "id": "alarm-ack",
                "source": "push",
                "destination": "cloud",
                "protocol": "https",
                "authentication": "none",
                "encryption": "tls",
                "data": ["alarm-events"],
            },
        ],
        "actors": [
            {"id": "patient", "kind": "patient", "uses": ["app", "pump"]},
            {"id": "clinician", "kind": "clinician", "uses": ["cloud"]},
            {"id": "caregiver", "kind": "caregiver", "uses": ["cloud"]},
        ],
    }


def hospital_system() -> dict[str, Any]:
    """Infusion pumps and imaging in a hospital, with HL7, DICOM, FHIR and remote service."""
    return {
        "system": {
            "name": "Hospital infusion and imaging",
            "intended_use": "Infusion delivery and CT imaging in hospital care areas.",
            "cyber_device": True,
            "clinical_functions": [
                {
                    "id": "infusion",
                    "harm": "Overdose of a high-alert drug",
                    "severity": "catastrophic",
                },
                {
                    "id": "diagnosis",
                    "harm": "Missed finding",
                    "severity": "critical",
                    "reach": "multiple",
                },
            ],
        },
        "zones": [
            {"id": "device-lan", "kind": "hospital_network"},
            {"id": "dmz", "kind": "hospital_network"},
        ],
        "components": [
            {
                "id": "pump",
                "kind": "device",
                "zone": "device-lan",
                "functions": ["infusion"],
                "interfaces": [
                    {"id": "wifi", "kind": "wifi", "authentication": "password"},
                    {"id": "usb", "kind": "usb", "authentication": "password"},
                    {"id": "uart", "kind": "serial_debug", "enabled_in_field": False},
                    {"id": "ui", "kind": "ui", "authentication": "none"},
                    {"id": "modem", "kind": "cellular", "authentication": "certificate"},
                ],
                "software": {"update_mechanism": "service_tool"},
                "stores": ["pump-certs", "event-log"],
            },
            {
                "id": "workstation",
                "kind": "desktop_app",
                "zone": "device-lan",
                "functions": ["diagnosis"],
                "patients": "multiple",
                "interfaces": [
                    {"id": "lan", "kind": "ethernet", "authentication": "none"},
                    {"id": "usb", "kind": "usb", "authentication": "none"},
                    {"id": "cd", "kind": "removable_media", "authentication": "none"},
                    {"id": "ui", "kind": "ui", "authentication": "password"},
                ],
                "software": {"update_mechanism": "remote"},
                "stores": ["ct-images", "ws-accounts"],
            },
            {
                "id": "server",
                "kind": "web_app",
                "zone": "hospital-network",
                "functions": ["infusion"],
                "patients": "multiple",
                "interfaces": [
                    {"id": "console", "kind": "ethernet", "authentication": "password"},
                    {"id": "hl7", "kind": "ethernet", "authentication": "none"},
                ],
                "software": {"update_mechanism": "operator_managed"},
                "stores": ["orders", "pump-settings"],
            },
            {
                "id": "pacs",
                "kind": "hospital_system",
                "zone": "hospital-network",
                "functions": ["diagnosis"],
                "patients": "multiple",
                "software": {"update_mechanism": "operator_managed", "third_party": True},
                "stores": ["ct-images", "demographics"],
            },
            {
                "id": "ehr",
                "kind": "hospital_system",
                "zone": "hospital-network",
                "patients": "multiple",
                "software": {"update_mechanism": "operator_managed", "third_party": True},
            },
            {
                "id": "gateway",
                "kind": "gateway",
                "zone": "dmz",
                "functions": ["diagnosis"],
                "interfaces": [
                    {"id": "uplink", "kind": "internet", "authentication": "mutual_tls"},
                    {"id": "lan", "kind": "ethernet", "authentication": "password"},
                ],
                "software": {"update_mechanism": "remote"},
                "stores": ["service-keys"],
            },
            {
                "id": "service-center",
                "kind": "cloud_service",
                "zone": "manufacturer",
                "functions": ["diagnosis"],
                "software": {"update_mechanism": "operator_managed"},
            },
            {
                "id": "broker",
                "kind": "cloud_service",
                "zone": "hospital-network",
                "software": {"update_mechanism": "operator_managed", "third_party": True},
            },
        ],
        "assets": [
            {
                "id": "orders",
                "kind": "therapy_commands",
                "integrity": "high",
                "functions": ["infusion"],
            },
            {"id": "pump-settings", "kind": "configuration", "integrity": "medium"},
            {
                "id": "ct-images",
                "kind": "images",
                "confidentiality": "high",
                "integrity": "high",
                "functions": ["diagnosis"],
            },
            {"id": "demographics", "kind": "phi", "integrity": "high", "functions": ["diagnosis"]},
            {"id": "event-log", "kind": "logs", "confidentiality": "low", "integrity": "low"},
            {"id": "pump-certs", "kind": "credentials", "confidentiality": "high"},
            {"id": "ws-accounts", "kind": "credentials", "confidentiality": "high"},
            {"id": "service-keys", "kind": "credentials", "confidentiality": "high"},
            {"id": "telemetry", "kind": "other"},
        ],
        "flows": [
            {
                "id": "ehr-order",
                "source": "ehr",
                "destination": "server",
                "protocol": "hl7v2_mllp",
                "interface": "server.hl7",
                "authentication": "none",
                "encryption": "none",
                "data": ["orders", "demographics"],
            },
            {
                "id": "order-to-pump",
                "source": "server",
                "destination": "pump",
                "protocol": "proprietary",
                "authentication": "password",
                "encryption": "none",
                "data": ["orders"],
            },
            {
                "id": "pump-check-in",
                "source": "pump",
                "destination": "server",
                "protocol": "proprietary",
                "authentication": "mutual_tls",
                "encryption": "tls",
                "data": ["event-log"],
            },
            {
                "id": "admin-console",
                "source": "workstation",
                "destination": "server",
                "protocol": "https",
                "interface": "server.console",
                "authentication": "password",
                "encryption": "tls",
                "data": ["pump-settings", "ws-accounts"],
            },
            {
                "id": "image-store",
                "source": "workstation",
                "destination": "pacs",
                "protocol": "dicom",
                "authentication": "none",
                "encryption": "none",
                "data": ["ct-images"],
            },
            {
                "id": "fhir-export",
                "source": "server",
                "destination": "ehr",
                "protocol": "fhir_rest",
                "authentication": "none",
                "encryption": "tls",
                "data": ["demographics"],
            },
            {
                "id": "mail-report",
                "source": "server",
                "destination": "ehr",
                "protocol": "smtp",
                "authentication": "password",
                "encryption": "tls",
                "data": ["demographics"],
            },
            {
                "id": "telemetry-mqtt",
                "source": "pump",
                "destination": "broker",
                "protocol": "mqtts",
                "authentication": "certificate",
                "encryption": "tls",
                "data": ["telemetry"],
            },
            {
                "id": "workstation-to-pump",
                "source": "workstation",
                "destination": "pump",
                "protocol": "proprietary",
                "authentication": "none",
                "encryption": "tls",
                "data": ["pump-settings"],
            },
            {
                "id": "remote-session",
                "source": "service-center",
                "destination": "gateway",
                "protocol": "proprietary",
                "interface": "gateway.uplink",
                "authentication": "mutual_tls",
                "encryption": "tls",
                "data": ["service-keys"],
            },
            {
                "id": "service-relay",
                "source": "gateway",
                "destination": "workstation",
                "protocol": "proprietary",
                "authentication": "password",
                "encryption": "tls",
                "data": ["service-keys"],
            },
        ],
        "actors": [
            {"id": "nurse", "kind": "clinician", "uses": ["pump"]},
            {"id": "biomed", "kind": "biomedical_engineer", "uses": ["pump"]},
        ],
    }


def bonded_ble_system() -> dict[str, Any]:
    """A sensor and a pump that trust their bonded BLE links and nothing more."""
    return {
        "system": {
            "name": "Bonded BLE pair",
            "intended_use": "Closed-loop insulin delivery.",
            "clinical_functions": [
                {"id": "dosing", "harm": "Overdose", "severity": "catastrophic"},
            ],
        },
        "components": [
            {"id": "sensor", "kind": "sensor", "zone": "patient-body", "functions": ["dosing"]},
            {
                "id": "phone",
                "kind": "mobile_app",
                "zone": "patient-home",
                "functions": ["dosing"],
                "software": {"update_mechanism": "app_store"},
            },
            {
                "id": "pump",
                "kind": "device",
                "zone": "patient-body",
                "functions": ["dosing"],
                "interfaces": [{"id": "ble", "kind": "ble", "authentication": "ble_pairing"}],
            },
        ],
        "assets": [
            {
                "id": "glucose",
                "kind": "sensor_readings",
                "integrity": "high",
                "functions": ["dosing"],
            },
            {
                "id": "dose",
                "kind": "therapy_commands",
                "integrity": "high",
                "functions": ["dosing"],
            },
            {"id": "pump-log", "kind": "logs"},
        ],
        "flows": [
            {
                "id": "glucose-link",
                "source": "sensor",
                "destination": "phone",
                "protocol": "ble_gatt",
                "authentication": "ble_pairing",
                "encryption": "ble_link",
                "data": ["glucose"],
            },
            {
                "id": "dose-link",
                "source": "phone",
                "destination": "pump",
                "protocol": "ble_gatt",
                "interface": "pump.ble",
                "authentication": "ble_pairing",
                "encryption": "ble_link",
                "data": ["dose"],
            },
        ],
    }


def frozen_cyber_device() -> dict[str, Any]:
    """A cyber device whose components cannot be updated and which keeps no logs."""
    return {
        "system": {
            "name": "Frozen monitor",
            "intended_use": "Bedside vital signs display.",
            "cyber_device": True,
            "clinical_functions": [
                {"id": "display", "harm": "Missed alarm", "severity": "serious"}
            ],
        },
        "components": [
            {
                "id": "monitor",
                "kind": "device",
                "zone": "hospital-network",
                "functions": ["display"],
            },
        ],
    }


SCENARIOS = {
    "home": home_insulin_system,
    "hospital": hospital_system,
    "bonded": bonded_ble_system,
    "frozen": frozen_cyber_device,
}


@cache
def scenario_threats(name: str) -> dict[str, str]:
    return derive(SCENARIOS[name]())


# Each packaged rule id with the scenario and the element it must fire on.
EXPECTED: dict[str, tuple[str, str]] = {
    # stride.yaml
    "NMC-STRIDE-S-001": ("hospital", "workstation-to-pump"),
    "NMC-STRIDE-T-001": ("hospital", "order-to-pump"),
    "NMC-STRIDE-I-001": ("home", "cgm-to-app"),
    "NMC-STRIDE-S-002": ("home", "cloud"),
    "NMC-STRIDE-R-001": ("home", "app"),
    "NMC-STRIDE-D-001": ("home", "cloud"),
    "NMC-STRIDE-E-001": ("hospital", "gateway"),
    "NMC-STRIDE-E-002": ("hospital", "server.console"),
    "NMC-STRIDE-I-010": ("home", "history"),
    "NMC-STRIDE-T-010": ("home", "settings"),
    "NMC-STRIDE-D-010": ("home", "readings"),
    "NMC-STRIDE-R-010": ("home", "server-logs"),
    "NMC-STRIDE-I-011": ("home", "server-logs"),
    "NMC-STRIDE-I-012": ("home", "app-token"),
    # medical.yaml
    "NMC-MED-BLE-001": ("home", "app-to-pump"),
    "NMC-MED-BLE-002": ("bonded", "dose-link"),
    "NMC-MED-BLE-003": ("home", "cgm-to-app"),
    "NMC-MED-BLE-004": ("bonded", "glucose-link"),
    "NMC-MED-RPL-001": ("hospital", "order-to-pump"),
    "NMC-MED-REM-001": ("home", "remote-bolus"),
    "NMC-MED-DOSE-001": ("home", "app"),
    "NMC-MED-DOT-001": ("home", "app-to-pump"),
    "NMC-MED-DOT-002": ("home", "cgm"),
    "NMC-MED-ALM-001": ("home", "alarm-ack"),
    "NMC-MED-ALM-002": ("home", "alarm-push"),
    "NMC-MED-ALM-003": ("home", "cloud-config"),
    "NMC-MED-TIME-001": ("home", "readings"),
    "NMC-MED-ID-001": ("hospital", "demographics"),
    "NMC-MED-IMG-001": ("hospital", "ct-images"),
    "NMC-MED-MULTI-001": ("home", "cloud"),
    "NMC-MED-MULTI-002": ("hospital", "pacs"),
    "NMC-MED-BRK-001": ("hospital", "pump"),
    # device.yaml
    "NMC-DEV-DBG-001": ("home", "pump.uart"),
    "NMC-DEV-DBG-002": ("hospital", "pump.uart"),
    "NMC-DEV-USB-001": ("home", "pump.usb"),
    "NMC-DEV-MEDIA-001": ("hospital", "workstation.cd"),
    "NMC-DEV-NFC-001": ("home", "pump.nfc"),
    "NMC-DEV-SVC-001": ("hospital", "pump.usb"),
    "NMC-DEV-FW-001": ("home", "pump"),
    "NMC-DEV-FW-002": ("home", "pump"),
    "NMC-DEV-FW-003": ("hospital", "pump"),
    "NMC-DEV-FW-004": ("home", "pump-firmware"),
    "NMC-DEV-FW-005": ("home", "pump-firmware"),
    "NMC-DEV-KEY-001": ("home", "pump"),
    "NMC-DEV-MEM-001": ("home", "pump"),
    "NMC-DEV-IN-001": ("home", "cgm"),
    "NMC-DEV-UI-001": ("home", "pump.ui"),
    "NMC-DEV-BLE-010": ("home", "cgm.ble"),
    "NMC-DEV-BLE-011": ("home", "cgm.ble"),
    # network.yaml
    "NMC-NET-SEG-001": ("hospital", "workstation"),
    "NMC-NET-WIFI-001": ("hospital", "pump.wifi"),
    "NMC-NET-JAM-001": ("home", "pump"),
    "NMC-NET-CELL-001": ("hospital", "pump.modem"),
    "NMC-NET-HL7-001": ("hospital", "ehr-order"),
    "NMC-NET-DICOM-001": ("hospital", "image-store"),
    "NMC-NET-FHIR-001": ("hospital", "fhir-export"),
    "NMC-NET-MQTT-001": ("hospital", "telemetry-mqtt"),
    "NMC-NET-SMTP-001": ("hospital", "mail-report"),
    "NMC-NET-REMOTE-001": ("hospital", "remote-session"),
    "NMC-NET-EXT-001": ("hospital", "gateway"),
    # cloud.yaml
    "NMC-CLOUD-INJ-001": ("home", "cloud"),
    "NMC-CLOUD-XSS-001": ("home", "cloud"),
    "NMC-CLOUD-BAC-001": ("home", "cloud"),
    "NMC-CLOUD-TEN-001": ("home", "db"),
    "NMC-CLOUD-GUESS-001": ("home", "cloud"),
    "NMC-CLOUD-STUFF-001": ("home", "cloud"),
    "NMC-CLOUD-DB-001": ("home", "db"),
    "NMC-CLOUD-SECRET-001": ("home", "cloud"),
    "NMC-CLOUD-ANON-001": ("home", "cloud"),
    "NMC-CLOUD-TOKEN-001": ("home", "cloud"),
    "NMC-CLOUD-ACCT-001": ("home", "cloud"),
    "NMC-CLOUD-WS-001": ("home", "clinic-portal"),
    # mobile.yaml
    "NMC-MOB-ROOT-001": ("home", "app"),
    "NMC-MOB-IPC-001": ("home", "app"),
    "NMC-MOB-BKP-001": ("home", "app"),
    "NMC-MOB-NOTIF-001": ("home", "app"),
    "NMC-MOB-PERM-001": ("home", "app"),
    "NMC-MOB-SIDE-001": ("home", "app"),
    "NMC-MOB-PUSH-001": ("home", "alarm-push"),
    "NMC-MOB-OVERLAY-001": ("home", "app"),
    "NMC-MOB-LOST-001": ("home", "app"),
    "NMC-MOB-TLS-001": ("home", "app"),
    # supply-chain.yaml
    "NMC-SC-SBOM-001": ("home", "system"),
    "NMC-SC-OTS-001": ("hospital", "pacs"),
    "NMC-SC-NOUPD-001": ("home", "cgm"),
    "NMC-SC-TPS-001": ("home", "push"),
    "NMC-SC-TPS-002": ("home", "alarm-out"),
    "NMC-SC-DEP-001": ("home", "cloud"),
    "NMC-SC-PIPE-001": ("home", "system"),
    # lifecycle.yaml
    "NMC-LC-UPD-001": ("frozen", "system"),
    "NMC-LC-LOG-001": ("frozen", "system"),
    "NMC-LC-CONF-001": ("home", "cloud"),
    "NMC-LC-PATCH-001": ("home", "cloud"),
    "NMC-LC-CERT-001": ("hospital", "pump-check-in"),
    "NMC-LC-SVC-001": ("hospital", "pump"),
    "NMC-LC-DECOM-001": ("home", "app"),
}


# --- library and catalog ----------------------------------------------------------------------


def test_library_loads_with_enough_rules() -> None:
    assert len(library().rules) >= 85


def test_catalog_covers_every_fda_category() -> None:
    controls = load_catalog().controls
    assert len(controls) >= 45
    assert {c.category for c in controls} == CONTROL_CATEGORIES


def test_every_catalog_control_is_named_by_a_rule() -> None:
    named = {c for rule in library().rules.values() for c in rule.spec.controls}
    assert set(catalog_ids()) - named == set()


def test_every_rule_names_a_control() -> None:
    without = [rule.id for rule in library().rules.values() if not rule.spec.controls]
    assert without == []


def test_rule_ids_use_a_known_prefix() -> None:
    prefixes = (
        "NMC-STRIDE-",
        "NMC-MED-",
        "NMC-DEV-",
        "NMC-NET-",
        "NMC-CLOUD-",
        "NMC-MOB-",
        "NMC-SC-",
        "NMC-LC-",
    )
    odd = [rule_id for rule_id in library().rules if not rule_id.startswith(prefixes)]
    assert odd == []


def test_rules_cite_capec_and_cwe() -> None:
    for rule in library().rules.values():
        assert rule.spec.capec, f"{rule.id} names no CAPEC id"
        assert rule.spec.cwe, f"{rule.id} names no CWE id"


def test_severity_reducers_are_harm_limiters() -> None:
    # Only controls that limit the harm itself lower severity, so transport and login controls
    # must not.
    reducers = {c.id for c in load_catalog().controls if c.severity_reduction}
    assert {"CTL-DOSE-LIMIT", "CTL-FAIL-SAFE", "CTL-LOCAL-ALARM"} <= reducers
    assert "CTL-TLS" not in reducers
    assert "CTL-MFA" not in reducers


def test_catalog_references_quote_no_standard_text() -> None:
    for control in load_catalog().controls:
        for reference in control.references:
            if reference.startswith(("IEC", "ISO", "AAMI")):
                assert len(reference.split()) <= 4, (
                    f"{control.id}: '{reference}' looks like a quote"
                )


# --- every rule fires on a small model --------------------------------------------------------


def test_every_rule_has_a_scenario() -> None:
    assert set(library().rules) == set(EXPECTED)


@pytest.mark.parametrize("rule_id", sorted(EXPECTED))
def test_rule_fires_on_scenario(rule_id: str) -> None:
    scenario, element = EXPECTED[rule_id]
    threats = scenario_threats(scenario)
    assert f"{rule_id}@{element}" in threats, sorted(t for t in threats if t.startswith(rule_id))


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_why_renders_fully_on_scenario(scenario: str) -> None:
    for threat_id, why in scenario_threats(scenario).items():
        assert "{" not in why, f"{threat_id}: {why}"
        assert why.endswith("."), f"{threat_id}: {why}"


# --- rules stay quiet without the design fact -------------------------------------------------


def flow(model: dict[str, Any], flow_id: str) -> dict[str, Any]:
    return next(f for f in model["flows"] if f["id"] == flow_id)


def interface(model: dict[str, Any], component_id: str, interface_id: str) -> dict[str, Any]:
    component = next(c for c in model["components"] if c["id"] == component_id)
    return next(i for i in component["interfaces"] if i["id"] == interface_id)


def test_tls_flow_is_not_eavesdropped() -> None:
    model = home_insulin_system()
    assert "NMC-STRIDE-I-001@cgm-to-app" in derive(model)
    flow(model, "cgm-to-app")["encryption"] = "tls"
    threats = derive(model)
    assert "NMC-STRIDE-I-001@cgm-to-app" not in threats
    assert "NMC-STRIDE-T-001@cgm-to-app" not in threats


def test_low_confidentiality_flow_is_not_eavesdropped() -> None:
    model = home_insulin_system()
    next(a for a in model["assets"] if a["id"] == "readings")["confidentiality"] = "low"
    threats = derive(model)
    assert "NMC-STRIDE-I-001@cgm-to-app" not in threats
    assert "NMC-STRIDE-T-001@cgm-to-app" in threats


def test_tls_flows_raise_no_transit_threat() -> None:
    threats = scenario_threats("home")
    for flow_id in ("app-upload", "remote-bolus", "cloud-to-db", "alarm-out"):
        assert f"NMC-STRIDE-I-001@{flow_id}" not in threats
        assert f"NMC-STRIDE-T-001@{flow_id}" not in threats


def test_authenticated_ble_command_raises_no_ble_threat() -> None:
    model = home_insulin_system()
    command = flow(model, "app-to-pump")
    command["authentication"] = "ble_pairing"
    command["encryption"] = "application"
    threats = derive(model)
    assert "NMC-MED-BLE-001@app-to-pump" not in threats
    assert "NMC-MED-BLE-002@app-to-pump" not in threats
    assert "NMC-MED-RPL-001@app-to-pump" not in threats


def test_bonding_alone_raises_only_the_bonding_threat() -> None:
    threats = scenario_threats("bonded")
    assert "NMC-MED-BLE-002@dose-link" in threats
    assert "NMC-MED-BLE-001@dose-link" not in threats
    assert "NMC-MED-BLE-004@glucose-link" in threats
    assert "NMC-MED-BLE-003@glucose-link" not in threats


def test_app_crypto_silences_reading_bonding() -> None:
    model = bonded_ble_system()
    flow(model, "glucose-link")["encryption"] = "application"
    assert "NMC-MED-BLE-004@glucose-link" not in derive(model)


def test_debug_port_disabled_in_field() -> None:
    threats = scenario_threats("hospital")
    assert "NMC-DEV-DBG-002@pump.uart" in threats
    assert "NMC-DEV-DBG-001@pump.uart" not in threats


def test_certificate_wifi_raises_no_shared_key_threat() -> None:
    model = hospital_system()
    interface(model, "pump", "wifi")["authentication"] = "certificate"
    assert "NMC-NET-WIFI-001@pump.wifi" not in derive(model)


def test_hl7_over_mutual_tls_is_quiet() -> None:
    model = hospital_system()
    order = flow(model, "ehr-order")
    order["authentication"] = "mutual_tls"
    order["encryption"] = "tls"
    assert "NMC-NET-HL7-001@ehr-order" not in derive(model)


def test_transit_rules_skip_healthcare_protocols() -> None:
    threats = scenario_threats("hospital")
    for flow_id in ("ehr-order", "image-store"):
        assert f"NMC-STRIDE-I-001@{flow_id}" not in threats
        assert f"NMC-STRIDE-T-001@{flow_id}" not in threats
        assert f"NMC-STRIDE-S-001@{flow_id}" not in threats


def test_private_database_is_not_internet_exposed() -> None:
    model = home_insulin_system()
    next(c for c in model["components"] if c["id"] == "db")["internet_facing"] = False
    threats = derive(model)
    assert "NMC-CLOUD-DB-001@db" not in threats


def test_anonymous_websocket_no_hijacking() -> None:
    # Cross-site hijacking needs ambient credentials, so an anonymous socket is a different threat.
    model = home_insulin_system()
    flow(model, "clinic-portal")["authentication"] = "none"
    assert "NMC-CLOUD-WS-001@clinic-portal" not in derive(model)


def test_single_patient_server_no_cross_patient() -> None:
    model = home_insulin_system()
    next(c for c in model["components"] if c["id"] == "cloud")["patients"] = "single"
    threats = derive(model)
    assert "NMC-CLOUD-BAC-001@cloud" not in threats
    assert "NMC-MED-MULTI-001@cloud" not in threats


def test_third_party_services_get_no_web_app_rules() -> None:
    threats = scenario_threats("home")
    for rule_id in (
        "NMC-CLOUD-STUFF-001",
        "NMC-CLOUD-TOKEN-001",
        "NMC-CLOUD-INJ-001",
        "NMC-STRIDE-D-001",
    ):
        assert f"{rule_id}@push" not in threats


def test_system_gaps_quiet_when_covered() -> None:
    model = copy.deepcopy(frozen_cyber_device())
    model["components"][0]["software"] = {"update_mechanism": "remote"}
    model["assets"] = [{"id": "audit", "kind": "logs"}]
    model["components"][0]["stores"] = ["audit"]
    threats = derive(model)
    assert "NMC-LC-UPD-001@system" not in threats
    assert "NMC-LC-LOG-001@system" not in threats


def test_rule_titles_are_unique() -> None:
    titles = Counter(rule.spec.title for rule in library().rules.values())
    assert [title for title, count in titles.items() if count > 1] == []


# Rule pairs that describe one weakness from two sides. Their conditions are written so that
# at most one rule of each pair fires on an element.
EXCLUSIVE_PAIRS = [
    ("NMC-MED-BLE-001", "NMC-MED-BLE-002"),
    ("NMC-MED-BLE-003", "NMC-MED-BLE-004"),
    ("NMC-MED-BLE-001", "NMC-MED-RPL-001"),
    ("NMC-DEV-DBG-001", "NMC-DEV-DBG-002"),
    ("NMC-NET-WIFI-001", "NMC-DEV-SVC-001"),
    ("NMC-CLOUD-DB-001", "NMC-CLOUD-STUFF-001"),
    ("NMC-CLOUD-DB-001", "NMC-STRIDE-D-001"),
    ("NMC-NET-HL7-001", "NMC-MED-ALM-001"),
    ("NMC-STRIDE-S-001", "NMC-MED-BLE-001"),
    ("NMC-STRIDE-S-001", "NMC-MED-BLE-003"),
    ("NMC-STRIDE-S-001", "NMC-MED-ALM-001"),
]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_overlapping_rules_do_not_fire_together(scenario: str) -> None:
    by_element: dict[str, set[str]] = {}
    for threat_id in scenario_threats(scenario):
        rule_id, element = threat_id.split("@", 1)
        by_element.setdefault(element, set()).add(rule_id)
    for element, rule_ids in by_element.items():
        for pair in EXCLUSIVE_PAIRS:
            assert not set(pair) <= rule_ids, f"{pair} both fire on {element}"


# --- the real examples ------------------------------------------------------------------------


@cache
def example_threats(name: str) -> dict[str, Any]:
    assessment = assess(EXAMPLES / name)
    return {t.id: t for t in assessment.threats}


def test_nightscout_raises_expected_threats() -> None:
    threats = example_threats("nightscout")
    # The API_SECRET: one shared secret for every client, guessable online, kept on phones.
    assert "NMC-STRIDE-S-002@nightscout-server" in threats
    assert "NMC-CLOUD-GUESS-001@nightscout-server" in threats
    assert "NMC-STRIDE-I-012@api-secret" in threats
    # The bonded BLE link from the CGM transmitter to the uploader app.
    assert "NMC-MED-BLE-004@sensor-to-uploader" in threats
    # Alarms acknowledged by anyone, and alarms that depend on internet paths.
    assert "NMC-MED-ALM-001@pushover-acknowledgement" in threats
    assert "NMC-MED-ALM-001@web-live-updates" in threats
    assert "NMC-MED-ALM-002@pushover-to-phone" in threats
    # Remote commands and profiles that reach the closed loop from the internet.
    assert "NMC-MED-REM-001@apns-to-loop" in threats
    assert "NMC-MED-REM-001@loop-sync" in threats
    assert "NMC-CLOUD-DB-001@mongodb" in threats


def test_nightscout_remote_bolus_risk_high() -> None:
    threat = example_threats("nightscout")["NMC-MED-REM-001@apns-to-loop"]
    assert threat.severity.level == "catastrophic"
    assert threat.initial.level in {"high", "critical"}


def test_nightscout_quiet_where_protected() -> None:
    threats = example_threats("nightscout")
    # Every Nightscout flow uses TLS or BLE link encryption.
    assert [t for t in threats if t.startswith(("NMC-STRIDE-I-001@", "NMC-STRIDE-T-001@"))] == []
    # Bonded BLE links are not reported as unauthenticated.
    assert [t for t in threats if t.startswith("NMC-MED-BLE-001@")] == []
    # One instance serves one patient, so no cross-patient access control threat.
    assert "NMC-CLOUD-BAC-001@nightscout-server" not in threats
    # Anonymous socket.io is reported as anonymous access, not as cross-site hijacking.
    assert "NMC-CLOUD-WS-001@web-live-updates" not in threats


def test_infusion_example_raises_expected_threats() -> None:
    threats = example_threats("infusion-hospital")
    assert "NMC-NET-HL7-001@ehr-order" in threats
    assert "NMC-STRIDE-I-001@server-database" in threats
    assert "NMC-STRIDE-T-001@server-database" in threats
    assert "NMC-DEV-DBG-002@infusion-pump.serial-debug" in threats
    assert "NMC-DEV-UI-001@infusion-pump.ui" in threats
    assert "NMC-STRIDE-T-010@drug-library" in threats
    assert "NMC-MED-MULTI-001@pump-server" in threats


def test_infusion_quiet_where_protected() -> None:
    threats = example_threats("infusion-hospital")
    assert "NMC-DEV-DBG-001@infusion-pump.serial-debug" not in threats
    assert "NMC-NET-WIFI-001@infusion-pump.wifi" not in threats
    assert "NMC-STRIDE-I-001@pump-check-in" not in threats
    assert "NMC-STRIDE-I-001@firmware-download" not in threats


@pytest.mark.parametrize("name", ["nightscout", "infusion-hospital"])
def test_example_why_texts_render_fully(name: str) -> None:
    for threat_id, threat in example_threats(name).items():
        assert "{" not in threat.why, f"{threat_id}: {threat.why}"
