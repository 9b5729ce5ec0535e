"""Helpers shared by the importers: safe reading, stable ids, name-based guesses, assembly.

Every importer reads untrusted files, so reading goes through `read_input` (size limit before
the read, UTF-8 only) and parsing through `parse_json` or `parse_yaml` (PyYAML's safe loader,
which builds no Python objects from tags). Failures become `InputError`s that name the file,
what is wrong and what to do.

The `guess_*` functions map free text (a diagram label, a protocol field) to schema values by
whole-word keywords. They are heuristics: a miss returns None and the caller picks a default
and records a warning.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from nemecys.errors import InputError
from nemecys.model.schema import (
    STANDARD_ZONES,
    ActorKind,
    ComponentKind,
    Protocol,
    ZoneKind,
)
from nemecys.model.yamlsource import MAX_NODES

MAX_INPUT_BYTES = 20 * 1024 * 1024
MAX_SLUG_LENGTH = 64

PLACEHOLDER_FUNCTION_ID = "imported-function"
STANDARD_ZONE_IDS = frozenset(zone.id for zone in STANDARD_ZONES)


@dataclass
class ImportResult:
    """A converted model plus what the conversion could not carry over."""

    document: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    source_format: str = ""


# --- reading ------------------------------------------------------------------------------------


def input_error(path: Path, problem: str, hint: str | None = None) -> InputError:
    """Build an InputError whose message names the file, the problem and the fix."""
    message = f"{path}: {problem}"
    if hint:
        message += f"; {hint}"
    return InputError(message)


def read_input(path: Path, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """Read a UTF-8 text file, rejecting files above `max_bytes` before reading them."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise input_error(
            path, "file not found", "check the path and the working directory"
        ) from None
    except OSError as exc:
        raise input_error(path, f"cannot read the file ({exc.strerror})") from None
    if path.is_dir():
        raise input_error(path, "path is a folder", "pass the model file itself")
    if size > max_bytes:
        raise input_error(
            path,
            f"file is {size:,} bytes, above the import limit of {max_bytes:,} bytes",
            "split the model or remove embedded data such as images",
        )
    try:
        with path.open("rb") as handle:
            # Read one byte past the limit: the file may have grown since stat().
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise input_error(path, f"cannot read the file ({exc.strerror})") from None
    if len(raw) > max_bytes:
        raise input_error(path, f"file is above the import limit of {max_bytes:,} bytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise input_error(
            path, f"file is not valid UTF-8 (byte {exc.start})", "save it as UTF-8"
        ) from None


def parse_json(text: str, path: Path) -> Any:
    """Parse JSON text, turning syntax errors into an InputError with line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise input_error(
            path,
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            "export the model again from the tool that wrote it",
        ) from None
    except ValueError as exc:  # for example an integer literal above Python's digit limit
        raise input_error(path, f"invalid JSON: {exc}") from None
    except RecursionError:
        raise input_error(path, "JSON is nested too deeply") from None


def parse_yaml(text: str, path: Path) -> Any:
    """Parse YAML with the safe loader, which rejects tags that would build Python objects.

    Aliases are not copied by the loader, but code that walks the result visits an aliased
    value once per reference, so the result is also checked against `MAX_NODES` expanded values
    ("billion laughs").
    """
    try:
        data = yaml.safe_load(text)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise input_error(
            path,
            f"unsupported YAML tag{where}: {exc.problem}",
            "remove tags such as '!!python/object'; models need only plain mappings, lists and scalars",
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise input_error(
            path,
            f"invalid YAML{where}: {exc.problem or exc.context}",
            "check indentation and quoting around this position",
        ) from None
    except yaml.YAMLError as exc:
        raise input_error(path, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise input_error(path, "YAML is nested too deeply") from None
    _check_expansion(data, path)
    return data


def _check_expansion(data: Any, path: Path) -> None:
    """Count values as a full walk would see them, stopping as soon as the limit is passed."""
    pending: list[Any] = [data]
    seen = 0
    while pending:
        value = pending.pop()
        seen += 1
        if seen > MAX_NODES:
            raise input_error(
                path,
                f"the YAML expands to more than {MAX_NODES:,} values (too many aliases?)",
                "remove deep alias chains; a threat model does not need them",
            )
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


# --- shape checks of untrusted data -------------------------------------------------------------


def type_name(value: object) -> str:
    """Name a parsed value's type in the words of JSON and YAML."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if isinstance(value, int | float):
        return "number"
    return "text" if isinstance(value, str) else type(value).__name__


