"""Scoring and ranking of findings: CVSS from vectors, KEV and EPSS, and the MITRE medical rubric.

CVSS v2, v3.0, v3.1 and v4.0 base scores come from the published vectors through the `cvss`
package. The MITRE "Rubric for Applying CVSS to Medical Devices" (Chase and Christey Coley,
2019; FDA-qualified MDDT version 0.12.04, built on CVSS v3.0) asks a question at each CVSS
decision point and maps the answers to a v3.0 base vector. The answers are kept as an extended
vector, so a reviewer sees why each metric got its value.

Answers come, in this order of precedence, from the user, from the system model where it
decides the question (a component's interfaces and inbound flows set the attack vector
questions; the data it holds or exchanges and the clinical functions it performs set the six
confidentiality, integrity and availability categories), and from the advisory's own CVSS
vector for the questions about the flaw itself (attack complexity, privileges, user
interaction, scope). A question nobody answers is `unknown` and resolves to the worse value.

Ranking puts KEV entries first, then the rubric score, then the EPSS probability.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from enum import StrEnum

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from nemecys.model.schema import (
    AssetKind,
    Component,
    InterfaceKind,
    Level,
    Objective,
    Reach,
    Severity,
    SystemModel,
)
from nemecys.threats.facts import ModelIndex, Network
from nemecys.vulns.findings import CLOSED_STATES, CvssScore, Finding, RubricScore, severity_rating
from nemecys.vulns.model import EpssScore, KevEntry
from nemecys.vulns.model import Severity as AdvisorySeverity

logger = logging.getLogger(__name__)

RUBRIC_VERSION = "0.12.04"


# --- CVSS from vectors --------------------------------------------------------------------------


def cvss_score(vector: str) -> CvssScore | None:
    """Compute the base score of a CVSS v2, v3.x or v4.0 vector; None when it is invalid."""
    text = vector.strip()
    try:
        if text.startswith("CVSS:4.0/"):
            v4 = CVSS4(text)
            score = float(v4.base_score)
            return CvssScore("4.0", v4.clean_vector(), score, severity_rating(score))
        if text.startswith(("CVSS:3.0/", "CVSS:3.1/")):
            v3 = CVSS3(text)
            score = float(v3.base_score)
            return CvssScore(text[5:8], v3.clean_vector(), score, severity_rating(score))
        v2 = CVSS2(text.removeprefix("(").removesuffix(")"))
        score = float(v2.base_score)
        return CvssScore("2.0", v2.clean_vector(), score, _cvss2_rating(score))
    except (CVSSError, ValueError, KeyError) as exc:
        logger.debug("invalid CVSS vector %r: %s", vector, exc)
        return None


def _cvss2_rating(score: float) -> str:
    # NVD's CVSS v2 ranges: low 0.0-3.9, medium 4.0-6.9, high 7.0-10.0.
    if score < 4.0:
        return "low"
    return "medium" if score < 7.0 else "high"


def cvss_scores(severities: Iterable[AdvisorySeverity]) -> tuple[CvssScore, ...]:
    """Score every CVSS vector among an advisory's severities, skipping labels and bad vectors."""
    scores: list[CvssScore] = []
    for severity in severities:
        if not severity.type.upper().startswith("CVSS"):
            continue
        score = cvss_score(severity.score)
        if score is not None and score not in scores:
            scores.append(score)
    return tuple(scores)


# --- the rubric ---------------------------------------------------------------------------------


class Answer(StrEnum):
    YES = "Y"
    NO = "N"
    UNKNOWN = "U"


class Impact(StrEnum):
    HIGH = "H"
    LOW = "L"
    NONE = "N"
    UNKNOWN = "U"


ATTACK_VECTOR_QUESTIONS = ("XAVN", "XAVT", "XAVW", "XAVR", "XAVP", "XAVPA")
FLAW_QUESTIONS = ("XACL", "XPRL", "XPRZ", "XPRS", "XUI", "XS")
IMPACT_CATEGORIES = {
    "P": "PHI or PII",
    "D": "diagnosis or monitoring",
    "T": "therapy delivery",
    "W": "clinical workflow",
    "S": "private system or user data such as passwords or keys",
    "O": "any other critical data or function",
}
IMPACT_QUESTIONS = tuple(f"X{m}{c}" for m in "CIA" for c in IMPACT_CATEGORIES)
YES_NO_QUESTIONS = (*ATTACK_VECTOR_QUESTIONS, *FLAW_QUESTIONS, "XCPM")
QUESTIONS = (
    *ATTACK_VECTOR_QUESTIONS,
    *FLAW_QUESTIONS,
    *IMPACT_QUESTIONS[:6],
    "XCPM",
    *IMPACT_QUESTIONS[6:],
)

