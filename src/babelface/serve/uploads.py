"""Uploads, safely: streamed into the job's own folder, capped, sniffed, decoded; names never used.

A multipart body is parsed as it arrives (python-multipart's streaming parser), so a file over the
size limit is refused after ``max_upload_mb`` bytes, not after the whole body was spooled to disk;
a ``Content-Length`` over the limit is refused before a byte is read. Each file part is written
under a name the server picks (``<field>.upload``); the client's file name is ignored, so
``../../etc/passwd`` names nothing. The content decides what a file is: magic bytes first, then a
full decode (Pillow for images, with the pixel limit checked before decoding; FFmpeg through PyAV
for speech and video, opened with the sniffed container only), never the file name or the
declared content type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from babelface.errors import InputError
from babelface.serve.config import ServeConfig

TEXT_FIELD_BYTES = 64 * 1024          # a text field larger than this is not a form field


class UploadError(InputError):
    """An upload the server refuses; ``status`` is the HTTP code it answers with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)     # field → server-made path


# --- sniffing ----------------------------------------------------------------------------------
# (kind, test on the first bytes); kinds we accept map to a container PyAV may open
_MAGIC = (
    ("png", lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
    ("jpeg", lambda b: b.startswith(b"\xff\xd8\xff")),
    ("webp", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP"),
    ("wav", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WAVE"),
    ("avi", lambda b: b[:4] == b"RIFF" and b[8:12] == b"AVI "),
    ("flac", lambda b: b.startswith(b"fLaC")),
    ("ogg", lambda b: b.startswith(b"OggS")),
    ("mp3", lambda b: b.startswith(b"ID3") or (len(b) > 1 and b[0] == 0xFF and b[1] & 0xE0 == 0xE0)),
    ("mp4", lambda b: b[4:8] == b"ftyp"),
    ("matroska", lambda b: b.startswith(b"\x1a\x45\xdf\xa3")),
    ("zip", lambda b: b.startswith(b"PK\x03\x04")),
    ("gzip", lambda b: b.startswith(b"\x1f\x8b")),
    ("pdf", lambda b: b.startswith(b"%PDF")),
    ("gif", lambda b: b.startswith((b"GIF87a", b"GIF89a"))),
)
IMAGE_KINDS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}          # → Pillow format
AUDIO_KINDS = {"wav": "wav", "flac": "flac", "ogg": "ogg", "mp3": "mp3", "mp4": "mp4", "matroska": "matroska"}
VIDEO_KINDS = {"mp4": "mp4", "matroska": "matroska", "avi": "avi"}  # → FFmpeg demuxer
SUFFIX = {"wav": ".wav", "flac": ".flac", "ogg": ".ogg", "mp3": ".mp3", "mp4": ".mp4",
          "matroska": ".mkv", "avi": ".avi"}
HEAD_BYTES = 16


def sniff(head: bytes) -> str:
    """What the first bytes of a file say it is: a kind from ``_MAGIC``, ``"text"`` or ``"unknown"``."""
    for kind, test in _MAGIC:
        if test(head):
            return kind
    try:
        head.decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return "unknown"


def _looks(kind: str) -> str:
    names = {"zip": "a ZIP archive", "gzip": "a gzip archive", "pdf": "a PDF", "text": "text",
             "unknown": "no known format", "gif": "a GIF image"}
    return names.get(kind, f"{kind.upper()} data")


# --- the multipart stream ------------------------------------------------------------------------
def _content_length(headers) -> int | None:
    try:
        return int(headers.get("content-length"))
    except (TypeError, ValueError):
        return None


async def read_form(request, folder: Path, file_fields: tuple[str, ...], text_fields: tuple[str, ...],
                    config: ServeConfig) -> Form:
    """Parse ``request``'s multipart body into ``folder``: file fields as ``<field>.upload``."""
    from python_multipart.multipart import MultipartParser, parse_options_header
    ctype, options = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in options:
        raise UploadError("send the fields as multipart/form-data (curl -F field=value -F file=@path)", 415)
    limit = config.max_upload_bytes
    length = _content_length(request.headers)
    if length is not None and length > limit * max(1, len(file_fields)) + TEXT_FIELD_BYTES * len(text_fields):
        raise UploadError(f"the request is {length / 2**20:.0f} MB; the limit is {config.max_upload_mb:g} MB "
                          "per file (babelface serve --max-upload-mb)", 413)
    state = _PartState(folder, file_fields, text_fields, limit, config.max_upload_mb)
    parser = MultipartParser(options[b"boundary"], state.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except UploadError:
        raise
    except Exception as e:         # python-multipart's parse errors, a client that went away
        raise UploadError(f"the multipart body cannot be parsed ({type(e).__name__})", 400) from e
    finally:
        state.close()
    return state.form


class _PartState:
    """python-multipart callbacks that route each part to a file or a text field, with limits."""

    def __init__(self, folder: Path, file_fields, text_fields, limit: int, limit_mb: float):
        self.folder, self.file_fields, self.text_fields = folder, file_fields, text_fields
        self.limit, self.limit_mb = limit, limit_mb
        self.form = Form()
        self._header_field = self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._file = None
        self._text = bytearray()
        self._size = 0

    def callbacks(self) -> dict:
        return {"on_part_begin": self._begin, "on_header_field": self._hfield,
                "on_header_value": self._hvalue, "on_header_end": self._hend,
                "on_headers_finished": self._headers_done, "on_part_data": self._data,
                "on_part_end": self._end}

    def _begin(self) -> None:
        self._headers, self._name, self._size, self._text = {}, None, 0, bytearray()

    def _hfield(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _hvalue(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _hend(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def _headers_done(self) -> None:
        from python_multipart.multipart import parse_options_header
        _, opts = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = opts.get(b"name", b"").decode("utf-8", "replace")
        known = self.file_fields + self.text_fields
        if name not in known:
            raise UploadError(f"unknown field {name[:40]!r}: this endpoint takes {', '.join(known)}")
        if name in self.form.fields or name in self.form.files:
            raise UploadError(f"the field {name!r} was sent twice")
        is_file = b"filename" in opts
        if name in self.file_fields and not is_file:
            raise UploadError(f"{name} must be a file upload (curl -F {name}=@FILE)")
        if name in self.text_fields and is_file:
            raise UploadError(f"{name} is a text field, not a file (curl -F {name}=VALUE)")
        self._name = name
        if is_file:
            path = self.folder / f"{name}.upload"          # the server's name, never the client's
            self._file = open(path, "wb")                  # noqa: SIM115 - closed in _end / close
            self.form.files[name] = path

    def _data(self, data: bytes, start: int, end: int) -> None:
        self._size += end - start
        if self._file is not None:
            if self._size > self.limit:
                raise UploadError(f"the {self._name} upload is over the limit of {self.limit_mb:g} MB "
                                  "(babelface serve --max-upload-mb)", 413)
            self._file.write(data[start:end])
        else:
            if self._size > TEXT_FIELD_BYTES:
                raise UploadError(f"the field {self._name} is over {TEXT_FIELD_BYTES // 1024} kB", 413)
            self._text += data[start:end]

    def _end(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            if self._size == 0:                            # a form sent with no file chosen
                path = self.form.files.pop(self._name)
                path.unlink(missing_ok=True)
        elif self._name is not None:
            try:
                self.form.fields[self._name] = self._text.decode("utf-8")
            except UnicodeDecodeError as e:
                raise UploadError(f"the field {self._name} is not UTF-8 text") from e

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


# --- checking what arrived -------------------------------------------------------------------------
def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(HEAD_BYTES)


def check_image(path: Path, what: str, config: ServeConfig) -> Path:
    """A decoded, re-encoded PNG of an uploaded PNG/JPEG/WebP portrait, beside the upload."""
    import warnings

    from PIL import Image
    kind = sniff(_head(path))
    if kind not in IMAGE_KINDS:
        raise UploadError(f"the {what} upload is not a PNG, JPEG or WebP image (its content is {_looks(kind)})", 415)
    out = path.with_name(f"{path.stem}.png")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=[IMAGE_KINDS[kind]]) as im:
                w, h = im.size
                if w * h > config.max_image_pixels:
                    raise UploadError(f"the {what} is {w}×{h} pixels; the limit is "
                                      f"{config.max_image_pixels / 1e6:.1f} megapixels", 413)
                im.convert("RGB").save(out, format="PNG")
    except UploadError:
        raise
    except Image.DecompressionBombError as e:
        raise UploadError(f"the {what} claims more pixels than the limit of "
                          f"{config.max_image_pixels / 1e6:.1f} megapixels", 413) from e
    except Exception as e:                   # Pillow's many decode errors
        raise UploadError(f"the {what} upload cannot be decoded as a {kind.upper()} image "
                          f"({type(e).__name__})", 415) from e
    path.unlink()
    return out


def _open_media(path: Path, kind: str, what: str):
    import av
    try:
        return av.open(str(path), format=kind)
    except Exception as e:                   # FFmpeg refuses it
        raise UploadError(f"the {what} upload cannot be decoded as {kind} ({type(e).__name__})", 415) from e


def _duration(container, stream) -> float | None:
    import av
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return container.duration / av.time_base if container.duration is not None else None


def check_media(path: Path, what: str, config: ServeConfig, video: bool) -> Path:
    """An uploaded speech (``video=False``) or video file, renamed to its sniffed container's suffix.

    Speech needs an audio stream, a video a video stream of at most ``max_video_pixels``; both at
    most ``max_duration_s`` long as declared and as decoded (the job re-checks while it decodes)."""
    kinds = VIDEO_KINDS if video else AUDIO_KINDS
    kind = sniff(_head(path))
    if kind not in kinds:
        noun = "a video (MP4, MOV, MKV/WebM, AVI)" if video else "audio (WAV, FLAC, OGG, MP3, M4A, MP4, WebM)"
        raise UploadError(f"the {what} upload is not {noun} (its content is {_looks(kind)})", 415)
    with _open_media(path, kinds[kind], what) as c:
        streams = c.streams.video if video else c.streams.audio
        if not streams:
            raise UploadError(f"the {what} upload has no {'video' if video else 'audio'} track", 415)
        s = streams[0]
        if video:
            w, h = s.codec_context.width, s.codec_context.height
            if not w or not h:
                raise UploadError(f"the {what} upload has a video track without a frame size", 415)
            if w * h > config.max_video_pixels:
                raise UploadError(f"the {what} is {w}×{h}; the limit is {config.max_video_pixels / 1e6:.1f} "
                                  "megapixels per frame", 413)
        # as the header declares it, then as the packets say (a header may lie or say nothing)
        for dur in (_duration(c, s), _demuxed_duration(path, kinds[kind], s.index)):
            if dur is not None and dur > config.max_duration_s + 0.5:
                raise UploadError(f"the {what} is {dur:.0f} s long; the limit is {config.max_duration_s:g} s "
                                  "(babelface serve --max-duration)", 413)
        _decode_first(c, s, what)
    out = path.with_name(f"{path.stem}{SUFFIX[kind]}")
    path.rename(out)
    return out


def _demuxed_duration(path: Path, fmt: str, index: int) -> float:
    """Seconds from the first to the end of the last packet of stream ``index``, read without
    decoding (cheap: bounded by the upload size)."""
    import av
    first, last = None, 0.0
    with av.open(str(path), format=fmt) as c:
        for packet in c.demux(c.streams[index]):
            if packet.pts is None or packet.time_base is None:
                continue
            t = float(packet.pts * packet.time_base)
            first = t if first is None else min(first, t)
            last = max(last, t + float((packet.duration or 0) * packet.time_base))
    return last - (first or 0.0)


def _decode_first(container, stream, what: str) -> None:
    """Decode one frame: a header that parses over a body that does not is refused now."""
    try:
        for _ in container.decode(stream):
            return
    except Exception as e:
        raise UploadError(f"the {what} upload cannot be decoded ({type(e).__name__})", 415) from e
    raise UploadError(f"the {what} upload holds no decodable frames", 415)
