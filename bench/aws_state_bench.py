"""Benchmark: what keeping the AWS account on disk costs a call, and what it saves a restart.

Two private AWS services in one run, the same calls against each: one keeping its state
(``LAB_AWS_STATE=disk``, the default: every call answered after a commit holding it) and the
baseline in memory (``LAB_AWS_STATE=memory``, what the lab did before). Figures: p50/p95 of a
write (``CreateTags``), of a read (``DescribeSecurityGroups``) and of an IAM write
(``UpdateAccessKey``: IAM is the largest backend), each as a ratio to the baseline; then the
time to first start (building the account) against a restart of the kept account.

    .venv/bin/python bench/aws_state_bench.py [--calls 200]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import boto3

from labstack.world import World


def _clients(world: World):
    env = world.read_env()
    kw = {
        "endpoint_url": env["AWS_ENDPOINT_URL"],
        "region_name": env["AWS_DEFAULT_REGION"],
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
    }
    return boto3.client("ec2", **kw), boto3.client("iam", **kw)


def _timed(calls: int, call: Callable[[int], object]) -> list[float]:
    call(-1)  # warm up: the first call builds botocore's models
    times = []
    for i in range(calls):
        started = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - started)
    return times


def _p(times: list[float], q: int) -> float:
    return statistics.quantiles(times, n=100)[q - 1] * 1000


def measure(mode: str, calls: int) -> dict[str, list[float]]:
    with World.scratch(only=("aws",), env={"LAB_AWS_STATE": mode}) as world:
        ec2, iam = _clients(world)
        sg = ec2.create_security_group(GroupName="bench", Description="bench")["GroupId"]
        iam.create_user(UserName="bench-user")
        key = iam.create_access_key(UserName="bench-user")["AccessKey"]["AccessKeyId"]

        def tag(i: int) -> None:
            ec2.create_tags(Resources=[sg], Tags=[{"Key": "n", "Value": str(i)}])

        figures = {
            "write (CreateTags)": _timed(calls, tag),
            "read (DescribeSecurityGroups)": _timed(
                calls, lambda i: ec2.describe_security_groups(GroupIds=[sg])
            ),
            "IAM write (UpdateAccessKey)": _timed(
                calls // 4,
                lambda i: iam.update_access_key(
                    UserName="bench-user", AccessKeyId=key, Status="Inactive" if i % 2 else "Active"
                ),
            ),
        }
        if mode == "disk":
            world.down()
            started = time.perf_counter()
            world.up()
            figures["restart"] = [time.perf_counter() - started]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    started = time.perf_counter()
    with World.scratch(only=("aws",)) as _fresh:
        first_up = time.perf_counter() - started
    memory = measure("memory", args.calls)
    disk = measure("disk", args.calls)
    print(f"{'call':32} {'memory p50/p95 ms':>20} {'disk p50/p95 ms':>18} {'ratio p50':>10}")
    for name, base in memory.items():
        kept = disk[name]
        print(
            f"{name:32} {_p(base, 50):9.1f} / {_p(base, 95):6.1f} "
            f"{_p(kept, 50):9.1f} / {_p(kept, 95):6.1f} {_p(kept, 50) / _p(base, 50):9.2f}x"
        )
    restart = disk["restart"][0]
    print(f"first start (build) {first_up:.2f} s; restart of the kept account {restart:.2f} s "
          f"({restart / first_up:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
