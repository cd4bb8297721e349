"""Time per classification of the default rule-based classifier (target < 1 ms for 120 records).

Run: uv run python bench/classifier_bench.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.categorize import RuleBasedClassifier
from tests.services.categorize.builders import NOW, TRAITS, Hours, record

RUNS = 2000


def run(runs: int = RUNS) -> dict[str, float]:
    hours = (
        Hours(96, temperature_c=4.0)
        .rain(30, 6.0)
        .snow(50, 3.0)
        .set(range(0, 10), temperature_c=-1.0)
    )
    records = hours.records() + [record(-h, kind="forecast") for h in range(1, 25)]
    classifier = RuleBasedClassifier()
    classifier.classify(now=NOW, hours=records, traits=TRAITS)
    started = time.perf_counter()
    for _ in range(runs):
        classifier.classify(now=NOW, hours=records, traits=TRAITS)
    return {"classify_ms_per_call_120_records": (time.perf_counter() - started) * 1000 / runs}


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name}: {value:.3f}")
