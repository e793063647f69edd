"""The new soundtrack of a dub (babelface.dub.track): drivers, fitting, mix, metrics, on real input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from babelface.constants import FPS
from babelface.errors import InputError, LanguageError, SilenceError

FRAME = 1.0 / FPS
KATIE_S = 8.06                      # the clip's video duration
ES_TEXT = ("Hoy quiero hablar de algo importante para todos nosotros, "
           "y espero que me escuchen con atención.")


@pytest.fixture(scope="module")
def katie(real):
    from babelface.media import load_audio, probe_audio
    path = real / "WDA_KatieHill_000.mp4"
    return load_audio(path, sample_rate=None, mono=False), probe_audio(path).sample_rate


@pytest.fixture(scope="module")
def segments_track(katie):
    from babelface.dub.track import build_track
    return build_track(KATIE_S, *katie, text=ES_TEXT, language="es")


@pytest.fixture(scope="module")
def stretch_track(katie):
    from babelface.dub.track import build_track
    return build_track(KATIE_S, *katie, text=ES_TEXT, language="es", fit="stretch")


def test_vad_finds_katies_pause(katie):
    from babelface.dub.mix import to_mono
    from babelface.dub.vad import speech_segments
    from babelface.media.audio import resample
    segs = speech_segments(resample(to_mono(katie[0]), katie[1], 16_000))
    assert len(segs) == 2
    (a0, b0), (a1, b1) = segs
    assert a0 < 0.1 and 4.6 < b0 < 4.9 and 5.1 < a1 < 5.3 and b1 == pytest.approx(8.0, abs=0.05)


def test_clauses_split_in_every_script():
    from babelface.dub.timing import split_clauses
    assert split_clauses("Hola, ¿cómo estás? Bien. 3.5 kg") == ["Hola,", "¿cómo estás?", "Bien.", "3.5 kg"]
    assert split_clauses("你好，世界。我很好！") == ["你好，", "世界。", "我很好！"]
    assert split_clauses("مرحبا، كيف حالك؟ شكرا") == ["مرحبا،", "كيف حالك؟", "شكرا"]
    assert split_clauses("नमस्ते। आप कैसे हैं?") == ["नमस्ते।", "आप कैसे हैं?"]
    assert split_clauses("သွားမယ်။ ပြန်လာမယ်") == ["သွားမယ်။", "ပြန်လာမယ်"]
    assert split_clauses("สวัสดีครับ วันนี้อากาศดี") == ["สวัสดีครับ", "วันนี้อากาศดี"]
    assert split_clauses("こんにちは、元気ですか。") == ["こんにちは、", "元気ですか。"]


def test_segments_put_each_part_inside_an_original_segment(segments_track):
    t = segments_track
    assert t.driver == "text" and t.fit == "segments" and len(t.original_segments) == 2
    assert len(t.parts) == 2                                 # one clause per original segment
    for (start, end, _, wpm, _), (a, b) in zip(t.parts, t.original_segments):
        assert abs(start - a) <= FRAME and abs(end - b) <= FRAME
        assert 80 <= wpm <= 450
    assert t.dur_err < FRAME
    # the speaker pauses where they paused: no new speech in the original pause
    rate = t.sample_rate
    pause = t.speech[int((t.original_segments[0][1] + FRAME) * rate):int((t.original_segments[1][0] - FRAME) * rate)]
    assert len(pause) > 0.2 * rate and np.all(pause == 0)


def test_track_has_the_videos_duration_and_the_originals_format(segments_track, katie):
    t = segments_track
    assert t.sample_rate == katie[1]
    assert t.audio.shape == (round(KATIE_S * katie[1]), katie[0].shape[1]) and t.audio.dtype == np.float32
    assert t.motion.shape == (int(np.ceil(KATIE_S * FPS)), 111, 3) and t.motion.dtype == np.float32
    assert t.articulation.shape[0] == t.motion.shape[0]
    assert t.phonemes[0].start == 0.0 and t.phonemes[-1].end == pytest.approx(KATIE_S)
    assert np.abs(t.audio).max() <= 1.0


def test_motion_rests_where_there_is_no_new_speech(segments_track):
    t = segments_track
    a, b = t.parts[0][1], t.parts[1][0]                       # the pause between the parts
    moving = np.abs(t.motion).max(axis=(1, 2))
    assert moving[int(np.ceil((a + 0.15) * FPS)):int((b - 0.15) * FPS)].max() < 0.1 * moving.max()
    assert moving[int(t.parts[0][0] * FPS) + 5:int(a * FPS) - 5].max() > 0.5 * moving.max()


def test_motion_is_in_sync_with_the_new_speech(segments_track):
    """The sync expert reads the dub's motion against its own new speech at offset 0, to within
    half a frame at the shared lead (benchmarks/lead_scan.py reads this clip's dubs within ±0.52),
    and the lead is what moves it: at 0.12 s the same phonemes read more than half a frame earlier."""
    from dataclasses import replace

    from babelface.dub.mix import mono16k
    from babelface.motion.articulation import DEFAULT, articulation_from_timeline
    from babelface.motion.articulatory_model import motion_from_articulation
    from babelface.sync import SyncExpertEmbedding, analyze_motion
    emb = SyncExpertEmbedding()
    stem = mono16k(segments_track.speech, segments_track.sample_rate)
    res = analyze_motion(stem, np.asarray(segments_track.motion), emb)
    assert res.offset_frames == 0 and abs(res.offset_subframe) <= 0.5
    cfg = replace(DEFAULT, lead_opening_s=0.12, lead_closure_s=0.12)
    n = len(segments_track.motion)
    early = motion_from_articulation(articulation_from_timeline(segments_track.phonemes, n, FPS, cfg))
    assert analyze_motion(stem, early, emb).offset_subframe < res.offset_subframe - 0.5


def test_the_dub_and_the_portrait_share_one_lead(segments_track):
    """One place holds the visual leads (motion/calibration.json): the dub's articulation is the
    portrait path's for the same timed phonemes (no lead of the dub's own)."""
    from babelface.dub import track
    from babelface.motion.articulation import articulation_from_timeline
    art = np.asarray(segments_track.articulation)                               # (T, P)
    assert np.array_equal(art, articulation_from_timeline(segments_track.phonemes, len(art)))
    assert not hasattr(track, "DUB_LEAD_S")


def test_background_outside_speech_is_bit_identical(segments_track, katie):
    from babelface.dub.mix import RAMP_S
    t, (orig, rate) = segments_track, katie
    spans = t.original_segments + [(p[0], p[1]) for p in t.parts]
    kept = np.ones(len(t.audio), bool)
    for a, b in spans:
        kept[max(0, int((a - RAMP_S) * rate) - 1):int((b + RAMP_S) * rate) + 1] = False
    assert kept.sum() > 0.3 * rate                           # Katie's 0.45 s pause, less ramps
    n = min(len(orig), len(t.audio))
    assert np.array_equal(t.audio[:n][kept[:n]], orig[:n][kept[:n]])


def test_background_is_ducked_by_24_db_under_speech(segments_track, katie):
    from babelface.dub.track import build_track
    t, (orig, rate) = segments_track, katie
    bed = t.audio - t.speech[:, None]                        # the original left under the new speech
    i, j = int(1.0 * rate), int(4.0 * rate)                  # inside the first segment, away from ramps
    depth = 20 * np.log10(np.sqrt(np.mean(bed[i:j] ** 2)) / np.sqrt(np.mean(orig[i:j] ** 2)))
    assert depth == pytest.approx(-24.0, abs=0.1)
    dropped = build_track(KATIE_S, orig, rate, text=ES_TEXT, language="es", background_db=None)
    assert np.array_equal(dropped.audio[i:j], np.repeat(dropped.speech[i:j, None], orig.shape[1], 1))


def test_new_speech_is_as_loud_as_the_original(segments_track, katie):
    from babelface.dub.mix import loudness, to_mono
    t, (orig, rate) = segments_track, katie
    for (s, e, *_), (a, b) in zip(t.parts, t.original_segments):
        new = loudness(t.speech[int(s * rate):int(e * rate)], rate)
        old = loudness(to_mono(orig)[int(a * rate):int(b * rate)], rate)
        assert new == pytest.approx(old, abs=1.0)
    assert t.int_corr > 0.5                                 # the original's loudness contour carried over


def test_stretch_hits_the_original_span(stretch_track):
    t = stretch_track
    assert t.fit == "stretch" and len(t.parts) == 1
    assert abs(t.new_span[0] - t.original_span[0]) <= FRAME
    assert abs(t.new_span[1] - t.original_span[1]) <= FRAME
    assert t.dur_err <= FRAME and t.parts[0][4] > 1.2      # espeak's 175 wpm was lengthened


def test_stretch_keeps_the_pitch(stretch_track):
    from babelface.dub.voice import median_f0
    from babelface.dub.timing import speak
    t = stretch_track
    plain, sr, _ = speak(ES_TEXT, t.voice, 175, None, None)
    i, j = (int(x * t.sample_rate) for x in t.parts[0][:2])
    stretched = median_f0(t.speech[i:j], t.sample_rate)
    assert stretched == pytest.approx(median_f0(plain, sr), rel=0.35)


def test_voice_follows_the_speakers_pitch(katie, segments_track):
    from babelface.dub.mix import to_mono
    from babelface.dub.voice import median_f0
    t = segments_track
    assert t.voice == "es+f2"                               # Katie speaks at ≈ 148 Hz
    i, j = (int(x * t.sample_rate) for x in t.parts[0][:2])
    own = median_f0(to_mono(katie[0]), katie[1])
    assert median_f0(t.speech[i:j], t.sample_rate) == pytest.approx(own, rel=0.08)


def test_none_places_text_and_cuts_at_the_end_with_a_warning(katie):
    from babelface.dub.track import build_track
    long = " ".join([ES_TEXT] * 3)
    t = build_track(KATIE_S, *katie, text=long, language="es", fit="none")
    assert t.parts[0][0] == pytest.approx(t.original_segments[0][0])
    assert t.parts[0][1] == pytest.approx(KATIE_S, abs=1e-3)
    assert any("past the video's end" in w for w in t.warnings)
    assert len(t.audio) == round(KATIE_S * katie[1])


def test_none_warns_when_the_new_speech_ends_long_before_the_original(katie):
    """A short sentence placed as given over Katie's 8 s: the mouth closes after it while her
    ducked voice goes on: said, with the fits that avoid it; fitted, nothing to say."""
    from babelface.dub.track import _short_warning, build_track
    t = build_track(KATIE_S, *katie, text="Hola.", language="es", fit="none")
    assert any("the mouth stays closed under the ducked original voice" in w for w in t.warnings)
    for fit, new, orig in (("none", (0.5, 6.5), (0.5, 7.9)),       # ends 1.4 s early: under 2 s
                           ("none", (0.5, 20.0), (0.5, 23.0)),     # 3 s early of 22.5: under a quarter
                           ("stretch", (0.5, 1.0), (0.5, 7.9)),    # fitted: no warning
                           ("none", None, (0.5, 7.9)), ("none", (0.5, 1.0), None)):
        warnings: list[str] = []
        _short_warning(fit, new, orig, warnings)
        assert warnings == [], (fit, new, orig)
    warnings = []
    _short_warning("none", (0.5, 2.0), (0.5, 7.9), warnings)
    assert warnings and "ends at 2.00 s, the original speech at 7.90 s" in warnings[0]


def test_no_original_track_speaks_from_the_start_or_fits_the_whole_video():
    from babelface.dub.track import OUTPUT_CHANNELS, OUTPUT_RATE, build_track
    text = "Hola a todos, hoy hablamos de algo importante."
    plain = build_track(3.0, None, None, text=text, language="es")
    assert plain.fit == "none" and plain.parts[0][0] == 0.0 and plain.parts[0][3] == 175
    t = build_track(3.0, None, None, text=text, language="es", fit="segments")
    assert t.audio.shape == (3 * OUTPUT_RATE, OUTPUT_CHANNELS) and t.sample_rate == OUTPUT_RATE
    assert t.original_span is None and t.dur_err is None and t.int_corr is None
    assert t.parts[0][0] == 0.0 and t.parts[0][1] == pytest.approx(3.0, abs=FRAME)
    assert any("no audio track" in w for w in t.warnings)


def test_voice_over_stretched_drives_muex_inside_the_span(katie, real):
    from babelface.dub.track import build_track
    t = build_track(KATIE_S, *katie, audio=real / "speech" / "dreamtalk_German1.wav", fit="stretch")
    assert t.driver == "audio" and t.articulation is None and t.phonemes == []
    assert abs(t.new_span[1] - t.original_span[1]) <= FRAME and t.dur_err <= FRAME
    assert t.parts[0][4] == pytest.approx(1.09, abs=0.03)   # its 7.3 s of speech onto Katie's 7.97 s
    f0 = int(t.original_span[0] * FPS)
    assert t.motion.shape[0] == int(np.ceil(KATIE_S * FPS)) and np.abs(t.motion[f0 + 2:]).max() > 0


def test_own_voice_with_transcript_reconstructs_the_original(katie, real):
    from pathlib import Path

    from babelface.dub.track import build_track
    text = " ".join(l for l in (Path(__file__).parent / "data" / "WDA_KatieHill_000.txt").read_text().splitlines()
                    if not l.startswith("#"))
    t = build_track(KATIE_S, *katie, audio=real / "WDA_KatieHill_000.mp4", text=text, language="en")
    assert t.driver == "transcript" and t.fit == "none" and len(t.phonemes) > 50
    assert t.int_corr > 0.95 and t.dur_err < 2 * FRAME
    assert t.motion.shape[0] == t.articulation.shape[0] == int(np.ceil(KATIE_S * FPS))
    # fitted by segments, its own pauses land on its own pauses: nothing is time-scaled
    seg = build_track(KATIE_S, *katie, audio=real / "WDA_KatieHill_000.mp4", text=text, language="en",
                      fit="segments")
    assert len(seg.parts) == 2 and not seg.warnings
    for (s, e, *_, factor), (a, b) in zip(seg.parts, seg.original_segments):
        assert abs(s - a) <= FRAME and abs(e - b) <= FRAME and factor == pytest.approx(1.0, abs=0.02)
    pauses = [p for p in seg.phonemes if p.ipa == "_" and p.start < 5.2 and p.end > 4.8]
    assert pauses                                       # the aligned timeline rests in her pause


@pytest.mark.parametrize("kw, error", [
    (dict(text="hola", language="xx-nope"), LanguageError),
    (dict(text="   ", language="es"), LanguageError),
    (dict(text="hola"), InputError),
    (dict(), InputError),
    (dict(text="hola", language="es", fit="warp"), InputError),
])
def test_bad_input_is_a_one_line_error(kw, error):
    from babelface.dub.track import build_track
    with pytest.raises(error) as e:
        build_track(2.0, None, None, **kw)
    assert "\n" not in str(e.value)


def test_voice_over_errors(tmp_path, katie):
    from babelface.dub.track import build_track
    from babelface.media import save_wav
    silent = save_wav(tmp_path / "silent.wav", np.zeros(16_000, np.float32))
    with pytest.raises(SilenceError):
        build_track(KATIE_S, *katie, audio=silent)
    long = save_wav(tmp_path / "long.wav", np.full(16_000 * 4, 0.1, np.float32))
    with pytest.raises(InputError, match="limit"):
        build_track(KATIE_S, *katie, audio=long, max_duration=2.0)


def test_dubbing_metrics_follow_their_definitions():
    from babelface.metrics.dubbing import dur_err, int_corr, span_of
    assert dur_err((1.0, 3.0), (0.5, 4.0)) == pytest.approx(1.5)
    assert dur_err(None, (0.0, 1.0)) is None
    assert span_of([(0.2, 1.0), (1.5, 3.0)]) == (0.2, 3.0) and span_of([]) is None
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(16_000) * np.repeat(rng.random(25), 640)).astype(np.float32)
    assert int_corr(x, x) == pytest.approx(1.0)
    assert int_corr(x, 0.5 * x) == pytest.approx(1.0)
    assert int_corr(x, x[::-1].copy()) < 0.5


def test_running_sum_envelope_equals_the_project_envelope(katie):
    from babelface.dub.mix import mono16k
    from babelface.media import rms_envelope
    from babelface.metrics import audio
    from babelface.metrics.dubbing import int_corr, rms_envelope as running
    x = mono16k(*katie)
    assert np.allclose(running(x), rms_envelope(x), atol=1e-6)
    y = np.roll(x, 8000)
    assert int_corr(x, y) == pytest.approx(audio.int_corr(x, y), abs=1e-6)


def test_envelope_of_blocks_equals_the_whole_signal_envelope(katie):
    """Int-Corr of a long dub is computed from 16 kHz blocks (bounded memory): the same envelope,
    whatever the block boundaries (here uneven, not on frame edges)."""
    from babelface.dub.mix import mono16k, mono16k_blocks
    from babelface.metrics.dubbing import envelope_of_blocks, int_corr, int_corr_of_blocks
    from babelface.metrics.dubbing import rms_envelope as running
    x = mono16k(*katie)
    cuts = [0, 777, 15_000, 15_001, 90_000, len(x)]
    assert np.allclose(envelope_of_blocks(x[a:b] for a, b in zip(cuts, cuts[1:])), running(x), atol=1e-6)
    blocks = list(mono16k_blocks(*katie, block_s=1.3))
    assert len(blocks) > 5 and np.allclose(np.concatenate(blocks), x, atol=1e-6)
    y = np.roll(x, 8000)
    assert int_corr_of_blocks([x], [y[:5000], y[5000:]]) == pytest.approx(int_corr(x, y), abs=1e-9)


def test_segments_keep_obamas_long_pauses(real):
    from babelface.dub.track import build_track
    from babelface.media import load_audio, probe_audio
    path = real / "corpus" / "styletalk_Obama_clip1.mp4"
    orig, rate = load_audio(path, sample_rate=None, mono=False), probe_audio(path).sample_rate
    text = ("Buenas tardes a todos. Hoy quiero hablarles de la economía, de los empleos y del futuro "
            "de nuestros hijos. Hemos avanzado mucho, pero queda trabajo por hacer. Juntos podemos "
            "lograrlo, y lo haremos. Gracias.")
    t = build_track(len(orig) / rate, orig, rate, text=text, language="es")
    assert t.voice == "es+m3" and len(t.original_segments) == 7
    bounds = np.array(t.original_segments)
    for s, e, *_ in t.parts:                     # every part starts and ends on a segment boundary
        assert np.abs(bounds[:, 0] - s).min() <= FRAME and np.abs(bounds[:, 1] - e).min() <= FRAME
    pauses = [(b, a) for (_, b), (a, _) in zip(t.original_segments, t.original_segments[1:]) if a - b > 0.8]
    assert len(pauses) == 3
    for b, a in pauses:                          # the new speaker is silent where Obama paused
        assert np.all(t.speech[int((b + FRAME) * rate):int((a - FRAME) * rate)] == 0)
    assert t.dur_err < FRAME


def test_assign_covers_every_word_and_segment_in_order():
    from babelface.dub.timing import Unit, assign
    rng = np.random.default_rng(1)
    for k, m in [(1, 7), (3, 20), (40, 2), (12, 12), (2, 5)]:
        units = [Unit(f"w{i}", float(rng.integers(1, 12)), bool(rng.random() < 0.3)) for i in range(k)]
        units[0] = Unit("w0", 100.0, True)                    # very uneven shares: the band must give way
        t = np.cumsum(rng.uniform(0.3, 3.0, 2 * m))
        segments = [(float(t[2 * i]), float(t[2 * i + 1])) for i in range(m)]
        groups = assign(units, segments)
        assert groups[0].units[0] == 0 and groups[-1].units[1] == k
        assert groups[0].segments[0] == 0 and groups[-1].segments[1] == m
        for g, h in zip(groups, groups[1:]):
            assert g.units[1] == h.units[0] and g.segments[1] == h.segments[0]
    equal = assign([Unit(f"c{i}", 10.0, True) for i in range(4)], [(2.0 * i, 2.0 * i + 1.5) for i in range(4)])
    assert [(g.units, g.segments) for g in equal] == [((i, i + 1), (i, i + 1)) for i in range(4)]


def test_duck_gain_is_exact_outside_and_smooth_between():
    from babelface.dub.mix import RAMP_S, duck_gain
    rate = 16_000
    g = duck_gain(rate * 2, rate, [(0.5, 1.0)], -24.0)
    r = int(RAMP_S * rate)
    assert np.all(g[:int(0.5 * rate) - r] == 1.0) and np.all(g[int(1.0 * rate) + r + 1:] == 1.0)
    assert np.allclose(g[int(0.5 * rate):int(1.0 * rate)], 10 ** (-24 / 20))
    assert np.abs(np.diff(g)).max() <= np.pi / (2 * r) + 1e-6        # raised cosine: no steps, no clicks
    assert np.all(duck_gain(rate, rate, [(0.2, 0.4)], None)[int(0.2 * rate):int(0.4 * rate)] == 0.0)


@pytest.mark.parametrize("rate", [48_000, 44_100, 8_000])
def test_blockwise_mono16k_equals_whole_signal_resampling(rate):
    from babelface.dub.mix import mono16k, to_mono
    from babelface.media.audio import resample
    x = (np.random.default_rng(rate).standard_normal((3 * rate + 77, 2)) * 0.1).astype(np.float32)
    assert np.array_equal(mono16k(x, rate, block_s=0.7), resample(to_mono(x), rate, 16_000))


@pytest.mark.parametrize("lang", ["zh", "ar", "ja", "th", "hi"])
def test_every_script_is_fitted_into_katies_segments(katie, lang):
    from babelface.dub.track import build_track
    from babelface.phonetics.samples import SAMPLES
    t = build_track(KATIE_S, *katie, text=SAMPLES[lang], language=lang)
    assert len(t.parts) == 2 and not t.warnings
    for (s, e, *_), (a, b) in zip(t.parts, t.original_segments):
        assert abs(s - a) <= FRAME and abs(e - b) <= FRAME
    assert t.dur_err < FRAME and len(t.audio) == round(KATIE_S * katie[1])


@pytest.mark.parametrize("db", [1e9, 6.0, -1e9, float("nan"), float("inf")])
def test_background_db_outside_its_range_is_refused_before_any_work(db):
    """Found by the fuzzer (seed 19): ``--background-db 1e9`` overflowed 10^(dB/20) into a traceback."""
    from babelface.dub.track import build_track
    with pytest.raises(InputError, match="background-db must be between -120 and 0 dB"):
        build_track(2.0, None, None, text="hola", language="es", background_db=db)


def test_cli_refuses_a_background_db_out_of_range_in_one_line(tmp_path):
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "babelface", "dub", "v.mp4", "--text", "hola", "--lang", "es",
                          "-o", str(tmp_path / "o.mp4"), "--background-db", "1e9"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "--background-db must be between -120 and 0 dB" in out.stderr


def test_voice_activity_block_by_block_equals_one_block(real, monkeypatch):
    """The VAD reads the signal (an array or a DiskSignal) in blocks with their context and carries
    the LSTM state across them: tiny blocks give the probabilities and segments of one block."""
    from babelface.dub import mix, vad
    from babelface.media import load_audio
    x = load_audio(real / "WDA_KatieHill_000.mp4")[:8 * 16000]                # 8 s, 250 windows
    whole = vad.speech_probabilities(x)
    segments = vad.speech_segments(x)
    monkeypatch.setattr(vad, "ENCODE_BATCH", 7)
    disk = mix.DiskSignal.of([x[:5000], x[5000:]], len(x))
    assert np.allclose(vad.speech_probabilities(disk), whole, atol=1e-5) and len(whole) == 250
    assert vad.speech_segments(disk) == segments and len(segments) >= 2


def test_disk_signal_is_sliced_like_an_array_and_applies_the_audio_start(tmp_path):
    """The soundtrack's pieces on disk: a raw (m, C) file read with the container's audio delay
    (silence first, or cut), and a stem that pieces are added into."""
    from babelface.dub.mix import DiskSignal
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    x.tofile(tmp_path / "a.f32")
    late = DiskSignal(12, 2, tmp_path / "a.f32", delay=2)
    assert np.array_equal(np.asarray(late), np.concatenate([np.zeros((2, 2), np.float32), x]))
    early = DiskSignal(8, 2, tmp_path / "a.f32", delay=-2)
    assert np.array_equal(early[3:6], x[5:8]) and np.array_equal(early[7:20], x[9:])
    stem = DiskSignal(5)
    stem.add(1, np.array([1, 2], np.float32))
    stem.add(2, np.ones(9, np.float32))                               # cut at the end
    assert np.array_equal(stem[:], [0, 1, 3, 1, 1]) and stem[1:3, None].shape == (2, 1)
    from babelface.disk import DiskRows
    rows = DiskRows.of([np.ones((3, 2)), np.arange(4.0).reshape(2, 2)], (2,), np.float64)
    assert rows.shape == (5, 2) and rows.dtype == np.float64 and np.array_equal(rows[3:], [[0, 1], [2, 3]])
    assert np.array_equal(rows[:, 1], [1, 1, 1, 1, 3]) and np.array_equal(rows[[4, 0], 0], [2, 1])
    assert rows[4, 1] == 3


def test_audio_motion_is_written_part_by_part_as_one_array_was(katie):
    """The audio driver's motion is made part by part straight to disk (streaming generators run
    window by window): for parts of up to a minute the same frames as placing each part's whole
    motion into one array, a later part starting where the earlier one's last frame was."""
    from babelface.dub.track import chunks_motion
    from babelface.face.indices import N_MOTION
    from babelface.models.protocols import load_generator, speech_motion
    from babelface.dub.mix import mono16k
    speech = mono16k(katie[0], katie[1])[:3 * 16000]                    # (48000,) 16 kHz
    generator = load_generator("muex")
    chunks = [(10, speech[:32000]), (59, speech[16000:48000]), (140, speech[:16000])]   # 50, 50, 25 frames
    got = np.asarray(chunks_motion(chunks, 170, generator))
    ref = np.zeros((170, N_MOTION, 3), np.float32)
    for f0, x in chunks:
        m = speech_motion(x, generator=generator).motion[:170 - f0]
        ref[f0:f0 + len(m)] = m
    np.testing.assert_array_equal(got, ref)
    assert not got[:10].any() and not got[165:].any() and got[59:61].any()


