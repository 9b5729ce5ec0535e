"""The model documentation names every field and every allowed value of the schema."""

from __future__ import annotations

import enum
import inspect

import pytest
from pydantic import BaseModel

from nemecys.model import schema

from .conftest import ROOT

DOC = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")

MODEL_CLASSES = [
    obj
    for _, obj in inspect.getmembers(schema, inspect.isclass)
    if issubclass(obj, BaseModel)
    and obj.__module__ == schema.__name__
    and not obj.__name__.startswith("_")
]
ENUMS = [
    obj
    for _, obj in inspect.getmembers(schema, inspect.isclass)
    if issubclass(obj, enum.StrEnum) and obj.__module__ == schema.__name__
]


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda c: c.__name__)
def test_every_field_documented(cls: type[BaseModel]) -> None:
    # A field appears as `name`, or qualified by its section as `section.name`.
    missing = [
        name for name in cls.model_fields if f"`{name}`" not in DOC and f".{name}`" not in DOC
    ]
    assert not missing, f"{cls.__name__} fields missing from docs/model.md: {missing}"


@pytest.mark.parametrize("enum_cls", ENUMS, ids=lambda c: c.__name__)
def test_every_enum_value_documented(enum_cls: type[enum.StrEnum]) -> None:
    missing = [member.value for member in enum_cls if f"`{member.value}`" not in DOC]
    assert not missing, f"{enum_cls.__name__} values missing from docs/model.md: {missing}"
