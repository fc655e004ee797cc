"""Reading and writing images, videos and JSON files: clear errors, and outputs that appear only when complete."""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from .errors import GoSelfiesError

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


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling path; rename it over ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_image(path: str | Path, image: np.ndarray) -> None:
    """Encode by extension and write atomically."""
    path = Path(path)
    ok, buf = cv2.imencode(path.suffix or ".png", image)
    if not ok:
        raise GoSelfiesError(f"{path}: cannot encode image")
    with atomic_path(path) as tmp:
        buf.tofile(tmp)


class VideoReader:
    """Frames of a video file as uint8 BGR, with its fps, size and frame count.

    ``loop=True`` starts again from the first frame at the end (looping backgrounds, a file
    played as a camera); reopening is more reliable than seeking across codecs.
    """

    def __init__(self, path: str | Path, loop: bool = False):
        self.path = Path(path)
        self.loop = loop
        if not self.path.is_file():
            raise GoSelfiesError(f"{self.path}: no such video file")
        self.cap = cv2.VideoCapture(str(self.path))
        ok, first = self.cap.read() if self.cap.isOpened() else (False, None)
        if not ok or first is None:
            self.cap.release()
            raise GoSelfiesError(f"{self.path}: not a readable video (empty, corrupt or unsupported)")
        self._first: np.ndarray | None = first
        self.height, self.width = first.shape[:2]
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and 0 < fps < 1000 else 30.0
        self.frame_count = int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 0

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._first is not None:
            first, self._first = self._first, None
            yield first
        while True:
            ok, frame = self.cap.read()
            if not ok and self.loop:
                self.cap.release()
                self.cap = cv2.VideoCapture(str(self.path))
                ok, frame = self.cap.read()
            if not ok:
                return
            yield frame

    def close(self) -> None:
        self.cap.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class VideoWriter:
    """MP4 writer that writes to a temporary name and renames on a clean close."""

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix or '.mp4'}")
        self.size = size
        self.frames = 0
        self.writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        if not self.writer.isOpened():
            self.tmp.unlink(missing_ok=True)
            raise GoSelfiesError(f"{path}: cannot open for writing an MP4 video")

    def write(self, frame: np.ndarray) -> None:
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        elif frame.shape[2] == 4:
            frame = frame[:, :, :3]
        self.writer.write(np.ascontiguousarray(frame))
        self.frames += 1

    def close(self, ok: bool = True) -> None:
        """Finish; on ``ok`` the file appears at its real name, otherwise it is removed."""
        if self.writer is None:
            return
        self.writer.release()
        self.writer = None
        if ok and self.frames:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *rest):
        self.close(ok=exc_type is None)


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
