"""Reading and writing images, videos and JSON files: clear errors, and outputs that appear only when complete."""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ..errors import GoSelfiesError
from ..options import FPS
from ..paths import atomic_path, cannot_write, output_folder, remove_quietly

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image file to uint8 BGR (alpha dropped)."""
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise GoSelfiesError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if data.size == 0:
        raise GoSelfiesError(f"{path}: empty file")
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if img is None:
        raise GoSelfiesError(f"{path}: not a readable image (corrupt or unsupported format)")
    return img


def list_images(inputs: list[str | Path]) -> tuple[list[Path], list[str]]:
    """Expand files and folders to image files; returns (images, one error line per bad input)."""
    images: list[Path] = []
    errors: list[str] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)
            if not found:
                errors.append(f"{item}: folder has no images ({', '.join(sorted(IMAGE_EXTS))})")
            images.extend(found)
        elif item.is_file():
            images.append(item)
        else:
            errors.append(f"{item}: no such file or folder")
    return images, errors


def check_frame(who: str, frame) -> np.ndarray:
    """What every sink and writer takes, checked as pyvirtualcam's ``send`` does: a uint8 image (H, W) of gray,
    (H, W, 3) BGR or (H, W, 4) BGRA, at least 2x2; anything else is one line naming ``who`` (the sink, the file) and what it got."""
    ok = (isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and
          (frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] in (3, 4))) and min(frame.shape[:2]) >= 2)
    if not ok:
        got = (f"{frame.dtype} array of shape {frame.shape}" if isinstance(frame, np.ndarray)
               else type(frame).__name__)
        raise GoSelfiesError(f"{who}: expected a uint8 image of shape (H, W), (H, W, 3) or (H, W, 4), got a {got}")
    return frame


def write_image(path: str | Path, image: np.ndarray) -> None:
    """Encode by extension and write atomically."""
    path = Path(path)
    ok, buf = cv2.imencode(path.suffix or ".png", image)
    if not ok:
        raise GoSelfiesError(f"{path}: cannot encode image")
    try:
        with atomic_path(path) as tmp:
            buf.tofile(tmp)
    except OSError as exc:
        raise cannot_write(path, exc) from None


# --- video files: PyAV (FFmpeg's libraries; its wheels bring H.264, VP9 with alpha, ProRes and AAC) ---

VIDEO_EXTS = (".mp4", ".m4v", ".mov", ".mkv", ".webm")
ALPHA_OUTPUTS = ".webm (VP9), .mov (ProRes 4444) or a PNG sequence (a folder or NAME_%05d.png)"
# counter-clockwise quarter turns -> the cv2.rotate code that makes them
_TURNS = {1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_CLOCKWISE}
# Written YUV is converted by swscale's default, BT.601 limited range, and tagged so: untagged HD
# video is shown as BT.709 by most players, which shifts the colours.
_BT601, _LIMITED_RANGE = 6, 1


class StillImageError(GoSelfiesError):
    """A still image where a video was expected, so the caller can say what to use instead."""


def _turns(degrees: float) -> int:
    """Counter-clockwise quarter turns for a display rotation in degrees (FFmpeg's convention)."""
    return round(degrees / 90) % 4


# PyAV up to 18 decodes container and stream metadata strictly unless told otherwise, so a file with a
# non-UTF-8 tag (old camcorders, some .mov artwork) would not open; PyAV 19 dropped the keyword and decodes
# metadata with surrogateescape, which never fails. The keyword is passed while this PyAV takes it.
_LENIENT_METADATA: dict = {"metadata_errors": "ignore"}


def open_input(path: Path):
    """``av.open`` for reading, tolerant of undecodable metadata on every PyAV that pyproject allows."""
    import av

    try:
        return av.open(str(path), **_LENIENT_METADATA)
    except TypeError:
        if not _LENIENT_METADATA:
            raise
        _LENIENT_METADATA.clear()  # this PyAV has no such keyword: it decodes metadata leniently itself
        return av.open(str(path))


def _open_video(path: Path, paced: bool = False):
    """(container, first video stream) of a file; an image, a non-video or a broken file is one line."""
    import av

    try:
        container = open_input(path)
    except (av.FFmpegError, OSError):
        raise GoSelfiesError(f"{path}: not a readable video (empty, corrupt or unsupported)") from None
    fmt = container.format.name
    if path.suffix.lower() in IMAGE_EXTS or fmt == "image2" or fmt.endswith("_pipe"):
        container.close()
        raise StillImageError(f"{path}: is a still image, not a video")
    if not container.streams.video:
        container.close()
        raise GoSelfiesError(f"{path}: has no video stream")
    stream = container.streams.video[0]
    if not paced:  # frame and slice threads: several times faster than slices alone, for more CPU time
        stream.thread_type = "AUTO"
    return container, stream


class VideoReader:
    """Frames of a video file as upright uint8 BGR, with its fps, size, frame count and timestamps.

    Frames are turned upright by the file's display rotation (phone videos), as players show them,
    because the network needs people upright; ``rotation`` and ``time_base`` with the timestamps of
    ``timed()`` let a writer keep the input's rotation and (variable) frame timing. A damaged packet
    is skipped, as players do. ``loop=True`` starts again at the end (looping backgrounds, a file
    played as a camera); reopening is more reliable than seeking across codecs.
    """

    def __init__(self, path: str | Path, loop: bool = False, paced: bool = False):
        """``paced``: played at its frame rate (a file as a camera): FFmpeg's own threading, which
        cost less CPU a frame than frame threads (BENCHMARKS.md)."""
        self.path = Path(path)
        self.loop = loop
        self.paced = paced
        self.skipped = 0  # damaged packets skipped
        if self.path.is_dir():
            raise GoSelfiesError(f"{self.path}: is a folder, not a video file")
        if not self.path.is_file():
            raise GoSelfiesError(f"{self.path}: no such video file")
        self.container, self.stream = _open_video(self.path, paced)
        self._decoded = self._decode()
        first = next(self._decoded, None)
        if first is None:
            self.close()
            raise GoSelfiesError(f"{self.path}: not a readable video (empty, corrupt or unsupported)")
        self.rotation = _turns(first.rotation or 0) * 90  # counter-clockwise degrees, 0/90/180/270
        self._turn = _TURNS.get(_turns(self.rotation))
        self._first: tuple[np.ndarray, int | None] | None = (self._image(first), first.pts)
        self.height, self.width = self._first[0].shape[:2]
        s = self.stream
        rate = s.average_rate or s.guessed_rate or s.base_rate
        self.fps = float(rate) if rate and 0 < float(rate) < 1000 else FPS
        self.time_base = s.time_base
        self.duration = float(s.duration * s.time_base) if s.duration else (self.container.duration or 0) / 1e6
        # WebM/MKV do not store a frame count: estimate it from the duration (for progress bars)
        self.frame_count = int(s.frames or round(self.duration * self.fps))
        self.has_audio = bool(self.container.streams.audio)

    def _decode(self):
        import av

        try:
            for packet in self.container.demux(self.stream):
                try:
                    frames = packet.decode()
                except av.InvalidDataError:
                    self.skipped += 1
                    continue
                yield from frames
        except av.FFmpegError as exc:
            raise GoSelfiesError(f"{self.path}: cannot read the video ({exc})") from None

    def _image(self, frame) -> np.ndarray:
        image = frame.to_ndarray(format="bgr24")  # converted by the file's colour tags
        return cv2.rotate(image, self._turn) if self._turn is not None else image

    def timed(self) -> Iterator[tuple[np.ndarray, int | None]]:
        """(frame, pts in ``time_base``) pairs; pts is None where the file has none."""
        n = 0
        if self._first is not None:
            first, self._first = self._first, None
            n += 1
            yield first
        while True:
            for frame in self._decoded:
                n += 1
                yield self._image(frame), frame.pts
            if not self.loop or n == 0:
                return
            n = 0
            self.container.close()
            self.container, self.stream = _open_video(self.path, self.paced)
            self._decoded = self._decode()

    def __iter__(self) -> Iterator[np.ndarray]:
        for image, _ in self.timed():
            yield image

    def close(self) -> None:
        self.container.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@dataclass(frozen=True)
class VideoEncoding:
    """How a video output is encoded, chosen by its extension and whether it keeps alpha."""

    codec: str
    pix_fmt: str
    options: dict
    container_options: dict

    @property
    def even_size(self) -> bool:
        """4:2:0 H.264 needs even sizes (x264 refuses odd ones); VP9 and ProRes take any."""
        return self.codec == "libx264"


def video_encoding(path: str | Path, alpha: bool = False, realtime: bool = False) -> VideoEncoding:
    """The encoder for ``path``: H.264 (.mp4 .m4v .mov .mkv) or VP9 (.webm); with ``alpha``, VP9
    yuva420p (.webm) or ProRes 4444 (.mov). Anything else is refused with one line naming what works.
    ``realtime`` (live recording) trades file size for an encoder that keeps up with a camera."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in VIDEO_EXTS:
        raise GoSelfiesError(f"{path}: cannot write '{ext or path.name}' videos; use .mp4, .mov, .mkv or .webm, "
                             "or a PNG sequence (a folder or NAME_%05d.png)")
    faststart = {"movflags": "+faststart"} if ext in (".mp4", ".m4v", ".mov") else {}
    vp9 = {"crf": "32", "b": "0", "row-mt": "1", "deadline": "realtime" if realtime else "good",
           "cpu-used": "8" if realtime else "5"}
    if alpha:
        if ext == ".webm":
            return VideoEncoding("libvpx-vp9", "yuva420p", vp9, {})
        if ext == ".mov":
            return VideoEncoding("prores_ks", "yuva444p10le", {"profile": "4444"}, faststart)
        raise GoSelfiesError(f"{path}: {ext} cannot carry transparency; use {ALPHA_OUTPUTS}")
    if ext == ".webm":
        return VideoEncoding("libvpx-vp9", "yuv420p", vp9, {})
    # veryfast: half the CPU time of x264's default (medium) on a 2-core machine, where the encoder
    # competes with the network; at CRF 20 the picture is as good to the eye, the file was no larger.
    # Live, the encoder runs in the compositing loop: ultrafast costs what mp4v did (5 vs 3 ms per
    # 640x480 frame, veryfast 12-15), for files about twice as large.
    preset = "ultrafast" if realtime else "veryfast"
    return VideoEncoding("libx264", "yuv420p", {"crf": "20", "preset": preset}, faststart)


class _AudioTrack:
    """The input's sound in the output: packets copied unchanged where the container takes the codec,
    else decoded and re-encoded (AAC, Opus in WebM). Muxed in step with the video frames, so the
    muxer's interleaving buffer stays small."""

    @classmethod
    def open(cls, source: Path, output) -> "_AudioTrack | None":
        """The first audio stream of ``source`` added to ``output``; None if it has no sound."""
        container = open_input(source)
        if not container.streams.audio:
            container.close()
            return None
        return cls(container, output)

    def __init__(self, container, output):
        import av

        self.input = container
        src = self.input.streams.audio[0]
        self.output, self.src = output, src
        name, fmt = src.codec_context.name, output.format.name
        # MP4 allows PCM since 2019 but players do not play it
        self.copy = name in output.supported_codecs and not (name.startswith("pcm_") and fmt in ("mp4", "ipod"))
        if self.copy:
            self.stream = output.add_stream_from_template(src)
            self.resampler = None
            self.describe = f"sound copied ({name})"
        else:
            codec = "libopus" if fmt == "webm" else "aac"
            channels = src.codec_context.layout.nb_channels
            layout = src.codec_context.layout.name if channels <= 2 or codec == "aac" else "stereo"
            rate = 48000 if codec == "libopus" else (src.codec_context.sample_rate or 48000)
            self.stream = output.add_stream(codec, rate=rate)
            self.stream.layout = layout
            self.resampler = av.AudioResampler(format=self.stream.codec_context.codec.audio_formats[0].name,
                                               layout=layout, rate=rate)
            self.describe = f"sound re-encoded ({name} -> {codec.removeprefix('lib')})"
        self._packets = self.input.demux(src)
        self._held = None

    def mux_until(self, seconds: float | None) -> None:
        """Mux the packets that start before ``seconds`` (None: all that are left)."""
        import av

        while True:
            packet, self._held = self._held or next(self._packets, None), None
            if packet is None:
                return
            if seconds is not None and packet.pts is not None and packet.pts * packet.time_base > seconds:
                self._held = packet
                return
            if self.copy:
                if packet.dts is not None:  # the demuxer's last, empty packet is not data
                    packet.stream = self.stream
                    self.output.mux(packet)
                continue
            try:
                frames = packet.decode()  # the empty last packet flushes the decoder
            except av.InvalidDataError:
                continue
            for frame in frames:
                self._encode(frame)
            if packet.dts is None and packet.size == 0:
                self._encode(None)

    def _encode(self, frame) -> None:
        for f in self.resampler.resample(frame):
            for p in self.stream.encode(f):
                self.output.mux(p)
        if frame is None:
            for p in self.stream.encode(None):
                self.output.mux(p)

    def close(self) -> None:
        self.input.close()


class VideoWriter:
    """A video file written with PyAV under a temporary name and renamed on a clean close.

    The codec follows the extension (``video_encoding``). ``audio_from`` adds that file's sound.
    Timestamps given to ``write`` (in ``time_base``) are kept, so variable frame rates survive;
    frames are given upright and ``rotation`` is written back as the file's display rotation, so
    the output is stored like the input. Gray and BGR frames are fine; alpha is kept only with
    ``alpha`` (a BGR frame then is opaque).
    """

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int], *, alpha: bool = False,
                 audio_from: str | Path | None = None, time_base: Fraction | None = None,
                 rotation: int = 0, realtime: bool = False):
        import av

        self.path = Path(path)
        enc = video_encoding(self.path, alpha, realtime)
        self.alpha = alpha
        self.size = size
        self.frames = 0
        self.audio: str | None = None  # what became of the sound, for the summary
        turns = _turns(rotation)
        self._unturn = _TURNS.get(-turns % 4)
        w, h = size if turns % 2 == 0 else size[::-1]
        if enc.even_size:  # at most one row/column less: x264 encodes 4:2:0 only at even sizes
            w, h = w - w % 2, h - h % 2
        if w < 2 or h < 2:
            raise GoSelfiesError(f"{self.path}: a {size[0]}x{size[1]} video is too small to encode")
        self._coded = (w, h)
        rate = Fraction(fps).limit_denominator(1001)
        self.time_base = Fraction(time_base) if time_base else 1 / rate
        self._step = max(1, round(1 / (rate * self.time_base)))  # one frame in time_base ticks
        self._last_pts: int | None = None
        self._audio: _AudioTrack | None = None
        output_folder(self.path.parent)
        self.tmp = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self.container = None
        try:
            self.container = av.open(str(self.tmp), "w", container_options=enc.container_options)
            self.stream = self.container.add_stream(enc.codec, rate=rate, options=enc.options)
            self.stream.width, self.stream.height, self.stream.pix_fmt = w, h, enc.pix_fmt
            cc = self.stream.codec_context
            cc.time_base = self.stream.time_base = self.time_base
            cc.colorspace, cc.color_range = _BT601, _LIMITED_RANGE
            if turns:
                self.stream.set_display_rotation(turns * 90)
            if audio_from is not None:
                self._audio = _AudioTrack.open(Path(audio_from), self.container)
                self.audio = self._audio.describe if self._audio else None
        except (av.FFmpegError, OSError) as exc:
            self._discard()
            raise GoSelfiesError(f"{self.path}: cannot write this video ({exc})") from None

    def write(self, frame: np.ndarray, pts: int | None = None) -> None:
        """Encode one upright frame; ``pts`` in ``time_base`` (None: one frame after the last)."""
        import av

        check_frame(str(self.path), frame)
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        elif frame.shape[2] == 4 and not self.alpha:
            frame = frame[:, :, :3]
        elif frame.shape[2] == 3 and self.alpha:
            frame = cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)
        if self._unturn is not None:
            frame = cv2.rotate(frame, self._unturn)
        w, h = self._coded
        if not (0 <= frame.shape[1] - w <= 1 and 0 <= frame.shape[0] - h <= 1):
            raise GoSelfiesError(f"{self.path}: frame is {frame.shape[1]}x{frame.shape[0]}, the video {w}x{h}")
        if pts is None:
            pts = 0 if self._last_pts is None else self._last_pts + self._step
        elif self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1  # encoders need rising timestamps
        self._last_pts = pts
        # no copy: the encoder converts the frame to its pixel format (a new frame) before this call returns
        vf = av.VideoFrame.from_numpy_buffer(np.ascontiguousarray(frame[:h, :w]), format="bgra" if self.alpha else "bgr24")
        vf.pts, vf.time_base = pts, self.time_base
        try:
            if self._audio is not None:
                self._audio.mux_until(float(pts * self.time_base))
            for packet in self.stream.encode(vf):
                self.container.mux(packet)
        except (av.FFmpegError, OSError) as exc:
            raise GoSelfiesError(f"{self.path}: cannot encode ({exc})") from None
        self.frames += 1

    def close(self, ok: bool = True) -> None:
        """Finish; on ``ok`` the file appears at its real name, otherwise it is removed."""
        import av

        if self.container is None:
            return
        keep = ok and self.frames > 0
        try:
            if keep:
                for packet in self.stream.encode(None):
                    self.container.mux(packet)
                if self._audio is not None:
                    self._audio.mux_until(None)
                self.container.close()
        except (av.FFmpegError, OSError) as exc:
            keep = False
            raise GoSelfiesError(f"{self.path}: cannot finish the video ({exc})") from None
        finally:
            if not keep:
                self._discard()
            else:
                self.container = None
                if self._audio is not None:
                    self._audio.close()
                try:
                    os.replace(self.tmp, self.path)
                except OSError as exc:
                    remove_quietly(self.tmp)
                    raise cannot_write(self.path, exc) from None

    def _discard(self) -> None:
        for closing in (self.container, self._audio):
            try:
                if closing is not None:
                    closing.close()
            except Exception:  # noqa: BLE001 - an aborted file is removed anyway
                pass
        self.container = None
        remove_quietly(self.tmp)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *rest):
        self.close(ok=exc_type is None)


