"""Authenticated admin requests: an Ed25519 admin key signs method, path, body hash and time.

The node is configured with the admin's public key (``serve --admin-key ADMIN.vkey``, a
keygen vkey). A request carries two headers::

    X-Ledger-Admin-Time: <ns since the Unix epoch>
    X-Ledger-Admin-Signature: <base64 Ed25519 signature over the canonical message>

    canonical message = ADMIN_CONTEXT || METHOD "\\n" PATH "\\n" hex(SHA-256(body)) "\\n" TIME "\\n"

Why these fields: the path names the device, the body hash binds the key being enrolled, the
method tells enrol from revoke, and the time bounds how long a captured request is worth
replaying; within that window (±``MAX_SKEW_NS``) the node remembers each signature and
refuses it a second time. Missing or malformed headers answer 401; a signature that does not
verify, a stale time or a replay answer 403.

:class:`AdminClient` is the signing side, used by the tests and the controller.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import http.client
import json
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from devices.wire import PrivateKey, PublicKey

from .errors import LedgerError

ADMIN_CONTEXT = b"hil-ledger/admin-request/v1\n"
TIME_HEADER = "X-Ledger-Admin-Time"
SIGNATURE_HEADER = "X-Ledger-Admin-Signature"
MAX_SKEW_NS = 60 * 10**9
_TIME = re.compile(r"0|[1-9][0-9]{0,18}")


class AdminUnauthenticated(LedgerError):
    """The request carries no usable admin credentials; answered with 401."""


class AdminForbidden(LedgerError):
    """The credentials do not hold: bad signature, stale time, replay; answered with 403."""


def admin_message(method: str, path: str, body: bytes, time_ns: int) -> bytes:
    """The bytes the admin key signs for one request."""
    return ADMIN_CONTEXT + f"{method}\n{path}\n{hashlib.sha256(body).hexdigest()}\n{time_ns}\n".encode()


@dataclass(frozen=True)
class AdminCredentials:
    """A request's checked-in credentials; ``signature`` is what the replay cache keys on."""

    time_ns: int
    signature: bytes


def check_admin(key: PublicKey, method: str, path: str, body: bytes, time_header: str | None,
                signature_header: str | None, now_ns: int) -> AdminCredentials:
    """Raise unless the headers sign this request freshly under ``key``; replay is the caller's check."""
    if time_header is None or signature_header is None:
        raise AdminUnauthenticated(f"admin request: expected headers {TIME_HEADER} and {SIGNATURE_HEADER}")
    if not _TIME.fullmatch(time_header):
        raise AdminUnauthenticated(f"{TIME_HEADER}: expected ns since the Unix epoch, got {time_header[:40]!r}")
    try:
        signature = base64.b64decode(signature_header, validate=True)
    except binascii.Error:
        signature = b""
    if len(signature) != 64:
        raise AdminUnauthenticated(f"{SIGNATURE_HEADER}: expected the base64 of a 64-byte Ed25519 signature")
    stamp = int(time_header)
    if abs(stamp - now_ns) > MAX_SKEW_NS:
        raise AdminForbidden(f"{TIME_HEADER}: expected within {MAX_SKEW_NS // 10**9} s of the node's clock, "
                             f"got {(stamp - now_ns) / 1e9:+.1f} s off")
    if not key.verify(admin_message(method, path, body, stamp), signature):
        raise AdminForbidden("admin signature: expected the configured admin key's signature over "
                             "method, path, body hash and time; it does not verify")
    return AdminCredentials(stamp, signature)


def admin_headers(key: PrivateKey, method: str, path: str, body: bytes, time_ns: int | None = None,
                  ) -> dict[str, str]:
    """The two headers that authenticate one request."""
    stamp = time.time_ns() if time_ns is None else time_ns
    signature = key.sign(admin_message(method, path, body, stamp))
    return {TIME_HEADER: str(stamp), SIGNATURE_HEADER: base64.b64encode(signature).decode()}


class AdminClient:
    """Enrols and revokes devices on one node; answers are (status, JSON document)."""

    def __init__(self, url: str, key: PrivateKey, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.key, self.timeout = key, timeout

    def enrol(self, device: str, public_key: PublicKey) -> tuple[int, dict[str, object]]:
        body = json.dumps({"device_id": device, "key": base64.b64encode(public_key.raw).decode()}).encode()
        return self.call("POST", "/v1/admin/devices", body)

    def revoke(self, device: str) -> tuple[int, dict[str, object]]:
        return self.call("DELETE", f"/v1/admin/devices/{device}", b"")

    def call(self, method: str, path: str, body: bytes, headers: dict[str, str] | None = None,
             ) -> tuple[int, dict[str, object]]:
        """One signed request (``headers`` replaces the signed ones, for tests of refusals)."""
        sent = {"Content-Type": "application/json",
                **(headers if headers is not None else admin_headers(self.key, method, path, body))}
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body, sent)
            answer = conn.getresponse()
            return answer.status, json.loads(answer.read())
        finally:
            conn.close()
