"""The Pillow line charts behind the learning curves."""

import io
import math

import pytest
from PIL import Image

from rnnlab.experiments.charts import COLOURS, Panel, Series, line_chart_png, nice_ticks, tick_label


def rgb(hex_colour):
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))


def decode(png):
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image.convert("RGB")


def colours_near(image, colour, tolerance=12):
    return sum(
        count
        for count, pixel in image.getcolors(maxcolors=1 << 20)
        if all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))
    )


@pytest.mark.parametrize(
    "low, high, log, expected",
    [
        (0.0, 1.0, False, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (1, 10, False, [2, 4, 6, 8, 10]),
        (0.011, 170.0, True, [0.1, 1, 10, 100]),
        (3.3, 17.0, True, [4, 5, 6, 7, 8, 9, 10]),
        (0.2, 0.9, True, [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]),
    ],
)
def test_nice_ticks(low, high, log, expected):
    ticks = nice_ticks(low, high, log=log, most=8)
    assert ticks == pytest.approx(expected)
    assert all(low - 1e-12 <= t <= high + 1e-12 for t in ticks)


def test_nice_ticks_refuse_what_cannot_be_drawn():
    with pytest.raises(ValueError, match="finite range"):
        nice_ticks(0.0, math.inf)
    with pytest.raises(ValueError, match="positive values"):
        nice_ticks(0.0, 1.0, log=True)


def test_tick_labels_are_short():
    assert [tick_label(v) for v in (0, 3.0, 0.25, 1e-5, 2e6)] == ["0", "3", "0.25", "1e-5", "2e6"]


def test_a_chart_has_its_size_and_every_series_colour():
    panels = [
        Panel(
            title,
            [
                Series("a", [1, 2, 3], [10.0, 5.0, 2.0]),
                Series("b", [1, 2, 3], [8.0, math.nan, 1.0]),  # the NaN is left out
            ],
            xlabel="epoch",
        )
        for title in ("training", "validation")
    ]
    image = decode(line_chart_png(panels, title="t", ylabel="loss", log_y=True, size=(640, 320)))
    assert image.size == (640, 320)
    for colour in COLOURS[:2]:
        assert colours_near(image, rgb(colour)) > 200  # lines and markers in both panels
    assert colours_near(image, rgb(COLOURS[2])) == 0  # no third series


def test_a_chart_with_nothing_to_draw_is_still_a_picture():
    image = decode(line_chart_png([Panel("empty", [Series("x", [1.0], [math.inf])])]))
    assert image.size == (1000, 400)
