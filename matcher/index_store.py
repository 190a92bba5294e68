"""A project index on disk, mapped read-only by every process of a machine.

:func:`save_index` writes a :class:`~matcher.index.ProjectIndex` to a folder and
:func:`load_index` maps it back; both walk the dataclass's fields and treat each by the kind of
value it holds, so a field added to the index later is carried without touching this module:

* numpy arrays: one ``.npy`` each, opened with ``mmap_mode="r"`` (text in object arrays is
  written as fixed-width unicode, which maps);
* sparse matrices: their ``data``, ``indices`` and ``indptr`` arrays, wrapped in a
  ``csr_matrix`` without a copy (the index arrays are written in the dtype scipy keeps);
* dicts of arrays (service areas, ledgers, conditions → positions): the keys, one array of
  every value end to end, and where each key's values start;
* the list of records: each record as JSON, end to end in one byte array, decoded only when a
  position is asked for (a page shows ten);
* fitted TF-IDF vectorizers: the terms in sorted order with their columns and the idf; a
  need's text is counted with the analyzer (which needs no vocabulary) and the terms found by
  binary search, so no process holds the vocabulary as a dict (:class:`MappedVectorizer`);
* anything else (the key): JSON.

Mapped pages are the page cache's: every process mapping the same files shares one copy.
Arrays named in ``writable`` are copied on load, so a process can patch them (a project
withdrawn, its quota, places left, its charity's acceptance) without ever writing to the
shared files.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import importlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer

from .index import ProjectIndex

#: Bumped whenever the layout on disk changes; a folder of another format is not read.
FORMAT = 1
MANIFEST = "index.json"
#: The arrays a process patches as projects' standing changes (``ProjectIndex.update_standing``).
WRITABLE = ("live", "quota", "quota_left", "acceptance")
#: Records decoded and kept per process (a ranking reads each shown project a few times).
RECORD_CACHE_SIZE = 4096


class IndexFormatError(ValueError):
    """The folder holds no index this code can read (another format, or a field missing)."""


def save_index(index: ProjectIndex, directory: Path) -> None:
    """Write ``index`` into ``directory`` (created; it should be new and empty)."""
    directory.mkdir(parents=True, exist_ok=True)
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(index):
        value = getattr(index, field.name)
        fields[field.name] = _save_value(directory, field.name, value)
    manifest = {"format": FORMAT, "length": len(index), "fields": fields}
    (directory / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1))


def load_index(directory: Path, writable: Sequence[str] = WRITABLE) -> ProjectIndex:
    """Map the index saved in ``directory``; arrays named in ``writable`` are private copies.

    :raise IndexFormatError: the folder was written in another format or lacks a field.
    """
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise IndexFormatError(f"no index in {directory}: {error}") from None
    if manifest.get("format") != FORMAT:
        raise IndexFormatError(f"index format {manifest.get('format')} in {directory}")
    values: dict[str, Any] = {}
    for field in dataclasses.fields(ProjectIndex):
        entry = manifest["fields"].get(field.name)
        if entry is None:
            raise IndexFormatError(f"field {field.name} missing from {directory}")
        value = _load_value(directory, field.name, entry)
        if field.name in writable:
            value = np.array(value)
        values[field.name] = value
    return ProjectIndex(**values)


def index_layout() -> str:
    """What the folder layout depends on (the format and the index's fields), to be part of a
    version: an index saved before a field was added is then never read as current."""
    names = ",".join(f.name for f in dataclasses.fields(ProjectIndex))
    return f"{FORMAT}:{names}"


# --- one value per kind ----------------------------------------------------------------------


def _save_value(directory: Path, name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, np.ndarray):
        _save_array(directory / f"{name}.npy", value)
        return {"kind": "array"}
    if sparse.issparse(value):
        matrix = sparse.csr_matrix(value)
        # scipy keeps int32 index arrays when the matrix fits them and would otherwise copy
        # them on load; written in its choice, they are wrapped as mapped.
        index_dtype = np.int32 if max(*matrix.shape, matrix.nnz) < 2**31 else np.int64
        _save_array(directory / f"{name}.data.npy", matrix.data)
        _save_array(directory / f"{name}.indices.npy", matrix.indices.astype(index_dtype))
        _save_array(directory / f"{name}.indptr.npy", matrix.indptr.astype(index_dtype))
        return {"kind": "csr", "shape": list(matrix.shape)}
    if isinstance(value, dict) and all(isinstance(v, np.ndarray) for v in value.values()):
        keys = list(value)
        parts = [np.asarray(value[k]).ravel() for k in keys]
        offsets = np.cumsum([0, *(len(p) for p in parts)], dtype=np.int64)
        dtype = parts[0].dtype if parts else np.dtype(np.int64)
        _save_array(directory / f"{name}.keys.npy", np.array(keys, dtype=str))
        _save_array(directory / f"{name}.values.npy",
                    np.concatenate(parts) if parts else np.zeros(0, dtype))  # fmt: skip
        _save_array(directory / f"{name}.offsets.npy", offsets)
        return {"kind": "dict"}
    if isinstance(value, TfidfVectorizer | MappedVectorizer):
        # An index of no projects holds vectorizers never fitted: no terms.
        vocabulary = getattr(value, "vocabulary_", {})
        idf = getattr(value, "idf_", np.zeros(0, np.float32))
        terms = sorted(vocabulary)
        _save_array(directory / f"{name}.terms.npy", np.array(terms, dtype=str))
        _save_array(directory / f"{name}.columns.npy",
                    np.array([vocabulary[t] for t in terms], dtype=np.int64))  # fmt: skip
        _save_array(directory / f"{name}.idf.npy", np.asarray(idf))
        return {"kind": "vectorizer", "params": _plain_params(value.get_params())}
    if isinstance(value, list | RecordColumn) and all(dataclasses.is_dataclass(r) for r in value):
        record_type = type(value[0]) if len(value) else None
        if isinstance(value, RecordColumn):
            record_type = value.record_type
        encoded = [json.dumps(_plain_record(r), ensure_ascii=False).encode() for r in value]
        offsets = np.cumsum([0, *(len(e) for e in encoded)], dtype=np.int64)
        _save_array(directory / f"{name}.json.npy",
                    np.frombuffer(b"".join(encoded), dtype=np.uint8))  # fmt: skip
        _save_array(directory / f"{name}.offsets.npy", offsets)
        return {"kind": "records", "type": _qualified(record_type) if record_type else None}
    return {"kind": "value", "value": _plain(value)}


def _load_value(directory: Path, name: str, entry: dict[str, Any]) -> Any:
    kind = entry["kind"]
    if kind == "array":
        return _map(directory / f"{name}.npy")
    if kind == "csr":
        parts = [_map(directory / f"{name}.{p}.npy") for p in ("data", "indices", "indptr")]
        matrix = sparse.csr_matrix(tuple(parts), shape=tuple(entry["shape"]), copy=False)
        if not np.shares_memory(matrix.indices, parts[1]) and len(parts[1]):
            raise IndexFormatError(f"{name}: scipy copied the mapped index arrays")
        return matrix
    if kind == "dict":
        keys = _map(directory / f"{name}.keys.npy").tolist()
        values = _map(directory / f"{name}.values.npy")
        offsets = _map(directory / f"{name}.offsets.npy").tolist()
        return {k: values[offsets[i] : offsets[i + 1]] for i, k in enumerate(keys)}
    if kind == "vectorizer":
        return MappedVectorizer(
            _params(entry["params"]),
            terms=_map(directory / f"{name}.terms.npy"),
            columns=_map(directory / f"{name}.columns.npy"),
            idf=_map(directory / f"{name}.idf.npy"),
        )
    if kind == "records":
        record_type = _resolve(entry["type"]) if entry["type"] else dict
        return RecordColumn(record_type, _map(directory / f"{name}.json.npy"),
                            _map(directory / f"{name}.offsets.npy"))  # fmt: skip
    return _from_plain(entry["value"])


def _save_array(path: Path, array: np.ndarray) -> None:
    if array.dtype == object:
        # Text kept as Python strings: fixed-width unicode maps, objects do not.
        array = np.array(array.tolist(), dtype=str) if array.size else np.zeros(0, "U1")
    np.save(path, np.ascontiguousarray(array), allow_pickle=False)


def _map(path: Path) -> np.ndarray:
    mapped = np.load(path, mmap_mode="r", allow_pickle=False)
    # A plain ndarray over the same pages: the memmap subclass would wrap every result.
    return mapped.view(np.ndarray)


# --- the text model ---------------------------------------------------------------------------


class MappedVectorizer:
    """A fitted ``TfidfVectorizer`` whose vocabulary lives in mapped arrays.

    ``transform`` gives exactly the vectorizer's output: the same analyzer counts the text's
    terms, the known ones are found by binary search in the sorted ``terms`` (their column in
    ``columns``), and scikit-learn's own ``TfidfTransformer`` weighs and normalises the counts.
    """

    def __init__(
        self, params: dict[str, Any], terms: np.ndarray, columns: np.ndarray, idf: np.ndarray
    ) -> None:
        self.params = params
        self.terms = terms
        self.columns = columns
        self.idf_ = idf
        template = TfidfVectorizer(**params)
        self._analyze = template.build_analyzer()
        self._dtype = template.dtype
        self._tfidf = TfidfTransformer(
            norm=template.norm, use_idf=template.use_idf, smooth_idf=template.smooth_idf,
            sublinear_tf=template.sublinear_tf,
        )  # fmt: skip
        if template.use_idf:
            self._tfidf.idf_ = idf
        self._tfidf.n_features_in_ = len(terms)
        self._binary = template.binary
        # What ``matcher.vectors`` reads to weigh a text as the fitted vectorizer would.
        self.norm = template.norm
        self.binary = template.binary
        self.dtype = template.dtype
        self.use_idf = template.use_idf
        self.sublinear_tf = template.sublinear_tf

    def build_analyzer(self) -> Any:
        return self._analyze

    def columns_of(self, words: list[str]) -> np.ndarray:
        """Each word's column, -1 for a word the vectorizer does not know."""
        if not words or not len(self.terms):
            return np.full(len(words), -1, dtype=np.int64)
        wanted = np.array(words, dtype=str)
        at = np.searchsorted(self.terms, wanted)
        at[at >= len(self.terms)] = 0
        known = self.terms[at] == wanted
        return np.where(known, self.columns[at].astype(np.int64), -1)

    def get_params(self) -> dict[str, Any]:
        return dict(self.params)

    @functools.cached_property
    def vocabulary_(self) -> dict[str, int]:
        """Term → column, as the vectorizer has it (built on first use: it is large)."""
        return dict(zip(self.terms.tolist(), self.columns.tolist(), strict=True))

    def transform(self, texts: Sequence[str]) -> Any:
        indices: list[int] = []
        counts: list[int] = []
        indptr = [0]
        for text in texts:
            found: dict[str, int] = {}
            for term in self._analyze(text):
                found[term] = found.get(term, 0) + 1
            if found:
                words = np.array(list(found), dtype=str)
                at = np.searchsorted(self.terms, words)
                at[at >= len(self.terms)] = 0
                known = self.terms[at] == words if len(self.terms) else np.zeros(len(words), bool)
                indices.extend(self.columns[at[known]].tolist())
                counts.extend(np.fromiter(found.values(), np.int64, len(found))[known].tolist())
            indptr.append(len(indices))
        matrix = sparse.csr_array(
            (np.array(counts, dtype=np.intc), np.array(indices, dtype=np.int32),
             np.array(indptr, dtype=np.int32)),
            shape=(len(indptr) - 1, len(self.terms)), dtype=self._dtype,
        )  # fmt: skip
        matrix.sort_indices()
        if self._binary:
            matrix.data.fill(1)
        return self._tfidf.transform(matrix, copy=False)


# --- records ----------------------------------------------------------------------------------


class RecordColumn(Sequence[Any]):
    """The index's records, decoded one at a time from the mapped JSON (a few kept)."""

    def __init__(self, record_type: type, encoded: np.ndarray, offsets: np.ndarray) -> None:
        self.record_type = record_type
        self._encoded = encoded
        self._offsets = offsets
        self._decode = functools.lru_cache(maxsize=RECORD_CACHE_SIZE)(self._decode_at)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, position: int) -> Any: ...

    @overload
    def __getitem__(self, position: slice) -> list[Any]: ...

    def __getitem__(self, position: int | slice) -> Any:
        if isinstance(position, slice):
            return [self._decode(i) for i in range(len(self))[position]]
        position = int(position)
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError(position)
        return self._decode(position)

    def __iter__(self) -> Iterator[Any]:
        # Straight through, not via the cache: a full scan would only push out what a page uses.
        return (self._decode_at(i) for i in range(len(self)))

    def _decode_at(self, position: int) -> Any:
        start, end = int(self._offsets[position]), int(self._offsets[position + 1])
        plain = json.loads(self._encoded[start:end].tobytes())
        if self.record_type is dict:
            return plain
        return self.record_type(**{k: _from_plain(v) for k, v in plain.items()})


