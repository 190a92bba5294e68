"""English is complete: every string the code marks for translation, and every label the
pages translate by value (vocabularies, form fields, referral steps, jobs and their counts),
has an English text in the catalogue; and English pages show no Chinese in their column
headers, form labels, choices and legends."""

from __future__ import annotations

import inspect
import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

import models.enums
from matcher.conditions import shipped_catalogue
from matcher.evaluation import CASE_FILE_LABELS
from matcher.vocabulary import LOCALITY_LABELS, SEX_LABELS
from models import clock
from models.base import utcnow
from models.enums import LabelledEnum
from tests.helpers import csrf_token, get_user, sign_in
from tests.web.test_early_refresh import PUBLISHED_2026H2, REFRESHED, at
from web.pages.referrals import DONE, STEP_CONFIRMS, STEP_LABELS, TITLES
from web.services.audit_log import ACTION_LABELS, OBJECT_LABELS
from web.services.contracts import GOV_AID, HOUSEHOLD, MEMBER, NEED, PROJECT
from web.services.jobs import COUNT_LABELS, JOBS, TRIGGER_LABELS
from web.services.ledgers import build_edition
from web.services.project_changes import FIELD_NAMES, OTHER_FIELD
from web.services.stats import FUNNEL
from web.services.stats_tables import TABLES

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "web" / "translations" / "en" / "LC_MESSAGES" / "messages.po"


def english() -> Catalog:
    with CATALOGUE.open("rb") as po:
        return read_po(po)


def untranslated(catalogue: Catalog, texts: set[str]) -> list[str]:
    def english_of(text: str) -> str:
        message = catalogue.get(text)
        return str(message.string) if message is not None and message.string else ""

    return sorted(t for t in texts if t and not english_of(t))


def labels_translated_by_value() -> set[str]:
    """Texts that pages pass to ``_()`` as values, which extraction cannot see."""
    texts = {
        member.label
        for _name, enum in inspect.getmembers(models.enums, inspect.isclass)
        if issubclass(enum, LabelledEnum) and enum is not LabelledEnum
        for member in enum
    }
    for contract in (PROJECT, HOUSEHOLD, MEMBER, NEED, GOV_AID):
        texts |= {rule.label for rule in contract.values()}
    texts |= set(FIELD_NAMES.values()) | {OTHER_FIELD} | set(COUNT_LABELS.values())
    texts |= {job.label for job in JOBS.values()} | {job.schedule for job in JOBS.values()}
    texts |= set(TRIGGER_LABELS.values()) | {"其他方式"}
    texts |= set(STEP_LABELS.values()) | set(DONE.values()) | set(STEP_CONFIRMS.values())
    texts |= set(TITLES.values())
    # The matcher's reasons: their templates, the words they put in, the list separator.
    source = "".join(path.read_text("utf-8") for path in (ROOT / "matcher").glob("*.py"))
    texts |= set(re.findall(r'Reason\(\s*"([^"]+)"', source))
    texts |= set(LOCALITY_LABELS.values()) | {label + "性" for label in SEX_LABELS.values()}
    texts |= {"、"}
    texts |= set(CASE_FILE_LABELS.values())  # the training run's case files (``|case_file``)
    texts |= set(ACTION_LABELS.values()) | set(OBJECT_LABELS.values()) | {"其他操作", "记录"}
    # The half-year report's tables: titles, headers and the labels of their rows.
    texts |= {table.title for table in TABLES.values()}
    texts |= {header for table in TABLES.values() for header in table.headers}
    texts |= {label for _step, label, _condition in FUNNEL} | {"全部受助家庭"}
    return texts


def test_every_label_translated_by_value_has_english() -> None:
    missing = untranslated(english(), labels_translated_by_value())
    assert not missing, "no English for:\n" + "\n".join(missing)


def test_every_string_marked_for_translation_has_english() -> None:
    # What `pybabel extract -F babel.cfg` finds: ``_()`` in the code and the templates.
    found = extract_from_dir(ROOT / "web", [("**.py", "python"), ("templates/**.html", "jinja2")])
    marked = {m[2] if isinstance(m[2], str) else m[2][0] for m in found}
    assert len(marked) > 300
    missing = untranslated(english(), marked)
    assert not missing, "no English for:\n" + "\n".join(missing)