# The questions in short form (our wording of the rubric's questions).
QUESTION_TEXT = {
    "XAVN": "Can the attacker reach the flaw over a network or communication protocol?",
    "XAVT": "Is that protocol routable (OSI layer 3 or 4: IP, TCP, UDP)?",
    "XAVW": "Is the channel wireless?",
    "XAVR": "Is the wireless range about ten feet or less?",
    "XAVP": "Does the attacker need physical contact with the device?",
    "XAVPA": "Is the access through a user interface meant for manual operation?",
    "XACL": "Can the attacker try the exploit at will, without special conditions?",
    "XPRL": "Does the component support several users or roles with different privileges?",
    "XPRZ": "Must the attacker already be authorised to the component?",
    "XPRS": "Must the attacker hold administrator, maintainer or system-level rights?",
    "XUI": "Does the attack need another user or victim to act?",
    "XS": "Can the attacker affect a component under a different authority?",
    "XCPM": "Can the attack expose PHI at large scale (about 500 patients or more)?",
    **{
        f"X{metric}{category}": f"{verb} {text}?"
        for metric, verb in (
            ("C", "Impact on reading"),
            ("I", "Impact on modifying or deleting"),
            ("A", "Impact on making unavailable"),
        )
        for category, text in IMPACT_CATEGORIES.items()
    },
}

Answers = Mapping[str, str]


def _answer(answers: Answers, question: str) -> str:
    return answers.get(question, Answer.UNKNOWN.value)


def _attack_vector(answers: Answers) -> str:
    network = _answer(answers, "XAVN")
    if network != Answer.NO:
        if network == Answer.UNKNOWN or _answer(answers, "XAVT") != Answer.NO:
            return "N"
        if _answer(answers, "XAVW") != Answer.NO:
            # Short-range wireless scores Local in the rubric; an unknown range gets Adjacent.
            return "L" if _answer(answers, "XAVR") == Answer.YES else "A"
        return "A"
    return "P" if _answer(answers, "XAVP") == Answer.YES else "L"


def _privileges(answers: Answers) -> str:
    if _answer(answers, "XPRL") != Answer.YES or _answer(answers, "XPRZ") != Answer.YES:
        return "N"
    system_level = _answer(answers, "XPRS")
    if system_level == Answer.YES:
        return "H"
    return "L" if system_level == Answer.NO else "N"


_IMPACT_RANK = {
    Impact.NONE.value: 0,
    Impact.LOW.value: 1,
    Impact.HIGH.value: 2,
    Impact.UNKNOWN.value: 2,
}


def _impact(answers: Answers, metric: str) -> str:
    worst = max(_IMPACT_RANK[_answer(answers, f"X{metric}{c}")] for c in IMPACT_CATEGORIES)
    if (
        metric == "C"
        and _answer(answers, "XCPM") != Answer.NO
        and _answer(answers, "XCP") != Impact.NONE
    ):
        # Large-scale PHI exposure forces High; unknown scale counts as large when PHI is exposed.
        worst = 2
    return "NLH"[worst]


def rubric_base_vector(answers: Answers) -> str:
    """Map rubric answers to a CVSS v3.0 base vector, resolving unknown answers to the worse value."""
    complexity = "H" if _answer(answers, "XACL") == Answer.NO else "L"
    interaction = "R" if _answer(answers, "XUI") == Answer.YES else "N"
    scope = "U" if _answer(answers, "XS") == Answer.NO else "C"
    return (
        f"CVSS:3.0/AV:{_attack_vector(answers)}/AC:{complexity}/PR:{_privileges(answers)}"
        f"/UI:{interaction}/S:{scope}/C:{_impact(answers, 'C')}/I:{_impact(answers, 'I')}"
        f"/A:{_impact(answers, 'A')}"
    )


def extended_vector(answers: Answers) -> str:
    """Render every rubric answer, unknowns included, e.g. `MDRUBRIC:0.12.04/XAVN:Y/…`."""
    parts = [f"{q}:{_answer(answers, q)}" for q in QUESTIONS]
    return f"MDRUBRIC:{RUBRIC_VERSION}/" + "/".join(parts)


def validate_answers(answers: Answers) -> None:
    """Raise ValueError for an unknown question id or an answer outside its allowed values."""
    for question, value in answers.items():
        if question not in QUESTION_TEXT:
            raise ValueError(f"unknown rubric question {question!r}; known: {', '.join(QUESTIONS)}")
        allowed = (
            {a.value for a in Answer} if question in YES_NO_QUESTIONS else {i.value for i in Impact}
        )
        if value not in allowed:
            raise ValueError(
                f"invalid answer {value!r} to rubric question {question}: use one of {', '.join(sorted(allowed))}"
            )


