"""Needs' texts as TF-IDF vectors, and their cosines with every project, without overhead.

The fitted vectorizers' ``transform`` checks its input and output on every call, which for
one short need costs ten times the arithmetic (2.5 ms against 0.05 ms). :func:`tfidf_rows`
takes the same steps on the fitted vocabulary and weights: count the terms, ``1 + log`` of
each count when the vectorizer is sublinear, times the idf, scaled to unit length (the sum of
squares added up in double precision, in order, as scikit-learn does). A test holds its rows
equal, bit for bit, to ``transform``'s; a vectorizer set up otherwise (binary counts, another
norm) is left to ``transform``.

:func:`similarities` multiplies by the projects' matrix stored transposed, taking only the
rows of the terms a need has: the same products summed in the same order as the sparse
matrix product, with no sparse matrix to build per need and no sparse result to densify.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

#: Postings (terms' entries) up to which a need's are copied side by side and added in one
#: call; more are added term by term where they lie (a copy would cost more than the calls).
GATHER_MAX = 50_000

try:
    # The loop scipy's own sparse × dense product runs, called once per term of a need so
    # that no sparse matrix is built per call (the wrappers cost more than the sums here).
    from scipy.sparse._sparsetools import csc_matvec as _column_times
except ImportError:  # pragma: no cover - a scipy without it takes the public route
    _column_times = None


def _supported(vectorizer: TfidfVectorizer) -> bool:
    return (
        vectorizer.norm in ("l2", None)
        and not vectorizer.binary
        and vectorizer.dtype == np.float32
        and (vectorizer.use_idf or not hasattr(vectorizer, "idf_"))
    )


def _width(vectorizer: TfidfVectorizer) -> int:
    """How many terms the vectorizer knows (a mapped one without building its dict)."""
    terms = getattr(vectorizer, "terms", None)
    return len(terms) if terms is not None else len(vectorizer.vocabulary_)


def _row(vectorizer: TfidfVectorizer, text: str) -> tuple[np.ndarray, np.ndarray]:
    """One text's vector as (sorted term positions, float32 weights)."""
    counts: dict[int, int] = {}
    columns_of = getattr(vectorizer, "columns_of", None)
    if columns_of is not None:
        # A mapped vectorizer: the text's distinct terms looked up at once (no dict held).
        found: dict[str, int] = {}
        for term in vectorizer.build_analyzer()(text):
            found[term] = found.get(term, 0) + 1
        for at, n in zip(columns_of(list(found)).tolist(), found.values(), strict=True):
            if at >= 0:
                counts[at] = n
    else:
        vocabulary = vectorizer.vocabulary_
        for term in vectorizer.build_analyzer()(text):
            at = vocabulary.get(term)
            if at is not None:
                counts[at] = counts.get(at, 0) + 1
    terms = np.fromiter(counts, dtype=np.int32, count=len(counts))
    weights = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
    order = np.argsort(terms)
    terms, weights = terms[order], weights[order]
    if vectorizer.sublinear_tf:
        np.log(weights, out=weights)
        weights += np.float32(1.0)
    if hasattr(vectorizer, "idf_"):
        weights *= vectorizer.idf_[terms]
    if vectorizer.norm == "l2" and len(weights):
        length = np.cumsum((weights * weights).astype(np.float64))[-1]
        if length != 0.0:
            weights = (weights.astype(np.float64) / np.sqrt(length)).astype(np.float32)
    return terms, weights


def tfidf_rows(
    vectorizers: Sequence[tuple[TfidfVectorizer, np.float32]], texts: Sequence[str]
) -> sparse.csr_matrix:
    """One row per text: each fitted vectorizer's vector of it, times its scale, side by side
    (the columns of the second follow those of the first), as ``transform`` and
    ``sparse.hstack`` would give it."""
    widths = [_width(vectorizer) for vectorizer, _ in vectorizers]
    offsets = np.cumsum([0, *widths])
    if not all(_supported(vectorizer) for vectorizer, _ in vectorizers):
        blocks = [vectorizer.transform(list(texts)) * scale for vectorizer, scale in vectorizers]
        return sparse.hstack(blocks, format="csr")
    indices: list[np.ndarray] = []
    data: list[np.ndarray] = []
    indptr = [0]
    for text in texts:
        size = 0
        for (vectorizer, scale), offset in zip(vectorizers, offsets[:-1], strict=True):
            terms, weights = _row(vectorizer, text)
            indices.append(terms + np.int32(offset))
            data.append(weights * scale)
            size += len(terms)
        indptr.append(indptr[-1] + size)
    return sparse.csr_matrix(
        (
            np.concatenate(data) if data else np.zeros(0, np.float32),
            np.concatenate(indices) if indices else np.zeros(0, np.int32),
            np.array(indptr, dtype=np.int64),
        ),
        shape=(len(texts), int(offsets[-1])),
    )


def similarities(text_t: sparse.csr_matrix, vectors: sparse.csr_matrix) -> np.ndarray:
    """``vectors @ text_t`` as a dense float32 array (one row per vector): for each vector,
    the rows of ``text_t`` of its terms, weighted and added column by column, term after
    term (the order the sparse product adds them in)."""
    out = np.zeros((vectors.shape[0], text_t.shape[1]), dtype=np.float32)
    if _column_times is None or text_t.dtype != np.float32 or vectors.dtype != np.float32:
        for row in range(vectors.shape[0]):
            start, end = vectors.indptr[row], vectors.indptr[row + 1]
            if start < end:
                postings = text_t[vectors.indices[start:end]]
                out[row] = postings.T @ vectors.data[start:end]
        return out
    span = np.zeros(2, dtype=text_t.indices.dtype)
    width = text_t.shape[1]
    for row in range(vectors.shape[0]):
        start, end = vectors.indptr[row], vectors.indptr[row + 1]
        terms = vectors.indices[start:end]
        weights = vectors.data[start:end]
        firsts_at = text_t.indptr[terms]
        lengths = text_t.indptr[terms + 1] - firsts_at
        total = int(lengths.sum())
        target = out[row]
        if total <= GATHER_MAX:
            # Few postings (a block of a few ledgers): copied side by side, one call.
            ends = np.cumsum(lengths)
            taken = np.arange(total) + np.repeat(firsts_at - (ends - lengths), lengths)
            bounds = np.concatenate([[0], ends]).astype(text_t.indices.dtype)
            _column_times(width, len(terms), bounds, text_t.indices[taken], text_t.data[taken],
                          weights, target)  # fmt: skip
            continue
        firsts = firsts_at.tolist()
        lasts = (firsts_at + lengths).tolist()
        for k, (first, last) in enumerate(zip(firsts, lasts, strict=True)):
            if first == last:
                continue
            # One term's postings as a one-column matrix, added into the row in place.
            span[1] = last - first
            _column_times(width, 1, span, text_t.indices[first:last],
                          text_t.data[first:last], weights[k : k + 1], target)  # fmt: skip
    return out