def _plain_record(record: Any) -> dict[str, Any]:
    return {f.name: _plain(getattr(record, f.name)) for f in dataclasses.fields(record)}


def _plain(value: Any) -> Any:
    """JSON for the values records and keys hold: dates are tagged, tuples become lists (and
    come back as tuples: records hold no lists)."""
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in the index")


def _from_plain(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_from_plain(v) for v in value)
    if isinstance(value, dict):
        if "$date" in value:
            return dt.date.fromisoformat(value["$date"])
        if "$datetime" in value:
            return dt.datetime.fromisoformat(value["$datetime"])
    return value


def _plain_params(params: dict[str, Any]) -> dict[str, Any]:
    """A vectorizer's parameters as JSON: functions and dtypes by name."""
    plain: dict[str, Any] = {}
    for key, value in params.items():
        if callable(value) and not isinstance(value, type):
            plain[key] = {"$function": _qualified(value)}
        elif isinstance(value, type):
            plain[key] = {"$dtype": np.dtype(value).name}
        elif isinstance(value, tuple):
            plain[key] = {"$tuple": list(value)}
        else:
            plain[key] = value
    return plain


def _params(plain: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in plain.items():
        if isinstance(value, dict) and "$function" in value:
            params[key] = _resolve(value["$function"])
        elif isinstance(value, dict) and "$dtype" in value:
            params[key] = np.dtype(value["$dtype"]).type
        elif isinstance(value, dict) and "$tuple" in value:
            params[key] = tuple(value["$tuple"])
        else:
            params[key] = value
    return params


def _qualified(thing: Any) -> str:
    return f"{thing.__module__}:{thing.__qualname__}"


def _resolve(name: str) -> Any:
    module, _, qualname = name.partition(":")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found
