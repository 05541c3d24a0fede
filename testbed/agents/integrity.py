"""Chain-integrity checks on a running deployment, from the controller, each giving a :class:`Verdict`.

Why from the controller: the guarantee under test is what a relying party outside the edge
box can establish (ledger.md §2.3, §3.3), so every check reads the ledger over HTTP from a node
of the rig (the controller's namespace has no route into it) and verifies with the shared wire
code (devices.wire), never with a second implementation and never with the node's word alone.

- :func:`acked_on_chain` (a): every record a device acknowledged is on the chain exactly once,
  and nothing else is (no unknown device, no sequence number the device never made);
- :func:`inclusion_sample` (b): inclusion proofs of a seeded random sample of entries against a
  checkpoint whose signature verifies with the log's key;
- :class:`CheckpointSampler` + :func:`consistency_over_time` (c): every checkpoint seen during
  the run extends the previous one (RFC 9162 consistency proofs);
- :func:`cosigned_quorum` (d): the cosigned checkpoint carries at least ``quorum`` valid
  cosignatures from the configured witnesses;
- :func:`tamper_evident` (e): a copy of the data directory with one byte flipped in a stored
  record fails ``python -m devices.edge.ledger verify`` naming that leaf, while an untouched copy
  passes.

Each check has a pure part (``check_*`` / ``verify_*``) that takes what was fetched, so tests
can feed it altered evidence and see it refused. A verdict's ``detail`` names the first bad item.
"""

from __future__ import annotations

import base64
import json
import random
import re
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from types import TracebackType

from devices.wire import Ed25519Verifier, WireError, leaf_hash, open_checkpoint, verify_consistency, verify_inclusion
from devices.wire.cosignature import CosignatureVerifier, require_cosignatures

from ..backends.emulated import EmulatedRig
from . import process
from .deployment import Deployment, agents_dir
from .errors import AgentError
from .ledger import Ledger, LedgerEntry
from .process import PYTHON, REPO, target_env
from .stats import AgentStats, read_stats

# Runs inside a node: GET each path, print [[status, base64 body], ...] (HTTP errors are answers too).
_GET = """
import base64, json, sys, urllib.error, urllib.request
answers = []
for path in json.loads(sys.argv[2]):
    try:
        with urllib.request.urlopen(sys.argv[1] + path, timeout=10) as response:
            answers.append([response.status, base64.b64encode(response.read()).decode()])
    except urllib.error.HTTPError as error:
        answers.append([error.code, base64.b64encode(error.read()).decode()])
print(json.dumps(answers))
"""
_PER_CALL = 200  # paths per snippet run: one process start amortised, argv kept short


@dataclass(frozen=True)
class Verdict:
    """One check's outcome: whether it holds, how much it looked at, and the first bad item if not."""

    check: str
    holds: bool
    checked: Mapping[str, int]
    detail: str = ""

    @property
    def key(self) -> str:
        """The check's name as an identifier (measurement names): acked_records_on_chain_exactly_once."""
        return re.sub(r"[^A-Za-z0-9]+", "_", self.check).strip("_")

    def __str__(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.checked.items())
        tail = f": {self.detail}" if self.detail else ""
        return f"{self.check}: {'holds' if self.holds else 'FAILS'} ({counts}){tail}"


@dataclass(frozen=True)
class LogUnderTest:
    """A running ledger as a relying party knows it: where to read it, its key, its witness policy.

    ``home`` holds ``data/`` (the ledger's data directory) and ``devices.json`` (its enrolment
    file), as testbed.agents lays them out; only :func:`tamper_evident` reads them.
    """

    ledger: Ledger
    vkey: Ed25519Verifier
    home: Path
    witnesses: tuple[CosignatureVerifier, ...] = ()
    quorum: int = 0

    @property
    def rig(self) -> EmulatedRig:
        return self.ledger.rig

    @property
    def node(self) -> str:
        return self.ledger.node


