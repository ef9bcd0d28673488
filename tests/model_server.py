"""A local HTTP server that serves a model file with Range support, and can misbehave.

Used by the download tests: it cuts the connection part-way, sends a non-GGUF page, a
file cut short, or ignores Range, and records the Range header of every request.
"""

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ModelServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.ranges: list[str | None] = []  # the Range header of each request, in order
        self.cut_after: int | None = None  # end the next response after this many bytes
        self.honor_range = True
        self.declared_size: dict[str, int] = {}  # a Content-Length that lies
        self.chunk_delay = 0.0  # seconds between 64 KiB chunks, to watch progress
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{name}"

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
            self.send_response(200)
            self.send_header("Accept-Ranges", "bytes")
        body = data[start:]
        self.send_header("Content-Length", str(srv.declared_size.get(name, len(body))))
        self.send_header("Content-Type", "application/octet-stream")
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
