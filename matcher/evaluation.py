"""Offline evaluation on a labelled case file, against two keyword baselines.

``model``          the matcher (hard rules, then the score).
``bm25``           BM25 over every project of the ledgers covering the household: what a keyword
                   search of the ledger gives a station worker.
``bm25_eligible``  BM25 over the same eligible candidates as the model.

Metrics: NDCG@5 over needs that have at least one suitable project (graded 0–3), recall@10 of
the suitable projects (grade >= 2), and violations@10: the share of top-10 results that break a
hard rule. For the model also whether its two statements are true: ``told_nothing_suitable``,
the share of needs with no suitable project told 暂无合适, and ``best_shown_low``, the share of
grade-3 projects in a top ten shown as 低匹配度 (see ``calibration.py``).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rank_bm25 import BM25Okapi

from models.regions import guess_level, supply_ledger_codes

from .conditions import shipped_catalogue
from .index import ProjectIndex, build_index, need_text, project_text
from .ranking import Model, rank
from .records import HouseholdRecord, MemberRecord, NeedRecord, ProjectRecord
from .rules import check
from .scoring import features

SUITABLE = 2


@dataclass
class CaseSet:
    as_of: dt.date
    projects: list[ProjectRecord]
    needs: list[NeedRecord]
    judgments: dict[str, dict[str, int]]


def _fen(yuan: float | None) -> int | None:
    return None if yuan is None else round(yuan * 100)


def _age(born: str | None, on: dt.date) -> int | None:
    if not born:
        return None
    birth = dt.date.fromisoformat(born)
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def load_cases(path: Path) -> CaseSet:
    """Read a case file (format in ``seed/eval/README.md``)."""
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    as_of = dt.date.fromisoformat(data["as_of"])
    organizations = {o["key"]: o for o in data["organizations"]}
    catalogue = shipped_catalogue()
    projects = []
    for p in data["projects"]:
        org = organizations[p["organization"]]
        rules = p.get("eligibility") or {}
        projects.append(
            ProjectRecord(
                id=p["key"],
                name=p["name"],
                organization_id=org["key"],
                organization_name=org["name"],
                ledger_level=guess_level(org["region_code"]).value,
                ledger_region_code=org["region_code"],
                description=p.get("description", ""),
                domains=tuple(p.get("domains", [])),
                target_groups=tuple(p.get("target_groups", [])),
                forms=tuple(p.get("forms", [])),
                service_types=tuple(p.get("service_types", [])),
                service_area=tuple(p.get("service_area", [])),
                min_age=rules.get("min_age"),
                max_age=rules.get("max_age"),
                household_categories=tuple(rules.get("household_categories") or ()),
                max_income_per_head_fen=_fen(rules.get("max_income_per_head_yuan")),
                max_disability_grade=rules.get("max_disability_grade"),
                illness_kinds=tuple(rules.get("illness_kinds") or ()),
                school_stages=tuple(rules.get("school_stages") or ()),
                sexes=tuple(rules.get("sexes") or ()),
                disability_types=tuple(rules.get("disability_types") or ()),
                conditions=catalogue.resolve(rules.get("conditions") or ()),
                child_statuses=tuple(rules.get("child_statuses") or ()),
                household_situations=tuple(rules.get("household_situations") or ()),
                amount_per_beneficiary_fen=_fen(p.get("amount_per_beneficiary_yuan")),
                quota=p.get("quota", 0),
                quota_used=p.get("quota_used", 0),
                starts_on=dt.date.fromisoformat(p["starts_on"]),
                ends_on=dt.date.fromisoformat(p["ends_on"]),
                accepts_simplified=p.get("accepts_simplified", False),
            )
        )
    households = {}
    for h in data["households"]:
        households[h["key"]] = HouseholdRecord(
            region_code=h["region_code"],
            categories=tuple(h.get("categories", [])),
            income_per_head_fen=_fen(h.get("income_per_head_yuan")) or 0,
            members=tuple(
                MemberRecord(
                    relation=m["relation"],
                    age=_age(m.get("birth_on"), as_of),
                    sex=m.get("sex"),
                    disability_type=m.get("disability_type"),
                    disability_grade=m.get("disability_grade"),
                    illness=m.get("illness"),
                    illness_kind=m.get("illness_kind"),
                    self_care=m.get("self_care") or "independent",
                    school_stage=m.get("school_stage"),
                    # Without the key, the illness text is mapped to the catalogue.
                    conditions=(catalogue.resolve(m["conditions"]) if "conditions" in m else None),
                    child_status=m.get("child_status"),
                )
                for m in h["members"]
            ),
            gov_aid_types=tuple(a["aid_type"] for a in h.get("gov_aid", [])),
            situations=tuple(h.get("situations") or ()),
        )
    needs = [
        NeedRecord(
            id=n["key"],
            domain=n["domain"],
            text=n["text"],
            household=households[n["household"]],
            member_index=n.get("member"),
            amount_gap_fen=_fen(n.get("amount_gap_yuan")),
            urgency=n.get("urgency", "normal"),
        )
        for n in data["needs"]
    ]
    return CaseSet(as_of, projects, needs, data.get("judgments", {}))


def _tokens(text: str) -> list[str]:
    """Character unigrams and bigrams: a keyword search over Chinese without a segmenter."""
    chars = [c for c in text if not c.isspace()]
    return chars + [a + b for a, b in zip(chars, chars[1:], strict=False)]


def ndcg_at(ranked: list[str], grades: dict[str, int], k: int = 5) -> float:
    gains = [grades.get(key, 0) for key in ranked[:k]]
    dcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: list[str], grades: dict[str, int], k: int = 10) -> float:
    relevant = {key for key, g in grades.items() if g >= SUITABLE}
    if not relevant:
        return 0.0
    return len(relevant & set(ranked[:k])) / len(relevant)


class Bm25Ranker:
    """BM25 (rank-bm25) over the project texts of a case set."""

    def __init__(self, index: ProjectIndex):
        self.index = index
        self.bm25 = BM25Okapi([_tokens(project_text(p)) for p in index.projects])

    def rank(self, need: NeedRecord, allowed: np.ndarray, k: int = 10) -> list[int]:
        scores = np.asarray(self.bm25.get_scores(_tokens(need_text(need))))
        scores = np.where(allowed, scores, -np.inf)
        order = np.lexsort((np.arange(len(scores)), -scores))
        return [int(i) for i in order[:k] if np.isfinite(scores[i])]


def evaluate(cases: CaseSet, model: Model | None = None) -> dict[str, dict[str, float]]:
    """NDCG@5, recall@10 and violations@10 for the model and the two baselines, and the
    model's ``told_nothing_suitable`` and ``best_shown_low`` shares."""
    index = build_index(cases.projects)
    bm25 = Bm25Ranker(index)
    keys = [str(p.id) for p in index.projects]
    results: dict[str, dict[str, list[float]]] = {
        name: {"ndcg@5": [], "recall@10": [], "violations@10": []}
        for name in ("model", "bm25", "bm25_eligible")
    }
    told: list[bool] = []  # per need with no suitable project: told 暂无合适
    best_low: list[bool] = []  # per grade-3 project in a top ten: shown as 低匹配度
    for need in cases.needs:
        grades = {k: g for k, g in cases.judgments.get(str(need.id), {}).items() if g > 0}
        eligibility = check(index, need, cases.as_of)
        ledgers = np.isin(index.ledger, supply_ledger_codes(need.household.region_code))
        ranking = rank(index, need, cases.as_of, limit=10, model=model)
        if not any(g >= SUITABLE for g in grades.values()):
            told.append(ranking.nothing_suitable)
        best_low += [m.low_match for m in ranking.items if grades.get(str(m.project.id)) == 3]
        ranked = {
            "model": [index.projects.index(m.project) for m in ranking.items],
            "bm25": bm25.rank(need, ledgers),
            "bm25_eligible": bm25.rank(need, eligibility.eligible),
        }
        for name, positions in ranked.items():
            top = [keys[i] for i in positions]
            if top:
                bad = sum(1 for i in positions if not eligibility.eligible[i])
                results[name]["violations@10"].append(bad / len(top))
            if any(g >= 1 for g in grades.values()):
                results[name]["ndcg@5"].append(ndcg_at(top, grades))
            if any(g >= SUITABLE for g in grades.values()):
                results[name]["recall@10"].append(recall_at(top, grades))
    summary = {
        name: {metric: round(float(np.mean(v)) if v else 0.0, 4) for metric, v in metrics.items()}
        for name, metrics in results.items()
    }
    summary["model"]["told_nothing_suitable"] = round(float(np.mean(told)), 4) if told else 1.0
    summary["model"]["best_shown_low"] = round(float(np.mean(best_low)), 4) if best_low else 0.0
    return summary


