"""Validate an SBOM against its format's schema with the reference libraries, as an opt-in check.

The readers in this package are deliberately tolerant, so a file that reads well may still break
its schema, and a submission reviewer's tool may reject it. This module runs the strict
validators and returns their messages:

- CycloneDX JSON and XML: cyclonedx-python-lib's bundled JSON schemas and XSDs (no network);
- SPDX 2.2/2.3 JSON and tag-value: spdx-tools, an optional dependency imported on use;
- SPDX 3: no validator is available offline, so the result is one message stating that.

Call it only on content that `nemecys.sbom.readers` has already accepted: XML has then passed
defusedxml, which matters because cyclonedx-python-lib parses the text again with lxml.
"""

from __future__ import annotations

import importlib
import json
import warnings
from typing import Any

from nemecys.sbom.model import SbomDocument

# Validators can report thousands of errors for one systematic defect; the first ones suffice.
MAX_MESSAGES = 50


def validate_sbom(data: bytes, document: SbomDocument) -> list[str]:
    """Validate the SBOM content that `document` was read from; return the messages, [] if valid."""
    text = data.decode("utf-8-sig", errors="replace")
    if document.format == "CycloneDX":
        messages = _validate_cyclonedx(text, document)
    elif document.encoding in ("json", "tag-value"):
        messages = _validate_spdx2(text, document)
    else:
        messages = [
            "no offline validator exists for SPDX 3 JSON-LD; the document was not validated"
        ]
    if len(messages) > MAX_MESSAGES:
        hidden = len(messages) - MAX_MESSAGES
        messages = [*messages[:MAX_MESSAGES], f"{hidden} more validation messages not shown"]
    return messages


def _validate_cyclonedx(text: str, document: SbomDocument) -> list[str]:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from cyclonedx.validation.xml import XmlValidator

    versions = {version.to_version(): version for version in SchemaVersion}
    version = versions.get(document.spec_version or "")
    if version is None:
        return [f"CycloneDX {document.spec_version!r} has no bundled schema; not validated"]
    validator = (
        JsonStrictValidator(version) if document.encoding == "json" else XmlValidator(version)
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            errors = validator.validate_str(text, all_errors=True)
            return [] if errors is None else [_cyclonedx_message(error) for error in errors]
    except Exception as exc:  # the validators raise library-specific types on unusual input
        return [f"the CycloneDX validator failed: {exc}"]


def _cyclonedx_message(error: Any) -> str:
    detail = error.data
    json_path = getattr(detail, "json_path", None)
    if json_path is not None:  # jsonschema.ValidationError
        return f"{json_path}: {detail.message}"
    line = getattr(detail, "line", None)
    if line is not None:  # lxml log entry
        return f"line {line}: {detail.message}"
    return str(error)


def _validate_spdx2(text: str, document: SbomDocument) -> list[str]:
    try:
        validator_module = importlib.import_module("spdx_tools.spdx.validation.document_validator")
        error_module = importlib.import_module("spdx_tools.spdx.parser.error")
        if document.encoding == "json":
            parser_module = importlib.import_module(
                "spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser"
            )
            parse = parser_module.JsonLikeDictParser().parse
            source: Any = json.loads(text)
        else:
            parser_module = importlib.import_module("spdx_tools.spdx.parser.tagvalue.parser")
            yacc = importlib.import_module("ply.yacc")
            # PLY would print "Generating LALR tables" and write a table file into site-packages.
            tag_value_parser = parser_module.Parser(
                write_tables=False, debug=False, errorlog=yacc.NullLogger()
            )
            parse = tag_value_parser.parse
            source = text
    except ImportError:
        return ["spdx-tools is not installed, so SPDX 2 was not validated; pip install spdx-tools"]

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = parse(source)
    except error_module.SPDXParsingError as exc:
        return [str(message) for message in exc.get_messages()]
    except Exception as exc:  # spdx-tools raises assorted types on input it cannot build
        return [f"spdx-tools could not parse the document: {exc}"]
    found = validator_module.validate_full_spdx_document(parsed)
    return [str(message.validation_message) for message in found]
