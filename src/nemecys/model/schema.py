"""Pydantic v2 classes of the system model, format version 1.

The model describes one device or one multi-vendor scenario: its clinical functions and the
harm each can cause, its components in trust zones, the data they hold and exchange, the
controls in place and the decisions taken on each threat. Every class forbids unknown keys, so a
misspelt key is reported instead of ignored. Cross-references between sections are checked
afterwards by `nemecys.model.references`, because pydantic validates one object at a time.

Identifiers are short kebab-case strings (`cgm-sensor`, `bolus-command`) that stay stable
across model revisions; threat ids and decisions are keyed on them.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MODEL_FORMAT_VERSION = 1

Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_:-]{0,127}$"),
    Field(
        description="Stable id: letters, digits, '-', '_' and ':', at most 128 characters. "
        "No '.', because 'component.interface' names an interface."
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


# --- enumerations -----------------------------------------------------------------------------


class Severity(IntEnum):
    """ISO 14971-style severity of harm, 1 (negligible) to 5 (catastrophic)."""

    NEGLIGIBLE = 1
    MINOR = 2
    SERIOUS = 3
    CRITICAL = 4
    CATASTROPHIC = 5

    @classmethod
    def parse(cls, value: object) -> Severity:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            return cls[value.strip().upper()]
        if isinstance(value, int) and not isinstance(value, bool):
            return cls(value)
        raise ValueError(f"not a severity: {value!r}")

    @property
    def label(self) -> str:
        return self.name.lower()


SeverityName = Literal["negligible", "minor", "serious", "critical", "catastrophic"]


class Reach(StrEnum):
    """How many patients one failure or attack can harm."""

    SINGLE = "single"
    MULTIPLE = "multiple"


class ZoneKind(StrEnum):
    PATIENT_HOME = "patient_home"
    HOSPITAL_NETWORK = "hospital_network"
    INTERNET = "internet"
    VENDOR_CLOUD = "vendor_cloud"
    MANUFACTURER = "manufacturer"
    PATIENT_BODY = "patient_body"


class ComponentKind(StrEnum):
    DEVICE = "device"
    SENSOR = "sensor"
    IMPLANT = "implant"
    MOBILE_APP = "mobile_app"
    DESKTOP_APP = "desktop_app"
    CLOUD_SERVICE = "cloud_service"
    WEB_APP = "web_app"
    DATABASE = "database"
    GATEWAY = "gateway"
    HOSPITAL_SYSTEM = "hospital_system"
    THIRD_PARTY_SERVICE = "third_party_service"


class InterfaceKind(StrEnum):
    BLE = "ble"
    WIFI = "wifi"
    CELLULAR = "cellular"
    ETHERNET = "ethernet"
    USB = "usb"
    SERIAL_DEBUG = "serial_debug"
    NFC = "nfc"
    REMOVABLE_MEDIA = "removable_media"
    UI = "ui"
    INTERNET = "internet"
    INTERNAL = "internal"


class AssetKind(StrEnum):
    PHI = "phi"
    THERAPY_PARAMETERS = "therapy_parameters"
    THERAPY_COMMANDS = "therapy_commands"
    SENSOR_READINGS = "sensor_readings"
    ALARMS = "alarms"
    CREDENTIALS = "credentials"
    FIRMWARE = "firmware"
    LOGS = "logs"
    CONFIGURATION = "configuration"
    IMAGES = "images"
    CLINICAL_ORDERS = "clinical_orders"
    DEVICE_STATUS = "device_status"
    OTHER = "other"


class Level(StrEnum):
    """Need for confidentiality, integrity or availability of a data asset."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Protocol(StrEnum):
    HTTPS = "https"
    HTTP = "http"
    WEBSOCKET = "websocket"
    MQTT = "mqtt"
    MQTTS = "mqtts"
    BLE_GATT = "ble_gatt"
    NFC = "nfc"
    DICOM = "dicom"
    DICOM_TLS = "dicom_tls"
    HL7V2_MLLP = "hl7v2_mllp"
    FHIR_REST = "fhir_rest"
    MONGODB = "mongodb"
    SQL = "sql"
    SSH = "ssh"
    SMTP = "smtp"
    PUSH_NOTIFICATION = "push_notification"
    USB = "usb"
    SERIAL = "serial"
    FILE_TRANSFER = "file_transfer"
    UI = "ui"
    PROPRIETARY = "proprietary"


class Authentication(StrEnum):
    NONE = "none"
    UNKNOWN = "unknown"
    SHARED_SECRET = "shared_secret"
    PASSWORD = "password"
    API_KEY = "api_key"
    TOKEN = "token"
    BLE_PAIRING = "ble_pairing"
    CERTIFICATE = "certificate"
    MUTUAL_TLS = "mutual_tls"
    MULTI_FACTOR = "multi_factor"