def sequence_target(path: str | Path) -> tuple[Path, str] | None:
    """(folder, file pattern) when ``path`` names a PNG sequence: an existing folder, a name without
    an extension or ending in '/', or a NAME_%05d.png pattern; None for a video file."""
    text = str(path)
    path = Path(path)
    if "%" in path.name:
        pattern = path.name
        try:
            ok = pattern % 1 != pattern % 2
        except (TypeError, ValueError):
            ok = False
        if not ok or path.suffix.lower() != ".png":
            raise GoSelfiesError(f"{path}: a PNG sequence pattern has one number field and ends in .png, "
                                 "e.g. frame_%05d.png")
        return path.parent, pattern
    if path.is_dir() or text.endswith(("/", os.sep)) or not path.suffix:
        return path, "%05d.png"
    return None


class ImageSequenceWriter:
    """Numbered PNGs (RGBA when the background is transparent): what video editors import.

    Frames go to a hidden folder that becomes the output folder on a clean close (or, into an
    existing folder, whose files are then moved into it), so a failed run leaves nothing behind."""

    def __init__(self, target: str | Path):
        self.folder, self.pattern = sequence_target(target) or (Path(target), "%05d.png")
        self.path = self.folder / self.pattern
        self.frames = 0
        self.audio: str | None = None
        self._into_existing = self.folder.is_dir()
        if self.folder.exists() and not self._into_existing:
            raise GoSelfiesError(f"{self.folder}: is a file; a PNG sequence needs a folder")
        self.tmp = (self.folder / ".goselfies.partial" if self._into_existing
                    else self.folder.with_name(f".{self.folder.name}.partial"))
        output_folder(self.tmp.parent)
        shutil.rmtree(self.tmp, ignore_errors=True)  # left by a killed run
        try:
            self.tmp.mkdir()
        except OSError as exc:
            raise cannot_write(self.folder, exc) from None

    def write(self, frame: np.ndarray, pts: int | None = None) -> None:
        check_frame(str(self.folder), frame)
        ok, buf = cv2.imencode(".png", frame)
        if not ok:
            raise GoSelfiesError(f"{self.path}: cannot encode frame {self.frames + 1}")
        try:
            buf.tofile(self.tmp / (self.pattern % (self.frames + 1)))
        except OSError as exc:
            raise cannot_write(self.folder, exc) from None
        self.frames += 1

    def close(self, ok: bool = True) -> None:
        """On ``ok`` the frames appear in the folder, otherwise none of them do."""
        if self.tmp is None:
            return
        tmp, self.tmp = self.tmp, None
        try:
            if ok and self.frames:
                if not self._into_existing:
                    os.replace(tmp, self.folder)
                    return
                for f in sorted(tmp.iterdir()):
                    os.replace(f, self.folder / f.name)
        except OSError as exc:
            raise cannot_write(self.folder, exc) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *rest):
        self.close(ok=exc_type is None)


def open_video_output(path: str | Path, fps: float, size: tuple[int, int], **kwargs):
    """A VideoWriter for a video file, or an ImageSequenceWriter for a folder or NAME_%05d.png
    (which has no sound, rotation or timing: frames are upright and numbered)."""
    if sequence_target(path) is not None:
        return ImageSequenceWriter(path)
    return VideoWriter(path, fps, size, **kwargs)


def read_json_object(path: str | Path, what: str) -> dict:
    """A JSON object from ``path``; a missing or broken file is one clear message naming ``what``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise GoSelfiesError(f"{path}: no such {what} file") from None
    except (OSError, ValueError) as exc:
        raise GoSelfiesError(f"{path}: not a readable {what} JSON file ({str(exc)[:100]})") from None
    if not isinstance(data, dict):
        raise GoSelfiesError(f"{path}: the {what} file must hold a JSON object")
    return data
