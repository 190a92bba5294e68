"""A ledger edition in Open Referral's Human Services Data Specification (HSDS) 3.0 JSON.

The export is the published edition: every service is one of its frozen entries
(``LedgerEntry.snapshot``), never the live project, and every organization is the charity or
local provider (本地资源提供方) named by those entries. Region names come from the region
table, the reference data of the codes the entries froze. Text stays Chinese; amounts are in
yuan (人民币, CNY).

Identifiers are UUIDs (HSDS requires them) derived with :func:`uuid.uuid5` from one namespace
and the record they stand for — the project, the organization, a project's service area — so
the same project keeps its service id in every edition and every export.

Three documents make an export (:func:`hsds_files`): ``edition.json`` (the HSDS version and
which edition this is), ``organizations.json`` and ``services.json``, each an array of HSDS
objects, dereferenced as HSDS asks for JSON: a service embeds its organization, service areas,
contacts, schedule, funding and attributes; an organization lists its services by id, name and
status. The README's "HSDS export" maps each field.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from matcher.conditions import shipped_catalogue
from models import LedgerEdition, LedgerEntry, Region
from models.clock import half_year_name, local_date
from models.enums import (
    LabelledEnum,
    LedgerEditionState,
    LocalProviderKind,
    OrganizationKind,
    ServiceForm,
)

from .contracts import PROJECT
from .regions import region_label

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

#: The HSDS release the export follows, and where its schemas are published.
HSDS_VERSION = "3.0.1"
HSDS_SCHEMA_URL = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"
#: The copies of those schemas the export is validated against (offline).
SCHEMA_DIR = Path(__file__).with_name("hsds_schema")

#: Every id of the export is ``uuid5(NAMESPACE, key)`` with the record's key
#: (``project:12``); changing this namespace changes every id ever published.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:cishan-match:hsds")

#: The currency of every amount (ISO 4217): yuan.
CURRENCY = "CNY"

#: The files of an export, in the order written.
FILES = ("edition.json", "organizations.json", "services.json")

#: The snapshot's eligibility rules, in the order ``eligibility_description`` writes them
#: (``age`` is ``min_age`` and ``max_age``); a disability grade reads "of that grade or worse"
#: (grade 1 is the most severe), as the matcher applies it.
_ELIGIBILITY = ("target_groups", "age", "sexes", "household_categories",
                "household_situations", "max_income_per_head_fen", "disability_types",
                "max_disability_grade", "illness_kinds", "conditions", "child_statuses",
                "school_stages")  # fmt: skip


def hsds_id(key: str) -> str:
    """The UUID of the record with ``key`` (``project:12``, ``organization:3``)."""
    return str(uuid.uuid5(NAMESPACE, key))


@dataclass(frozen=True)
class Taxonomy:
    """One of the platform's vocabularies, published as an HSDS taxonomy."""

    key: str
    name: str
    labels: Mapping[str, str]
    description: str = ""

    @property
    def detail(self) -> dict[str, Any]:
        return {
            "id": hsds_id(f"taxonomy:{self.key}"),
            "name": self.name,
            "description": self.description or f"慈善帮扶资源对接平台的{self.name}分类",
        }

    def term(self, code: str, name: str | None = None) -> dict[str, Any]:
        label = name or self.labels.get(code, code)
        return {
            "id": hsds_id(f"taxonomy:{self.key}:{code}"),
            "code": code,
            "name": label,
            "description": f"{self.name}：{label}",
            "taxonomy": self.name,
            "taxonomy_id": self.detail["id"],
            "taxonomy_detail": self.detail,
            "language": "zh",
        }


def _vocabulary(field: str) -> type[LabelledEnum]:
    vocabulary = PROJECT[field].vocabulary
    assert vocabulary is not None  # the list fields of the project contract all have one
    return vocabulary


