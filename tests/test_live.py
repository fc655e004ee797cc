"""One live session from one settings object: LiveSettings from the command line round-trips every
background kind, keeps refine, never saves run-only fields; ``goselfies webcam`` and the window both
build through ``live.session.build_session``; ``LiveSession.apply`` pushes only what changed."""
from __future__ import annotations

import json

import pytest
from livefakes import HalfMask, SyntheticSource

from goselfies.errors import GoSelfiesError
from goselfies.frame.backgrounds import KINDS, LIVE_KINDS, parse_background
from goselfies.live.session import build_session
from goselfies.live.settings import LiveSettings, load_settings, save_settings


@pytest.mark.parametrize("spec, kind, field, value", [
    ("blur", "blur", "blur_strength", 15.0), ("blur:30", "blur", "blur_strength", 30.0),
    ("blue", "color", "color", "#438edb"), ("color:#FF0000", "color", "color", "#FF0000"),
    ("green", "green", None, None), ("color:green", "green", None, None),
    ("image:/Pics/Beach.JPG", "image", "image", "/Pics/Beach.JPG"), ("video:/v/Loop.mp4", "video", "video", "/v/Loop.mp4"),
    ("transparent", "transparent", None, None), ("mask", "mask", None, None),
])
def test_background_specs_become_settings_and_back(spec, kind, field, value):
    s = LiveSettings()
    s.set_background(spec)
    assert s.background == kind and kind in KINDS
    if field:
        assert getattr(s, field) == value
    again = LiveSettings()
    again.set_background(s.background_spec())
    assert again == s  # the spec the pipeline gets says the same thing


def test_kinds_are_named_once():
    assert set(LIVE_KINDS) < set(KINDS) and "mask" not in LIVE_KINDS
    for kind in KINDS:  # every kind the settings can hold makes a real background
        s = LiveSettings(background=kind, image="", video="")
        if kind not in ("image", "video"):
            assert parse_background(s.background_spec())
    with pytest.raises(GoSelfiesError, match="unknown background"):
        LiveSettings().set_background("plasma")


def test_post_keeps_refine_and_run_only_fields_are_not_saved(tmp_path):
    s = LiveSettings(refine=True, threshold=0.4, record=str(tmp_path / "r.mp4"), frames=9, loop=False)
    assert s.post().refine and s.post().threshold == 0.4
    path = save_settings(s, tmp_path / "gui.json")
    saved = json.loads(path.read_text())
    assert saved["refine"] is True and not {"record", "frames", "loop"} & set(saved)
    path.write_text(json.dumps({**saved, "record": "x.mp4", "frames": 3}))
    back = load_settings(path)
    assert back.refine and back.record == "" and back.frames == 0 and back.loop
    assert not list(tmp_path.glob(".*partial*"))


def test_webcam_builds_its_session_with_build_session(monkeypatch, tmp_path):
    from goselfies.cli import main
    from goselfies.live import session as live

    seen = []

    def fake(settings, *args, **kw):
        seen.append(settings)
        return build_session(settings, *args, **kw, source_factory=lambda s: SyntheticSource(limit=5),
                             segmenter_factory=lambda s: HalfMask())

    monkeypatch.setattr(live, "build_session", fake)
    assert main(["webcam", "--no-window", "--frames", "3", "-b", "color:red", "--refine", "--smoothing", "0.2",
                 "--mirror", "--flip", "--record", str(tmp_path / "o.mp4")]) == 0
    s = seen[0]
    assert (s.background, s.color, s.refine, s.smoothing, s.mirror, s.flip) == ("color", "#d0312d", True, 0.2, True, True)
    assert s.frames == 3 and s.record.endswith("o.mp4") and (tmp_path / "o.mp4").is_file()


def test_flip_reaches_the_live_segmenter(lite_weights):
    s = LiveSettings(weights=str(lite_weights), device="cpu", flip=True)
    session = build_session(s, lambda m: None, source_factory=lambda s: SyntheticSource(limit=1))
    try:
        assert session.pipeline.segment.config.flip and "flip-averaged" in session.pipeline.segment.describe()
    finally:
        session.pipeline.capture.stop()


