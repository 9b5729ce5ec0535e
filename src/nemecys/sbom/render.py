"""Rich tables for an SBOM quality report, as `nemecys sbom quality --format table` prints them."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from nemecys.sbom.quality import QualityReport

_SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}
_MAX_WARNINGS_SHOWN = 20


def quality_tables(report: QualityReport, *, details: bool = False) -> Group:
    """Build the summary, element coverage, fix list and support concerns; `details` adds a row per component."""
    parts: list[RenderableType] = [_summary(report), _elements(report)]
    if report.fixes:
        parts.append(_fixes(report))
    if report.support_concerns:
        parts.append(_concerns(report))
    if details:
        parts.append(_components(report))
    if report.schema_errors is not None:
        parts.append(_schema(report.schema_errors))
    if report.reader_warnings:
        shown = report.reader_warnings[:_MAX_WARNINGS_SHOWN]
        lines = "\n".join(f"  {warning}" for warning in shown)
        more = len(report.reader_warnings) - len(shown)
        tail = f"\n  … {more} more in the JSON output" if more > 0 else ""
        parts.append(Text(f"Reader warnings:\n{lines}{tail}", style="dim"))
    return Group(*parts)


def _summary(report: QualityReport) -> Text:
    version = f" {report.spec_version}" if report.spec_version else ""
    subject = report.subject or "not named"
    text = Text()
    text.append(f"SBOM quality: {report.path}\n", style="bold")
    text.append(
        f"{report.format}{version} {report.encoding}, {report.component_count} components, "
        f"product: {subject}, end-of-support dates compared with {report.checked_on.isoformat()}\n"
    )
    text.append(f"Score: {report.score:.1f} / 100", style="bold")
    text.append("   NTIA minimum elements: ")
    text.append(*_complete(report.ntia_complete))
    text.append("   FDA support fields: ")
    text.append(*_complete(report.fda_complete))
    return text


def _complete(flag: bool) -> tuple[str, str]:
    return ("complete", "green") if flag else ("incomplete", "red")


def _elements(report: QualityReport) -> Table:
    table = Table(title="Elements", title_justify="left")
    table.add_column("Element")
    table.add_column("Source")
    table.add_column("Present", justify="right")
    table.add_column("%", justify="right")
    table.add_column("Weight", justify="right")
    for item in report.elements:
        style = "yellow"
        if item.percent == 100.0:
            style = "green"
        elif item.percent < 50.0:
            style = "red"
        table.add_row(
            item.label,
            item.source,
            f"{item.present}/{item.total}",
            Text(f"{item.percent:.1f}", style=style),
            str(item.weight),
        )
    return table


def _fixes(report: QualityReport) -> Table:
    table = Table(title="What to fix", title_justify="left")
    table.add_column("Severity")
    table.add_column("Count", justify="right")
    table.add_column("Action")
    table.add_column("Examples")
    for fix in report.fixes:
        table.add_row(
            Text(fix.severity, style=_SEVERITY_STYLE[fix.severity]),
            str(fix.count),
            fix.action,
            ", ".join(fix.examples[:3]) + (", …" if fix.count > 3 else ""),
        )
    return table


def _concerns(report: QualityReport) -> Table:
    table = Table(title="Support ended or maintenance stopped", title_justify="left")
    table.add_column("Component")
    table.add_column("Version")
    table.add_column("Reason")
    for concern in report.support_concerns:
        table.add_row(concern.name, concern.version or "", concern.reason)
    return table


def _components(report: QualityReport) -> Table:
    table = Table(title="Components", title_justify="left")
    table.add_column("Component")
    table.add_column("Version")
    table.add_column("Missing")
    table.add_column("Other findings")
    for component in report.components:
        missing = ", ".join(element.value for element in component.missing)
        others = "\n".join(
            finding.message for finding in component.findings if finding.severity != "error"
        )
        table.add_row(component.name or component.key, component.version or "", missing, others)
    return table


def _schema(messages: list[str]) -> Text:
    if not messages:
        return Text("Schema validation: valid", style="green")
    lines = "\n".join(f"  {message}" for message in messages)
    return Text(f"Schema validation: {len(messages)} messages\n{lines}", style="red")
