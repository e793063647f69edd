"""A live ``babelface serve`` (uvicorn in a thread) and a small HTTP client for the serve tests."""

from __future__ import annotations

import http.client
import json
import select
import socket
import threading
import time
import uuid
from pathlib import Path

TRACEBACK_MARKERS = ("Traceback", 'File "', "line ", "site-packages")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``create_app(config)`` served on 127.0.0.1 in a background thread."""

    def __init__(self, config):
        try:
            import uvicorn
        except ImportError:
            import pytest

            from babelface.cli.serve import INSTALL_HINT
            pytest.fail(INSTALL_HINT)
        from babelface.serve import create_app
        self.app = create_app(config)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def queue(self):
        return self.app.state.queue

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)

    # --- requests ------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        status, hdrs, data = self.request(method, path, body, headers)
        text = data.decode("utf-8")
        assert not any(m in text for m in TRACEBACK_MARKERS), f"traceback text in a response: {text}"
        return status, json.loads(text)

    def post(self, path: str, fields: dict | None = None, files: dict | None = None):
        body, ctype = multipart(fields or {}, files or {})
        return self.json("POST", path, body, {"Content-Type": ctype})

    def wait(self, job_id: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            status, job = self.json("GET", f"/api/jobs/{job_id}")
            assert status == 200, job
            if job["state"] in ("done", "failed"):
                return job
            assert time.monotonic() < deadline, f"job {job_id} still {job['state']} after {timeout} s"
            time.sleep(0.2)


def multipart(fields: dict | list, files: dict) -> tuple[bytes, str]:
    """``fields``: name → value (or a list of pairs); ``files``: name → (file name sent, bytes)."""
    boundary = uuid.uuid4().hex
    out = bytearray()
    for name, value in (fields.items() if isinstance(fields, dict) else fields):
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                f"{value}\r\n").encode()
    for name, (filename, data) in files.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def stream_upload(port: int, path: str, field: str, filename: str, source: Path,
                  chunked: bool, chunk: int = 1 << 20) -> tuple[int, bytes, int]:
    """POST ``source`` as one file field, streaming it, and stop sending as soon as the server
    answers. Returns (status, body, bytes sent). With ``chunked`` no Content-Length is sent."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = source.stat().st_size
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
             f"Content-Type: multipart/form-data; boundary={boundary}", "Connection: close"]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(head) + size + len(tail)}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def send(data: bytes) -> None:
        sock.sendall(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)

    sent = 0
    try:
        send(head)
        with open(source, "rb") as f:
            while not select.select([sock], [], [], 0)[0]:      # the server has not answered yet
                data = f.read(chunk)
                if not data:
                    send(tail)
                    if chunked:
                        sock.sendall(b"0\r\n\r\n")
                    break
                send(data)
                sent += len(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    response = b""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            response += data
    except (ConnectionResetError, socket.timeout):
        pass
    sock.close()
    status_line, _, rest = response.partition(b"\r\n")
    body = rest.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in rest else b""
    return int(status_line.split()[1]), body, sent