def test_window_default_build_is_build_session(monkeypatch):
    pytest.importorskip("PySide6.QtWidgets")
    from goselfies.gui import window

    calls = []
    monkeypatch.setattr(window, "build_session", lambda s, say, **kw: calls.append((s, kw)) or "session")
    assert window.build_from_settings(LiveSettings(), print) == "session"
    assert calls and "explain" in calls[0][1] and calls[0][1]["fallback"] is True  # a saved model may fail


def test_apply_pushes_only_what_changed():
    s = LiveSettings(background="color", color="#ff0000", smoothing=0.0)
    session = build_session(s, lambda m: None, source_factory=lambda s: SyntheticSource(),
                            segmenter_factory=lambda s: HalfMask())
    p = session.pipeline
    try:
        bg, post = p.background, p.path.post
        new = LiveSettings(**{**vars(s), "mirror": True, "smoothing": 0.5})
        session.apply(new)
        assert p.capture.mirror and p.path.smoother.strength == 0.5
        assert p.background is bg and p.path.post is post  # untouched: not rebuilt
        new.threshold = 0.5
        new.background = "transparent"
        session.apply(new)
        assert p.path.post.threshold == 0.5 and p.background.spec == "transparent"
        assert session.settings == new and session.settings is not new  # its own copy
        new.image, new.background = "/no/such.png", "image"
        with pytest.raises(GoSelfiesError):
            session.apply(new)
        assert p.background.spec == "transparent"  # a bad background leaves the old one
    finally:
        p.capture.stop()


def test_a_model_that_cannot_load_falls_back_to_the_default_only_when_asked():
    """The window's start (fallback=True): a saved model without weights runs the default model and says
    why; the command line (no fallback) gets the error, and the source is released."""
    from goselfies.errors import MissingWeights, ModelLoadError
    from goselfies.live.session import load_segmenter

    loaded = []

    def factory(s):  # the real loader for the chosen model; the default one stands in cheaply
        loaded.append((s.model, s.size))
        return HalfMask() if s.same_model(LiveSettings()) else load_segmenter(s)

    s = LiveSettings(model="vgunet16", size=64, background="transparent")
    sources = []

    def source(_):
        sources.append(SyntheticSource())
        return sources[-1]

    with pytest.raises(MissingWeights) as err:
        build_session(s, lambda m: None, source_factory=source, segmenter_factory=factory)
    assert isinstance(err.value, ModelLoadError) and "no weights for model 'vgunet16'" in str(err.value)
    assert sources[-1].released
    session = build_session(s, lambda m: None, fallback=True, source_factory=source, segmenter_factory=factory)
    try:
        assert loaded[-2:] == [("vgunet16", 64), ("auto", 0)]
        assert isinstance(session.model_error, MissingWeights) and session.model_error.model == "vgunet16"
        assert session.settings.model == "auto" and session.settings.size == 0
        assert session.settings.background == "transparent"  # only the model's fields fall back
        assert isinstance(session.pipeline.segment, HalfMask) and session.describe_model() == "HalfMask"
    finally:
        session.pipeline.capture.stop()
    never = lambda s: load_segmenter(LiveSettings(model="vgunet16"))  # noqa: E731 - no model loads at all
    with pytest.raises(MissingWeights):  # then the error is not hidden
        build_session(s, lambda m: None, fallback=True, source_factory=source, segmenter_factory=never)
    assert sources[-1].released


def test_b_skips_backgrounds_that_need_a_file_and_says_which():
    assert LIVE_KINDS == ("blur", "color", "image", "video", "transparent", "green")
    s = LiveSettings(background="color")
    assert s.next_background() == "transparent" and s.skipped_backgrounds() == ["image", "video"]
    s.image = "/x.png"
    assert s.next_background() == "image" and s.skipped_backgrounds() == []
    s.background = "image"
    assert s.next_background() == "transparent" and s.skipped_backgrounds() == ["video"]
    s.background = "green"
    assert s.next_background() == "blur" and s.skipped_backgrounds() == []
