"""Importers: real Threagile, Threat Dragon and OTM files become valid nemecys models."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from nemecys.errors import InputError
from nemecys.importers import dump_yaml, import_model
from nemecys.importers._common import (
    IdAllocator,
    guess_component_kind,
    guess_protocol,
    guess_zone_kind,
    slugify,
)
from nemecys.model import check_model, load_model
from nemecys.model.loader import LoadedModel
from nemecys.model.schema import Protocol, SystemModel
from nemecys.model.yamlsource import SourceMap

from .conftest import shared

THREAGILE = "threatmodels/threagile"
THREAT_DRAGON = "threatmodels/threat-dragon"
IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

IMPORTABLE = [
    f"{THREAGILE}/example/threagile.yaml",
    f"{THREAGILE}/stub/threagile.yaml",
    f"{THREAGILE}/split-model/main.yaml",
    f"{THREAGILE}/split-model-flat-equivalent.yaml",
    f"{THREAT_DRAGON}/cryptocurrency-wallet.json",
    f"{THREAT_DRAGON}/generic-cms.json",
    f"{THREAT_DRAGON}/iot-device.json",
    f"{THREAT_DRAGON}/online-game.json",
    f"{THREAT_DRAGON}/payment-online.json",
    f"{THREAT_DRAGON}/renting-car.json",
    f"{THREAT_DRAGON}/three-tier-web-app.json",
    f"{THREAT_DRAGON}/v2-threat-model.json",
    f"{THREAT_DRAGON}/mobile-cloud.otm.json",
]


def _checked(document: dict[str, Any]) -> SystemModel:
    """Validate a document with pydantic and the cross-reference checks, as `validate` does."""
    model = SystemModel.model_validate(document)
    loaded = LoadedModel(model=model, path=Path("x.yaml"), files=(), source=SourceMap())
    problems = check_model(loaded)
    assert [p.render() for p in problems] == []
    return model


def _by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in items}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _warned(warnings: list[str], fragment: str) -> bool:
    return any(fragment in warning for warning in warnings)


# --- every real file --------------------------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.parametrize("relative", IMPORTABLE)
def test_real_file_imports_valid(relative: str) -> None:
    result = import_model(shared(relative))
    model = _checked(result.document)
    assert model.system.clinical_functions[0].id == "imported-function"
    assert _warned(result.warnings, "imported-function")
    for section in ("zones", "components", "assets", "flows", "actors"):
        for item in result.document.get(section, []):
            assert KEBAB.match(item["id"]), (section, item["id"])


@pytest.mark.shared_data
@pytest.mark.parametrize("relative", IMPORTABLE)
def test_real_file_yaml_loads_back(relative: str, tmp_path: Path) -> None:
    document = import_model(shared(relative)).document
    text = dump_yaml(document)
    assert yaml.safe_load(text) == document
    loaded = load_model(_write(tmp_path / "nemecys.yaml", text))
    assert len(loaded.model.components) == len(document["components"])


# --- Threagile --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def threagile_example() -> Any:
    return import_model(shared(f"{THREAGILE}/example/threagile.yaml"))


@pytest.mark.shared_data
def test_threagile_example_counts(threagile_example: Any) -> None:
    document = threagile_example.document
    assert threagile_example.source_format == "threagile"
    assert len(document["components"]) == 14
    assert len(document["flows"]) == 20
    assert len(document["assets"]) == 12
    assert len(document["zones"]) == 5
    assert document["system"]["name"] == "Some Example Application"


@pytest.mark.shared_data
def test_threagile_example_links(threagile_example: Any) -> None:
    flows = _by_id(threagile_example.document["flows"])
    traffic = flows["customer-traffic"]
    assert traffic["source"] == "customer-client"
    assert traffic["destination"] == "load-balancer"
    assert traffic["protocol"] == "https"
    assert traffic["encryption"] == "tls"
    assert traffic["authentication"] == "token"  # Threagile session-id
    assert traffic["bidirectional"] is True
    assert traffic["data"] == [
        "customer-accounts",
        "customer-operational-data",
        "customer-contracts",
        "client-application-code",
        "marketing-material",
    ]
    assert flows["database-traffic"]["protocol"] == "sql"  # jdbc
    assert flows["database-traffic"]["encryption"] == "none"
    assert flows["nfs-filesystem-access"]["protocol"] == "file_transfer"
    assert flows["git-repo-code-read-access"]["protocol"] == "ssh"
    assert flows["git-repo-code-read-access"]["authentication"] == "certificate"
    assert flows["auth-credential-check-traffic"]["authentication"] == "password"
    assert flows["cms-content-traffic"]["encryption"] == "none"


@pytest.mark.shared_data
def test_threagile_ldap_becomes_proprietary(threagile_example: Any) -> None:
    flows = _by_id(threagile_example.document["flows"])
    assert flows["auth-traffic"]["protocol"] == "proprietary"  # ldap
    assert flows["auth-traffic"]["encryption"] == "none"
    assert flows["ldap-credential-check-traffic"]["protocol"] == "proprietary"  # ldaps
    assert flows["ldap-credential-check-traffic"]["encryption"] == "tls"
    assert _warned(threagile_example.warnings, "'ldap' has no nemecys equivalent")
    assert _warned(threagile_example.warnings, "'ldaps' has no nemecys equivalent")


@pytest.mark.shared_data
def test_threagile_example_zones(threagile_example: Any) -> None:
    zones = _by_id(threagile_example.document["zones"])
    assert zones["web-dmz"]["kind"] == "vendor_cloud"
    assert zones["application-network"]["kind"] == "vendor_cloud"
    assert zones["dev-network"]["kind"] == "hospital_network"
    # An execution environment takes the kind of the cloud network it is nested in.
    assert zones["auth-env"]["kind"] == "vendor_cloud"
    assert "application-network" in zones["auth-env"]["description"]


@pytest.mark.shared_data
def test_threagile_example_components(threagile_example: Any) -> None:
    components = _by_id(threagile_example.document["components"])
    assert components["apache-webserver"]["zone"] == "web-dmz"
    assert components["apache-webserver"]["kind"] == "web_app"
    assert components["load-balancer"]["kind"] == "gateway"
    assert components["sql-database"]["kind"] == "database"
    assert components["identity-provider"]["zone"] == "auth-env"
    client = components["customer-client"]
    assert client["zone"] == "internet"
    assert client["internet_facing"] is True
    assert client["out_of_scope"] is True
    assert client["out_of_scope_rationale"] == "Owned and managed by end-user customer"
    assert components["git-repo"]["stores"] == [
        "client-application-code",
        "server-application-code",
    ]
    assert _warned(threagile_example.warnings, "customer-client, external-dev-client")


@pytest.mark.shared_data
def test_threagile_example_assets(threagile_example: Any) -> None:
    assets = _by_id(threagile_example.document["assets"])
    accounts = assets["customer-accounts"]
    assert accounts["kind"] == "credentials"
    assert accounts["confidentiality"] == "high"  # strictly-confidential
    assert accounts["availability"] == "high"  # critical
    code = assets["client-application-code"]
    assert code["confidentiality"] == "none"  # public
    assert code["availability"] == "medium"  # important
    assert assets["erp-logs"]["kind"] == "logs"
    assert assets["erp-logs"]["integrity"] == "low"  # archive


@pytest.mark.shared_data
def test_threagile_risk_tracking_reported(threagile_example: Any) -> None:
    assert _warned(threagile_example.warnings, "6 risk tracking entries")


@pytest.mark.shared_data
def test_threagile_split_equals_flat() -> None:
    split = import_model(shared(f"{THREAGILE}/split-model/main.yaml"))
    flat = import_model(shared(f"{THREAGILE}/split-model-flat-equivalent.yaml"))
    assert split.document == flat.document
    assert len(split.document["components"]) == 14


@pytest.mark.shared_data
def test_threagile_stub() -> None:
    result = import_model(shared(f"{THREAGILE}/stub/threagile.yaml"))
    components = _by_id(result.document["components"])
    assert set(components) == {"some-component", "some-other-component"}
    assert components["some-component"]["zone"] == "some-network"
    assert components["some-other-component"]["zone"] == "internet"
    [flow] = result.document["flows"]
    assert flow["source"] == "some-component"
    assert flow["destination"] == "some-other-component"
    assert flow["protocol"] == "https"
    assert flow["authentication"] == "none"


THREAGILE_MINIMAL = """\
threagile_version: 1.0.0
title: Pump backend
data_assets:
  Therapy:
    id: therapy
    confidentiality: confidential
    integrity: mission-critical
    availability: critical
