"""The evaluation report as tables: Markdown on screen, CSV and JSON on disk (MuEx Tables 1–2 layout)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from babelface.evaluation.runner import METRICS, EvalReport

# (key, header, format) of the on-screen table, in MuEx's order plus the JUST-DUB-IT columns
COLUMNS = (
    ("lse_d", "LSE-D ↓", "{:.4f}"),
    ("tmdc", "TMDC ↑", "{:.3f}"),
    ("mar_div", "MAR-div ↑", "{:.4f}"),
    ("lmd", "LMD ↓", "{:.4f}"),
    ("sync_c", "Sync-C ↑", "{:.3f}"),
    ("sync_d", "Sync-D ↓", "{:.3f}"),
    ("fvd", "FVD ↓", "{:.2f}"),
)
UNITS = ("LSE-D, LMD: mean lip-landmark distance in inter-ocular distances after canonical alignment "
         "(docs/metrics.md); TMDC: mean Pearson r of 5 mouth features; MAR-div: std of the mouth aspect "
         "ratio of the generated video.")


def _language_name(code: str) -> str:
    from babelface.phonetics.languages import LANGUAGES
    lang = LANGUAGES.get(code)
    return lang.name if lang else code


def _order(report: EvalReport) -> list[str]:
    from babelface.phonetics.languages import BENCHMARK_CODES
    rank = {c: i for i, c in enumerate(BENCHMARK_CODES)}
    return sorted(report.languages, key=lambda c: (report.languages[c]["seen"] is not True,
                                                   report.languages[c]["seen"] is None, rank.get(c, 99), c))


def _cell(value, fmt: str) -> str:
    return "–" if value is None else fmt.format(value)


def rows(report: EvalReport) -> list[tuple[str, str, dict]]:
    """``(label, split, row)`` in table order: languages, then Seen / Unseen / Overall."""
    out = []
    known = any(c != "unknown" for c in report.languages)
    if known:
        for code in _order(report):
            r = report.languages[code]
            split = {True: "Seen", False: "Unseen", None: "–"}[r["seen"]]
            out.append((_language_name(code), split, r))
        if report.seen["languages"]:
            out.append(("**Seen Avg**", "", report.seen))
        if report.unseen["languages"]:
            out.append(("**Unseen Avg**", "", report.unseen))
    out.append(("**Overall**", "", report.overall))
    return out


CLOSURE_COLUMNS = (("closure_ms", "Lip closures ms", "{:+.0f}"), ("closure_ms_real", "Real: closures ms", "{:+.0f}"))
CLOSURE_UNITS = ("Lip closures: the audio-video offset read from the lip closures at /p b m/ "
                 "(babelface.lip_closure), mean over the clips it can read, ms, + = the mouth is late.")


CLOSURE_R = (("closure_r", "closure r", "{:.2f}"), ("closure_r_real", "real closure r", "{:.2f}"))


def table_columns(report: EvalReport) -> tuple:
    """:data:`COLUMNS`, and the lip-closure offsets when any clip's were read (``--lip-closures``)."""
    closures = any(c.metrics.get(k) is not None for c in report.clips for k, _, _ in CLOSURE_COLUMNS)
    return COLUMNS + (CLOSURE_COLUMNS if closures else ())


def markdown(report: EvalReport) -> str:
    """The per-language table with the notes under it (the lip-closure columns when they were read)."""
    columns = table_columns(report)
    closures = len(columns) > len(COLUMNS)
    head = "| Language | Type | N | " + " | ".join(h for _, h, _ in columns) + " |"
    sep = "|" + "---|" * (3 + len(columns))
    lines = [head, sep]
    for label, split, r in rows(report):
        cells = [_cell(r.get(k), f) for k, _, f in columns]
        lines.append(f"| {label} | {split} | {r['n']} | " + " | ".join(cells) + " |")
    lines += ["", UNITS] + ([CLOSURE_UNITS] if closures else []) + [f"Sync: {report.sync}", report.fvd]
    rate = report.overall.get("success_rate")
    if report.missing or report.overall["failed"]:
        lines.append(f"Success rate: {rate:.1%} ({report.overall['failed']} clip(s) failed or missing).")
    return "\n".join(lines)


def _csv(header: list[str], records: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for rec in records:
        w.writerow({k: ("" if rec.get(k) is None else rec.get(k)) for k in header})
    return buf.getvalue()


def clips_csv(report: EvalReport) -> str:
    header = (["id", "language", "split"] + list(METRICS)
              + ["n_frames_real", "n_frames_gen", "face_frames", "error", "real", "gen"])
    return _csv(header, [c.to_dict() for c in report.clips])


def summary_csv(report: EvalReport) -> str:
    header = ["row", "split", "n", "failed"] + list(METRICS) + ["fvd", "fvd_samples", "fid", "fid_samples"]
    d = report.to_dict()
    recs = [{"row": code, "split": {True: "seen", False: "unseen"}.get(r["seen"], ""), **r}
            for code, r in d["languages"].items()]
    recs += [{"row": name, **d[name]} for name in ("seen", "unseen", "overall")]
    return _csv(header, recs)


def write_outputs(report: EvalReport, out_dir: str | Path, plots: bool = True) -> list[Path]:
    """``eval.json``, ``clips.csv``, ``summary.csv``, ``table.md`` and the plots into ``out_dir``."""
    from babelface.media._atomic import atomic_write_text
    out = Path(out_dir)
    files = {
        "eval.json": json.dumps(report.to_dict(), ensure_ascii=False, indent=2),
        "clips.csv": clips_csv(report),
        "summary.csv": summary_csv(report),
        "table.md": markdown(report) + "\n",
    }
    written = []
    for name, text in files.items():
        atomic_write_text(out / name, text)
        written.append(out / name)
    if plots:
        from babelface.report.plots import plot_language_bars, plot_mouth_curves
        written.append(plot_language_bars(report, out / "languages.png"))
        written.append(plot_mouth_curves(report, out / "mouth_opening_worst.png"))
    return written
