"""`babelface tokenize`: a clip's motion as VQTalker's GRFSQ codes, with bitrate and reconstruction error."""

from __future__ import annotations

from pathlib import Path

from babelface.cli.common import HelpFormatter, add_output_options, print_json
from babelface.errors import FaceError, InputError

MOTION_SUFFIXES = (".npy", ".npz")


def register(sub) -> None:
    p = sub.add_parser(
        "tokenize", help="turn a video's (or a motion file's) mouth motion into VQTalker motion tokens",
        description="Read the mouth motion of INPUT — a video (MediaPipe landmarks at 25 fps, as "
                    "`eval` extracts them) or a motion file (.npy of shape (T, 111, 3), or .npz with a "
                    "`motion` array, as the prepared corpora store it) — and encode it with VQTalker's "
                    "motion tokenizer (Group-Residual FSQ, VQTalker Alg. 1). Reports the codes "
                    "(groups × residual layers × frames), the bitrate, the share of each group's codes "
                    "used, and how far the decoded motion is from the input (LSE-D, LMD in inter-ocular "
                    "units; TMDC, a correlation).",
        epilog="Example: babelface tokenize clip.mp4 --json",
        formatter_class=HelpFormatter)
    p.add_argument("input", type=Path, help="a video, or motion as .npy / .npz")
    p.add_argument("--weights", type=Path, default=None,
                   help="a VQTalker or motion-tokenizer checkpoint (.safetensors) (default: the shipped VQTalker's tokenizer)")
    add_output_options(p)
    p.set_defaults(func=run)


def read_motion(path: Path):
    """Motion ``(T, 111, 3)`` of a motion file or a video (NaN frames where no face)."""
    import numpy as np
    from babelface.face.indices import N_MOTION
    if not path.is_file():
        raise InputError(f"{path}: no such file: give a video or a .npy/.npz motion file")
    if path.suffix.lower() in MOTION_SUFFIXES:
        try:
            data = np.load(path, allow_pickle=False)
            motion = data["motion"] if path.suffix.lower() == ".npz" else data
        except (ValueError, OSError, KeyError) as e:
            raise InputError(f"{path}: not a motion file ({e}): give (T, {N_MOTION}, 3) float motion") from e
        motion = np.asarray(motion, np.float32)
        if motion.ndim != 3 or motion.shape[1:] != (N_MOTION, 3) or len(motion) == 0:
            raise InputError(f"{path}: motion must be (T, {N_MOTION}, 3), got {motion.shape}")
        return motion
    from babelface.evaluation.cache import LandmarkCache
    from babelface.motion.representation import landmarks_to_motion
    lm = LandmarkCache().get(path)
    if lm.face_frames == 0:
        raise FaceError(f"{path}: no face found in any frame: give a video with a visible, frontal face")
    return landmarks_to_motion(lm.landmarks)[0]


def run(args) -> int:
    from babelface.models.motion_tokenizer import load_tokenizer, tokenize_motion
    motion = read_motion(args.input)
    report = {"input": str(args.input), **tokenize_motion(load_tokenizer(args.weights), motion)}
    if args.json:
        print_json(report)
        return 0
    print(f"{report['frames']} frames ({report['face_frames']} with a face) → codes "
          f"{report['groups']} groups × {report['residuals']} layers × {report['frames']} frames, "
          f"{report['codebook_size']} codes each")
    print(f"bitrate: {report['bitrate_bps'] / 1000:.2f} kbps (raw float32 motion: "
          f"{report['raw_float32_bps'] / 1000:.1f} kbps)")
    print(f"reconstruction: LSE-D {report['lse_d']:.4f}  LMD {report['lmd']:.4f}  TMDC {report['tmdc']:.3f}")
    usage = report["code_usage_per_group"]
    print(f"codes used per group: {min(usage):.1%} … {max(usage):.1%}")
    return 0
