"""Options and output shared by several subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: X)" only where there is a default worth reading."""

    def _get_help_string(self, action):
        if action.default in (None, False, argparse.SUPPRESS) or "%(default)" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true",
                   help="print a machine-readable JSON summary on stdout (no progress bars)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def add_thread_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, metavar="N",
                   help="cores to use (default: all this process may run on); the library thread "
                        "pools are pinned to one and the cores go to frame workers and the encoder")


def add_quality_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quality", choices=("fast", "balanced", "best"), default="balanced",
                   help="H.264 encoding: fast = CRF 20, preset superfast (previews: ~1.7x faster "
                        "encode); balanced = CRF 18, veryfast; best = CRF 16, medium (highest "
                        "quality: ~3x slower encode, ~1.4x larger file)")


def add_renderer_option(p: argparse.ArgumentParser) -> None:
    """``--renderer NAME``: a key of :data:`babelface.models.protocols.RENDERERS` (checked when used)."""
    from babelface.models.protocols import DEFAULT_RENDERER, RENDERERS
    p.add_argument("--renderer", default=DEFAULT_RENDERER, metavar="NAME",
                   help=f"what draws the frames: {' | '.join(sorted(RENDERERS))} (warp: the "
                        "landmark-driven warp of the portrait)")


def add_head_options(p: argparse.ArgumentParser) -> None:
    """Issue 14: head motion, blinks, gaze and brows driven by the speech (docs/head.md)."""
    g = p.add_argument_group("head and eyes")
    g.add_argument("--head-motion", type=float, default=1.0, metavar="AMOUNT",
                   help="head turns, nods and tilts, gaze and brows: 0 = still, 1 = natural "
                        "(statistics of real talking-face video), up to 2")
    g.add_argument("--blink", action=argparse.BooleanOptionalAction, default=True,
                   help="eyelids blink, more often at pauses and phrase ends")
    g.add_argument("--seed", type=int, default=0,
                   help="draws the motion: another seed, other motion; the same seed, the same video")
    g.add_argument("--still", action="store_true",
                   help="move the mouth only (no head, eyes or brows): the output of earlier versions")


def head_options(args):
    """The :class:`babelface.pipeline.HeadOptions` of parsed arguments."""
    from babelface.pipeline import HeadOptions
    return HeadOptions(amount=args.head_motion, blink=args.blink, seed=args.seed, still=args.still)


def _default(o: Any):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, ensure_ascii=False, indent=2, default=_default)
    sys.stdout.write("\n")


def checked_dir(path, option: str = "--out"):
    """An output folder checked before any work (:func:`babelface.outputs.check_output_dir`)."""
    from babelface.outputs import check_output_dir
    return check_output_dir(path, option)


def checked_output(path, *inputs, option: str = "-o"):
    """``path`` checked before any work starts (:func:`babelface.outputs.check_output_path`):
    a file name in a writable folder, not a folder, not under /proc, /sys or /dev, none of ``inputs``."""
    from babelface.outputs import check_output_path
    return check_output_path(path, inputs, option)


def words_for_language(args) -> None:
    """``--lang`` given for speech without its words (``animate``, ``dub --audio``): the audio-only
    models need no language, and on real voices they barely close the lips at /p b m/ (RESULTS.md
    "Do the lips close at /p b m/?"). English speech is therefore recognised, as ``--transcribe``
    does, when pocketsphinx is installed and nothing else was asked for (no ``--model``,
    ``--adapt`` or ``--refine``); any other case keeps the audio-only model and says that the
    language is not used. A note on stderr either way."""
    if args.text is not None or args.transcribe or not args.lang:
        return
    from babelface.phonetics import recognise
    english = args.lang.split("-")[0].lower() in recognise.LANGUAGES
    asked = getattr(args, "model", None) is not None or getattr(args, "adapt", False) \
        or getattr(args, "refine", None) is not None
    if english and not asked:
        if recognise.available(args.lang):
            args.transcribe = True
            print("babelface: note: English speech without --text: recognising its words (as --transcribe) so "
                  "that the lips close at /p b m/; --model muex keeps the audio-only model", file=sys.stderr)
            return
        print("babelface: note: --lang en without --text: pip install 'babelface[asr]' to recognise the words "
              "(the lips then close at /p b m/); the audio-only model drives the mouth", file=sys.stderr)
        return
    print(f"babelface: note: --lang {args.lang} is the transcript's language; without --text the "
          + ("chosen model" if asked else "audio-only model") + " drives the mouth and needs no language",
          file=sys.stderr)
