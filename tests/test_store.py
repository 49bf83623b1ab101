"""The results folder: a run is whole or absent, damage is moved aside and named, writers
never tear a file, claims keep two processes from training one run."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from imbloss.runs import Predictions, RunResult, atomic_write
from imbloss.store import DamagedRunWarning, RunStore, StoreError, check_run_id


def _run(run_id: str, seed: int = 0) -> tuple[RunResult, Predictions]:
    """A small record and its predictions (no training: the store does not look inside)."""
    rng = np.random.default_rng(seed)
    logits = {m: {s: rng.normal(size=(5, 3)) for s in ("val", "test")} for m in ("macro_f1",)}
    predictions = Predictions(
        logits=logits,
        labels={"val": rng.integers(0, 3, 5), "test": rng.integers(0, 3, 5)},
        class_counts=np.array([10, 5, 2]),
    )
    result = RunResult(
        run_id=run_id,
        config={"seed": seed},
        selections={},
        history=[],
        head_classes=[],
        class_counts=[10, 5, 2],
        timings={},
        versions={},
        device="cpu",
    )
    return result, predictions


@pytest.fixture
def store(tmp_path) -> RunStore:
    store = RunStore(tmp_path / "results")
    for seed, run_id in enumerate(("a-s0", "b-s1")):
        store.save(*_run(run_id, seed))
    return store


def test_a_saved_run_reads_back_whole(store) -> None:
    result, predictions = _run("a-s0", 0)
    assert store.has("a-s0") and store.run_ids() == ["a-s0", "b-s1"]
    assert store.result("a-s0") == result
    np.testing.assert_array_equal(
        store.predictions("a-s0").logits["macro_f1"]["test"],
        predictions.logits["macro_f1"]["test"].astype(np.float16),
    )
    assert [r.run_id for r in store.results()] == ["a-s0", "b-s1"]
    assert [r.run_id for r in store.results(["b-s1", "absent"])] == ["b-s1"]
    with pytest.raises(StoreError, match="run 'absent' is not in"):
        store.result("absent")


def _damage(store: RunStore, how: str) -> str:
    """Damage run a-s0 as a careless user or a crash would; returns the file damaged."""
    record, arrays = store.root / "a-s0.json", store.root / "a-s0.npz"
    if how == "npz truncated":
        arrays.write_bytes(arrays.read_bytes()[:100])
    elif how == "npz empty":
        arrays.write_bytes(b"")
    elif how == "npz byte flipped":
        data = bytearray(arrays.read_bytes())
        data[len(data) // 2] ^= 0xFF
        arrays.write_bytes(bytes(data))
    elif how == "npz random bytes":
        arrays.write_bytes(np.random.default_rng(0).bytes(500))
    elif how == "npz of another run":
        arrays.write_bytes((store.root / "b-s1.npz").read_bytes())
    elif how == "npz missing":
        arrays.unlink()
    elif how == "json truncated":
        record.write_text(record.read_text()[:40])
    elif how == "json empty":
        record.write_text("")
    elif how == "json {}":
        record.write_text("{}")
    elif how == "json of another run":
        record.write_text((store.root / "b-s1.json").read_text())
    return arrays.name if how.startswith("npz") and how != "npz missing" else record.name


DAMAGES = [
    "npz truncated",
    "npz empty",
    "npz byte flipped",
    "npz random bytes",
    "npz of another run",
    "npz missing",
    "json truncated",
    "json empty",
    "json {}",
    "json of another run",
]


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_run_is_moved_aside_with_one_warning_and_counts_as_absent(store, how) -> None:
    damaged = _damage(store, how)
    with pytest.warns(DamagedRunWarning) as caught:
        assert not store.has("a-s0")
    assert len(caught) == 1 and len(str(caught[0].message).splitlines()) == 1
    assert str(store.root / "a-s0.json") in str(caught[0].message)
    assert "trained again" in str(caught[0].message)
    assert damaged in {p.name for p in (store.root / "damaged").iterdir()}  # kept, not deleted
    assert not (store.root / "a-s0.json").exists() and not (store.root / "a-s0.npz").exists()
    assert store.run_ids() == ["b-s1"]  # the other run is untouched, no second warning
    store.save(*_run("a-s0"))  # a rerun heals it
    assert store.has("a-s0")


def test_two_damaged_copies_are_both_kept(store) -> None:
    for _ in range(2):
        _damage(store, "json empty")
        with pytest.warns(DamagedRunWarning):
            store.has("a-s0")
        store.save(*_run("a-s0"))
    assert sorted(p.name for p in (store.root / "damaged").iterdir()) == [
        "a-s0.json",
        "a-s0.json.1",
        "a-s0.npz",
        "a-s0.npz.1",
    ]


def test_a_run_held_by_a_claim_is_not_moved_aside(store) -> None:
    _damage(store, "json empty")
    claim = store.claim("a-s0")  # as if another process were rewriting it now
    assert not store.has("a-s0")
    assert (store.root / "a-s0.json").exists() and not (store.root / "damaged").exists()
    claim.release()


def test_claims_exclude_each_other_until_released(store) -> None:
    first = store.claim("a-s0")
    assert first is not None and store.claim("a-s0") is None
    assert store.claim("b-s1") is not None  # per run
    first.release()
    assert store.claim("a-s0") is not None


def test_failures_are_kept_until_the_run_succeeds(store) -> None:
    report = {"run_id": "c-s2", "config": {}, "error": "E: x", "traceback": "", "time": ""}
    store.save_failure(report)
    assert store.failures() == [report]
    store.save(*_run("c-s2"))
    assert store.failures() == []


@pytest.mark.parametrize("bad", ["../outside", "a/b", "", ".hidden", "a..b", 5])
def test_run_ids_are_checked_before_they_become_file_names(store, bad) -> None:
    with pytest.raises(ValueError, match="is not valid; expected letters, digits"):
        check_run_id(bad)
    with pytest.raises(ValueError, match=f"run_id={bad!r} is not valid"):
        store.save(*_run(bad))
    assert not (store.root.parent / "outside.json").exists()


def test_concurrent_writers_never_collide_or_tear_a_file(tmp_path) -> None:
    path = tmp_path / "f.bin"
    payloads = [bytes([i]) * 200_000 for i in range(4)]
    errors, torn = [], []

    def write(payload: bytes) -> None:
        try:
            for _ in range(30):
                atomic_write(path, payload)
        except OSError as error:
            errors.append(error)

    def read() -> None:
        for _ in range(200):
            if path.exists():
                data = path.read_bytes()
                if data not in payloads:
                    torn.append(len(data))

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    threads.append(threading.Thread(target=read))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and torn == []
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]  # no temporary file left
