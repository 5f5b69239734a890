"""A local HTTP server standing in for a shop's webhook endpoint."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One request the receiver got (header names lower-cased)."""

    headers: dict[str, str]
    body: bytes

    @property
    def delivery(self) -> int:
        return int(self.headers["doorstep-delivery"])


class Receiver:
    """An HTTP server on 127.0.0.1 that records POSTs and answers scripted status codes."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: list[int] = []
        """Answers to give, in order; 200 once they run out."""
        self.delay_s = 0.0
        self.arrived = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver.received.append(Received(headers, body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                answer = b"ok" if status < 300 else b"nope"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                receiver.arrived.set()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hooks/doorstep"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
