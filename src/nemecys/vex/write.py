"""Writers for CycloneDX VEX and VDR (JSON, built with cyclonedx-python-lib) and OpenVEX 0.2.0.

Each writer maps the statement terms to its own vocabulary (see `nemecys.vex.model`) and keeps
what the format can hold:

- CycloneDX keeps every field. The statement author and fixed versions have no CycloneDX field,
  so they go into vulnerability properties that the reader turns back into statement fields. A
  subcomponent statement is written about the subcomponent alone, because `affects` has no
  "in product" form. Output is checked with cyclonedx-python-lib's strict JSON schema validator
  before it is returned.
- OpenVEX has no version ranges, ratings, responses or per-statement authors. A statement
  narrowed to exact versions becomes one product purl per version, and one narrowed to a range
  raises InputError rather than widen to every version.

The CSAF 2.0 VEX writer lives in `nemecys.vex.write_csaf`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from nemecys import __version__
from nemecys.errors import InputError
from nemecys.sbom.model import SbomDocument, SoftwareComponent
from nemecys.vex._common import parse_timestamp
from nemecys.vex.apply import canonical_purl
from nemecys.vex.model import (
    AnalysisState,
    Product,
    Response,
    VexDocument,
    VexStatement,
    VexStatus,
    cyclonedx_justification,
    cyclonedx_responses,
    openvex_justification,
)
from nemecys.vex.read import PROPERTY_AUTHOR, PROPERTY_FIXED_VERSION

OPENVEX_CONTEXT = "https://openvex.dev/ns/v0.2.0"
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")
TOOL_NAME = "nemecys"

# The hash names OpenVEX 0.2.0 allows in `hashes`.
_OPENVEX_HASHES = frozenset(
    {
        "md5",
        "sha1",
        "sha-256",
        "sha-384",
        "sha-512",
        "sha3-224",
        "sha3-256",
        "sha3-384",
        "sha3-512",
        "blake2s-256",
        "blake2b-256",
        "blake2b-512",
    }
)

_SOURCES = {
    "CVE": ("NVD", "https://nvd.nist.gov/vuln/detail/"),
    "GHSA": ("GitHub Advisories", "https://github.com/advisories/"),
    "OSV": ("OSV", "https://osv.dev/vulnerability/"),
    "PYSEC": ("OSV", "https://osv.dev/vulnerability/"),
    "GO": ("OSV", "https://osv.dev/vulnerability/"),
    "RUSTSEC": ("OSV", "https://osv.dev/vulnerability/"),
}

_RESPONSE_ACTIONS = {
    Response.UPDATE: "Update to a fixed version.",
    Response.VENDOR_FIX: "Update to a fixed version.",
    Response.ROLLBACK: "Roll back to an unaffected version.",
    Response.WORKAROUND_AVAILABLE: "Apply the available workaround.",
    Response.WORKAROUND: "Apply the available workaround.",
    Response.MITIGATION: "Apply the available mitigation.",
    Response.WILL_NOT_FIX: "No fix is planned.",
    Response.NO_FIX_PLANNED: "No fix is planned.",
    Response.CAN_NOT_FIX: "No fix is possible.",
    Response.NONE_AVAILABLE: "No fix is available yet.",
}


def source_of(vulnerability_id: str) -> tuple[str, str | None]:
    """Return the database name and the URL of a vulnerability id, judged by its prefix."""
    prefix = vulnerability_id.split("-", 1)[0].upper()
    name, url = _SOURCES.get(prefix, (prefix or "unknown", None))
    return name, f"{url}{vulnerability_id}" if url else None


def action_text(statement: VexStatement) -> str:
    """Return the statement's action, or one built from its fixed versions and responses."""
    if statement.action:
        return statement.action
    if statement.fixed_versions:
        versions = ", ".join(statement.fixed_versions)
        return f"Update to a fixed version: {versions}."
    for response in statement.responses:
        return _RESPONSE_ACTIONS[response]
    return "No remediation has been recorded for this vulnerability."


def impact_text(statement: VexStatement) -> str | None:
    """Return why a not-affected statement holds, as free text, when it has one."""
    if statement.detail:
        return statement.detail
    if statement.state == AnalysisState.FALSE_POSITIVE:
        return "The vulnerability was wrongly associated with this component (a false positive)."
    return None


