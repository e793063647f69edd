"""Issue 10's new-speech figures (RESULTS.md): timing, Dur-Err, Int-Corr and loudness of
``babelface.dub.track.build_track`` on real videos, per language and per fit.

    nice python benchmarks/dub_audio.py [--no-write]

Rows:
- KatieHill (8.06 s, English, one pause) dubbed by text into es, zh (pinyin), ar, ja (kana), ru, hi
  with ``--fit segments`` (default), and es with ``stretch`` and ``none``;
- styletalk_Obama_clip1 (20 s, six pauses, three over 0.8 s) dubbed by a Spanish paragraph;
- sun.mp4 (22 s, no audio track) by each language's sample sentence in its own script (default fit: none);
- real voice-overs (../shared/data/real/speech: German, French, Japanese) stretched onto KatieHill,
  and KatieHill's own audio with its transcript (``none``).

Columns: the output audio's length minus the video's (frames), number of original VAD segments and
of new speech parts, the worst distance of a part's start/end from the nearest original segment
boundary (frames; segments fit only), espeak-ng rates used, Dur-Err (s), Int-Corr, loudness of the
new speech minus the original speech (LU, BS.1770), seconds to build.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, real_dir, write_section  # noqa: E402

from babelface.constants import FPS  # noqa: E402
from babelface.dub.mix import loudness, to_mono  # noqa: E402
from babelface.dub.track import build_track  # noqa: E402
from babelface.media import load_audio, probe_audio, probe_video  # noqa: E402
from babelface.phonetics.samples import SAMPLES  # noqa: E402

HEADING = "## dub: the new speech, its timing and loudness (issue 10)"
# KatieHill says (recognised transcript, tests/data): "…that's right, and friendly and easy, for my
# second week of new member orientation; additionally, where things are, how to use the titles"
KATIE = {
    "es": "Así es, es amable y fácil, en mi segunda semana de orientación para nuevos miembros. "
          "Además, dónde están las cosas y cómo usarlas.",
    "zh": "Dui4, zhe4 hen3 you3 hao3 ye3 hen3 rong2 yi4, zhe4 shi4 wo3 xin1 cheng2 yuan2 pei2 xun4 de5 "
          "di4 er4 zhou1. Ling4 wai4, dong1 xi1 zai4 na3 li3, zen3 me5 shi3 yong4.",
    "ar": "هذا صحيح، إنه ودود وسهل، في أسبوعي الثاني من توجيه الأعضاء الجدد. بالإضافة إلى ذلك، أين توجد "
          "الأشياء وكيف نستخدمها.",
    "ja": "そうです、しんせつで かんたんです、あたらしい メンバーの オリエンテーションの にしゅうめです。"
          "それから、ものが どこに あるか、どう つかうか。",
    "ru": "Верно, это дружелюбно и просто, на моей второй неделе ориентации новых членов. Кроме того, где "
          "что находится и как этим пользоваться.",
    "hi": "यह सही है, यह दोस्ताना और आसान है, नए सदस्यों के परिचय के मेरे दूसरे सप्ताह में। इसके अलावा, चीज़ें "
          "कहाँ हैं और उनका उपयोग कैसे करें।",
}
OBAMA_ES = ("Buenas tardes a todos. Hoy quiero hablarles de la economía, de los empleos y del futuro "
            "de nuestros hijos. Hemos avanzado mucho, pero queda trabajo por hacer. Juntos podemos "
            "lograrlo, y lo haremos. Gracias.")
VOICE_OVERS = ("dreamtalk_German1.wav", "dreamtalk_french1.wav", "dreamtalk_japan1.wav")


def _boundary_frames(track) -> float | None:
    """Worst |part start − nearest segment start| or |part end − nearest segment end|, in frames."""
    if track.fit != "segments" or not track.original_segments:
        return None
    starts = np.array([a for a, _ in track.original_segments])
    ends = np.array([b for _, b in track.original_segments])
    worst = max(max(np.abs(starts - s).min(), np.abs(ends - e).min()) for s, e, *_ in track.parts)
    return float(worst * FPS)


def _loudness_gap(track, original, rate) -> float | None:
    if original is None or not track.original_segments:
        return None
    mono = to_mono(original)
    old = np.concatenate([mono[int(a * rate):int(b * rate)] for a, b in track.original_segments])
    new = np.concatenate([track.speech[int(s * track.sample_rate):int(e * track.sample_rate)]
                          for s, e, *_ in track.parts])
    return loudness(new, track.sample_rate) - loudness(old, rate)


def dub_row(name: str, video: Path, **kw) -> dict:
    info = probe_video(video)
    original, rate = None, None
    if info.has_audio:
        original, rate = load_audio(video, sample_rate=None, mono=False), probe_audio(video).sample_rate
    t0 = time.perf_counter()
    track = build_track(info.duration_s, original, rate, **kw)
    seconds = time.perf_counter() - t0
    rates = [w for *_, w, _ in track.parts if w]
    return {
        "row": name, "fit": track.fit, "voice": track.voice or "-",
        "len_err_frames": (len(track.audio) / track.sample_rate - info.duration_s) * FPS,
        "segments": len(track.original_segments), "parts": len(track.parts),
        "boundary_frames": _boundary_frames(track),
        "wpm": f"{min(rates)}–{max(rates)}" if rates else "-",
        "dur_err": track.dur_err, "int_corr": track.int_corr,
        "loudness_lu": _loudness_gap(track, original, rate), "seconds": seconds,
        "warnings": len(track.warnings),
    }


def rows(real: Path) -> list[dict]:
    katie = real / "WDA_KatieHill_000.mp4"
    out = [dub_row(f"KatieHill {lang}", katie, text=text, language=lang) for lang, text in KATIE.items()]
    out += [dub_row(f"KatieHill es {fit}", katie, text=KATIE["es"], language="es", fit=fit)
            for fit in ("stretch", "none")]
    out.append(dub_row("Obama_clip1 es", real / "corpus" / "styletalk_Obama_clip1.mp4",
                       text=OBAMA_ES, language="es"))
    out += [dub_row(f"sun {lang}", real / "sun.mp4", text=SAMPLES[lang], language=lang) for lang in KATIE]
    out += [dub_row(f"KatieHill ← {v.split('_')[1].split('.')[0]} voice-over", katie,
                    audio=real / "speech" / v, fit="stretch") for v in VOICE_OVERS]
    transcript = " ".join(l for l in (ROOT / "tests" / "data" / "WDA_KatieHill_000.txt").read_text().splitlines()
                          if not l.startswith("#"))
    out.append(dub_row("KatieHill own voice + transcript", katie, audio=katie, text=transcript, language="en"))
    return out


def _fmt(x, spec: str) -> str:
    return "–" if x is None else format(x, spec)


def table(results: list[dict]) -> str:
    head = ("| dub | fit | voice | audio − video (frames) | orig. segments | parts | worst boundary "
            "(frames) | wpm | Dur-Err (s) | Int-Corr | new − orig. loudness (LU) | warnings | s |\n"
            "| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |\n")
    lines = [f"| {r['row']} | {r['fit']} | {r['voice']} | {r['len_err_frames']:+.3f} | {r['segments']} | "
             f"{r['parts']} | {_fmt(r['boundary_frames'], '.2f')} | {r['wpm']} | {_fmt(r['dur_err'], '.3f')} | "
             f"{_fmt(r['int_corr'], '.3f')} | {_fmt(r['loudness_lu'], '+.2f')} | {r['warnings']} | "
             f"{r['seconds']:.1f} |" for r in results]
    return head + "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = ap.parse_args()
    results = rows(real_dir())
    text = (f"Command: `nice python benchmarks/dub_audio.py` ({machine(1)}; the machine was shared and "
            "loaded, so the seconds are upper bounds). Each row is one `build_track` (the audio half "
            "of `babelface dub`): fitting, voice, motion, mix and the two JUST-DUB-IT audio metrics "
            "(Dur-Err: |new speech span − original speech span|; Int-Corr: Pearson r of per-frame RMS "
            "envelopes, original vs dubbed output).\n\n" + table(results))
    print(text)
    if not args.no_write:
        write_section(HEADING, text, "RESULTS.md")


if __name__ == "__main__":
    main()
