"""The user-facing options, each defined once: name, type, default, bounds and help.

The command line's parsers (``Option.add``), the live session's settings (``live.settings.LiveSettings``: what
the window shows and saves) and every check of a value (``Option.check``, one line naming the flag and its
range) are made from this table. ``tests/test_options.py`` fails when a default or a bound is written anywhere
else in the code, and compares the table with ``--help``, the window and the README.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from .errors import GoSelfiesError

FPS = 30.0  # the frame rate asked of a camera, and assumed where a source does not say
DEFAULT_COLOR = "#438edb"  # the ID-photo blue of the paper's example: the colour background's default ("blue")
_MISSING = object()


@dataclass(frozen=True)
class Option:
    name: str  # the settings field; on the command line --NAME with dashes
    default: Any
    help: str  # "{default}", "{low}" and "{high}" are filled in (numbers with :g, booleans as on/off)
    low: float | None = None
    high: float | None = None
    open_low: bool = False  # ``low`` itself is outside the range
    open_high: bool = False
    metavar: str | None = None
    kind: type | None = None  # the value's type, where the default's does not say
    still: Any = _MISSING  # the default for photos and the demo (not real time), where it differs

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def type(self) -> type:
        return self.kind or type(self.default)

    def bounds(self) -> str:
        """The range as ``[0, 0.95]``, ``(0, 1]`` or ``at least 1``."""
        if self.high is None:
            return f"{'above' if self.open_low else 'at least'} {self.low:g}"
        return f"{'(' if self.open_low else '['}{self.low:g}, {self.high:g}{')' if self.open_high else ']'}"

    def within(self, value: Any) -> bool:
        if self.low is None or value is None:
            return True
        above = value > self.low if self.open_low else value >= self.low
        below = self.high is None or (value < self.high if self.open_high else value <= self.high)
        return bool(above and below)

    def parse(self, text: str) -> Any:
        """The command line's text as the option's type; text that is not one stays text, for ``check`` to
        refuse in one line."""
        try:
            return self.type(text)
        except ValueError:
            return text

    def check(self, value: Any) -> Any:
        """The value as the option's type, or one line of error naming the flag and its range."""
        number = value
        if value is not None and self.type in (int, float):
            try:
                number = self.type(value)
                ok = self.type is float or float(value) == number  # 1.5 is no int
            except (TypeError, ValueError):
                ok = False
            if ok and self.within(number):
                return number
        elif self.within(value):
            return value
        kind = "a whole number" if self.type is int else "a number"
        where = f"in {self.bounds()}" if self.high is not None else self.bounds()
        shown = f"{value:g}" if isinstance(value, (int, float)) else value
        raise GoSelfiesError(f"{self.flag} must be {kind} {where}, got '{shown}'")

    def describe(self, default: Any = _MISSING) -> str:
        """The help text, with this default (the table's unless given)."""
        d = self.default if default is _MISSING else default
        shown = ("on" if d else "off") if isinstance(d, bool) else f"{d:g}" if isinstance(d, (int, float)) else d
        return self.help.format(default=shown, low=_g(self.low), high=_g(self.high))

    def default_for(self, still: bool = False) -> Any:
        return self.still if still and self.still is not _MISSING else self.default

    def add(self, parser, still: bool = False) -> None:
        """The option on an argparse parser or group; ``still``: for photos (``default_for``)."""
        d = self.default_for(still)
        text = self.describe(d).replace("%", "%%")
        if self.type is bool:
            parser.add_argument(self.flag, action=argparse.BooleanOptionalAction, default=d, help=text)
        else:
            parser.add_argument(self.flag, type=self.parse, default=d, metavar=self.metavar, help=text)


def _g(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


OPTIONS: dict[str, Option] = {o.name: o for o in (
    # the mask
    Option("threshold", 0.0, "a hard mask at T, in (0, 1) (default {default}: a soft mask)",
           0.0, 1.0, open_high=True, metavar="T"),
    Option("feather", 0.0, "soften the mask edge by PX pixels, {low} to {high} (default {default})",
           0.0, 50.0, metavar="PX"),
    Option("refine", True, "lay the mask edge onto the image's edges (colour guided filter; default {default})"),
    Option("flip", False, "average with the mirrored image's mask: cleaner edges, twice the time (default {default})",
           still=True),
    Option("second_pass", True, "run the network again, closer, on a person small in the frame (standing back, "
           "full body): up to twice the time on such images (default {default})"),
    # live and video
    Option("smoothing", 0.6, "temporal mask smoothing against edge flicker, {low} (off) to {high} (default {default})",
           0.0, 0.95, metavar="S"),
    Option("lookahead", 2, "frames ahead a video file's smoothing also looks at (default {default}; 0: only the "
           "past, as live)", 0, metavar="N"),
    Option("look_closer", True, "run the network once more, small, on a person standing back from the camera "
           "(only where the person's box covers under 44% of the frame; default {default})"),
    Option("skip", True, "keep the mask while the picture does not change; --no-skip runs the network on every "
           "frame (default {default})"),
    Option("auto_frame", False, "crop the picture to follow the person (centred, head room kept), scaled back to "
           "the output size (default {default})"),
    Option("frame_zoom", 0.5, "with --auto-frame: the narrowest crop as a fraction of the frame's width, in "
           "(0, 1] (default {default}: never more than 2x zoom)", 0.0, 1.0, open_low=True, metavar="Z"),
    Option("blur_strength", 15.0, "the background blur's strength, blur:STRENGTH, in (0, 200] (default {default})",
           0.0, 200.0, open_low=True, metavar="STRENGTH"),
    # the camera
    Option("width", 1280, "camera width to request (default {default})", 1, metavar="W"),
    Option("height", 720, "camera height to request (default {default})", 1, metavar="H"),
    Option("fps", FPS, "camera frame rate to request (default {default})", 0.0, open_low=True, metavar="FPS"),
    # the network
    Option("size", None, "network input size, longer side, {low} to {high} (default: the weights' own, their "
           "measured best)", 32, 2048, metavar="N", kind=int),
    Option("frames", None, "stop after N output frames", 1, metavar="N", kind=int),
)}
