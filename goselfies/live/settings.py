"""The live session's settings: one object whether they come from ``goselfies webcam``'s arguments,
the saved file or the window; persisted as JSON in the user's config folder (platformdirs).

A settings file is user state, not input: a missing, corrupt or older file must never stop the app,
so unknown keys are ignored and bad values fall back to their defaults one by one.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from ..errors import GoSelfiesError
from ..frame.backgrounds import COLORS, KINDS, LIVE_KINDS, split_spec
from ..frame.postprocess import PostProcess
from ..options import DEFAULT_COLOR, OPTIONS
from ..paths import atomic_path

RUN_ONLY = {"saved": False}  # field metadata: belongs to one run (a command line), never saved
# What loads the network: changed together, and only once the model they name has loaded.
MODEL_FIELDS = ("model", "weights", "device", "backend", "size", "flip")


@dataclass
class LiveSettings:
    camera: str = "0"  # index or device path
    source: str = ""  # a video file played instead of the camera ("" = use the camera)
    model: str = "auto"
    weights: str = ""  # "" = the shipped weights
    device: str = "auto"
    backend: str = "auto"
    size: int = 0  # network input size, 0 = the model's default (the option's None)
    flip: bool = OPTIONS["flip"].default  # average with the mirrored frame's mask (twice the network time)
    width: int = OPTIONS["width"].default  # requested from the camera
    height: int = OPTIONS["height"].default
    fps: float = OPTIONS["fps"].default
    background: str = "blur"  # one of backgrounds.KINDS
    blur_strength: float = OPTIONS["blur_strength"].default
    color: str = DEFAULT_COLOR
    image: str = ""
    video: str = ""
    threshold: float = OPTIONS["threshold"].default  # 0 = soft mask
    feather: float = OPTIONS["feather"].default
    refine: bool = OPTIONS["refine"].default
    smoothing: float = OPTIONS["smoothing"].default
    skip: bool = OPTIONS["skip"].default  # keep the mask while the picture does not change (the network does not run)
    look_closer: bool = OPTIONS["look_closer"].default  # one extra small run on a person standing back (ModelInfo.closer_side; lite.md)
    mirror: bool = False
    auto_frame: bool = OPTIONS["auto_frame"].default  # crop the picture to follow the person (autoframe)
    frame_zoom: float = OPTIONS["frame_zoom"].default  # its narrowest crop, as a fraction of the frame's width
    virtual_camera: bool = False
    virtual_camera_device: str = ""  # "" = the first one pyvirtualcam finds
    effect: bool = True
    overlay: bool = True  # the window's FPS/timing overlay
    loop: bool = field(default=True, metadata=RUN_ONLY)  # a --source video starts again at its end
    record: str = field(default="", metadata=RUN_ONLY)  # also write the output to this video file
    frames: int = field(default=0, metadata=RUN_ONLY)  # stop after this many output frames (0 = never)

    def set_background(self, spec: str) -> None:
        """Take a ``parse_background`` spec apart into the kind and its own field."""
        kind, arg = split_spec(spec)
        if kind not in KINDS:
            raise GoSelfiesError(f"unknown background '{spec}'")
        if kind == "color" and (arg or "").lower() == "green":
            kind = "green"
        elif kind == "color":
            self.color = COLORS.get((arg or "").lower(), arg or "")
        elif kind == "blur":
            self.blur_strength = OPTIONS["blur_strength"].check(arg) if arg else OPTIONS["blur_strength"].default
        elif kind in ("image", "video"):
            setattr(self, kind, arg or "")
        self.background = kind

    def background_spec(self) -> str:
        """The ``parse_background`` spec for the chosen background (blur if a file is missing)."""
        kind = self.background
        if kind == "color":
            return f"color:{self.color}"
        if kind == "image" and self.image:
            return f"image:{self.image}"
        if kind == "video" and self.video:
            return f"video:{self.video}"
        if kind in ("transparent", "mask"):
            return kind
        if kind == "green":
            return "color:green"
        return f"blur:{self.blur_strength:g}"

    def needs_file(self, kind: str) -> bool:
        """Image and video backgrounds need a file first; the others can be picked at once."""
        return kind in ("image", "video") and not getattr(self, kind)

    def next_background(self) -> str:
        """The next kind in LIVE_KINDS, skipping image/video until a file was chosen."""
        kinds = [k for k in LIVE_KINDS if not self.needs_file(k)]
        i = kinds.index(self.background) if self.background in kinds else -1
        return kinds[(i + 1) % len(kinds)]

    def skipped_backgrounds(self) -> list[str]:
        """The kinds ``next_background`` passes over on its way (they need a file first)."""
        nxt = self.next_background()
        i = LIVE_KINDS.index(self.background) if self.background in LIVE_KINDS else -1
        skipped = []
        for step in range(1, len(LIVE_KINDS)):
            kind = LIVE_KINDS[(i + step) % len(LIVE_KINDS)]
            if kind == nxt:
                break
            skipped.append(kind)
        return skipped

    def with_default_model(self) -> "LiveSettings":
        """A copy whose model fields are the defaults: what runs when the chosen model cannot."""
        defaults = LiveSettings()
        return replace(self, **{name: getattr(defaults, name) for name in MODEL_FIELDS})

    def same_model(self, other: "LiveSettings") -> bool:
        return all(getattr(self, name) == getattr(other, name) for name in MODEL_FIELDS)

    def post(self) -> PostProcess:
        return PostProcess(threshold=self.threshold, feather=self.feather, refine=self.refine)  # 0: soft


def _saved(f) -> bool:
    return f.metadata.get("saved", True)


def settings_path() -> Path:
    """$GOSELFIES_CONFIG_DIR/gui.json if set (tests, portable installs), else the platform's config dir."""
    root = os.environ.get("GOSELFIES_CONFIG_DIR")
    if not root:
        from platformdirs import user_config_dir

        root = user_config_dir("goselfies", appauthor=False)
    return Path(root) / "gui.json"


