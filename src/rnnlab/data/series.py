"""Time series: read from CSV (long or wide), checked, filled when asked, and their season.

Long CSV: a header with a series column (``series``, ``id``, ``unique_id`` or ``item_id``), a
time column (``time``, ``date``, ``ds`` or ``timestamp``), a value column (``value``, ``y`` or
``target``) and any other columns as covariates known in advance (calendar features, say);
rows of a series in time order, series in any order. A series may end with rows whose value
is empty: with covariates, the future the forecast is asked for (their covariates); without,
the series simply ends there.

Wide CSV: a time column first, then one column a series (its header is its name); a series
may start later or end sooner than the others (empty cells before or after it).

Times are integers (years, or step numbers), ``YYYY-MM`` months, ``YYYY-Qn`` quarters, ISO
dates ``YYYY-MM-DD`` or date-times, in one format and at one frequency for every series;
within a series they must increase one step a row (a gap, a repeat or a step back is refused
with its line). A value that is empty or ``NA`` inside a series is refused with its line, or
filled with ``fill="previous"`` (the last value seen) or ``"linear"`` (interpolated). The
season length follows from the time column (``infer_season``): monthly 12, quarterly 4,
weekly 52, daily 7, hourly 24, yearly or plain integers 1.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from rnnlab.data.files import InputFileError, read_text_file

SERIES_COLUMNS = ("series", "id", "unique_id", "item_id")
TIME_COLUMNS = ("time", "date", "ds", "timestamp")
VALUE_COLUMNS = ("value", "y", "target")
MISSING = {"", "na", "nan", "null", "none", "?"}
FILLS = ("previous", "linear")
DAY, HOUR = 86_400, 3_600


@dataclass
class Series:
    """One series: its values, and the covariates of each of its steps (and of ``future``
    steps after the last value, when the file gives them)."""

    name: str
    values: np.ndarray  # (T,) float64
    covariates: np.ndarray | None = None  # (T + future, C) float64
    future: int = 0
    end: float | None = None  # the time position of the last value, where a file gave times

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class SeriesSet:
    """Series read from one file or built-in set, with their season length."""

    series: list[Series]
    season: int = 1
    covariate_names: list[str] = field(default_factory=list)
    source: str = ""
    frequency: str = ""  # what the time column said ("monthly", ...), or ""
    clock: Clock | None = None  # how the file's time column counts, where it had one

    def names(self) -> list[str]:
        return [s.name for s in self.series]

    def times_after(self, series: Series, n: int) -> list[str] | None:
        """The ``n`` times after ``series``' last value, written as the file wrote its
        times; None where the file gave no times."""
        if self.clock is None or series.end is None:
            return None
        return self.clock.after(series.end, n)


# --- times ---------------------------------------------------------------------------------

CALENDAR_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}  # dated steps of whole months


@dataclass(frozen=True)
class Clock:
    """How a time column counts: its unit (``parse_time``), one step in that unit, and, for
    dates, whether they carry a time of day and whether a step is whole calendar months."""

    unit: str
    step: float
    time_of_day: str = ""  # how dates with a time of day write it: "T" or " ", then "minutes"
    months: int = 0  # dates a month, quarter or year apart step by calendar months
    month_ends: bool = False  # ... and each on its month's last day

    def after(self, end: float, n: int) -> list[str]:
        """The ``n`` times after position ``end``, written as the column writes them."""
        return self.shifted(end, range(1, n + 1))

    def shifted(self, end: float, steps) -> list[str]:
        """The times ``k`` steps from position ``end``, for each ``k`` of ``steps`` (negative:
        before it), written as the column writes them."""
        if self.unit == "step":
            return [str(round(end + k * self.step)) for k in steps]
        if self.unit == "month":
            return [f"{p // 12:04d}-{p % 12 + 1:02d}" for p in (int(end) + k for k in steps)]
        if self.unit == "quarter":
            return [f"{p // 4:04d}-Q{p % 4 + 1}" for p in (int(end) + k for k in steps)]
        last = EPOCH + timedelta(seconds=end)
        if self.months:
            moments = [_add_months(last, k * self.months, self.month_ends) for k in steps]
        else:
            moments = [last + timedelta(seconds=k * self.step) for k in steps]
        if self.time_of_day:
            sep, spec = self.time_of_day[0], self.time_of_day[1:] or "auto"
            return [m.isoformat(sep=sep, timespec=spec) for m in moments]
        return [m.date().isoformat() for m in moments]


EPOCH = datetime(1970, 1, 1)


def _add_months(moment: datetime, months: int, month_end: bool = False) -> datetime:
    """``moment`` ``months`` calendar months later, its day kept where the month has it
    (else the month's last day: 31 January and a month is 28 or 29 February), or the
    month's last day with ``month_end``."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    last = _days_in(year, month)
    return moment.replace(year=year, month=month, day=last if month_end else min(moment.day, last))


def _days_in(year: int, month: int) -> int:
    following = datetime(year + month // 12, month % 12 + 1, 1)
    return (following - datetime(year, month, 1)).days


_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_INTEGER = re.compile(r"^[+-]?\d+(\.0*)?$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MINUTES = re.compile(r"[T ]\d{2}:\d{2}$")  # a time of day without seconds


def parse_time(text: str) -> tuple[str, float]:
    """``(unit, position)`` of a time stamp: ``"step"`` (an integer), ``"month"`` (months
    since year 0), ``"quarter"``, or ``"second"`` (seconds of a date or date-time); raises
    ValueError for anything else."""
    text = text.strip()
    if _INTEGER.match(text):
        return "step", float(int(float(text)))
    if m := _MONTH.match(text):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise ValueError(f"month {month}")
        return "month", year * 12 + month - 1
    if m := _QUARTER.match(text):
        return "quarter", int(m[1]) * 4 + int(m[2]) - 1
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return "second", (moment - EPOCH).total_seconds()


def infer_season(unit: str, positions: list[float]) -> tuple[int, str]:
    """The season length and the frequency's name from one series' time positions."""
    if unit == "month":
        return 12, "monthly"
    if unit == "quarter":
        return 4, "quarterly"
    if unit == "step" or len(positions) < 2:
        return 1, "yearly or plain steps" if unit == "step" else ""
    spacing = float(np.median(np.diff(positions)))
    for seconds, season, name in (
        (HOUR, 24, "hourly"),
        (DAY, 7, "daily"),
        (7 * DAY, 52, "weekly"),
        (30.44 * DAY, 12, "monthly"),
        (91.3 * DAY, 4, "quarterly"),
        (365.25 * DAY, 1, "yearly"),
    ):
        if abs(spacing - seconds) <= 0.1 * seconds:
            return season, name
    return 1, ""


# --- reading -------------------------------------------------------------------------------


def read_series_csv(path: str | Path, fill: str | None = None) -> SeriesSet:
    """The series of a long or wide CSV file (see the module docstring), checked."""
    path = Path(path)
    rows = _csv_rows(path, read_text_file(path))
    if not rows or not any(cell.strip() for cell in rows[0][1]):
        raise InputFileError(f"{path}: empty; expected a CSV header and rows of values")
    header = [cell.strip() for cell in rows[0][1]]
    lower = [h.lower() for h in header]
    series_col = _column(lower, SERIES_COLUMNS)
    value_col = _column(lower, VALUE_COLUMNS)
    time_col = _column(lower, TIME_COLUMNS)
    body = [(number, row) for number, row in rows[1:] if any(cell.strip() for cell in row)]
    if not body:
        raise InputFileError(f"{path}: a header but no rows; expected values under it")
    for number, row in body:
        if len(row) != len(header):
            raise InputFileError(
                f"{path}:{number}: {len(row)} fields; expected {len(header)}, as in the header"
            )
    if series_col is not None and value_col is not None:
        if time_col is None:
            raise InputFileError(
                f"{path}:1: a long CSV needs a time column ({', '.join(TIME_COLUMNS)}); "
                f"got columns {', '.join(header)}"
            )
        reader = _read_long(path, header, body, series_col, time_col, value_col, fill)
    else:
        if len(header) < 2:
            raise InputFileError(
                f"{path}:1: expected a time column then one column a series (wide), or "
                f"columns series,time,value (long); got {', '.join(header)}"
            )
        reader = _read_wide(path, header, body, fill)
    return reader


def _csv_rows(path: Path, text: str) -> list[tuple[int, list[str]]]:
    """Each CSV record with the line it starts on (a quoted field may span lines; lines may
    end at \\n, \\r\\n or \\r)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows, line = [], 1
    try:
        for row in reader:
            rows.append((line, row))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise InputFileError(f"{path}:{line}: not CSV ({exc})") from None
    return rows


def _column(lower: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in lower:
            return lower.index(name)
    return None


def _number(path: Path, line: int, column: str, text: str) -> float | None:
    """The number in a cell, None where it is missing; anything else is an error."""
    if text.strip().lower() in MISSING:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputFileError(
            f"{path}:{line}: {column} {text!r} is not a number; expected a number, or an "
            "empty cell or NA where the value is missing"
        ) from None
    if not math.isfinite(value):
        raise InputFileError(f"{path}:{line}: {column} {text!r}; expected a finite number")
    return value


class _Times:
    """Checks one series' times as they come: one unit, strictly increasing."""

    def __init__(self, path: Path, name: str) -> None:
        self.path, self.name = path, name
        self.unit, self.positions, self.lines, self.texts = None, [], [], []

    def add(self, line: int, text: str) -> None:
        try:
            unit, position = parse_time(text)
        except ValueError:
            raise InputFileError(
                f"{self.path}:{line}: time {text!r} is not a time; expected an integer, "
                "YYYY-MM, YYYY-Qn, or an ISO date YYYY-MM-DD[ HH:MM[:SS]]"
            ) from None
        if self.unit is not None and unit != self.unit:
            raise InputFileError(
                f"{self.path}:{line}: time {text!r} is not written like {self.texts[0]!r} on "
                f"line {self.lines[0]}; expected one format in the time column"
            )
        if self.positions and position <= self.positions[-1]:
            what = "repeats" if position == self.positions[-1] else "comes before"
            raise InputFileError(
                f"{self.path}:{line}: time {text!r} {what} {self.texts[-1]!r} on line "
                f"{self.lines[-1]} (series {self.name!r}); expected increasing times, each once"
            )
        self.unit = unit
        self.positions.append(position)
        self.lines.append(line)
        self.texts.append(text)

    def clock(self, frequency: str) -> Clock | None:
        """How these times count (None with a single time: no step to count by)."""
        if len(self.positions) < 2:
            return None
        step = 1.0
        if self.unit not in ("month", "quarter"):
            step = float(np.median(np.diff(self.positions)))
        texts = [t.strip() for t in self.texts]
        time_of_day = ""
        if self.unit == "second" and not all(_DATE_ONLY.match(t) for t in texts):
            time_of_day = "T" if "T" in texts[-1] else " "
            if all(_MINUTES.search(t) for t in texts):
                time_of_day += "minutes"
        months = CALENDAR_MONTHS.get(frequency, 0) if self.unit == "second" else 0
        moments = [EPOCH + timedelta(seconds=p) for p in self.positions] if months else []
        ends = bool(moments) and all(m.day == _days_in(m.year, m.month) for m in moments)
        return Clock(self.unit, step, time_of_day, months, ends)

    def check_steps(self) -> None:
        """Refuse a gap: a time more than one step after the one before it (months and
        quarters step by 1, integers by their most common spacing, dates within 15% of
        theirs, so that months of 28 to 31 days are one step)."""
        if len(self.positions) < 3:
            return
        gaps = np.diff(self.positions)
        step = 1.0 if self.unit in ("month", "quarter") else float(np.median(gaps))
        tolerance = 0.15 * step if self.unit == "second" else 0.0
        for i, gap in enumerate(gaps):
            if abs(gap - step) > tolerance:
                steps = gap / step
                raise InputFileError(
                    f"{self.path}:{self.lines[i + 1]}: time {self.texts[i + 1]!r} is "
                    f"{steps:.3g} steps after {self.texts[i]!r} on line {self.lines[i]} "
                    f"(series {self.name!r}); expected one row a step (a missing value is a "
                    "row with an empty value, which `fill` fills)"
                )


def _read_long(path, header, body, series_col, time_col, value_col, fill) -> SeriesSet:
    covariate_cols = [i for i in range(len(header)) if i not in (series_col, time_col, value_col)]
    grouped: dict[str, list[tuple[int, list[str]]]] = {}
    for number, row in body:
        name = row[series_col].strip()
        if not name:
            raise InputFileError(f"{path}:{number}: no series name; expected one in every row")
        grouped.setdefault(name, []).append((number, row))
    series, seasons, first, clock = [], [], None, None
    for name, rows in grouped.items():
        times = _Times(path, name)
        values, lines, covariates = [], [], []
        for number, row in rows:
            times.add(number, row[time_col])
            values.append(_number(path, number, header[value_col], row[value_col]))
            lines.append(number)
            covariates.append([_covariate(path, number, header[c], row[c]) for c in covariate_cols])
        times.check_steps()
        first = first or times
        if (times.unit, infer_season(times.unit, times.positions)) != (
            first.unit,
            infer_season(first.unit, first.positions),
        ):
            raise InputFileError(
                f"{path}:{times.lines[0]}: series {name!r} has times like "
                f"{times.texts[0]!r}, at another frequency or in another format than series "
                f"{first.name!r} (line {first.lines[0]}: {first.texts[0]!r}); expected one "
                "frequency and format for every series"
            )
        future = _future_rows(values)  # the rows after the last value (covariates only)
        observed = len(values) - future
        cut = _first(values[:observed])
        filled = _filled(path, name, values[cut:observed], lines[cut:observed], fill)
        end = times.positions[observed - 1]
        if covariate_cols:
            known = np.asarray(covariates[cut:], float)
            series.append(Series(name, filled, known, future, end=end))
        else:
            series.append(Series(name, filled, end=end))
        seasons.append(infer_season(times.unit, times.positions))
        clock = clock or times.clock(seasons[-1][1])
    season, frequency = seasons[0]
    names = [header[c] for c in covariate_cols]
    return SeriesSet(series, season, names, str(path), frequency, clock)


def _covariate(path, line, column, text) -> float:
    value = _number(path, line, column, text)
    if value is None:
        raise InputFileError(
            f"{path}:{line}: covariate {column} is missing; expected a number in every row "
            "(covariates are known in advance)"
        )
    return value


def _read_wide(path, header, body, fill) -> SeriesSet:
    names = header[1:]
    for i, name in enumerate(names):
        if not name or name in names[:i]:
            what = "no name" if not name else f"the name {name!r} of an earlier column"
            raise InputFileError(
                f"{path}:1: column {i + 2} has {what}; expected one distinct name a series"
            )
    times = _Times(path, header[0])
    columns: list[list[float | None]] = [[] for _ in header[1:]]
    lines = []
    for number, row in body:
        times.add(number, row[0])
        lines.append(number)
        for j, cell in enumerate(row[1:]):
            columns[j].append(_number(path, number, header[j + 1], cell))
    times.check_steps()
    season, frequency = infer_season(times.unit, times.positions)
    series = []
    for name, values in zip(header[1:], columns, strict=True):
        start = _first(values)
        end = len(values) - _future_rows(values)
        if start >= end:
            raise InputFileError(f"{path}: series {name!r} has no values; expected some")
        filled = _filled(path, name, values[start:end], lines[start:end], fill)
        series.append(Series(name, filled, end=times.positions[end - 1]))
    return SeriesSet(series, season, [], str(path), frequency, times.clock(frequency))


def _first(values: list) -> int:
    """Where a series starts: after its leading missing values."""
    return next((i for i, v in enumerate(values) if v is not None), len(values))


def _future_rows(values: list) -> int:
    """How many missing values end the series."""
    count = 0
    while count < len(values) and values[-1 - count] is None:
        count += 1
    return count


def _filled(path, name, values: list, lines: list[int], fill: str | None) -> np.ndarray:
    if not values:
        raise InputFileError(f"{path}: series {name!r} has no values; expected some")
    missing = [i for i, v in enumerate(values) if v is None]
    array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    if not missing:
        return array
    if fill is None:
        raise InputFileError(
            f"{path}:{lines[missing[0]]}: series {name!r} has a missing value "
            f"({len(missing)} in all); expected a number, or give `fill` previous or linear"
        )
    known = np.flatnonzero(~np.isnan(array))
    if fill == "linear":
        return np.interp(np.arange(len(array)), known, array[known])
    last = np.maximum.accumulate(np.where(np.isnan(array), 0, np.arange(len(array))))
    return array[last]


def csv_field(text: str) -> str:
    """``text`` as one CSV field (quoted where it must be)."""
    if any(c in text for c in ',"\n\r') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


def series_csv(data: SeriesSet) -> str:
    """``data`` as a long CSV (``series,time,value``, the times numbered from 1)."""
    lines = ["series,time,value"]
    for s in data.series:
        name = csv_field(s.name)
        lines += [f"{name},{t},{v!r}" for t, v in enumerate(s.values.tolist(), start=1)]
    return "\n".join(lines) + "\n"
