"""The CISA Known Exploited Vulnerabilities (KEV) catalog as `KevEntry` values.

CISA publishes the catalog as one JSON document (`catalogVersion`, `dateReleased`, `count` and
a `vulnerabilities` list). A CVE in it has been exploited in the wild, which the risk scoring
uses to raise a finding's priority.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from nemecys.feeds._values import invalid, mapping, required_text, sequence, text
from nemecys.vulns.model import KevEntry

KIND = "KEV catalog"
_CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,}$")


def looks_like_kev(document: Mapping[str, object]) -> bool:
    return "catalogVersion" in document and "vulnerabilities" in document


def catalog_version(document: Mapping[str, object]) -> str | None:
    version = document.get("catalogVersion")
    return version if isinstance(version, str) else None


def parse_kev(document: object, origin: str) -> list[KevEntry]:
    """Convert every entry of the catalog; raise InputError naming the first invalid one."""
    data = mapping(document, origin, KIND, "the document")
    entries: list[KevEntry] = []
    for index, item in enumerate(
        sequence(data.get("vulnerabilities"), origin, KIND, "vulnerabilities")
    ):
        where = f"vulnerabilities[{index}]."
        entry = mapping(item, origin, KIND, where.rstrip("."))
        cve = required_text(entry, "cveID", origin, KIND, where).strip()
        if not _CVE_ID.match(cve):
            raise invalid(
                origin, KIND, f"{where}cveID {cve!r} is not a CVE id such as CVE-2021-44228"
            )
        entries.append(
            KevEntry(
                cve=cve,
                vendor=required_text(entry, "vendorProject", origin, KIND, where),
                product=required_text(entry, "product", origin, KIND, where),
                name=required_text(entry, "vulnerabilityName", origin, KIND, where),
                date_added=required_text(entry, "dateAdded", origin, KIND, where),
                due_date=text(entry, "dueDate", origin, KIND, where),
                required_action=text(entry, "requiredAction", origin, KIND, where),
                ransomware=text(entry, "knownRansomwareCampaignUse", origin, KIND, where),
            )
        )
    return entries
