"""Cross-reference checks over a parsed model.

Pydantic checks each object alone; this pass checks what one section says about another:
unique ids, a flow naming an existing component, a control naming an existing rule, a decision
naming a threat the engine raised. Each problem carries its location and a "did you mean".
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from nemecys.errors import Problem
from nemecys.model.loader import LoadedModel, suggest
from nemecys.model.schema import STANDARD_ZONES, SystemModel, ThreatStatus
from nemecys.model.yamlsource import PathKey, format_path


class _Checker:
    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.problems: list[Problem] = []

    def add(self, message: str, path: PathKey, *, value: str | None = None, hint: str | None = None,
            expected: str | None = None) -> None:
        self.problems.append(
            Problem(message, self.loaded.locate(path), value=value, hint=hint, expected=expected,
                    path=format_path(path))
        )

    def unique(self, section: str, ids: Iterable[str], reserved: Collection[str] = ()) -> set[str]:
        seen: set[str] = set()
        for index, ident in enumerate(ids):
            if ident in seen or ident in reserved:
                self.add(f"duplicate id '{ident}' in {section}", (section, index, "id"), value=ident,
                         hint="ids must be unique within their section")
            seen.add(ident)
        return seen

    def reference(self, path: PathKey, value: str, known: Collection[str], what: str) -> None:
        if value in known:
            return
        guess = suggest(value, known)
        hint = f"did you mean '{guess}'?" if guess else f"declare the {what} or fix the reference"
        self.add(f"unknown {what} '{value}'", path, value=value, hint=hint)


def check_model(
    loaded: LoadedModel,
    *,
    rule_ids: Collection[str] | None = None,
    catalog_ids: Collection[str] | None = None,
) -> list[Problem]:
    """Return every cross-reference problem of the model.

    `rule_ids` and `catalog_ids` enable the checks of references into the threat library and
    the control catalog; threat ids are checked later, once threats are derived.
    """
    model: SystemModel = loaded.model
    check = _Checker(loaded)

    functions = check.unique("system.clinical_functions", (f.id for f in model.system.clinical_functions))
    standard_zone_ids = {z.id for z in STANDARD_ZONES}
    zones = check.unique("zones", (z.id for z in model.zones)) | standard_zone_ids
    components = check.unique("components", (c.id for c in model.components))
    assets = check.unique("assets", (a.id for a in model.assets))
    flows = check.unique("flows", (f.id for f in model.flows))
    actors = check.unique("actors", (a.id for a in model.actors), reserved=components)
    check.unique("controls", (c.id for c in model.controls))
    check.unique("assumptions", (a.id for a in model.assumptions))

    interfaces: set[str] = set()
    for ci, component in enumerate(model.components):
        path: PathKey = ("components", ci)
        check.reference((*path, "zone"), component.zone, zones, "zone")
        for fi, function in enumerate(component.functions):
            check.reference((*path, "functions", fi), function, functions, "clinical function")
        for si, stored in enumerate(component.stores):
            check.reference((*path, "stores", si), stored, assets, "data asset")
        seen_interfaces: set[str] = set()
        for ii, interface in enumerate(component.interfaces):
            if interface.id in seen_interfaces:
                check.add(f"duplicate interface id '{interface.id}'", (*path, "interfaces", ii, "id"),
                          value=interface.id)
            seen_interfaces.add(interface.id)
            interfaces.add(f"{component.id}.{interface.id}")
        if component.out_of_scope and not component.out_of_scope_rationale:
            check.add("out-of-scope component has no rationale", (*path, "out_of_scope"),
                      hint="add 'out_of_scope_rationale:' saying why it is outside the assessment")

    for ai, asset in enumerate(model.assets):
        for fi, function in enumerate(asset.functions):
            check.reference(("assets", ai, "functions", fi), function, functions, "clinical function")

    endpoints = components | actors
    for fi, flow in enumerate(model.flows):
        path = ("flows", fi)
        check.reference((*path, "source"), flow.source, endpoints, "component or actor")
        check.reference((*path, "destination"), flow.destination, endpoints, "component or actor")
        if flow.source == flow.destination:
            check.add("flow goes from a component to itself", (*path, "destination"), value=flow.destination,
                      hint="model the internal step inside the component, or split the component")
        for di, data in enumerate(flow.data):
            check.reference((*path, "data", di), data, assets, "data asset")
        if flow.interface is not None:
            check.reference((*path, "interface"), flow.interface, interfaces, "interface")
            owner = flow.interface.split(".", 1)[0]
            if flow.interface in interfaces and owner not in (flow.source, flow.destination):
                check.add("flow uses an interface of a component it does not connect",
                          (*path, "interface"), value=flow.interface,
                          hint=f"use an interface of '{flow.source}' or '{flow.destination}'")

    for ai, actor in enumerate(model.actors):
        for ui, used in enumerate(actor.uses):
            check.reference(("actors", ai, "uses", ui), used, components, "component")

    targets = components | flows | interfaces | zones
    for ci, control in enumerate(model.controls):
        path = ("controls", ci)
        if control.catalog is None and control.name is None:
            check.add("control has neither 'catalog' nor 'name'", path,
                      hint="name a control catalog id (see 'nemecys controls'), or give a custom control a name")
        if control.catalog is not None and catalog_ids is not None:
            check.reference((*path, "catalog"), control.catalog, catalog_ids, "control catalog id")
        for ti, target in enumerate(control.applies_to):
            check.reference((*path, "applies_to", ti), target, targets, "component, flow, interface or zone")
        if control.catalog is None and not control.mitigates:
            check.add("custom control mitigates nothing", path,
                      hint="list the rule ids or threat ids it closes under 'mitigates:'")

    if rule_ids is not None:
        for ci, control in enumerate(model.controls):
            for mi, ref in enumerate(control.mitigates):
                _check_threat_ref(check, ("controls", ci, "mitigates", mi), ref, rule_ids, None)
        for ai, assumption in enumerate(model.assumptions):
            for ei, ref in enumerate(assumption.excludes):
                _check_threat_ref(check, ("assumptions", ai, "excludes", ei), ref, rule_ids, None)
        for di, decision in enumerate(model.decisions):
            _check_threat_ref(check, ("decisions", di, "threat"), decision.threat, rule_ids, None)
        for ri, rule in enumerate(model.threats.disable):
            check.reference(("threats", "disable", ri), rule, rule_ids, "rule")

    for di, decision in enumerate(model.decisions):
        if decision.status is not ThreatStatus.OPEN and not (decision.rationale or "").strip():
            check.add(f"decision '{decision.status.value}' has no rationale", ("decisions", di, "status"),
                      hint="say why in 'rationale:'; auditors read it")

    return check.problems


def _check_threat_ref(
    check: _Checker, path: PathKey, ref: str, rule_ids: Collection[str], threat_ids: Collection[str] | None
) -> None:
    rule = ref.split("@", 1)[0]
    check.reference(path, rule, rule_ids, "rule")


def check_threat_ids(loaded: LoadedModel, threat_ids: Collection[str]) -> list[Problem]:
    """Check that decisions, controls and assumptions name threats the engine raised."""
    model = loaded.model
    check = _Checker(loaded)
    refs: list[tuple[PathKey, str]] = []
    refs += [(("controls", ci, "mitigates", mi), r) for ci, c in enumerate(model.controls)
             for mi, r in enumerate(c.mitigates)]
    refs += [(("assumptions", ai, "excludes", ei), r) for ai, a in enumerate(model.assumptions)
             for ei, r in enumerate(a.excludes)]
    refs += [(("decisions", di, "threat"), d.threat) for di, d in enumerate(model.decisions)]
    for path, ref in refs:
        if "@" in ref and ref not in threat_ids:
            guess = suggest(ref, threat_ids)
            hint = f"did you mean '{guess}'?" if guess else "run 'nemecys assess' to list the threat ids"
            check.add(f"unknown threat '{ref}': the model raises no such threat", path, value=ref, hint=hint)
    return check.problems