def score_rubric(
    user: Answers | None = None,
    model: Answers | None = None,
    advisory: Answers | None = None,
) -> RubricScore:
    """Merge answers (user over model over advisory) and score them with CVSS v3.0."""
    merged: dict[str, str] = {}
    sources: dict[str, str] = {}
    for name, answers in (("advisory", advisory), ("model", model), ("user", user)):
        for question, value in (answers or {}).items():
            if value != Answer.UNKNOWN:
                merged[question] = value
                sources[question] = name
    for question in QUESTIONS:
        sources.setdefault(question, "unknown")
    vector = rubric_base_vector(merged)
    score = float(CVSS3(vector).base_score)
    unknown = open_questions(merged)
    return RubricScore(
        base_vector=vector,
        extended_vector=extended_vector(merged),
        base_score=score,
        rating=severity_rating(score),
        answer_sources=sources,
        unknown_questions=unknown,
        worst_case_reason=_worst_case_reason(unknown, bool(advisory), bool(model))
        if unknown
        else None,
    )


def _allowed(question: str) -> tuple[str, ...]:
    if question in YES_NO_QUESTIONS:
        return (Answer.YES.value, Answer.NO.value)
    return (Impact.HIGH.value, Impact.LOW.value, Impact.NONE.value)


# The answer to each question that gives the lower score, for the best-case context below.
_BEST_ANSWERS = {
    "XAVN": "N",
    "XAVT": "N",
    "XAVW": "Y",
    "XAVR": "Y",
    "XAVP": "Y",
    "XAVPA": "Y",
    "XACL": "N",
    "XPRL": "Y",
    "XPRZ": "Y",
    "XPRS": "Y",
    "XUI": "Y",
    "XS": "N",
    "XCPM": "N",
    **dict.fromkeys(IMPACT_QUESTIONS, "N"),
}


def open_questions(answers: Answers) -> tuple[str, ...]:
    """Return the unanswered questions whose answer could change the vector.

    These make a score a worst-case default. A question counts when changing its answer alone
    changes the vector, either with the other unknowns at their worse values (as scored) or
    at their better ones. A question the given answers make moot (the range of a wired link,
    say) is left out, so answering one question can make another one matter.
    """
    given = {q: a for q, a in answers.items() if a != Answer.UNKNOWN}
    unknown = [q for q in QUESTIONS if q not in given]
    best = {**{q: _BEST_ANSWERS[q] for q in unknown}, **given}
    found = []
    for question in unknown:
        for context in (given, best):
            vector = rubric_base_vector(context)
            if any(
                rubric_base_vector({**context, question: value}) != vector
                for value in _allowed(question)
            ):
                found.append(question)
                break
    return tuple(found)


def _worst_case_reason(unknown: Sequence[str], from_advisory: bool, from_model: bool) -> str:
    reasons = []
    if any(q in FLAW_QUESTIONS for q in unknown):
        reasons.append(
            "the advisory's CVSS vector leaves flaw questions open"
            if from_advisory
            else "advisory has no CVSS v3 or v4 vector"
        )
    if any(q not in FLAW_QUESTIONS for q in unknown):
        reasons.append(
            "the system model leaves attack-vector or impact questions open"
            if from_model
            else "no system model component answers the attack-vector and impact questions"
        )
    return "; ".join(reasons)


def answers_from_vector(vector: str) -> dict[str, str]:
    """Answer the flaw questions (complexity, privileges, interaction, scope) from a CVSS vector.

    CVSS v3.x and v4.0 vectors are read; v2 vectors and invalid ones give no answers.
    """
    metrics = dict(part.split(":", 1) for part in vector.split("/")[1:] if ":" in part)
    answers: dict[str, str] = {}
    if vector.startswith(("CVSS:3.0/", "CVSS:3.1/", "CVSS:4.0/")):
        if metrics.get("AC") in ("L", "H"):
            easy = metrics["AC"] == "L" and metrics.get("AT", "N") == "N"
            answers["XACL"] = Answer.YES if easy else Answer.NO
        privileges = metrics.get("PR")
        if privileges == "N":
            answers["XPRZ"] = Answer.NO
        elif privileges in ("L", "H"):
            answers.update(
                XPRL=Answer.YES,
                XPRZ=Answer.YES,
                XPRS=Answer.YES if privileges == "H" else Answer.NO,
            )
        interaction = metrics.get("UI")
        if interaction is not None:
            answers["XUI"] = Answer.NO if interaction == "N" else Answer.YES
    if vector.startswith(("CVSS:3.0/", "CVSS:3.1/")) and metrics.get("S") in ("U", "C"):
        answers["XS"] = Answer.YES if metrics["S"] == "C" else Answer.NO
    if vector.startswith("CVSS:4.0/") and all(metrics.get(m) for m in ("SC", "SI", "SA")):
        changed = any(metrics[m] != "N" for m in ("SC", "SI", "SA"))
        answers["XS"] = Answer.YES if changed else Answer.NO
    return {q: a.value if isinstance(a, Answer) else a for q, a in answers.items()}