CJK = re.compile(r"[\u3400-\u9fff]")
#: Elements that name things, never data: column headers, form labels, legends, and the
#: choices of a vocabulary (a code as value; people and places have numbers).
NAMING = re.compile(
    r"<(th|label|legend)\b[^>]*>(.*?)</\1>|<(option) value=\"[a-z_]+\"[^>]*>(.*?)</option>",
    re.S,
)


#: The condition catalogue (病种目录) is reference data named as Guangdong's lists name the
#: conditions, like places and projects: its entries stay Chinese on English pages.
CONDITIONS = {entry.code for entry in shipped_catalogue()}


def chinese_labels(html: str) -> list[str]:
    found = []
    for match in NAMING.finditer(html):
        text = re.sub(r"<[^>]+>", " ", match.group(2) or match.group(4) or "")
        option_value = re.match(r'<option value="([a-z_]+)"', match.group(0))
        if option_value and option_value.group(1) in CONDITIONS:
            continue
        if CJK.search(text):
            found.append(" ".join(text.split()))
    return found


@pytest.mark.parametrize(
    ("username", "paths"),
    [
        ("station_a", ["/home", "/households", "/households/1", "/households/1/dossier",
                       "/worklist", "/referrals", "/ledgers/current", "/households/new"]),
        ("ca_conghua", ["/home", "/dashboard", "/review", "/jobs", "/ledgers", "/referrals"]),
        ("charity_f", ["/home", "/my/projects", "/projects/new", "/imports/projects"]),
    ],
)  # fmt: skip
def test_english_pages_name_things_in_english(
    client: FlaskClient, username: str, paths: list[str]
) -> None:
    sign_in(client, username)
    token = csrf_token(client, "/home")
    client.post("/language", data={"csrf_token": token, "lang": "en", "next": "/home"})
    problems = []
    for path in paths:
        page = client.get(path)
        assert page.status_code == 200, path
        assert 'lang="en"' in page.text
        problems += [f"{path}: {label}" for label in chinese_labels(page.text)]
    assert not problems, "\n".join(dict.fromkeys(problems))


def english_client(client: FlaskClient, username: str) -> FlaskClient:
    sign_in(client, username)
    token = csrf_token(client, "/home")
    client.post("/language", data={"csrf_token": token, "lang": "en", "next": "/home"})
    return client


def cells(html: str, pattern: str) -> list[str]:
    return [" ".join(re.sub(r"<[^>]+>", " ", m).split()) for m in re.findall(pattern, html, re.S)]


#: Words a reason quotes as data: thesaurus concepts and condition names stay as written.
def quoted_data(text: str) -> str:
    return re.sub(r"(concern|patients with) [^()]*$", r"\1 …", text)


def publish_ledgers(db: Session) -> None:
    admin = get_user(db, "admin")
    for region in ("440000000000", "440100000000", "440117000000"):
        build_edition(db, admin, region, clock.period_of(clock.today()), utcnow())
    db.flush()


def test_match_reasons_are_english_on_english_pages(client: FlaskClient, db: Session) -> None:
    publish_ledgers(db)
    english_client(client, "station_a")
    page = client.get("/needs/1/matches?explain=1")
    assert page.status_code == 200
    reasons = [r for ul in re.findall(r'data-testid="reasons">(.*?)</ul>', page.text, re.S)
               for r in cells(ul, r"<li>(.*?)</li>")]  # fmt: skip
    excluded_table = re.search(r'data-testid="excluded">(.*?)</table>', page.text, re.S)
    assert reasons and excluded_table
    excluded = cells(excluded_table.group(1), r"<tr><td>.*?</td><td>.*?</td><td>(.*?)</td></tr>")
    assert excluded, "need 1 has excluded projects in the demo"
    chinese = [text for text in reasons + excluded if CJK.search(quoted_data(text))]
    assert not chinese, "\n".join(dict.fromkeys(chinese))


