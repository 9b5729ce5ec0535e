"""Finding documents under import paths: folders, zip archives with limits, gzip, errors."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import pytest

from nemecys.errors import InputError
from nemecys.feeds.reader import Limits, collect, iter_records
from nemecys.vulns.model import Advisory


def osv_json(advisory_id: str) -> str:
    return json.dumps(
        {
            "id": advisory_id,
            "modified": "2024-01-01T00:00:00Z",
            "affected": [
                {"package": {"ecosystem": "npm", "name": "left-pad"}, "versions": ["1.0.0"]}
            ],
        }
    )


OSV_YAML = "id: PYSEC-9999-1\nmodified: 2024-01-01T00:00:00Z\naffected:\n- package: {ecosystem: PyPI, name: demo}\n  versions: ['1.0']\n"


def write_zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def ids(paths: list[Path], limits: Limits | None = None) -> list[str]:
    with collect(paths, limits or Limits()) as sources:
        return [r.id for r in iter_records(sources) if isinstance(r, Advisory)]


def test_zip_json_and_yaml_members(tmp_path: Path) -> None:
    archive = write_zip(
        tmp_path / "all.zip",
        {
            "GHSA-1.json": osv_json("GHSA-1"),
            "nested/PYSEC-9999-1.yaml": OSV_YAML,
            "README.txt": "not a record",
            "folder/": "",
        },
    )

    assert ids([archive]) == ["GHSA-1", "PYSEC-9999-1"]


def test_zip_member_names_never_used_as_paths(tmp_path: Path) -> None:
    archive = write_zip(
        tmp_path / "evil.zip",
        {"../../outside.json": osv_json("GHSA-2"), "/abs/x.json": osv_json("GHSA-3")},
    )

    assert ids([archive]) == ["GHSA-2", "GHSA-3"]
    assert not (tmp_path.parent.parent / "outside.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.zip"]


def test_zip_member_count_limit(tmp_path: Path) -> None:
    archive = write_zip(
        tmp_path / "many.zip", {f"GHSA-{i}.json": osv_json(f"GHSA-{i}") for i in range(5)}
    )

    with pytest.raises(InputError, match="5 members exceed the limit of 4"):
        collect([archive], Limits(max_members=4))


def test_zip_total_size_limit(tmp_path: Path) -> None:
    # A megabyte of zeros compresses to about a kilobyte: the classic bomb shape.
    archive = write_zip(
        tmp_path / "bomb.zip", {"a.json": "0" * 1_000_000, "b.json": "0" * 1_000_000}
    )

    assert archive.stat().st_size < 20_000
    with pytest.raises(
        InputError, match="members expand to 2000000 bytes, over the limit of 1500000"
    ):
        collect([archive], Limits(max_total_bytes=1_500_000))


def test_zip_member_size_limit(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "big.zip", {"a.json": "0" * 100_000})

    with pytest.raises(InputError, match=r"big\.zip \(entry a\.json\): expands to 100000 bytes"):
        collect([archive], Limits(max_member_bytes=50_000))


def test_zip_broken_member_named(tmp_path: Path) -> None:
    archive = write_zip(
        tmp_path / "feed.zip",
        {"GHSA-1.json": osv_json("GHSA-1"), "GHSA-bad.json": '{"id": "GHSA-bad",'},
    )

    with pytest.raises(
        InputError, match=r"feed\.zip \(entry GHSA-bad\.json\): invalid JSON at line 1"
    ):
        ids([archive])


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "fake.zip"
    path.write_text("plain text", encoding="utf-8")

    with pytest.raises(InputError, match=r"fake\.zip: invalid zip archive"):
        collect([path])


def test_gzip_bomb_limited(tmp_path: Path) -> None:
    path = tmp_path / "records.json.gz"
    path.write_bytes(gzip.compress(b" " * 200_000))

    with pytest.raises(InputError, match="expands to more than 100000 bytes"):
        ids([path], Limits(max_member_bytes=100_000))


def test_folder_skips_other_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "GHSA-1.json").write_text(osv_json("GHSA-1"), encoding="utf-8")
    (tmp_path / "notes.md").write_text("# notes", encoding="utf-8")
    (tmp_path / "schema.json").write_text(
        '{"$schema": "https://json-schema.org/draft/2020-12/schema"}', encoding="utf-8"
    )
    (tmp_path / "index.csv").write_text("path,id\n", encoding="utf-8")

    with collect([tmp_path]) as sources:
        found = [r.id for r in iter_records(sources) if isinstance(r, Advisory)]
        skipped = sorted(Path(p).name for p in sources.skipped)

    assert found == ["GHSA-1"]
    assert skipped == ["index.csv", "notes.md", "schema.json"]


def test_named_unknown_document_is_error(tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    path.write_text('{"$schema": "x"}', encoding="utf-8")

    with pytest.raises(InputError, match=r"schema\.json: not a recognised advisory document"):
        ids([path])


def test_missing_path_and_unsupported_type(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        collect([tmp_path / "absent.json"])
    text_file = tmp_path / "records.txt"
    text_file.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="unsupported file type"):
        collect([text_file])


def test_invalid_yaml_named(tmp_path: Path) -> None:
    path = tmp_path / "PYSEC-1.yaml"
    path.write_text("id: [unclosed\n", encoding="utf-8")

    with pytest.raises(InputError, match=r"PYSEC-1\.yaml: invalid YAML"):
        ids([path])


def test_forced_format(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    path.write_text(
        json.dumps({"id": "GHSA-5", "modified": "2024-01-01T00:00:00Z"}), encoding="utf-8"
    )

    with collect([path]) as sources, pytest.raises(InputError, match="invalid NVD CVE record"):
        list(iter_records(sources, fmt="nvd"))
    with collect([path]) as sources:
        assert [r.id for r in iter_records(sources, fmt="osv") if isinstance(r, Advisory)] == [
            "GHSA-5"
        ]
