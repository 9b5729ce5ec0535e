"""NVD CVE API 2.0 records: CPE configurations, version bounds, CVSS metrics, rejection."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from nemecys.errors import InputError
from nemecys.feeds.nvd import cpe_vendor_product, parse_cve, parse_nvd, split_cpe
from nemecys.vulns.model import Event, Range, Severity

# Shaped like the NVD's record of Log4Shell: an OR node of vulnerable log4j ranges, and an
# AND configuration whose second node is a platform that is not itself vulnerable.
LOG4J_LIKE: dict[str, Any] = {
    "id": "CVE-2021-44228",
    "sourceIdentifier": "security@apache.org",
    "published": "2021-12-10T10:15:09.143",
    "lastModified": "2024-07-24T17:08:24.167",
    "vulnStatus": "Analyzed",
    "descriptions": [
        {"lang": "es", "value": "Apache Log4j2 ... (traducción)"},
        {
            "lang": "en",
            "value": "Apache Log4j2 2.0-beta9 through 2.15.0 JNDI features do not protect against attacker controlled LDAP endpoints.",
        },
    ],
    "metrics": {
        "cvssMetricV31": [
            {
                "source": "security@apache.org",
                "type": "Secondary",
                "cvssData": {
                    "version": "3.1",
                    "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:L",
                    "baseScore": 9.9,
                },
            },
            {
                "source": "nvd@nist.gov",
                "type": "Primary",
                "cvssData": {
                    "version": "3.1",
                    "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
                    "baseScore": 10.0,
                },
            },
        ],
        "cvssMetricV2": [
            {
                "source": "nvd@nist.gov",
                "type": "Primary",
                "cvssData": {
                    "version": "2.0",
                    "vectorString": "AV:N/AC:M/Au:N/C:C/I:C/A:C",
                    "baseScore": 9.3,
                },
            },
        ],
    },
    "weaknesses": [
        {
            "source": "security@apache.org",
            "type": "Primary",
            "description": [{"lang": "en", "value": "CWE-917"}],
        },
        {
            "source": "nvd@nist.gov",
            "type": "Secondary",
            "description": [
                {"lang": "en", "value": "NVD-CWE-noinfo"},
                {"lang": "en", "value": "CWE-20"},
            ],
        },
    ],
    "configurations": [
        {
            "nodes": [
                {
                    "operator": "OR",
                    "negate": False,
                    "cpeMatch": [
                        {
                            "vulnerable": True,
                            "criteria": "cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*",
                            "versionStartIncluding": "2.0.1",
                            "versionEndExcluding": "2.3.1",
                            "matchCriteriaId": "03FA5E81-F1AA-4C4C-B0FB-7C5D56BA8ED7",
                        },
                        {
                            "vulnerable": True,
                            "criteria": "cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*",
                            "versionStartExcluding": "2.4",
                            "versionEndIncluding": "2.12.1",
                            "matchCriteriaId": "AED3D5EC-DAD5-4E5F-8BBD-B4E3349D84FC",
                        },
                        {
                            "vulnerable": True,
                            "criteria": "cpe:2.3:a:apache:log4j:2.0:beta9:*:*:*:*:*:*",
                            "matchCriteriaId": "17854E42-7063-4A55-BF2A-4C7074CC2D60",
                        },
                    ],
                }
            ]
        },
        {
            "operator": "AND",
            "nodes": [
                {
                    "operator": "OR",
                    "negate": False,
                    "cpeMatch": [
                        {
                            "vulnerable": True,
                            "criteria": "cpe:2.3:o:siemens:sppa-t3000_ses3000_firmware:*:*:*:*:*:*:*:*",
                            "matchCriteriaId": "2A9D5A1B-2E3F-4E5C-9A3D-1C2B3D4E5F60",
                        }
                    ],
                },
                {
                    "operator": "OR",
                    "negate": False,
                    "cpeMatch": [
                        {
                            "vulnerable": False,
                            "criteria": "cpe:2.3:h:siemens:sppa-t3000_ses3000:-:*:*:*:*:*:*:*",
                            "matchCriteriaId": "3B8E6A2C-3F4A-5D6E-8B4C-2D3E4F5A6B71",
                        }
                    ],
                },
            ],
        },
    ],
    "references": [
        {
            "url": "https://logging.apache.org/log4j/2.x/security.html",
            "source": "security@apache.org",
            "tags": ["Release Notes", "Vendor Advisory"],
        },
        {"url": "https://logging.apache.org/log4j/2.x/security.html", "source": "nvd@nist.gov"},
    ],
}


def test_log4j_like_record() -> None:
    advisory = parse_cve(LOG4J_LIKE, "cve.json")

    assert advisory.id == "CVE-2021-44228"
    assert advisory.source == "nvd"
    assert advisory.modified == "2024-07-24T17:08:24.167"
    assert advisory.withdrawn is None
    assert advisory.details is not None and advisory.details.startswith("Apache Log4j2 2.0-beta9")
    assert advisory.cwes == ("CWE-917", "CWE-20")
    assert advisory.references == ("https://logging.apache.org/log4j/2.x/security.html",)
    assert advisory.severities == (
        Severity("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"),
        Severity("CVSS_V2", "AV:N/AC:M/Au:N/C:C/I:C/A:C"),
    )


def test_cpe_ranges_and_platform() -> None:
    affected = parse_cve(LOG4J_LIKE, "cve.json").affected

    assert len(affected) == 5
    first, second, exact, firmware, platform = affected
    assert first.cpe == "cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*"
    assert first.ranges == (
        Range(
            "VERS", (Event(introduced="2.0.1"), Event(fixed="2.3.1")), "vers:generic/>=2.0.1|<2.3.1"
        ),
    )
    # OSV events cannot express an excluded lower bound, so only the vers string remains.
    assert second.ranges == (Range("VERS", (), "vers:generic/>2.4|<=2.12.1"),)
    assert exact.ranges == ()
    assert exact.versions == ("2.0",)
    assert firmware.vulnerable is True
    assert platform.vulnerable is False
    assert platform.cpe == "cpe:2.3:h:siemens:sppa-t3000_ses3000:-:*:*:*:*:*:*:*"


def test_api_response_and_item_shapes() -> None:
    second = copy.deepcopy(LOG4J_LIKE)
    second["id"] = "CVE-2021-45046"
    response = {
        "resultsPerPage": 2,
        "startIndex": 0,
        "totalResults": 2,
        "format": "NVD_CVE",
        "version": "2.0",
        "timestamp": "2024-08-01T00:00:00.000",
        "vulnerabilities": [{"cve": LOG4J_LIKE}, {"cve": second}],
    }

    assert [a.id for a in parse_nvd(response, "page.json")] == ["CVE-2021-44228", "CVE-2021-45046"]
    assert [a.id for a in parse_nvd({"cve": LOG4J_LIKE}, "item.json")] == ["CVE-2021-44228"]
    assert [a.id for a in parse_nvd(LOG4J_LIKE, "bare.json")] == ["CVE-2021-44228"]


def test_rejected_cve_is_withdrawn() -> None:
    rejected = {
        "id": "CVE-2023-0001",
        "lastModified": "2023-05-01T00:00:00.000",
        "vulnStatus": "Rejected",
        "descriptions": [{"lang": "en", "value": "** REJECT ** Duplicate."}],
    }

    advisory = parse_cve(rejected, "rejected.json")

    assert advisory.withdrawn == "2023-05-01T00:00:00.000"
    assert advisory.extra["vuln_status"] == "Rejected"


def test_negated_node_not_vulnerable() -> None:
    record = {
        "id": "CVE-2024-0002",
        "lastModified": "2024-02-01T00:00:00",
        "configurations": [
            {
                "nodes": [
                    {
                        "operator": "OR",
                        "negate": True,
                        "cpeMatch": [
                            {
                                "vulnerable": True,
                                "criteria": "cpe:2.3:a:acme:pump_app:1.0:*:*:*:*:*:*:*",
                            }
                        ],
                    }
                ]
            }
        ],
    }

    (affected,) = parse_cve(record, "negated.json").affected

    assert affected.vulnerable is False


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"id": "GHSA-1", "lastModified": "2024-01-01T00:00:00"}, "is not a CVE id"),
        ({"id": "CVE-2024-1234"}, "lastModified is missing"),
        (
            {
                "id": "CVE-2024-1234",
                "lastModified": "2024-01-01T00:00:00",
                "configurations": [
                    {"nodes": [{"cpeMatch": [{"vulnerable": True, "criteria": "cpe:/a:acme:x"}]}]}
                ],
            },
            "is not a CPE 2.3 string",
        ),
        (
            {
                "id": "CVE-2024-1234",
                "lastModified": "2024-01-01T00:00:00",
                "configurations": [
                    {"nodes": [{"cpeMatch": [{"criteria": "cpe:2.3:a:acme:x:*:*:*:*:*:*:*:*"}]}]}
                ],
            },
            "vulnerable must be true or false",
        ),
    ],
)
def test_invalid_cve_rejected(record: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_cve(record, "nvd/bad.json")


def test_cpe_split_keeps_escapes() -> None:
    cpe = r"cpe:2.3:a:acme\:labs:infusion\_pump:2.1:*:*:*:*:*:*:*"

    assert split_cpe(cpe)[3] == r"acme\:labs"
    assert len(split_cpe(cpe)) == 13
    assert cpe_vendor_product(cpe) == (r"acme\:labs", r"infusion\_pump")