# --- answers from the system model --------------------------------------------------------------

# Attack-vector answers per interface kind, in ATTACK_VECTOR_QUESTIONS order.
_INTERFACE_ANSWERS: dict[InterfaceKind, str] = {
    InterfaceKind.INTERNET: "YYNNNN",
    InterfaceKind.CELLULAR: "YYYNNN",
    InterfaceKind.WIFI: "YYYNNN",
    InterfaceKind.ETHERNET: "YYNNNN",
    # BLE reaches well beyond ten feet, so it scores Adjacent; NFC works within centimetres.
    InterfaceKind.BLE: "YNYNNN",
    InterfaceKind.NFC: "YNYYNN",
    InterfaceKind.USB: "NNNNYN",
    InterfaceKind.SERIAL_DEBUG: "NNNNYN",
    InterfaceKind.REMOVABLE_MEDIA: "NNNNYN",
    InterfaceKind.UI: "NNNNYY",
    InterfaceKind.INTERNAL: "NNNNNN",
}
_NETWORK_ANSWERS: dict[Network, str] = {
    Network.INTERNET: "YYNNNN",
    Network.LOCAL_NETWORK: "YYNNNN",
    Network.PROXIMITY: "YNYNNN",
    Network.PHYSICAL: "NNNNYN",
}
_VECTOR_RANK = {"N": 3, "A": 2, "L": 1, "P": 0}

_ASSET_CATEGORY: dict[AssetKind, str] = {
    AssetKind.PHI: "P",
    AssetKind.SENSOR_READINGS: "D",
    AssetKind.ALARMS: "D",
    AssetKind.IMAGES: "D",
    AssetKind.DEVICE_STATUS: "D",
    AssetKind.THERAPY_PARAMETERS: "T",
    AssetKind.THERAPY_COMMANDS: "T",
    AssetKind.CLINICAL_ORDERS: "W",
    AssetKind.CREDENTIALS: "S",
    AssetKind.FIRMWARE: "O",
    AssetKind.CONFIGURATION: "O",
    AssetKind.LOGS: "O",
    AssetKind.OTHER: "O",
}
_LEVEL_IMPACT = {Level.HIGH: "H", Level.MEDIUM: "L", Level.LOW: "L", Level.NONE: "N"}


def _severity_impact(severity: Severity) -> str:
    if severity >= Severity.SERIOUS:
        return "H"
    return "L" if severity is Severity.MINOR else "N"


def _worse_impact(a: str, b: str) -> str:
    return a if _IMPACT_RANK[a] >= _IMPACT_RANK[b] else b


def answers_from_model(model: SystemModel, component_id: str) -> dict[str, str]:
    """Answer the attack-vector and impact questions for one component of a system model.

    The most exposed entry point (enabled interface or inbound flow) sets the attack-vector
    answers; a component with none leaves them unknown. Each of the six impact categories
    gets the highest need of the data the component stores, sends or receives; the clinical
    functions it performs add their harm severity (serious or worse: High) to the category of
    other critical functions. Raises KeyError when the component is not in the model.
    """
    index = ModelIndex(model)
    component = index.components.get(component_id)
    if component is None:
        known = ", ".join(sorted(index.components))
        raise KeyError(f"component {component_id!r} not found in the model; known: {known}")
    answers: dict[str, str] = {}
    answers.update(_attack_answers(index, component))
    answers.update(_impact_answers(index, component))
    return answers


def _attack_answers(index: ModelIndex, component: Component) -> dict[str, str]:
    candidates: list[str] = [
        _INTERFACE_ANSWERS[i.kind] for i in component.interfaces if i.enabled_in_field
    ]
    for flow in index.inbound.get(component.id, ()):
        kind = index.flow_interface(flow)
        if kind is not None and kind in _INTERFACE_ANSWERS:
            candidates.append(_INTERFACE_ANSWERS[kind])
        else:
            candidates.append(_NETWORK_ANSWERS[index.network(flow)])
    if index.internet_facing(component.id):
        candidates.append(_INTERFACE_ANSWERS[InterfaceKind.INTERNET])
    if not candidates:
        return {}

    def rank(letters: str) -> int:
        return _VECTOR_RANK[
            _attack_vector(dict(zip(ATTACK_VECTOR_QUESTIONS, letters, strict=True)))
        ]

    worst = max(candidates, key=rank)
    return dict(zip(ATTACK_VECTOR_QUESTIONS, worst, strict=True))