def text_value(value: object) -> str | None:
    """Return a scalar as stripped text, or None for empty, missing or non-scalar values."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int | float):
        text = str(value).strip()
        return text or None
    return None


def one_line(text: str | None) -> str | None:
    """Collapse whitespace runs (diagram labels often contain line breaks) to single spaces."""
    if text is None:
        return None
    collapsed = " ".join(text.split())
    return collapsed or None


def format_ids(ids: Sequence[str], limit: int = 10) -> str:
    """Join ids for a warning, shortening long lists to `limit` ids and a count."""
    listed = ", ".join(ids[:limit])
    if len(ids) > limit:
        listed += f" and {len(ids) - limit} more"
    return listed


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# --- ids ----------------------------------------------------------------------------------------


def slugify(text: str, fallback: str) -> str:
    """Turn a name into a kebab-case id: ASCII letters and digits joined by single hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > MAX_SLUG_LENGTH:
        # Cut at the last hyphen inside the limit, so no word is cut in half.
        cut = slug[: MAX_SLUG_LENGTH + 1]
        slug = cut[: cut.rfind("-")] if "-" in cut else slug[:MAX_SLUG_LENGTH]
    if slug:
        return slug
    if fallback and fallback != text:
        return slugify(fallback, "item")
    return "item"


class IdAllocator:
    """Hands out unique slug ids within one namespace, adding -2, -3 ... on collisions.

    Ids depend only on the names and the order of `allocate` calls, so the same input always
    gets the same ids.
    """

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self._taken: set[str] = set(reserved)

    def allocate(self, name: str, fallback: str) -> str:
        base = slugify(name, fallback)
        candidate = base
        counter = 2
        while candidate in self._taken:
            candidate = f"{base}-{counter}"
            counter += 1
        self._taken.add(candidate)
        return candidate


class ZoneIdAllocator:
    """Hands out zone ids, reusing a standard zone when a boundary is named and kinded like one.

    A box labelled "Internet" of kind internet becomes the standard `internet` zone instead of a
    declared `internet-2`. Any other name that collides with a standard zone id gets a suffix.
    """

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self._allocator = IdAllocator(reserved={*STANDARD_ZONE_IDS, *reserved})
        self._used_standard: set[str] = set()

    def allocate(self, name: str, fallback: str, kind: ZoneKind) -> tuple[str, bool]:
        """Return the zone id and whether the zone must be declared under `zones:`."""
        slug = slugify(name, fallback)
        standard = _STANDARD_ZONE_KINDS.get(slug)
        if standard is kind and slug not in self._used_standard:
            self._used_standard.add(slug)
            return slug, False
        return self._allocator.allocate(name, fallback), True


_STANDARD_ZONE_KINDS = {zone.id: zone.kind for zone in STANDARD_ZONES}


# --- guesses from free text ---------------------------------------------------------------------


def _words(text: str) -> str:
    """Lower-case `text` and pad it with spaces so whole-word regexes match at both ends."""
    return f" {' '.join(text.lower().split())} "


def _first_match(text: str, table: Sequence[tuple[str, Any]]) -> Any:
    normalized = _words(text)
    for pattern, value in table:
        if re.search(pattern, normalized):
            return value
    return None


class ProtocolGuess(NamedTuple):
    protocol: Protocol
    encrypted: bool  # the text itself names an encrypted variant (https, wss, ssh, "tls" ...)


