"""The log side of C2SP tlog-witness: submit this node's checkpoints to peer witnesses, keep the cosigned one.

Why: a signed checkpoint alone cannot show that a reader sees the same tree as everybody
else (a split view); a checkpoint cosigned by k of n independent witnesses can, because each
witness cosigns only checkpoints consistent with the last one it cosigned (witness.py,
ledger.md §3.3). ``serve --witnesses FILE`` runs a :class:`Submitter`; the file is::

    {"witnesses": [{"name": "<witness key name>", "vkey": "<cosignature/v1 vkey>",
                    "url": "http://host:port[/prefix]"}, ...],
     "quorum": k}                                          (default: every witness)

Every ``interval`` seconds, when the tree has grown past what a witness last cosigned, the
current checkpoint goes to that witness as ``POST <url>/add-checkpoint`` with the size the
witness is believed to hold and the consistency proof from it. A 409 answer carries the size
the witness really holds: the request is rebuilt from that size and sent again. Each returned
cosignature line is verified against the witness's configured vkey before it counts.
:meth:`Submitter.cosigned` is the newest checkpoint with at least ``quorum`` cosignatures: the
log's note with the cosignature lines appended (C2SP cosignatures are extra signature lines),
served as ``GET /v1/checkpoint/cosigned`` and kept in ``DATA/cosigned.checkpoint`` across
restarts.

A failing witness (down, unreachable, refusing) is logged to stderr by name and host only
(never a key, never URL credentials) and retried with exponential backoff; submissions run on
their own threads, so neither a slow nor a dead witness ever delays an append.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from devices.wire import Checkpoint, Ed25519Verifier, parse_note
from devices.wire.cosignature import CosignatureVerifier, require_cosignatures
from devices.wire.errors import NoteError, WireError

from .errors import LedgerError
from .witness import SIZE_CONTENT_TYPE

DEFAULT_INTERVAL = 0.5
MAX_BACKOFF = 8.0
REQUEST_TIMEOUT = 5.0
MAX_ANSWER = 64 * 1024
MAX_PENDING_SIZES = 64  # checkpoints still short of a quorum, kept while later ones are tried
COSIGNED_NAME = "cosigned.checkpoint"


@dataclass(frozen=True)
class WitnessPeer:
    """A witness this log submits to: its cosigning key and where its add-checkpoint lives."""

    name: str
    verifier: CosignatureVerifier
    url: str

    @property
    def where(self) -> str:
        """Name and host:port for log lines: the URL without any credentials or path."""
        return f"{self.name} at {urlsplit(self.url).hostname}:{urlsplit(self.url).port}"


@dataclass(frozen=True)
class WitnessPolicy:
    """The witnesses and how many of them must cosign a checkpoint."""

    peers: tuple[WitnessPeer, ...]
    quorum: int

    def __post_init__(self) -> None:
        if not 1 <= self.quorum <= len(self.peers):
            raise LedgerError(f"witnesses quorum: expected 1..{len(self.peers)} (the witnesses listed), "
                              f"got {self.quorum}")
        names = [peer.name for peer in self.peers]
        if len(set(names)) != len(names):
            raise LedgerError(f"witnesses: expected each name once, got {names}")

    @property
    def verifiers(self) -> tuple[CosignatureVerifier, ...]:
        return tuple(peer.verifier for peer in self.peers)


def load_witnesses(path: Path) -> WitnessPolicy:
    """``{"witnesses": [{"name", "vkey", "url"}], "quorum": k}`` → the policy (quorum defaults to all)."""
    try:
        document = json.loads(path.read_text())
        peers = []
        for item in document["witnesses"]:
            verifier = CosignatureVerifier.from_vkey(item["vkey"])
            if item["name"] != verifier.name:
                raise ValueError(f"witness {item['name']!r}: its vkey names {verifier.name!r}")
            url = urlsplit(item["url"])
            if url.scheme not in ("http", "https") or not url.hostname or url.port is None:
                raise ValueError(f"witness {item['name']!r} url: expected http://host:port[/prefix], "
                                 f"got scheme {url.scheme!r} host {url.hostname!r}")
            peers.append(WitnessPeer(item["name"], verifier, item["url"].rstrip("/")))
        quorum = document.get("quorum", len(peers))
    except (ValueError, KeyError, TypeError, AttributeError, NoteError) as exc:
        raise LedgerError(f'{path}: expected {{"witnesses": [{{"name", "vkey", "url"}}, ...], "quorum": k}}, '
                          f"got an error: {exc}") from None
    if isinstance(quorum, bool) or not isinstance(quorum, int):
        raise LedgerError(f"{path}: quorum: expected an integer, got {quorum!r}")
    return WitnessPolicy(tuple(peers), quorum)


@dataclass
class _PeerState:
    """What the submitter knows of one witness; touched only by that witness's job."""

    old: int = 0  # the size the witness is believed to hold for this log (a 409 corrects it)
    cosigned: int = -1  # the last size it cosigned for us
    failures: int = 0
    next_try: float = 0.0
    busy: bool = False