@pytest.mark.parametrize("chunk_s", [30.0, 0.37])
def test_the_loudness_meter_reads_chunk_by_chunk_what_pyloudnorm_reads_whole(katie, monkeypatch, chunk_s):
    """BS.1770 on bounded memory: the same K-weighting, blocks and gates as pyloudnorm's
    ``integrated_loudness``, filters carried across chunks (0.37 s: a boundary inside every block)."""
    import pyloudnorm

    from babelface.dub import mix
    monkeypatch.setattr(mix, "LOUDNESS_CHUNK_S", chunk_s)
    audio, rate = mix.to_mono(katie[0]), katie[1]
    quiet = np.concatenate([audio[:rate * 2], np.zeros(rate, np.float32), 0.01 * audio[rate * 2:]])
    for x in (audio, audio[:int(0.3 * rate)], quiet):
        whole = pyloudnorm.Meter(rate, block_size=min(0.4, len(x) / rate)).integrated_loudness(
            np.asarray(x, np.float64))
        assert mix.loudness(x, rate) == pytest.approx(whole, abs=1e-9)
    assert mix.loudness(np.zeros(rate, np.float32), rate) == mix.SILENT_LUFS
    assert mix.loudness(audio[:int(0.05 * rate)], rate) == mix.SILENT_LUFS     # under one block