class Encryption(StrEnum):
    NONE = "none"
    UNKNOWN = "unknown"
    TLS = "tls"
    BLE_LINK = "ble_link"
    APPLICATION = "application"
    VPN = "vpn"


class UpdateMechanism(StrEnum):
    NONE = "none"
    SERVICE_TOOL = "service_tool"
    REMOTE = "remote"
    APP_STORE = "app_store"
    OPERATOR_MANAGED = "operator_managed"


class ActorKind(StrEnum):
    PATIENT = "patient"
    CAREGIVER = "caregiver"
    CLINICIAN = "clinician"
    BIOMEDICAL_ENGINEER = "biomedical_engineer"
    IT_ADMINISTRATOR = "it_administrator"
    MANUFACTURER_SERVICE = "manufacturer_service"
    OTHER = "other"


class ControlStatus(StrEnum):
    IMPLEMENTED = "implemented"
    PLANNED = "planned"


class ThreatStatus(StrEnum):
    OPEN = "open"
    MITIGATED = "mitigated"
    ACCEPTED = "accepted"
    TRANSFERRED = "transferred"
    NOT_APPLICABLE = "not_applicable"


class Objective(StrEnum):
    """Security objective a threat works against (FDA premarket guidance, section IV.B)."""

    CONFIDENTIALITY = "confidentiality"
    INTEGRITY = "integrity"
    AVAILABILITY = "availability"
    AUTHENTICITY = "authenticity"
    AUTHORIZATION = "authorization"
    UPDATABILITY = "updatability"


# --- system and clinical functions ------------------------------------------------------------


class ObjectiveSeverity(_Strict):
    """Worst harm per security objective, when it differs from the function's overall value."""

    confidentiality: SeverityName | None = None
    integrity: SeverityName | None = None
    availability: SeverityName | None = None


class ClinicalFunction(_Strict):
    """A clinical function of the system and the worst patient harm if it fails or is manipulated."""

    id: Identifier
    name: str | None = None
    description: str | None = None
    harm: str = Field(description="Worst credible patient harm, in the words of the safety file.")
    severity: SeverityName
    severity_by_objective: ObjectiveSeverity | None = None
    reach: Reach = Reach.SINGLE
    hazard_ids: list[str] = Field(
        default_factory=list, description="Hazard ids in the ISO 14971 risk file, for traceability."
    )


class Classification(_Strict):
    eu_mdr: str | None = Field(None, description="EU MDR class, for example 'IIb'.")
    fda: str | None = Field(None, description="FDA device class, for example 'II'.")


class System(_Strict):
    name: str
    version: str | None = None
    manufacturer: str | None = None
    description: str | None = None
    intended_use: str
    classification: Classification = Classification()
    cyber_device: bool | None = Field(
        None,
        description="Whether the device meets the FD&C Act section 524B cyber device criteria.",
    )
    clinical_functions: list[ClinicalFunction] = Field(min_length=1)


# --- architecture -----------------------------------------------------------------------------


class Zone(_Strict):
    """A trust zone. Six standard zones exist without being declared (see `STANDARD_ZONES`)."""

    id: Identifier
    name: str | None = None
    kind: ZoneKind
    description: str | None = None


STANDARD_ZONES: tuple[Zone, ...] = (
    Zone(id="patient-body", name="Patient body", kind=ZoneKind.PATIENT_BODY),
    Zone(id="patient-home", name="Patient home", kind=ZoneKind.PATIENT_HOME),
    Zone(id="hospital-network", name="Hospital network", kind=ZoneKind.HOSPITAL_NETWORK),
    Zone(id="internet", name="Internet", kind=ZoneKind.INTERNET),
    Zone(id="vendor-cloud", name="Vendor cloud", kind=ZoneKind.VENDOR_CLOUD),
    Zone(id="manufacturer", name="Manufacturer", kind=ZoneKind.MANUFACTURER),
)


class Interface(_Strict):
    id: Identifier
    kind: InterfaceKind
    description: str | None = None
    authentication: Authentication = Authentication.UNKNOWN
    enabled_in_field: bool = Field(
        True, description="False for ports closed or disabled in production units."
    )


class Software(_Strict):
    sbom: str | None = Field(
        None, description="Path of a CycloneDX JSON SBOM, relative to the model file."
    )
    platform: str | None = Field(
        None, description="Runtime or OS, for example 'Node.js 16' or 'Android 13'."
    )
    version: str | None = None
    update_mechanism: UpdateMechanism = UpdateMechanism.NONE
    third_party: bool = Field(
        False, description="Off-the-shelf software the manufacturer does not build."
    )


