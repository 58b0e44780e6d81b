"""Benchmark: posting to the Slack stand-in costs the same per message in a busy channel.

A private Slack service gets ``--messages`` chat.postMessage calls (with blocks, as the automation
sends them) through slack_sdk; the figure is the ratio of the last batch's time to the first's,
and the store's size at the end. The store writes only the rows a post touches, so the ratio
stays near 1; a store that rewrote itself per post (the old JSON file) grew with the channel.

    .venv/bin/python bench/slack_bench.py [--messages 250] [--batch 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from slack_sdk import WebClient

from labstack.process import spawn
from labstack.slack.store import STATE_FILE

TOKEN = "xoxb-bench"
BLOCKS = [
    {"type": "header", "text": {"type": "plain_text", "text": "Security group opened"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Severity* high " + "x" * 2000}},
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=250)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args(argv)
    state = Path(tempfile.mkdtemp(prefix="lab-bench-slack-")) / "slack"
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": "bench"}
    with spawn("slack", state, env, timeout=30) as proc:
        client = WebClient(token=TOKEN, base_url=proc.url + "/api/")
        times = []
        for n in range(args.messages):
            started = time.perf_counter()
            client.chat_postMessage(channel="#sec-alerts", text=f"alert {n}", blocks=BLOCKS)
            times.append(time.perf_counter() - started)
    first, last = sum(times[: args.batch]), sum(times[-args.batch :])
    size = sum(p.stat().st_size for p in state.glob(STATE_FILE + "*"))
    batch = args.batch
    print(f"{args.messages} posts: first {batch} {first:.2f} s, last {batch} {last:.2f} s")
    print(f"ratio last/first {last / first:.2f} (aim: under 1.5); store {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