def test_match_reasons_stay_chinese_in_the_api(client: FlaskClient, db: Session) -> None:
    publish_ledgers(db)
    english_client(client, "station_a")
    page = client.get("/api/v1/needs/1/matches?explain=1")
    assert page.status_code == 200
    assert all(CJK.search(r) for item in page.json["items"] for r in item["reasons"])
    assert all(CJK.search(e["reason"]) for e in page.json["excluded"])


def test_audit_log_names_actions_and_records_in_english(client: FlaskClient) -> None:
    english_client(client, "admin")
    page = client.get("/audit")
    assert page.status_code == 200
    rows = re.findall(r"<tr><td>.*?</tr>", page.text, re.S)
    assert len(rows) > 20
    # Columns 3 and 4: the action and the kind of record (person and place are data).
    named = [cell for row in rows for cell in cells(row, r"<td>(.*?)</td>")[2:4]]
    chinese = sorted({text for text in named if CJK.search(text)})
    assert not chinese, "\n".join(chinese)
    assert "Household viewed" in page.text or "Household created" in page.text


def test_a_waiting_ledger_is_named_in_english(app: Flask, client: FlaskClient, db: Session) -> None:
    office = get_user(db, "ca_conghua")
    build_edition(db, office, "440117000000", "2026H2", PUBLISHED_2026H2)
    waiting = build_edition(db, office, "440117000000", "2027H1", REFRESHED).edition
    db.flush()
    at(app, REFRESHED)
    english_client(client, "ca_conghua")
    page = client.get(f"/ledgers/{waiting.id}").text
    (state,) = cells(page, r'data-testid="edition-state">(.*?)</span>')
    assert state == "Next ledger (H1 2027, in effect from 1/1)"
    current = client.get("/ledgers/current").text
    (title,) = cells(current, r'<section data-testid="upcoming-edition">\s*<h2>(.*?)<a')
    assert title.endswith("· Next ledger (H1 2027, in effect from 1/1)")


#: Tables of the report whose cells are all figures or labels (the others name charities
#: and places, which are data).
LABELLED_TABLES = ("needs_and_places", "funnel", "delivered", "groups_reached", "warnings_by_rule")


def test_the_half_year_report_and_its_export_are_english(client: FlaskClient) -> None:
    english_client(client, "ca_province")
    page = client.get("/reports/half-year")
    assert page.status_code == 200
    # Headings name the figures, or a child region by its name and code (data).
    headings = [h for h in cells(page.text, r"<h2>(.*?)</h2>") if not re.search(r"\d{12}", h)]
    labels = [
        text
        for name in LABELLED_TABLES
        for table in re.findall(rf'data-testid="table-{name}">(.*?)</table>', page.text, re.S)
        for text in cells(table, r"<td>(.*?)</td>")
    ]
    assert "Submitted" in labels and "All households helped" in labels
    chinese = sorted({text for text in headings + labels if CJK.search(text)})
    assert not chinese, "\n".join(chinese)

    link = re.search(r'href="([^"]*/report\.xlsx[^"]*)"', page.text)
    assert link
    export = client.get(link.group(1).replace("&amp;", "&"))
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(export.data), read_only=True)
    assert len(book.sheetnames) > len(TABLES)  # then one sheet per child region
    chinese = []
    for name, sheet in zip(TABLES, book.worksheets, strict=False):
        caption, headers, *rows = list(sheet.iter_rows(values_only=True))
        named = [str(caption[0]).rsplit(" · ", 1)[-1], *(str(h) for h in headers)]
        if name in LABELLED_TABLES:
            named += [str(v) for row in rows for v in row if v is not None]
        chinese += [f"{name}: {text}" for text in named if CJK.search(text)]
    assert not chinese, "\n".join(chinese)


def test_the_report_export_stays_chinese_by_default(client: FlaskClient) -> None:
    sign_in(client, "ca_province")
    page = client.get("/reports/half-year")
    link = re.search(r'href="([^"]*/report\.xlsx[^"]*)"', page.text)
    assert link
    book = load_workbook(io.BytesIO(client.get(link.group(1).replace("&amp;", "&")).data))
    assert book.sheetnames[0] == TABLES["needs_and_places"].title
