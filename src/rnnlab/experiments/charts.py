"""Line charts drawn with Pillow, for the pictures on the start-up path (learning curves).

matplotlib takes about half a second to import and draw a figure, a sixth of the tutorial's
whole run; Pillow takes a few hundredths. This draws what a learning curve needs and no
more: panels side by side that share the y axis, a linear or log y axis with round ticks,
integer-friendly x ticks, lines with markers, a legend, titles. Everything is drawn at twice
the size and scaled down, for smooth lines. Richer pictures (heat maps, gates) stay with
matplotlib (``rnnlab.plots.figures``).
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

# matplotlib's "tab10" colours, so the pictures of both renderers look alike.
COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
_SCALE = 2  # drawn at twice the size, then scaled down (anti-aliasing)
_INK, _GRID, _FRAME = (34, 34, 34), (228, 228, 228), (90, 90, 90)


@dataclass
class Series:
    """One line: ``y[i]`` at ``x[i]``; points that are not finite (or not positive on a log
    axis) are left out."""

    label: str
    x: Sequence[float]
    y: Sequence[float]


@dataclass
class Panel:
    title: str
    series: list[Series] = field(default_factory=list)
    xlabel: str = ""


def nice_ticks(low: float, high: float, *, log: bool = False, most: int = 7) -> list[float]:
    """Round tick values covering ``[low, high]``: steps of 1, 2 or 5 times a power of ten
    (linear), or those multiples of each decade (log), at most about ``most`` of them."""
    if not (math.isfinite(low) and math.isfinite(high)) or high < low:
        raise ValueError(f"ticks need a finite range, got [{low}, {high}]")
    if log:
        if low <= 0:
            raise ValueError(f"a log axis needs positive values, got [{low}, {high}]")
        first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
        for multiples in ((1,), (1, 2, 5), (1, 2, 3, 4, 5, 6, 7, 8, 9)):
            ticks = [
                m * 10.0**k
                for k in range(first, last + 1)
                for m in multiples
                if low <= m * 10.0**k <= high
            ]
            if len(ticks) >= 3:
                return ticks[:: math.ceil(len(ticks) / most)]
        return ticks or [low, high]
    if high == low:
        return [low]
    raw = (high - low) / max(most - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.ceil(low / step - 1e-9)
    return [k * step for k in range(start, math.floor(high / step + 1e-9) + 1)]


def tick_label(value: float) -> str:
    """``3``, ``0.25``, ``1e-05``: short, and exact for the values ``nice_ticks`` gives."""
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e6:
        return f"{value:.6g}"
    return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")


def line_chart_png(
    panels: Sequence[Panel],
    *,
    title: str = "",
    ylabel: str = "",
    log_y: bool = False,
    legend_title: str = "",
    size: tuple[int, int] = (1000, 400),
) -> bytes:
    """Panels side by side, sharing the y axis; the legend sits in the last panel. PNG bytes."""
    from PIL import Image, ImageDraw

    s = _SCALE
    width, height = size[0] * s, size[1] * s
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font, big = _font(12 * s), _font(14 * s)

    ys = [y for panel in panels for line in panel.series for _, y in _points(line, log_y)]
    xs = [x for panel in panels for line in panel.series for x, _ in _points(line, log_y)]
    y_low, y_high = (min(ys), max(ys)) if ys else (1.0, 10.0)
    x_low, x_high = (min(xs), max(xs)) if xs else (0.0, 1.0)
    y_ticks = nice_ticks(y_low, y_high, log=log_y)
    x_ticks = nice_ticks(x_low, x_high)
    y_map = _axis(y_low, y_high, log_y)
    x_map = _axis(x_low, x_high, False)

    top = (40 if title else 12) * s + 22 * s
    bottom = height - 46 * s
    left = (int(max(draw.textlength(tick_label(t), font=font) for t in y_ticks)) + 18 * s) + (
        22 * s if ylabel else 0
    )
    right_edge = width - 12 * s
    gap = 20 * s
    panel_width = (right_edge - left - gap * (len(panels) - 1)) / max(len(panels), 1)

    if title:
        _centred(draw, width / 2, 12 * s, title, big)
    if ylabel:
        _vertical_text(image, 6 * s, (top + bottom) / 2, ylabel, font)

    for index, panel in enumerate(panels):
        x0 = left + index * (panel_width + gap)
        x1 = x0 + panel_width
        box = (x0, top, x1, bottom)

        def to_pixel(x, y, box=box):
            bx0, by0, bx1, by1 = box
            return bx0 + x_map(x) * (bx1 - bx0), by1 - y_map(y) * (by1 - by0)

        for tick in y_ticks:
            _, py = to_pixel(x_low, tick)
            draw.line([(x0, py), (x1, py)], fill=_GRID, width=s)
            if index == 0:
                label = tick_label(tick)
                tw = draw.textlength(label, font=font)
                draw.text((x0 - 6 * s - tw, py), label, fill=_INK, font=font, anchor="lm")
        for tick in x_ticks:
            px, _ = to_pixel(tick, y_low)
            draw.line([(px, top), (px, bottom)], fill=_GRID, width=s)
            _centred(draw, px, bottom + 6 * s, tick_label(tick), font)
        draw.rectangle(box, outline=_FRAME, width=s)
        _centred(draw, (x0 + x1) / 2, top - 20 * s, panel.title, big)
        if panel.xlabel:
            _centred(draw, (x0 + x1) / 2, bottom + 24 * s, panel.xlabel, font)
        for number, line in enumerate(panel.series):
            colour = COLOURS[number % len(COLOURS)]
            pixels = [to_pixel(x, y) for x, y in _points(line, log_y)]
            if len(pixels) > 1:
                draw.line(pixels, fill=colour, width=2 * s, joint="curve")
            for px, py in pixels:
                r = 4 * s
                draw.ellipse((px - r, py - r, px + r, py + r), fill=colour)

    if panels and panels[-1].series:
        _legend(draw, panels[-1].series, legend_title, (right_edge, top), font)

    image = image.reduce(_SCALE)  # box filter: each pixel the mean of a 2x2 block
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def prepare() -> None:
    """Import Pillow, its PNG writer and the fonts now, so that a later chart is drawn at once
    (``compare`` calls this while its models train in other processes)."""
    from PIL import Image

    Image.preinit()  # the image format plugins, imported by the first save otherwise
    _font(12 * _SCALE), _font(14 * _SCALE)


@functools.cache
def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)  # Pillow's own scalable font: nothing to find


def _points(line: Series, log: bool) -> list[tuple[float, float]]:
    return [
        (float(x), float(y))
        for x, y in zip(line.x, line.y, strict=True)
        if math.isfinite(x) and math.isfinite(y) and (y > 0 or not log)
    ]


def _axis(low: float, high: float, log: bool):
    """Value -> position in [0, 1] along the axis, with 5% of padding at both ends."""
    if log:
        low, high = math.log10(low), math.log10(high)
    span = (high - low) or 1.0
    low, span = low - 0.05 * span, 1.1 * span

    def position(value: float) -> float:
        v = math.log10(value) if log else value
        return (v - low) / span

    return position


def _centred(draw, x: float, y: float, text: str, font) -> None:
    draw.text((x, y), text, fill=_INK, font=font, anchor="mt")


def _vertical_text(image, x: float, y_centre: float, text: str, font) -> None:
    from PIL import Image, ImageDraw

    width = int(ImageDraw.Draw(image).textlength(text, font=font)) + 4
    height = int(font.size * 1.4)
    label = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(label).text((2, 0), text, fill=_INK, font=font)
    label = label.rotate(90, expand=True)
    image.paste(label, (int(x), int(y_centre - label.height / 2)))


def _legend(draw, series: Sequence[Series], title: str, corner, font) -> None:
    s = _SCALE
    row = int(font.size * 1.45)
    swatch = 26 * s
    labels = [line.label for line in series]
    text_width = max(draw.textlength(t, font=font) for t in [*labels, title])
    box_width = text_width + swatch + 24 * s
    rows = len(labels) + (1 if title else 0)
    right, top = corner[0] - 10 * s, corner[1] + 10 * s
    left = right - box_width
    draw.rounded_rectangle(
        (left, top, right, top + rows * row + 12 * s),
        radius=4 * s,
        fill="white",
        outline=(204, 204, 204),
        width=s,
    )
    y = top + 6 * s + row / 2
    if title:
        draw.text(((left + right) / 2, y), title, fill=_INK, font=font, anchor="mm")
        y += row
    for number, label in enumerate(labels):
        colour = COLOURS[number % len(COLOURS)]
        x = left + 8 * s
        draw.line([(x, y), (x + swatch, y)], fill=colour, width=2 * s)
        r = 4 * s
        draw.ellipse((x + swatch / 2 - r, y - r, x + swatch / 2 + r, y + r), fill=colour)
        draw.text((x + swatch + 8 * s, y), label, fill=_INK, font=font, anchor="lm")
        y += row
