"""The vulnerabilities section of `nemecys assess`: each attached SBOM against the advisory database.

For every model component with an SBOM (from `software.sbom` or `--sbom`), `check_vulnerabilities`
reads the SBOM, scans it against the advisory database, takes the MITRE medical device rubric
answers from that component of the system model, and applies the triage decisions stored for
the product the SBOM describes (`nemecys.vulns.workflow.scan_with_triage`). The product is the
SBOM's subject name (CycloneDX metadata.component, the SPDX described package), else the
model component id. `nemecys sbom scan --record-triage` and `nemecys sbom triage` store
decisions under the same name.

The database is the one `--db` or `$NEMECYS_DB` names, else the default file when it exists.
Without one, the section says so and how to create one, and the assessment goes on: a missing
database must not stop a threat model from being written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from nemecys.errors import InputError
from nemecys.model.schema import SystemModel
from nemecys.results import (
    AdvisorySource,
    SbomVulnerabilities,
    TriageRecord,
    VulnerabilityFinding,
    VulnerabilitySection,
)
from nemecys.sbom.fda import (
    SupportState,
    classify_end_of_support,
    classify_level_of_support,
    parse_support_date,
)
from nemecys.sbom.model import SbomDocument, SoftwareComponent
from nemecys.vulns.database import create_hint, database_reason, find_database, open_database
from nemecys.vulns.findings import Finding
from nemecys.vulns.workflow import TriagedScan, TriageOrigin

if TYPE_CHECKING:
    from nemecys.storage.store import SqlStore

# Called with (model component id, SBOM components matched, SBOM components in total).
AssessProgress = Callable[[str, int, int], None]

SCANNED = "scanned"
NO_DATABASE = "no_database"
NO_SBOM = "no_sbom"


def check_vulnerabilities(
    model: SystemModel,
    sboms: Mapping[str, Path],
    db: str | None = None,
    *,
    today: date | None = None,
    progress: AssessProgress | None = None,
) -> VulnerabilitySection:
    """Scan the SBOM of each component in `sboms` (component id to file) for known vulnerabilities.

    `today` is the date end-of-support dates are compared with (default: the current date).
    Raises InputError when `db` names a database that does not exist or cannot be opened, or
    when a component id is not in the model.
    """
    checked_on = (today or date.today()).isoformat()
    if not sboms:
        return VulnerabilitySection(
            status=NO_SBOM,
            message=(
                "No SBOM is attached to any component, so no component was checked for known "
                "vulnerabilities. Attach one with software.sbom in the model or "
                "--sbom COMPONENT=PATH."
            ),
            checked_on=checked_on,
        )
    url = find_database(db)
    if url is None:
        return VulnerabilitySection(
            status=NO_DATABASE,
            message=(
                "No advisory database was available, so the SBOM components were not checked "
                f"for known vulnerabilities. To check them, {create_hint(subject='the database')}, "
                "then run nemecys assess again (with --db URL for a database elsewhere)."
            ),
            checked_on=checked_on,
        )

    store = open_database(url)
    try:
        status = store.status()
        sources = [
            AdvisorySource(source=s.source, records=s.records, last_import=s.last_import)
            for s in status.sources
        ]
        results = [
            _scan_component(model, component, path, store, today or date.today(), progress)
            for component, path in sorted(sboms.items())
        ]
    except SQLAlchemyError as exc:
        raise InputError(
            f"the advisory database {store.url} failed during the scan: {database_reason(exc)}"
        ) from None
    finally:
        store.close()
    return VulnerabilitySection(
        status=SCANNED,
        database=status.url,
        sources=sources,
        checked_on=checked_on,
        sboms=results,
    )


def _scan_component(
    model: SystemModel,
    component_id: str,
    path: Path,
    store: SqlStore,
    today: date,
    progress: AssessProgress | None,
) -> SbomVulnerabilities:
    from nemecys.sbom import read_sbom_document
    from nemecys.vulns.scoring import answers_from_model
    from nemecys.vulns.workflow import scan_with_triage

    if not path.is_file():
        raise InputError(f"SBOM for '{component_id}' not found: {path}")
    document = read_sbom_document(path, strict=True)
    try:
        answers = answers_from_model(model, component_id)
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None
    product = document.subject.name if document.subject else component_id

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(component_id, done, total)

    scan = scan_with_triage(
        document,
        store,
        product=product,
        triage_store=store,
        model_answers=answers,
        progress=report,
    )
    return _summary(component_id, path, product, document, answers, scan, today)


def _summary(
    component_id: str,
    path: Path,
    product: str,
    document: SbomDocument,
    answers: Mapping[str, str],
    scan: TriagedScan,
    today: date,
) -> SbomVulnerabilities:
    components = {c.key: c for c in document.components}
    result = scan.result
    return SbomVulnerabilities(
        component=component_id,
        sbom=str(path),
        product=product,
        components=result.components,
        unversioned=len(result.unversioned),
        unidentified=len(result.unidentified),
        support_stated=sum(1 for c in document.components if _support_stated(c)),
        end_of_support_dates=sum(
            1
            for c in document.components
            if classify_end_of_support(c.end_of_support) is SupportState.DATE
        ),
        support_ended=sum(1 for c in document.components if support_ended(c, today)),
        rubric_answers=dict(sorted(answers.items())),
        triage_applied=scan.carried,
        findings=[
            _finding(f, components.get(f.component_key), scan.origin(f)) for f in result.findings
        ],
        notes=list(result.notes),
        uncovered={t: len(keys) for t, keys in sorted(result.uncovered.items())},
        coverage=result.coverage_messages(),
    )


def _support_stated(component: SoftwareComponent) -> bool:
    state = classify_level_of_support(component.level_of_support)
    return state in (SupportState.TEXT, SupportState.ENDED)


def support_ended(component: SoftwareComponent, today: date) -> bool:
    """Decide whether a component's end of support has passed or its support has ended."""
    end = parse_support_date(component.end_of_support)
    if end is not None:
        return end < today
    if classify_end_of_support(component.end_of_support) is SupportState.ENDED:
        return True
    return classify_level_of_support(component.level_of_support) is SupportState.ENDED


