"""Request ids: well-formed, unique, and different in a forked child than in its parent."""

from __future__ import annotations

import os
import random

from modelport.observability.context import new_request_id


def test_ids_are_32_hex_and_unique() -> None:
    ids = {new_request_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_ids_are_uuid7_and_time_ordered() -> None:
    import time
    import uuid

    first = new_request_id()
    time.sleep(0.002)
    second = new_request_id()
    assert uuid.UUID(first).version == 7 and uuid.UUID(first).variant == uuid.RFC_4122
    assert first < second  # a later millisecond sorts after
    assert abs(int(first[:12], 16) - time.time() * 1000) < 60_000  # milliseconds since the epoch


def test_global_seed_does_not_repeat_ids() -> None:
    random.seed(42)
    first = new_request_id()
    random.seed(42)
    assert new_request_id() != first


def test_forked_child_draws_other_ids() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: send one id and leave without running pytest's teardown
        os.write(write, new_request_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert len(child) == 32
    assert child != new_request_id()
