"""The system model: schema, loading with source locations, and cross-reference checks."""

from nemecys.model.loader import (
    MODEL_FILE_NAME,
    LoadedModel,
    load_model,
    read_document,
    resolve_project,
    validate_document,
)
from nemecys.model.references import check_document, check_model, check_threat_ids
from nemecys.model.schema import SystemModel

__all__ = [
    "MODEL_FILE_NAME",
    "LoadedModel",
    "SystemModel",
    "check_document",
    "check_model",
    "check_threat_ids",
    "load_model",
    "read_document",
    "resolve_project",
    "validate_document",
]