# --- the case files as a guard on retraining ----------------------------------------------

#: Where the labelled case files ship. Every ``*.json`` file here is a case file: adding one
#: adds it to every training run's guard.
CASE_DIR = Path(__file__).resolve().parent.parent / "seed" / "eval"


@dataclass(frozen=True)
class Benchmark:
    """A case file ready to rank on: its cases and their project index (built once)."""

    name: str
    cases: CaseSet
    index: ProjectIndex


#: The shipped case files by what each is for (``seed/eval/README.md``), as pages and the
#: training run's refusals name them.
CASE_FILE_LABELS = {
    "cases.json": "主评测集",
    "dev_cases.json": "调试评测集",
    "holdout_cases.json": "留出评测集",
    "rules_cases.json": "资格规则评测集",
    "blind_cases.json": "盲测评测集",
}


def case_file_label(name: str) -> str:
    """``holdout_cases.json`` → 留出评测集; a file not shipped → 评测集“<its name>”."""
    return CASE_FILE_LABELS.get(name) or f"评测集“{name.removesuffix('.json')}”"


def shipped_case_files(folder: Path = CASE_DIR) -> list[Path]:
    """The case files of ``folder``, by name."""
    return sorted(folder.glob("*.json"))


@functools.lru_cache(maxsize=16)
def _benchmark(path: Path, _version: tuple[int, int]) -> Benchmark:
    cases = load_cases(path)
    return Benchmark(path.name, cases, build_index(cases.projects))


