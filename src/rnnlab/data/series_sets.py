"""Public time series that ship inside installed packages, by name; nothing is fetched.

From statsmodels (a dependency of the ``forecast`` kind): ``sunspots`` (yearly sunspot
numbers 1700-2008), ``nile`` (yearly Nile flow 1871-1970), ``co2`` (Mauna Loa CO2, weekly
1958-2001, as monthly means with the missing months carried forward, as statsmodels'
examples do), ``elnino`` (monthly sea-surface temperature 1950-2010) and ``macrodata`` (12
quarterly US macroeconomic series 1959-2009). From aeon, when it is installed (read from its
data files, without importing it): ``airline`` (monthly passengers 1949-1960), ``lynx``
(yearly lynx trappings 1821-1934), ``shampoo`` (monthly sales over three years) and
``m1-yearly`` (the 181 yearly series of the M1 competition, 15-58 points each).
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np

from rnnlab.data.files import InputFileError
from rnnlab.data.series import Series, SeriesSet

STATSMODELS_SETS = ("sunspots", "nile", "co2", "elnino", "macrodata")
AEON_SETS = ("airline", "lynx", "shampoo", "m1-yearly")
SERIES_SETS = STATSMODELS_SETS + AEON_SETS
MACRO_COLUMNS = (
    "realgdp",
    "realcons",
    "realinv",
    "realgovt",
    "realdpi",
    "cpi",
    "m1",
    "tbilrate",
    "unemp",
    "pop",
    "infl",
    "realint",
)


def series_set(name: str, aeon_data: str | Path | None = None) -> SeriesSet:
    """The built-in set ``name`` (see the module docstring); ``aeon_data`` is the folder of
    aeon's data files when aeon is not installed where rnnlab is."""
    if name in STATSMODELS_SETS:
        return _statsmodels_set(name)
    if name in AEON_SETS:
        return _aeon_set(name, Path(aeon_data) if aeon_data else aeon_folder())
    raise ValueError(f"unknown series set {name!r}; expected one of {', '.join(SERIES_SETS)}")


def _statsmodels_set(name: str) -> SeriesSet:
    from statsmodels import datasets

    data = getattr(datasets, name).load_pandas().data
    source = f"statsmodels.datasets.{name}"
    if name == "sunspots":
        return SeriesSet([Series(name, data["SUNACTIVITY"].to_numpy(float))], 1, [], source)
    if name == "nile":
        return SeriesSet([Series(name, data["volume"].to_numpy(float))], 1, [], source)
    if name == "co2":
        monthly = data["co2"].resample("MS").mean().ffill()
        return SeriesSet([Series(name, monthly.to_numpy(float))], 12, [], source, "monthly")
    if name == "elnino":
        values = data.drop(columns="YEAR").to_numpy(float).ravel()
        return SeriesSet([Series(name, values)], 12, [], source, "monthly")
    series = [Series(c, data[c].to_numpy(float)) for c in MACRO_COLUMNS]
    return SeriesSet(series, 4, [], source, "quarterly")


def aeon_folder() -> Path | None:
    """aeon's data folder, found without importing aeon (None when it is not installed)."""
    spec = importlib.util.find_spec("aeon")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def _aeon_set(name: str, folder: Path | None) -> SeriesSet:
    if folder is None or not folder.is_dir():
        raise InputFileError(
            f"`task` {name}: ships with aeon, which is not installed here; expected "
            "`pip install aeon` (or a CSV file as `data`)"
        )
    source = f"aeon's {name}"
    if name == "m1-yearly":
        path = folder / "m1_yearly_dataset" / "m1_yearly_dataset.tsf"
        return SeriesSet(_tsf_series(path), 1, [], source, "yearly")
    file, season, frequency = {
        "airline": ("Airline/Airline.csv", 12, "monthly"),
        "lynx": ("Lynx/Lynx.csv", 1, "yearly"),
        "shampoo": ("ShampooSales/ShampooSales.csv", 12, "monthly"),
    }[name]
    with open(folder / file, newline="") as f:
        values = np.array([float(row[1]) for row in list(csv.reader(f))[1:]])
    return SeriesSet([Series(name, values)], season, [], source, frequency)


def _tsf_series(path: Path) -> list[Series]:
    """The series of a Monash ``.tsf`` file whose rows are ``name:start:v1,v2,...``."""
    series, data = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if data and line.strip():
            fields = line.strip().split(":")
            if "?" in fields[-1].split(","):
                raise InputFileError(f"{path}: series {fields[0]!r} has missing values")
            series.append(Series(fields[0], np.array([float(v) for v in fields[-1].split(",")])))
        data = data or line.strip().lower() == "@data"
    return series