@pytest.mark.parametrize("rate, to", [(48_000, 16_000), (44_100, 16_000), (16_000, 48_000),
                                      (22_050, 48_000), (20_096, 22_050), (16_000, 16_000)])
def test_a_resampled_view_reads_any_slice_of_the_whole_resampling(rate, to):
    """``mix.Resampled`` resamples only what is sliced, with the filter's context and phase: every
    slice is bit for bit the whole signal's resampling (so a voice-over never has to be whole)."""
    from babelface.dub.mix import Resampled, to_mono
    from babelface.media.audio import resample
    x = (np.random.default_rng(rate + to).standard_normal((2 * rate + 13, 2)) * 0.1).astype(np.float32)
    whole = resample(to_mono(x), rate, to)
    view = Resampled(x, rate, to)
    assert len(view) == len(whole)
    n = len(whole)
    for a, b in [(0, n), (0, 1), (7, 777), (n - 100, n), (n // 3, n // 3 + 5), (n - 1, n + 50), (9, 9)]:
        np.testing.assert_array_equal(view[a:b], whole[a:b])


def test_voice_over_parts_stay_on_disk_and_place_as_arrays_do(tmp_path, katie):
    """The voice-over is decoded to disk (mono at its rate, as ``load_audio`` gives it), its parts
    are views of that file, and placing a view, cut and scaled, writes the same samples as placing
    the array would."""
    from babelface.disk import DiskSignal
    from babelface.dub import mix
    from babelface.dub.track import _cut, _voiceover_parts
    from babelface.media import load_audio, save_wav
    from babelface.media.spool import spool_speech
    stereo = np.stack([mix.to_mono(katie[0]), 0.5 * mix.to_mono(katie[0])], 1)
    path = tmp_path / "vo.wav"
    save_wav(path, stereo, katie[1])
    whole = load_audio(path, sample_rate=None, mono=True)
    with spool_speech(path, mono=True) as speech:
        np.testing.assert_array_equal(speech.original[:][:, 0], whole)
    (part,) = _voiceover_parts(path, "none", [(0.0, KATIE_S)], 60.0)
    assert isinstance(part.audio, DiskSignal) and part.sample_rate == katie[1]
    np.testing.assert_array_equal(part.audio[:], whole)
    warnings = []
    cut = _cut(part, 5.0, warnings)                       # a view of the first 5 s, nothing read
    assert isinstance(cut.audio, mix.Span) and len(cut.audio) == int(round(5.0 * katie[1])) and warnings
    scaled = mix.Span(cut.audio, 0, len(cut.audio), 0.37)
    for rate in (48_000, katie[1], 16_000):
        a, b = mix.DiskSignal(10 * rate), mix.DiskSignal(10 * rate)
        mix.place(a, 1.3, scaled, katie[1], rate)
        mix.place(b, 1.3, (whole[:len(cut.audio)] * 0.37).astype(np.float32), katie[1], rate)
        np.testing.assert_array_equal(a[:], b[:])
    # the loudness of a stereo span, mixed to mono chunk by chunk, is that of its mono mix
    assert mix.loudness(mix.Span(katie[0], 1000, 3 * katie[1]), katie[1]) == pytest.approx(
        mix.loudness(mix.to_mono(katie[0][1000:3 * katie[1]]), katie[1]), abs=1e-9)
    segs = _voiceover_parts(path, "segments", [(0.5, 4.0), (4.5, 8.0)], 60.0)
    assert segs and all(isinstance(p.audio, DiskSignal) for p in segs)


def test_a_voice_over_on_disk_makes_the_track_an_array_would(tmp_path, katie, monkeypatch):
    """Outputs unchanged: the voice-over driver with its parts on disk (views, block by block)
    gives the same stem, mix and motion, bit for bit, as with the parts read into memory."""
    from dataclasses import replace

    from babelface.dub import track as T
    from babelface.dub.mix import to_mono
    from babelface.media import save_wav
    vo = save_wav(tmp_path / "vo.wav", np.tile(to_mono(katie[0]), 2)[:int(12 * katie[1])], katie[1])
    for fit in ("none", "segments"):
        disk = T.build_track(KATIE_S, *katie, audio=vo, fit=fit)
        real_parts = T._voiceover_parts
        with monkeypatch.context() as m:
            m.setattr(T, "_voiceover_parts", lambda *a: [replace(p, audio=np.asarray(p.audio[:], np.float32))
                                                         for p in real_parts(*a)])
            memory = T.build_track(KATIE_S, *katie, audio=vo, fit=fit)
        np.testing.assert_array_equal(disk.speech[:], memory.speech[:])
        np.testing.assert_array_equal(np.asarray(disk.audio), np.asarray(memory.audio))
        np.testing.assert_array_equal(np.asarray(disk.motion), np.asarray(memory.motion))
        assert disk.parts == memory.parts and disk.int_corr == memory.int_corr


def test_a_long_voice_over_is_never_held_whole(tmp_path):
    """Bounded memory: decoding a 3-minute 48 kHz voice-over, its silence check, its loudness
    match against the original and its placing in the stem together allocate (traced) less than
    half of the voice-over's own float32 size (they read it in blocks of seconds)."""
    import tracemalloc

    import pyloudnorm  # noqa: F401  (imported before tracing: a module's code is not the voice-over)
    import scipy.signal  # noqa: F401

    from babelface.disk import DiskSignal
    from babelface.dub import mix
    from babelface.dub.track import _match_loudness, _voiceover_parts
    from babelface.media import save_wav
    rate, seconds = 48_000, 180
    t = np.arange(seconds * rate) / rate
    path = save_wav(tmp_path / "long.wav", (0.1 * np.sin(2 * np.pi * 180 * t) * (np.sin(np.pi * t) > 0)
                                            ).astype(np.float32), rate)
    size = seconds * rate * 4
    del t
    original = DiskSignal.of([np.random.default_rng(0).standard_normal(seconds * 16_000).astype(np.float32)
                              * 0.05], seconds * 16_000)
    tracemalloc.start()
    try:
        (part,) = _voiceover_parts(path, "none", [(0.0, float(seconds))], 3600.0)
        part = _match_loudness(part, (0.0, float(seconds)), original, 16_000, False)
        stem = DiskSignal(len(original))
        mix.place(stem, 0.0, part.audio, part.sample_rate, 16_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.5 * size, (peak / 2**20, size / 2**20)
    assert part.audio.gain != 1.0 and np.abs(stem[:rate]).max() > 0.01


def test_pause_cuts_keep_pieces_within_the_block_where_the_pauses_allow():
    from babelface.dub.track import _pause_cuts
    segs = [(0.0, 4.0), (5.0, 9.0), (10.0, 14.0), (15.0, 29.0), (30.0, 31.0)]
    assert _pause_cuts(segs, 0.0, 31.0, 10.0) == [9.5, 14.5, 29.5]     # 14.5 → 29.5: no pause inside
    assert _pause_cuts(segs, 0.0, 31.0, 100.0) == []
    assert _pause_cuts(segs, 5.0, 14.0, 5.0) == [9.5]
    assert _pause_cuts([(0.0, 50.0)], 0.0, 50.0, 10.0) == []


def test_a_long_run_is_time_scaled_piece_by_piece_in_its_pauses(monkeypatch):
    """``--fit stretch`` on a long voice-over: Praat scales pieces of about STRETCH_BLOCK_S cut in
    the pauses, not the whole span; the run lasts exactly its target and each word lands where the
    single factor puts it. A run within the block is one piece: exactly ``time_stretch`` of it."""
    from babelface.disk import DiskSignal
    from babelface.dub import timing
    from babelface.dub import track as T
    from babelface.dub.timing import time_stretch
    rate = 16_000
    t = np.arange(40 * rate) / rate
    words = (t % 2.0) < 1.4                                 # 1.4 s of voice, 0.6 s of pause, repeated
    voice = (0.2 * np.sin(2 * np.pi * 160 * t) * words).astype(np.float32)
    mono = DiskSignal.of([voice], len(voice))
    segs = [(k * 2.0, k * 2.0 + 1.4) for k in range(20)]
    short = T._stretched_run(mono, rate, 0.0, 39.4, 1.0, 39.4 * 1.1, segs)
    np.testing.assert_array_equal(short.audio[:], time_stretch(voice[:int(39.4 * rate)], rate, 1.1))
    monkeypatch.setattr(T, "STRETCH_BLOCK_S", 9.0)
    calls = []
    monkeypatch.setattr(timing, "time_stretch",              # (imported where it is called)
                        lambda x, r, f: calls.append(len(x)) or time_stretch(x, r, f))
    long = T._stretched_run(mono, rate, 0.0, 39.4, 1.0, 39.4 * 1.1, segs)
    assert len(calls) == 5 and max(calls) <= 9.0 * rate    # 4 cuts, pieces of at most 9 s
    assert len(long.audio) == int(round(39.4 * rate * 1.1)) and long.stretch == pytest.approx(1.1)
    loud = np.abs(long.audio[:]) > 0.05
    for k in range(19):                                     # each word where 1.1 × its time puts it
        mid = int((k * 2.0 + 0.7) * 1.1 * rate)
        pause = int((k * 2.0 + 1.7) * 1.1 * rate)
        assert loud[mid - 800:mid + 800].mean() > 0.5 and loud[pause - 800:pause + 800].mean() < 0.05


def test_a_real_voice_over_stretched_in_pieces_sounds_where_the_whole_stretch_does(real, monkeypatch):
    """Through the voice activity detector on real speech: the run cut in its own pauses and scaled
    piece by piece has the same length and the same loudness envelope as the run scaled whole."""
    from babelface.dub import track as T
    from babelface.media.audio import rms_envelope
    path = real / "speech" / "dreamtalk_italian1.wav"         # speech 0.58-5.28, 5.47-7.26, 7.43-8.38 s
    (whole,) = T._voiceover_parts(path, "stretch", [(1.0, 9.0)], 60.0)
    monkeypatch.setattr(T, "STRETCH_BLOCK_S", 2.0)
    cuts = []
    monkeypatch.setattr(T, "_pause_cuts", lambda *a, f=T._pause_cuts: cuts.extend(f(*a)) or f(*a))
    (pieces,) = T._voiceover_parts(path, "stretch", [(1.0, 9.0)], 60.0)
    assert len(cuts) == 2                                    # in both of its pauses
    assert len(pieces.audio) == len(whole.audio) and pieces.stretch == whole.stretch
    a, b = rms_envelope(whole.audio[:]), rms_envelope(pieces.audio[:])
    assert np.corrcoef(a, b)[0, 1] > 0.95 and not np.array_equal(whole.audio[:], pieces.audio[:])


def test_the_transcript_is_aligned_on_views_of_the_stem(real):
    """`dub --audio V --text T`: the transcript is aligned on the placed voice-over read through
    a span and a resampled view of the stem (never copied whole), with the very phonemes the
    whole-array path gives."""
    from babelface.disk import DiskSignal
    from babelface.dub.timing import Part
    from babelface.dub.track import _aligned
    from babelface.media import load_audio
    from babelface.media.audio import resample
    from babelface.phonetics.phone_align import align_speech
    text = " ".join(line for line in (Path(__file__).parent / "data/RD_Radio31_000.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#"))
    rate = 44_100
    voice = resample(load_audio(real / "RD_Radio31_000.wav"), 16_000, rate)
    stem = DiskSignal(len(voice) + 2 * rate)
    stem.add(rate, voice)                                             # placed at 1 s
    parts = [Part(1.0, voice[:len(voice) // 2], rate, []), Part(1.0 + len(voice) // 2 / rate, voice[len(voice) // 2:], rate, [])]
    got = _aligned(stem, rate, parts, text, "en")
    a, b = rate, rate + len(voice)
    assert got.start == 1.0 and len(got.audio) == len(voice) and not isinstance(got.audio, np.ndarray)
    assert got.phonemes == align_speech(resample(np.asarray(stem)[a:b], rate, 16_000), text, "en")
