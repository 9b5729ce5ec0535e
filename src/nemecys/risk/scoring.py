"""Exploitability and severity of one derived threat, before and after controls.

Exploitability is the CVSS v3.1 exploitability sub-score. Its metrics come from where the
attacker must be (the flow's network or the interface kind) and from the authentication the
attacker must pass, unless the rule pins a metric. Severity is the worst harm of the clinical functions the
threat reaches for the objectives it attacks, or the data's own need when no function is
reached, raised when several patients can be harmed at once. Implemented controls lower
either by whole levels, never below the lowest level, which keeps the result monotonic.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cache

import cvss

from nemecys.model.schema import Control, ControlStatus, Objective, Reach, Severity
from nemecys.results import ExploitabilityResult, SeverityResult
from nemecys.risk.policy import Exploitability, Rubric
from nemecys.threats.engine import DerivedThreat
from nemecys.threats.facts import LEVEL_RANK, Element, ModelIndex, Target

_VECTOR_CODE = {"network": "N", "adjacent": "A", "local": "L", "physical": "P"}
_VECTOR_RANK = {"physical": 0, "local": 1, "adjacent": 2, "network": 3}
_PRIVILEGE_CODE = {"none": "N", "low": "L", "high": "H"}
_PRIVILEGE_RANK = {"high": 0, "low": 1, "none": 2}
_CONFIDENTIALITY = frozenset({Objective.CONFIDENTIALITY})
_DATA_SEVERITY_VALUE = {s.label: int(s) for s in Severity}


@cache
def exploitability_score(
    vector: str, complexity: str, privileges: str, interaction: str
) -> tuple[str, float]:
    """Return the CVSS v3.1 exploitability vector and sub-score, computed by the cvss package."""
    metrics = (
        f"AV:{_VECTOR_CODE[vector]}/AC:{'L' if complexity == 'low' else 'H'}"
        f"/PR:{_PRIVILEGE_CODE[privileges]}/UI:{'N' if interaction == 'none' else 'R'}"
    )
    # Impact metrics do not enter the exploitability sub-score; scope unchanged keeps the
    # privileges weights of the specification's main table.
    score = cvss.CVSS3(f"CVSS:3.1/{metrics}/S:U/C:N/I:N/A:N").esc
    return metrics, round(float(score), 2)


def _most_exposed(vectors: Sequence[str]) -> str | None:
    return max(vectors, key=_VECTOR_RANK.__getitem__) if vectors else None


def _attack_vector(index: ModelIndex, element: Element, rubric: Rubric) -> tuple[str, str]:
    facts = element.facts
    match element.target:
        case Target.FLOW:
            vector = rubric.network_vector[facts["network"]]
            return (
                vector,
                f"attack vector {vector}: the flow travels over the {facts['network'].replace('_', ' ')}",
            )
        case Target.INTERFACE:
            vector = rubric.interface_vector[facts["kind"]]
            return vector, f"attack vector {vector}: {facts['kind']} interface"
        case Target.COMPONENT:
            return _component_vector(index, element.id, rubric)
        case _:
            vectors = [_component_vector(index, c, rubric) for c in element.related_components]
            if element.target is Target.SYSTEM and not vectors:
                return "local", "attack vector local: no component declared"
            if not vectors:
                return "local", "attack vector local: no component holds it"
            worst = max(vectors, key=lambda v: _VECTOR_RANK[v[0]])
            return worst


def _component_vector(index: ModelIndex, component_id: str, rubric: Rubric) -> tuple[str, str]:
    if index.internet_facing(component_id):
        return "network", "attack vector network: reachable from the internet"
    component = index.components[component_id]
    vectors = [
        rubric.interface_vector[i.kind.value] for i in component.interfaces if i.enabled_in_field
    ]
    vectors += [
        rubric.network_vector[index.network(f).value] for f in index.inbound.get(component_id, ())
    ]
    worst = _most_exposed(vectors)
    if worst is None:
        return "local", "attack vector local: no enabled interface or inbound flow declared"
    return (
        worst,
        f"attack vector {worst}: most exposed interface or inbound flow of {component.name or component.id}",
    )


def _privileges(index: ModelIndex, element: Element, rubric: Rubric) -> tuple[str, str]:
    facts = element.facts
    if element.target in (Target.FLOW, Target.INTERFACE):
        method = facts["authentication"]
        return rubric.authentication_privileges[
            method
        ], f"privileges {rubric.authentication_privileges[method]}: authentication '{method}'"
    if element.target is Target.COMPONENT:
        methods = sorted(facts["inbound_authentication"])
        if not methods:
            return "none", "privileges none: no authenticated inbound flow declared"
        weakest = max(methods, key=lambda m: _PRIVILEGE_RANK[rubric.authentication_privileges[m]])
        level = rubric.authentication_privileges[weakest]
        return level, f"privileges {level}: weakest inbound authentication '{weakest}'"
    return "none", "privileges none: assumed for threats on data or on the whole system"


def score_exploitability(
    index: ModelIndex, threat: DerivedThreat, rubric: Rubric
) -> ExploitabilityResult:
    defaults = threat.rule.spec.exploitability
    basis: list[str] = []
    if defaults.vector == "auto":
        vector, reason = _attack_vector(index, threat.element, rubric)
    else:
        vector, reason = (
            defaults.vector,
            f"attack vector {defaults.vector}: set by the rule",
        )
    basis.append(reason)
    if defaults.privileges == "auto":
        privileges, reason = _privileges(index, threat.element, rubric)
    else:
        privileges, reason = (
            defaults.privileges,
            f"privileges {defaults.privileges}: set by the rule",
        )
    basis.append(reason)
    basis.append(
        f"attack complexity {defaults.complexity}, user interaction {defaults.user_interaction}: "
        "set by the rule"
    )
    metrics, score = exploitability_score(
        vector, defaults.complexity, privileges, defaults.user_interaction
    )
    level = rubric.exploitability_level(score)
    return ExploitabilityResult(
        attack_vector=vector,
        attack_complexity=defaults.complexity,
        privileges_required=privileges,
        user_interaction=defaults.user_interaction,
        cvss_vector=metrics,
        score=score,
        level=level.label,
        basis=basis,
    )


@dataclass(frozen=True)
class _Reach:
    functions: set[str]
    assets: set[str]
    multi_patient_components: set[str]  # components whose compromise here harms several patients


def _reach(index: ModelIndex, element: Element, objectives: set[Objective]) -> _Reach:
    model = index.model
    only_confidentiality = objectives <= _CONFIDENTIALITY
    multi = {
        c
        for c in element.related_components
        if index.patients(index.components[c]) is Reach.MULTIPLE
    }
    match element.target:
        case Target.SYSTEM:
            return _Reach(set(index.functions), {a.id for a in model.assets}, multi)
        case Target.COMPONENT | Target.INTERFACE:
            component = index.components[element.related_components[0]]
            assets = set(component.stores)
            assets |= {a for f in index.inbound.get(component.id, ()) for a in f.data}
            assets |= {a for f in index.outbound.get(component.id, ()) for a in f.data}
            functions = set() if only_confidentiality else index.component_functions(component)
            return _Reach(functions, assets, multi)
        case Target.FLOW:
            flow = index.flows[element.id]
            assets = set(flow.data)
            if only_confidentiality:
                # Reading one flow exposes many patients only when both ends serve many
                # (a server and its database); a phone's upload carries one patient's data.
                both = len(multi) == 2
                return _Reach(set(), assets, multi if both else set())
            functions = {fn for a in assets for fn in index.assets[a].functions}
            destination = index.components.get(flow.destination)
            if destination is not None:
                functions |= index.component_functions(destination)
            # Forged or blocked data harms the patients the destination serves.
            return _Reach(functions, assets, multi & {flow.destination})
        case Target.ASSET:
            asset = index.assets[element.id]
            functions = set() if only_confidentiality else set(asset.functions)
            return _Reach(functions, {asset.id}, multi)
    raise AssertionError(element.target)  # pragma: no cover


def score_severity(index: ModelIndex, threat: DerivedThreat, rubric: Rubric) -> SeverityResult:
    objectives = set(threat.rule.spec.objectives)
    reach = _reach(index, threat.element, objectives)
    basis: list[str] = []
    best = Severity.NEGLIGIBLE
    harm: str | None = None
    found = False

    # Several patients at once raise the severity of the harm concerned: every harm when the
    # component serves many patients, a function's own harm when the function reaches many.
    # The loops compare plain integers; this is the innermost code of large assessments.
    step = rubric.multi_patient_increase
    top = int(Severity.CATASTROPHIC)
    component_multi = bool(reach.multi_patient_components)
    multi = False
    best_value = int(best)

    # (1) Clinical functions: the worst harm for the attacked objectives.
    for function_id in sorted(reach.functions):
        function = index.functions[function_id]
        many = bool(step) and (component_multi or function.reach is Reach.MULTIPLE)
        for objective in objectives:
            base = int(index.function_severity(function_id, objective))
            value = min(base + step, top) if many else base
            found = True
            if value > best_value:
                best_value, harm = value, function.harm
                multi = value > base
    if reach.functions:
        basis.append(f"reaches clinical functions {', '.join(sorted(reach.functions))}")

    # (2) Data: the asset's own need for the attacked property, for harm beyond the functions.
    data_many = bool(step) and component_multi
    for asset_id in sorted(reach.assets):
        asset = index.assets[asset_id]
        for objective in objectives:
            if objective is Objective.CONFIDENTIALITY:
                need = asset.confidentiality
            elif objective is Objective.AVAILABILITY:
                need = asset.availability
            else:
                need = asset.integrity
            base = _DATA_SEVERITY_VALUE[rubric.data_severity[need.value]]
            value = min(base + step, top) if data_many else base
            found = True
            if value > best_value:
                best_value, harm = value, None
                multi = value > base
                basis.append(f"{objective.value} need '{need.value}' of {asset.name or asset.id}")
    best = Severity(best_value)

    if not found:
        best = Severity.parse(threat.rule.spec.default_severity)
        basis.append(f"no clinical function or data reached: rule default '{best.label}'")
    if multi:
        basis.append(f"several patients can be harmed: raised by {step} level(s) to {best.label}")
    return SeverityResult(
        level=best.label,
        value=int(best),
        functions=sorted(reach.functions),
        harm=harm,
        multi_patient=multi,
        basis=basis,
    )


def control_applies(control: Control, threat: DerivedThreat) -> bool:
    """Return whether a model control closes `threat`: it names the rule or threat and covers its element."""
    named = (
        (control.catalog is not None and control.catalog in threat.rule.spec.controls)
        or threat.rule.id in control.mitigates
        or threat.id in control.mitigates
    )
    if not named:
        return False
    return not control.applies_to or not threat.element.scope.isdisjoint(control.applies_to)


def reduce(
    exploitability: Exploitability,
    severity: Severity,
    controls: list[tuple[Control, int, int]],
    statuses: AbstractSet[ControlStatus],
) -> tuple[Exploitability, Severity]:
    """Apply the reductions of controls whose status is in `statuses`, floored at level 1."""
    e_drop = sum(e for c, e, _ in controls if c.status in statuses)
    s_drop = sum(s for c, _, s in controls if c.status in statuses)
    return (
        Exploitability(max(1, int(exploitability) - e_drop)),
        Severity(max(1, int(severity) - s_drop)),
    )


__all__ = [
    "LEVEL_RANK",
    "control_applies",
    "exploitability_score",
    "reduce",
    "score_exploitability",
    "score_severity",
]
