"""The scheduler with a fake clock: when a job is due, one run at a time per job, and one job's
failure is nobody else's."""

from __future__ import annotations

import threading

import pytest

from helpers import jobs
from tests.jobs.jobslab import FakeClock, jobs_file

MINUTE = 60.0


@pytest.fixture
def found(tmp_path) -> dict[str, jobs.Job]:
    return jobs.load(
        jobs_file(
            tmp_path,
            {
                "every-5": {"schedule": "*/5 * * * *"},
                "hourly": {"schedule": "0 * * * *"},
                "by-hand": {},
            },
        )
    )


class Calls:
    """A fake ``run``: records each call; ``hold`` keeps runs going until released."""

    def __init__(self, fail: tuple[str, ...] = ()):
        self.calls: list[tuple[str, str]] = []
        self.fail = fail
        self.hold = threading.Event()
        self.hold.set()
        self.inside = threading.Semaphore(0)

    def __call__(self, job, trigger):
        self.calls.append((job.name, trigger))
        self.inside.release()
        self.hold.wait(10)
        if job.name in self.fail:
            raise RuntimeError(f"{job.name} broke")

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def test_nothing_is_due_before_its_time_and_each_job_is_due_at_its_time(found):
    clock = FakeClock()  # 00:00:00
    calls = Calls()
    scheduler = jobs.Scheduler(found, calls, clock=clock)
    assert scheduler.next_runs() == {
        "every-5": clock.now + 5 * MINUTE,
        "hourly": clock.now + 60 * MINUTE,
        "by-hand": None,
    }
    clock.now += 5 * MINUTE - 1
    assert scheduler.tick() == [] and scheduler.due() == []
    clock.now += 1  # 00:05:00
    assert [j.name for j in scheduler.due()] == ["every-5"]
    assert scheduler.tick() == ["every-5"]
    scheduler.join(5)
    assert calls.calls == [("every-5", "schedule")]
    assert scheduler.next_runs()["every-5"] == clock.now + 5 * MINUTE
    assert scheduler.tick() == []  # the same moment never runs twice


def test_a_late_tick_runs_a_job_once_not_once_per_missed_turn(found):
    clock = FakeClock()
    calls = Calls()
    scheduler = jobs.Scheduler(found, calls, clock=clock)
    clock.now += 61 * MINUTE  # the process slept through twelve turns of every-5
    assert sorted(scheduler.tick()) == ["every-5", "hourly"]
    scheduler.join(5)
    assert sorted(calls.names()) == ["every-5", "hourly"]
    assert scheduler.next_runs()["every-5"] == FakeClock().now + 65 * MINUTE


def test_a_job_still_running_skips_its_next_turn(found):
    clock = FakeClock()
    calls = Calls()
    calls.hold.clear()  # runs take as long as the test says
    scheduler = jobs.Scheduler(found, calls, clock=clock)
    clock.now += 5 * MINUTE
    assert scheduler.tick() == ["every-5"]
    assert calls.inside.acquire(timeout=5)
    clock.now += 5 * MINUTE  # due again while the first run goes on
    assert scheduler.tick() == []
    assert scheduler.running() == ["every-5"]
    assert scheduler.last_turn["every-5"].startswith("skipped: the previous run")
    calls.hold.set()
    scheduler.join(5)
    clock.now += 5 * MINUTE
    assert scheduler.tick() == ["every-5"]
    scheduler.join(5)
    assert calls.names() == ["every-5", "every-5"]


def test_a_job_that_fails_does_not_stop_the_others_or_its_own_next_turn(found):
    clock = FakeClock()
    calls = Calls(fail=("every-5",))
    scheduler = jobs.Scheduler(found, calls, clock=clock)
    clock.now += 60 * MINUTE
    assert sorted(scheduler.tick()) == ["every-5", "hourly"]
    scheduler.join(5)
    assert sorted(calls.names()) == ["every-5", "hourly"]
    assert scheduler.last_turn["every-5"] == "error: RuntimeError: every-5 broke"
    assert scheduler.last_turn["hourly"] == "started"
    clock.now += 5 * MINUTE
    assert scheduler.tick() == ["every-5"]  # it is tried again on its next turn
    scheduler.join(5)


def test_a_job_busy_in_another_process_skips_the_turn_with_the_reason(found):
    clock = FakeClock()

    def busy(job, trigger):
        raise jobs.JobBusy(f"job {job.name} is running already (one run at a time)")

    scheduler = jobs.Scheduler(found, busy, clock=clock)
    clock.now += 5 * MINUTE
    scheduler.tick()
    scheduler.join(5)
    turn = scheduler.last_turn["every-5"]
    assert turn == "skipped: job every-5 is running already (one run at a time)"


def test_serve_ticks_until_stopped(found):
    clock = FakeClock()
    calls = Calls()
    scheduler = jobs.Scheduler(found, calls, clock=clock)
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.serve, args=(stop, 0.01))
    thread.start()
    clock.now += 5 * MINUTE
    assert calls.inside.acquire(timeout=5)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert calls.names() == ["every-5"]
