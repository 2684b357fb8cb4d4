"""Fuzz ``sxtseg info``, ``segment`` and ``run`` with 1,000 generated broken MRC and TIFF files.

The cases come from ``tests/reliability/fuzz_cases.py`` (the same generator
``make test`` draws 130 cases from): corrupted headers and TIFF tags, wrong
sizes, odd modes, NaN/Inf, zero/negative/NaN voxel sizes, truncated data,
huge declared dimensions, negative dimensions, appended and overwritten
bytes. Each case runs in-process through ``sxtseg.cli.main`` (commands in
the ratio 7 info : 2 segment : 1 run, tiny volumes on one CPU thread) and
must end in exit status 0, or 2 with one ``sxtseg: error:`` line, with no
traceback, no partial output, the input untouched, in bounded time and
memory. Hypothesis draws the cases with ``derandomize=True``: the same
1,000 every time.

Usage::

    .venv/bin/python benchmarks/fuzz_files.py [--cases 1000] [--out benchmarks/results_fuzz.md]

Exit status 1 when any case broke the contract (they are listed in the
result file, ready to paste into ``REGRESSIONS`` in
``tests/reliability/test_fuzz_files.py``).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import logging
import platform
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "reliability"))

from fuzz_cases import Case, Outcome, cases, run_case  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402


def fuzz(n: int) -> tuple[list[Outcome], float]:
    """Run ``n`` derandomized cases; every outcome (no shrinking, no early stop)."""
    outcomes: list[Outcome] = []

    @settings(max_examples=n, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(cases())
    def one(case: Case) -> None:
        with tempfile.TemporaryDirectory(prefix="sxtseg-fuzz-") as tmp:
            outcomes.append(run_case(case, Path(tmp)))
        if len(outcomes) % 50 == 0:
            print(f"{len(outcomes)} cases", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    one()
    return outcomes, time.perf_counter() - t0


def report(outcomes: list[Outcome], seconds: float) -> str:
    """The Markdown result page."""
    import numpy
    import tifffile

    import sxtseg

    by = collections.Counter((o.case.command, o.case.fmt, o.rc) for o in outcomes)
    bad = [o for o in outcomes if o.problems()]
    errors = collections.Counter(
        o.error_lines()[0].split("(")[0].split(":")[-1].strip()[:60]
        for o in outcomes
        if o.rc == 2 and o.error_lines()
    )
    slow = sorted(outcomes, key=lambda o: -o.seconds)[:5]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = [
        "# Fuzzing info, segment and run with generated broken files",
        "",
        f"{datetime.date.today()} · {platform.platform()} · Python {platform.python_version()}"
        f" · sxtseg {sxtseg.__version__} · numpy {numpy.__version__}"
        f" · tifffile {tifffile.__version__}",
        "",
        f"**{len(outcomes)} cases** in {seconds:.0f} s; **{len(bad)} broke the contract** "
        "(exit status other than 0/2, a traceback, not exactly one error line, partial "
        f"files, a changed input, > 120 s, or > 1.5 GB more peak memory). Peak RSS {peak:.0f} MB.",
        "",
        "| command | format | exit 0 | exit 2 | other |",
        "|---|---|---|---|---|",
    ]
    for command in ("info", "segment", "run"):
        for fmt in ("mrc", "tif"):
            ok, two = by[(command, fmt, 0)], by[(command, fmt, 2)]
            other = sum(v for (c, f, rc), v in by.items()
                        if c == command and f == fmt and rc not in (0, 2))  # fmt: skip
            lines.append(f"| {command} | {fmt} | {ok} | {two} | {other} |")
    lines += ["", "Most frequent error messages (exit 2):", ""]
    lines += [f"- {n} × {msg}" for msg, n in errors.most_common(12)]
    lines += ["", "Slowest cases:", ""]
    lines += [f"- {o.seconds:.1f} s: {o.case.command} {o.case.fmt}/{o.case.kind} "
              f"{o.case.shape} → exit {o.rc}" for o in slow]  # fmt: skip
    if bad:
        lines += ["", "## Cases that broke the contract", ""]
        for o in bad:
            lines += [f"- {', '.join(o.problems())}: `{o.case!r}`",
                      f"  - `{(o.error_lines() or [''])[-1][:200]}`"]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results_fuzz.md")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    outcomes, seconds = fuzz(args.cases)
    text = report(outcomes, seconds)
    args.out.write_text(text)
    print(text)
    return 1 if any(o.problems() for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
