"""The `nemecys sbom scan` command (registered on the `sbom` command group by nemecys.cli)."""

from __future__ import annotations


def scan() -> None:
    """Scan an SBOM for known vulnerabilities."""
    raise NotImplementedError("sbom scan is being built")
