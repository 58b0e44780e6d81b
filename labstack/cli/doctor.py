"""``lab doctor``: what is wrong with the configured endpoints, and how to fix it."""

from __future__ import annotations

import argparse
import json

MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


def cmd_doctor(args) -> int:
    from helpers import doctor

    products = tuple(p.strip().lower() for p in args.only.split(",")) if args.only else ()
    findings = doctor.run(products=products)
    if args.json:
        print(json.dumps([f.as_dict() for f in findings], indent=2))
    else:
        for f in findings:
            print(f"{MARKS[f.status]}  {f.product:<10} {f.check}: {f.detail}")
            if f.fix and f.status in ("fail", "warn"):
                print(f"{'':16} fix: {f.fix}")
        failed = sum(f.status == "fail" for f in findings)
        warned = sum(f.status == "warn" for f in findings)
        print(f"\n{failed} failed, {warned} warnings, "
              f"{sum(f.status == 'ok' for f in findings)} ok")  # fmt: skip
    return 1 if any(f.status == "fail" for f in findings) else 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("doctor", help="check every configured endpoint and say how to fix it")
    parser.add_argument("--only", help="products to check, e.g. aws,splunk")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=cmd_doctor)
