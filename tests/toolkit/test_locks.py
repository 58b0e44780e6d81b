"""helpers.runtime.locks.KeyLocks: one lock per key, re-entrant, dropped when free."""

from __future__ import annotations

import threading

from helpers.runtime.locks import KeyLocks, process_locks


def test_one_key_is_serialised():
    locks, inside, most, guard = KeyLocks(), [0], [0], threading.Lock()
    release = threading.Event()

    def work():
        with locks.hold("k"):
            with guard:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            release.wait(0.05)
            with guard:
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1
    assert len(locks) == 0  # nothing left behind


def test_other_keys_do_not_wait():
    locks = KeyLocks()
    entered = threading.Event()
    with locks.hold("a"):

        def take_b():
            with locks.hold("b"):
                entered.set()

        other = threading.Thread(target=take_b)
        other.start()
        assert entered.wait(10)  # "b" is free while "a" is held
        other.join()
    assert len(locks) == 0


def test_the_same_thread_may_take_a_key_again():
    locks = KeyLocks()
    with locks.hold("k"), locks.hold("k"):
        assert len(locks) == 1
    assert len(locks) == 0


def test_a_failing_block_releases_the_key():
    locks = KeyLocks()
    try:
        with locks.hold("k"):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert len(locks) == 0
    done = threading.Event()

    def take():
        with locks.hold("k"):
            done.set()

    threading.Thread(target=take).start()
    assert done.wait(10)


def test_there_is_a_per_process_default():
    assert isinstance(process_locks, KeyLocks)