@dataclass
class _Pending:
    """One checkpoint and the verified cosignature lines gathered for it so far."""

    note: bytes
    lines: dict[str, str] = field(default_factory=dict)  # witness name -> cosignature line


class Submitter:
    """Submits the node's checkpoints to the policy's witnesses; see the module docstring."""

    def __init__(self, checkpoint: Callable[[], bytes], proof: Callable[[int, int], list[bytes]],
                 log: Ed25519Verifier, policy: WitnessPolicy, data: Path | None = None, *,
                 interval: float = DEFAULT_INTERVAL, max_backoff: float = MAX_BACKOFF,
                 timeout: float = REQUEST_TIMEOUT, out: TextIO = sys.stderr) -> None:
        self._checkpoint, self._proof, self.log, self.policy = checkpoint, proof, log, policy
        self.interval, self.max_backoff, self.timeout, self._out = interval, max_backoff, timeout, out
        self._path = data / COSIGNED_NAME if data is not None else None
        self._states = {peer.name: _PeerState() for peer in policy.peers}
        self._pending: dict[int, _Pending] = {}
        self._cosigned: tuple[int, bytes] | None = self._load()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=len(policy.peers), thread_name_prefix="witness-submit")
        self._thread = threading.Thread(target=self._run, name="witness-submitter", daemon=True)

    def start(self) -> Submitter:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop submitting; requests in flight finish (each bounded by the timeout)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._pool.shutdown(wait=True)

    def cosigned(self) -> bytes | None:
        """The newest checkpoint note cosigned by a quorum, cosignature lines appended; None before one."""
        with self._lock:
            return None if self._cosigned is None else self._cosigned[1]

    def submit_once(self) -> None:
        """One round: start a submission to every witness that is due and behind the current checkpoint."""
        note = self._checkpoint()
        size = Checkpoint.from_text(parse_note(note).text).tree_size
        if size == 0:
            return  # nothing to witness yet
        now = time.monotonic()
        for peer in self.policy.peers:
            state = self._states[peer.name]
            with self._lock:
                if state.busy or state.cosigned >= size or now < state.next_try:
                    continue
                state.busy = True
            self._pool.submit(self._submit_guarded, peer, note, size)

    # -- internals ---------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.submit_once()
            except Exception as exc:  # a bug or a closed store: say so, keep the node serving
                self._say(f"witness submitter: round failed: {type(exc).__name__}: {exc}")
            self._stop.wait(self.interval)

    def _submit_guarded(self, peer: WitnessPeer, note: bytes, size: int) -> None:
        state = self._states[peer.name]
        try:
            self._submit(peer, state, note, size)
        except Exception as exc:  # refused, unreachable, a bad answer, or a bug: all mean retry later
            state.failures += 1
            delay = min(self.max_backoff, self.interval * 2 ** (state.failures - 1))
            state.next_try = time.monotonic() + delay
            self._say(f"witness {peer.where}: checkpoint {size} not cosigned (attempt {state.failures}, "
                      f"next in {delay:.1f} s): {type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                state.busy = False

    def _submit(self, peer: WitnessPeer, state: _PeerState, note: bytes, size: int) -> None:
        for _ in range(3):  # a 409 names the witness's size; the retry with it should then pass
            if state.old > size:
                raise LedgerError(f"the witness holds size {state.old} for this log, above our {size}: "
                                  "this log lost entries, or another log signed with its key")
            proof = self._proof(state.old, size) if 0 < state.old < size else []
            status, media, body = self._post(peer, state.old, proof, note)
            if status == 409 and media.split(";")[0].strip() == SIZE_CONTENT_TYPE:
                text = body.decode("ascii", "replace").strip()
                if not text.isdigit():
                    raise LedgerError(f"409 answer: expected a decimal size, got {text[:40]!r}")
                state.old = int(text)
                continue
            if status != 200:
                raise LedgerError(f"refused with {status}: {body.decode('utf-8', 'replace').strip()[:300]}")
            self._accept(peer, state, note, size, body)
            return
        raise LedgerError(f"409 three times in a row, last size {state.old}: the witness's state keeps moving")

    def _accept(self, peer: WitnessPeer, state: _PeerState, note: bytes, size: int, body: bytes) -> None:
        cosigned = require_cosignatures(note + body, self.log, [peer.verifier], 1)  # raises on a bad line
        own = [sig.line() for sig in cosigned.note.signatures
               if (sig.name, sig.key_id) == (peer.verifier.name, peer.verifier.key_id)]
        recovered = state.failures > 0
        state.old, state.cosigned, state.failures, state.next_try = size, size, 0, 0.0
        if recovered:
            self._say(f"witness {peer.where}: cosigned checkpoint {size} again")
        with self._lock:
            pending = self._pending.setdefault(size, _Pending(note))
            pending.lines[peer.name] = own[0]
            if len(pending.lines) >= self.policy.quorum and (self._cosigned is None or size >= self._cosigned[0]):
                lines = "".join(pending.lines[p.name] for p in self.policy.peers if p.name in pending.lines)
                whole = pending.note + lines.encode()
                require_cosignatures(whole, self.log, self.policy.verifiers, self.policy.quorum)
                self._cosigned = (size, whole)
                self._save(whole)
            floor = self._cosigned[0] if self._cosigned is not None else -1
            for old in sorted(self._pending):  # superseded by the cosigned one, or the oldest of too many
                if old < floor or len(self._pending) > MAX_PENDING_SIZES:
                    del self._pending[old]

    def _post(self, peer: WitnessPeer, old: int, proof: Sequence[bytes], note: bytes) -> tuple[int, str, bytes]:
        body = f"old {old}\n".encode() + b"".join(base64.b64encode(h) + b"\n" for h in proof) + b"\n" + note
        url = urlsplit(peer.url)
        kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        conn = kind(url.hostname or "", url.port, timeout=self.timeout)
        try:
            conn.request("POST", f"{url.path}/add-checkpoint", body, {"Content-Type": "text/plain"})
            answer = conn.getresponse()
            return answer.status, answer.getheader("Content-Type", ""), answer.read(MAX_ANSWER)
        finally:
            conn.close()

    def _load(self) -> tuple[int, bytes] | None:
        """The cosigned checkpoint kept by an earlier run, if it still meets this policy."""
        if self._path is None or not self._path.is_file():
            return None
        note = self._path.read_bytes()
        try:
            checkpoint = require_cosignatures(note, self.log, self.policy.verifiers, self.policy.quorum).checkpoint
        except (WireError, ValueError) as exc:
            self._say(f"witness submitter: ignoring {self._path.name}: {exc}")
            return None
        return checkpoint.tree_size, note

    def _save(self, note: bytes) -> None:
        if self._path is None:
            return
        temp = self._path.with_suffix(".tmp")
        temp.write_bytes(note)
        os.replace(temp, self._path)

    def _say(self, line: str) -> None:
        print(line, file=self._out, flush=True)