DOMAINS = Taxonomy("domain", "帮扶领域", _vocabulary("domains").labels())
TARGET_GROUPS = Taxonomy("target_group", "帮扶对象", _vocabulary("target_groups").labels())
FORMS = Taxonomy("form", "帮扶形式", ServiceForm.labels())
SERVICE_TYPES = Taxonomy("service_type", "服务类型", _vocabulary("service_types").labels())
#: Figures of a project, each an attribute whose ``value`` is the figure.
FIGURES = Taxonomy(
    "figure",
    "帮扶标准",
    {"amount_per_beneficiary": f"每人帮扶金额（元，{CURRENCY}）", "quota": "名额（人）"},
)
ORGANIZATION_KINDS = Taxonomy("organization_kind", "提供方类别", OrganizationKind.labels())
PROVIDER_KINDS = Taxonomy("provider_kind", "本地资源提供方类型", LocalProviderKind.labels())
#: Service areas carry their statistical division code (统计用区划代码) as a term's code.
REGIONS = Taxonomy(
    "region", "统计用区划代码", {}, "国家统计局统计用区划代码（12 位），一个代码含其下辖各地"
)

#: The vocabularies a service is classified by, with the snapshot field holding its codes.
_SERVICE_TAXONOMIES = (
    ("domains", DOMAINS),
    ("target_groups", TARGET_GROUPS),
    ("forms", FORMS),
    ("service_types", SERVICE_TYPES),
)


@dataclass(frozen=True)
class HsdsExport:
    """An edition in HSDS: what it is, its organizations and its services."""

    edition: dict[str, Any]
    organizations: list[dict[str, Any]]
    services: list[dict[str, Any]]

    def as_document(self) -> dict[str, Any]:
        """One JSON document with all three (what ``/api/v1/ledgers/<id>/hsds`` answers)."""
        return {
            "hsds_version": HSDS_VERSION,
            "edition": self.edition,
            "organizations": self.organizations,
            "services": self.services,
        }


def export_hsds(db: Session, edition: LedgerEdition, today: dt.date) -> HsdsExport:
    """``edition`` in HSDS 3.0: a service per entry (by project id), an organization per
    charity or local provider among them (by organization id).

    A service is ``active`` unless its project ended before ``today`` (a day in Guangdong) or
    the edition has been superseded on ``today``; then ``inactive``.
    """
    entries = sorted(edition.entries, key=lambda e: e.project_id)
    state = edition.state_on(today)
    codes = {code for e in entries for code in e.snapshot.get("service_area", [])}
    names = dict(
        db.execute(sa.select(Region.code, Region.name).where(Region.code.in_(codes))).all()
    )
    department = region_label(db, edition.region_code)
    labels = {code: region_label(db, code) for code in sorted(codes)}

    organizations: dict[int, dict[str, Any]] = {}
    services: list[dict[str, Any]] = []
    for entry in entries:
        organization = organizations.get(entry.organization_id)
        if organization is None:
            organization = _organization(entry, department)
            organizations[entry.organization_id] = organization
        service = _service(entry, organization, state, today, edition, names, labels)
        services.append(service)
        organization["services"].append({key: service[key] for key in ("id", "name", "status")})
    return HsdsExport(
        edition=_edition(edition, department, state),
        organizations=[organizations[key] for key in sorted(organizations)],
        services=services,
    )


def _edition(edition: LedgerEdition, department: str, state: LedgerEditionState) -> dict[str, Any]:
    return {
        "id": edition.id,
        "region_code": edition.region_code,
        "region_name": department,
        "level": edition.level.value,
        "period": edition.period,
        "period_name": half_year_name(edition.period),
        "revision": edition.revision,
        "published_at": _timestamp(edition.published_at),
        "effective_from": edition.effective_from.isoformat(),
        "superseded_on": edition.superseded_on.isoformat() if edition.superseded_on else None,
        "state": state.value,
        "project_count": edition.project_count,
        "schema_url": HSDS_SCHEMA_URL,
    }


