"""babelface's input families (issue 17): images, audio, video, text and languages, output paths,
manifests, configs, option ranges, the Python API and signals. Each generator draws one case.

Real files from ``../shared/data/real`` are the seeds of the mutations (truncation, bit flips,
header edits, wrong extensions); the odd cases the issue lists are drawn among the rest.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np

from fuzz.harness import REAL, Case, family

SAY_TEXT = "hi"                   # one syllable: the cheapest render (about 20 frames)
LANGS_OK = ["en", "fr", "de", "es", "th", "hi", "ar", "ja", "ru", "en+f3"]


# ------------------------------------------------------------------------------ fixtures
def fixtures(box: Path) -> Path:
    """Small real inputs shared by the cases of one campaign (made once, atomically)."""
    root = box.parent / "_fixtures"
    if (root / "done").exists():
        return root
    tmp = box.parent / f"_fixtures.tmp{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REAL / "monalisa.png", tmp / "portrait.png")
    import cv2
    cv2.imwrite(str(tmp / "portrait.jpg"), cv2.imread(str(REAL / "monalisa.png")), [cv2.IMWRITE_JPEG_QUALITY, 90])
    ff = ["ffmpeg", "-v", "error", "-y"]
    subprocess.run(ff + ["-i", str(REAL / "speech" / "dreamtalk_french2.wav"), "-t", "1.2", "-ar", "16000",
                         "-ac", "1", "-c:a", "pcm_s16le", str(tmp / "speech.wav")], check=True)
    subprocess.run(ff + ["-i", str(REAL / "WDA_KatieHill_000.mp4"), "-t", "2", "-vf", "scale=320:-2",
                         "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(tmp / "video.mp4")],
                   check=True)
    (tmp / "done").write_text("")
    try:
        os.rename(tmp, root)
    except OSError:                      # another worker was first
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def _copy(box: Path, name: str, as_name: str | None = None) -> Path:
    dst = box / (as_name or name)
    shutil.copyfile(fixtures(box) / name, dst)
    return dst


def _cached(box: Path, name: str, make, as_name: str) -> Path:
    """``box / as_name``: a copy of the campaign's fixture ``name``, made by ``make(path)`` the first
    time a case asks for it. For inputs that are the same in every case (an 8000×8000 portrait
    takes ~1 CPU-s to make; a copy, milliseconds)."""
    cached = fixtures(box) / name
    if not cached.exists():
        tmp = cached.with_name(f".{os.getpid()}.{name}")      # workers may race: each its own, renamed
        make(tmp)
        os.replace(tmp, cached)
    return _copy(box, name, as_name)


# ------------------------------------------------------------------------------ mutations
def mutate(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """A broken copy of ``data``: truncated, bit-flipped, header-edited, or spliced."""
    kind = rng.choice(["truncate", "bitflip", "header", "splice", "zero"])
    b = bytearray(data)
    if kind == "truncate":
        n = rng.choice([0, 1, 8, 44, 100, rng.randrange(len(b))])
        return bytes(b[:n]), f"truncated to {n} B"
    if kind == "bitflip":
        k = rng.choice([1, 2, 8, 64])
        for _ in range(k):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        return bytes(b), f"{k} bit flips"
    if kind == "header":
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(min(64, len(b)))
            b[i] = rng.choice([0, 0xFF, 0x7F, 0x80, rng.randrange(256)])
        return bytes(b), "header bytes edited"
    if kind == "zero":
        i = rng.randrange(len(b))
        n = rng.randint(1, 4096)
        b[i:i + n] = bytes(min(n, len(b) - i))
        return bytes(b), f"{n} bytes zeroed at {i}"
    i, j = sorted(rng.randrange(len(b)) for _ in range(2))
    return bytes(b[:i] + b[j:]), f"bytes {i}-{j} cut out"


def _mutated(rng: random.Random, box: Path, fixture: str, exts: list[str]) -> tuple[Path, str]:
    data, note = mutate(rng, (fixtures(box) / fixture).read_bytes())
    ext = rng.choice(exts)
    p = box / f"input{ext}"
    p.write_bytes(data)
    return p, f"{fixture} {note} as {ext}"


# ------------------------------------------------------------------------------ odd files
def png_bomb(path: Path, w: int = 100_000, h: int = 100_000) -> None:
    """A tiny PNG whose header declares ``w``×``h`` pixels (a decompression bomb)."""
    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))
    raw = zlib.compress(b"\x00" * 1024)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def write_wav_float(path: Path, samples: np.ndarray, rate: int = 16000) -> None:
    from scipy.io import wavfile
    wavfile.write(path, rate, samples.astype(np.float32))


REFUSED_IMAGES = ["bomb", "dir", "missing", "empty", "tiny", "text", "noise", "symlink-dir"]
ODD_SHAPES = ["rgba", "grey16", "rot90", "rot180", "rot270", "tilt", "huge", "wide"]


def _huge_png(path: Path) -> None:                  # path: in the fixtures' folder
    import cv2
    portrait = cv2.imread(str(path.parent / "portrait.png"))
    cv2.imwrite(str(path), cv2.resize(portrait, (8000, 8000), interpolation=cv2.INTER_LINEAR),
                [cv2.IMWRITE_PNG_COMPRESSION, 1])


def _wide_png(path: Path) -> None:
    import cv2
    portrait = cv2.imread(str(path.parent / "portrait.png"))
    cv2.imwrite(str(path), cv2.copyMakeBorder(portrait, 0, 0, 0, 9000, cv2.BORDER_REPLICATE))


def odd_image(rng: random.Random, box: Path, kinds: list[str]) -> tuple[str, str, bool, str]:
    """(image argument, what it is, heavy, expect)."""
    import cv2
    kind = rng.choice(kinds)
    p = box / "face.png"
    if kind == "wide":
        _cached(box, "wide.png", _wide_png, p.name)
        return p.name, "portrait padded to 9300 px wide", True, "ok"
    if kind == "huge":
        _cached(box, "huge.png", _huge_png, p.name)
        return p.name, "8000×8000 portrait", True, "ok"
    portrait = cv2.imread(str(fixtures(box) / "portrait.png"))
    if kind == "bomb":
        png_bomb(p, rng.choice([100_000, 30_000, 65_535]), rng.choice([100_000, 20_000, 65_535]))
        return p.name, "PNG declaring a huge size", False, "error"
    if kind in ("dir", "symlink-dir"):
        (box / "adir").mkdir(exist_ok=True)
        if kind == "symlink-dir":
            os.symlink("adir", box / "face.png")
            return "face.png", "symlink to a folder", False, "error"
        return "adir", "a folder", False, "error"
    if kind == "missing":
        return "nope.png", "missing file", False, "error"
    if kind == "empty":
        p.write_bytes(b"")
        return p.name, "empty file", False, "error"
    if kind == "tiny":
        cv2.imwrite(str(p), np.zeros((1, 1, 3), np.uint8))
        return p.name, "1×1 image", False, "error"
    if kind == "text":
        p.write_text("not an image\n")
        return p.name, "text named .png", False, "error"
    if kind == "noise":
        cv2.imwrite(str(p), np.random.default_rng(rng.randrange(2**32)).integers(0, 256, (64, 64, 3), np.uint8))
        return p.name, "noise", False, "error"
    if kind == "rgba":
        cv2.imwrite(str(p), np.dstack([portrait, np.full(portrait.shape[:2], 128, np.uint8)]))
        return p.name, "RGBA portrait", True, "ok"
    if kind == "grey16":
        cv2.imwrite(str(p), (cv2.cvtColor(portrait, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257))
        return p.name, "16-bit grey portrait", True, "ok"
    if kind.startswith("rot"):
        k = int(kind[3:]) // 90
        cv2.imwrite(str(p), np.ascontiguousarray(np.rot90(portrait, k)))
        return p.name, f"portrait turned {kind[3:]}°", True, "ok"
    if kind == "tilt":
        a = rng.uniform(-80, 80)
        h, w = portrait.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2, h / 2), a, 1.0)
        cv2.imwrite(str(p), cv2.warpAffine(portrait, m, (w, h), borderMode=cv2.BORDER_REPLICATE))
        return p.name, f"portrait tilted {a:.0f}°", True, "ok"
    raise ValueError(f"odd image kind {kind!r}")


def odd_audio(rng: random.Random, box: Path) -> tuple[str, str, str]:
    """(audio argument, what it is, expect)."""
    kind = rng.choice(["nan", "inf", "dc", "silence", "one", "stereo48k", "int8", "text", "dir",
                       "empty", "video", "image", "long-header", "missing", "clipped", "odd-rate", "channels"])
    p = box / "speech.wav"
    if kind == "odd-rate":             # a header rate AAC cannot carry (seed 21: 20,096 Hz, a traceback)
        hz = rng.choice([4000, 11000, 20096, 50000, 200000])
        data = bytearray(_copy(box, "speech.wav").read_bytes())
        data[24:28] = struct.pack("<I", hz)
        p.write_bytes(bytes(data))
        return p.name, f"WAV header saying {hz} Hz", None
    if kind == "channels":             # 8+ planar channels crashed PyAV's to_ndarray (SIGSEGV)
        n = rng.choice([8, 16])
        data = bytearray(_copy(box, "speech.wav").read_bytes())
        data[22:24] = struct.pack("<H", n)
        p.write_bytes(bytes(data))
        return p.name, f"WAV header saying {n} channels", None
    rate = 16000
    t = np.arange(int(1.0 * rate)) / rate
    speech = 0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    if kind in ("nan", "inf"):
        x = speech.copy()
        idx = np.random.default_rng(rng.randrange(2**32)).integers(0, len(x), rng.choice([1, 10, len(x)]))
        x[idx] = np.nan if kind == "nan" else rng.choice([np.inf, -np.inf])
        write_wav_float(p, x)
        return p.name, f"float WAV with {kind} samples", "error"
    if kind == "dc":
        write_wav_float(p, np.full(len(t), rng.choice([0.5, -0.9, 1.0, 0.01])))
        return p.name, "constant (DC) signal", "error"
    if kind == "silence":
        write_wav_float(p, np.zeros(len(t)))
        return p.name, "digital silence", "error"
    if kind == "one":
        write_wav_float(p, np.array([0.5]))
        return p.name, "one sample", "error"
    if kind == "stereo48k":
        from scipy.io import wavfile
        wavfile.write(p, 48000, (np.stack([speech, speech[::-1]], 1).repeat(3, 0) * 32767).astype(np.int16))
        return p.name, "stereo 48 kHz", None
    if kind == "int8":
        from scipy.io import wavfile
        wavfile.write(p, 8000, ((speech[::2] * 127) + 128).astype(np.uint8))
        return p.name, "8-bit 8 kHz", None
    if kind == "clipped":
        write_wav_float(p, np.clip(speech * 50, -3, 3))
        return p.name, "float WAV beyond ±1", None
    if kind == "text":
        p.write_text("RIFF? no\n")
        return p.name, "text named .wav", "error"
    if kind == "dir":
        p.mkdir()
        return p.name, "a folder", "error"
    if kind == "empty":
        p.write_bytes(b"")
        return p.name, "empty file", "error"
    if kind == "video":
        return _copy(box, "video.mp4").name, "a video's audio", None
    if kind == "image":
        return _copy(box, "portrait.png", "speech.wav").name, "a PNG named .wav", "error"
    if kind == "missing":
        return "nope.wav", "missing", "error"
    data = bytearray(_copy(box, "speech.wav").read_bytes())
    data[40:44] = struct.pack("<I", 0x7FFFFFF0)          # the data chunk claims ~19 hours
    p.write_bytes(bytes(data))
    return p.name, "WAV header claiming hours", None


RENDERED_NAMES = ("unicode name", "hidden output name", "trailing slash", "newline in the name")   # odd but fine


def odd_output(rng: random.Random, box: Path, inputs: list[str]) -> tuple[str, str]:
    kind = rng.choice(["empty", "dash", "dir", "file-as-dir", "proc", "sys", "dev-null", "same-as-input",
                       "missing-parent", "long-name", "newline", "unicode", "dotfile", "trailing-slash",
                       "root-deep"])
    if kind == "empty":
        return "", "-o ''"
    if kind == "dash":
        return "-", "-o -"
    if kind == "dir":
        (box / "outdir").mkdir(exist_ok=True)
        return "outdir", "an existing folder"
    if kind == "file-as-dir":
        (box / "afile").write_text("x")
        return "afile/x.mp4", "a file used as a folder"
    if kind == "proc":
        return rng.choice(["/proc/self/x.mp4", "/proc/x.mp4"]), "under /proc"
    if kind == "sys":
        return "/sys/kernel/x.mp4", "under /sys"
    if kind == "dev-null":
        return "/dev/null", "/dev/null"
    if kind == "same-as-input":
        return rng.choice(inputs), "the same file as an input"
    if kind == "missing-parent":
        return "no/such/dir/x.mp4", "missing parent folders"
    if kind == "long-name":
        return "x" * rng.choice([255, 256, 300, 5000]) + ".mp4", "very long name"
    if kind == "newline":
        return "a\nb.mp4", "newline in the name"
    if kind == "unicode":
        return "说话 ✓.mp4", "unicode name"
    if kind == "dotfile":
        return ".hidden.mp4", "hidden output name"
    if kind == "trailing-slash":
        return "x.mp4/", "trailing slash"
    return "/nonexistent-root-dir/a/b/x.png", "missing folders from / down"


# ------------------------------------------------------------------------------ families
@family("image-mutation", heavy=True)
def image_mutation(rng, box):
    source = rng.choice(["portrait.png", "portrait.jpg", "portrait.jpg"])   # JPEG has no checksums
    p, note = _mutated(rng, box, source, [".png", ".jpg", ".jpg", ".wav", ".txt", ""])
    return Case("", argv=["say", "--image", p.name, "--text", SAY_TEXT, "--lang", "en", "-o", "out.mp4"],
                outputs=["out.mp4"], note=note, heavy=True)


def _say_image(rng, box, kinds):
    img, note, heavy, expect = odd_image(rng, box, kinds)
    size = []
    if note.startswith(("8000", "portrait padded")) and rng.random() < 0.4:   # H.264's largest frame out,
        size = ["--max-pixels", "9437184"]                                     # the face in a work box
        note += " --max-pixels 9437184"
    return Case("", argv=["say", "--image", img, "--text", SAY_TEXT, "--lang", "en", "-o", "out.mp4", "-q", *size],
                outputs=["out.mp4"], note=note, heavy=heavy, expect=expect, timeout=300 if heavy else 60)


@family("image-odd", opencv=True)
def image_odd(rng, box):
    return _say_image(rng, box, REFUSED_IMAGES)


@family("image-shape", heavy=True, opencv=True)
def image_shape(rng, box):
    return _say_image(rng, box, ODD_SHAPES)


@family("audio-mutation", heavy=True)
def audio_mutation(rng, box):
    p, note = _mutated(rng, box, "speech.wav", [".wav", ".wav", ".mp3", ".mp4", ".flac", ".txt"])
    text = rng.choice([["--text", "bonjour", "--lang", "fr"], []])
    return Case("", argv=["animate", "--audio", p.name, *text, "-o", "out.mp4", "-q"],
                outputs=["out.mp4"], note=note, heavy=True)


@family("audio-odd")
def audio_odd(rng, box):
    audio, note, expect = odd_audio(rng, box)
    text = rng.choice([["--text", "hello", "--lang", "en"], [], ["--lang", "en"], ["--lang", "fr"]])
    return Case("", argv=["animate", "--audio", audio, *text, "-o", "out.mp4", "-q"], outputs=["out.mp4"],
                note=note, expect=expect, heavy=expect != "error")


VIDEO_EDITS = {"tiny": ["-vf", "scale=32:32", "-c:a", "copy"], "no-audio": ["-an", "-c:v", "copy"],
               "audio-only": ["-vn", "-c:a", "copy"]}


def _ffmpeg_edit(box: Path, args: list[str], out: Path) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(fixtures(box) / "video.mp4"), *args, "-f", "mp4",
                    str(out)], check=True)


@family("video")
def video(rng, box):
    kind = rng.choice(["mutated", "mutated", "tiny", "no-audio", "audio-only", "image", "empty", "dir",
                       "missing", "plain"])
    name, note = "clip.mp4", kind
    if kind == "mutated":
        p, note = _mutated(rng, box, "video.mp4", [".mp4", ".mp4", ".mov", ".wav", ".png"])
        name = p.name
    elif kind in VIDEO_EDITS:
        _cached(box, f"video-{kind}.mp4", lambda path: _ffmpeg_edit(box, VIDEO_EDITS[kind], path), name)
        note = "32×32 video" if kind == "tiny" else kind
    elif kind == "image":
        _copy(box, "portrait.png", name)
    elif kind == "empty":
        (box / name).write_bytes(b"")
    elif kind == "dir":
        (box / name).mkdir()
    elif kind == "missing":
        name = "nope.mp4"
    else:
        _copy(box, "video.mp4", name)
    extra = rng.choice([[], ["--json"], ["--max-offset", rng.choice(["0", "-3", "101", "5", "x"])],
                        ["--plot", "curve.png"], ["--fix", "-o", "fixed.mp4"],
                        # the lip-closure reading: odd transcripts and languages
                        ["--text", rng.choice(ODD_TEXTS + ["maybe my brother bought a map"])],
                        ["--text", "bonjour", "--lang", rng.choice(ODD_LANGS)], ["--transcribe"],
                        ["--transcribe", "--lang", "fr"], ["--lang", "en"],
                        # --fix by the lip closures (or refused when they cannot be read)
                        ["--text", rng.choice(ODD_TEXTS + ["maybe my brother bought a map"]), "--fix", "-o",
                         "fixed.mp4", "--fix-by", rng.choice(["auto", "closure", "expert"])],
                        ["--fix-by", rng.choice(["closure", "expert", "both"])]])
    outputs = [a for a in ("curve.png", "fixed.mp4") if a in extra]
    cheap = (kind in ("missing", "dir", "empty") or any(v in extra for v in ("0", "-3", "101", "x"))
             or extra[:1] in (["--lang"], ["--fix-by"]) or extra[-2:] == ["--lang", "fr"])
    return Case("", argv=["sync", name, *extra], outputs=outputs, note=note, heavy=not cheap, timeout=180)


ODD_TEXTS = ["", " ", "\t\n", "...", "?!", "—", "🙂🙂", "((()))", "‮abc", "a" * 3000, "\u200b",
             "hello\x01world", "ni3 hao3", "สวัสดี", "مرحبا", "漢字", "x" * 10, "1234567890", "<b>hi</b>",
             "$(rm -rf /)", "'; DROP TABLE", "%s%s%n", "\\x00", "e\u0301", "ʔəˈloʊ", "-", "--lang"]
ODD_LANGS = ["", " ", "xx", "en+", "en+zzz", "../../etc/passwd", "EN", "zh", "a" * 300, "en+f3",
             "+", "ja", "mb-en1", "null", "-1", "ไทย", "en\tus"]


BAD_LANGS = {"", "xx", "../../etc/passwd", "a" * 300, "+", "null", "-1", "ไทย", "en\tus", "en+zzz"}


@family("text-lang")
def text_lang(rng, box):
    text = rng.choice(ODD_TEXTS)
    lang = rng.choice(ODD_LANGS + LANGS_OK)
    argv = ["say", "--text", text, "--lang", lang, "-o", "out.mp4", "-q"]
    if rng.random() < 0.4:
        argv += ["--rate", rng.choice(["0", "79", "80", "450", "451", "-5", "100000", "1e3", "abc", "175"])]
    if rng.random() < 0.4:
        argv += ["--pitch", rng.choice(["-1", "0", "100", "101", "50", "9999", "nan"])]
    refused = (not text.strip() or lang.strip() in BAD_LANGS or text == "..."
               or ("--rate" in argv and argv[argv.index("--rate") + 1] not in {"80", "450", "175"})
               or ("--pitch" in argv and argv[argv.index("--pitch") + 1] not in {"0", "100", "50"}))
    heavy = not refused
    return Case("", argv=argv, outputs=["out.mp4"], note=f"{text[:20]!r} in {lang[:20]!r}", heavy=heavy)


@family("output-path")
def output_path(rng, box):
    portrait = _copy(box, "portrait.png").name
    speech = _copy(box, "speech.wav").name
    cmd = rng.choice(["say", "animate", "sync-plot", "sync-fix"])
    out, note = odd_output(rng, box, [portrait, speech] if cmd == "animate" else [portrait])
    if cmd == "say":
        argv = ["say", "--image", portrait, "--text", SAY_TEXT, "--lang", "en", "-o", out, "-q"]
    elif cmd == "animate":
        argv = ["animate", "--image", portrait, "--audio", speech, "--text", "bonjour", "--lang", "fr",
                "-o", out, "-q"]
    else:
        video = _copy(box, "video.mp4").name
        if out in (portrait, speech):
            out = video
        argv = ["sync", video, "--plot", out] if cmd == "sync-plot" else ["sync", video, "--fix", "-o", out]
    renders = note in RENDERED_NAMES
    return Case("", argv=argv, outputs=[out.rstrip("/")] if renders else [], note=f"{cmd}: {note}",
                heavy=renders, timeout=180)


@family("options")
def options(rng, box):
    speech = _copy(box, "speech.wav").name
    kind = rng.choice(["max-duration", "max-pixels", "rate", "pitch", "max-offset", "unknown", "missing"])
    if kind == "max-duration":
        v = rng.choice(["nan", "inf", "-inf", "-1", "0", "1e308", "x", "0.1", "-0"])
        argv = ["animate", "--audio", speech, "--max-duration", v, "-o", "out.mp4", "-q"]
    elif kind == "max-pixels":
        v = rng.choice(["0", "-1", "100", "99999999999", "1e6", "16384", "9437185"])
        argv = ["say", "--lang", "en", "--text", SAY_TEXT, "--max-pixels", v, "-o", "out.mp4", "-q"]
    elif kind in ("rate", "pitch"):
        v = rng.choice(["-1", "0", "79", "451", "101", "2147483648", "1.5", ""])
        argv = ["say", "--lang", "en", "--text", SAY_TEXT, f"--{kind}", v, "-o", "out.mp4", "-q"]
    elif kind == "max-offset":
        argv = ["sync", "nope.mp4", "--max-offset", rng.choice(["0", "101", "-1", "abc"])]
    elif kind == "unknown":
        argv = [rng.choice(["say", "animate", "sync", "eval", "bench", "train", "prepare", "nope"]), "--frobnicate"]
    else:
        argv = [rng.choice(["say", "animate", "sync", "eval", "train", "prepare"])]
    renders = {"max-duration": {"1e308"}, "max-pixels": {"16384"}, "pitch": {"0"}}.get(kind, set())
    return Case("", argv=argv, outputs=["out.mp4"] if "-o" in argv else [], note=" ".join(argv)[:60],
                heavy=bool(set(argv) & renders))


def _manifest_line(rng: random.Random) -> str:
    depth = rng.choice([40, 1000, 100_000])
    return rng.choice([
        "[" * depth + "]" * depth,
        '{"id": "a", "x": ' + "{\"a\": " * depth + "1" + "}" * depth + "}",
        '{"id": "../../etc/passwd", "video": "../../../etc/passwd", "language": "en"}',
        '{"id": "a", "video": "/etc/passwd", "language": "en"}',
        '{"id": 1, "video": 2, "language": 3}',
        "\x00\x01\x02 binary",
        "not json",
        "[]", "null", "1e999", '"a string"',
        '{"id": "a", "language": "en", "video": "link.mp4"}',
        '{"id": "' + "a" * 100_000 + '"}',
        '{"id": "a", "frames": NaN, "duration": Infinity}',
    ])


@family("manifest")
def manifest(rng, box):
    ds = box / "ds"
    ds.mkdir()
    os.symlink("/etc/passwd", ds / "link.mp4")
    lines = [_manifest_line(rng) for _ in range(rng.randint(1, 3))]
    (ds / "manifest.jsonl").write_bytes(("\n".join(lines) + rng.choice(["\n", ""])).encode("utf-8", "surrogatepass"))
    cmd = rng.choice(["stats", "eval", "train"])
    if cmd == "stats":
        argv = ["bench", "stats", "ds", "--out", "stats"]
    elif cmd == "eval":
        video = _copy(box, "video.mp4").name
        argv = ["eval", "--real", video, "--gen", video, "--manifest", "ds", "--out", "ev", "--no-cache"]
    else:
        argv = ["train", "--config", "tiny", "--set", "data.kind=manifest", "--set", "data.root=ds",
                "--set", "train.out_dir=run"]
    return Case("", argv=argv, out_dirs=["stats", "ev", "run"], note=f"{cmd}: {lines[0][:40]!r}",
                heavy=cmd == "eval", timeout=300)


@family("config")
def config(rng, box):
    kind = rng.choice(["binary", "nested", "python-tag", "unknown-field", "wrong-type", "list", "aliases",
                       "inherit-loop", "empty", "missing", "dir", "bad-set", "huge-int"])
    p = box / "c.yaml"
    sets: list[str] = []
    if kind == "binary":
        p.write_bytes(bytes(rng.randrange(256) for _ in range(rng.choice([16, 3000]))))
    elif kind == "nested":
        p.write_text("model: " + "[" * 2000 + "]" * 2000 + "\n")
    elif kind == "python-tag":
        p.write_text("model: !!python/object/apply:os.system ['echo pwned']\n")
    elif kind == "unknown-field":
        p.write_text("model:\n  nope: 1\n")
    elif kind == "wrong-type":
        p.write_text("train:\n  max_steps: many\n")
    elif kind == "list":
        p.write_text("- a\n- b\n")
    elif kind == "aliases":
        p.write_text("a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
                     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
                     "model: [*d, *d, *d, *d, *d, *d, *d, *d]\n")
    elif kind == "inherit-loop":
        p.write_text("inherit: c.yaml\n")
    elif kind == "empty":
        p.write_text("")
        sets = ["--set", "train.max_steps=0"]
    elif kind == "missing":
        p = box / "nope.yaml"
    elif kind == "dir":
        p = box / "cdir"
        p.mkdir()
    elif kind == "bad-set":
        p = Path("tiny")
        sets = ["--set", rng.choice(["nokey", "=1", "train.max_steps=[", "train..x=1", "a" * 1000 + "=1",
                                     "train.batch_size=-1", "train.max_steps=1e309", "data.audio_augment=-1",
                                     "model.lambda_shape=-1", "model.lambda_viseme=.nan",
                                     "model.shape_quantile=1", "data.offsets=no_such_offsets.json"])]
    else:
        p.write_text("train:\n  max_steps: 99999999999999999999999999\n  batch_size: 0\n")
    return Case("", argv=["train", "--config", str(p), *sets, "--set", "train.out_dir=run"],
                out_dirs=["run"], note=kind, expect="error", heavy=kind in ("empty",), timeout=120)


@family("api", targets=("api",))
def api(rng, box):
    portrait = _copy(box, "portrait.png").name
    kind = rng.choice(["nul-text", "control-text", "array-float", "array-2d", "array-rgba", "array-empty",
                       "rate-float", "rate-str", "lang-none", "text-none", "text-bytes", "out-same",
                       "animate-nan-duration", "animate-str-duration", "pixels-huge"])
    kw: dict = {"text": SAY_TEXT, "language": "en", "output": "out.mp4", "image": portrait}
    func = "say"
    if kind == "nul-text":
        kw["text"] = rng.choice(["hi\x00there", "\x00", "hello\x00"])
    elif kind == "control-text":
        kw["text"] = "hi\x1b[31m there\x7f"
    elif kind.startswith("array"):
        shape, dtype = {"array-float": ((64, 64, 3), "float64"), "array-2d": ((64, 64), "uint8"),
                        "array-rgba": ((64, 64, 4), "uint8"), "array-empty": ((0, 0, 3), "uint8")}[kind]
        np.save(box / "img.npy", np.zeros(shape, dtype))
        kw["image"] = {"npy": str(box / "img.npy")}
    elif kind == "rate-float":
        kw["rate"] = 175.5
    elif kind == "rate-str":
        kw["rate"] = "fast"
    elif kind == "lang-none":
        kw["language"] = None
    elif kind == "text-none":
        kw["text"] = None
    elif kind == "text-bytes":
        kw["text"] = 12345
    elif kind == "out-same":
        kw["output"] = portrait
    elif kind == "pixels-huge":
        kw["max_pixels"] = 10**12
    else:
        func = "animate"
        speech = _copy(box, "speech.wav").name
        kw = {"audio": speech, "output": "out.mp4", "image": portrait,
              "max_duration": float("nan") if kind == "animate-nan-duration" else "10"}
    return Case("", api={"func": func, "kwargs": kw}, outputs=["out.mp4"], note=kind, expect="error")


def _long_run(rng: random.Random, box: Path) -> tuple[list[str], str]:
    """A ``say`` or an ``animate`` (its speech spooled to a private folder) of a few seconds."""
    portrait = _copy(box, "portrait.png").name
    if rng.random() < 0.5:
        text = " ".join(rng.choice(["hello", "world", "talking", "faces", "speak"]) for _ in range(rng.randint(3, 12)))
        return (["say", "--image", portrait, "--text", text, "--lang", "en", "-o", "out.mp4", "-q"],
                f"say ({len(text)} chars)")
    speech = _copy(box, "speech.wav").name
    text = rng.choice([["--text", "bonjour", "--lang", "fr"], []])
    return ["animate", "--image", portrait, "--audio", speech, *text, "-o", "out.mp4", "-q"], \
        f"animate{' --text' if text else ''}"


@family("signal", heavy=True)
def signals(rng, box):
    """SIGTERM from the spawn on (before babelface's entry its default ends the process quietly),
    Ctrl-C (SIGINT) from babelface's entry on (harness.wait_for_entry): one line, no temporary."""
    argv, what = _long_run(rng, box)
    sig = rng.choice([signal.SIGTERM, signal.SIGINT])
    delay = rng.choice([rng.uniform(0.0, 0.3), rng.uniform(0.0, 6.0)])   # the start-up and imports, often
    return Case("", argv=argv, outputs=["out.mp4"], signal_after=delay, heavy=True, signum=sig,
                note=f"{sig.name} after {delay:.2f} s during {what}")


@family("kill9", heavy=True)
def kill9(rng, box):
    """``say`` or ``animate`` killed with SIGKILL mid-run (its temporaries stay: the output's
    ``.out.mp4.PID.*`` and the private spool / voice folders), then run again: the rerun must remove
    what the dead run left and write a playable output."""
    argv, what = _long_run(rng, box)
    delay = rng.uniform(0.3, 5.0)
    return Case("", argv=argv, outputs=["out.mp4"], signal_after=delay, signum=9, rerun=True, heavy=True,
                note=f"kill -9 after {delay:.2f} s during {what}, then rerun")


@family("output-dir")
def output_dir(rng, box):
    """Folder outputs (``bench build/stats --out``, ``prepare --out``, ``eval --out``) given odd paths."""
    kind = rng.choice(["empty", "dash", "file", "file-parent", "proc", "sys", "long", "dev"])
    (box / "afile").write_text("keep")
    out = {"empty": "", "dash": "-", "file": "afile", "file-parent": "afile/sub", "proc": "/proc/x",
           "sys": "/sys/x", "long": "d" * 300, "dev": "/dev/shm/../null"}[kind]
    cmd = rng.choice(["build", "stats", "prepare", "eval"])
    if cmd == "build":
        argv = ["bench", "build", "--out", out, "--languages", "en", "--clips-per-language", "1", "-q"]
    elif cmd == "stats":
        argv = ["bench", "stats", "nope", "--out", out]
    elif cmd == "prepare":
        argv = ["prepare", _copy(box, "video.mp4").name, "--out", out]
    else:
        v = _copy(box, "video.mp4").name
        argv = ["eval", "--real", v, "--gen", v, "--out", out]
    return Case("", argv=argv, note=f"{cmd} --out {kind}", expect="error")


@family("dub", heavy=True)
def dub(rng, box):
    """`babelface dub` (issue: dubbing) given odd videos, speech, options and outputs."""
    video = _copy(box, "video.mp4").name
    kind = rng.choice(["mutated-video", "mutated-audio", "same-output", "audio-output", "options",
                       "no-speech", "odd-output", "plain"])
    argv = ["dub", video, "-o", "out.mp4", "--text", "hola", "--lang", "es", "-q"]
    note = kind
    if kind == "mutated-video":
        p, note = _mutated(rng, box, "video.mp4", [".mp4", ".mov", ".wav"])
        argv[1] = p.name
    elif kind == "mutated-audio":
        p, note = _mutated(rng, box, "speech.wav", [".wav", ".mp4"])
        argv = ["dub", video, "-o", "out.mp4", "--audio", p.name, "-q"]
    elif kind == "same-output":
        argv[3] = video
    elif kind == "audio-output":
        speech = _copy(box, "speech.wav").name
        argv = ["dub", video, "-o", speech, "--audio", speech, "-q"]
    elif kind == "options":
        opt = rng.choice([["--background-db", "nan"], ["--background-db", "1e9"], ["--crf", "-5"],
                          ["--crf", "99"], ["--max-duration", "nan"], ["--jobs", "0"], ["--shard", "3/2"],
                          ["--face", "-1"], ["--fit", "none"]])
        argv += opt
        note = " ".join(opt)
    elif kind == "no-speech":
        argv = ["dub", video, "-o", "out.mp4", "-q"]
    elif kind == "odd-output":
        out, note = odd_output(rng, box, [video])
        argv[3] = out
    outputs = ["out.mp4"] if "out.mp4" in argv else [argv[3].rstrip("/")] if note in RENDERED_NAMES else []
    return Case("", argv=argv, outputs=outputs, note=f"dub: {note}", heavy=True, timeout=400)