def load_benchmarks(paths: Sequence[Path] | None = None) -> list[Benchmark]:
    """The case files (default: every shipped one) with their indexes, kept in the process
    until a file changes on disk."""
    found = shipped_case_files() if paths is None else list(paths)
    benchmarks = []
    for path in found:
        stat = path.stat()
        benchmarks.append(_benchmark(path.resolve(), (stat.st_mtime_ns, stat.st_size)))
    return benchmarks


def ndcg_by_model(benchmark: Benchmark, models: Sequence[Model], k: int = 5) -> list[float]:
    """Mean NDCG@k of each model on a case file, as ``evaluate`` measures the model's.

    The rules, the text similarity and the features of a need are computed once and scored
    by every model, so judging a candidate beside the active model costs little more than
    judging one.
    """
    cases, index = benchmark.cases, benchmark.index
    totals: list[list[float]] = [[] for _ in models]
    for need in cases.needs:
        grades = {key: g for key, g in cases.judgments.get(str(need.id), {}).items() if g > 0}
        if not grades:
            continue
        eligibility = check(index, need, cases.as_of)
        positions = np.flatnonzero(eligibility.eligible)
        if len(positions) == 0:
            for total in totals:
                total.append(0.0)
            continue
        text = index.text_similarity(need)
        matrix = features(index, need, positions, eligibility.locality, text, cases.as_of)
        for total, model in zip(totals, models, strict=True):
            scores = model.score(matrix)
            # The order ``rank`` gives: score (rounded as there), then project id.
            order = np.lexsort((index.id_rank[positions], -np.round(scores, 9)))[:k]
            ranked = [str(index.projects[int(positions[i])].id) for i in order]
            total.append(ndcg_at(ranked, grades, k))
    return [float(np.mean(total)) if total else 0.0 for total in totals]