def _organization(entry: LedgerEntry, department: str) -> dict[str, Any]:
    """The one-to-one fields, identifiers and responsible contact of an entry's provider."""
    snapshot = entry.snapshot
    key = f"organization:{entry.organization_id}"
    org_id = hsds_id(key)
    organization: dict[str, Any] = {
        "id": org_id,
        "name": snapshot["organization_name"],
        "description": _organization_description(snapshot, department),
    }
    uscc = snapshot.get("organization_uscc")
    if uscc:
        organization["organization_identifiers"] = [
            {
                "id": hsds_id(f"{key}:uscc"),
                "organization_id": org_id,
                "identifier_type": "统一社会信用代码",
                "identifier": uscc,
            }
        ]
    kind = OrganizationKind.LOCAL if snapshot.get("is_local") else OrganizationKind.CHARITY
    attributes = [_attribute(org_id, "organization", key, ORGANIZATION_KINDS, kind.value)]
    provider_kind = snapshot.get("provider_kind")
    if provider_kind:
        attributes.append(_attribute(org_id, "organization", key, PROVIDER_KINDS, provider_kind))
    organization["attributes"] = attributes
    station = snapshot.get("responsible_station_name")
    if station:
        organization["contacts"] = [
            {
                "id": hsds_id(f"{key}:contact"),
                "organization_id": org_id,
                "name": station,
                "title": "负责服务站",
            }
        ]
    organization["services"] = []
    return organization


def _organization_description(snapshot: Mapping[str, Any], department: str) -> str:
    """Who the provider is, and who answers for it: the civil-affairs department a charity is
    registered with; for a local provider, the station that registered it."""
    if not snapshot.get("is_local"):
        return f"{OrganizationKind.CHARITY.label}，登记管理机关：{department}民政部门。"
    kind = snapshot.get("provider_kind")
    kind_label = LocalProviderKind.labels().get(kind, "") if kind else ""
    what = OrganizationKind.LOCAL.label + (f"（{kind_label}）" if kind_label else "")
    station = snapshot.get("responsible_station_name") or f"{department}综合救助服务站"
    return f"{what}，由{station}登记并负责其资源的核实与转介。"


def _service(
    entry: LedgerEntry,
    organization: Mapping[str, Any],
    state: LedgerEditionState,
    today: dt.date,
    edition: LedgerEdition,
    names: Mapping[str, str],
    labels: Mapping[str, str],
) -> dict[str, Any]:
    snapshot = entry.snapshot
    key = f"project:{entry.project_id}"
    service_id = hsds_id(key)
    ends_on = dt.date.fromisoformat(snapshot["ends_on"])
    ended = ends_on < today or state == LedgerEditionState.SUPERSEDED
    service: dict[str, Any] = {
        "id": service_id,
        "organization_id": organization["id"],
        "name": snapshot["name"],
    }
    if snapshot.get("description"):
        service["description"] = snapshot["description"]
    service["status"] = "inactive" if ended else "active"
    service["eligibility_description"] = eligibility_description(snapshot)
    if snapshot.get("min_age") is not None:
        service["minimum_age"] = snapshot["min_age"]
    if snapshot.get("max_age") is not None:
        service["maximum_age"] = snapshot["max_age"]
    service["application_process"] = _application_process(snapshot)
    service["assured_date"] = local_date(edition.published_at).isoformat()
    service["last_modified"] = _timestamp(edition.published_at)
    service["organization"] = {
        k: organization[k] for k in ("id", "name", "description") if k in organization
    }
    service["service_areas"] = [
        _service_area(service_id, key, code, names.get(code, code), labels.get(code, code))
        for code in snapshot.get("service_area", [])
    ]
    service["schedules"] = [
        {
            "id": hsds_id(f"{key}:schedule"),
            "service_id": service_id,
            "valid_from": snapshot["starts_on"],
            "valid_to": snapshot["ends_on"],
            "description": f"项目期限：{snapshot['starts_on']} 至 {snapshot['ends_on']}",
        }
    ]
    contacts = _contacts(snapshot, service_id, key)
    if contacts:
        service["contacts"] = contacts
    phones = [p for c in contacts for p in c.get("phones", [])]
    if phones:
        service["phones"] = phones
    budget = snapshot.get("budget_fen")
    service["funding"] = [
        {
            "id": hsds_id(f"{key}:funding"),
            "service_id": service_id,
            "source": (
                f"资金来源：{snapshot['organization_name']}"
                + (f"；项目预算 {yuan(budget)} 元（人民币，{CURRENCY}）" if budget else "")
            ),
        }
    ]
    service["attributes"] = _service_attributes(snapshot, service_id, key)
    return service