def dump_json(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- CycloneDX -------------------------------------------------------------------------------


def write_cyclonedx_vex(
    document: VexDocument,
    *,
    sbom: SbomDocument | None = None,
    bom_version: int = 1,
    spec_version: str = "1.6",
) -> str:
    """Write a standalone CycloneDX VEX BOM as JSON.

    With `sbom`, a target found in it is referred to by BOM-Link
    (`urn:cdx:<serial>/<bom_version>#<bom-ref>`). Any other target is listed as a component of
    the VEX BOM itself and referred to by its bom-ref there.
    """
    return _write_cyclonedx(document, sbom, bom_version, spec_version, embed=False)


def write_cyclonedx_vdr(
    document: VexDocument, *, sbom: SbomDocument | None = None, spec_version: str = "1.6"
) -> str:
    """Write a CycloneDX vulnerability disclosure report: the SBOM's components plus statements.

    Targets refer to the components by their bom-refs in the same document.
    """
    return _write_cyclonedx(document, sbom, 1, spec_version, embed=True)


def _write_cyclonedx(
    document: VexDocument,
    sbom: SbomDocument | None,
    bom_version: int,
    spec_version: str,
    *,
    embed: bool,
) -> str:
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.contact import OrganizationalContact
    from cyclonedx.model.tool import ToolRepository

    outputter, schema = _cyclonedx_version(spec_version)
    refs = _CycloneDxRefs(document, sbom, bom_version, embed=embed)
    vulnerabilities = _cdx_vulnerabilities(document, refs)

    # Without a timestamp cyclonedx-python-lib writes the current time, so use the latest
    # statement time to keep the output reproducible.
    moments = [s.timestamp for s in document.statements if s.timestamp]
    timestamp = document.timestamp or (max(moments, key=parse_timestamp) if moments else None)
    metadata = BomMetaData(
        timestamp=parse_timestamp(timestamp) if timestamp else None,
        authors=[OrganizationalContact(name=document.author)] if document.author else None,
        tools=ToolRepository(
            components=[
                Component(name=TOOL_NAME, version=__version__, type=ComponentType.APPLICATION)
            ]
        ),
        component=refs.metadata_component,
    )
    bom = Bom(
        serial_number=_serial(document),
        version=_int_version(document.version),
        metadata=metadata,
        components=refs.components,
        vulnerabilities=vulnerabilities,
    )
    text: str = outputter(bom).output_as_string(indent=2)
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(schema).validate_str(text)
    if error is not None:
        raise InputError(f"the CycloneDX {spec_version} output is invalid: {error}")
    return text + "\n"


def _cyclonedx_version(spec_version: str) -> tuple[Any, Any]:
    from cyclonedx.output.json import JsonV1Dot5, JsonV1Dot6
    from cyclonedx.schema import SchemaVersion

    versions = {
        "1.5": (JsonV1Dot5, SchemaVersion.V1_5),
        "1.6": (JsonV1Dot6, SchemaVersion.V1_6),
    }
    if spec_version not in versions:
        raise InputError(f"CycloneDX spec version {spec_version} is not written; use 1.5 or 1.6")
    return versions[spec_version]


class _CycloneDxRefs:
    """Assigns each statement target a ref: a BOM-Link into the SBOM, or a local component."""

    def __init__(
        self,
        document: VexDocument,
        sbom: SbomDocument | None,
        bom_version: int,
        *,
        embed: bool,
    ) -> None:
        self.sbom = sbom
        self.embed = embed
        self.link_prefix: str | None = None
        if sbom is not None and not embed:
            if not sbom.serial_number:
                raise InputError(
                    f"SBOM {sbom.path} has no serialNumber, so a VEX cannot refer to it by "
                    "BOM-Link; add a serialNumber or write a VDR instead"
                )
            serial = sbom.serial_number.lower().removeprefix("urn:uuid:")
            self.link_prefix = f"urn:cdx:{serial}/{bom_version}#"
        self.components: list[Any] = []
        self.metadata_component: Any = None
        self._local: dict[Product, str] = {}
        self._used: set[str] = set()

        if embed and sbom is not None:
            if sbom.subject is not None:
                self.metadata_component = _cdx_component_of(sbom.subject)
                self._used.add(sbom.subject.key)
            for component in sbom.components:
                self.components.append(_cdx_component_of(component))
                self._used.add(component.key)
        elif document.product is not None:
            ref = self._new_ref(document.product)
            self.metadata_component = _cdx_component_from_product(document.product, ref)
            self._local[document.product] = ref

    def ref_for(self, product: Product) -> str:
        if product.ref and product.ref.startswith("urn:cdx:"):
            return product.ref
        found = self._find_in_sbom(product)
        if found is not None:
            if self.link_prefix is None:
                return found.key
            return self.link_prefix + quote(found.key, safe=":/@?=&.-_+~")
        if product in self._local:
            return self._local[product]
        ref = self._new_ref(product)
        self.components.append(_cdx_component_from_product(product, ref))
        self._local[product] = ref
        return ref

    def _find_in_sbom(self, product: Product) -> SoftwareComponent | None:
        if self.sbom is None:
            return None
        candidates = [*self.sbom.components]
        if self.sbom.subject is not None:
            candidates.insert(0, self.sbom.subject)
        wanted = canonical_purl(product.purl) if product.purl else None
        for component in candidates:
            if product.ref and product.ref == component.key:
                return component
            if wanted and component.purl and canonical_purl(component.purl) == wanted:
                return component
        return None

    def _new_ref(self, product: Product) -> str:
        base = product.ref or product.purl or product.label()
        ref, counter = base, 2
        while ref in self._used:
            ref, counter = f"{base}-{counter}", counter + 1
        self._used.add(ref)
        return ref


def _cdx_component_of(component: SoftwareComponent) -> Any:
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    try:
        kind = ComponentType(component.type)
    except ValueError:
        kind = ComponentType.LIBRARY
    try:
        purl = PackageURL.from_string(component.purl) if component.purl else None
    except ValueError:
        raise InputError(
            f"component {component.key} has an invalid purl {component.purl!r}"
        ) from None
    return Component(
        bom_ref=component.key,
        name=component.name,
        version=component.version,
        group=component.group,
        purl=purl,
        cpe=component.cpe,
        type=kind,
    )


def _cdx_component_from_product(product: Product, ref: str) -> Any:
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.contact import OrganizationalEntity
    from packageurl import PackageURL

    purl = None
    if product.purl:
        try:
            purl = PackageURL.from_string(product.purl)
        except ValueError:
            raise InputError(f"product {product.label()} has an invalid purl") from None
    name = product.name or (purl.name if purl else product.label())
    version = product.version or (purl.version if purl else None)
    return Component(
        bom_ref=ref,
        name=name,
        version=version,
        purl=purl,
        cpe=product.cpe,
        type=ComponentType.APPLICATION if product.name and not purl else ComponentType.LIBRARY,
        supplier=OrganizationalEntity(name=product.vendor) if product.vendor else None,
    )


def _cdx_vulnerabilities(document: VexDocument, refs: _CycloneDxRefs) -> list[Any]:
    from cyclonedx.model.impact_analysis import (
        ImpactAnalysisAffectedStatus,
        ImpactAnalysisJustification,
        ImpactAnalysisResponse,
        ImpactAnalysisState,
    )
    from cyclonedx.model.vulnerability import (
        BomTarget,
        BomTargetVersionRange,
        Vulnerability,
        VulnerabilityAnalysis,
        VulnerabilityReference,
        VulnerabilitySource,
    )

    # Statements that differ only in their target become one vulnerability with several affects.
    groups: dict[VexStatement, list[VexStatement]] = {}
    for statement in document.statements:
        key = replace(statement, product=None, subcomponent=None, versions=())
        groups.setdefault(key, []).append(statement)

    vulnerabilities = []
    for number, (common, members) in enumerate(groups.items(), start=1):
        targets = []
        for member in members:
            target = member.target
            if target is None:
                continue
            versions = [
                BomTargetVersionRange(
                    version=c.version,
                    range=c.range,
                    status=ImpactAnalysisAffectedStatus(c.status.value),
                )
                for c in member.versions
            ]
            targets.append(BomTarget(ref=refs.ref_for(target), versions=versions or None))
        name, url = source_of(common.vulnerability)
        properties = _cdx_properties(common, document.author)
        analysis = VulnerabilityAnalysis(
            state=ImpactAnalysisState(common.state.value),
            justification=ImpactAnalysisJustification(
                cyclonedx_justification(common.justification).value
            )
            if common.justification
            else None,
            responses=[
                ImpactAnalysisResponse(r.value) for r in cyclonedx_responses(common.responses)
            ]
            or None,
            detail=common.detail,
            first_issued=parse_timestamp(common.first_issued) if common.first_issued else None,
            last_updated=parse_timestamp(common.last_updated) if common.last_updated else None,
        )
        vulnerabilities.append(
            Vulnerability(
                bom_ref=f"vulnerability-{number}",
                id=common.vulnerability,
                source=VulnerabilitySource(name=name, url=_uri(url)),
                references=[
                    VulnerabilityReference(
                        id=alias, source=VulnerabilitySource(name=source_of(alias)[0])
                    )
                    for alias in common.aliases
                ]
                or None,
                ratings=_cdx_ratings(common) or None,
                description=common.description,
                recommendation=common.action,
                analysis=analysis,
                affects=targets or None,
                properties=properties or None,
            )
        )
    return vulnerabilities


def _cdx_properties(statement: VexStatement, document_author: str | None) -> list[Any]:
    from cyclonedx.model import Property

    properties = []
    if statement.author and statement.author != document_author:
        properties.append(Property(name=PROPERTY_AUTHOR, value=statement.author))
    properties += [Property(name=PROPERTY_FIXED_VERSION, value=v) for v in statement.fixed_versions]
    return properties


def _cdx_ratings(statement: VexStatement) -> list[Any]:
    from cyclonedx.model.vulnerability import (
        VulnerabilityRating,
        VulnerabilityScoreSource,
        VulnerabilitySeverity,
        VulnerabilitySource,
    )

    ratings = []
    for rating in statement.ratings:
        try:
            method = VulnerabilityScoreSource(rating.method) if rating.method else None
        except ValueError:
            method = VulnerabilityScoreSource.OTHER
        try:
            severity = VulnerabilitySeverity(rating.severity) if rating.severity else None
        except ValueError:
            severity = VulnerabilitySeverity.UNKNOWN
        try:
            score = Decimal(str(rating.score)) if rating.score is not None else None
        except InvalidOperation:
            score = None
        ratings.append(
            VulnerabilityRating(
                source=VulnerabilitySource(name=rating.source) if rating.source else None,
                score=score,
                severity=severity,
                method=method,
                vector=rating.vector,
            )
        )
    return ratings


def _uri(url: str | None) -> Any:
    from cyclonedx.model import XsUri

    return XsUri(url) if url else None


def _serial(document: VexDocument) -> uuid.UUID:
    """Return the document's own serial when it is a urn:uuid, else one derived from its id."""
    if document.id and document.id.lower().startswith("urn:uuid:"):
        try:
            return uuid.UUID(document.id[len("urn:uuid:") :])
        except ValueError:
            pass
    seed = document.id or dump_json([repr(s) for s in document.statements])
    return uuid.uuid5(uuid.NAMESPACE_URL, f"nemecys:vex:{seed}")


def _int_version(version: str | None) -> int:
    if version and version.isdigit() and int(version) >= 1:
        return int(version)
    return 1


# --- OpenVEX ---------------------------------------------------------------------------------


def write_openvex(document: VexDocument) -> str:
    """Write an OpenVEX 0.2.0 document as JSON.

    Raises InputError for what OpenVEX cannot express: a document without author, a
    not_affected statement with neither justification nor detail, a version range.
    """
    if not document.author:
        raise InputError("OpenVEX requires a document author; set the VexDocument author")
    statements = [
        entry for statement in document.statements for entry in _openvex_statements(statement)
    ]
    if not statements:
        raise InputError("OpenVEX requires at least one statement; the document has none")
    moments = [s.timestamp for s in document.statements if s.timestamp]
    timestamp = document.timestamp or (max(moments, key=parse_timestamp) if moments else None)
    if timestamp is None:
        raise InputError("OpenVEX requires a document timestamp; set the VexDocument timestamp")

    output: dict[str, Any] = {
        "@context": OPENVEX_CONTEXT,
        "@id": _openvex_id(document),
        "author": document.author,
        "timestamp": timestamp,
        "version": _int_version(document.version),
        "tooling": f"{TOOL_NAME} {__version__}",
        "statements": statements,
    }
    if document.last_updated:
        output["last_updated"] = document.last_updated
    return dump_json(output)


def _openvex_id(document: VexDocument) -> str:
    if document.id and ":" in document.id and " " not in document.id:
        return document.id
    return f"urn:uuid:{_serial(document)}"


def _openvex_statements(statement: VexStatement) -> list[dict[str, Any]]:
    where = f"statement for {statement.vulnerability}"
    target = statement.target
    base: dict[str, Any] = {"vulnerability": _openvex_vulnerability(statement)}
    if statement.first_issued:
        base["timestamp"] = statement.first_issued
    if statement.last_updated:
        base["last_updated"] = statement.last_updated
    base["status"] = statement.status.value
    base.update(_openvex_status_fields(statement, where))

    if target is None:
        return [base]
    if target.purl is None and statement.versions:
        raise InputError(
            f"{where} on {target.label()} is limited to some versions, but the target has no "
            "purl to put a version in; OpenVEX cannot express it"
        )
    targets = [target]
    if statement.versions:
        targets = [_with_version(target, c.version, where) for c in statement.versions]
    statements = []
    for each in targets:
        if statement.subcomponent is not None and statement.product is not None:
            product = _openvex_component(statement.product)
            product["subcomponents"] = [_openvex_component(each)]
        else:
            product = _openvex_component(each)
        statements.append({**base, "products": [product]})
    return statements


def _with_version(target: Product, version: str | None, where: str) -> Product:
    if version is None:
        raise InputError(
            f"{where} on {target.label()} is limited to a version range; OpenVEX has no ranges, "
            "so list the versions or write CycloneDX or CSAF"
        )
    from packageurl import PackageURL

    try:
        base = PackageURL.from_string(target.purl or "")
    except ValueError:
        raise InputError(f"{where}: invalid purl {target.purl!r}") from None
    versioned = base._replace(version=version).to_string()
    return replace(target, ref=versioned, purl=versioned, version=version)


def _openvex_vulnerability(statement: VexStatement) -> dict[str, Any]:
    vulnerability: dict[str, Any] = {"name": statement.vulnerability}
    _, url = source_of(statement.vulnerability)
    if url:
        vulnerability["@id"] = url
    if statement.description:
        vulnerability["description"] = statement.description
    if statement.aliases:
        vulnerability["aliases"] = list(dict.fromkeys(statement.aliases))
    return vulnerability


def _openvex_status_fields(statement: VexStatement, where: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    status = statement.status
    if status == VexStatus.NOT_AFFECTED:
        impact = impact_text(statement)
        if statement.justification:
            fields["justification"] = openvex_justification(statement.justification).value
        if impact:
            fields["impact_statement"] = impact
        if not fields:
            raise InputError(
                f"{where} is not_affected without justification or detail; OpenVEX requires one"
            )
    elif statement.detail:
        fields["status_notes"] = statement.detail
    if status == VexStatus.AFFECTED:
        fields["action_statement"] = action_text(statement)
    elif statement.action:
        fields["action_statement"] = statement.action
    return fields


def _openvex_component(product: Product) -> dict[str, Any]:
    entry: dict[str, Any] = {"@id": _openvex_iri(product)}
    identifiers: dict[str, str] = {}
    if product.purl and product.purl != entry["@id"]:
        identifiers["purl"] = product.purl
    if product.cpe:
        identifiers["cpe23" if product.cpe.startswith("cpe:2.3:") else "cpe22"] = product.cpe
    if identifiers:
        entry["identifiers"] = identifiers
    hashes = {k: v for k, v in product.hashes if k in _OPENVEX_HASHES}
    if hashes:
        entry["hashes"] = hashes
    return entry


def _openvex_iri(product: Product) -> str:
    """Return the product's `@id`: its ref when that is an IRI, else its purl or CPE.

    A product known only by name (a CSAF product, a CycloneDX metadata component) gets a
    `pkg:generic` purl, the purl type for software without a package ecosystem.
    """
    if product.ref and _IRI.match(product.ref):
        return product.ref
    if product.purl:
        return product.purl
    if product.cpe:
        return product.cpe
    if product.name:
        from packageurl import PackageURL

        return PackageURL(
            type="generic", namespace=product.vendor, name=product.name, version=product.version
        ).to_string()
    raise InputError(
        f"product {product.label()} has no IRI, purl, CPE or name, so OpenVEX cannot identify it"
    )


__all__: Sequence[str] = (
    "OPENVEX_CONTEXT",
    "action_text",
    "impact_text",
    "source_of",
    "write_cyclonedx_vdr",
    "write_cyclonedx_vex",
    "write_openvex",
)
