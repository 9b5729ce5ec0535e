"""Time `nemecys sbom scan` steps on real and generated SBOMs, against parsing the SBOM JSON.

Inputs, all built in this process:

* the advisory store: every PyPI OSV record of the shared PyPA database (read with
  `nemecys.feeds.osv`) plus `--advisories` generated npm and PyPI advisories, each with two
  ECOSYSTEM or SEMVER intervals and an enumerated version list, in a `MemoryStore`;
* the Nightscout 14.2.6 CycloneDX SBOM (1,627 npm components counting nested copies);
* a generated CycloneDX JSON SBOM of `--components` components: half npm, half PyPI, names
  drawn from the advisories (real PyPI names included) and from names no advisory covers,
  versions inside and outside the affected ranges.

For each SBOM the steps are timed separately, each the fastest of `--repetitions` runs:
`json.loads` of the file bytes (the baseline), `read_sbom_document` (the SBOM reader),
matching with a fresh `Matcher` (cold caches), and scoring plus ranking
(`finish_findings`). Peak memory of one full scan (read, match, score) is measured with
tracemalloc, once for a whole scan (read, match, score) and once for matching and scoring an
SBOM already read. Results are printed as a table; `--json FILE` also writes them.

    .venv/bin/python benchmarks/bench_scan.py --components 10000 --advisories 20000
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nemecys.feeds.osv import load_yaml, parse_osv
from nemecys.sbom import read_sbom_document
from nemecys.vulns.match import Matcher, finish_findings, parse_purl
from nemecys.vulns.model import Advisory, AffectedPackage, Event, Range
from nemecys.vulns.store import MemoryStore
from nemecys.vulns.versions import clear_caches

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def load_pypi(folder: Path) -> list[Advisory]:
    return [parse_osv(load_yaml(p.read_bytes()), str(p)) for p in sorted(folder.rglob("*.yaml"))]


def generated_advisories(count: int, rng: random.Random) -> list[Advisory]:
    advisories: list[Advisory] = []
    for number in range(count):
        ecosystem = "npm" if number % 2 else "PyPI"
        name = f"gen-pkg-{number % (count // 4 or 1)}"
        start = rng.randint(0, 5)
        events = (
            Event(introduced=f"{start}.0.0"),
            Event(fixed=f"{start}.{rng.randint(1, 9)}.0"),
            Event(introduced=f"{start + 2}.0.0"),
            Event(fixed=f"{start + 2}.{rng.randint(1, 9)}.{rng.randint(0, 9)}"),
        )
        listed = tuple(f"{start}.0.{patch}" for patch in range(10))
        advisories.append(
            Advisory(
                id=f"GEN-{number}",
                source="osv",
                aliases=(f"CVE-2099-{number}",),
                affected=(
                    AffectedPackage(
                        ecosystem=ecosystem,
                        name=name,
                        ranges=(Range("SEMVER" if ecosystem == "npm" else "ECOSYSTEM", events),),
                        versions=listed,
                    ),
                ),
            )
        )
    return advisories


def generated_sbom(count: int, pypi_names: list[str], rng: random.Random) -> dict[str, Any]:
    components = []
    for number in range(count):
        kind = rng.random()
        if kind < 0.3:
            name = f"gen-pkg-{rng.randint(0, 5000)}"
        elif kind < 0.5 and pypi_names:
            name = rng.choice(pypi_names)
        else:
            name = f"clean-pkg-{number}"
        purl_type = "npm" if number % 2 else "pypi"
        version = f"{rng.randint(0, 8)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}"
        components.append(
            {
                "bom-ref": f"c{number}",
                "type": "library",
                "name": name,
                "version": version,
                "purl": f"pkg:{purl_type}/{name}@{version}",
            }
        )
    return {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}


def best_seconds(action: Callable[[], object], repetitions: int) -> float:
    # The minimum, not the median: on a shared machine other processes only ever add time.
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def cold_match(store: MemoryStore, document: Any) -> object:
    clear_caches()
    parse_purl.cache_clear()
    return Matcher(store).match_document(document)


def bench(path: Path, store: MemoryStore, repetitions: int) -> dict[str, Any]:
    data = path.read_bytes()
    document = read_sbom_document(path)
    parse = best_seconds(lambda: json.loads(data), repetitions)
    read = best_seconds(lambda: read_sbom_document(path), repetitions)
    cold = best_seconds(lambda: cold_match(store, document), repetitions)
    match = best_seconds(lambda: Matcher(store).match_document(document), repetitions)
    result = Matcher(store).match_document(document)
    finish = best_seconds(lambda: finish_findings(result.findings, store), repetitions)

    tracemalloc.start()
    scanned = Matcher(store).match_document(read_sbom_document(path))
    finish_findings(scanned.findings, store)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    tracemalloc.start()
    scanned = Matcher(store).match_document(document)
    finish_findings(scanned.findings, store)
    _, match_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    components = len(document.components)
    return {
        "sbom": path.name,
        "components": components,
        "findings": len(result.findings),
        "json_loads_s": parse,
        "read_s": read,
        "match_cold_s": cold,
        "match_s": match,
        "score_rank_s": finish,
        "match_components_per_s": components / match if match else float("inf"),
        "cold_match_components_per_s": components / cold if cold else float("inf"),
        "match_and_score_vs_json_loads": (match + finish) / parse,
        "scan_total_vs_json_loads": (read + match + finish) / parse,
        "cold_scan_total_vs_json_loads": (read + cold + finish) / parse,
        "peak_memory_mib": peak / 2**20,
        "match_peak_memory_mib": match_peak / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--components", type=int, default=10_000)
    parser.add_argument("--advisories", type=int, default=20_000)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="Also write the results to this file.")
    args = parser.parse_args()

    pypi_folder = SHARED / "vulndb" / "osv-pypi" / "vulns"
    nightscout = SHARED / "sbom" / "nightscout-14.2.6.cdx.json"
    if not pypi_folder.is_dir() or not nightscout.is_file():
        sys.exit(f"shared data not found under {SHARED}")

    rng = random.Random(args.seed)
    start = time.perf_counter()
    pypi = load_pypi(pypi_folder)
    generated = generated_advisories(args.advisories, rng)
    store = MemoryStore([*pypi, *generated])
    setup = time.perf_counter() - start
    pypi_names = sorted({a.name for adv in pypi for a in adv.affected if a.name})

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        sbom = Path(folder) / f"generated-{args.components}.cdx.json"
        sbom.write_text(
            json.dumps(generated_sbom(args.components, pypi_names, rng)), encoding="utf-8"
        )
        rows.extend(bench(path, store, args.repetitions) for path in (nightscout, sbom))

    print(
        f"store: {len(pypi)} PyPI OSV records + {len(generated)} generated advisories "
        f"(loaded in {setup:.1f} s); Python {platform.python_version()} on {platform.machine()}"
    )
    columns = (
        ("SBOM", "sbom", 28),
        ("comp.", "components", 7),
        ("find.", "findings", 6),
        ("json ms", "json_loads_s", 9),
        ("read ms", "read_s", 9),
        ("cold ms", "match_cold_s", 9),
        ("warm ms", "match_s", 9),
        ("score ms", "score_rank_s", 9),
        ("cold c/s", "cold_match_components_per_s", 10),
        ("warm c/s", "match_components_per_s", 10),
        ("m+s/json", "match_and_score_vs_json_loads", 9),
        ("total/json", "scan_total_vs_json_loads", 11),
        ("peak MiB", "peak_memory_mib", 9),
        ("match MiB", "match_peak_memory_mib", 10),
    )
    print(
        "".join(
            title.ljust(width) if key == "sbom" else title.rjust(width)
            for title, key, width in columns
        )
    )
    for row in rows:
        cells = []
        for _, key, width in columns:
            value = row[key]
            if key == "sbom":
                cells.append(str(value).ljust(width))
            elif key.endswith("_s") and not key.endswith("per_s"):
                cells.append(f"{value * 1000:.1f}".rjust(width))
            elif isinstance(value, int):
                cells.append(str(value).rjust(width))
            else:
                cells.append(f"{value:,.1f}".rjust(width))
        print("".join(cells))
    if args.json:
        args.json.write_text(
            json.dumps({"setup_s": setup, "rows": rows}, indent=2), encoding="utf-8"
        )


if __name__ == "__main__":
    main()
