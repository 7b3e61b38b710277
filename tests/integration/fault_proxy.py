"""A small HTTP proxy in front of the moto server that answers chosen AWS requests with a fault (throttling,
500, 503) instead of passing them on, for the first N matching requests or for every one; everything else
goes through unchanged. It counts every request by (service, operation), so a test can see the retries.

Requests are told apart as AWS tells them apart: the service from the SigV4 credential scope, the
operation from X-Amz-Target (JSON protocols: SSM, tagging), from Action= (query protocols: RDS, EC2, STS)
or, for S3's REST API, from the method, the query and the copy-source header.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import parse_qs, urlsplit

Answer = Literal["throttle", "500", "503"]
Key = tuple[str, str]
"""(service, operation), e.g. ("rds", "RestoreDBInstanceFromDBSnapshot"), ("s3", "CopyObject")."""

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass(frozen=True)
class Fault:
    service: str
    operation: str
    answer: Answer
    times: int | None = None
    """Fault the first `times` matching requests (transient), or every one (None: persistent)."""


def _s3_operation(method: str, query: dict[str, list[str]], headers: Message) -> str:
    if method == "PUT" and headers.get("x-amz-copy-source"):
        return "CopyObject"
    if "tagging" in query:
        return {"GET": "GetObjectTagging", "PUT": "PutObjectTagging"}.get(method, "DeleteObjectTagging")
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    if method == "GET" and query.get("list-type") == ["2"]:
        return "ListObjectsV2"
    return {"GET": "GetObject", "PUT": "PutObject", "DELETE": "DeleteObject", "HEAD": "HeadObject"}.get(
        method, method
    )


def identify(method: str, path: str, headers: Message, body: bytes) -> Key:
    scope = _SCOPE.search(headers.get("Authorization", ""))
    service = scope.group(1) if scope else "unknown"
    target = headers.get("X-Amz-Target")
    if target:
        return service, target.rsplit(".", 1)[-1]
    query = parse_qs(urlsplit(path).query, keep_blank_values=True)
    if service == "s3":
        return service, _s3_operation(method, query, headers)
    form = parse_qs(body.decode("utf-8", "replace")) if body else {}
    action = (form.get("Action") or query.get("Action") or ["unknown"])[0]
    return service, action


def fault_response(service: str, json_protocol: bool, answer: Answer) -> tuple[int, str, bytes]:
    """(status, content type, body) as the service's protocol writes that error."""
    if answer == "throttle":
        status, code, message = 400, "Throttling", "Rate exceeded"
        if json_protocol:
            code = "ThrottlingException"
        elif service == "ec2":
            status, code, message = 503, "RequestLimitExceeded", "Request limit exceeded."
        elif service == "s3":
            status, code, message = 503, "SlowDown", "Please reduce your request rate."
    elif answer == "500":
        status, code, message = 500, "InternalFailure", "We encountered an internal error. Please try again."
    else:
        status, code, message = 503, "ServiceUnavailable", "Service is unavailable. Please try again."
    if json_protocol:
        return status, "application/x-amz-json-1.1", json.dumps({"__type": code, "message": message}).encode()
    if service == "ec2":
        xml = f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
        return status, "text/xml", (xml + "<RequestID>fault-proxy</RequestID></Response>").encode()
    if service == "s3":
        xml = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        return status, "application/xml", xml.encode()
    xml = f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
    return status, "text/xml", (xml + "<RequestId>fault-proxy</RequestId></ErrorResponse>").encode()


class FaultProxy:
    def __init__(self, target: str, faults: list[Fault] | None = None) -> None:
        parts = urlsplit(target)
        self.target_host, self.target_port = parts.hostname or "127.0.0.1", parts.port or 80
        self.faults = list(faults or [])
        self.seen: Counter[Key] = Counter()
        """Every request by (service, operation), faulted or passed on."""
        self.faulted: Counter[Key] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def set_faults(self, faults: list[Fault]) -> None:
        with self._lock:
            self.faults = list(faults)
            self.faulted.clear()

    def _decide(self, key: Key) -> Answer | None:
        with self._lock:
            self.seen[key] += 1
            for fault in self.faults:
                if (fault.service, fault.operation) != key:
                    continue
                if fault.times is None or self.faulted[key] < fault.times:
                    self.faulted[key] += 1
                    return fault.answer
            return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                key = identify(self.command, self.path, self.headers, body)
                answer = proxy._decide(key)
                if answer is not None:
                    json_protocol = bool(self.headers.get("X-Amz-Target"))
                    status, kind, payload = fault_response(key[0], json_protocol, answer)
                    self._reply(status, [("Content-Type", kind)], payload)
                    return
                upstream = http.client.HTTPConnection(proxy.target_host, proxy.target_port, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    response = upstream.getresponse()
                    payload = response.read()
                    passed = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
                    if self.command == "HEAD":  # no body, but the length of the one a GET would have
                        passed.append(("Content-Length", response.getheader("Content-Length") or "0"))
                    self._reply(response.status, passed, payload)
                finally:
                    upstream.close()

            def _reply(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve

            def log_message(self, format: str, *args: object) -> None:
                return None  # the test reads the counters, not a log

        return Handler

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@contextmanager
def fault_proxy(target: str, faults: list[Fault] | None = None) -> Iterator[FaultProxy]:
    """A started proxy in front of `target`, stopped on exit whatever happened inside."""
    proxy = FaultProxy(target, faults)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
