"""helpers.runtime.queue: durable, at-least-once, acknowledged after the work."""

from __future__ import annotations

import sqlite3
import time

import pytest

from helpers.runtime.queue import Backoff, Permanent, Queue, Retry, Worker


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


NO_JITTER = Backoff(base=1.0, factor=2.0, cap=8.0, jitter=0.0)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def queue(tmp_path, clock):
    q = Queue(tmp_path / "q.sqlite", "work", visibility=30, max_attempts=3, backoff=NO_JITTER,
              clock=clock)  # fmt: skip
    yield q
    q.close()


def test_a_put_message_survives_a_new_queue_on_the_same_file(tmp_path, clock):
    first = Queue(tmp_path / "q.sqlite", "work", clock=clock)
    first.put({"n": 1})
    first.close()  # the process is gone; the message is not
    again = Queue(tmp_path / "q.sqlite", "work", clock=clock)
    [message] = again.claim()
    assert message.body == {"n": 1}
    again.close()


def test_claimed_messages_are_hidden_until_the_visibility_timeout(queue, clock):
    queue.put("a")
    [first] = queue.claim()
    assert queue.claim() == []
    assert queue.counts()["in_flight"] == 1
    clock.now += 31  # the worker died without acking
    [again] = queue.claim()
    assert again.id == first.id and again.attempts == 2
    assert queue.ack(first) is False  # the old claim no longer holds the message
    assert queue.ack(again) is True
    assert queue.counts() == {"ready": 0, "in_flight": 0, "dead": 0, "done": 1}


def test_failures_back_off_then_become_dead_letters_that_can_be_replayed(queue, clock):
    mid = queue.put({"job": 1})
    [m] = queue.claim()
    assert queue.fail(m, "boom") == "ready"
    assert queue.claim() == []  # waiting 1 s
    clock.now += 1
    [m] = queue.claim()
    assert queue.fail(m, "boom") == "ready"
    clock.now += 2
    [m] = queue.claim()
    assert queue.fail(m, "boom again") == "dead"
    [dead] = queue.dead_letters()
    assert dead.id == mid and "boom again" in dead.note and "3 attempts" in dead.note
    assert queue.replay(mid) == 1
    [m] = queue.claim()
    assert m.attempts == 1 and m.note.startswith("replayed")


def test_reclaim_gives_a_dead_consumers_claims_back_at_once(queue):
    queue.put("a")
    queue.put("b")
    queue.claim(2)  # the consumer dies holding both
    assert queue.claim() == []
    assert queue.reclaim() == 2
    assert sorted(m.body for m in queue.claim(2)) == ["a", "b"]


def test_retry_after_overrides_the_backoff(queue, clock):
    queue.put("x")
    [m] = queue.claim()
    queue.fail(m, "429", retry_after=5)
    clock.now += 4
    assert queue.claim() == []
    clock.now += 1
    assert queue.claim()


def test_release_gives_a_message_back_without_counting_the_attempt(queue):
    queue.put("x")
    [m] = queue.claim()
    queue.release(m)
    [again] = queue.claim()
    assert again.attempts == 1


def test_put_joins_the_owners_transaction(tmp_path):
    db = sqlite3.connect(str(tmp_path / "owner.sqlite"), isolation_level=None,
                         check_same_thread=False)  # fmt: skip
    db.execute("CREATE TABLE things (n INTEGER)")
    q = Queue(db, "outbox")
    db.execute("BEGIN")
    db.execute("INSERT INTO things VALUES (1)")
    q.put({"thing": 1})
    db.execute("ROLLBACK")  # the change failed: its message must not exist either
    assert q.counts()["ready"] == 0
    db.execute("BEGIN")
    db.execute("INSERT INTO things VALUES (2)")
    q.put({"thing": 2})
    db.execute("COMMIT")
    assert [m.body for m in q.claim()] == [{"thing": 2}]


def test_queues_on_one_file_are_separate(tmp_path):
    a = Queue(tmp_path / "q.sqlite", "a")
    b = Queue(tmp_path / "q.sqlite", "b")
    a.put(1)
    assert b.claim() == [] and a.claim()


def test_prune_keeps_the_newest_done_messages(queue):
    for n in range(5):
        queue.put(n)
    for m in queue.claim(5):
        queue.ack(m)
    assert queue.prune(keep=2) == 3
    assert [m.body for m in queue.messages("done")] == [4, 3]


def test_unknown_state_is_refused(queue):
    with pytest.raises(ValueError, match="unknown state"):
        queue.messages("lost")


def test_worker_acks_retries_and_buries(tmp_path):
    q = Queue(tmp_path / "q.sqlite", "w", max_attempts=5, backoff=Backoff(0.01, 1, 0.01, 0))
    seen: dict[str, int] = {}

    def handle(message):
        kind = message.body
        seen[kind] = seen.get(kind, 0) + 1
        if kind == "flaky" and seen[kind] < 3:
            raise Retry("not yet", after=0.01)
        if kind == "poison":
            raise Permanent("never")
        if kind == "crash" and seen[kind] < 2:
            raise RuntimeError("bug")
        return f"handled {kind}"

    for kind in ("ok", "flaky", "poison", "crash"):
        q.put(kind)
    worker = Worker(q, handle, idle=0.01)
    worker.start()
    deadline = time.monotonic() + 10
    while q.counts() != {"ready": 0, "in_flight": 0, "dead": 1, "done": 3}:
        assert time.monotonic() < deadline, q.counts()
        time.sleep(0.01)
    worker.stop()
    assert seen == {"ok": 1, "flaky": 3, "poison": 1, "crash": 2}
    assert [m.body for m in q.dead_letters()] == ["poison"]
    notes = {m.body: m.note for m in q.messages("done")}
    assert notes["flaky"] == "handled flaky"
