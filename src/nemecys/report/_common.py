"""Helpers shared by the report writers: threat order, risk colours, text escaping and measuring."""

from __future__ import annotations

import colorsys
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nemecys.results import Assessment, ThreatResult

NOT_APPLICABLE = "not_applicable"

STRIDE_NAMES = {
    "S": "Spoofing",
    "T": "Tampering",
    "R": "Repudiation",
    "I": "Information disclosure",
    "D": "Denial of service",
    "E": "Elevation of privilege",
}

# Characters no report shows raw: C0 and C1 controls (tab and newline are allowed where a
# format keeps them), the bidirectional embedding, override and isolate characters, which can
# make text read differently from what it holds, and the two noncharacters XML 1.0 forbids.
_UNSAFE_CHARS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff"
_UNSAFE = re.compile(f"[{_UNSAFE_CHARS}]")
_UNSAFE_OR_LAYOUT = re.compile(f"[\t\n{_UNSAFE_CHARS}]")


def _escape_char(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def visible_controls(text: str, keep_layout: bool = True) -> str:
    """Replace control and bidirectional formatting characters by escapes such as `\\u202e`.

    Tab and newline stay unless `keep_layout` is false.
    """
    return (_UNSAFE if keep_layout else _UNSAFE_OR_LAYOUT).sub(_escape_char, text)


def xml_escape(text: object) -> str:
    """Escape text for XML and HTML content and double-quoted attributes.

    Control and bidirectional formatting characters become visible escapes (see
    `visible_controls`); XML 1.0 forbids most of them even as character references.
    """
    value = visible_controls(str(text))
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def level_rank(assessment: Assessment, level: str) -> int:
    """Return the position of a risk level in the matrix: 0 for the lowest, -1 for an unknown level."""
    try:
        return assessment.risk_levels.index(level)
    except ValueError:
        return -1


def sorted_threats(assessment: Assessment) -> list[ThreatResult]:
    """Return the threats sorted by residual risk, then initial risk (both highest first), then id."""
    return sorted(
        assessment.threats,
        key=lambda t: (
            -level_rank(assessment, t.residual.level),
            -level_rank(assessment, t.initial.level),
            -level_rank(assessment, t.projected.level),
            t.id,
        ),
    )


def applicable(threats: Iterable[ThreatResult]) -> list[ThreatResult]:
    """Return the threats that no assumption or decision marks not applicable."""
    return [t for t in threats if t.status != NOT_APPLICABLE]


@dataclass(frozen=True)
class LevelColors:
    """Colours for one risk level: a strong fill for matrix cells, a tint and a stroke for shapes."""

    cell: str
    tint: str
    stroke: str
    text: str


def _hsl(hue: float, saturation: float, lightness: float) -> str:
    r, g, b = colorsys.hls_to_rgb(hue / 360.0, lightness, saturation)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def level_colors(levels: list[str]) -> dict[str, LevelColors]:
    """Assign colours from green (lowest level) through yellow to red (highest), for any number of levels."""
    colors: dict[str, LevelColors] = {}
    count = max(len(levels) - 1, 1)
    for index, level in enumerate(levels):
        hue = 125.0 * (1 - index / count)
        colors[level] = LevelColors(
            cell=_hsl(hue, 0.62, 0.70),
            tint=_hsl(hue, 0.75, 0.93),
            stroke=_hsl(hue, 0.65, 0.36),
            text="#111827",
        )
    return colors


def display_path(path: str, base: Path) -> str:
    """Show `path` relative to `base` when it lies below it, else unchanged."""
    try:
        return Path(path).resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path


# Advance widths of Arial / Liberation Sans (metric-compatible) in 1/1000 em, for ASCII 32-126.
_ARIAL_WIDTHS = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
]  # fmt: skip
_OTHER_WIDTH = 600
_BOLD_FACTOR = 1.08


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Estimate the rendered width in pixels of `text` in a sans-serif font of `size` pixels."""
    total = 0
    for char in text:
        code = ord(char)
        total += _ARIAL_WIDTHS[code - 32] if 32 <= code <= 126 else _OTHER_WIDTH
    width = total * size / 1000.0
    return width * _BOLD_FACTOR if bold else width


def wrap_text(
    text: str, max_width: float, size: float, bold: bool = False, max_lines: int = 4
) -> list[str]:
    """Break `text` into lines no wider than `max_width`, splitting words too long for a line.

    Text beyond `max_lines` is cut and the last line ends with '…'.
    """
    words = text.split()
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, size, bold) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        # A single word wider than the line is split character by character.
        current = ""
        for char in word:
            if text_width(current + char, size, bold) > max_width and current:
                lines.append(current)
                current = ""
            current += char
    if current:
        lines.append(current)
    if not lines:
        return [""]
    if len(lines) > max_lines:
        shown = lines[:max_lines]
        last = shown[-1]
        while last and text_width(last + "…", size, bold) > max_width:
            last = last[:-1]
        shown[-1] = last.rstrip() + "…"
        return shown
    return lines


PROTOCOL_LABELS = {
    "https": "HTTPS",
    "http": "HTTP",
    "websocket": "WebSocket",
    "mqtt": "MQTT",
    "mqtts": "MQTT over TLS",
    "ble_gatt": "BLE GATT",
    "nfc": "NFC",
    "dicom": "DICOM",
    "dicom_tls": "DICOM over TLS",
    "hl7v2_mllp": "HL7 v2 (MLLP)",
    "fhir_rest": "FHIR REST",
    "mongodb": "MongoDB wire protocol",
    "sql": "SQL",
    "ssh": "SSH",
    "smtp": "SMTP",
    "push_notification": "push notification",
    "usb": "USB",
    "serial": "serial",
    "file_transfer": "file transfer",
    "proprietary": "proprietary",
}


def protocol_label(protocol: str) -> str:
    return PROTOCOL_LABELS.get(protocol, protocol.replace("_", " "))


def words(value: str) -> str:
    """Turn an enum value such as 'decision_required' into words."""
    return value.replace("_", " ")