# Order matters: specific and encrypted variants come before their generic forms.
_PROTOCOL_PATTERNS: tuple[tuple[str, ProtocolGuess], ...] = (
    (
        r"\bdicom[- ]?tls\b|\bdicoms\b|\bdicom\b.*\b(tls|ssl)\b",
        ProtocolGuess(Protocol.DICOM_TLS, True),
    ),
    (r"\bdicom\b", ProtocolGuess(Protocol.DICOM, False)),
    (r"\bhl7\b|\bmllp\b", ProtocolGuess(Protocol.HL7V2_MLLP, False)),
    (r"\bfhir\b", ProtocolGuess(Protocol.FHIR_REST, False)),
    (
        r"\bwss\b|\bsecure web ?sockets?\b|\bweb ?sockets?\b.*\b(secure|tls|ssl)\b",
        ProtocolGuess(Protocol.WEBSOCKET, True),
    ),
    (r"\bweb ?sockets?\b|\bws\b", ProtocolGuess(Protocol.WEBSOCKET, False)),
    (r"\bmqtts\b|\bmqtt\b.*\b(tls|ssl)\b", ProtocolGuess(Protocol.MQTTS, True)),
    (r"\bmqtt\b", ProtocolGuess(Protocol.MQTT, False)),
    (r"\bhttps\b|\bhttp/s\b|\bhttps?\b.*\b(tls|ssl)\b", ProtocolGuess(Protocol.HTTPS, True)),
    (
        r"\bhttp(/[0-9.]+)?\b|\brest(ful)?\b|\bgraphql\b|\bsoap\b",
        ProtocolGuess(Protocol.HTTP, False),
    ),
    (r"\bble\b|\bbluetooth\b|\bgatt\b", ProtocolGuess(Protocol.BLE_GATT, False)),
    (r"\bnfc\b", ProtocolGuess(Protocol.NFC, False)),
    (r"\bsftp\b|\bscp\b|\bftps\b", ProtocolGuess(Protocol.FILE_TRANSFER, True)),
    (
        r"\bftp\b|\bsmb\b|\bnfs\b|\bcifs\b|\bfile transfer\b",
        ProtocolGuess(Protocol.FILE_TRANSFER, False),
    ),
    (r"\bssh\b", ProtocolGuess(Protocol.SSH, True)),
    (r"\bmongo(db)?\b", ProtocolGuess(Protocol.MONGODB, False)),
    (
        r"\b(my|ms|postgre|p|t-)?sql\b|\bpostgres\b|\bjdbc\b|\bodbc\b|\bsqlite\b",
        ProtocolGuess(Protocol.SQL, False),
    ),
    (r"\bsmtps\b", ProtocolGuess(Protocol.SMTP, True)),
    (r"\bsmtp\b|\be-?mail\b", ProtocolGuess(Protocol.SMTP, False)),
    (r"\bpush notifications?\b|\bapns\b|\bfcm\b", ProtocolGuess(Protocol.PUSH_NOTIFICATION, False)),
    (r"\busb\b", ProtocolGuess(Protocol.USB, False)),
    (r"\bserial\b|\buart\b|\brs-?232\b|\bjtag\b", ProtocolGuess(Protocol.SERIAL, False)),
)

_ENCRYPTION_WORDS = r"\b(tls|ssl|encrypted|secure)\b"


def guess_protocol(text: str | None) -> ProtocolGuess | None:
    """Recognise a protocol named in free text such as 'HTTPS', 'HTTP/2' or 'MQTT over TLS'."""
    if not text:
        return None
    guess: ProtocolGuess | None = _first_match(text, _PROTOCOL_PATTERNS)
    if guess is not None and not guess.encrypted and re.search(_ENCRYPTION_WORDS, _words(text)):
        return ProtocolGuess(guess.protocol, True)
    return guess


def mentions_encryption(text: str | None) -> bool:
    """Return whether free text states that the channel is encrypted ('TCP+SSL', 'TLS 1.3')."""
    return bool(text) and re.search(_ENCRYPTION_WORDS, _words(text or "")) is not None


