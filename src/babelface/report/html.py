"""The evaluation report as one self-contained HTML file (``babelface eval --html report.html``).

It opens from disk in any browser, with no server: the per-language table (Seen / Unseen /
Overall rows), the report's plots inlined as PNG data URIs, and for each clip the real and the
generated video side by side, played together (a few lines of JavaScript keep the generated one on
the real one's clock), with two inline SVG plots under them: the inner-lip gap of both over time
(a cursor follows the playback) and the sync curve S(Δ) of both (SyncLipMAE §4.1, the sync
expert, :mod:`babelface.sync`). Videos up to ``embed_mb`` are embedded as data URIs; larger ones
are referenced by their path relative to the HTML file, so keep them beside it.
"""

from __future__ import annotations

import base64
import html
import os
import tempfile
import urllib.parse
from pathlib import Path

import numpy as np

from babelface.constants import FPS, SAMPLE_RATE
from babelface.errors import BabelfaceError
from babelface.evaluation.runner import ClipResult, EvalReport
from babelface.report.tables import CLOSURE_COLUMNS, CLOSURE_R, COLUMNS, UNITS, rows, table_columns

EMBED_MB = 4.0                     # videos up to this size are embedded in the HTML file
REAL_COLOUR, GEN_COLOUR = "#222222", "#C44E52"
TICK_COLOUR = "#2F9E44"                 # the /p b m/ marks on the gap plot
PLOT_W, PLOT_H, PAD, LEFT = 560, 170, 30, 64   # inline SVG size, margin and left margin, px

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1180px;padding:0 16px;color:#222}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ccd;padding:3px 8px;text-align:right}
th:first-child,td:first-child,td:nth-child(2){text-align:left}tr.avg td{font-weight:600;background:#f3f4f8}
img.plot{max-width:100%;border:1px solid #eee;margin:6px 0}.clip{border-top:1px solid #ccd;padding:12px 0}
.pair{display:flex;gap:12px}.pair figure{margin:0;flex:0 1 420px}.pair video{width:100%;background:#000}
figcaption{font-size:12px;color:#555}.plots{display:flex;gap:12px;flex-wrap:wrap}.note{color:#666;font-size:12px}
.error{color:#b00020}svg text{font:11px system-ui,sans-serif;fill:#444}
"""

JS = """
for (const clip of document.querySelectorAll('.clip')) {
  const real = clip.querySelector('video.real'), gen = clip.querySelector('video.gen');
  const cursor = clip.querySelector('line.cursor');
  if (!real || !gen) continue;
  const follow = () => { if (Math.abs(gen.currentTime - real.currentTime) > 0.05) gen.currentTime = real.currentTime; };
  real.addEventListener('play', () => { follow(); gen.play(); });
  real.addEventListener('pause', () => gen.pause());
  real.addEventListener('seeked', follow);
  real.addEventListener('ratechange', () => { gen.playbackRate = real.playbackRate; });
  const tick = () => {
    follow();
    if (cursor) {
      const x0 = +cursor.dataset.px0, x1 = +cursor.dataset.px1, t1 = +cursor.dataset.t1;
      const x = x0 + (x1 - x0) * Math.min(real.currentTime / t1, 1);
      cursor.setAttribute('x1', x); cursor.setAttribute('x2', x);
    }
    if (!real.paused) requestAnimationFrame(tick);
  };
  real.addEventListener('play', () => requestAnimationFrame(tick));
  real.addEventListener('seeked', tick);
  clip.querySelector('select.sound').addEventListener('change', (e) => {
    real.muted = e.target.value !== 'real'; gen.muted = e.target.value !== 'gen';
  });
}
"""


# --- pieces ------------------------------------------------------------------------------------
def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _video_src(path: Path, html_dir: Path, embed_bytes: int) -> str:
    if path.stat().st_size <= embed_bytes:
        return _data_uri(path.read_bytes(), "video/mp4")
    rel = os.path.relpath(path.resolve(), html_dir.resolve())
    return urllib.parse.quote(Path(rel).as_posix())


def _png(make) -> str:
    """A report plot (``make(path)`` writes a PNG) as a data URI."""
    with tempfile.TemporaryDirectory(prefix="babelface-report-") as tmp:
        out = Path(tmp) / "plot.png"
        make(out)
        return _data_uri(out.read_bytes(), "image/png")


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def svg_plot(series: list[tuple[str, np.ndarray, np.ndarray, str]], xlabel: str, ylabel: str,
             marker: float | None = None, cursor_t1: float | None = None, title: str = "",
             ticks: np.ndarray | None = None, ticks_label: str = "") -> str:
    """Line plot as inline SVG. ``series``: (label, x (n,), y (n,), colour); NaN breaks a line.
    ``marker``: a dotted vertical line at that x; ``cursor_t1``: a moving cursor over x ∈ [0, t1];
    ``ticks``: thin vertical lines at these x (``ticks_label`` names them in the legend)."""
    xs = np.concatenate([s[1] for s in series]) if series else np.zeros(1)
    ys = np.concatenate([s[2] for s in series]) if series else np.zeros(1)
    ok = np.isfinite(ys)
    x0, x1 = (float(xs.min()), float(xs.max())) if len(xs) else (0.0, 1.0)
    y0, y1 = (float(ys[ok].min()), float(ys[ok].max())) if ok.any() else (0.0, 1.0)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1e-3)
    w, h = PLOT_W - LEFT - PAD, PLOT_H - 2 * PAD

    def px(x):
        return LEFT + (np.asarray(x, float) - x0) / (x1 - x0) * w

    def py(y):
        return PAD + h - (np.asarray(y, float) - y0) / (y1 - y0) * h

    parts = [f'<svg class="plot" width="{PLOT_W}" height="{PLOT_H}" viewBox="0 0 {PLOT_W} {PLOT_H}" '
             f'role="img" aria-label="{html.escape(title or ylabel)}">',
             f'<rect x="{LEFT}" y="{PAD}" width="{w}" height="{h}" fill="#fafafa" stroke="#ccc"/>',
             f'<text x="{LEFT}" y="{PAD - 8}">{html.escape(title)}</text>',
             f'<text x="{LEFT + w / 2}" y="{PLOT_H - 4}" text-anchor="middle">{html.escape(xlabel)}</text>',
             f'<text x="10" y="{PAD + h / 2}" transform="rotate(-90 10 {PAD + h / 2})" '
             f'text-anchor="middle">{html.escape(ylabel)}</text>']
    for v, anchor in ((x0, "start"), (x1, "end")):
        parts.append(f'<text x="{px(v):.1f}" y="{PAD + h + 13}" text-anchor="{anchor}">{_fmt(v)}</text>')
    for v in (y0, y1):
        parts.append(f'<text x="{LEFT - 3}" y="{py(v) + 4:.1f}" text-anchor="end">{_fmt(v)}</text>')
    if marker is not None:
        parts.append(f'<line x1="{px(marker):.1f}" x2="{px(marker):.1f}" y1="{PAD}" y2="{PAD + h}" '
                     'stroke="#888" stroke-dasharray="3 3"/>')
    inside = [] if ticks is None else [float(v) for v in ticks if x0 <= v <= x1]
    for v in inside:
        parts.append(f'<line class="tick" x1="{px(v):.1f}" x2="{px(v):.1f}" y1="{PAD}" y2="{PAD + h}" '
                     f'stroke="{TICK_COLOUR}" stroke-width="1"/>')
    if inside and ticks_label:
        parts.append(f'<text x="{LEFT + 4}" y="{PAD + 14}" fill="{TICK_COLOUR}" style="fill:{TICK_COLOUR}">'
                     f'{html.escape(ticks_label)}</text>')
    for i, (label, x, y, colour) in enumerate(series):
        for seg in _segments(np.asarray(x, float), np.asarray(y, float)):
            pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px(seg[0]), py(seg[1])))
            parts.append(f'<polyline class="series" data-label="{html.escape(label)}" points="{pts}" '
                         f'fill="none" stroke="{colour}" stroke-width="1.4"/>')
        parts.append(f'<text x="{LEFT + w - 4}" y="{PAD + 14 + 13 * i}" text-anchor="end" '
                     f'fill="{colour}" style="fill:{colour}">{html.escape(label)}</text>')
    if cursor_t1 is not None:
        parts.append(f'<line class="cursor" x1="{LEFT}" x2="{LEFT}" y1="{PAD}" y2="{PAD + h}" stroke="#3b5bdb" '
                     f'stroke-width="1.5" data-px0="{px(0):.1f}" data-px1="{px(cursor_t1):.1f}" '
                     f'data-t1="{cursor_t1:.3f}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _segments(x: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    ok = np.isfinite(y)
    out, start = [], None
    for i in range(len(y) + 1):
        if i < len(y) and ok[i]:
            start = i if start is None else start
        elif start is not None:
            out.append((x[start:i], y[start:i]))
            start = None
    return out


# --- the sync curves --------------------------------------------------------------------------
def sync_curve(video: Path, cache, embedding) -> tuple[np.ndarray | None, str]:
    """S(Δ) ``(31,)`` of a video with its own audio (landmarks from the evaluation's cache)."""
    from babelface.media import load_audio
    from babelface.sync import analyze
    try:
        landmarks = cache.get(video).landmarks
        audio = load_audio(video, SAMPLE_RATE)
        return analyze(audio, landmarks, embedding, source=video.name).curve, ""
    except (BabelfaceError, ValueError) as e:
        return None, str(e)


# --- the page ----------------------------------------------------------------------------------
def _table(report: EvalReport) -> str:
    columns = table_columns(report)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in ["Language", "Type", "N"] + [c[1] for c in columns])
    body = []
    for label, split, r in rows(report):
        avg = label.startswith("**")
        cells = [html.escape(label.strip("*")), split, str(r["n"])]
        cells += ["–" if r.get(k) is None else f.format(r[k]) for k, _, f in columns]
        body.append(f'<tr{" class=avg" if avg else ""}>' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f'<table class="summary"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _clip(c: ClipResult, html_dir: Path, embed_bytes: int, cache, embedding) -> str:
    title = f"{html.escape(c.id)} <small>({html.escape(c.language)})</small>"
    if not c.ok:
        return f'<div class="clip failed"><h3>{title}</h3><p class="error">{html.escape(c.error or "")}</p></div>'
    m = c.metrics
    summary = ", ".join(f"{h} {f.format(m[k])}" for k, h, f in COLUMNS if m.get(k) is not None)
    real, gen = Path(c.real), Path(c.gen)
    t = np.arange(len(c.opening_real)) / FPS
    gap = svg_plot([("real", t, c.opening_real, REAL_COLOUR),
                    ("generated", t[:len(c.opening_gen)], c.opening_gen, GEN_COLOUR)],
                   "time (s)", "inner-lip gap (IOD)", cursor_t1=float(len(t) / FPS) if len(t) else None,
                   title="inner-lip gap (landmarks 13–14, canonical)", ticks=c.bilabials_s,
                   ticks_label="| /p b m/ in the speech: the lips should be shut")
    closure = [f"{h} {f.format(m[k])}" for k, h, f in CLOSURE_COLUMNS + CLOSURE_R
               if m.get(k) is not None]
    if closure:
        summary += "; " + ", ".join(closure)
    curves, notes = [], []
    for label, path, colour in (("real", real, REAL_COLOUR), ("generated", gen, GEN_COLOUR)):
        curve, why = sync_curve(path, cache, embedding)
        if curve is None:
            notes.append(f"no S(Δ) for the {label} video: {why}")
        else:
            deltas = np.arange(len(curve)) - len(curve) // 2
            curves.append((f"{label} (Δ̂ {int(deltas[np.nanargmax(curve)]):+d})", deltas, curve, colour))
    sync = svg_plot(curves, "Δ (frames; positive: video lags audio)", "S(Δ)", marker=0.0,
                    title="sync curve S(Δ), sync expert") if curves else ""
    return (f'<div class="clip" id="clip-{html.escape(c.id)}"><h3>{title}</h3><p>{html.escape(summary)}</p>'
            f'<div class="pair"><figure><video class="real" controls preload="metadata" '
            f'src="{_video_src(real, html_dir, embed_bytes)}"></video><figcaption>real: {html.escape(real.name)}'
            f'</figcaption></figure><figure><video class="gen" muted preload="metadata" '
            f'src="{_video_src(gen, html_dir, embed_bytes)}"></video><figcaption>generated: '
            f'{html.escape(gen.name)} (follows the real one)</figcaption></figure></div>'
            '<label class="note">sound: <select class="sound"><option value="real">real</option>'
            '<option value="gen">generated</option></select></label>'
            f'<div class="plots">{gap}{sync}</div>'
            + "".join(f'<p class="note">{html.escape(n)}</p>' for n in notes) + "</div>")


def write_html(report: EvalReport, path: str | Path, cache=None, embedding=None,
               embed_mb: float = EMBED_MB) -> Path:
    """Write the report to ``path`` (atomic). ``cache``: the evaluation's
    :class:`~babelface.evaluation.cache.LandmarkCache` (landmarks of each video for S(Δ));
    ``embedding``: the sync embedding (default: the shipped sync expert)."""
    from babelface.evaluation.cache import LandmarkCache
    from babelface.media._atomic import atomic_write_text
    from babelface.progress import progress
    from babelface.report.plots import plot_language_bars, plot_mouth_curves
    from babelface.sync import SyncExpertEmbedding
    path = Path(path)
    cache = cache or LandmarkCache()
    embedding = embedding or SyncExpertEmbedding()
    plots = [_png(lambda p: plot_language_bars(report, p))]
    if any(c.ok for c in report.clips):
        plots.append(_png(lambda p: plot_mouth_curves(report, p)))
    clips = [_clip(c, path.parent, int(embed_mb * 2 ** 20), cache, embedding)
             for c in progress(report.clips, total=len(report.clips), desc="report", unit="clip")]
    notes = [report.sync, report.fvd, report.fid] + report.notes
    page = ("<!doctype html><html lang=en><head><meta charset=utf-8><title>babelface evaluation</title>"
            f"<style>{CSS}</style></head><body><h1>babelface evaluation</h1>"
            f"<h2>Per language</h2>{_table(report)}<p class=note>{html.escape(UNITS)}</p>"
            + "".join(f"<p class=note>{html.escape(n)}</p>" for n in notes if n)
            + "<h2>Plots</h2>" + "".join(f'<img class="plot" alt="plot" src="{p}">' for p in plots)
            + f"<h2>Clips ({len(report.clips)})</h2>" + "".join(clips)
            + f"<script>{JS}</script></body></html>")
    atomic_write_text(path, page)
    return path
