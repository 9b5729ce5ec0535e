"""CSAF 2.0 parsing: CISA medical advisories, VEX examples, relationships, invalid documents."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from nemecys.errors import InputError
from nemecys.feeds.csaf import parse_csaf
from nemecys.feeds.reader import collect, iter_records
from nemecys.vulns.model import Advisory, Severity

from .conftest import shared


def advisories_of(relative: str) -> list[Advisory]:
    return [r for r in iter_records(collect([shared(relative)])) if isinstance(r, Advisory)]


def test_illumina_advisory() -> None:
    advisories = advisories_of("vulndb/csaf-medical/icsma/2023/icsma-23-117-01.json")

    assert [a.id for a in advisories] == [
        "ICSMA-23-117-01/CVE-2023-1968",
        "ICSMA-23-117-01/CVE-2023-1966",
    ]
    first = advisories[0]
    assert first.source == "csaf"
    assert first.aliases == ("CVE-2023-1968",)
    assert first.cwes == ("CWE-1327",)
    assert first.severities == (
        Severity("CVSS_V3", "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"),
    )
    assert first.modified == "2023-04-28T18:53:19.854977Z"
    assert first.extra["title"] == "Illumina Universal Copy Service"
    assert len(first.affected) == 13
    assert all(p.status == "known_affected" for p in first.affected)


def test_illumina_product_names_and_ranges() -> None:
    affected = advisories_of("vulndb/csaf-medical/icsma/2023/icsma-23-117-01.json")[0].affected
    by_name = {p.name: p for p in affected}

    iscan = by_name["iScan Control Software: 4.0.0"]
    assert (iscan.vendor, iscan.product, iscan.product_version) == (
        "Illumina",
        "iScan Control Software",
        "4.0.0",
    )
    iseq = by_name["iSeq 100: *"]
    assert iseq.product_version == "vers:all/*"
    assert iseq.ranges[0].vers == "vers:all/*"
    miniseq = by_name["MiniSeq Control Software: >= 2.0"]
    assert miniseq.product_version == ">= 2.0"
    assert miniseq.ranges == ()
    assert iscan.remediation is not None
    assert iscan.remediation.startswith(
        "vendor_fix: Illumina recommends using the UCS Vulnerability Instructions Guide"
    )
    assert iscan.remediation.endswith(
        "(https://support.illumina.com/downloads/illumina-universal-copy-service-1-0.html)"
    )


def test_all_medical_advisories_parse() -> None:
    sources = collect([shared("vulndb/csaf-medical/icsma")])
    advisories = [r for r in iter_records(sources) if isinstance(r, Advisory)]

    assert len({a.extra["document"] for a in advisories}) == 144
    assert all(a.id.startswith("ICSMA-") for a in advisories)
    assert all(p.product and p.name for a in advisories for p in a.affected)


def test_vex_not_affected_example() -> None:
    advisories = advisories_of("vulndb/csaf-examples/vex/sec-vex-2022-0001.json")

    log4shell = next(a for a in advisories if a.aliases[0] == "CVE-2021-44228")
    (product,) = log4shell.affected
    assert product.status == "known_not_affected"
    assert product.vendor == "Secvisogram"
    assert product.product == "Secvisogram"
    assert product.product_version == "<=1.14.0"
    assert product.name == "Secvisogram <=1.14.0"


def test_product_family_branch() -> None:
    (advisory,) = advisories_of("vulndb/csaf-examples/advisories/rhsa-2021_5217.json")

    (product,) = advisory.affected
    assert product.status == "fixed"
    assert (product.vendor, product.product) == ("Red Hat", "Red Hat Single Sign-On")
    assert product.remediation is not None
    assert product.remediation.startswith("vendor_fix: ")


def test_undefined_group_member_rejected() -> None:
    # CSAF conformance test 6.1.1-01: a product group names ids the tree never defines.
    path = (
        "vulndb/csaf-examples/validator-tests/mandatory/oasis_csaf_tc-csaf_2_0-2021-6-1-01-01.json"
    )
    with pytest.raises(
        InputError,
        match=r"6-1-01-01\.json: invalid CSAF document: .*'CSAFPID-9080700' is not defined",
    ):
        advisories_of(path)

    valid = (
        "vulndb/csaf-examples/validator-tests/mandatory/oasis_csaf_tc-csaf_2_0-2021-6-1-01-11.json"
    )
    assert advisories_of(valid) == []


DOCUMENT: dict[str, Any] = {
    "document": {
        "category": "csaf_security_advisory",
        "csaf_version": "2.0",
        "title": "Acme infusion pump gateway",
        "publisher": {
            "category": "vendor",
            "name": "Acme Medical",
            "namespace": "https://acme.example",
        },
        "tracking": {
            "id": "ACME-2024-007",
            "initial_release_date": "2024-05-01T00:00:00Z",
            "current_release_date": "2024-06-01T00:00:00Z",
            "status": "final",
            "version": "2",
            "revision_history": [],
        },
    },
    "product_tree": {
        "branches": [
            {
                "category": "vendor",
                "name": "Acme Medical",
                "branches": [
                    {
                        "category": "product_name",
                        "name": "Gateway",
                        "branches": [
                            {
                                "category": "product_version",
                                "name": "2.1",
                                "product": {
                                    "name": "Acme Gateway 2.1",
                                    "product_id": "GW-21",
                                    "product_identification_helper": {
                                        "purl": "pkg:generic/acme/gateway@2.1"
                                    },
                                },
                            },
                            {
                                "category": "product_version",
                                "name": "2.2",
                                "product": {"name": "Acme Gateway 2.2", "product_id": "GW-22"},
                            },
                        ],
                    }
                ],
            }
        ],
        "full_product_names": [{"name": "Acme Pump 5", "product_id": "PUMP-5"}],
        "relationships": [
            {
                "category": "installed_on",
                "product_reference": "GW-21",
                "relates_to_product_reference": "PUMP-5",
                "full_product_name": {
                    "name": "Acme Gateway 2.1 on Acme Pump 5",
                    "product_id": "GW-21-ON-PUMP-5",
                },
            }
        ],
        "product_groups": [{"group_id": "ALL-GW", "product_ids": ["GW-21", "GW-22"]}],
    },
    "vulnerabilities": [
        {
            "ids": [{"system_name": "Acme", "text": "ACME-VULN-12"}],
            "title": "Hard-coded service password",
            "product_status": {"known_affected": ["GW-21", "GW-21-ON-PUMP-5"], "fixed": ["GW-22"]},
            "remediations": [
                {"category": "vendor_fix", "details": "Update to 2.2.", "group_ids": ["ALL-GW"]},
                {
                    "category": "mitigation",
                    "details": "Block TCP 2323 at the ward firewall.",
                    "product_ids": ["GW-21-ON-PUMP-5"],
                },
            ],
        }
    ],
}


def test_relationships_groups_and_ids() -> None:
    (advisory,) = parse_csaf(DOCUMENT, "acme.json")

    assert advisory.id == "ACME-2024-007/ACME-VULN-12"
    assert advisory.aliases == ("ACME-VULN-12",)
    assert advisory.summary == "Hard-coded service password"
    assert advisory.published == "2024-05-01T00:00:00Z"
    assert advisory.extra["publisher"] == "Acme Medical"
    by_name = {p.name: p for p in advisory.affected}
    gateway = by_name["Acme Gateway 2.1"]
    assert gateway.purl == "pkg:generic/acme/gateway@2.1"
    assert gateway.remediation == "vendor_fix: Update to 2.2."
    combined = by_name["Acme Gateway 2.1 on Acme Pump 5"]
    assert (combined.vendor, combined.product, combined.product_version) == (
        "Acme Medical",
        "Gateway",
        "2.1",
    )
    assert combined.remediation == "mitigation: Block TCP 2323 at the ward firewall."
    assert by_name["Acme Gateway 2.2"].status == "fixed"


def test_vulnerability_without_ids_numbered() -> None:
    document = copy.deepcopy(DOCUMENT)
    del document["vulnerabilities"][0]["ids"]

    (advisory,) = parse_csaf(document, "acme.json")

    assert advisory.id == "ACME-2024-007/1"
    assert advisory.aliases == ()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("document", "csaf_version"), "1.2", "only 2.0 is supported"),
        (("document", "tracking", "current_release_date"), None, "current_release_date is missing"),
        (("vulnerabilities", 0, "product_status", "fixed"), ["GW-99"], "'GW-99' is not defined"),
        (
            ("vulnerabilities", 0, "remediations", 0, "group_ids"),
            ["NONE"],
            "group id 'NONE' is not defined",
        ),
    ],
)
def test_invalid_document_rejected(
    path: tuple[str | int, ...], value: object, message: str
) -> None:
    document = copy.deepcopy(DOCUMENT)
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value

    with pytest.raises(InputError, match=message):
        parse_csaf(document, "acme.json")