def log_of(deployment: Deployment) -> LogUnderTest:
    """The deployment's ledger as a :class:`LogUnderTest` (no witnesses: a Deployment runs none)."""
    if deployment.ledger is None:
        raise AgentError("expected a started deployment, got one without a ledger")
    home = agents_dir(deployment.rig.name) / deployment.edge
    return LogUnderTest(deployment.ledger, Ed25519Verifier.from_vkey((home / "data" / "node.vkey").read_text().strip()),
                        home)


def stats_of(deployment: Deployment) -> dict[str, AgentStats]:
    """Each device's stats (device id -> stats), as (a) wants them."""
    return {s.spec.node: read_stats(s.stats) for s in deployment.sensors.values()}


def http_get(log: LogUnderTest, paths: Sequence[str], via: str | None = None) -> list[tuple[int, bytes]]:
    """GET each path of the ledger from inside node ``via`` (default: the ledger's node), in order."""
    answers: list[tuple[int, bytes]] = []
    for start in range(0, len(paths), _PER_CALL):
        chunk = list(paths[start:start + _PER_CALL])
        out = process.run(log.rig, via or log.node, [PYTHON, "-c", _GET, log.ledger.url, json.dumps(chunk)],
                          f"GET {chunk[0]} and {len(chunk) - 1} more")
        answers += [(status, base64.b64decode(body)) for status, body in json.loads(out)]
    return answers


def _get_one(log: LogUnderTest, path: str) -> bytes:
    [(status, body)] = http_get(log, [path])
    if status != 200:
        raise AgentError(f"{log.node}: GET {path}: expected 200, got {status}: {body[:200]!r}")
    return body


# --- (a) acknowledged records are on the chain exactly once ---------------------------------------

def check_acked(stats: Mapping[str, AgentStats], entries: Sequence[LedgerEntry]) -> Verdict:
    """Every ack (device, seq, index) is on the chain once at its index; every entry is a made record.

    When every agent stopped cleanly with nothing pending, each made record was acknowledged,
    so the chain must hold exactly the acknowledged records: an entry nobody acknowledged fails.
    """
    name = "acked records on chain exactly once"
    where: dict[tuple[str, int], list[int]] = {}
    for entry in entries:
        where.setdefault((entry.device_id, entry.seq), []).append(entry.index)
    settled = all(s.stopped and s.pending == 0 for s in stats.values())
    acked: set[tuple[str, int]] = set()
    checked = {"acks": 0, "entries": len(entries), "devices": len(stats)}
    for device, agent in stats.items():
        for ack in agent.acks:
            checked["acks"] += 1
            key = (device, ack.seq)
            acked.add(key)
            found = where.get(key, [])
            if len(found) != 1:
                return Verdict(name, False, checked, f"device {device} seq {ack.seq} (acked at index {ack.index}): "
                                                     f"expected on chain once, found at {found or 'no index'}")
            if ack.index is not None and found[0] != ack.index:
                return Verdict(name, False, checked, f"device {device} seq {ack.seq}: acked at index {ack.index}, "
                                                     f"on chain at index {found[0]}")
    for entry in entries:
        device_stats = stats.get(entry.device_id)
        if device_stats is None:
            return Verdict(name, False, checked, f"entry {entry.index}: device {entry.device_id!r} is not one of "
                                                 f"the deployment's devices {sorted(stats)}")
        if not 1 <= entry.seq <= device_stats.made:
            return Verdict(name, False, checked, f"entry {entry.index}: device {entry.device_id} seq {entry.seq} was "
                                                 f"never made (the device made 1..{device_stats.made})")
        if settled and (entry.device_id, entry.seq) not in acked:
            return Verdict(name, False, checked, f"entry {entry.index}: device {entry.device_id} seq {entry.seq} "
                                                 "is on chain but the device never acknowledged it")
    return Verdict(name, True, checked)


def acked_on_chain(log: LogUnderTest, stats: Mapping[str, AgentStats]) -> Verdict:
    """(a) on the running ledger: its entries over HTTP against the agents' acks."""
    return check_acked(stats, log.ledger.entries())


# --- (b) inclusion proofs for a sample --------------------------------------------------------------

