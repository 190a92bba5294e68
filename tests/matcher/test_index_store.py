"""An index saved and mapped back ranks exactly as the index it was saved from."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from matcher import build_index, rank
from matcher.evaluation import load_cases, shipped_case_files
from matcher.index import need_text
from matcher.index_store import IndexFormatError, MappedVectorizer, load_index, save_index


def _same_sparse(a: sparse.spmatrix, b: sparse.spmatrix) -> bool:
    a, b = sparse.csr_matrix(a), sparse.csr_matrix(b)
    return (
        a.shape == b.shape
        and a.dtype == b.dtype
        and np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices)
        and a.data.tobytes() == b.data.tobytes()
    )


def _is_mapped(array: np.ndarray) -> bool:
    base = array
    while isinstance(base, np.ndarray):
        if isinstance(base, np.memmap):
            return True
        base = base.base
    return False


@pytest.mark.parametrize("path", shipped_case_files(), ids=lambda p: p.name)
def test_a_mapped_index_ranks_every_case_exactly_as_the_built_one(path: Path, tmp_path: Path):
    cases = load_cases(path)
    built = build_index(cases.projects, key="v1")
    save_index(built, tmp_path / "index")
    mapped = load_index(tmp_path / "index")
    assert mapped.key == "v1"
    for need in cases.needs:
        for explain in (False, True):
            expected = rank(built, need, cases.as_of, limit=20, explain=explain)
            got = rank(mapped, need, cases.as_of, limit=20, explain=explain)
            assert got == expected
            assert [m.score.hex() for m in got.items] == [m.score.hex() for m in expected.items]
            assert [m.reasons for m in got.items] == [m.reasons for m in expected.items]


def test_a_need_is_vectorised_exactly_as_the_fitted_vectorizer_does(tmp_path: Path):
    cases = load_cases(shipped_case_files()[0])
    built = build_index(cases.projects)
    save_index(built, tmp_path)
    mapped = load_index(tmp_path)
    assert isinstance(mapped.vectorizer, MappedVectorizer)
    texts = [need_text(n) for n in cases.needs] + ["", "  ", "𠮷 unknown ☃ ẞ", "洗肾 透析 a b"]
    for name in ("vectorizer", "concept_vectorizer"):
        for text in texts:
            expected = getattr(built, name).transform([text])
            assert _same_sparse(getattr(mapped, name).transform([text]), expected), (name, text)
        assert _same_sparse(getattr(mapped, name).transform(texts),
                            getattr(built, name).transform(texts))  # fmt: skip
    assert mapped.concept_vectorizer.vocabulary_ == built.concept_vectorizer.vocabulary_
    assert _same_sparse(mapped.text_t, built.text_t)


def test_arrays_are_mapped_read_only_and_places_left_are_a_private_copy(tmp_path: Path):
    cases = load_cases(shipped_case_files()[0])
    built = build_index(cases.projects)
    save_index(built, tmp_path)
    mapped = load_index(tmp_path)
    assert not mapped.starts.flags.writeable
    assert not mapped.text_t.data.flags.writeable
    assert _is_mapped(mapped.text_t.indices)  # wrapped, not copied
    assert _is_mapped(mapped.area_index[next(iter(mapped.area_index))])
    first = mapped.ids[0].item()
    mapped.update_standing({first: (True, int(mapped.quota[0]), 0)})
    assert mapped.quota_left[0] == 0
    assert load_index(tmp_path).quota_left[0] == built.quota_left[0]  # the file is untouched


def test_every_field_comes_back_so_a_new_one_needs_no_change_to_the_store(tmp_path: Path):
    cases = load_cases(shipped_case_files()[0])
    built = build_index(cases.projects)
    save_index(built, tmp_path)
    mapped = load_index(tmp_path)
    for field in dataclasses.fields(built):
        ours, theirs = getattr(built, field.name), getattr(mapped, field.name)
        if isinstance(ours, np.ndarray):
            assert np.array_equal(ours, theirs, equal_nan=ours.dtype.kind == "f"), field.name
        elif isinstance(ours, dict):
            assert ours.keys() == theirs.keys(), field.name
            assert all(np.array_equal(ours[k], theirs[k]) for k in ours), field.name
    assert list(mapped.projects) == built.projects
    assert mapped.projects[-1] == built.projects[-1]
    assert len(mapped) == len(built)


def test_an_empty_index_is_saved_and_mapped(tmp_path: Path):
    save_index(build_index([]), tmp_path)
    assert len(load_index(tmp_path)) == 0


def test_a_folder_without_an_index_is_refused(tmp_path: Path):
    with pytest.raises(IndexFormatError):
        load_index(tmp_path)
