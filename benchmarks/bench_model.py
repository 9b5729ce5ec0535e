"""Time the nemecys design-time assessment against OWASP pytm on the same generated models.

For each model size N (components + flows + data assets) the benchmark writes the nemecys
model as YAML files (see `generate.py`) and builds the equivalent pytm model, then times in
one process, alternating the tools run by run:

* nemecys, with the steps of `nemecys.assess.assess` called one by one. The steps are parse
  (`read_document`: YAML with source locations and includes) and setup (control catalog,
  threat libraries, `ModelIndex`, threat-id check). Then come validate (`validate_document`:
  pydantic schema, then cross-references), derive (`derive_threats`) and score
  (`assess_prepared`: exploitability, severity, controls, risk, status, gate).
* nemecys again with the rule count topped up to pytm's 113 by a synthetic library
  (`--no-matched-rules` skips it), because the packaged library may hold far fewer rules.
* pytm 1.4.0: build (`TM.reset()`, `TM(...)` which loads the threat library, and every
  element object), check (`TM.check()`: flow defaults, inputs and outputs) and resolve
  (`TM.resolve()`: its rules against every element, a Finding per match).

Each cell is the median of the repetitions. A pytm run is stopped after `--pytm-timeout`
seconds; a timed-out size and all larger sizes are then skipped for pytm. Repetitions stop
early once a configuration has spent `--budget` seconds on one size.

Results are printed as a table and written as JSON (default
`benchmarks/results/bench_model.json`, which git ignores).

    .venv/bin/python benchmarks/bench_model.py --sizes 100 1000 10000 --repetitions 5
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import gc
import importlib.metadata
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402  (sibling module, found through the path set above)
import nemecys  # noqa: E402
import nemecys.assess  # noqa: E402
import nemecys.model.references  # noqa: E402
from nemecys.model import read_document, resolve_project  # noqa: E402
from nemecys.perf import paused_gc  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"

NEMECYS_STEPS = ("parse", "setup", "validate", "references", "derive", "score", "total")
PYTM_STEPS = ("build", "check", "resolve", "total")

# One timed run: step times, threat count, rule count and pytm's element count (None for nemecys).
RunResult = tuple[dict[str, float], int, int, int | None]


class RunTimedOut(BaseException):
    """Raised by the alarm handler. As a BaseException, it passes pytm's `except Exception`."""


@dataclass
class Series:
    """Timed runs of one tool configuration at one model size."""

    tool: str
    size: int
    runs: list[dict[str, float]] = field(default_factory=list)
    threats: int | None = None
    rules: int | None = None
    objects: int | None = None
    note: str | None = None

    def median(self, step: str) -> float | None:
        values = [run[step] for run in self.runs if step in run]
        return statistics.median(values) if values else None


def _now() -> tuple[float, float]:
    """Return wall time and this process's CPU time, in seconds."""
    return time.perf_counter(), time.process_time()


