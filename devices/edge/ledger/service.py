"""The ledger node's HTTP API, served by the standard library's ThreadingHTTPServer.

Why the standard library: the node runs on edge boxes and inside network namespaces, and
this API is a handful of JSON and text routes; ``http.server`` with HTTP/1.1 keep-alive and a
thread per connection serves them with no dependency to install, pin or audit. The costly
parts (Ed25519 verification, SQLite commits) release the GIL or run on the writer thread, so
the server is not the bottleneck at the rates a ward produces; batch POSTs carry the bulk.
If a later measurement says otherwise, :class:`LedgerNode` holds all the logic and a
different front can replace this module alone.

Routes (answers JSON except the checkpoint and payloads; errors are ``{"error": "..."}``;
openapi.yaml describes every one and a test keeps it true)::

    POST /v1/records                      {"record": b64} or {"records": [b64, ...]}
                                          → 201 {"index", "tree_size", "block", ...} / {"results": [...]}
                                          a sequence refusal (409) adds "last_seq"
    GET  /v1/blocks/{height}              signed block header {"height", "previous", ...}
    PUT  /v1/payloads/{sha256 hex}        raw body → 201 stored / 200 already held
    GET  /v1/payloads/{sha256 hex}        the payload bytes, application/octet-stream
    GET  /v1/checkpoint                   C2SP signed checkpoint, text/plain
    GET  /v1/checkpoint/cosigned          the newest checkpoint a quorum of witnesses cosigned, cosignature
                                          lines appended (submitter.py; serve --witnesses); 404 before one
    GET  /v1/proof/inclusion?index=I&tree_size=N     {"index", "tree_size", "proof": [b64]}
    GET  /v1/proof/consistency?first=M&second=N      {"first", "second", "proof": [b64]}
    GET  /v1/entries?start=A&end=B        {"start", "entries": [b64 signed record, ...]}
    GET  /v1/health                       {"status": "ok", "origin", "tree_size"}
    POST /add-checkpoint                  C2SP tlog-witness (witness.py): cosignature lines, text/plain;
                                          404 when the node runs no witness (serve --witness-config)
    GET  /v1/witness/evidence             {"evidence": [{"origin", "kind", "held", "offered", ...}]}
    POST /v1/admin/devices                {"device_id", "key": b64} → 201 enrolled / 200 already; admin-signed
    DELETE /v1/admin/devices/{id}         → 200 {"device_id", "revoked_at": tree size, ...}; admin-signed
    GET  /v1/metrics                      Prometheus text format (metrics.py)

Admin routes are signed with the admin key (admin.py): 401 without credentials, 403 when they
do not hold, 404 when the node runs without ``--admin-key``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import socket
import sys
import time
import traceback
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devices.wire import PublicKey, SignedBlock
from devices.wire.envelope import is_device_id

from . import metrics
from .admin import MAX_SKEW_NS, SIGNATURE_HEADER, TIME_HEADER, AdminForbidden, AdminUnauthenticated, check_admin
from .errors import OutOfRange, StoreClosed
from .kinds import known_kinds
from .node import MAX_RECORDS_PER_CALL, Accepted, LedgerNode, Refused
from .payloads import PayloadHashMismatch, PayloadStore, PayloadTooLarge, is_payload_name
from .registry import EnrolmentConflict, Registry, UnknownDevice
from .submitter import Submitter
from .witness import MAX_REQUEST, SIZE_CONTENT_TYPE, SizeConflict, Witness, WitnessRefusal

MAX_BODY = 4 * 1024 * 1024
# Every route the server answers: (method, path template) → handler method. A template has at
# most one ``{parameter}``, the last path segment. openapi.yaml must list exactly these.
ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/v1/records"): "_records",
    ("GET", "/v1/blocks/{height}"): "_block",
    ("PUT", "/v1/payloads/{hash}"): "_put_payload",
    ("GET", "/v1/payloads/{hash}"): "_get_payload",
    ("GET", "/v1/checkpoint"): "_checkpoint",
    ("GET", "/v1/checkpoint/cosigned"): "_cosigned_checkpoint",
    ("GET", "/v1/proof/inclusion"): "_inclusion",
    ("GET", "/v1/proof/consistency"): "_consistency",
    ("GET", "/v1/entries"): "_entries",
    ("GET", "/v1/health"): "_health",
    ("POST", "/add-checkpoint"): "_add_checkpoint",
    ("GET", "/v1/witness/evidence"): "_evidence",
    ("POST", "/v1/admin/devices"): "_enrol",
    ("DELETE", "/v1/admin/devices/{id}"): "_revoke",
    ("GET", "/v1/metrics"): "_metrics",
}
MAX_ADMIN_BODY = 4096
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")


class BadRequest(Exception):
    """The request itself is malformed; answered with 400 and this message."""


class TooLarge(Exception):
    """The body is over the route's size limit; answered with 413 and this message."""


