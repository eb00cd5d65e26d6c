"""Fuzz the loader with the suite's Hypothesis properties, many more examples.

    python -m benchmarks.fuzz_loader               # 20 x: 30,000 JSONL files, 3,000 folders
    python -m benchmarks.fuzz_loader --scale 100

The properties are ``tests/test_loader_properties.py``'s (the suite runs 1,500 and 150
examples of them): loading never raises and gives one item per input item, in order. A
failure prints Hypothesis's smallest failing example and exits 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--scale", type=float, default=20.0, help="times the suite's number of examples"
    )
    args = parser.parse_args(argv)
    os.environ["SUMMARISE_FUZZ_SCALE"] = str(args.scale)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import test_loader_properties as props

    for name in (
        "test_any_jsonl_gives_one_item_per_line_in_order",
        "test_any_folder_gives_items_for_every_file_in_sorted_order",
    ):
        started = time.perf_counter()
        getattr(props, name)()
        print(
            f"{name}: {args.scale:g} x the suite's examples, no failure "
            f"({time.perf_counter() - started:.1f} s)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
