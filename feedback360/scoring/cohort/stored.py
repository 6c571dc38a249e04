"""A :class:`CohortAnalysis` as bytes and back, so a database can keep it between processes.

The format is NumPy's ``.npz``: one array per numeric column and one JSON document (``meta``)
for the rest (text columns, the audit's admitted sets, the trend, the launch choices). It is
read with ``allow_pickle=False``, so a stored analysis is data, never code, whoever wrote it.
Floats are kept as float64 (JSON's are Python's shortest round-trip form): a restored analysis
gives exactly the reports the original gave. The instrument is not stored (its version is, by
the caller), nor the settings: the caller keys the bytes on those.

Bump :data:`FORMAT` whenever what is stored, or how the analysis it feeds is computed, changes:
bytes of another format are refused (:class:`UnreadableAnalysis`) and the caller rebuilds.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from ...instruments import Instrument
from .build import CohortAnalysis, headings
from .model import IntakePoint

FORMAT = 2  # 2: the audit counts people (contributions by trainee and cycle)
FRAMES = ("participation", "people", "frame")
MATRICES = ("others", "own")


class UnreadableAnalysis(ValueError):
    """The bytes are not an analysis this code can restore (another format, or damaged)."""


def dumps(analysis: CohortAnalysis) -> bytes:
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {
        "format": FORMAT,
        "choices": analysis.choices,
        "has_cycles": bool(analysis.has_cycles),
        "admitted": {kind: sorted(([choice, list(values)] for choice, values in keys),
                                  key=repr)
                     for kind, keys in analysis.admitted.items()},
        "trend": [asdict(point) for point in analysis.trend],
        "frames": {name: _put_frame(arrays, name, getattr(analysis, name)) for name in FRAMES},
    }
    for name in MATRICES:
        matrix: pd.DataFrame = getattr(analysis, name)
        arrays[f"{name}.values"] = matrix.to_numpy(dtype="float64")
        arrays[f"{name}.index"] = matrix.index.to_numpy(dtype="int64")
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def loads(data: bytes, instrument: Instrument, min_trainees: int, threshold: float
          ) -> CohortAnalysis:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        meta = json.loads(arrays.pop("meta").tobytes())
        if meta.get("format") != FORMAT:
            raise UnreadableAnalysis(f"stored in format {meta.get('format')}, not {FORMAT}")
        columns = pd.MultiIndex.from_tuples([(level, key) for level, key, _, _ in
                                             headings(instrument)])
        parts: dict[str, Any] = {
            "choices": meta["choices"],
            "has_cycles": meta["has_cycles"],
            "admitted": {kind: {(choice, tuple(values)) for choice, values in keys}
                         for kind, keys in meta["admitted"].items()},
            "trend": tuple(IntakePoint(**point) for point in meta["trend"]),
            **{name: _get_frame(arrays, name, meta["frames"][name]) for name in FRAMES},
            **{name: pd.DataFrame(arrays[f"{name}.values"], columns=columns, dtype="float64",
                                  index=pd.Index(arrays[f"{name}.index"], name="cycle_id"))
               for name in MATRICES},
        }
    except UnreadableAnalysis:
        raise
    except (EOFError, OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as error:
        raise UnreadableAnalysis(f"damaged: {error}") from error
    return CohortAnalysis.restored(instrument, min_trainees, threshold, parts)


def _put_frame(arrays: dict[str, np.ndarray], name: str, frame: pd.DataFrame
               ) -> dict[str, Any]:
    """Numeric and boolean columns as arrays, the rest (text, nullable ids) as JSON lists."""
    described: dict[str, Any] = {"columns": [], "text": {}}
    for column in frame.columns:
        series = frame[column]
        dtype = series.dtype
        described["columns"].append([column, str(dtype)])
        if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
            arrays[f"{name}.{column}"] = series.to_numpy()
        else:
            described["text"][column] = [None if pd.isna(v) else _plain(v) for v in series]
    return described


def _get_frame(arrays: dict[str, np.ndarray], name: str, described: dict[str, Any]
               ) -> pd.DataFrame:
    data = {}
    for column, dtype in described["columns"]:
        if column in described["text"]:
            data[column] = pd.array(described["text"][column], dtype=dtype)
        else:
            data[column] = arrays[f"{name}.{column}"]
    return pd.DataFrame(data, columns=[column for column, _ in described["columns"]])


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot store {type(value).__name__} values")
