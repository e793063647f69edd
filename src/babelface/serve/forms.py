"""Each job's form: which fields it takes, and how they become the pipeline's arguments.

Checks that are cheap run here, before a job is queued, so that a bad request is answered at
once with a 4xx (an unknown language, a missing file, a text over the limit, an upload that is not
what it claims); what only the pipeline can find (no face in the portrait) fails the job itself.
Every path handed on is one the server made inside the job's folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from babelface.errors import InputError
from babelface.serve.config import ServeConfig
from babelface.serve.uploads import Form, check_image, check_media

RATE_RANGE = (80, 450)       # espeak-ng words per minute
PITCH_RANGE = (0, 100)


@dataclass(frozen=True)
class Spec:
    files: tuple[str, ...]
    fields: tuple[str, ...]
    prepare: Callable[[Form, ServeConfig], tuple[dict, dict]]    # → (params, upload path → words)


def _text(form: Form, config: ServeConfig, required: bool = False) -> str | None:
    text = form.fields.get("text")
    if text is not None and not text.strip():
        text = None
    if text is None and required:
        raise InputError("text is required: what the portrait should say")
    if text is not None and len(text) > config.max_text_chars:
        raise InputError(f"the text is {len(text)} characters; the limit is {config.max_text_chars}")
    return text


def _language(form: Form, required: bool, why: str = "") -> str | None:
    from babelface.phonetics.espeak import resolve_voice
    lang = (form.fields.get("language") or "").strip()
    if not lang:
        if required:
            raise InputError(f"language is required{why}: a code such as en, th, zh or any espeak-ng voice")
        return None
    resolve_voice(lang)                       # LanguageError (400) for an unknown one
    return lang


def _flag(form: Form, name: str) -> bool:
    """A checkbox: 1/true/on/yes or 0/false/off/no (absent: off); anything else is a 400."""
    raw = (form.fields.get(name) or "").strip().lower()
    if raw not in ("", "0", "false", "off", "no", "1", "true", "on", "yes"):
        raise InputError(f"{name} must be 1 or 0, not {raw[:20]!r}")
    return raw in ("1", "true", "on", "yes")


def _transcribe(form: Form, text: str | None, params: dict, implied: bool = False) -> None:
    """``transcribe``: English speech recognised offline (``--transcribe``); its refusals are 400s
    here (text given too, another language, pocketsphinx missing), before the job is queued.
    ``implied`` (animate, dub): speech said to be English (``language``) without its words is
    recognised too, as ``--lang en`` without ``--text`` is on the command line (the audio-only
    models barely close the lips at /p b m/ on real voices), when pocketsphinx is installed."""
    if _flag(form, "transcribe"):
        from babelface.phonetics.recognise import check_request
        params["language"] = check_request(text, params.get("language"))
        params["transcribe"] = True
    elif implied and text is None and not params.get("adapt") and params.get("language"):
        from babelface.phonetics.recognise import available
        if available(params["language"]):
            params["transcribe"] = True


def _int(form: Form, name: str, bounds: tuple[int, int]) -> int | None:
    raw = (form.fields.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{name} must be a whole number, not {raw[:20]!r}") from None
    if not bounds[0] <= value <= bounds[1]:
        raise InputError(f"{name} must be between {bounds[0]} and {bounds[1]}")
    return value


def _upload(form: Form, name: str, config: ServeConfig, params: dict, names: dict, kind: str,
            required: bool = False) -> None:
    path = form.files.get(name)
    if path is None:
        if required:
            raise InputError(f"{name} is required: upload it as a file (curl -F {name}=@FILE)")
        return
    path = check_image(path, name, config) if kind == "image" else check_media(path, name, config, kind == "video")
    params[name] = str(path)
    names[str(path)] = f"the {name} upload"


def prepare_say(form: Form, config: ServeConfig) -> tuple[dict, dict]:
    from babelface.phonetics.samples import SAMPLES
    language = _language(form, required=True)
    text = _text(form, config)
    if text is None:
        text = SAMPLES.get(language.split("+")[0].lower())
        if text is None:
            raise InputError(f"text is required for {language!r} (sample texts exist for the 15 benchmark languages)")
    params = {"text": text, "language": language, "rate": _int(form, "rate", RATE_RANGE),
              "pitch": _int(form, "pitch", PITCH_RANGE)}
    names: dict = {}
    _upload(form, "portrait", config, params, names, "image")
    return params, names


def prepare_animate(form: Form, config: ServeConfig) -> tuple[dict, dict]:
    text = _text(form, config)
    params = {"text": text, "language": _language(form, required=text is not None,
                                                    why=" with a transcript"),
              "max_duration": config.max_duration_s}
    _transcribe(form, text, params, implied=True)
    names: dict = {}
    _upload(form, "speech", config, params, names, "audio", required=True)
    _upload(form, "portrait", config, params, names, "image")
    return params, names


def prepare_sync(form: Form, config: ServeConfig) -> tuple[dict, dict]:
    """The video; optionally its transcript (``text``, ``language``: default English) or
    ``transcribe``, for the offset read from its lip closures beside the expert's (``sync --text``)."""
    text = _text(form, config)
    params: dict = {}
    if text is not None:
        params.update(text=text, language=_language(form, required=False) or "en")
    elif _flag(form, "transcribe"):
        params["language"] = (form.fields.get("language") or "").strip() or None
    elif (form.fields.get("language") or "").strip():
        raise InputError("language is the transcript's: send text (or transcribe) with it")
    _transcribe(form, text, params)
    names: dict = {}
    _upload(form, "video", config, params, names, "video", required=True)
    return params, names


def prepare_dub(form: Form, config: ServeConfig) -> tuple[dict, dict]:
    text = _text(form, config)
    if (text is None) == ("speech" not in form.files):
        raise InputError("give either text (with its language) or speech: what the video should say")
    params = {"text": text, "language": _language(form, required=text is not None, why=" with text")}
    if _flag(form, "adapt"):
        if text is not None:
            raise InputError("adapt learns the speaker's articulation for new speech: send speech, not text")
        params["adapt"] = True
    _transcribe(form, text, params, implied="speech" in form.files)
    if params.get("adapt") and params.get("transcribe"):
        raise InputError("transcribe drives the text path; adapt the audio-only read-out: send one of them")
    names: dict = {}
    _upload(form, "video", config, params, names, "video", required=True)
    _upload(form, "speech", config, params, names, "audio")
    return params, names


SPECS = {
    "say": Spec(("portrait",), ("text", "language", "rate", "pitch"), prepare_say),
    "animate": Spec(("portrait", "speech"), ("text", "language", "transcribe"), prepare_animate),
    "sync": Spec(("video",), ("text", "language", "transcribe"), prepare_sync),
    "dub": Spec(("video", "speech"), ("text", "language", "adapt", "transcribe"), prepare_dub),
}


def language_choices() -> list[dict]:
    """The picker's list: the 15 benchmark languages (seen, then unseen), then every other
    espeak-ng voice by name, each once, by the first language tag espeak-ng gives it."""
    from babelface.phonetics.espeak import voice_list
    from babelface.phonetics.languages import LANGUAGES
    out = [{"code": c, "name": lang.name, "benchmark": True, "seen": lang.seen, "note": lang.note}
           for c, lang in LANGUAGES.items()]
    taken = set(LANGUAGES)
    for name, ident, tags in sorted(voice_list(), key=lambda v: v[0].lower()):
        code = (tags[0] if tags else ident.split("/")[-1]).lower()
        if code in taken:
            continue
        taken.add(code)
        out.append({"code": code, "name": name, "benchmark": False, "seen": None, "note": ""})
    return out