class Component(_Strict):
    id: Identifier
    name: str | None = None
    kind: ComponentKind
    zone: Identifier
    description: str | None = None
    functions: list[Identifier] = Field(
        default_factory=list, description="Clinical functions it performs."
    )
    patients: Reach | None = Field(
        None, description="Whether it serves one patient or many; default by kind."
    )
    internet_facing: bool | None = Field(
        None,
        description="Reachable from the internet; default: in the internet zone or receives flows from it.",
    )
    interfaces: list[Interface] = Field(default_factory=list)
    software: Software = Software()
    stores: list[Identifier] = Field(default_factory=list, description="Data assets kept at rest.")
    out_of_scope: bool = False
    out_of_scope_rationale: str | None = None
    tags: list[str] = Field(default_factory=list)


class DataAsset(_Strict):
    id: Identifier
    name: str | None = None
    kind: AssetKind
    description: str | None = None
    confidentiality: Level = Level.MEDIUM
    integrity: Level = Level.MEDIUM
    availability: Level = Level.MEDIUM
    functions: list[Identifier] = Field(
        default_factory=list, description="Clinical functions that depend on this data."
    )


class Flow(_Strict):
    id: Identifier
    name: str | None = None
    source: Identifier
    destination: Identifier
    protocol: Protocol
    interface: str | None = Field(
        None, description="'component.interface' the flow uses, when it matters (BLE, USB, serial)."
    )
    authentication: Authentication = Authentication.UNKNOWN
    encryption: Encryption = Encryption.UNKNOWN
    data: list[Identifier] = Field(default_factory=list)
    bidirectional: bool = False
    description: str | None = None


class Actor(_Strict):
    id: Identifier
    name: str | None = None
    kind: ActorKind
    zone: Identifier | None = Field(
        None,
        description="Where the actor works from; flows from an actor without a zone count as from the internet.",
    )
    uses: list[Identifier] = Field(default_factory=list)
    description: str | None = None


# --- controls, assumptions, decisions ---------------------------------------------------------


class Control(_Strict):
    """A security control, from the control catalog (`catalog`) or custom (`name` and effects)."""

    id: Identifier
    catalog: str | None = Field(None, description="Control catalog id, for example 'CTL-BLE-AUTH'.")
    name: str | None = None
    description: str | None = None
    status: ControlStatus
    applies_to: list[str] = Field(
        default_factory=list,
        description="Components, flows or 'component.interface'; empty means the whole system.",
    )
    mitigates: list[str] = Field(
        default_factory=list, description="Rule ids or threat ids this control also closes."
    )
    exploitability_reduction: int | None = Field(None, ge=0, le=4)
    severity_reduction: int | None = Field(None, ge=0, le=4)
    evidence: list[str] = Field(
        default_factory=list, description="Test reports, documents or links."
    )
    cost: float | None = Field(None, ge=0, description="Relative cost, for later control planning.")
    clinical_burden: Level | None = None


class Assumption(_Strict):
    id: Identifier
    text: str
    excludes: list[str] = Field(
        default_factory=list,
        description="Rule ids or threat ids this assumption makes not applicable.",
    )


class Decision(_Strict):
    threat: str = Field(description="Threat id 'RULE@element' or a rule id for all its threats.")
    status: ThreatStatus
    rationale: str | None = None
    owner: str | None = None
    date: str | None = None
    references: list[str] = Field(default_factory=list)


# --- configuration of engines -----------------------------------------------------------------


class RiskSettings(_Strict):
    matrix: str | None = Field(
        None, description="Path of a risk matrix YAML file replacing the default."
    )


class ThreatSettings(_Strict):
    libraries: list[str] = Field(
        default_factory=list, description="Rule files that add or override rules by id."
    )
    disable: list[str] = Field(default_factory=list, description="Rule ids to switch off.")


class SystemModel(_Strict):
    """The root of a model file, after includes are merged."""

    schema_version: Literal[1] = 1
    includes: list[str] = Field(default_factory=list)
    system: System
    zones: list[Zone] = Field(default_factory=list)
    components: list[Component] = Field(min_length=1)
    assets: list[DataAsset] = Field(default_factory=list)
    flows: list[Flow] = Field(default_factory=list)
    actors: list[Actor] = Field(default_factory=list)
    controls: list[Control] = Field(default_factory=list)
    assumptions: list[Assumption] = Field(default_factory=list)
    decisions: list[Decision] = Field(default_factory=list)
    risk: RiskSettings = RiskSettings()
    threats: ThreatSettings = ThreatSettings()
