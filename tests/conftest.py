"""Shared fixtures: paths of the real data beside the checkout, and a small valid model."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared(relative: str) -> Path:
    """Return a path under ../shared/data, skipping the test when that folder is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"{path} not found: the real test data lives in ../shared beside the checkout")
    return path


MINIMAL_MODEL = """\
system:
  name: Bolus pump test system
  intended_use: Subcutaneous insulin delivery controlled from a phone app.
  clinical_functions:
    - id: insulin-delivery
      harm: Overdose leading to severe hypoglycaemia
      severity: critical
components:
  - id: pump
    kind: device
    zone: patient-home
    functions: [insulin-delivery]
    interfaces:
      - {id: ble, kind: ble}
  - id: app
    kind: mobile_app
    zone: patient-home
  - id: cloud
    kind: cloud_service
    zone: vendor-cloud
assets:
  - id: bolus
    kind: therapy_commands
    integrity: high
    functions: [insulin-delivery]
  - id: history
    kind: phi
    confidentiality: high
flows:
  - id: bolus-command
    source: app
    destination: pump
    protocol: ble_gatt
    interface: pump.ble
    data: [bolus]
  - id: history-upload
    source: app
    destination: cloud
    protocol: https
    encryption: none
    data: [history]
"""


@pytest.fixture
def minimal_model(tmp_path: Path) -> Path:
    path = tmp_path / "nemecys.yaml"
    path.write_text(MINIMAL_MODEL, encoding="utf-8")
    return path
