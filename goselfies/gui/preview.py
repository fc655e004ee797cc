"""The preview widget: the newest output frame at its own aspect ratio (never stretched), with an
FPS and per-stage timing overlay drawn on top."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from goselfies.live.pipeline import LATENCY, MASK_AGE, ROWS


def to_qimage(frame: np.ndarray) -> QImage:
    """Wrap an owned uint8 array (BGR, BGRA or gray) as a QImage; the caller keeps the array alive."""
    frame = np.ascontiguousarray(frame)
    h, w = frame.shape[:2]
    if frame.ndim == 2:
        return QImage(frame.data, w, h, frame.strides[0], QImage.Format.Format_Grayscale8)
    if frame.shape[2] == 4:  # BGRA bytes are ARGB32 on little-endian machines
        return QImage(frame.data, w, h, frame.strides[0], QImage.Format.Format_ARGB32)
    return QImage(frame.data, w, h, frame.strides[0], QImage.Format.Format_BGR888)


def fit_rect(frame_w: int, frame_h: int, area: QRect) -> QRect:
    """The largest rectangle of the frame's aspect ratio centred in ``area`` (letterbox/pillarbox)."""
    if frame_w <= 0 or frame_h <= 0 or area.width() <= 0 or area.height() <= 0:
        return QRect()
    scale = min(area.width() / frame_w, area.height() / frame_h)
    w, h = max(1, round(frame_w * scale)), max(1, round(frame_h * scale))
    return QRect(area.x() + (area.width() - w) // 2, area.y() + (area.height() - h) // 2, w, h)


class PreviewWidget(QWidget):
    """Paints the frame letterboxed on black; transparency shows as a checkerboard."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._array: np.ndarray | None = None  # keeps the QImage's memory alive
        self._image: QImage | None = None
        self.overlay: list[str] = []
        self.show_overlay = True
        self.message = "starting..."
        self.frames_shown = 0
        self._checker: QBrush | None = None

    def set_frame(self, frame: np.ndarray) -> None:
        self._array = np.ascontiguousarray(frame)
        self._image = to_qimage(self._array)
        self.message = ""
        self.frames_shown += 1
        self.update()

    def set_message(self, text: str) -> None:
        self.message = text
        self.update()

    def frame_size(self) -> tuple[int, int]:
        return (0, 0) if self._array is None else (self._array.shape[1], self._array.shape[0])

    def image_rect(self) -> QRect:
        """Where the frame is drawn inside the widget."""
        return fit_rect(*self.frame_size(), self.rect())

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        p.fillRect(self.rect(), Qt.GlobalColor.black)
        if self._image is not None:
            target = self.image_rect()
            if self._image.hasAlphaChannel():
                self._checkerboard(p, target)
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            p.drawImage(target, self._image)
        if self.show_overlay and self.overlay:
            self._draw_overlay(p)
        if self.message:
            p.setPen(QColor(235, 235, 235))
            p.setFont(QFont(self.font().family(), 12))
            p.drawText(self.rect().adjusted(20, 20, -20, -20),
                       Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
        p.end()

    def _checkerboard(self, p: QPainter, r: QRect) -> None:
        # One fill with a tiled brush: a loop of small fills costs thousands of Python->Qt calls a frame.
        if self._checker is None:
            self._checker = checker_brush()
        p.save()
        p.setBrushOrigin(r.topLeft())
        p.fillRect(r, self._checker)
        p.restore()

    def _draw_overlay(self, p: QPainter) -> None:
        font = QFont("monospace", 9)
        font.setStyleHint(QFont.StyleHint.Monospace)
        p.setFont(font)
        fm = p.fontMetrics()
        w = max(fm.horizontalAdvance(line) for line in self.overlay) + 12
        h = fm.height() * len(self.overlay) + 8
        p.fillRect(QRectF(6, 6, w, h), QColor(0, 0, 0, 150))
        p.setPen(QColor(255, 255, 255))
        for i, line in enumerate(self.overlay):
            p.drawText(12, 10 + fm.ascent() + i * fm.height(), line)


def checker_brush(cell: int = 12) -> QBrush:
    """A brush tiling a 2x2-cell light/dark checkerboard: how transparency is shown."""
    tile = QPixmap(2 * cell, 2 * cell)
    tile.fill(QColor(200, 200, 200))
    p = QPainter(tile)
    p.fillRect(cell, 0, cell, cell, QColor(150, 150, 150))
    p.fillRect(0, cell, cell, cell, QColor(150, 150, 150))
    p.end()
    return QBrush(tile)


def overlay_lines(stats) -> list[str]:
    """FPS, CPU use, frames segmented and per-stage timings from a PipelineStats, for the overlay. Outputs
    are listed while they deliver frames (``stats.sinks``); the mask's age stands beside the latency (a slow
    network composites each frame with an older mask: a low latency alone would flatter it)."""
    lines = [f"{stats.fps:5.1f} fps   dropped {stats.dropped}   CPU {stats.cpu_now:.2f} cores",
             f"segmented {stats.masks} of {stats.frames_out} frames"]
    age = stats.timings.get(MASK_AGE)
    for s in stats.timings.values():
        if not s.count or s.name == MASK_AGE or (s.name not in ROWS and s.name not in stats.sinks):
            continue
        line = f"{s.name:<10} {s.mean_ms:6.1f} ms  p99 {s.p99_ms:6.1f}"
        if s.name == LATENCY and age is not None and age.count:
            line += f"   mask age {age.mean_ms:5.1f} ms"
        lines.append(line)
    return lines
