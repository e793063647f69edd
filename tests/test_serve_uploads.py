"""Hostile uploads: refused by content and size, never stored whole, never trusted by name."""

from __future__ import annotations

import struct
import subprocess
import time
import zipfile
import zlib

import numpy as np
import pytest

from serve_helpers import TRACEBACK_MARKERS, LiveServer, stream_upload

LIMIT_MB = 2


@pytest.fixture(scope="module")
def server():
    from babelface.serve import ServeConfig
    with LiveServer(ServeConfig(workers=1, max_upload_mb=LIMIT_MB, max_duration_s=3,
                                max_image_pixels=1000 * 1000)) as s:
        yield s


def _left_over(server) -> list:
    """Every file under the server's job folders (refused uploads must leave none)."""
    return [p for p in server.queue.root.rglob("*") if p.is_file()]


def _one_line(body: bytes) -> str:
    import json
    text = body.decode()
    assert not any(m in text for m in TRACEBACK_MARKERS), text
    return json.loads(text)["error"]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_two_gigabyte_sparse_file_is_refused_early(server, tmp_path, chunked):
    """A 2 GB sparse file (no disk used) as speech: with a Content-Length it is refused before a
    byte is read; streamed without one, after the limit. Either way little is sent and nothing kept."""
    big = tmp_path / "big.wav"
    subprocess.run(["truncate", "-s", "2G", str(big)], check=True)
    assert big.stat().st_size == 2 ** 31
    t0 = time.monotonic()
    status, body, sent = stream_upload(server.port, "/api/animate", "speech", "big.wav", big, chunked)
    message = _one_line(body)
    assert status == 413 and (f"limit of {LIMIT_MB} MB" in message or f"the limit is {LIMIT_MB} MB" in message)
    assert sent < 64 * 2 ** 20 and time.monotonic() - t0 < 20
    assert _left_over(server) == []


def test_zip_bomb_named_mp4(server, tmp_path):
    """64 MB of zeros deflated into a ~64 kB ZIP, uploaded as video.mp4: refused by its magic
    bytes (it is never inflated)."""
    bomb = tmp_path / "video.mp4"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z, z.open("zeros.bin", "w", force_zip64=True) as f:
        block = bytes(1 << 20)
        for _ in range(64):
            f.write(block)
    assert bomb.stat().st_size < 2 ** 20
    status, body = server.post("/api/sync", files={"video": ("video.mp4", bomb.read_bytes())})
    assert status == 415 and "(its content is a ZIP archive)" in body["error"]
    assert _left_over(server) == []


def test_text_named_png(server):
    status, body = server.post("/api/say", {"text": "hi", "language": "en"},
                               {"portrait": ("face.png", b"<?php system($_GET['c']); ?>\n")})
    assert status == 415 and "its content is text" in body["error"]


def test_png_header_claiming_a_huge_image(server):
    """A decompression bomb: a valid PNG header for 50,000 × 50,000 pixels; refused from the header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))
    status, body = server.post("/api/say", {"text": "hi", "language": "en"}, {"portrait": ("p.png", png)})
    assert status == 413 and "the limit of 1.0 megapixels" in body["error"]


def test_speech_over_the_duration_limit(server, tmp_path):
    from babelface.media import save_wav
    save_wav(tmp_path / "long.wav", (0.1 * np.sin(np.arange(16000 * 5) * 0.05)).astype(np.float32))
    status, body = server.post("/api/animate", files={"speech": ("long.wav", (tmp_path / "long.wav").read_bytes())})
    assert status == 413 and "5 s long; the limit is 3 s" in body["error"]


def test_speech_whose_header_declares_no_duration(server, tmp_path):
    """A live-streamed Matroska file declares no duration: the packets are counted instead."""
    live = tmp_path / "live.mkv"
    with open(live, "wb") as out:
        subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=300:duration=5",
                        "-c:a", "libvorbis", "-f", "matroska", "pipe:1"], stdout=out, check=True)
    status, body = server.post("/api/animate", files={"speech": ("a.wav", live.read_bytes())})
    assert status == 413 and "5 s long; the limit is 3 s" in body["error"]


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "..\\..\\boot.ini", "a\0b.png", ""])
def test_path_like_file_names_name_nothing(server, tmp_path, name):
    """The client's file name is never used: a hostile one changes nothing (here, text content is
    refused as usual and nothing is written anywhere)."""
    status, body = server.post("/api/sync", files={"video": (name, b"just text")})
    assert status == 415 and "its content is text" in body["error"]
    assert _left_over(server) == []


def test_sniff():
    from babelface.serve.uploads import sniff
    assert sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR") == "png"
    assert sniff(b"\xff\xd8\xff\xe0\0\x10JFIF") == "jpeg"
    assert sniff(b"RIFF\0\0\0\0WAVEfmt ") == "wav"
    assert sniff(b"RIFF\0\0\0\0WEBPVP8 ") == "webp"
    assert sniff(b"\0\0\0\x20ftypisom") == "mp4"
    assert sniff(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81") == "matroska"
    assert sniff(b"PK\x03\x04\x14\0\0\0") == "zip"
    assert sniff(b"#EXTM3U\nfile:///etc/passwd") == "text"      # an HLS playlist never reaches FFmpeg
    assert sniff(b"\x00\x01\x02\xfe\xfe\xff") == "unknown"