def _service_area(service_id: str, key: str, code: str, name: str, label: str) -> dict[str, Any]:
    area_id = hsds_id(f"{key}:area:{code}")
    return {
        "id": area_id,
        "service_id": service_id,
        "name": label,
        "description": f"{label}全域（统计用区划代码 {code}），含其下辖各地",
        "attributes": [_attribute(area_id, "service_area", f"{key}:area:{code}", REGIONS, code,
                                  name)],
    }  # fmt: skip


def _contacts(snapshot: Mapping[str, Any], service_id: str, key: str) -> list[dict[str, Any]]:
    """The project's contact; for a local resource, the station answerable for it (the
    edition keeps no phone of a local giver)."""
    contact_id = hsds_id(f"{key}:contact")
    if snapshot.get("is_local"):
        station = snapshot.get("responsible_station_name")
        if not station:
            return []
        return [{"id": contact_id, "service_id": service_id, "name": station,
                 "title": "负责服务站"}]  # fmt: skip
    name, phone = snapshot.get("contact_name"), snapshot.get("contact_phone")
    if not name and not phone:
        return []
    contact: dict[str, Any] = {"id": contact_id, "service_id": service_id}
    if name:
        contact["name"] = name
    if phone:
        contact["phones"] = [
            {
                "id": hsds_id(f"{key}:phone"),
                "service_id": service_id,
                "contact_id": contact_id,
                "number": phone,
            }
        ]
    return [contact]


def _service_attributes(
    snapshot: Mapping[str, Any], service_id: str, key: str
) -> list[dict[str, Any]]:
    attributes = [
        _attribute(service_id, "service", key, taxonomy, code)
        for field, taxonomy in _SERVICE_TAXONOMIES
        for code in snapshot.get(field) or []
    ]
    amount = snapshot.get("amount_per_beneficiary_fen")
    if amount is not None:
        attributes.append(
            _attribute(service_id, "service", key, FIGURES, "amount_per_beneficiary",
                       value=yuan(amount, places=2))
        )  # fmt: skip
    attributes.append(
        _attribute(service_id, "service", key, FIGURES, "quota", value=str(snapshot["quota"]))
    )
    return attributes


def _attribute(
    link_id: str,
    link_entity: str,
    key: str,
    taxonomy: Taxonomy,
    code: str,
    name: str | None = None,
    value: str | None = None,
) -> dict[str, Any]:
    term = taxonomy.term(code, name)
    attribute: dict[str, Any] = {
        "id": hsds_id(f"{key}:attribute:{taxonomy.key}:{code}"),
        "link_id": link_id,
        "link_entity": link_entity,
        "taxonomy_term_id": term["id"],
        "taxonomy_term": term,
    }
    if value is not None:
        attribute["value"] = value
    return attribute


def eligibility_description(snapshot: Mapping[str, Any]) -> str:
    """The entry's eligibility rules in one Chinese sentence, in the order of
    :data:`_ELIGIBILITY` (``不限。`` without any)."""
    catalogue = shipped_catalogue()
    parts: list[str] = []
    for field in _ELIGIBILITY:
        if field == "age":
            low, high = snapshot.get("min_age"), snapshot.get("max_age")
            if low is not None and high is not None:
                parts.append(f"年龄 {low}–{high} 岁")
            elif low is not None or high is not None:
                parts.append(f"年龄 {low} 岁及以上" if high is None else f"年龄 {high} 岁及以下")
        elif field == "max_income_per_head_fen":
            if snapshot.get(field):
                parts.append(f"家庭月人均收入不超过 {yuan(snapshot[field])} 元")
        elif field == "max_disability_grade":
            if snapshot.get(field):
                parts.append(f"残疾等级 {snapshot[field]} 级及以上")
        elif codes := snapshot.get(field):
            if field == "conditions":
                names = [catalogue.label(c) if c in catalogue else c for c in codes]
            else:
                known = _vocabulary(field).labels()
                names = [known.get(c, c) for c in codes]
            parts.append(f"{PROJECT[field].label}：{'、'.join(names)}")
    return "；".join(parts) + "。" if parts else "不限。"


