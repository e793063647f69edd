"""The motion of a video cut into the segments that are drawn and encoded side by side (issue 16).

:func:`segment_jobs` turns streamed motion chunks into one job per segment of
:func:`babelface.media.segments.plan_segments`: a callable that draws that segment's frames, the
mouth (:class:`~babelface.render.upright.UprightRenderer`) and then the head, eyes and brows
(:class:`~babelface.render.head.HeadRenderer`), on whichever thread calls it.
:func:`babelface.media.segments.encode_segments` runs the jobs, each on one core next to its own
x264 encoder. A frame depends on its motion frame alone, so the frames are those of one serial
render, in the same order.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

import numpy as np

from babelface.concurrency import ordered_map, prefetch

Job = Callable[[], Iterable[np.ndarray]]


def segment_jobs(renderer, chunks: Iterable[np.ndarray], plan: list[tuple[int, int]], *,
                 articulation: np.ndarray | None = None, head_stage=None,
                 head: np.ndarray | None = None, workers: int = 1) -> Iterator[Job]:
    """One job per ``(start, stop)`` of ``plan``, as the motion ``chunks`` ``(t, L, 3)`` arrive
    (the next chunk is computed while these render: a queue of one). ``articulation`` ``(T, P)``
    and ``head`` ``(T, C)`` (drawn by ``head_stage``) cover the whole video. Motion that ends
    before the plan does ends the jobs there. ``workers``: the thread budget; a video of one
    segment has its mouth drawn by that many threads (:meth:`Renderer.render_sequence`), as the
    one encoder cannot use them."""
    inner = workers if len(plan) == 1 else 1
    for start, motion in _cut(prefetch(chunks, depth=1), plan):
        stop = start + len(motion)
        art = None if articulation is None else articulation[start:stop]
        moves = None if head_stage is None else head[start:stop]
        yield _job(renderer, motion, art, head_stage, moves, inner)


def _job(renderer, motion: np.ndarray, articulation, head_stage, head, workers: int) -> Job:
    def frames() -> Iterable[np.ndarray]:
        out = renderer.render_sequence(motion, articulation=articulation, workers=workers)
        if head_stage is None:
            return out
        if workers == 1:
            return head_stage.apply(out, head)
        return ordered_map(lambda job: next(iter(head_stage.apply([job[1]], head[job[0]:job[0] + 1]))),
                           enumerate(out), workers)
    return frames


def _cut(chunks: Iterable[np.ndarray], plan: list[tuple[int, int]]) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, motion[start:stop])`` for each segment of ``plan``, from chunks of any length."""
    it = iter(chunks)
    parts: list[np.ndarray] = []
    first, have = 0, 0                                          # parts hold frames [first, have)
    for start, stop in plan:
        while have < stop:
            chunk = next(it, None)
            if chunk is None:
                break
            parts.append(chunk)
            have += len(chunk)
        if have <= start:
            return
        frames = np.concatenate(parts) if len(parts) > 1 else parts[0]
        yield start, frames[start - first:stop - first]
        parts, first = [frames[stop - first:]], stop
