"""Issue 11, "the text path at least as good as audio-only": ``text-audio`` (the default with a
transcript) blends the transcript's motion with ``muex-real``'s, TEXT_SHARE of the transcript's
(RESULTS.md, "The text path blended with the audio"). The streamed blend joins into the whole
one, animate runs the partner in a process of its own at two cores, and ``--model text`` keeps
the transcript alone."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from babelface.models.transcript import (TEXT_SHARE, TEXT_SHARE_DTW, TranscriptAudioGenerator, TranscriptGenerator,
                                         blend)
from tests.test_speed import frames_md5

TRANSCRIPT = ("i could write a book about it and i would not be far wrong these people come here "
              "with stars in their eyes")


def test_blend_is_the_share_of_each_with_the_audio_padded_at_rest():
    text = np.full((5, 2, 3), 2.0, np.float32)
    audio = np.full((3, 2, 3), -1.0, np.float32)                 # shorter: rest after its end
    out = blend(text, audio, 0.25)
    assert out.dtype == np.float32 and out.shape == text.shape
    np.testing.assert_allclose(out[:3], 0.25 * 2 + 0.75 * -1)
    np.testing.assert_allclose(out[3:], 0.25 * 2)
    np.testing.assert_allclose(blend(text, np.zeros((9, 2, 3)), 1.0), text)    # longer: cut
    assert 0 < TEXT_SHARE < 1


class _Partner:
    """An audio-only generator whose motion is a function of the speech, streamed in uneven chunks."""
    name, needs_text = "partner", False

    def predict_motion(self, audio16k):
        t = -(-len(audio16k) // 640)
        x = np.asarray(audio16k, np.float32)
        return np.stack([np.resize(x[i * 640:(i + 1) * 640], 333)[:333].reshape(111, 3) for i in range(t)])

    def stream(self, read, n):
        whole = self.predict_motion(read(0, n))
        for a, b in ((0, 7), (7, 40), (40, len(whole))):
            yield whole[a:b]


@pytest.mark.parametrize("n_art", [60, 75])      # the partner's motion as long as the text's, and shorter
def test_streamed_blend_joins_into_the_whole(n_art):
    from babelface.motion.articulation import PARAMS
    from babelface.motion.articulatory_model import motion_from_articulation
    rng = np.random.default_rng(3)
    speech = rng.standard_normal(60 * 640).astype(np.float32)
    art = rng.uniform(0, 1, (n_art, len(PARAMS))).astype(np.float32)
    gen = TranscriptAudioGenerator(audio=_Partner())
    heard = gen.audio_motion(lambda a, b: speech[a:b], len(speech))
    streamed = np.concatenate(list(gen.windows(art, heard)))
    whole = blend(motion_from_articulation(art), _Partner().predict_motion(speech))
    np.testing.assert_array_equal(streamed, whole)
    # the transcript alone ignores the audio
    alone = np.concatenate(list(TranscriptGenerator().windows(art, None)))
    np.testing.assert_array_equal(alone, motion_from_articulation(art))


def test_text_audio_on_real_speech_is_the_blend_of_its_two_parts(real):
    from babelface.media import load_audio
    from babelface.models.protocols import load_generator, speech_motion
    audio = load_audio(real / "RD_Radio31_000.wav")[:16000 * 4]
    both = speech_motion(audio, TRANSCRIPT[:60], "en")                     # the default with a transcript
    text = speech_motion(audio, TRANSCRIPT[:60], "en", model="text")
    heard = load_generator("muex-real").predict_motion(audio)
    np.testing.assert_allclose(both.motion, blend(text.motion, heard), atol=1e-6)
    assert both.phonemes == text.phonemes and np.array_equal(both.articulation, text.articulation)
    # English is timed acoustically: TEXT_SHARE of the transcript's (DTW-timed languages: TEXT_SHARE_DTW)
    d_text = np.abs(both.motion - text.motion).mean()
    d_audio = np.abs(both.motion - heard).mean()
    assert d_text > 0.005 and d_audio == pytest.approx(d_text * TEXT_SHARE / (1 - TEXT_SHARE), rel=1e-3)
    es = TranscriptAudioGenerator(audio=load_generator("muex-real"))     # (DTW's espeak-ng voice can differ
    es.timed(audio, "hola amigos, buenos días", "es", 100)               # between calls in a process)
    assert es.share == TEXT_SHARE_DTW
    fixed = TranscriptAudioGenerator(share=0.7)                          # a share given is kept
    fixed.timed(audio, TRANSCRIPT[:60], "en", 100)
    assert fixed.share == 0.7


def test_the_share_follows_the_aligner(monkeypatch):
    from babelface.models.transcript import text_share
    from babelface.phonetics import phone_align
    assert text_share("en") == TEXT_SHARE and text_share("th") == TEXT_SHARE_DTW != TEXT_SHARE
    monkeypatch.setattr(phone_align, "available", lambda language: False)        # no pocketsphinx
    assert text_share("en") == TEXT_SHARE_DTW


def test_animate_with_a_transcript_forks_the_partner_and_matches_one_thread(tmp_path, real):
    """Two threads: muex-real runs in a process of its own (torch never imported here), the video
    is the one thread's; --model text gives the transcript alone, another video."""
    code = ("import sys; from babelface import pipeline; "
            "r = pipeline.animate(sys.argv[1], sys.argv[2], text=sys.argv[3], language='en', "
            "threads=int(sys.argv[4]), model=sys.argv[5] or None, head=pipeline.HeadOptions(still=True)); "
            "print(r.frames, r.driver, 'torch' in sys.modules)")
    wav = str(real / "RD_Radio31_000.wav")
    outs = {}
    for threads, model in ((2, ""), (1, ""), (1, "text")):
        out = tmp_path / f"{threads}{model}.mp4"
        run = subprocess.run([sys.executable, "-c", code, wav, str(out), TRANSCRIPT, str(threads), model],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        outs[(threads, model)] = run.stdout.split(), frames_md5(out)
    assert outs[(2, "")][0] == ["200", "transcript", "False"]
    assert outs[(1, "")][0] == ["200", "transcript", "True"]
    assert outs[(2, "")][1] == outs[(1, "")][1]
    assert outs[(1, "text")][0] == ["200", "transcript", "False"]
    assert outs[(1, "text")][1] != outs[(1, "")][1]


def test_dub_with_a_voice_over_and_its_transcript_blends_by_default(real):
    """`dub --audio V --text T`: text-audio on the placed voice-over (Katie Hill's own voice and
    transcript), the same timeline as `--model text`, whose motion it blends with muex-real's."""
    from pathlib import Path

    from babelface.constants import FPS
    from babelface.dub.mix import mono16k
    from babelface.dub.track import build_track
    from babelface.media import load_audio, probe_audio
    from babelface.models.protocols import load_generator
    path = real / "WDA_KatieHill_000.mp4"
    katie = load_audio(path, sample_rate=None, mono=False), probe_audio(path).sample_rate
    duration = len(katie[0]) / katie[1]
    text = " ".join(line for line in (Path(__file__).parent / "data" / "WDA_KatieHill_000.txt").read_text().splitlines()
                    if not line.startswith("#"))
    both = build_track(duration, *katie, audio=path, text=text, language="en")
    alone = build_track(duration, *katie, audio=path, text=text, language="en", model="text")
    assert both.driver == alone.driver == "transcript" and both.phonemes == alone.phonemes
    np.testing.assert_array_equal(both.articulation[:], alone.articulation[:])
    start, end = both.parts[0][0], both.parts[-1][1]
    rate = both.sample_rate
    f0 = int(np.floor(start * FPS))
    heard = load_generator("muex-real").predict_motion(mono16k(both.speech[int(round(start * rate)):int(round(end * rate))], rate))
    want = np.zeros_like(alone.motion[:])
    want[f0:f0 + len(heard)] = heard[:len(want) - f0]
    np.testing.assert_allclose(both.motion[:], blend(alone.motion[:], want), atol=1e-4)
    assert np.abs(both.motion[:] - alone.motion[:]).max() > 0.01