_COMPONENT_PATTERNS: tuple[tuple[str, ComponentKind], ...] = (
    (r"\bimplant(ed|able)?\b|\bpacemaker\b|\bneurostimulator\b|\bicd\b", ComponentKind.IMPLANT),
    (r"\bsensors?\b|\bcgm\b|\bwearable\b|\bpatch\b", ComponentKind.SENSOR),
    (
        r"\behr\b|\bemr\b|\bpacs\b|\bhospital\b|\bclinic(al)? system\b",
        ComponentKind.HOSPITAL_SYSTEM,
    ),
    (
        r"\bbrowser\b|\bweb ?(ui|app|application|site|page|portal|client|frontend)\b|\bwebsite\b"
        r"|\bportal\b|\bfront-?end\b|\bcms\b",
        ComponentKind.WEB_APP,
    ),
    (
        r"\bmobile\b|\bandroid\b|\bios\b|\biphone\b|\bsmartphone\b|\bphone\b",
        ComponentKind.MOBILE_APP,
    ),
    (
        r"\bdesktop\b|\bworkstation\b|\blaptop\b|\bscript\b|\bcli\b|\bgui\b",
        ComponentKind.DESKTOP_APP,
    ),
    (
        r"\bdatabases?\b|\bdb\b|\b(my|ms|postgre|no)?sql\b|\bpostgres\b|\bmongo(db)?\b|\bredis\b"
        r"|\bstorage\b|\bbuckets?\b|\bblob\b|\bs3\b|\bfile ?server\b|\bflat ?file\b|\bdata ?store\b",
        ComponentKind.DATABASE,
    ),
    (
        r"\bgateway\b|\bproxy\b|\bload ?balancer\b|\bcdn\b|\bfirewall\b|\bwaf\b|\brouter\b|\bhub\b"
        r"|\bbridge\b",
        ComponentKind.GATEWAY,
    ),
    (
        r"\bdevices?\b|\bpump\b|\bmonitor\b|\bventilator\b|\binfusion\b|\biot\b|\bembedded\b"
        r"|\bfirmware\b|\bcontroller\b",
        ComponentKind.DEVICE,
    ),
    (
        r"\bthird[- ]party\b|\bexternal\b|\bstripe\b|\bpaypal\b|\bsocial networks?\b|\bweather\b",
        ComponentKind.THIRD_PARTY_SERVICE,
    ),
    (
        r"\bapi\b|\bservices?\b|\bserver\b|\bbackend\b|\bback-end\b|\bcloud\b|\bworker\b"
        r"|\bdaemon\b|\bmicroservice\b|\blambda\b|\bfunction\b|\bqueue\b",
        ComponentKind.CLOUD_SERVICE,
    ),
)


def guess_component_kind(text: str | None) -> ComponentKind | None:
    """Guess a component kind from a name or type label, or return None when no keyword matches."""
    if not text:
        return None
    kind: ComponentKind | None = _first_match(text, _COMPONENT_PATTERNS)
    return kind


_ACTOR_PATTERNS: tuple[tuple[str, ActorKind], ...] = (
    (r"\bpatients?\b", ActorKind.PATIENT),
    (r"\bcare ?givers?\b|\bcarers?\b|\bparents?\b|\bfamily\b|\brelatives?\b", ActorKind.CAREGIVER),
    (r"\bbio-?med(ical)?\b|\bclinical engineers?\b", ActorKind.BIOMEDICAL_ENGINEER),
    (
        r"\bclinicians?\b|\bdoctors?\b|\bphysicians?\b|\bnurses?\b|\bsurgeons?\b|\bhcp\b"
        r"|\bpractitioners?\b",
        ActorKind.CLINICIAN,
    ),
    (
        r"\badmins?\b|\badministrators?\b|\bsysadmins?\b|\bdevops\b|\boperators?\b",
        ActorKind.IT_ADMINISTRATOR,
    ),
    (
        r"\btechnicians?\b|\bfield service\b|\bservice engineers?\b|\bmanufacturer\b|\bvendor\b",
        ActorKind.MANUFACTURER_SERVICE,
    ),
)


