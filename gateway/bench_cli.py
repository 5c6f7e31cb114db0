"""`shardgate bench store|gateway|vectors|safety`: the benchmarks, each next to a baseline
measured in the same run. Their runners live in the source tree's `loadtests/`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gateway.settings import Settings


def add_parser(sub: Any) -> None:
    bench = sub.add_parser("bench", help="benchmarks against baselines measured in the same run")
    bench.add_argument("target", choices=["store", "gateway", "vectors", "safety"])
    bench.add_argument("--documents", type=int, default=20_000, help="store: documents")
    bench.add_argument("--vectors", type=int, default=20_000, help="vectors: documents")
    bench.add_argument("--dimensions", type=int, default=64, help="vectors: dimensions")
    bench.add_argument("--clusters", type=int, default=100, help="vectors: mixture components")
    bench.add_argument("--seconds", type=float, default=5.0, help="per read measurement")
    bench.add_argument(
        "--telemetry",
        action="store_true",
        help="gateway, store: telemetry off (the baseline) next to on, exporting over OTLP",
    )
    bench.add_argument(
        "--sample-ratio",
        type=float,
        default=1.0,
        help="with --telemetry: the share of requests traced (default 1)",
    )
    bench.add_argument(
        "--workers",
        type=int,
        default=1,
        help="gateway: also measure shardgate running N worker processes",
    )
    bench.set_defaults(run=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    # The benchmark runner lives in the source tree's loadtests/, beside the packages.
    repo = Path(__file__).resolve().parent.parent
    if not (repo / "loadtests" / "store_bench.py").exists():
        raise SystemExit("shardgate bench runs from a source checkout (loadtests/ is missing)")
    sys.path.insert(0, str(repo))
    if args.telemetry:
        from loadtests import telemetry_bench

        if not 0 <= args.sample_ratio <= 1:
            raise SystemExit("--sample-ratio must be between 0 and 1")
        if args.target == "gateway":
            return telemetry_bench.run_gateway_telemetry_bench(args.seconds, args.sample_ratio)
        if args.target == "store":
            return telemetry_bench.run_store_telemetry_bench(
                args.documents, args.seconds, args.sample_ratio
            )
        raise SystemExit("--telemetry applies to bench gateway and bench store")
    if args.target == "gateway":
        from loadtests.gateway_bench import run_gateway_bench

        return run_gateway_bench(seconds=args.seconds, workers=args.workers)
    if args.target == "safety":
        from loadtests.safety_bench import run_safety_bench

        return run_safety_bench(seconds=args.seconds)
    if args.target == "vectors":
        from loadtests.vector_bench import run_vector_bench

        return run_vector_bench(args.vectors, args.dimensions, args.seconds, args.clusters)
    from loadtests.store_bench import run_store_bench

    return run_store_bench(documents=args.documents, seconds=args.seconds)
