"""Nothing identifying reaches a charity before it accepts: it reads the summary written for
charities (对外情况说明), which is refused on save when it carries a number, a name, an
address or an account id, however written; the station's own text only after acceptance."""

from __future__ import annotations

import re
import unicodedata

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import AuditLog, Household, Need
from models.enums import Domain, Urgency
from tests.helpers import bearer, csrf_token, need_of, project_named, sign_in
from web.services.public_text import blank, describe, identifying_in, suggest_public_summary

SURGERY = "从化区慈善医疗救助"  # charity_f; the household of 钟伟明 lives in 温泉镇新田村上围社

#: Hostile texts a station might write, each with the piece that must not reach a charity.
HOSTILE: list[tuple[str, str]] = [
    ("联系电话139　1234　5678", "13912345678"),
    ("电话139.1234.5678", "13912345678"),
    ("电话139  1234  5678", "13912345678"),
    ("座机020-8765 4321", "02087654321"),
    ("身份证440184　20000101　3016", "440184200001013016"),
    ("女儿钟 嘉怡读初中", "钟嘉怡"),
    ("家住温泉镇新田村上围社8号", "上围社"),
    ("微信 zhongwm1978", "zhongwm1978"),
    ("QQ：3456789", "3456789"),
    ("邮箱 zhongwm@163.com", "zhongwm@163"),
    ("电话１３９１２３４５６７８", "13912345678"),
    ("电话1 3 9 1 2 3 4 5 6 7 8", "13912345678"),
    ("电话139/1234/5678", "13912345678"),
    ("电话139—1234—5678", "13912345678"),
    ("电话139_1234_5678", "13912345678"),
    ("电话(139)1234-5678", "13912345678"),
    ("电话一三九一二三四五六七八", "一三九一二三四五六七八"),
    ("电话幺三九 幺二三四 五六七八", "幺三九幺二三四五六七八"),
    ("证号4401 8420 0001 0130 16", "440184200001013016"),
    ("证号44018420000101301X", "44018420000101301"),
    ("证号4401.8420.0001.0130.16", "440184200001013016"),
    ("户主钟伟明", "钟伟明"),
    ("户主钟　伟　明", "钟伟明"),
    ("妻子刘秀英", "刘秀英"),
    ("妻子刘-秀-英", "刘秀英"),
    ("嘉怡读初中", "嘉怡"),
    ("浩然上小学", "浩然"),
    ("户主 ZHONG WEIMING", "weiming"),
    ("vx:zwm_1978", "zwm_1978"),
    ("V信 zhong8651", "zhong8651"),
    ("扣扣 87654321", "87654321"),
    ("q q 号 5566778", "5566778"),
    ("卡号6222 0212 3456 7890", "6222021234567890"),
    ("新田村委会旁边", "新田"),
    ("上围社12号", "上围社"),
    ("住3栋502室", "502室"),
    ("中山路88号", "88号"),
    ("住在温泉镇新田村", "新田"),
    ("出生日期2000-01-01", "20000101"),
    ("电话：020－87654321", "02087654321"),
    ("手机 +86 139 1234 5678", "8613912345678"),
    ("邮箱 zwm＠qq．com", "zwm@qq"),
    ("电话13719248651", "13719248651"),
    ("钟伟明的微信号是 wx_zhong_01", "wx_zhong_01"),
    ("电话是139 1234 5678（钟伟明）", "13912345678"),
    ("身份证号码：４４０１２２１９７８０４１２１０７６", "440122197804121076"),
    # Typed in traditional characters, as a Hong Kong keyboard or a pasted text gives them.
    ("戶主鍾偉明", "鍾偉明"),
    ("偉明在工地做散工", "偉明"),
    ("在502號房", "502號"),
    ("在三組那邊", "三組"),
    ("溫泉鎮大坑村", "溫泉鎮大坑村"),
]

_SEPARATORS = re.compile(r"[\s.\-_/\\,、·•~()\[\]+*—–―‐‑‒−:;'\"|]+")