def _impact_answers(index: ModelIndex, component: Component) -> dict[str, str]:
    impact = dict.fromkeys(IMPACT_QUESTIONS, "N")
    asset_ids = set(component.stores)
    for flow in (*index.inbound.get(component.id, ()), *index.outbound.get(component.id, ())):
        asset_ids.update(flow.data)
    has_phi = False
    for asset_id in sorted(asset_ids):
        asset = index.assets.get(asset_id)
        if asset is None:
            continue
        category = _ASSET_CATEGORY[asset.kind]
        has_phi = has_phi or category == "P"
        for metric, level in (
            ("C", asset.confidentiality),
            ("I", asset.integrity),
            ("A", asset.availability),
        ):
            key = f"X{metric}{category}"
            impact[key] = _worse_impact(impact[key], _LEVEL_IMPACT[level])
    for function_id in component.functions:
        if function_id not in index.functions:
            continue
        for metric, objective in (("I", Objective.INTEGRITY), ("A", Objective.AVAILABILITY)):
            key = f"X{metric}O"
            harm = _severity_impact(index.function_severity(function_id, objective))
            impact[key] = _worse_impact(impact[key], harm)
        by_objective = index.functions[function_id].severity_by_objective
        if by_objective is not None and by_objective.confidentiality is not None:
            harm = _severity_impact(Severity.parse(by_objective.confidentiality))
            impact["XCO"] = _worse_impact(impact["XCO"], harm)
    answers = dict(impact)
    many = index.patients(component) is Reach.MULTIPLE
    answers["XCPM"] = Answer.YES.value if has_phi and many else Answer.NO.value
    return answers


# --- KEV, EPSS and ranking ----------------------------------------------------------------------


def attach_exploitation(
    findings: Sequence[Finding],
    kev: Mapping[str, KevEntry],
    epss: Mapping[str, EpssScore],
) -> list[Finding]:
    """Set the KEV flag and EPSS score of each finding from any of its ids."""
    updated: list[Finding] = []
    for finding in findings:
        entry = next((kev[i] for i in finding.ids if i in kev), None)
        scores = [epss[i] for i in finding.ids if i in epss]
        best = max(scores, key=lambda s: s.score, default=None)
        updated.append(
            replace(
                finding,
                kev=entry is not None,
                kev_date_added=entry.date_added if entry else None,
                kev_required_action=entry.required_action if entry else None,
                epss=best.score if best else None,
                epss_percentile=best.percentile if best else None,
            )
        )
    return updated


def attach_rubric(
    findings: Sequence[Finding],
    model_answers: Answers | None = None,
    user_answers: Answers | None = None,
) -> list[Finding]:
    """Score every finding with the rubric, reading the flaw questions from its CVSS v3/v4 vector."""
    # Findings share vectors, so each distinct set of advisory answers is scored once.
    scored: dict[tuple[tuple[str, str], ...], RubricScore] = {}
    updated: list[Finding] = []
    for finding in findings:
        vector = next(
            (
                s.vector
                for s in sorted(finding.severities, key=lambda s: s.version, reverse=True)
                if s.version in ("3.0", "3.1", "4.0")
            ),
            None,
        )
        advisory_answers = answers_from_vector(vector) if vector else {}
        key = tuple(sorted(advisory_answers.items()))
        if key not in scored:
            scored[key] = score_rubric(
                user=user_answers, model=model_answers, advisory=advisory_answers
            )
        updated.append(replace(finding, rubric=scored[key]))
    return updated


def prioritise(findings: Iterable[Finding]) -> list[Finding]:
    """Sort findings and number them: open before closed, then KEV, rubric score, EPSS, CVSS."""

    def key(finding: Finding) -> tuple[bool, bool, float, float, float, str, str]:
        rubric = finding.rubric.base_score if finding.rubric else -1.0
        return (
            finding.state in CLOSED_STATES,
            not finding.kev,
            -rubric,
            -(finding.epss if finding.epss is not None else -1.0),
            -(finding.max_cvss if finding.max_cvss is not None else -1.0),
            finding.vulnerability_id,
            finding.component_key,
        )

    ordered = sorted(findings, key=key)
    return [replace(f, priority=rank) for rank, f in enumerate(ordered, start=1)]