@dataclass(frozen=True)
class InclusionSample:
    """One fetched entry and its inclusion proof in the tree of ``tree_size``."""

    index: int
    tree_size: int
    entry: bytes
    proof: tuple[bytes, ...]


def verify_inclusions(note: bytes, vkey: Ed25519Verifier, samples: Iterable[InclusionSample]) -> Verdict:
    """The checkpoint's log signature verifies, and each sampled entry's proof leads to its root."""
    name = "inclusion proofs against a signed checkpoint"
    checked = {"proofs": 0, "tree_size": 0}
    try:
        checkpoint, _, _ = open_checkpoint(note, vkey)
    except WireError as exc:
        return Verdict(name, False, checked, f"checkpoint signature (key {vkey.name}): {exc}")
    checked["tree_size"] = checkpoint.tree_size
    for sample in samples:
        if sample.tree_size != checkpoint.tree_size:
            return Verdict(name, False, checked, f"leaf {sample.index}: proof for tree size {sample.tree_size}, "
                                                 f"the checkpoint's is {checkpoint.tree_size}")
        try:
            verify_inclusion(leaf_hash(sample.entry), sample.index, sample.tree_size, sample.proof,
                             checkpoint.root_hash)
        except WireError as exc:
            return Verdict(name, False, checked, f"leaf {sample.index}: {exc}")
        checked["proofs"] += 1
    return Verdict(name, True, checked)


def fetch_inclusions(log: LogUnderTest, sample: int = 32, seed: int = 0) -> tuple[bytes, list[InclusionSample]]:
    """The current signed checkpoint and, for ``sample`` seeded random leaves, entry and proof."""
    note = _get_one(log, "/v1/checkpoint")
    size = int(note.split(b"\n")[1])  # only to choose leaves: verify_inclusions checks the note itself
    indexes = sorted(random.Random(seed).sample(range(size), min(sample, size)))
    paths = [p for i in indexes for p in (f"/v1/entries?start={i}&end={i + 1}",
                                         f"/v1/proof/inclusion?index={i}&tree_size={size}")]
    answers = http_get(log, paths)
    samples = []
    for n, index in enumerate(indexes):
        (s1, entries), (s2, proof) = answers[2 * n], answers[2 * n + 1]
        if (s1, s2) != (200, 200):
            raise AgentError(f"{log.node}: leaf {index}: expected entry and proof, got HTTP {s1} and {s2}")
        samples.append(InclusionSample(index, size, base64.b64decode(json.loads(entries)["entries"][0]),
                                       tuple(base64.b64decode(h) for h in json.loads(proof)["proof"])))
    return note, samples


def inclusion_sample(log: LogUnderTest, sample: int = 32, seed: int = 0) -> Verdict:
    """(b) on the running ledger."""
    note, samples = fetch_inclusions(log, sample, seed)
    return verify_inclusions(note, log.vkey, samples)


# --- (c) consistency between the checkpoints seen during the run ----------------------------------

class CheckpointSampler:
    """Collects the ledger's signed checkpoint every ``period`` seconds on a thread, while sensors stream.

        with CheckpointSampler(log) as sampler:
            time.sleep(5)
        consistency_over_time(log, sampler.notes)
    """

    def __init__(self, log: LogUnderTest, period: float = 0.5) -> None:
        self.log, self.period = log, period
        self.notes: list[bytes] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"checkpoints-{log.node}", daemon=True)

    def start(self) -> CheckpointSampler:
        self._thread.start()
        return self

    def stop(self) -> list[bytes]:
        """Stop, take one last checkpoint, and return them all in the order seen."""
        self._stop.set()
        self._thread.join()
        self._sample()
        return self.notes

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.period)

    def _sample(self) -> None:
        try:
            note = _get_one(self.log, "/v1/checkpoint")
        except AgentError as exc:
            self.errors.append(str(exc))
            return
        if not self.notes or self.notes[-1] != note:
            self.notes.append(note)

    def __enter__(self) -> CheckpointSampler:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def consistency_pairs(notes: Sequence[bytes]) -> list[tuple[int, int]]:
    """The (first, second) sizes whose proofs the chain of ``notes`` needs (size 0 needs none)."""
    sizes = [int(note.split(b"\n")[1]) for note in notes]
    return [(a, b) for a, b in pairwise(sizes) if 0 < a < b]


