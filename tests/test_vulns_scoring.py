"""CVSS scores from vectors, the MITRE medical rubric, answers from a system model, and ranking."""

from __future__ import annotations

from pathlib import Path

import pytest

from nemecys.model import load_model
from nemecys.vulns.findings import Finding, MatchedBy
from nemecys.vulns.model import Severity
from nemecys.vulns.scoring import (
    QUESTIONS,
    answers_from_model,
    answers_from_vector,
    attach_rubric,
    cvss_score,
    cvss_scores,
    prioritise,
    rubric_base_vector,
    score_rubric,
    validate_answers,
)


def test_cvss_versions() -> None:
    v31 = cvss_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
    v30 = cvss_score("CVSS:3.0/AV:P/AC:L/PR:N/UI:N/S:U/C:L/I:H/A:H")
    v4 = cvss_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
    v2 = cvss_score("AV:N/AC:L/Au:N/C:P/I:P/A:P")
    assert v31 is not None and (v31.version, v31.base_score, v31.rating) == ("3.1", 9.8, "critical")
    assert v30 is not None and (v30.version, v30.base_score) == ("3.0", 6.4)
    assert v4 is not None and (v4.version, v4.base_score) == ("4.0", 9.3)
    assert v2 is not None and (v2.version, v2.base_score, v2.rating) == ("2.0", 7.5, "high")
    assert cvss_score("CVSS:3.1/AV:X") is None


def test_cvss_scores_skips_labels() -> None:
    scores = cvss_scores(
        [
            Severity("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"),
            Severity("ghsa", "HIGH"),
        ]
    )
    assert [s.base_score for s in scores] == [7.5]


def test_rubric_all_unknown_is_worst() -> None:
    assert rubric_base_vector({}) == "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"
    assert score_rubric().base_score == 10.0


@pytest.mark.parametrize(
    ("answers", "vector"),
    [
        ({"XAVN": "Y", "XAVT": "Y"}, "N"),
        ({"XAVN": "Y", "XAVT": "U"}, "N"),
        ({"XAVN": "Y", "XAVT": "N", "XAVW": "Y", "XAVR": "Y"}, "L"),
        ({"XAVN": "Y", "XAVT": "N", "XAVW": "Y", "XAVR": "N"}, "A"),
        ({"XAVN": "Y", "XAVT": "N", "XAVW": "Y", "XAVR": "U"}, "A"),
        ({"XAVN": "Y", "XAVT": "N", "XAVW": "N"}, "A"),
        ({"XAVN": "N", "XAVP": "Y"}, "P"),
        ({"XAVN": "N", "XAVP": "N"}, "L"),
        ({"XAVN": "N", "XAVP": "U"}, "L"),
    ],
)
def test_rubric_attack_vector(answers: dict[str, str], vector: str) -> None:
    assert f"/AV:{vector}/" in rubric_base_vector(answers)


@pytest.mark.parametrize(
    ("answers", "privileges"),
    [
        ({"XPRL": "N"}, "N"),
        ({"XPRL": "Y", "XPRZ": "N"}, "N"),
        ({"XPRL": "Y", "XPRZ": "Y", "XPRS": "Y"}, "H"),
        ({"XPRL": "Y", "XPRZ": "Y", "XPRS": "N"}, "L"),
        ({"XPRL": "Y", "XPRZ": "Y", "XPRS": "U"}, "N"),
    ],
)
def test_rubric_privileges(answers: dict[str, str], privileges: str) -> None:
    assert f"/PR:{privileges}/" in rubric_base_vector(answers)


def test_rubric_impact_worst_category_and_phi_scale() -> None:
    none = {q: "N" for q in QUESTIONS if q[1] in "CIA" and len(q) == 3}
    assert rubric_base_vector({**none, "XCPM": "N"}).endswith("/C:N/I:N/A:N")
    therapy = {**none, "XCPM": "N", "XIT": "H", "XAD": "L"}
    assert rubric_base_vector(therapy).endswith("/C:N/I:H/A:L")
    phi = {**none, "XCP": "L", "XCPM": "Y"}
    assert rubric_base_vector(phi).endswith("/C:H/I:N/A:N")
    phi_unknown_scale = {**none, "XCP": "L"}
    assert rubric_base_vector(phi_unknown_scale).endswith("/C:H/I:N/A:N")


