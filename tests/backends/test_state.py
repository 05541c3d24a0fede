"""The rig lock: one changer per rig, and no lock file left once the rig is gone."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from testbed.backends import state
from testbed.errors import RigConflict


@pytest.fixture(autouse=True)
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TESTBED_RUN_DIR", str(tmp_path / "run"))
    return tmp_path / "run"


def lock_file(rig: str) -> Path:
    return state.rigs_dir() / f"{rig}.lock"


def lock_and_release(rig: str) -> None:
    with state.rig_lock(rig):
        pass


def test_a_second_changer_fails_fast_naming_the_rig() -> None:
    with state.rig_lock("r1"), pytest.raises(RigConflict, match="rig 'r1' is being changed by another testbed"):
        lock_and_release("r1")


def test_the_lock_file_stays_while_the_rig_exists_and_goes_with_it() -> None:
    state.rig_dir("r1").mkdir(parents=True)
    lock_and_release("r1")
    assert lock_file("r1").exists()
    with state.rig_lock("r1"):
        state.forget_rig("r1")
    assert not lock_file("r1").exists()
    assert list(state.rigs_dir().iterdir()) == []


def test_a_waiter_on_a_removed_lock_file_locks_the_one_at_the_path() -> None:
    holding, release, got, release_b = (threading.Event() for _ in range(4))

    def first() -> None:
        with state.rig_lock("r1"):
            holding.set()
            release.wait(10)

    def second() -> None:
        with state.rig_lock("r1", wait=True):
            got.set()
            release_b.wait(10)

    a = threading.Thread(target=first)
    a.start()
    assert holding.wait(10)
    b = threading.Thread(target=second)
    b.start()
    time.sleep(0.2)  # b now waits on the file a holds
    assert not got.is_set()
    release.set()  # a lets go and, the rig having no directory, removes the file b waits on
    a.join(10)
    assert got.wait(10)
    try:  # b must hold the file now at the path: a newcomer is refused, not let in beside it
        with pytest.raises(RigConflict), state.rig_lock("r1"):
            pass
    finally:
        release_b.set()
        b.join(10)
    assert not lock_file("r1").exists()


def test_stale_lock_files_go_and_live_rigs_keep_theirs() -> None:
    state.rigs_dir().mkdir(parents=True)
    for rig in ("gone1", "gone2", "live"):
        lock_file(rig).touch()
    state.rig_dir("live").mkdir()
    state.drop_stale_locks("gone1")
    assert not lock_file("gone1").exists() and lock_file("gone2").exists()
    state.drop_stale_locks()
    assert sorted(p.name for p in state.rigs_dir().iterdir()) == ["live", "live.lock"]