def plain(text: str) -> str:
    """``text`` as a reader would take it in: NFKC, no separators, lower case."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).lower()


def household_of(db: Session, head_name: str) -> Household:
    household = db.scalar(sa.select(Household).where(Household.head_name == head_name))
    assert household is not None
    return household


def test_the_corpus_is_large_enough_and_each_text_carries_its_secret() -> None:
    assert len(HOSTILE) >= 40
    for text, secret in HOSTILE:
        assert plain(secret.replace("_", "")) in plain(text), text


@pytest.mark.parametrize(("text", "secret"), HOSTILE, ids=[t for t, _s in HOSTILE])
def test_every_hostile_summary_is_refused_naming_what_was_found(
    db: Session, text: str, secret: str
) -> None:
    findings = identifying_in(db, household_of(db, "钟伟明"), text)
    assert findings, text
    assert describe(findings).startswith("对外情况说明不能含有可识别家庭的信息")


def test_ordinary_summaries_pass_the_check(db: Session) -> None:
    household = household_of(db, "钟伟明")
    for text in (
        "户主患尿毒症需长期透析，家中有两个孩子上学，医保报销后每月自付约3000元。",
        "老人独居在农村，行动不便，希望有志愿者每周上门探访一次。",
        "3月1号住院，一家三口靠低保生活，一路艰辛，社会救助已覆盖部分费用。",
    ):
        assert identifying_in(db, household, text) == [], text
    for domain in Domain:
        for urgency in Urgency:
            suggested = suggest_public_summary(domain, urgency)
            assert identifying_in(db, household, suggested) == [], suggested


def test_the_api_refuses_an_identifying_summary_with_422_naming_field_and_reason(
    client: FlaskClient, db: Session
) -> None:
    station = bearer(client, "station_a")
    household = household_of(db, "钟伟明")
    created = client.post(
        f"/api/v1/households/{household.id}/needs", headers=station,
        json={"domain": "medical", "text": "透析费用", "public_summary": "联系电话139　1234　5678"},
    )  # fmt: skip
    assert created.status_code == 422
    message = created.json["error"]["fields"]["public_summary"][0]
    assert "号码" in message and "139　1234　5678" in message
    need = need_of(db, "钟伟明", "medical")
    changed = client.put(
        f"/api/v1/needs/{need.id}/public-summary", headers=station,
        json={"public_summary": "女儿钟 嘉怡读初中"},
    )  # fmt: skip
    assert changed.status_code == 422
    assert "姓名" in changed.json["error"]["fields"]["public_summary"][0]
    fine = client.put(
        f"/api/v1/needs/{need.id}/public-summary", headers=station,
        json={"public_summary": "户主需长期透析，医保报销后仍有较大缺口。"},
    )  # fmt: skip
    assert fine.status_code == 200 and fine.json["public_summary"].startswith("户主需长期透析")


def test_the_form_keeps_what_was_typed_and_says_what_was_found(
    client: FlaskClient, db: Session
) -> None:
    need = need_of(db, "钟伟明", "medical")
    sign_in(client, "station_a")
    token = csrf_token(client, f"/households/{need.household_id}")
    typed = "家住温泉镇新田村上围社8号"
    page = client.post(
        f"/needs/{need.id}/public-summary", data={"public_summary": typed, "csrf_token": token}
    )
    assert page.status_code == 422
    assert typed in page.text and "地址" in page.text and "不能含有可识别家庭的信息" in page.text
    db.expire_all()
    assert db.get_one(Need, need.id).public_summary != typed


def test_no_hostile_text_reaches_a_charity_before_acceptance_and_the_text_after_is_audited(
    client: FlaskClient, db: Session
) -> None:
    station, office = bearer(client, "station_a"), bearer(client, "ca_conghua")
    charity = bearer(client, "charity_f")
    household = household_of(db, "钟伟明")
    text = "；".join(t for t, _s in HOSTILE)
    created = client.post(
        f"/api/v1/households/{household.id}/needs", headers=station,
        json={"domain": "medical", "text": text, "urgency": "urgent"},
    )  # fmt: skip
    assert created.status_code == 201, created.json
    assert created.json["public_summary"]  # built from the structured fields
    project = project_named(db, SURGERY)
    rid = client.post(
        "/api/v1/referrals", headers=station,
        json={"need_id": created.json["id"], "project_id": project.id, "score": 0.8,
              "model_version": "weighted-v1", "note": text},
    ).json["id"]  # fmt: skip

    def step(action: str, headers: dict[str, str]) -> None:
        version = client.get(f"/api/v1/referrals/{rid}", headers=headers).json["version"]
        answer = client.post(
            f"/api/v1/referrals/{rid}/{action}", headers=headers, json={"version": version}
        )
        assert answer.status_code == 200, answer.json

    step("submit", station)
    step("approve", office)

    seen = [
        client.get(f"/api/v1/referrals/{rid}", headers=charity).text,
        client.get("/api/v1/referrals?box=inbox", headers=charity).text,
        client.get("/api/v1/notifications", headers=charity).text,
    ]
    assert client.get(f"/api/v1/needs/{created.json['id']}", headers=charity).status_code == 404
    sign_in(client, "charity_f")
    for path in (f"/referrals/{rid}", "/referrals", "/notifications"):
        page = client.get(path)
        assert page.status_code == 200, path
        seen.append(page.text)
    everything = plain("\n".join(seen))
    for written, secret in HOSTILE:
        assert plain(secret) not in everything, written
    assert "接收转介后可查看" in seen[3]

    step("accept", charity)
    after = client.get(f"/api/v1/referrals/{rid}", headers=charity).json
    assert after["need"]["text"] == text
    reads = db.scalars(
        sa.select(AuditLog).where(
            AuditLog.action == "referral.need_text_read", AuditLog.object_id == str(rid)
        )
    ).all()
    assert reads and reads[-1].detail["household_id"] == household.id


def test_notes_a_charity_reads_from_others_are_blanked_however_written() -> None:
    note = "已转告钟 伟明（电话139　1234　5678，家住新田村上围社8号），请联系 zwm@qq.com"
    shown = plain(blank(note, ["钟伟明"], ["新田"]))
    for secret in ("钟伟明", "13912345678", "新田", "上围社", "zwm@qq"):
        assert plain(secret) not in shown, secret
    assert "已转告" in shown and "请联系" in shown
