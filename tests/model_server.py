"""A local HTTP server that serves a model file with Range support, and can misbehave.

Used by the download tests: it cuts the connection part-way, sends a non-GGUF page, a
file cut short, or ignores Range, redirects, and records every request it received.
"""

import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.environment import MODEL_SERVER_PORT


class ModelServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int | None = None, host: str = "127.0.0.1"):
        # By default on the port that the test run allows downloads from (tests.environment).
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, MODEL_SERVER_PORT if port is None else port), _Handler)
        self.host = f"[{host}]" if ":" in host else host
        self.files: dict[str, bytes] = {}
        self.redirects: dict[str, tuple[int, str]] = {}  # path -> (status, Location)
        self.content_types: dict[str, str] = {}
        self.statuses: dict[str, int] = {}  # a status other than 200 to send a file with
        self.requests: list[tuple[str, str | None]] = []  # (path, Host header) of each
        self.ranges: list[str | None] = []  # the Range header of each request, in order
        self.cut_after: int | None = None  # end the next response after this many bytes
        self.honor_range = True
        self.declared_size: dict[str, int] = {}  # a Content-Length that lies
        self.chunk_delay = 0.0  # seconds between 64 KiB chunks, to watch progress
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.port}/{name}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: ModelServer

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        name = self.path.lstrip("/")
        srv = self.server
        srv.ranges.append(self.headers.get("Range"))
        srv.requests.append((name, self.headers.get("Host")))
        if name in srv.redirects:
            status, location = srv.redirects[name]
            self.send_response(status)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = srv.files.get(name)
        if data is None:
            self.send_error(404)
            return
        start = 0
        match = re.match(r"bytes=(\d+)-$", self.headers.get("Range") or "")
        if match and srv.honor_range:
            start = int(match.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(srv.statuses.get(name, 200))
            self.send_header("Accept-Ranges", "bytes")
        body = data[start:]
        self.send_header("Content-Length", str(srv.declared_size.get(name, len(body))))
        self.send_header("Content-Type", srv.content_types.get(name, "application/octet-stream"))
        self.end_headers()
        limit = len(body)
        if srv.cut_after is not None:
            limit, srv.cut_after = min(limit, srv.cut_after), None
        sent = 0
        while sent < limit:
            piece = body[sent : min(limit, sent + 65536)]
            self.wfile.write(piece)
            sent += len(piece)
            if srv.chunk_delay:
                time.sleep(srv.chunk_delay)
        self.wfile.flush()
        if limit < len(body):
            self.close_connection = True
            self.connection.shutdown(2)