def load_settings(path: str | Path | None = None) -> LiveSettings:
    path = Path(path) if path else settings_path()
    s = LiveSettings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return s
    except (OSError, ValueError) as exc:
        print(f"goselfies: ignoring unreadable settings {path} ({exc})", file=sys.stderr)
        return s
    if not isinstance(data, dict):
        return s
    for f in fields(LiveSettings):
        if f.name not in data or not _saved(f):
            continue
        value, default = data[f.name], getattr(s, f.name)
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, (int, float)):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            value = type(default)(value) if ok else value
        else:
            ok = isinstance(value, str)
        if ok:
            setattr(s, f.name, value)
    if s.background not in KINDS:
        s.background = "blur"
    defaults = LiveSettings()
    for f in fields(LiveSettings):  # a value out of its option's range: the default (user state never stops the app)
        option = OPTIONS.get(f.name)
        if option is not None and not option.within(getattr(s, f.name)):
            setattr(s, f.name, getattr(defaults, f.name))
    return s


def save_settings(settings: LiveSettings, path: str | Path | None = None) -> Path:
    """Write atomically: a crash while saving never leaves a half-written file."""
    path = Path(path) if path else settings_path()
    saved = {f.name: getattr(settings, f.name) for f in fields(settings) if _saved(f)}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(saved, indent=2), encoding="utf-8")
    return path


class SessionGuard:
    """Remembers whether the last window session ended cleanly (a marker file beside the settings).

    Settings that were active when the app died (a crashing background, say) must not be re-applied
    blindly, or every later start repeats the crash: after an unclean end, start from the defaults."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else settings_path()
        self.marker = self.path.with_name(self.path.name + ".running")

    def start(self) -> LiveSettings:
        crashed = self.marker.exists()
        self.marker.parent.mkdir(parents=True, exist_ok=True)
        self.marker.write_text(str(os.getpid()), encoding="utf-8")
        if crashed:
            print("goselfies: the last session did not exit cleanly; starting with default settings",
                  file=sys.stderr)
            return LiveSettings()
        return load_settings(self.path)

    def finish(self) -> None:
        self.marker.unlink(missing_ok=True)