def _finding(
    finding: Finding, component: SoftwareComponent | None, origin: TriageOrigin | None
) -> VulnerabilityFinding:
    rubric = finding.rubric
    return VulnerabilityFinding(
        priority=finding.priority,
        id=finding.vulnerability_id,
        aliases=list(finding.aliases),
        component=finding.component_name,
        component_key=finding.component_key,
        version=finding.component_version,
        purl=finding.component_purl,
        summary=finding.summary,
        rubric_score=rubric.base_score if rubric else None,
        rubric_rating=rubric.rating if rubric else None,
        rubric_vector=rubric.base_vector if rubric else None,
        rubric_worst_case=rubric.worst_case if rubric else False,
        rubric_unknown_questions=list(rubric.unknown_questions) if rubric else [],
        rubric_worst_case_reason=rubric.worst_case_reason if rubric else None,
        cvss=finding.max_cvss,
        kev=finding.kev,
        epss=finding.epss,
        epss_percentile=finding.epss_percentile,
        state=finding.state,
        justification=finding.justification,
        detail=finding.detail,
        fixed_versions=list(finding.fixed_versions),
        level_of_support=component.level_of_support if component else None,
        end_of_support=component.end_of_support if component else None,
        triage=_triage(origin) if origin else None,
    )


def _triage(origin: TriageOrigin) -> TriageRecord:
    return TriageRecord(
        source=origin.source,
        vulnerability=origin.vulnerability,
        author=origin.author,
        timestamp=origin.timestamp,
        taken_on_version=origin.taken_on_version,
        needs_review=origin.needs_review,
        responses=list(origin.responses),
    )


__all__ = [
    "NO_DATABASE",
    "NO_SBOM",
    "SCANNED",
    "AssessProgress",
    "check_vulnerabilities",
    "support_ended",
]