class StepClock:
    """Wall and CPU time spent inside patched functions, summed per step name."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    def add(self, step: str, start: tuple[float, float], end: tuple[float, float]) -> None:
        self.times[step] = self.times.get(step, 0.0) + end[0] - start[0]
        self.times[f"cpu_{step}"] = self.times.get(f"cpu_{step}", 0.0) + end[1] - start[1]

    def wrap(self, step: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = _now()
            try:
                return function(*args, **kwargs)
            finally:
                self.add(step, start, _now())

        return timed


@contextlib.contextmanager
def patched(clock: StepClock, targets: list[tuple[Any, str, str]]) -> Iterator[None]:
    """Replace each `module.name` by a timed wrapper for the duration of the block."""
    originals = []
    for module, name, step in targets:
        original = getattr(module, name)
        originals.append((module, name, original))
        setattr(module, name, clock.wrap(step, original))
    try:
        yield
    finally:
        for module, name, original in originals:
            setattr(module, name, original)


# `nemecys.assess.prepare_document` calls these functions by module-global name. Wrapping
# them splits its time into steps without copying its code here.
_PREPARE_STEPS = [
    (nemecys.assess, "validate_document", "validate"),
    (nemecys.model.references, "check_document", "references"),
    (nemecys.assess, "derive_threats", "derive"),
]


def run_nemecys(model_path: Path) -> tuple[dict[str, float], int, int]:
    """Assess MODEL_PATH once and return step times in seconds, the threat and the rule count.

    Each step has its wall time under its name and its CPU time under `cpu_<name>`.
    """
    clock = StepClock()
    # `nemecys assess` pauses cyclic garbage collection the same way while it works.
    with patched(clock, _PREPARE_STEPS), paused_gc():
        start = _now()
        path = resolve_project(model_path)
        document, source, files = read_document(path)
        parsed = _now()
        prepared = nemecys.assess.prepare_document(path, document, source, files)
        prepared_at = _now()
        assessment = nemecys.assess.assess_prepared(prepared)
        end = _now()
    clock.add("parse", start, parsed)
    clock.add("setup", parsed, prepared_at)
    clock.add("score", prepared_at, end)
    clock.add("total", start, end)
    times = clock.times
    # `setup` covered all of prepare_document. Without validate and derive, it is the catalog,
    # the libraries, the index and the threat-id check.
    for prefix in ("", "cpu_"):
        times[f"{prefix}setup"] -= times.get(f"{prefix}validate", 0.0) + times.get(
            f"{prefix}derive", 0.0
        )
    return times, len(assessment.threats), len(prepared.library.rules)


def run_pytm(files: dict[str, Any]) -> RunResult:
    """Build, check and resolve the pytm model once; return times, findings, rules and elements."""
    import pytm

    clock = StepClock()
    pytm.TM.reset()
    start = _now()
    model = generate.build_pytm(files)
    built = _now()
    model.check()
    checked = _now()
    model.resolve()
    end = _now()
    counts = len(model.findings), len(pytm.TM._threats), len(pytm.TM._elements)
    pytm.TM.reset()
    clock.add("build", start, built)
    clock.add("check", built, checked)
    clock.add("resolve", checked, end)
    clock.add("total", start, end)
    return clock.times, *counts


def _raise_timeout(signum: int, frame: Any) -> None:
    raise RunTimedOut


def with_timeout(seconds: float, function: Callable[[], Any]) -> Any:
    """Call FUNCTION and raise RunTimedOut after SECONDS of wall time. Zero means no limit."""
    if seconds <= 0:
        return function()
    previous = signal.signal(signal.SIGALRM, _raise_timeout)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return function()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Config:
    """One tool configuration: its name and how to run it once on a model of a size."""

    name: str
    run: Callable[[], RunResult]
    timeout: float
    series: Series


def measure(configs: list[Config], repetitions: int, budget: float) -> None:
    """Run every configuration REPETITIONS times, alternating them so drift hits all alike."""
    spent = {c.name: 0.0 for c in configs}
    for _ in range(repetitions):
        for config in configs:
            series = config.series
            if series.note is not None or (series.runs and spent[config.name] >= budget):
                continue
            gc.collect()
            try:
                times, threats, rules, objects = with_timeout(config.timeout, config.run)
            except RunTimedOut:
                series.note = f"timed out after {config.timeout:g} s"
                print(f"  {config.name} n={series.size}: {series.note}", flush=True)
                continue
            spent[config.name] += times["total"]
            series.runs.append(times)
            series.threats, series.rules, series.objects = threats, rules, objects
            print(
                f"  {config.name} n={series.size}: {times['total']:.3f} s, {threats} threats",
                flush=True,
            )


def _nemecys_config(name: str, path: Path, size: int) -> Config:
    def run() -> RunResult:
        times, threats, rules = run_nemecys(path)
        return times, threats, rules, None

    return Config(name, run, 0, Series(name, size))


def benchmark(args: argparse.Namespace, models_dir: Path) -> list[Series]:
    """Write the models of every size and time each configuration on them, smallest first."""
    results: list[Series] = []
    pytm_stopped = args.no_pytm
    for number, size in enumerate(sorted(set(args.sizes))):
        print(f"n={size}: writing models", flush=True)
        path = generate.write_model(size, models_dir / f"packaged-{size}", seed=args.seed)
        configs = [_nemecys_config("nemecys", path, size)]
        if args.matched_rules:
            path = generate.write_model(
                size,
                models_dir / f"matched-{size}",
                seed=args.seed,
                rules_to=generate.PYTM_RULE_COUNT,
            )
            configs.append(_nemecys_config("nemecys-113", path, size))

        pytm_series = Series("pytm", size)
        if pytm_stopped:
            pytm_series.note = "skipped" if args.no_pytm else "skipped: a smaller model timed out"
        else:
            files = generate.build_document(size, args.seed)
            run = functools.partial(run_pytm, files)
            configs.append(Config("pytm", run, args.pytm_timeout, pytm_series))

        if number == 0 and args.warmup:
            # One untimed run per configuration loads modules and fills caches.
            for config in configs:
                with contextlib.suppress(RunTimedOut):
                    with_timeout(config.timeout, config.run)
        measure(configs, args.repetitions, args.budget)

        if pytm_series.note is not None and pytm_series.note.startswith("timed out"):
            pytm_stopped = True
        results.extend(c.series for c in configs)
        if all(c.name != "pytm" for c in configs):
            results.append(pytm_series)
    return results


# --- report -------------------------------------------------------------------------------------


def _find(results: list[Series], tool: str, size: int) -> Series | None:
    return next((s for s in results if s.tool == tool and s.size == size), None)


def _fmt_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 0.1:
        return f"{value:.3f}"
    return f"{value * 1000:.1f} ms"


def _fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def linearity(results: list[Series], tool: str, step: str) -> tuple[int, int, float] | None:
    """Return (small, large, ratio of time per element at large to small) for the widest pair."""
    sizes = sorted(s.size for s in results if s.tool == tool and s.median(step) is not None)
    if len(sizes) < 2:
        return None
    large = sizes[-1]
    small = next((n for n in sizes if n * 10 == large), sizes[-2])
    small_series, large_series = _find(results, tool, small), _find(results, tool, large)
    assert small_series is not None and large_series is not None
    small_time, large_time = small_series.median(step), large_series.median(step)
    if small_time is None or large_time is None or small_time == 0:
        return None
    return small, large, (large_time / large) / (small_time / small)


def _row(series: Series, steps: tuple[str, ...]) -> str:
    cells = "  ".join(f"{_fmt_seconds(series.median(step)):>10}" for step in (*steps, "cpu_total"))
    rate = _ratio(series.size, series.median("total"))
    threats = "-" if series.threats is None else str(series.threats)
    return (
        f"{series.tool:<12} {series.size:>6} {len(series.runs):>4} {series.rules or '-':>5} "
        f"{threats:>8} {cells}  {'-' if rate is None else f'{rate:,.0f}':>10}  {series.note or ''}"
    ).rstrip()


def _header(steps: tuple[str, ...]) -> str:
    cells = "  ".join(f"{step:>10}" for step in (*steps, "cpu total"))
    return (
        f"{'tool':<12} {'N':>6} {'runs':>4} {'rules':>5} {'threats':>8} {cells}  {'elements/s':>10}"
    )


LINEARITY_STEPS = (
    ("nemecys", NEMECYS_STEPS),
    ("nemecys-113", NEMECYS_STEPS),
    ("pytm", PYTM_STEPS),
)


def _linearity_line(
    results: list[Series], tool: str, steps: tuple[str, ...], prefix: str
) -> str | None:
    found = [(step, linearity(results, tool, prefix + step)) for step in steps]
    parts = [f"{step} {value[2]:.2f}" for step, value in found if value is not None]
    if not parts:
        return None
    pair = next(value for _, value in found if value is not None)
    clock = "cpu " if prefix else "wall"
    return f"{tool:<12} {clock} {pair[0]}→{pair[1]}: " + ", ".join(parts)


def render_table(results: list[Series]) -> str:
    """Render the medians, the pytm / nemecys ratios and the linearity check as text tables."""
    lines = ["nemecys: median wall time per step ('references' is part of 'validate')"]
    lines.append(_header(NEMECYS_STEPS))
    lines += [_row(s, NEMECYS_STEPS) for s in results if s.tool.startswith("nemecys")]
    lines += ["", "pytm: median wall time per step", _header(PYTM_STEPS)]
    lines += [_row(s, PYTM_STEPS) for s in results if s.tool == "pytm"]

    lines += ["", "ratio pytm / nemecys (above 1: nemecys is faster)"]
    lines.append(f"{'nemecys run':<12} {'N':>6} {'wall':>8} {'cpu':>8} {'resolve/derive':>15}")
    for tool in ("nemecys", "nemecys-113"):
        for size in sorted({s.size for s in results}):
            mine, theirs = _find(results, tool, size), _find(results, "pytm", size)
            if mine is None or theirs is None:
                continue
            wall = _ratio(theirs.median("total"), mine.median("total"))
            cpu = _ratio(theirs.median("cpu_total"), mine.median("cpu_total"))
            rules = _ratio(theirs.median("resolve"), mine.median("derive"))
            lines.append(
                f"{tool:<12} {size:>6} {_fmt_ratio(wall):>8} {_fmt_ratio(cpu):>8} {_fmt_ratio(rules):>15}"
            )

    lines += [
        "",
        "linearity: time per element at the large size / at the small size (1.0 = linear)",
    ]
    for tool, steps in LINEARITY_STEPS:
        for prefix in ("", "cpu_"):
            line = _linearity_line(results, tool, steps, prefix)
            if line is not None:
                lines.append(line)
    return "\n".join(lines)


def source_state() -> dict[str, Any]:
    """Return where nemecys was imported from, the checkout's commit and its changed files.

    The commit describes the benchmarked code only when nemecys was imported from this
    checkout's `src`, not from an exported copy named by PYTHONPATH.
    """
    root = Path(__file__).resolve().parent.parent
    imported_from = str(Path(nemecys.__file__).resolve().parent)
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "diff", "--name-only", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return {"nemecys_path": imported_from, "commit": None, "changed_files": None}
    return {"nemecys_path": imported_from, "commit": commit, "changed_files": changed}


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in ("nemecys", "pytm", "pydantic", "pydantic-core", "PyYAML"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    import yaml

    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "system": platform.platform(),
        "libyaml": bool(getattr(yaml, "__with_libyaml__", False)),
        "versions": versions,
    }


def to_json(
    args: argparse.Namespace, results: list[Series], load: dict[str, Any]
) -> dict[str, Any]:
    """Return the JSON document of a run: settings, machine, medians, ratios and linearity."""
    series = []
    for s in results:
        steps = PYTM_STEPS if s.tool == "pytm" else NEMECYS_STEPS
        keys = [*steps, *(f"cpu_{step}" for step in steps)]
        series.append(
            {
                "tool": s.tool,
                "elements": s.size,
                "split": dataclasses.asdict(generate.split(s.size)),
                "runs": len(s.runs),
                "rules": s.rules,
                "threats": s.threats,
                "pytm_elements": s.objects,
                "note": s.note,
                "median_seconds": {key: s.median(key) for key in keys},
                "elements_per_second": _ratio(s.size, s.median("total")),
                "all_runs": s.runs,
            }
        )
    ratios = []
    for s in results:
        theirs = _find(results, "pytm", s.size)
        if s.tool == "pytm" or theirs is None:
            continue
        ratios.append(
            {
                "nemecys": s.tool,
                "elements": s.size,
                "pytm_total_over_nemecys_total": _ratio(theirs.median("total"), s.median("total")),
                "pytm_cpu_over_nemecys_cpu": _ratio(
                    theirs.median("cpu_total"), s.median("cpu_total")
                ),
                "pytm_resolve_over_nemecys_derive": _ratio(
                    theirs.median("resolve"), s.median("derive")
                ),
            }
        )
    lin: dict[str, dict[str, Any]] = {}
    for tool, steps in LINEARITY_STEPS:
        for step in (*steps, *(f"cpu_{step}" for step in steps)):
            value = linearity(results, tool, step)
            if value is not None:
                lin.setdefault(tool, {})[step] = {
                    "small": value[0],
                    "large": value[1],
                    "ratio": value[2],
                }
    return {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "arguments": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "load_average": load,
        "source": source_state(),
        "series": series,
        "ratios": ratios,
        "linearity": lin,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[100, 1000, 10000],
        help="model sizes in elements, components + flows + assets (default 100 1000 10000)",
    )
    parser.add_argument(
        "--repetitions", type=int, default=5, help="timed runs per tool and size (default 5)"
    )

    parser.add_argument(
        "--budget",
        type=float,
        default=300.0,
        help="maximum seconds of runs per configuration and size before the remaining "
        "repetitions are dropped, after at least one run (default 300)",
    )
    parser.add_argument(
        "--pytm-timeout",
        type=float,
        default=600.0,
        help="seconds after which one pytm run is stopped, or 0 for no limit (default 600)",
    )

    parser.add_argument("--no-pytm", action="store_true", help="time nemecys only")
    parser.add_argument(
        "--no-matched-rules",
        dest="matched_rules",
        action="store_false",
        help="skip the nemecys run whose rule count is topped up to pytm's 113",
    )
    parser.add_argument(
        "--no-warmup",
        dest="warmup",
        action="store_false",
        help="skip the untimed first run of each configuration",
    )

    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the model generator (default 1)"
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        help="keep the generated YAML models in this folder (default: a temporary folder)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=RESULTS_DIR / "bench_model.json",
        help="JSON result file (default benchmarks/results/bench_model.json)",
    )

    args = parser.parse_args(argv)
    if args.repetitions < 1:
        parser.error(f"--repetitions must be at least 1, got {args.repetitions}")
    too_small = [size for size in args.sizes if size < generate.CLUSTER_SIZE]
    if too_small:
        parser.error(f"--sizes must be at least {generate.CLUSTER_SIZE} elements, got {too_small}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    load = {"before": os.getloadavg()}
    with contextlib.ExitStack() as stack:
        if args.models_dir is None:
            models_dir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="nemecys-bench-"))
            )
        else:
            models_dir = args.models_dir
        results = benchmark(args, models_dir)
    load["after"] = os.getloadavg()
    print()
    print(render_table(results))
    cpus = os.cpu_count() or 1
    if max(load["before"][0], load["after"][0]) > cpus:
        # Other processes competed for the CPUs, so wall times are inflated and CPU times less so.
        print(
            f"\nwarning: 1-minute load average {load['before'][0]:.1f} before and "
            f"{load['after'][0]:.1f} after the run, above the {cpus} CPUs; compare CPU times"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(to_json(args, results, load), indent=2) + "\n", encoding="utf-8"
    )
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
