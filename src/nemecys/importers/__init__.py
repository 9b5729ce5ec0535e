"""Importers that turn other threat-modelling tools' models into a nemecys model document.

`import_model(path)` reads one file, detects its format from the content (or uses `fmt`),
converts it and returns an `ImportResult`: a plain `document` dict valid against
`SystemModel`, the `warnings` about everything that could not be mapped, and the
`source_format`. `dump_yaml(document)` renders the document as readable YAML.

Supported formats:

- `threagile`: Threagile YAML, including split models with `includes:`.
- `threat-dragon`: OWASP Threat Dragon 2 JSON.
- `otm`: Open Threat Model JSON or YAML.

Recognised and rejected with a message: Threat Dragon 1 files, OWASP Threat Model Library
(TM-BOM) files and nemecys models. Every input is read with a 20 MB limit per file, and YAML only
through the safe loader.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from nemecys.errors import ModelError
from nemecys.importers import otm, threagile, threat_dragon
from nemecys.importers._common import (
    ImportResult,
    input_error,
    parse_json,
    parse_yaml,
    read_input,
)
from nemecys.model.loader import validate_document
from nemecys.model.schema import SystemModel
from nemecys.model.yamlsource import SourceMap

__all__ = ["FORMATS", "ImportResult", "detect_format", "dump_yaml", "import_model"]

_Converter = Callable[[Path, Any], ImportResult]
_Detector = Callable[[Any], bool]

# Format name -> (content check, converter). Detection tries them in this order.
FORMATS: dict[str, tuple[_Detector, _Converter]] = {
    otm.FORMAT: (otm.looks_like, otm.convert),
    threat_dragon.FORMAT: (threat_dragon.looks_like, threat_dragon.convert),
    threagile.FORMAT: (threagile.looks_like, threagile.convert),
}


def import_model(path: Path, fmt: str | None = None) -> ImportResult:
    """Convert the model file at `path` in format `fmt`, or in the format its content shows."""
    if fmt is not None and fmt not in FORMATS:
        raise input_error(
            path, f"unknown import format '{fmt}'", f"use one of {', '.join(FORMATS)}"
        )
    text = read_input(path)
    data = _parse(text, path)
    if fmt is None:
        fmt = detect_format(data, path)
    else:
        looks_like, _ = FORMATS[fmt]
        if not looks_like(data):
            raise input_error(
                path,
                f"the content is not a {fmt} model",
                "check the file, or leave out the format to detect it from the content",
            )
    _, convert = FORMATS[fmt]
    result = convert(path, data)
    _validate(result, path)
    return result


def detect_format(data: Any, path: Path) -> str:
    """Name the format of parsed content, or raise an InputError naming what the file is."""
    for name, (looks_like, _) in FORMATS.items():
        if looks_like(data):
            return name
    if isinstance(data, dict):
        if "scope" in data and ("trust_zones" in data or "threats" in data):
            raise input_error(
                path,
                "this is an OWASP Threat Model Library (TM-BOM) file, which the importer does not support",
                "export the model from its source tool as Threat Dragon 2, OTM or Threagile instead",
            )
        if "system" in data and "components" in data:
            raise input_error(
                path, "this is already a nemecys model", "use it directly; no import is needed"
            )
    raise input_error(
        path,
        f"the content matches no supported format ({', '.join(FORMATS)})",
        "check that this is a Threagile YAML, Threat Dragon 2 JSON or OTM file",
    )


def _parse(text: str, path: Path) -> Any:
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return parse_yaml(text, path)
    if text.lstrip().startswith(("{", "[")):
        return parse_json(text, path)
    if suffix == ".json":
        raise input_error(
            path, "the file does not start with '{' or '[', so it is not JSON", "check the file"
        )
    return parse_yaml(text, path)


def _validate(result: ImportResult, path: Path) -> None:
    """Validate the converted document as `nemecys validate` would. A failure is an importer bug."""
    try:
        validate_document(path, result.document, SourceMap(), ())
    except ModelError as exc:
        first = exc.problems[0]
        detail = f"{first.path}: {first.message}" if first.path else first.message
        raise input_error(
            path,
            f"the converted model is invalid ({detail}); this is a bug in the "
            f"{result.source_format} importer",
            "report it together with the input file",
        ) from None


# --- YAML output --------------------------------------------------------------------------------


class _ReadableDumper(yaml.SafeDumper):
    """Safe dumper that indents lists under their key and writes multi-line text as blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # A literal block cannot keep trailing spaces on a line, so such text stays quoted.
    if "\n" in value and not any(line != line.rstrip() for line in value.splitlines()):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_ReadableDumper.add_representer(str, _represent_text)


def dump_yaml(document: dict[str, Any]) -> str:
    """Render a model document as block-style YAML with keys in schema order."""
    ordered = _schema_order(document, SystemModel)
    text: str = yaml.dump(
        ordered,
        Dumper=_ReadableDumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    return text


def _schema_order(value: Any, model: type[BaseModel] | None) -> Any:
    """Reorder mapping keys to follow the pydantic field order; unknown keys keep their order."""
    if isinstance(value, list):
        return [_schema_order(item, model) for item in value]
    if not isinstance(value, dict) or model is None:
        return value
    fields = model.model_fields
    ordered: dict[str, Any] = {}
    for name, info in fields.items():
        if name in value:
            ordered[name] = _schema_order(value[name], _model_class(info.annotation))
    for key, item in value.items():
        if key not in ordered:
            ordered[key] = item
    return ordered


def _model_class(annotation: Any) -> type[BaseModel] | None:
    """Return the model class inside an annotation such as `list[Zone]` or `Software | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()):
        found = _model_class(argument)
        if found is not None:
            return found
    return None
