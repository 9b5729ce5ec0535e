"""Read SPDX 3.0 JSON-LD SBOMs into the normalised `SbomDocument`, as far as practical.

No SPDX 3 reader exists among the libraries nemecys uses (spdx-tools 0.8 cannot parse SPDX 3),
and a full JSON-LD processor would fetch the remote `@context`, which nemecys never does while
reading untrusted input. This reader therefore reads the compact form that the SPDX 3.0 context
produces, which the published SPDX 3.0.1 examples use: a `@graph` of objects with `type` names such as
`software_Package`.

Limits:

- Keys written as full IRIs or other prefixes (documents compacted with another context) are not
  recognised; the document then reads as having no packages.
- Elements from other documents (`import`) are not resolved; relationships to them are dropped.
- Only `software_Package` and its subclasses `ai_AIPackage` and `dataset_DatasetPackage` become
  components; files and snippets do not.

Mapping: `name`, `software_packageVersion`, `software_packageUrl` or an `externalIdentifier` of
type packageUrl, cpe23/cpe22 and swid identifiers, `verifiedUsing` hashes, `suppliedBy` and
`originatedBy` agents, `software_primaryPurpose`, and the native FDA fields `supportLevel` and
`validUntilTime`. Licences come from hasConcludedLicense/hasDeclaredLicense relationships,
dependencies from dependsOn, contains, hasDynamicLink, hasStaticLink, hasPrerequisite,
hasOptionalDependency and hasProvidedDependency. The subject is the single package among the
`rootElement`s of the SpdxDocument or software_Sbom.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nemecys.sbom._common import SWID_PROPERTY, ReadContext, unique
from nemecys.sbom.model import SbomDocument, SoftwareComponent

_PACKAGE_TYPES = {
    "software_Package": None,
    "ai_AIPackage": "machine-learning-model",
    "dataset_DatasetPackage": "data",
}
_AGENT_TYPES = frozenset({"Agent", "Person", "Organization", "SoftwareAgent", "Tool"})
_DEPENDENCY_TYPES = frozenset(
    {
        "dependsOn",
        "contains",
        "hasDynamicLink",
        "hasStaticLink",
        "hasPrerequisite",
        "hasOptionalDependency",
        "hasProvidedDependency",
    }
)
_LICENSE_TYPES = frozenset({"hasConcludedLicense", "hasDeclaredLicense"})


def is_spdx3(data: Mapping[str, Any]) -> bool:
    """Tell whether a JSON object is an SPDX 3 JSON-LD document."""
    context = data.get("@context")
    contexts = context if isinstance(context, list) else [context]
    return any(isinstance(item, str) and "spdx.org/rdf/3" in item for item in contexts)


def read_spdx3(data: Mapping[str, Any], ctx: ReadContext) -> SbomDocument:
    """Build the normalised document from a compact SPDX 3 JSON-LD object."""
    graph = data.get("@graph")
    elements_raw = ctx.items(graph, "@graph", components=True) if graph is not None else [data]
    elements: list[Mapping[str, Any]] = []
    by_id: dict[str, Mapping[str, Any]] = {}
    for index, item in enumerate(elements_raw):
        element = ctx.mapping(item, f"@graph[{index}]")
        if element is None:
            continue
        elements.append(element)
        for id_field in ("spdxId", "@id"):
            identifier = element.get(id_field)
            if isinstance(identifier, str):
                by_id.setdefault(identifier, element)
    reader = _Spdx3Reader(by_id, ctx)

    packages: list[tuple[Mapping[str, Any], str, str]] = []
    for index, element in enumerate(elements):
        if element.get("type") in _PACKAGE_TYPES:
            where = f"@graph[{index}]"
            identifier = ctx.text(element.get("spdxId") or element.get("@id"), f"{where}.spdxId")
            packages.append((element, ctx.claim_key(identifier, where), where))
    known = {key for _, key, _ in packages}

    dependencies, licenses = reader.relationships(elements, known)
    roots = reader.roots(elements, known)
    subject_key = roots[0] if len(roots) == 1 else None

    subject: SoftwareComponent | None = None
    components: list[SoftwareComponent] = []
    for element, key, where in packages:
        component = reader.package(
            element, key, dependencies.get(key, ()), licenses.get(key, ()), where
        )
        if key == subject_key:
            subject = component
        else:
            components.append(component)

    creation = reader.creation_info(elements)
    return SbomDocument(
        path=ctx.source,
        format="SPDX",
        encoding="json-ld",
        spec_version=ctx.text(creation.get("specVersion"), "CreationInfo.specVersion"),
        serial_number=reader.document_id(elements),
        timestamp=ctx.text(creation.get("created"), "CreationInfo.created"),
        authors=reader.agent_names(creation.get("createdBy"), "CreationInfo.createdBy"),
        tools=reader.agent_names(creation.get("createdUsing"), "CreationInfo.createdUsing"),
        subject=subject,
        components=tuple(components),
    )


class _Spdx3Reader:
    def __init__(self, by_id: dict[str, Mapping[str, Any]], ctx: ReadContext) -> None:
        self._by_id = by_id
        self._ctx = ctx

    def resolve(self, value: object) -> Mapping[str, Any] | None:
        """Return the element a reference names, or the element itself when written inline."""
        if isinstance(value, dict):
            return value
        if isinstance(value, str):
            return self._by_id.get(value)
        return None

    def relationships(
        self, elements: list[Mapping[str, Any]], known: set[str]
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
        dependencies: dict[str, list[str]] = {}
        licenses: dict[str, list[str]] = {}
        for index, element in enumerate(elements):
            kind = element.get("relationshipType")
            if kind not in _DEPENDENCY_TYPES and kind not in _LICENSE_TYPES:
                continue
            where = f"@graph[{index}]"
            source = self._ctx.text(element.get("from"), f"{where}.from")
            if source not in known or source is None:
                continue
            targets = self._ctx.items(element.get("to"), f"{where}.to")
            for target in targets:
                if kind in _DEPENDENCY_TYPES:
                    if isinstance(target, str) and target in known:
                        dependencies.setdefault(source, []).append(target)
                else:
                    expression = self.license_text(target)
                    if expression:
                        licenses.setdefault(source, []).append(expression)
        return (
            {key: unique(values) for key, values in dependencies.items()},
            {key: unique(values) for key, values in licenses.items()},
        )

    def license_text(self, reference: object) -> str | None:
        element = self.resolve(reference)
        if element is None:
            return None
        for field in ("simplelicensing_licenseExpression", "name", "spdxId"):
            value = element.get(field)
            if (
                isinstance(value, str)
                and value.strip()
                and value.strip() not in {"NOASSERTION", "NONE"}
            ):
                return value.strip()
        return None

    def roots(self, elements: list[Mapping[str, Any]], known: set[str]) -> list[str]:
        roots: list[str] = []
        for element in elements:
            if element.get("type") in {"SpdxDocument", "software_Sbom"}:
                listed = self._ctx.items(element.get("rootElement"), "rootElement")
                roots.extend(root for root in listed if isinstance(root, str) and root in known)
        return list(unique(roots))

    def creation_info(self, elements: list[Mapping[str, Any]]) -> Mapping[str, Any]:
        """Return the CreationInfo of the SpdxDocument, else the first one in the graph."""
        for element in elements:
            if element.get("type") == "SpdxDocument":
                creation = self.resolve(element.get("creationInfo"))
                if creation is not None:
                    return creation
        for element in elements:
            if element.get("type") == "CreationInfo":
                return element
        return {}

    def document_id(self, elements: list[Mapping[str, Any]]) -> str | None:
        for element in elements:
            if element.get("type") == "SpdxDocument":
                return self._ctx.text(element.get("spdxId"), "SpdxDocument.spdxId")
        return None

    def agent_names(self, references: object, where: str) -> tuple[str, ...]:
        names: list[str] = []
        values = references if isinstance(references, list) else [references]
        for reference in values:
            agent = self.resolve(reference)
            if agent is not None and agent.get("type") in _AGENT_TYPES:
                name = self._ctx.text(agent.get("name"), f"{where}.name")
                if name:
                    names.append(name)
        return unique(names)

    def package(
        self,
        element: Mapping[str, Any],
        key: str,
        depends_on: tuple[str, ...],
        licenses: tuple[str, ...],
        where: str,
    ) -> SoftwareComponent:
        ctx = self._ctx
        name = ctx.text(element.get("name"), f"{where}.name")
        if name is None:
            ctx.defect(f"{where}: package has no name")
        purl = ctx.text(element.get("software_packageUrl"), f"{where}.software_packageUrl")
        identifiers: dict[str, str] = {}
        for index, item in enumerate(
            ctx.items(element.get("externalIdentifier"), f"{where}.externalIdentifier")
        ):
            entry = ctx.mapping(item, f"{where}.externalIdentifier[{index}]")
            if entry is None:
                continue
            kind = ctx.text(
                entry.get("externalIdentifierType"), f"{where}.externalIdentifier[{index}]"
            )
            value = ctx.text(entry.get("identifier"), f"{where}.externalIdentifier[{index}]")
            if kind and value:
                identifiers.setdefault(kind.lower(), value)

        purpose = ctx.text(
            element.get("software_primaryPurpose"), f"{where}.software_primaryPurpose"
        )
        component_type = _PACKAGE_TYPES.get(str(element.get("type"))) or _purpose_type(purpose)
        swid = identifiers.get("swid")
        supplier = self.agent_names(element.get("suppliedBy"), f"{where}.suppliedBy")
        originators = self.agent_names(element.get("originatedBy"), f"{where}.originatedBy")

        return SoftwareComponent(
            key=key,
            name=name or "",
            version=ctx.text(
                element.get("software_packageVersion"), f"{where}.software_packageVersion"
            ),
            purl=purl or identifiers.get("packageurl"),
            cpe=identifiers.get("cpe23") or identifiers.get("cpe22"),
            type=component_type,
            supplier=supplier[0] if supplier else None,
            author=", ".join(originators) or None,
            hashes=self.hashes(element.get("verifiedUsing"), f"{where}.verifiedUsing"),
            licenses=licenses,
            level_of_support=self.support_level(element.get("supportLevel"), where),
            end_of_support=ctx.text(element.get("validUntilTime"), f"{where}.validUntilTime"),
            properties=((SWID_PROPERTY, swid),) if swid else (),
            depends_on=depends_on,
        )

    def hashes(self, raw: object, where: str) -> tuple[tuple[str, str], ...]:
        hashes: list[tuple[str, str]] = []
        for index, item in enumerate(self._ctx.items(raw, where)):
            entry = self._ctx.mapping(item, f"{where}[{index}]")
            if entry is None or entry.get("type") != "Hash":
                continue
            algorithm = self._ctx.text(entry.get("algorithm"), f"{where}[{index}].algorithm")
            value = self._ctx.text(entry.get("hashValue"), f"{where}[{index}].hashValue")
            if algorithm and value:
                hashes.append((algorithm, value.lower()))
        return tuple(hashes)

    def support_level(self, raw: object, where: str) -> str | None:
        # supportLevel may be repeated; the values are joined so none is lost.
        values = raw if isinstance(raw, list) else [raw]
        levels = [
            text
            for index, value in enumerate(values)
            if (text := self._ctx.text(value, f"{where}.supportLevel[{index}]"))
        ]
        return ", ".join(levels) or None


def _purpose_type(purpose: str | None) -> str:
    if purpose is None:
        return "library"
    # SPDX 3 purposes are camelCase (operatingSystem); CycloneDX types are kebab-case.
    return "".join(f"-{char.lower()}" if char.isupper() else char for char in purpose).lstrip("-")