class NotFound(Exception):
    """What the request names does not exist; answered with 404 and this message."""


class LedgerServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], node: LedgerNode, payloads: PayloadStore,
                 witness: Witness | None = None, admin_key: PublicKey | None = None,
                 submitter: Submitter | None = None) -> None:
        self.node = node
        self.submitter = submitter
        self.admin_key = admin_key
        self.payloads = payloads
        self.witness = witness
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, LedgerHandler)


class LedgerHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a device streams records over one connection
    # Unbuffered, headers and body leave in two segments and Nagle holds the second until the
    # client's delayed ACK (~40 ms a response). Buffer each answer into one write (flushed by
    # the base class after every request) and send segments at once.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: LedgerServer

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self._route()

    def do_POST(self) -> None:  # noqa: N802
        self._route()

    def do_PUT(self) -> None:  # noqa: N802
        self._route()

    def do_DELETE(self) -> None:  # noqa: N802
        self._route()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # one line per request on stderr is noise at thousands of records a second

    # -- routes ------------------------------------------------------------------------------

    def _records(self, _: dict[str, list[str]]) -> None:
        body = self._json_body()
        single = "record" in body
        if set(body) not in ({"record"}, {"records"}):
            raise BadRequest('expected a JSON object with "record" (one) or "records" (a list)')
        encoded = [body["record"]] if single else body["records"]
        if not isinstance(encoded, list) or not 1 <= len(encoded) <= MAX_RECORDS_PER_CALL:
            raise BadRequest(f'"records": expected a list of 1..{MAX_RECORDS_PER_CALL} base64 strings')
        wires = [_b64_arg(item, f"records[{n}]") for n, item in enumerate(encoded)]
        outcomes = self.server.node.add_records(wires)
        if single:
            outcome = outcomes[0]
            if isinstance(outcome, Refused):
                self._send_json(outcome.status, _refused(outcome))
            else:
                self._send_json(HTTPStatus.CREATED, _accepted(outcome))
            return
        results = [_accepted(o) if isinstance(o, Accepted) else {"status": o.status, **_refused(o)}
                   for o in outcomes]
        status = HTTPStatus.CREATED if all(isinstance(o, Accepted) for o in outcomes) else HTTPStatus.MULTI_STATUS
        self._send_json(status, {"results": results})

    def _block(self, _: dict[str, list[str]]) -> None:
        height = _path_int(self.path, "/v1/blocks/", "block height")
        count = self.server.node.store.block_count
        if height >= count:
            raise NotFound(f"block {height}: expected a height below {count} (the blocks committed)")
        self._send_json(HTTPStatus.OK, block_document(self.server.node.store.block(height)))

    def _put_payload(self, _: dict[str, list[str]]) -> None:
        length = self.headers.get("Content-Length")
        if length is None or not _DECIMAL.fullmatch(length):
            self.close_connection = True
            raise BadRequest("expected a Content-Length header")
        if int(length) > self.server.payloads.max_size:
            self.close_connection = True  # the body is not read: the connection cannot be reused
            raise PayloadTooLarge(f"payload: expected at most {self.server.payloads.max_size} bytes, got {length}")
        body = self.rfile.read(int(length))
        name = _payload_name(self.path)
        created = self.server.payloads.put(name, body)
        self._send_json(HTTPStatus.CREATED if created else HTTPStatus.OK,
                        {"hash": name, "size": int(length), "created": created})

    def _get_payload(self, _: dict[str, list[str]]) -> None:
        name = _payload_name(self.path)
        body = self.server.payloads.get(name)
        if body is None:
            raise NotFound(f"payload {name}: not held by this node")
        self._send(HTTPStatus.OK, body, "application/octet-stream")

    def _checkpoint(self, _: dict[str, list[str]]) -> None:
        self._send(HTTPStatus.OK, self.server.node.checkpoint(), "text/plain; charset=utf-8")

    def _cosigned_checkpoint(self, _: dict[str, list[str]]) -> None:
        submitter = self.server.submitter
        if submitter is None:
            raise NotFound("this node submits to no witnesses (serve --witnesses FILE enables it)")
        note = submitter.cosigned()
        if note is None:
            raise NotFound(f"no checkpoint cosigned by {submitter.policy.quorum} of "
                           f"{len(submitter.policy.peers)} witnesses yet")
        self._send(HTTPStatus.OK, note, "text/plain; charset=utf-8")

    def _inclusion(self, query: dict[str, list[str]]) -> None:
        index = _int_arg(query, "index")
        size = _int_arg(query, "tree_size")
        proof = self.server.node.store.inclusion_proof(index, size)
        self._send_json(HTTPStatus.OK, {"index": index, "tree_size": size, "proof": _b64_list(proof)})

    def _consistency(self, query: dict[str, list[str]]) -> None:
        first = _int_arg(query, "first")
        second = _int_arg(query, "second")
        proof = self.server.node.store.consistency_proof(first, second)
        self._send_json(HTTPStatus.OK, {"first": first, "second": second, "proof": _b64_list(proof)})

    def _entries(self, query: dict[str, list[str]]) -> None:
        start = _int_arg(query, "start")
        entries = self.server.node.store.entries(start, _int_arg(query, "end"))
        self._send_json(HTTPStatus.OK, {"start": start, "entries": _b64_list(entries)})

    def _health(self, _: dict[str, list[str]]) -> None:
        node = self.server.node
        self._send_json(HTTPStatus.OK, {"status": "ok", "origin": node.origin, "tree_size": node.store.size})

    def _add_checkpoint(self, _: dict[str, list[str]]) -> None:
        witness = self.server.witness
        if witness is None:
            self._drain_body()
            raise NotFound("this node runs no witness (serve --witness-config FILE enables one)")
        length = self.headers.get("Content-Length")
        if length is None or not _DECIMAL.fullmatch(length):
            self.close_connection = True
            raise BadRequest("expected a Content-Length header")
        if int(length) > MAX_REQUEST:
            self.close_connection = True
            raise TooLarge(f"add-checkpoint: expected at most {MAX_REQUEST} bytes, got {length}")
        body = self.rfile.read(int(length))
        try:
            cosignatures = witness.add_checkpoint(body)
        except SizeConflict as exc:
            self._send(exc.status, f"{exc.size}\n".encode(), SIZE_CONTENT_TYPE)
            return
        except WitnessRefusal as exc:
            self._send(exc.status, f"{exc}\n".encode(), "text/plain; charset=utf-8")
            return
        self._send(HTTPStatus.OK, cosignatures, "text/plain; charset=utf-8")

    def _evidence(self, _: dict[str, list[str]]) -> None:
        witness = self.server.witness
        if witness is None:
            raise NotFound("this node runs no witness (serve --witness-config FILE enables one)")
        self._send_json(HTTPStatus.OK, {"evidence": [
            {"origin": e.origin, "kind": e.kind, "held": e.held.decode(), "offered": e.offered.decode(),
             "proof": list(e.proof), "detail": e.detail, "time": e.time} for e in witness.evidence()]})

    def _enrol(self, _: dict[str, list[str]]) -> None:
        body = self._admin_body()
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise BadRequest(f"body: expected JSON, got a parse error: {exc}") from None
        if not isinstance(document, dict) or set(document) != {"device_id", "key"}:
            raise BadRequest('body: expected {"device_id": id, "key": base64 Ed25519 public key}')
        device = document["device_id"]
        if not is_device_id(device):
            raise BadRequest(f"device_id: expected an envelope device id, got {device!r}")
        raw = _b64_arg(document["key"], "key")
        if len(raw) != 32:
            raise BadRequest(f"key: expected a 32-byte Ed25519 public key, got {len(raw)} bytes")
        created = self._registry().enrol(device, PublicKey(raw), time.time_ns())
        self._send_json(HTTPStatus.CREATED if created else HTTPStatus.OK,
                        {"device_id": device, "key": document["key"], "created": created})

    def _revoke(self, _: dict[str, list[str]]) -> None:
        self._admin_body()
        device = urlsplit(self.path).path[len("/v1/admin/devices/"):]
        if not is_device_id(device):
            raise BadRequest(f"device id: expected an envelope device id in the path, got {device[:80]!r}")
        self._registry()
        revocation = self.server.node.revoke(device)
        self._send_json(HTTPStatus.OK, {"device_id": device, "key": base64.b64encode(revocation.key.raw).decode(),
                                        "revoked_at": revocation.tree_size, "time_ns": revocation.time_ns})

    def _metrics(self, _: dict[str, list[str]]) -> None:
        node = self.server.node
        self._send(HTTPStatus.OK, node.metrics.render(node.store), metrics.CONTENT_TYPE)

    def _admin_body(self) -> bytes:
        """The body of an admin request whose signature holds; raises the auth errors."""
        length = self.headers.get("Content-Length", "0")
        if not _DECIMAL.fullmatch(length) or int(length) > MAX_ADMIN_BODY:
            self.close_connection = True
            raise TooLarge(f"admin body: expected at most {MAX_ADMIN_BODY} bytes, got {length[:20]}")
        body = self.rfile.read(int(length))
        key = self.server.admin_key
        if key is None:
            raise NotFound("this node has no admin key (serve --admin-key ADMIN.vkey enables the admin API)")
        now = time.time_ns()
        credentials = check_admin(key, self.command, urlsplit(self.path).path, body,
                                  self.headers.get(TIME_HEADER), self.headers.get(SIGNATURE_HEADER), now)
        if self._registry().seen(credentials.signature, credentials.time_ns, now - 2 * MAX_SKEW_NS):
            raise AdminForbidden("admin signature: expected a fresh request, got a replay of one already served")
        return body

    def _registry(self) -> Registry:
        registry = self.server.node.registry
        if not isinstance(registry, Registry):
            raise NotFound("this node keeps no enrolment database")
        return registry

    # -- plumbing ----------------------------------------------------------------------------

    def _route(self) -> None:
        url = urlsplit(self.path)
        name = route_for(self.command, url.path)
        handler: Callable[[dict[str, list[str]]], None] | None = getattr(self, name) if name else None
        self._dispatch(handler, parse_qs(url.query, keep_blank_values=True))

    def _dispatch(self, route: Callable[[dict[str, list[str]]], None] | None, query: dict[str, list[str]]) -> None:
        if route is None:
            self._drain_body()
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no route for {self.command} {urlsplit(self.path).path}"})
            return
        try:
            route(query)
        except (BadRequest, PayloadHashMismatch) as exc:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        except (NotFound, UnknownDevice) as exc:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": str(exc)})
        except AdminUnauthenticated as exc:
            self._send_json(HTTPStatus.UNAUTHORIZED, {"error": str(exc)})
        except AdminForbidden as exc:
            self._send_json(HTTPStatus.FORBIDDEN, {"error": str(exc)})
        except EnrolmentConflict as exc:
            self._send_json(HTTPStatus.CONFLICT, {"error": str(exc)})
        except (TooLarge, PayloadTooLarge) as exc:
            self._send_json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": str(exc)})
        except OutOfRange as exc:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        except StoreClosed as exc:
            self._send_json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": str(exc)})
        except Exception as exc:  # a bug: answer, and leave the traceback where an operator looks
            traceback.print_exc(file=sys.stderr)
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"internal error: {type(exc).__name__}"})

    def _json_body(self) -> dict[str, Any]:
        length = self.headers.get("Content-Length")
        if length is None or not _DECIMAL.fullmatch(length):
            self.close_connection = True  # where the body ends is unknown
            raise BadRequest("expected a Content-Length header")
        if int(length) > MAX_BODY:
            self.close_connection = True  # the body is not read: the connection cannot be reused
            raise TooLarge(f"body: expected at most {MAX_BODY} bytes, got {length}")
        raw = self.rfile.read(int(length))
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise BadRequest(f"body: expected JSON, got a parse error: {exc}") from None
        if not isinstance(body, dict):
            raise BadRequest("body: expected a JSON object")
        return body

    def _drain_body(self) -> None:
        length = self.headers.get("Content-Length", "0")
        if _DECIMAL.fullmatch(length) and int(length) <= MAX_BODY:
            self.rfile.read(int(length))
        else:
            self.close_connection = True

    def _send_json(self, status: int, document: object) -> None:
        self._send(status, json.dumps(document).encode() + b"\n", "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def route_for(method: str, path: str) -> str | None:
    """The handler name ROUTES gives ``method`` and ``path``; a parameter is one non-empty segment."""
    for (route_method, template), name in ROUTES.items():
        if route_method != method:
            continue
        prefix, brace, _ = template.partition("{")
        if path == template if not brace else (path.startswith(prefix) and len(path) > len(prefix)
                                                and "/" not in path[len(prefix):]):
            return name
    return None


def _accepted(outcome: Accepted | Refused) -> dict[str, object]:
    assert isinstance(outcome, Accepted)
    return {"index": outcome.index, "tree_size": outcome.tree_size, "block": outcome.block,
            "device_id": outcome.device_id, "seq": outcome.seq}


def _refused(outcome: Refused) -> dict[str, object]:
    document: dict[str, object] = {"error": outcome.reason}
    if outcome.last_seq is not None:
        document["last_seq"] = outcome.last_seq
    if outcome.code == "unknown_kind":
        document["kinds"] = known_kinds()
    return document


def block_document(block: SignedBlock) -> dict[str, object]:
    """A block as JSON: the header's fields, hashes base64, plus the signed bytes and block hash."""
    h = block.header
    b64 = lambda value: base64.b64encode(value).decode()  # noqa: E731
    return {"height": h.height, "previous": b64(h.previous), "tree_size": h.tree_size, "root": b64(h.root),
            "time_ns": h.time_ns, "signature": b64(block.signature), "hash": b64(block.hash()),
            "signed_header": b64(block.to_bytes())}


def _path_int(path: str, prefix: str, what: str) -> int:
    tail = urlsplit(path).path[len(prefix):]
    if not _DECIMAL.fullmatch(tail):
        raise BadRequest(f"{what}: expected a non-negative decimal integer in the path, got {tail!r}")
    return int(tail)


def _payload_name(path: str) -> str:
    name = urlsplit(path).path[len("/v1/payloads/"):]
    if not is_payload_name(name):
        raise BadRequest(f"payload hash: expected 64 lowercase hex digits (SHA-256) in the path, got {name[:80]!r}")
    return name


def _int_arg(query: dict[str, list[str]], name: str) -> int:
    values = query.get(name)
    if not values or len(values) != 1 or not _DECIMAL.fullmatch(values[0]):
        raise BadRequest(f"query parameter {name}: expected one non-negative decimal integer, got {values}")
    return int(values[0])


def _b64_arg(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise BadRequest(f"{what}: expected a base64 string, got {type(value).__name__}")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise BadRequest(f"{what}: expected standard base64") from None


def _b64_list(items: list[bytes]) -> list[str]:
    return [base64.b64encode(item).decode() for item in items]
