"""Cross-reference checks over a model document.

Pydantic checks each object alone. This pass checks the references between sections: unique
ids, a flow naming an existing component, a control naming an existing rule, a decision naming a
threat the engine raised. It reads the merged document as plain data rather than the
pydantic objects, so it also runs when some values have the wrong type, and `nemecys validate`
can list schema and reference problems together. Values of the wrong type are skipped here;
the schema pass reports them.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from typing import Any

from nemecys.errors import Problem
from nemecys.model.loader import LoadedModel, suggest
from nemecys.model.schema import STANDARD_ZONES
from nemecys.model.yamlsource import PathKey, SourceMap, format_path


class _Checker:
    def __init__(self, document: dict[str, Any], source: SourceMap) -> None:
        self.document = document
        self.source = source
        self.problems: list[Problem] = []

    def add(
        self, message: str, path: PathKey, *, value: str | None = None, hint: str | None = None
    ) -> None:
        self.problems.append(
            Problem(message, self.source.find(path), value=value, hint=hint, path=format_path(path))
        )

    def items(self, *path: str) -> Iterator[tuple[PathKey, dict[str, Any]]]:
        """Yield (path, mapping) for each mapping in the list at `path`."""
        node: Any = self.document
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, dict):
                    yield (*path, index), item

    def strings(self, item: dict[str, Any], key: str) -> Iterator[tuple[int, str]]:
        values = item.get(key)
        if isinstance(values, list):
            for index, value in enumerate(values):
                if isinstance(value, str):
                    yield index, value

    def unique(self, *section: str) -> set[str]:
        seen: set[str] = set()
        for path, item in self.items(*section):
            ident = item.get("id")
            if not isinstance(ident, str):
                continue
            if ident in seen:
                self.add(
                    f"duplicate id '{ident}' in {'.'.join(section)}",
                    (*path, "id"),
                    value=ident,
                    hint="ids must be unique within their section",
                )
            seen.add(ident)
        return seen

    def reference(self, path: PathKey, value: Any, known: Collection[str], what: str) -> None:
        if not isinstance(value, str) or value in known:
            return
        guess = suggest(value, known)
        hint = f"did you mean '{guess}'?" if guess else f"declare the {what} or fix the reference"
        self.add(f"unknown {what} '{value}'", path, value=value, hint=hint)


def check_document(
    document: dict[str, Any],
    source: SourceMap,
    *,
    rule_ids: Collection[str] | None = None,
    catalog_ids: Collection[str] | None = None,
) -> list[Problem]:
    """Return every cross-reference problem of a merged model document.

    `rule_ids` and `catalog_ids` enable the checks of references into the threat library and
    the control catalog. Threat ids are checked later by `check_threat_ids`, because they exist
    only once threats are derived.
    """
    check = _Checker(document, source)

    functions = check.unique("system", "clinical_functions")
    zones = check.unique("zones") | {z.id for z in STANDARD_ZONES}
    standard_kinds = {z.id: z.kind.value for z in STANDARD_ZONES}
    for path, zone in check.items("zones"):
        ident, kind = zone.get("id"), zone.get("kind")
        if isinstance(ident, str) and ident in standard_kinds and kind != standard_kinds[ident]:
            check.add(
                f"zone '{ident}' is a standard zone of kind '{standard_kinds[ident]}'",
                (*path, "kind"),
                value=str(kind),
                hint="keep its kind (you may rename or describe it), or use another id",
            )
    components = check.unique("components")
    assets = check.unique("assets")
    flows = check.unique("flows")
    actors = check.unique("actors")
    check.unique("controls")
    check.unique("assumptions")
    for path, actor in check.items("actors"):
        if actor.get("id") in components:
            check.add(
                f"actor id '{actor['id']}' is also a component id",
                (*path, "id"),
                value=actor["id"],
                hint="flows name actors and components alike, so their ids must differ",
            )

    interfaces: set[str] = set()
    for path, component in check.items("components"):
        check.reference((*path, "zone"), component.get("zone"), zones, "zone")
        for i, function in check.strings(component, "functions"):
            check.reference((*path, "functions", i), function, functions, "clinical function")
        for i, stored in check.strings(component, "stores"):
            check.reference((*path, "stores", i), stored, assets, "data asset")
        seen: set[str] = set()
        raw_interfaces = component.get("interfaces")
        if isinstance(raw_interfaces, list):
            for ii, interface in enumerate(raw_interfaces):
                ident = interface.get("id") if isinstance(interface, dict) else None
                if not isinstance(ident, str):
                    continue
                if ident in seen:
                    check.add(
                        f"duplicate interface id '{ident}'",
                        (*path, "interfaces", ii, "id"),
                        value=ident,
                    )
                seen.add(ident)
                if isinstance(component.get("id"), str):
                    interfaces.add(f"{component['id']}.{ident}")
        if component.get("out_of_scope") is True and not component.get("out_of_scope_rationale"):
            check.add(
                "out-of-scope component has no rationale",
                (*path, "out_of_scope"),
                hint="add 'out_of_scope_rationale:' saying why it is outside the assessment",
            )

    for path, asset in check.items("assets"):
        for i, function in check.strings(asset, "functions"):
            check.reference((*path, "functions", i), function, functions, "clinical function")

    endpoints = components | actors
    for path, flow in check.items("flows"):
        source_id, destination_id = flow.get("source"), flow.get("destination")
        check.reference((*path, "source"), source_id, endpoints, "component or actor")
        check.reference((*path, "destination"), destination_id, endpoints, "component or actor")
        if isinstance(source_id, str) and source_id == destination_id:
            check.add(
                "flow goes from a component to itself",
                (*path, "destination"),
                value=destination_id,
                hint="model the internal step inside the component, or split the component",
            )
        for i, data in check.strings(flow, "data"):
            check.reference((*path, "data", i), data, assets, "data asset")
        interface = flow.get("interface")
        if isinstance(interface, str):
            check.reference((*path, "interface"), interface, interfaces, "interface")
            owner = interface.split(".", 1)[0]
            known_ends = source_id in endpoints and destination_id in endpoints
            if interface in interfaces and known_ends and owner not in (source_id, destination_id):
                check.add(
                    "flow uses an interface of a component it does not connect",
                    (*path, "interface"),
                    value=interface,
                    hint=f"use an interface of '{source_id}' or '{destination_id}'",
                )

    for path, actor in check.items("actors"):
        if "zone" in actor:
            check.reference((*path, "zone"), actor.get("zone"), zones, "zone")
        for i, used in check.strings(actor, "uses"):
            check.reference((*path, "uses", i), used, components, "component")

    targets = components | flows | interfaces | zones
    for path, control in check.items("controls"):
        catalog = control.get("catalog")
        if catalog is None and control.get("name") is None:
            check.add(
                "control has neither 'catalog' nor 'name'",
                path,
                hint="name a control catalog id (see 'nemecys controls'), or give a custom control a name",
            )
        if catalog is not None and catalog_ids is not None:
            check.reference((*path, "catalog"), catalog, catalog_ids, "control catalog id")
        for i, target in check.strings(control, "applies_to"):
            check.reference(
                (*path, "applies_to", i), target, targets, "component, flow, interface or zone"
            )
        if catalog is None and not control.get("mitigates"):
            check.add(
                "custom control mitigates nothing",
                path,
                hint="list the rule ids or threat ids it closes under 'mitigates:'",
            )

    if rule_ids is not None:
        for path, control in check.items("controls"):
            for i, ref in check.strings(control, "mitigates"):
                check.reference((*path, "mitigates", i), ref.split("@", 1)[0], rule_ids, "rule")
        for path, assumption in check.items("assumptions"):
            for i, ref in check.strings(assumption, "excludes"):
                check.reference((*path, "excludes", i), ref.split("@", 1)[0], rule_ids, "rule")
        for path, decision in check.items("decisions"):
            threat = decision.get("threat")
            if isinstance(threat, str):
                check.reference((*path, "threat"), threat.split("@", 1)[0], rule_ids, "rule")
        settings = document.get("threats")
        if isinstance(settings, dict):
            for i, rule in check.strings(settings, "disable"):
                check.reference(("threats", "disable", i), rule, rule_ids, "rule")

    for path, decision in check.items("decisions"):
        status = decision.get("status")
        rationale = decision.get("rationale")
        if (
            isinstance(status, str)
            and status != "open"
            and not (isinstance(rationale, str) and rationale.strip())
        ):
            check.add(
                f"decision '{status}' has no rationale",
                (*path, "status"),
                hint="say why in 'rationale:'; auditors read it",
            )

    _check_text(check, document, ())
    return check.problems


# C0 and C1 control characters other than tab, newline and carriage return, and the Unicode
# bidirectional overrides and isolates: they can hide or reorder text in reports and reviews
# (the "Trojan Source" technique), and no model value needs them.
_FORBIDDEN_CHARACTERS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


def _check_text(check: _Checker, node: Any, path: PathKey) -> None:
    if isinstance(node, str):
        found = _FORBIDDEN_CHARACTERS.search(node)
        if found:
            code = f"U+{ord(found.group()):04X}"
            check.add(
                f"text contains the control character {code} at position {found.start() + 1}",
                path,
                value=node.encode("unicode_escape").decode("ascii")[:80],
                hint="remove it; control and text-direction characters can hide text in reports",
            )
    elif isinstance(node, dict):
        for key, value in node.items():
            _check_text(check, value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _check_text(check, value, (*path, index))


def check_model(
    loaded: LoadedModel,
    *,
    rule_ids: Collection[str] | None = None,
    catalog_ids: Collection[str] | None = None,
) -> list[Problem]:
    """Return the cross-reference problems of an already parsed model."""
    # A model built in code has no document; its dump serves, without source locations.
    document = loaded.document or loaded.model.model_dump(mode="json")
    return check_document(document, loaded.source, rule_ids=rule_ids, catalog_ids=catalog_ids)


def check_threat_ids(
    document: dict[str, Any], source: SourceMap, threat_ids: Collection[str]
) -> list[Problem]:
    """Check that decisions, controls and assumptions name threats the engine raised."""
    check = _Checker(document, source)
    refs: list[tuple[PathKey, str]] = []
    for path, control in check.items("controls"):
        refs += [((*path, "mitigates", i), r) for i, r in check.strings(control, "mitigates")]
    for path, assumption in check.items("assumptions"):
        refs += [((*path, "excludes", i), r) for i, r in check.strings(assumption, "excludes")]
    for path, decision in check.items("decisions"):
        if isinstance(decision.get("threat"), str):
            refs.append(((*path, "threat"), decision["threat"]))
    for path, ref in refs:
        if "@" in ref and ref not in threat_ids:
            guess = suggest(ref, threat_ids)
            hint = (
                f"did you mean '{guess}'?"
                if guess
                else "run 'nemecys assess' to list the threat ids"
            )
            check.add(
                f"unknown threat '{ref}': the model raises no such threat",
                path,
                value=ref,
                hint=hint,
            )
    return check.problems
