"""CSAF 2.0 mandatory tests against the OASIS validator test cases: documents the OASIS list
marks valid pass, and failing documents fail with the test they were written for."""

from __future__ import annotations

import csv
import json
from typing import Any

import pytest

from nemecys.vex.csaf_rules import check_csaf

from .conftest import shared

CASES = "vulndb/csaf-examples/validator-tests"

# The tests that check_csaf implements. Optional (6.2.x) and informative (6.3.x) tests in the
# OASIS list never make a document invalid, so those documents must pass.
IMPLEMENTED = {
    "6.1.1",
    "6.1.2",
    "6.1.3",
    "6.1.4",
    "6.1.6",
    "6.1.7",
    "6.1.8",
    "6.1.9",
    "6.1.27.4",
    "6.1.27.5",
    "6.1.27.6",
    "6.1.27.7",
    "6.1.27.8",
    "6.1.27.9",
    "6.1.27.10",
    "6.1.27.11",
}


def selected_cases() -> list[dict[str, str]]:
    with shared(f"{CASES}/selected-testcases.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_case(relative: str) -> Any:
    return json.loads(shared(f"{CASES}/{relative}").read_text(encoding="utf-8"))


def test_every_listed_case_agrees() -> None:
    cases = selected_cases()
    assert len(cases) >= 30
    checked = 0
    for case in cases:
        problems = check_csaf(load_case(case["file"]))
        if case["group"] != "mandatory":
            assert problems == [], case["file"]
            continue
        assert case["test_id"] in IMPLEMENTED, case["test_id"]
        checked += 1
        if case["expected_valid"] == "true":
            assert problems == [], case["file"]
        else:
            ids = {p.split(" ", 1)[0] for p in problems}
            assert case["test_id"] in ids, (case["file"], problems)
    assert checked >= 26


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "oasis_csaf_tc-csaf_2_0-2021-6-1-27-09-01.json",
            "known_not_affected product CSAFPID-9080702 has no impact statement",
        ),
        (
            "oasis_csaf_tc-csaf_2_0-2021-6-1-27-10-01.json",
            "known_affected product CSAFPID-9080702 has no action statement",
        ),
        ("oasis_csaf_tc-csaf_2_0-2021-6-1-27-08-01.json", "needs a cve or ids"),
        ("oasis_csaf_tc-csaf_2_0-2021-6-1-27-07-01.json", "needs at least one of fixed"),
        ("oasis_csaf_tc-csaf_2_0-2021-6-1-01-01.json", "product id CSAFPID-9080700 is not defined"),
        ("oasis_csaf_tc-csaf_2_0-2021-6-1-03-01.json", "is defined in terms of itself"),
        ("oasis_csaf_tc-csaf_2_0-2021-6-1-09-01.json", "baseScore: is 10 but the vector gives 6.5"),
    ],
)
def test_failure_messages_name_the_product(name: str, message: str) -> None:
    problems = check_csaf(load_case(f"mandatory/{name}"))
    assert any(message in p for p in problems), problems


def test_published_vex_examples_pass() -> None:
    folders = [shared("vulndb/csaf-examples/vex"), shared("vulndb/csaf-examples/cisa-real-vex")]
    for folder in folders:
        for path in sorted(folder.glob("*.json")):
            assert check_csaf(json.loads(path.read_text("utf-8"))) == [], path


def test_two_flags_for_one_product() -> None:
    document = load_case("mandatory/oasis_csaf_tc-csaf_2_0-2021-6-1-27-09-12.json")
    document["vulnerabilities"][0]["flags"].append(
        {"label": "component_not_present", "product_ids": ["CSAFPID-9080700"]}
    )
    problems = check_csaf(document)
    assert problems == ["6.1.33 vulnerabilities[0].flags: product CSAFPID-9080700 has 2 VEX flags"]


def test_not_an_object() -> None:
    assert check_csaf([]) == ["the CSAF document must be a JSON object"]