def verify_consistency_chain(notes: Sequence[bytes], vkey: Ed25519Verifier,
                             proofs: Mapping[tuple[int, int], Sequence[bytes]]) -> Verdict:
    """Every note is signed by the log, and each extends the one before (never shrinks, never forks)."""
    name = "consistency between consecutive checkpoints"
    checked = {"checkpoints": 0, "pairs": 0}
    previous = None
    for n, note in enumerate(notes):
        try:
            checkpoint, _, _ = open_checkpoint(note, vkey)
        except WireError as exc:
            return Verdict(name, False, checked, f"checkpoint {n} (key {vkey.name}): {exc}")
        checked["checkpoints"] += 1
        if previous is not None:
            a, b = previous.tree_size, checkpoint.tree_size
            if b < a:
                return Verdict(name, False, checked, f"checkpoint {n}: size {b} after size {a}: the log shrank")
            if a > 0:
                try:
                    verify_consistency(a, b, previous.root_hash, checkpoint.root_hash, proofs.get((a, b), ()))
                except WireError as exc:
                    return Verdict(name, False, checked, f"checkpoints {n - 1} -> {n} (sizes {a} -> {b}): {exc}")
                checked["pairs"] += 1
        previous = checkpoint
    return Verdict(name, True, checked)


def fetch_consistency(log: LogUnderTest, notes: Sequence[bytes]) -> dict[tuple[int, int], list[bytes]]:
    """The proofs between consecutive sizes of ``notes``, from the ledger."""
    pairs = consistency_pairs(notes)
    answers = http_get(log, [f"/v1/proof/consistency?first={a}&second={b}" for a, b in pairs])
    proofs = {}
    for (a, b), (status, body) in zip(pairs, answers, strict=True):
        if status != 200:
            raise AgentError(f"{log.node}: consistency proof {a} -> {b}: expected 200, got {status}: {body[:200]!r}")
        proofs[(a, b)] = [base64.b64decode(h) for h in json.loads(body)["proof"]]
    return proofs


def consistency_over_time(log: LogUnderTest, notes: Sequence[bytes]) -> Verdict:
    """(c) over the checkpoints a :class:`CheckpointSampler` collected."""
    return verify_consistency_chain(notes, log.vkey, fetch_consistency(log, notes))


# --- (d) witness cosignatures ----------------------------------------------------------------------

def verify_cosigned(note: bytes, vkey: Ed25519Verifier, witnesses: Sequence[CosignatureVerifier],
                    quorum: int) -> Verdict:
    """The log signed the note and at least ``quorum`` of ``witnesses`` validly cosigned it."""
    name = f"{quorum}-of-{len(witnesses)} witness cosignatures"
    checked = {"cosignatures": 0, "quorum": quorum, "witnesses": len(witnesses), "tree_size": 0}
    try:
        cosigned = require_cosignatures(note, vkey, witnesses, quorum)
    except (WireError, ValueError) as exc:
        return Verdict(name, False, checked, str(exc))
    checked.update(cosignatures=len(cosigned.witnesses), tree_size=cosigned.checkpoint.tree_size)
    return Verdict(name, True, checked)


def cosigned_quorum(log: LogUnderTest) -> Verdict:
    """(d) on the running ledger: ``GET /v1/checkpoint/cosigned`` against the configured witnesses."""
    [(status, body)] = http_get(log, ["/v1/checkpoint/cosigned"])
    if status != 200:
        return Verdict(f"{log.quorum}-of-{len(log.witnesses)} witness cosignatures", False,
                       {"cosignatures": 0, "quorum": log.quorum, "witnesses": len(log.witnesses), "tree_size": 0},
                       f"GET /v1/checkpoint/cosigned: {status} {body.decode(errors='replace').strip()[:200]}")
    return verify_cosigned(body, log.vkey, log.witnesses, log.quorum)


# --- (e) a tampered copy of the store fails verify -------------------------------------------------

