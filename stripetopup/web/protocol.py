"""uvicorn's HTTP/1.1 protocol, answering bytes that are not HTTP in the one error shape.

uvicorn answers a request it cannot parse (a control character in a header, a bad request
line, broken framing) itself, before the app sees it, in plain text. ``serve`` runs this
subclass instead, so even that answer is ``{"error": {...}}`` JSON. May import uvicorn,
h11 and web.errors.
"""

from __future__ import annotations

import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from stripetopup.web.errors import error_body

# ``serve`` names this class to uvicorn as ``http="stripetopup.web.protocol:JsonErrorH11Protocol"``
# (a string, so each --workers process imports it).
MESSAGE = "the request is not valid HTTP: a header, the request line or the framing is malformed"


class JsonErrorH11Protocol(H11Protocol):
    """H11Protocol whose own 400 (unparseable request) is JSON in the one error shape."""

    def send_400_response(self, msg: str) -> None:
        body = json.dumps(error_body("invalid_request", MESSAGE)).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event))
        self.transport.close()