def guess_actor_kind(text: str | None) -> ActorKind:
    """Guess an actor kind from its name, or return `other` when no keyword matches."""
    if not text:
        return ActorKind.OTHER
    kind: ActorKind | None = _first_match(text, _ACTOR_PATTERNS)
    return kind or ActorKind.OTHER


_ZONE_PATTERNS: tuple[tuple[str, ZoneKind], ...] = (
    (r"\bpatient body\b|\bin-?body\b|\bimplant\b|\bbody area\b", ZoneKind.PATIENT_BODY),
    (r"\binternet\b|\bwww\b", ZoneKind.INTERNET),
    (
        r"\bhome\b|\bpatients?\b|\blocal machine\b|\bplayer\b|\bcustomer\b|\buser\b|\bconsumer\b",
        ZoneKind.PATIENT_HOME,
    ),
    (
        r"\bhospital\b|\bclinic(al)?\b|\bward\b|\bon-?prem(ises)?\b|\bintranet\b|\blan\b|\bvlan\b",
        ZoneKind.HOSPITAL_NETWORK,
    ),
    (
        r"\bmanufacturer\b|\bcorp(orate)?\b|\boffice\b|\bfactory\b|\bdev(elopment)?\b|\bbuild\b",
        ZoneKind.MANUFACTURER,
    ),
    (
        r"\bcloud\b|\baws\b|\bazure\b|\bgcp\b|\bsaas\b|\bdata ?cent(er|re)\b|\bproduction\b|\bdmz\b"
        r"|\bhost(ing|er)?\b|\bservers?\b|\bbackend\b",
        ZoneKind.VENDOR_CLOUD,
    ),
    # Checked last, so that "public cloud" is a cloud and not the internet.
    (r"\bpublic\b|\bonline\b|\bexternal\b|\buntrusted\b", ZoneKind.INTERNET),
)


def guess_zone_kind(text: str | None) -> ZoneKind | None:
    """Guess a zone kind from a trust boundary's name, or return None when no keyword matches."""
    if not text:
        return None
    kind: ZoneKind | None = _first_match(text, _ZONE_PATTERNS)
    return kind


# --- assembly -----------------------------------------------------------------------------------


def placeholder_system(
    *, name: str, description: str | None, source_label: str, warnings: list[str]
) -> dict[str, Any]:
    """Build the `system` section with the placeholder clinical function and intended use."""
    warnings.append(
        f"{source_label} models have no intended use and no clinical functions: the import adds "
        f"a placeholder intended use and one placeholder clinical function '{PLACEHOLDER_FUNCTION_ID}' "
        "(severity serious). Replace both, and link components and data assets to the real "
        "functions, before you rely on any risk result."
    )
    function = {
        "id": PLACEHOLDER_FUNCTION_ID,
        "name": "Placeholder for the clinical functions",
        "harm": (
            f"Placeholder added by the {source_label} import: replace this entry with the real "
            "clinical functions and the worst credible patient harm of each."
        ),
        "severity": "serious",
    }
    system: dict[str, Any] = {
        "name": name,
        "description": description,
        "intended_use": (
            f"Placeholder added by the {source_label} import: replace it with the intended use "
            "of the device."
        ),
        "clinical_functions": [function],
    }
    return compact(system)


def compact(mapping: dict[str, Any]) -> dict[str, Any]:
    """Drop keys whose value is None or an empty list, so the YAML shows only what is known."""
    return {key: value for key, value in mapping.items() if value is not None and value != []}


def assemble(
    *,
    system: dict[str, Any],
    zones: list[dict[str, Any]],
    components: list[dict[str, Any]],
    assets: list[dict[str, Any]],
    flows: list[dict[str, Any]],
    actors: list[dict[str, Any]],
) -> dict[str, Any]:
    """Put the sections together in schema order, leaving out empty ones."""
    return compact(
        {
            "schema_version": 1,
            "system": system,
            "zones": zones,
            "components": components,
            "assets": assets,
            "flows": flows,
            "actors": actors,
        }
    )