def copy_data(data: Path, target: Path) -> int:
    """A consistent copy of a live data directory (SQLite backup API); returns the entry count."""
    target.mkdir(parents=True)
    for name in ("ledger.db", "enrolment.db"):
        if (data / name).is_file():
            source = sqlite3.connect(f"{(data / name).resolve().as_uri()}?mode=ro", uri=True)
            copy = sqlite3.connect(target / name)
            try:
                source.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            finally:
                copy.close()
                source.close()
    shutil.copy2(data / "node.vkey", target / "node.vkey")
    if (data / "payloads").is_dir():  # finished files only: payloads/<2 hex>/<64 hex>
        for path in (data / "payloads").glob("??/*"):
            (target / "payloads" / path.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / "payloads" / path.parent.name / path.name)
    conn = sqlite3.connect(target / "ledger.db")
    try:
        return int(conn.execute("SELECT count(*) FROM entries").fetchone()[0])
    finally:
        conn.close()


def flip_leaf_byte(db: Path, index: int) -> None:
    """Flip one byte in the middle of stored entry ``index``, in the file's bytes (as a disk fault would)."""
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT data FROM entries WHERE idx = ?", (index,)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise AgentError(f"{db}: expected an entry at index {index}, found none")
    data, raw = bytes(row[0]), bytearray(db.read_bytes())
    at = raw.find(data)
    if at < 0 or raw.find(data, at + 1) >= 0:
        raise AgentError(f"{db}: expected entry {index}'s bytes once in the file (no overflow page), "
                         f"found them {raw.count(data)} times")
    raw[at + len(data) // 2] ^= 0x01
    db.write_bytes(bytes(raw))


def run_verify(log: LogUnderTest, data: Path) -> tuple[int, str]:
    """``python -m devices.edge.ledger verify DATA`` inside the ledger's node: exit code and output."""
    done = log.rig.run(log.node, [PYTHON, "-m", "devices.edge.ledger", "verify", str(data), "--devices",
                                  str(log.home / "devices.json")], timeout=120, cwd=REPO, env=target_env())
    return done.returncode, f"{done.stdout}{done.stderr}".strip()


def tamper_evident(log: LogUnderTest, seed: int = 0) -> Verdict:
    """(e): an untouched copy verifies, a copy with one flipped byte in a seeded leaf fails naming it.

    The copies live in a temporary directory under the ledger's home, removed afterwards.
    """
    name = "tampered store copy fails verify"
    with tempfile.TemporaryDirectory(prefix="tamper-", dir=log.home) as work:
        intact, tampered = Path(work) / "intact", Path(work) / "tampered"
        entries = copy_data(log.home / "data", intact)
        checked = {"entries": entries, "leaf": -1}
        if entries == 0:
            return Verdict(name, False, checked, "the ledger holds no entries: nothing to tamper with")
        shutil.copytree(intact, tampered)
        leaf = random.Random(seed).randrange(entries)
        checked["leaf"] = leaf
        flip_leaf_byte(tampered / "ledger.db", leaf)
        code, out = run_verify(log, intact)
        if code != 0:
            return Verdict(name, False, checked, f"untouched copy: expected verify to exit 0, got {code}: {out}")
        code, out = run_verify(log, tampered)
        if code != 1 or f"leaf {leaf} " not in out:
            return Verdict(name, False, checked, f"copy with leaf {leaf} flipped: expected exit 1 naming "
                                                 f"'leaf {leaf}', got {code}: {out}")
    return Verdict(name, True, checked, "")


def all_checks(log: LogUnderTest, stats: Mapping[str, AgentStats], notes: Sequence[bytes], *,
               sample: int = 32, seed: int = 0) -> list[Verdict]:
    """(a)-(e) in order; (d) only when the log has a witness policy."""
    verdicts = [acked_on_chain(log, stats), inclusion_sample(log, sample, seed), consistency_over_time(log, notes)]
    if log.witnesses:
        verdicts.append(cosigned_quorum(log))
    verdicts.append(tamper_evident(log, seed))
    return verdicts
