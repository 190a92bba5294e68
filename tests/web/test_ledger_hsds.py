"""The ledger in HSDS over HTTP (``/api/v1/ledgers/<id>/hsds``) and on the command line
(``flask ledger export-hsds``): the same export, the one published edition."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import LedgerEdition
from tests.helpers import bearer, get_user
from web.services.hsds import FILES, export_hsds, hsds_problems
from web.services.ledgers import build_edition

NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
CONGHUA = "440117000000"
RUYUAN = "440232000000"


def publish(db: Session, region_code: str) -> LedgerEdition:
    edition = build_edition(db, get_user(db, "admin"), region_code, "2026H2", NOW).edition
    db.commit()
    return edition


def test_the_api_answers_an_edition_in_hsds_to_anyone_signed_in(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    app.config["CLOCK"] = lambda: NOW
    edition = publish(db, CONGHUA)
    answer = client.get(f"/api/v1/ledgers/{edition.id}/hsds", headers=bearer(client, "station_a"))
    assert answer.status_code == 200
    assert answer.json == export_hsds(db, edition, TODAY).as_document()
    assert answer.json["edition"]["id"] == edition.id
    assert len(answer.json["services"]) == edition.project_count
    # Ledgers are handed down to everyone: a charity reads another county's edition too.
    ruyuan = publish(db, RUYUAN)
    charity = bearer(client, "charity_f")
    assert client.get(f"/api/v1/ledgers/{ruyuan.id}/hsds", headers=charity).status_code == 200
    missing = client.get("/api/v1/ledgers/999999/hsds", headers=charity)
    assert missing.status_code == 404 and missing.json["error"]["message"] == "台账版本不存在。"
    assert client.get(f"/api/v1/ledgers/{edition.id}/hsds").status_code == 401


def test_the_api_documents_the_hsds_answer(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/api/v1/ledgers/{edition_id}/hsds"]["get"]
    assert {"200", "404"} <= set(operation["responses"])


def test_the_command_writes_the_current_edition_of_a_region(
    app: Flask, db: Session, tmp_path: Path
) -> None:
    app.config["CLOCK"] = lambda: NOW
    edition = publish(db, CONGHUA)
    target = tmp_path / "hsds" / "conghua"
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["ledger", "export-hsds", "--region", CONGHUA, "-o", str(target), "--validate"]
    )
    assert result.exit_code == 0, result.output
    assert f"编号 {edition.id}" in result.output and "已通过 HSDS 3.0 校验" in result.output
    assert sorted(p.name for p in target.iterdir()) == sorted(FILES)
    files = {name: json.loads((target / name).read_text("utf-8")) for name in FILES}
    assert files["edition.json"]["edition"]["id"] == edition.id
    expected = export_hsds(db, edition, TODAY)
    assert files["services.json"] == expected.services
    assert files["organizations.json"] == expected.organizations
    assert "从化区" in (target / "services.json").read_text("utf-8")  # Chinese as is

    by_id = runner.invoke(args=["ledger", "export-hsds", "--edition", str(edition.id),
                                "-o", str(tmp_path / "by-id")])  # fmt: skip
    assert by_id.exit_code == 0, by_id.output
    assert (tmp_path / "by-id" / "services.json").read_bytes() == (
        target / "services.json"
    ).read_bytes()


def test_the_command_says_when_there_is_nothing_to_export(app: Flask, tmp_path: Path) -> None:
    app.config["CLOCK"] = lambda: NOW
    runner = app.test_cli_runner()
    none = runner.invoke(args=["ledger", "export-hsds", "--region", RUYUAN, "-o", str(tmp_path)])
    assert none.exit_code == 1 and "没有生效的台账" in none.output
    both = runner.invoke(
        args=["ledger", "export-hsds", "--region", RUYUAN, "--edition", "1", "-o", str(tmp_path)]
    )
    assert both.exit_code == 2 and "--region 或 --edition" in both.output
    assert list(tmp_path.iterdir()) == []


def test_the_command_writes_nothing_when_the_export_breaks_the_schema(
    app: Flask, db: Session, tmp_path: Path
) -> None:
    # A damaged snapshot (a project without a name) is caught before anything is written.
    edition = publish(db, CONGHUA)
    entry = edition.entries[0]
    entry.snapshot = {**entry.snapshot, "name": None}
    db.commit()
    assert hsds_problems(export_hsds(db, edition, TODAY))
    result = app.test_cli_runner().invoke(
        args=["ledger", "export-hsds", "--edition", str(edition.id), "-o", str(tmp_path / "x"),
              "--validate"]
    )  # fmt: skip
    assert result.exit_code == 1 and "不符合 HSDS 3.0" in result.output
    assert "services.json[" in result.output and ".name: None is not of type" in result.output
    assert not (tmp_path / "x").exists()