technical_assets:
  Pump:
    id: pump
    type: process
    technology: iot-device
    communication_links:
      Pigeon:
        target: cloud
        protocol: carrier-pigeon
        authentication: token
        data_assets_sent: [therapy, missing-asset]
      Loop:
        target: pump
        protocol: https
      Lost:
        target: nowhere
        protocol: https
  Cloud:
    id: cloud
    type: process
    technology: web-service-rest
"""


def test_threagile_unknown_protocol_warns(tmp_path: Path) -> None:
    result = import_model(_write(tmp_path / "threagile.yaml", THREAGILE_MINIMAL))
    _checked(result.document)
    [flow] = result.document["flows"]
    assert flow["protocol"] == Protocol.PROPRIETARY.value
    assert flow["encryption"] == "unknown"
    assert flow["data"] == ["therapy"]
    assert _warned(result.warnings, "'carrier-pigeon' has no nemecys equivalent")
    assert _warned(result.warnings, "unknown data asset 'missing-asset'")
    assert _warned(result.warnings, "targets its own asset")
    assert _warned(result.warnings, "unknown technical asset 'nowhere'")


def test_threagile_minimal_mapping(tmp_path: Path) -> None:
    result = import_model(_write(tmp_path / "threagile.yaml", THREAGILE_MINIMAL))
    components = _by_id(result.document["components"])
    assert components["pump"]["kind"] == "device"
    assert components["cloud"]["kind"] == "cloud_service"
    [asset] = result.document["assets"]
    assert asset["confidentiality"] == "high"  # confidential
    assert asset["integrity"] == "high"  # mission-critical
    assert asset["availability"] == "high"  # critical
    assert "zones" not in result.document


def test_threagile_include_cycle_rejected(tmp_path: Path) -> None:
    _write(tmp_path / "main.yaml", "threagile_version: 1.0.0\nincludes: [a.yaml]\n")
    _write(tmp_path / "a.yaml", "includes: [b.yaml]\n")
    _write(tmp_path / "b.yaml", "includes: [a.yaml]\n")
    with pytest.raises(InputError, match="include cycle: main.yaml -> a.yaml -> b.yaml -> a.yaml"):
        import_model(tmp_path / "main.yaml")


def test_threagile_self_include_rejected(tmp_path: Path) -> None:
    _write(tmp_path / "main.yaml", "threagile_version: 1.0.0\nincludes: [main.yaml]\n")
    with pytest.raises(InputError, match="include cycle"):
        import_model(tmp_path / "main.yaml")


def test_threagile_include_outside_folder(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    _write(tmp_path / "outside.yaml", "title: x\n")
    _write(model_dir / "main.yaml", "threagile_version: 1.0.0\nincludes: [../outside.yaml]\n")
    with pytest.raises(InputError, match="outside the model folder"):
        import_model(model_dir / "main.yaml")


def test_threagile_missing_include(tmp_path: Path) -> None:
    _write(tmp_path / "main.yaml", "threagile_version: 1.0.0\nincludes: [gone.yaml]\n")
    with pytest.raises(InputError, match="included file 'gone.yaml' not found"):
        import_model(tmp_path / "main.yaml")


def test_threagile_diamond_include_merges(tmp_path: Path) -> None:
    assets = THREAGILE_MINIMAL.split("technical_assets:")[1]
    _write(tmp_path / "assets.yaml", "technical_assets:" + assets)
    _write(tmp_path / "a.yaml", "includes: [assets.yaml]\n")
    _write(tmp_path / "b.yaml", "includes: [assets.yaml]\n")
    _write(
        tmp_path / "main.yaml",
        "threagile_version: 1.0.0\ntitle: Pump\nincludes: [a.yaml, b.yaml]\n",
    )
    result = import_model(tmp_path / "main.yaml")
    assert [c["id"] for c in result.document["components"]] == ["cloud", "pump"]


def test_threagile_conflicting_redefinition(tmp_path: Path) -> None:
    _write(
        tmp_path / "main.yaml",
        "threagile_version: 1.0.0\nincludes: [other.yaml]\n"
        "technical_assets:\n  Pump:\n    id: pump\n    technology: iot-device\n",
    )
    _write(
        tmp_path / "other.yaml",
        "technical_assets:\n  Pump:\n    id: pump\n    technology: database\n",
    )
    with pytest.raises(InputError, match="technical_assets entry 'Pump', key 'technology'"):
        import_model(tmp_path / "main.yaml")


def test_threagile_python_tag_rejected(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    text = (
        "threagile_version: 1.0.0\n"
        f"title: !!python/object/apply:pathlib.Path.touch [!!python/object/apply:pathlib.Path ['{marker}']]\n"
    )
    with pytest.raises(InputError, match="unsupported YAML tag") as caught:
        import_model(_write(tmp_path / "threagile.yaml", text))
    assert "!!python/object" in str(caught.value)
    assert not marker.exists()


def test_threagile_asset_without_id(tmp_path: Path) -> None:
    text = "threagile_version: 1.0.0\ntechnical_assets:\n  Pump:\n    type: process\n"
    with pytest.raises(InputError, match="technical_assets entry 'Pump' has no 'id'"):
        import_model(_write(tmp_path / "threagile.yaml", text))


def test_threagile_without_assets(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no technical assets"):
        import_model(
            _write(tmp_path / "threagile.yaml", "threagile_version: 1.0.0\ntitle: Empty\n")
        )


def test_threagile_section_wrong_type(tmp_path: Path) -> None:
    text = "threagile_version: 1.0.0\ntechnical_assets: [pump]\n"
    with pytest.raises(InputError, match="'technical_assets' is a list, expected a mapping"):
        import_model(_write(tmp_path / "threagile.yaml", text))


# --- Threat Dragon ----------------------------------------------------------------------------


@pytest.mark.shared_data
def test_threat_dragon_v2_model() -> None:
    result = import_model(shared(f"{THREAT_DRAGON}/v2-threat-model.json"))
    document = result.document
    assert result.source_format == "threat-dragon"
    components = _by_id(document["components"])
    assert len(components) == 6  # 2 processes and 4 stores
    assert components["database"]["kind"] == "database"
    assert components["web-application"]["kind"] == "web_app"
    config = components["web-application-config"]
    assert config["out_of_scope"] is True
    assert config["out_of_scope_rationale"]
    assert [a["id"] for a in document["actors"]] == ["browser"]
    assert document["actors"][0]["uses"] == ["web-application"]
    flows = _by_id(document["flows"])
    assert len(flows) == 9  # the tenth flow, 'Web Request', has a loose end
    response = flows["web-response"]
    assert response["source"] == "web-application"
    assert response["destination"] == "browser"  # an actor
    assert response["protocol"] == "https"  # free text "HTTP/S"
    assert response["encryption"] == "tls"
    assert flows["queries"]["encryption"] == "tls"  # isEncrypted
    assert flows["put-message"]["encryption"] == "none"


@pytest.mark.shared_data
def test_threat_dragon_v2_warnings() -> None:
    warnings = import_model(shared(f"{THREAT_DRAGON}/v2-threat-model.json")).warnings
    assert _warned(warnings, "records 14 threats (10 open) on 10 elements")
    assert _warned(warnings, "3 trust boundary curves not imported")
    assert _warned(warnings, "Web Request")
    assert _warned(warnings, "imported anyway")


@pytest.mark.shared_data
def test_threat_dragon_boxes_become_zones() -> None:
    document = import_model(shared(f"{THREAT_DRAGON}/payment-online.json")).document
    zones = _by_id(document["zones"])
    assert set(zones) == {"customer-internet", "merchant-web", "stripe-web"}
    assert zones["customer-internet"]["kind"] == "internet"
    components = _by_id(document["components"])
    assert components["customer-client"]["zone"] == "customer-internet"
    assert components["merchant-web-server"]["zone"] == "merchant-web"
    assert components["stripe-payment-service"]["zone"] == "stripe-web"
    assert components["stripe-api-service"]["kind"] == "third_party_service"


@pytest.mark.shared_data
def test_threat_dragon_standard_zone_reused() -> None:
    result = import_model(shared(f"{THREAT_DRAGON}/generic-cms.json"))
    components = _by_id(result.document["components"])
    # The box labelled "Internet" is the standard internet zone, not a declared copy.
    assert components["web-server"]["zone"] == "internet"
    assert components["cdn-network"]["zone"] == "outside-trust-boundaries"
    assert [z["id"] for z in result.document["zones"]] == ["outside-trust-boundaries"]
    flows = _by_id(result.document["flows"])
    assert flows["unsecured-mysql-connection"]["source"] == "admin"  # an actor
    assert flows["unsecured-mysql-connection"]["protocol"] == "sql"
    assert flows["unsecured-mysql-connection"]["bidirectional"] is True


@pytest.mark.shared_data
def test_threat_dragon_free_text_protocols() -> None:
    wallet = _by_id(
        import_model(shared(f"{THREAT_DRAGON}/cryptocurrency-wallet.json")).document["flows"]
    )
    assert wallet["websocket-secure"]["protocol"] == "websocket"
    assert wallet["websocket-secure"]["encryption"] == "tls"
    assert wallet["tcp-ssl-500002-json-rpc"]["protocol"] == "proprietary"
    assert wallet["tcp-ssl-500002-json-rpc"]["encryption"] == "tls"
    cars = _by_id(import_model(shared(f"{THREAT_DRAGON}/renting-car.json")).document["flows"])
    assert cars["bluetooth"]["protocol"] == "ble_gatt"
    assert cars["ssh"]["protocol"] == "ssh"
    assert cars["ssh"]["encryption"] == "tls"


@pytest.mark.shared_data
def test_threat_dragon_box_label_from_attrs() -> None:
    # These boxes have no data.name, so their labels come from attrs.label.text.
    document = import_model(shared(f"{THREAT_DRAGON}/three-tier-web-app.json")).document
    assert document["zones"] == [
        {"id": "public-cloud", "name": "Public Cloud", "kind": "vendor_cloud"}
    ]
    components = _by_id(document["components"])
    assert components["web-ui"]["zone"] == "internet"
    assert components["web-service"]["zone"] == "public-cloud"
    assert components["postgressql"]["zone"] == "public-cloud"


def _td_cell(
    ident: str, shape: str, name: str, x: float, y: float, width: float, height: float
) -> dict[str, Any]:
    return {
        "id": ident,
        "shape": shape,
        "position": {"x": x, "y": y},
        "size": {"width": width, "height": height},
        "data": {"name": name},
    }


def _td_document(cells: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": "2.3.0",
        "summary": {"title": "Infusion system"},
        "detail": {"diagrams": [{"title": "Main", "cells": cells}]},
    }


def test_threat_dragon_nested_boxes(tmp_path: Path) -> None:
    cells = [
        _td_cell("outer", "trust-boundary-box", "Hospital network", 0, 0, 1000, 1000),
        _td_cell("inner", "trust-boundary-box", "Ward", 100, 100, 300, 300),
        _td_cell("pump", "process", "Infusion pump", 150, 150, 50, 50),
        _td_cell("server", "process", "Drug library server", 600, 600, 50, 50),
        _td_cell("phone", "process", "Mobile app", 2000, 2000, 50, 50),
        _td_cell("nurse", "actor", "Nurse", 0, 0, 10, 10),
        {
            "id": "f1",
            "shape": "flow",
            "source": {"cell": "server"},
            "target": {"cell": "pump"},
            "data": {"name": "Library update", "protocol": "HL7", "isPublicNetwork": True},
        },
        {
            "id": "f2",
            "shape": "flow",
            "source": {"cell": "nurse"},
            "target": {"cell": "pump"},
            "data": {"name": "", "protocol": "BLE", "isEncrypted": True, "isBidirectional": True},
        },
    ]
    path = _write(tmp_path / "model.json", json.dumps(_td_document(cells)))
    result = import_model(path)
    _checked(result.document)

    components = _by_id(result.document["components"])
    assert components["infusion-pump"]["zone"] == "ward"
    assert components["infusion-pump"]["kind"] == "device"
    assert components["infusion-pump"]["internet_facing"] is True  # receives a public-network flow
    assert components["drug-library-server"]["zone"] == "hospital-network"
    assert components["mobile-app"]["zone"] == "outside-trust-boundaries"

    zones = _by_id(result.document["zones"])
    assert zones["ward"]["kind"] == "hospital_network"
    assert "hospital-network" not in zones  # the standard zone is reused

    flows = _by_id(result.document["flows"])
    assert flows["library-update"]["protocol"] == "hl7v2_mllp"
    ble = flows["nurse-to-infusion-pump"]
    assert ble["protocol"] == "ble_gatt"
    assert ble["encryption"] == "ble_link"
    assert ble["bidirectional"] is True

    assert result.document["actors"] == [
        {"id": "nurse", "name": "Nurse", "kind": "clinician", "uses": ["infusion-pump"]}
    ]


def test_threat_dragon_duplicate_names_get_suffixes(tmp_path: Path) -> None:
    cells = [
        _td_cell("box1", "trust-boundary-box", "", 0, 0, 40, 40),
        _td_cell("box2", "trust-boundary-box", "", 45, 0, 40, 40),
        _td_cell("a", "process", "API", 0, 0, 10, 10),
        _td_cell("b", "process", "API", 50, 0, 10, 10),
        _td_cell("c", "actor", "API", 90, 0, 10, 10),
    ]
    result = import_model(_write(tmp_path / "model.json", json.dumps(_td_document(cells))))
    assert [c["id"] for c in result.document["components"]] == ["api", "api-2"]
    assert [a["id"] for a in result.document["actors"]] == ["api-3"]
    assert [z["id"] for z in result.document["zones"]] == ["trust-boundary", "trust-boundary-2"]
    assert [c["zone"] for c in result.document["components"]] == [
        "trust-boundary",
        "trust-boundary-2",
    ]
    assert _warned(result.warnings, "got kind 'vendor_cloud': trust-boundary, trust-boundary-2")


def test_malformed_json_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path / "broken.json", '{"version": "2.3.0", "detail": {')
    with pytest.raises(InputError, match=r"broken\.json: invalid JSON at line 1 column"):
        import_model(path)


def test_other_json_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path / "other.json", '{"name": "not a threat model", "items": []}')
    with pytest.raises(InputError, match="matches no supported format"):
        import_model(path)


def test_json_list_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="matches no supported format"):
        import_model(_write(tmp_path / "list.json", "[1, 2, 3]"))


@pytest.mark.shared_data
def test_tm_bom_rejected() -> None:
    with pytest.raises(InputError, match="TM-BOM"):
        import_model(shared(f"{THREAT_DRAGON}/huskyai.tmbom.json"))


@pytest.mark.shared_data
def test_empty_threat_dragon_model_rejected() -> None:
    with pytest.raises(InputError, match="no processes or stores"):
        import_model(shared(f"{THREAT_DRAGON}/v2-new-model.json"))


def test_threat_dragon_v1_rejected(tmp_path: Path) -> None:
    document = {
        "summary": {"title": "Old"},
        "detail": {"diagrams": [{"diagramJson": {"cells": []}}]},
    }
    with pytest.raises(InputError, match="Threat Dragon 1"):
        import_model(_write(tmp_path / "old.json", json.dumps(document)))


def test_threat_dragon_cells_wrong_type(tmp_path: Path) -> None:
    document = {"version": "2.3.0", "detail": {"diagrams": [{"cells": {"id": "x"}}]}}
    with pytest.raises(InputError, match="'cells' of diagram 1 is a mapping, expected a list"):
        import_model(_write(tmp_path / "model.json", json.dumps(document)))


def test_nemecys_model_rejected(minimal_model: Path) -> None:
    with pytest.raises(InputError, match="already a nemecys model"):
        import_model(minimal_model)


def test_oversized_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(21 * 1024 * 1024)  # sparse: no data is written
    with pytest.raises(InputError, match="above the import limit of 20,971,520 bytes"):
        import_model(path)


def test_missing_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        import_model(tmp_path / "absent.json")


@pytest.mark.shared_data
def test_format_mismatch_rejected() -> None:
    with pytest.raises(InputError, match="not a threagile model"):
        import_model(shared(f"{THREAT_DRAGON}/generic-cms.json"), fmt="threagile")


def test_unknown_format_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown import format 'visio'"):
        import_model(tmp_path / "x.json", fmt="visio")


# --- OTM --------------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_otm_import() -> None:
    result = import_model(shared(f"{THREAT_DRAGON}/mobile-cloud.otm.json"))
    assert result.source_format == "otm"
    components = _by_id(result.document["components"])
    assert len(components) == 4
    assert components["mobile-client"]["zone"] == "internet"
    assert components["mobile-client"]["kind"] == "mobile_app"
    assert components["accounting-postgresql"]["zone"] == "public-cloud"
    assert components["accounting-postgresql"]["kind"] == "database"
    flows = _by_id(result.document["flows"])
    assert len(flows) == 6
    assert flows["psql-request"]["protocol"] == "sql"
    assert _warned(result.warnings, "43 threats and 43 mitigations")


# --- output -----------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_dump_yaml_schema_order(threagile_example: Any) -> None:
    shuffled = dict(reversed(list(threagile_example.document.items())))
    text = dump_yaml(shuffled)
    top_keys = [
        line.split(":")[0] for line in text.splitlines() if line and not line.startswith((" ", "-"))
    ]
    assert top_keys == ["schema_version", "system", "zones", "components", "assets", "flows"]
    assert (
        "\n  - id: apache-webserver\n    name: Apache Webserver\n    kind: web_app\n    zone: web-dmz\n"
        in text
    )
    assert "{" not in text  # block style only


def test_dump_yaml_multiline_block() -> None:
    document = {"system": {"name": "x", "description": "line one\nline two"}}
    assert "description: |-\n    line one\n    line two\n" in dump_yaml(document)


# --- properties -------------------------------------------------------------------------------


@given(st.lists(st.text(max_size=200), max_size=30))
def test_allocated_ids_valid_and_unique(names: list[str]) -> None:
    allocator = IdAllocator(reserved={"internet"})
    ids = [allocator.allocate(name, "item") for name in names]
    assert len(set(ids)) == len(ids)
    assert "internet" not in ids
    for ident in ids:
        assert IDENTIFIER.match(ident)
        assert KEBAB.match(ident)


@given(st.lists(st.text(max_size=80), max_size=20))
def test_allocated_ids_stable(names: list[str]) -> None:
    first = IdAllocator()
    second = IdAllocator()
    assert [first.allocate(n, "x") for n in names] == [second.allocate(n, "x") for n in names]


@given(st.text(max_size=300))
def test_slugify_idempotent(text: str) -> None:
    slug = slugify(text, "item")
    assert slugify(slug, "item") == slug


@given(st.text(max_size=300))
def test_guesses_accept_any_text(text: str) -> None:
    guess = guess_protocol(text)
    assert guess is None or isinstance(guess.protocol, Protocol)
    guess_component_kind(text)
    guess_zone_kind(text)


def test_yaml_alias_bomb_rejected(tmp_path: Path) -> None:
    lines = ["threagile_version: 1.0.0", "l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        refs = ", ".join([f"*l{level - 1}"] * 10)
        lines.append(f"l{level}: &l{level} [{refs}]")
    with pytest.raises(InputError, match="expands to more than"):
        import_model(_write(tmp_path / "bomb.yaml", "\n".join(lines) + "\n"))