def test_rubric_extended_vector_and_sources() -> None:
    result = score_rubric(user={"XACL": "N"}, model={"XAVN": "N", "XAVP": "Y", "XACL": "Y"})
    assert result.extended_vector.startswith("MDRUBRIC:0.12.04/XAVN:N/")
    assert "/XACL:N/" in result.extended_vector
    assert result.answer_sources["XACL"] == "user"
    assert result.answer_sources["XAVN"] == "model"
    assert result.answer_sources["XS"] == "unknown"
    assert result.base_vector.startswith("CVSS:3.0/AV:P/AC:H/")


def test_answers_from_vector() -> None:
    answers = answers_from_vector("CVSS:3.1/AV:N/AC:H/PR:L/UI:R/S:U/C:H/I:H/A:H")
    assert answers == {"XACL": "N", "XPRL": "Y", "XPRZ": "Y", "XPRS": "N", "XUI": "Y", "XS": "N"}
    v4 = answers_from_vector("CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:L/SI:N/SA:N")
    assert v4["XACL"] == "N"
    assert v4["XPRZ"] == "N"
    assert v4["XS"] == "Y"
    assert answers_from_vector("AV:N/AC:L/Au:N/C:P/I:P/A:P") == {}


def test_validate_answers() -> None:
    validate_answers({"XAVN": "Y", "XIT": "H"})
    with pytest.raises(ValueError, match="unknown rubric question"):
        validate_answers({"XFOO": "Y"})
    with pytest.raises(ValueError, match="invalid answer"):
        validate_answers({"XAVN": "H"})


def test_answers_from_model(minimal_model: Path) -> None:
    model = load_model(minimal_model).model
    pump = answers_from_model(model, "pump")
    # The pump's BLE interface reaches beyond ten feet: Adjacent.
    assert (pump["XAVN"], pump["XAVT"], pump["XAVW"], pump["XAVR"]) == ("Y", "N", "Y", "N")
    # Bolus commands (therapy, integrity high) and the critical insulin-delivery function.
    assert pump["XIT"] == "H"
    assert pump["XIO"] == "H"
    assert pump["XCP"] == "N"
    assert rubric_base_vector(pump).startswith("CVSS:3.0/AV:A/")
    cloud = answers_from_model(model, "cloud")
    assert rubric_base_vector(cloud).startswith("CVSS:3.0/AV:N/")
    assert cloud["XCP"] == "H"
    with pytest.raises(KeyError, match="not found"):
        answers_from_model(model, "nope")


def finding(
    vid: str,
    *,
    kev: bool = False,
    epss: float | None = None,
    state: str = "affected",
    vector: str | None = None,
) -> Finding:
    from nemecys.vulns.scoring import cvss_score

    score = cvss_score(vector) if vector else None
    return Finding(
        component_key="c",
        component_name="c",
        component_version="1",
        component_purl=None,
        vulnerability_id=vid,
        aliases=(),
        advisory_ids=(vid,),
        matched_by=MatchedBy.PURL,
        affected_range="",
        kev=kev,
        epss=epss,
        state=state,
        severities=(score,) if score else (),
    )


def test_prioritise_kev_rubric_epss() -> None:
    low_vector = "CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"
    findings = attach_rubric(
        [
            finding("CVE-LOW-EPSS-HIGH", epss=0.9, vector=low_vector),
            finding("CVE-CLOSED", kev=True, state="not_affected"),
            finding("CVE-KEV", kev=True, vector=low_vector),
            finding("CVE-HIGH-EPSS-LOW", epss=0.1),
            finding("CVE-HIGH-EPSS-MID", epss=0.5),
        ],
        model_answers={q: "L" for q in QUESTIONS if len(q) == 3 and q[1] in "CIA"},
    )
    ranked = prioritise(findings)
    assert [f.vulnerability_id for f in ranked] == [
        "CVE-KEV",
        "CVE-HIGH-EPSS-MID",
        "CVE-HIGH-EPSS-LOW",
        "CVE-LOW-EPSS-HIGH",
        "CVE-CLOSED",
    ]
    assert [f.priority for f in ranked] == [1, 2, 3, 4, 5]


def test_severity_gate() -> None:
    unknown = finding("CVE-U")
    assert unknown.severity == "unknown"
    assert unknown.meets_severity("critical")
    medium = finding("CVE-M", vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N")
    assert medium.severity == "medium"
    assert medium.meets_severity("medium")
    assert not medium.meets_severity("high")
    closed = finding("CVE-C", state="not_affected")
    assert not closed.meets_severity("low")
