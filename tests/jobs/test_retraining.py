"""Retraining cannot make ranking worse: a model that predicts the charities' answers better
is still refused when it ranks a shipped case file worse, and the jobs page says why."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from jobs.runs import run_slot
from matcher import LearnedModel, rank
from matcher.evaluation import CASE_FILE_LABELS, shipped_case_files
from models import ModelVersion, Need, Referral, clock, utcnow
from models.enums import JobRunStatus, NeedStatus, ReferralStatus
from tests.helpers import csrf_token, get_user, sign_in
from web.services.ledgers import build_edition
from web.services.matching import clear_cache, match_need, need_record, project_index

#: The departments of the demo's charities (as ``make run`` publishes them).
DEMO_LEDGERS = ("440000000000", "440100000000", "440200000000", "441800000000",
                "440117000000", "440232000000", "441424000000")  # fmt: skip


def chemotherapy_need(db: Session) -> Need:
    need = db.scalar(sa.select(Need).where(Need.text.contains("乳腺癌")))
    assert need is not None and "化疗" in need.text and need.domain.value == "medical"
    return need


def script_wrong_answers(db: Session) -> int:
    """Referral outcomes that reward the wrong thing: for every open need, each eligible
    project outside the need's domain (a winter goods parcel for a chemotherapy need) was
    accepted and each in its domain declined. The number of outcomes."""
    office, station = get_user(db, "ca_province"), get_user(db, "station_a")
    outcomes = 0
    needs = db.scalars(sa.select(Need).where(Need.status == NeedStatus.OPEN).order_by(Need.id))
    for need in needs.all():
        for match in match_need(db, office, need.id, limit=50).ranking.items:
            accepted = need.domain.value not in match.project.domains
            db.add(
                Referral(
                    need_id=need.id, project_id=match.project.id, created_by_id=station.id,
                    status=ReferralStatus.ACCEPTED if accepted else ReferralStatus.DECLINED,
                )
            )  # fmt: skip
            outcomes += 1
    return outcomes


def test_a_model_that_predicts_answers_better_but_ranks_worse_is_refused_with_its_reasons(
    session_factory: sessionmaker[Session], db: Session, app: Flask, client: FlaskClient
) -> None:
    clear_cache()
    admin = get_user(db, "admin")
    for code in DEMO_LEDGERS:
        build_edition(db, admin, code, clock.period_of(clock.today()), utcnow())
    assert script_wrong_answers(db) >= 30
    db.commit()

    run = run_slot(session_factory, "retrain_matcher", utcnow().replace(microsecond=0),
                   trigger="manual")  # fmt: skip
    assert run is not None and run.status == JobRunStatus.SUCCEEDED
    counts = run.counts
    # It predicts the scripted answers better than the model in use ...
    assert counts["auc"]["candidate"] > counts["auc"]["active"]
    # ... but ranks every shipped case file worse, so it is not promoted.
    assert set(counts["ndcg@5"]) == {path.name for path in shipped_case_files()}
    assert all(f["candidate"] < f["active"] - 0.01 for f in counts["ndcg@5"].values())
    assert counts["promoted"] is False
    assert any("主评测集的 NDCG@5 比当前模型低" in r for r in counts["refusals"])
    assert [r["text"] for r in counts["refusal_reasons"]] == counts["refusals"]
    db.expire_all()
    assert db.scalar(sa.select(ModelVersion).where(ModelVersion.is_active.is_(True))) is None
    refused = db.scalar(sa.select(ModelVersion).where(ModelVersion.name == counts["model"]))
    assert refused is not None and refused.metrics["refusals"] == counts["refusals"]

    # What it would have done: a goods parcel first for the chemotherapy need. The model in
    # use still offers a medical project.
    need = chemotherapy_need(db)
    today = clock.today()
    candidate = LearnedModel(
        coef=refused.params["coef"], intercept=refused.params["intercept"], name=refused.name
    )
    would_be = rank(project_index(db), need_record(need, today), today, model=candidate)
    assert "goods" in would_be.items[0].project.forms
    in_use = match_need(db, get_user(db, "station_d"), need.id).ranking
    assert in_use.model == "weighted-v2" and "medical" in in_use.items[0].project.domains

    sign_in(client, "admin")
    page = client.get("/jobs").text
    # The model and the case files by what they are, not by their codes and file names.
    number = counts["model"].split("-")[1]
    assert "未启用" in page and f"学习模型第 {number} 号" in page and counts["model"] not in page
    assert "预测接收（留出集 AUC）" in page and "当前模型 NDCG@5" in page
    for name, figures in counts["ndcg@5"].items():
        assert CASE_FILE_LABELS[name] in page and f"{figures['candidate']:.3f}" in page
    assert ".json" not in page
    assert "主评测集的 NDCG@5 比当前模型低" in page

    # In English, the reasons too: kept with their figures, not as Chinese sentences.
    token = csrf_token(client, "/jobs")
    client.post("/language", data={"csrf_token": token, "lang": "en", "next": "/jobs"})
    english = client.get("/jobs").text
    refusals = english[english.index('data-testid="training-refusals"') :]
    refusals = refusals[: refusals.index("</ul>")]
    assert "NDCG@5 on the main case set is" in refusals and "below the model in use" in refusals
    assert not re.search(r"[\u3400-\u9fff]", refusals), refusals
    client.post("/language", data={"csrf_token": token, "lang": "zh_CN", "next": "/jobs"})

    # By hand, the same answers give the same refusal, with both measures printed.
    printed = app.test_cli_runner().invoke(args=["matcher", "train"]).output
    assert "预测接收（留出集 AUC）：新模型" in printed and "当前模型" in printed
    assert all(name in printed for name in counts["ndcg@5"])
    assert "未启用：盲测评测集的 NDCG@5 比当前模型低" in printed  # the first file by name
    assert "；主评测集的 NDCG@5 比当前模型低" in printed