def _application_process(snapshot: Mapping[str, Any]) -> str:
    provider = "提供方" if snapshot.get("is_local") else "慈善组织"
    text = (
        "由乡镇（街道）综合救助服务站或民政部门核实困难家庭情况后，经慈善帮扶资源对接平台转介；"
        f"{provider}在 {snapshot.get('response_days', 7)} 天内答复"
    )
    if snapshot.get("accepts_simplified"):
        text += "；接受简化程序"
    return text + "。"


def yuan(fen: int, places: int | None = None) -> str:
    """An amount in fen as yuan: ``200000`` → ``2000``, ``150`` → ``1.50``; ``places`` fixes
    the decimals (``2000.00``)."""
    amount = Decimal(fen) / 100
    if places is not None:
        return f"{amount:.{places}f}"
    return f"{amount:.0f}" if amount == amount.to_integral_value() else f"{amount:.2f}"


def _timestamp(moment: dt.datetime) -> str:
    """An aware moment as HSDS writes ``last_modified``: UTC, milliseconds, ``Z``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def hsds_files(export: HsdsExport) -> dict[str, bytes]:
    """The files of an export by name (:data:`FILES`), UTF-8 JSON with Chinese as is."""
    documents: dict[str, Any] = {
        "edition.json": {"hsds_version": HSDS_VERSION, "edition": export.edition},
        "organizations.json": export.organizations,
        "services.json": export.services,
    }
    return {
        name: (json.dumps(documents[name], ensure_ascii=False, indent=2) + "\n").encode()
        for name in FILES
    }


def hsds_problems(export: HsdsExport) -> list[str]:
    """Where the export breaks the HSDS 3.0 JSON schemas (``SCHEMA_DIR``), one line each
    (``services.json[3].service_areas[0].id: …``), and ids two records share; empty when it
    conforms. Formats are checked as far as ``jsonschema`` can (``uuid`` always). Needs
    ``jsonschema`` (the dev extra); the web app never calls this."""
    service, organization = _validators()
    checks: list[tuple[str, Validator, Any]] = [
        (f"organizations.json[{i}]", organization, o) for i, o in enumerate(export.organizations)
    ]
    # The compiled organization schema embeds services; the modular one leaves them out.
    checks += [
        (f"organizations.json[{i}].services[{j}]", service, s)
        for i, o in enumerate(export.organizations)
        for j, s in enumerate(o.get("services", []))
    ]
    checks += [(f"services.json[{i}]", service, s) for i, s in enumerate(export.services)]
    problems = [
        f"{where}{_path(error.absolute_path)}: {error.message}"
        for where, validator, instance in checks
        for error in validator.iter_errors(instance)
    ]
    problems += _duplicate_ids(export)
    return problems


@functools.cache
def _validators() -> tuple[Validator, Validator]:
    """Validators of a service and of an organization, each ``$ref`` (``phone.json``) resolved
    to the file of that name in ``SCHEMA_DIR``."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resources = [
        (path.name, Resource.from_contents(json.loads(path.read_text("utf-8")), DRAFT202012))
        for path in sorted(SCHEMA_DIR.glob("*.json"))
    ]
    registry: Registry[Any] = Registry().with_resources(resources)

    def validator(name: str) -> Validator:
        return Draft202012Validator(
            registry[name].contents,
            registry=registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )

    return validator("service.json"), validator("organization.json")


def _path(parts: Iterable[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _duplicate_ids(export: HsdsExport) -> list[str]:
    """Two different records of one kind sharing an id (the schemas cannot see it)."""
    seen: dict[str, str] = {}
    problems: list[str] = []
    for kind, records in (("organizations", export.organizations),
                          ("services", export.services)):  # fmt: skip
        for record in records:
            if record["id"] in seen:
                problems.append(f"{kind}.json: id {record['id']} 重复（{record['name']}）")
            seen[record["id"]] = record["name"]
    return problems
