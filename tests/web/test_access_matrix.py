"""Who may do what: every endpoint × every role × own/other scope, with the exact answer.

``ROWS`` is the access-control contract of the app. A test walks the URL map and fails for any
(rule, method) without a row, so an endpoint added later cannot ship without an access decision
written down here. Only ``static`` is left out (public files, no data).

The roles are played by demo users: ``admin``; civil affairs ``ca_conghua`` (从化区民政局);
station staff ``station_a`` (温泉镇站, 从化); charity staff ``charity_f`` (从化区荔乡慈善会).
"own" is a record within that user's reach — station_a's household, a referral of a 从化
household to one of charity_f's projects, a need charity_f has taken on — and "other" the same
kind of record out of reach: station_c's household in 乳源, a referral to charity_h's project, a
need charity_f never took on. "neighbour" is a record next door, in the same county: station_b's
household, charity_g's project, whom civil affairs of 从化 reach and station_a and charity_f do
not. Administrators reach everything and are shown the "other" record.

The rules the table states:

- API: anonymous 401; a role that may not use a capability at all 403; a record outside the
  caller's scope 404, never 403, so ids cannot be probed. Where the record is public to the
  caller but the step is not theirs (reviewing a charity another department registered) 403.
- Pages: anonymous is sent to ``/login``; otherwise as the API. Page forms that report a refusal
  as a message on the page they return to are asserted as a redirect carrying that message
  (``refused(...)``); a completed step as a redirect with a success message (``done()``).
- Mutations: the cell checks the authorization decision. API cells send a valid minimal body —
  the arguments are parsed before the service decides, so an empty body would answer 422 for
  every role — and allowed cells expect 2xx. Page cells send the CSRF token and, where the form
  is checked after the authorization, nothing more: allowed cells then expect the form's 422.
  Each row's ``sends`` says which.

Speed: the records the matrix needs beyond the demo (referrals in every state, ledger editions,
双向转介, notifications, draft and submitted projects, a pending charity) are made once per
module through the services, tokens and sign-ins once per role, all in one transaction; each
cell runs in a savepoint that is rolled back afterwards.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from models import Household, MonitoringWarning, Notification, Organization, Referral, clock
from models.base import utcnow
from models.enums import (
    AttachmentKind,
    CompanionRole,
    GovAidType,
    LocalProviderKind,
    MonitoringSource,
    Role,
)
from models.session import make_session_factory
from tests.helpers import (
    DEMO_PASSWORD,
    TEST_DATA_KEY,
    TEST_SECRET_KEY,
    bearer,
    csrf_token,
    get_user,
    need_of,
    project_named,
    sign_in,
)
from web.services.allocation import create_plan
from web.services.crypto import PersonalDataCipher
from web.services.ledgers import build_edition
from web.services.local_resources import LocalResourceInput, register_local_resource
from web.services.monitoring import deliver_batch
from web.services.notifications import notify
from web.services.organizations import register_organization
from web.services.projects import ProjectInput, register_project, submit_project
from web.services.referrals.attachments import add_attachment
from web.services.referrals.back_referrals import refer_back
from web.services.referrals.followups import FollowUpInput, record_follow_up
from web.services.referrals.pairings import PairingInput, set_up_pairing
from web.services.referrals.workflow import (
    accept_referral,
    approve_referral,
    complete_referral,
    start_referral,
    start_service,
    submit_referral,
)
from web.services.storage import LocalDiskStorage
from web.services.users import create_user

CONGHUA, RUYUAN = "440117000000", "440232000000"
TODAY = clock.today()
PERIOD = clock.period_of(TODAY)

#: Who plays each role.
USERS = {
    "admin": "admin",
    "civil_affairs": "ca_conghua",
    "station_staff": "station_a",
    "charity_staff": "charity_f",
}
ROLES = ("anonymous", *USERS)
SCOPED_ROLES = ("civil_affairs", "station_staff", "charity_staff")

# --- what a cell expects ------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """The answer a cell must get: a status, and for redirects where to and what message.

    ``says`` is text the flashed message (with ``flash``) or else the body must contain.
    """

    status: int
    location: str | None = None
    flash: str | None = None
    says: str | None = None

    def __str__(self) -> str:
        text = str(self.status)
        if self.location:
            text += f" to {self.location.split('?')[0]}"
        if self.flash:
            text += f" with {self.flash} message"
        return text


Cell = int | Expect
Scoped = tuple[Cell, Cell]

LOGIN = Expect(302, location="/login?next=")
TO_HOME = Expect(302, location="/home")
#: The not-found message of every service ("…不存在或您无权查看/修改/处理。").
UNSEEN = "不存在或您无权"
NOT_YOUR_STEP = "您的角色不能执行这一步"
NO_RIGHT = "您无权执行此操作"
COUNTY_ONLY = "只有县（区）民政部门"
STATIONS_ONLY = "只有综合救助服务站（点）工作人员"


def done(says: str | None = None) -> Expect:
    """A page form that did its work: a redirect with a success message."""
    return Expect(302, flash="success", says=says)


def refused(says: str) -> Expect:
    """A page form that refused: a redirect with an error message saying ``says``."""
    return Expect(302, flash="error", says=says)


# --- which record fills a URL ---------------------------------------------------------------


@dataclass(frozen=True)
class Fill:
    """The records of :func:`build_world` that fill a row's placeholders in each scope;
    ``own`` may differ by role (a charity's own organization, a department's own
    registration)."""

    own: str | dict[str, str]
    other: str
    scopes: tuple[str, ...] = ("own", "other")

    def record(self, role: str, scope: str) -> str:
        if scope == "other":
            return self.other
        return self.own if isinstance(self.own, str) else self.own[role]


def neighbour(record: str) -> Fill:
    """A record in the same county as the users' own, of another station or charity."""
    return Fill(record, record, scopes=("neighbour",))


PLACE = Fill("conghua", "ruyuan")
HOUSEHOLD = Fill("household_a", "household_c")
#: The household with a member or aid record of the other one in the URL.
HOUSEHOLD_CROSSED = Fill("household_a_crossed", "household_c_crossed")
NEED = Fill("need_a", "need_c")
#: A need referred to the charity's project, approved, not yet accepted by it.
NEED_AWAITING = Fill("need_awaiting_a", "need_awaiting_c")
ORGANIZATION = Fill(
    {"civil_affairs": "organization_pending_a", "station_staff": "organization_f",
     "charity_staff": "organization_f"},
    "organization_pending_c",
)  # fmt: skip
DRAFT = Fill("draft_f", "draft_h")
SUBMITTED = Fill("submitted_f", "submitted_h")
VERIFIED = Fill("verified_f", "verified_h")
EDITION = Fill("edition_conghua", "edition_ruyuan")
R_DRAFT = Fill("referral_draft_a", "referral_draft_c")
R_SUBMITTED = Fill("referral_submitted_a", "referral_submitted_c")
R_APPROVED = Fill("referral_approved_a", "referral_approved_c")
#: The referrals in service are pairings (结对帮扶); the accepted ones are not yet.
R_ACCEPTED = Fill("referral_accepted_a", "referral_accepted_c")
R_SERVICE = Fill("referral_in_service_a", "referral_in_service_c")
#: Completed, its follow-up (回访) not yet recorded; and one whose follow-up said nothing
#: arrived, flagged to the office.
R_COMPLETED = Fill("referral_completed_a", "referral_completed_c")
R_FLAGGED = Fill("referral_flagged_a", "referral_flagged_c")
#: A completed referral's receipt (the charity's), and its follow-up's signed confirmation
#: (the station's, which the charity never sees).
ATTACHMENT = Fill("attachment_a", "attachment_c")
FOLLOW_UP_ATTACHMENT = Fill("follow_up_attachment_a", "follow_up_attachment_c")
BACK = Fill("back_a", "back_c")
NOTIFICATION = Fill({role: f"notification_{role}" for role in USERS}, "notification_other")
#: A verified charity registered with the office's own county, and one registered elsewhere.
VERIFIED_ORGANIZATION = Fill("organization_f", "organization_h")
WARNING = Fill("warning_a", "warning_c")
NEAR_PLACE = neighbour("lianma")
NEAR_HOUSEHOLD = neighbour("household_b")
NEAR_NEED = neighbour("need_b")
NEAR_REFERRAL = neighbour("referral_in_service_b")
NEAR_DRAFT = neighbour("draft_g")
#: A local resource (本地资源) of 温泉镇 (station_a's township), and one of 必背镇 (乳源).
LOCAL = Fill("local_a", "local_c")
#: A draft allocation plan of 从化区 (made by the command line, so the office may approve it),
#: and one of 乳源.
PLAN = Fill("plan_a", "plan_c")

# --- what a cell sends -----------------------------------------------------------------------

Values = dict[str, Any]
Body = dict[str, Any] | Callable[[Values], dict[str, Any]]

SENDS_BODY = "a valid minimal body: allowed → 2xx"
SENDS_CSRF = "the CSRF token only: allowed → the form's 422"
SENDS_FORM = "a valid form: allowed → its success"
SENDS_FILE = "a file that is not a workbook: allowed → 422"
SENDS_BAD_BATCH = "a batch whose one record is bad: allowed → 422"
BAD_BATCH = {"source": "medical_insurance", "delivered_on": "2026-12-01", "records": [{}]}


def garbage_file(_: Values) -> dict[str, Any]:
    return {"file": (io.BytesIO(b"not a workbook"), "upload.xlsx")}


#: The smallest file an attachment may be: a PDF is kept as it came.
RECEIPT = b"%PDF-1.4\n%%EOF\n"


def receipt(_: Values) -> dict[str, Any]:
    """A completion's receipt as an upload form carries it."""
    return {"file": (io.BytesIO(RECEIPT), "收据.pdf"), "kind": "completion", "caption": "收据"}


PROJECT_BODY = {
    "name": "暖冬行动·困难老人棉被发放", "domains": ["living"], "service_area": [CONGHUA],
    "quota": 10, "starts_on": TODAY.isoformat(),
    "ends_on": (TODAY + dt.timedelta(days=180)).isoformat(),
}  # fmt: skip
LOCAL_BODY = {
    **PROJECT_BODY, "service_area": ["440117103000"], "provider_name": "温泉镇爱心商户联合会",
    "provider_kind": "merchant", "contact_name": "黄炳坤", "contact_phone": "13902261187",
}  # fmt: skip
REGISTRATION = {
    "name": "从化区矩阵慈善服务中心", "uscc": "53440117MJ0000902K",
    "registered_region_code": CONGHUA,
    "password": "matrix-charity-2026", "display_name": "黄志明",
}  # fmt: skip


def step(**extra: Any) -> Callable[[Values], dict[str, Any]]:
    """A referral step's body: the version the caller read, and ``extra``."""
    return lambda v: {"version": v["version"], **extra}


def page_step(v: Values) -> dict[str, Any]:
    """Every field any step's form needs; each step reads its own."""
    return {
        "version": v["version"], "reason": "材料需补充", "decline_reason": "no_capacity",
        "delivered_amount": "100",
    }  # fmt: skip


def pairing(v: Values) -> dict[str, Any]:
    """A pairing with a member of the referral's household, as the API takes it."""
    return {
        "companion_name": "陈淑芬", "companion_role": "caring_mother", "member_id": v["member"],
        "starts_on": TODAY.isoformat(), "ends_on": (TODAY + dt.timedelta(days=365)).isoformat(),
        "visits_per_month": 2,
    }  # fmt: skip


def page_pairing(v: Values) -> dict[str, Any]:
    """The same pairing as the referral page's form posts it."""
    return {key: str(value) for key, value in pairing(v).items()}


PAIRING_END = {"ended_on": TODAY.isoformat(), "reason": "家庭搬迁到市区居住"}
PAGE_PAIRING_END = {"ended_on": TODAY.isoformat(), "end_reason": "家庭搬迁到市区居住"}

FOLLOW_UP_BODY = {"received": True, "as_recorded": True, "satisfaction": 4, "need_met": True}
FOLLOW_UP_FORM = {"received": "yes", "as_recorded": "yes", "satisfaction": "4", "need_met": "yes"}


# --- the table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One endpoint and method, and the answer each role gets: a single cell, or
    (own, other) where the scope decides."""

    method: str
    path: str
    anon: Cell
    admin: Cell | Scoped
    ca: Cell | Scoped
    st: Cell | Scoped
    ch: Cell | Scoped
    fill: Fill | None = None
    body: Body | None = None
    sends: str = ""
    label: str = ""

    def expected(self, role: str) -> Cell | Scoped:
        field = {"anonymous": "anon", "admin": "admin", "civil_affairs": "ca",
                 "station_staff": "st", "charity_staff": "ch"}[role]  # fmt: skip
        return getattr(self, field)


API_ROWS = [
    # Signing in and out, and who I am.
    Row("POST", "/api/v1/auth/token", anon=201, admin=201, ca=201, st=201, ch=201,
        body=lambda v: {"username": v["username"], "password": DEMO_PASSWORD},
        sends=SENDS_BODY),
    Row("DELETE", "/api/v1/auth/token", anon=401, admin=204, ca=204, st=204, ch=204),
    Row("GET", "/api/v1/me", anon=401, admin=200, ca=200, st=200, ch=200),
    # The API's description is public: it holds no data.
    Row("GET", "/api/v1/openapi.json", anon=200, admin=200, ca=200, st=200, ch=200),
    # Stations: civil affairs keep them; a station sees its own; charities none.
    Row("GET", "/api/v1/stations", anon=401, admin=200, ca=200, st=200, ch=200),
    Row("POST", "/api/v1/stations", anon=401, admin=201, ca=(201, 422), st=403, ch=403,
        fill=PLACE, sends=SENDS_BODY, label="township of the region",
        body=lambda v: {"name": "矩阵综合救助服务站", "kind": "township",
                        "region_code": v["township"]}),
    Row("GET", "/api/v1/stations/{station}", anon=401, admin=200, ca=(200, 404),
        st=(200, 404), ch=404, fill=PLACE),
    Row("PUT", "/api/v1/stations/{station}", anon=401, admin=200, ca=(200, 404), st=403,
        ch=403, fill=PLACE, body={"name": "综合救助服务站（更名）"}, sends=SENDS_BODY),
    Row("GET", "/api/v1/stations/{station}/worklist", anon=401, admin=200, ca=(200, 404),
        st=(200, 404), ch=403, fill=PLACE),
    Row("GET", "/api/v1/stations/{station}/worklist", anon=401, admin=200, ca=200, st=404,
        ch=403, fill=NEAR_PLACE),
    # The needs ledger: station and civil-affairs staff only; a charity never reads it whole.
    Row("GET", "/api/v1/households", anon=401, admin=200, ca=200, st=200, ch=403),
    Row("POST", "/api/v1/households/search", anon=401, admin=200, ca=200, st=200, ch=403,
        body={"q": "钟伟明"}, sends=SENDS_BODY),
    Row("POST", "/api/v1/households", anon=401, admin=201, ca=(201, 404), st=(201, 404),
        ch=403, fill=PLACE, sends=SENDS_BODY, label="station_id of the place",
        body=lambda v: {"station_id": v["station"], "region_code": v["station_region"],
                        "members": [{"name": "罗志勇", "relation": "head"}]}),
    Row("GET", "/api/v1/households/export.xlsx?station_id={station}", anon=401, admin=200,
        ca=(200, 404), st=(200, 404), ch=403, fill=PLACE),
    Row("GET", "/api/v1/households/{household}", anon=401, admin=200, ca=(200, 404),
        st=(200, 404), ch=403, fill=HOUSEHOLD),
    Row("GET", "/api/v1/households/{household}", anon=401, admin=200, ca=200, st=404, ch=403,
        fill=NEAR_HOUSEHOLD),
    Row("GET", "/api/v1/households/{household}/dossier", anon=401, admin=200, ca=(200, 404),
        st=(200, 404), ch=403, fill=HOUSEHOLD),
    Row("GET", "/api/v1/households/{household}/dossier", anon=401, admin=200, ca=200, st=404,
        ch=403, fill=NEAR_HOUSEHOLD),
    Row("PUT", "/api/v1/households/{household}", anon=401, admin=200, ca=(200, 404),
        st=(200, 404), ch=403, fill=HOUSEHOLD, sends=SENDS_BODY,
        body=lambda v: {"region_code": v["region"], "members": v["members"]}),
    Row("PUT", "/api/v1/households/{household}", anon=401, admin=200, ca=200, st=404, ch=403,
        fill=NEAR_HOUSEHOLD, sends=SENDS_BODY,
        body=lambda v: {"region_code": v["region"], "members": v["members"]}),
    Row("POST", "/api/v1/households/{household}/consent", anon=401, admin=200, ca=(200, 404),
        st=(200, 404), ch=403, fill=HOUSEHOLD, sends=SENDS_BODY,
        body={"on": TODAY.isoformat(), "scope": "困难情况核实、慈善帮扶转介"}),
    Row("DELETE", "/api/v1/households/{household}/consent", anon=401, admin=200,
        ca=(200, 404), st=(200, 404), ch=403, fill=HOUSEHOLD),
    Row("POST", "/api/v1/households/{household}/members/{member}/reveal", anon=401, admin=200,
        ca=(200, 404), st=(200, 404), ch=403, fill=HOUSEHOLD),
    Row("POST", "/api/v1/households/{household}/members/{member}/reveal", anon=401, admin=404,
        ca=404, st=404, ch=403, fill=HOUSEHOLD_CROSSED, label="member of the other household"),
    Row("POST", "/api/v1/households/{household}/phone/reveal", anon=401, admin=200,
        ca=(200, 404), st=(200, 404), ch=403, fill=HOUSEHOLD),
    Row("POST", "/api/v1/households/{household}/aid", anon=401, admin=201, ca=(201, 404),
        st=(201, 404), ch=403, fill=HOUSEHOLD, sends=SENDS_BODY,
        body={"aid_type": "dibao_allowance", "amount_fen": 65_000,
              "period_start_on": TODAY.isoformat()}),
    Row("DELETE", "/api/v1/households/{household}/aid/{aid}", anon=401, admin=204,
        ca=(204, 404), st=(204, 404), ch=403, fill=HOUSEHOLD),
    Row("DELETE", "/api/v1/households/{household}/aid/{aid}", anon=401, admin=404, ca=404,
        st=404, ch=403, fill=HOUSEHOLD_CROSSED, label="aid of the other household"),
    Row("GET", "/api/v1/households/{household}/needs", anon=401, admin=200, ca=(200, 404),
        st=(200, 404), ch=403, fill=HOUSEHOLD),
    Row("POST", "/api/v1/households/{household}/needs", anon=401, admin=201, ca=(201, 404),
        st=(201, 404), ch=403, fill=HOUSEHOLD, sends=SENDS_BODY,
        body={"domain": "living", "text": "冬季缺少棉被和取暖用品"}),
    # Needs: a charity sees only those it has taken on (accepted), never before.
    Row("GET", "/api/v1/needs", anon=401, admin=200, ca=200, st=200, ch=200),
    Row("GET", "/api/v1/needs/{need}", anon=401, admin=200, ca=(200, 404), st=(200, 404),
        ch=(200, 404), fill=NEED),
    Row("GET", "/api/v1/needs/{need}", anon=401, admin=200, ca=(200, 404), st=(200, 404),
        ch=404, fill=NEED_AWAITING, label="approved, not yet accepted"),
    Row("GET", "/api/v1/needs/{need}", anon=401, admin=200, ca=200, st=404, ch=404,
        fill=NEAR_NEED, label="in service with charity_g"),
    Row("POST", "/api/v1/needs/{need}/status", anon=401, admin=200, ca=(200, 404),
        st=(200, 404), ch=403, fill=NEED, sends=SENDS_BODY,
        body={"status": "closed", "reason": "已由其他渠道解决"}),
    Row("PUT", "/api/v1/needs/{need}/public-summary", anon=401, admin=200, ca=(200, 404),
        st=(200, 404), ch=403, fill=NEED, sends=SENDS_BODY,
        body={"public_summary": "户主需长期透析，医保报销后仍有较大缺口。"}),
    Row("GET", "/api/v1/needs/{need}/matches", anon=401, admin=200, ca=(200, 404),
        st=(200, 404), ch=403, fill=NEED),
    # Only the parties of the workflow start referrals: an administrator is not one.
    Row("POST", "/api/v1/needs/{need}/referrals", anon=401, admin=403, ca=(201, 404),
        st=(201, 404), ch=403, fill=NEED, sends=SENDS_BODY,
        body=lambda v: {"project_id": v["project"]}),
    # Charities: anyone may register one; verified ones are public; the registering
    # department reviews (another department sees the registration but may not review it).
    Row("GET", "/api/v1/organizations", anon=401, admin=200, ca=200, st=200, ch=200),
    Row("POST", "/api/v1/organizations", anon=201, admin=201, ca=201, st=201, ch=201,
        body=REGISTRATION, sends=SENDS_BODY),
    Row("GET", "/api/v1/organizations/{organization}", anon=401, admin=200, ca=200,
        st=(200, 404), ch=(200, 404), fill=ORGANIZATION),
    # A charity's half-year record: its own; an office's, for charities registered in or
    # serving its region (charity_h serves 乳源 only); stations have none.
    Row("GET", "/api/v1/organizations/{organization}/record?period={period}", anon=401,
        admin=200, ca=(200, 404), st=403, ch=(200, 404), fill=VERIFIED_ORGANIZATION),
    # The households a charity served: the same readers as its record, but a station is told
    # the list does not exist (it names households).
    Row("GET", "/api/v1/organizations/{organization}/households-served", anon=401,
        admin=200, ca=(200, 404), st=404, ch=(200, 404), fill=VERIFIED_ORGANIZATION),
    Row("POST", "/api/v1/organizations/{organization}/review", anon=401, admin=200,
        ca=(200, 403), st=(403, 404), ch=(403, 404), fill=ORGANIZATION,
        body={"approve": True}, sends=SENDS_BODY),
    # Projects: a charity registers and keeps its own (another's is "not found", whoever asks);
    # drafts are seen by their charity and by civil affairs; the registering department reviews.
    Row("GET", "/api/v1/projects", anon=401, admin=200, ca=200, st=200, ch=200),
    # Local resources (本地资源): stations register their township's; the county office sees
    # its townships'; a charity sees none (the published ledger names the station instead).
    Row("GET", "/api/v1/local-resources", anon=401, admin=200, ca=200, st=200, ch=200),
    Row("POST", "/api/v1/local-resources", anon=401, admin=403, ca=403, st=201, ch=403,
        body=LOCAL_BODY, sends=SENDS_BODY),
    Row("GET", "/api/v1/local-resources/{project}", anon=401, admin=200, ca=(200, 404),
        st=(200, 404), ch=404, fill=LOCAL),
    Row("PATCH", "/api/v1/local-resources/{project}", anon=401, admin=403, ca=403,
        st=(200, 404), ch=403, fill=LOCAL, body={"quota": 20}, sends=SENDS_BODY),
    Row("POST", "/api/v1/local-resources/{project}/withdraw", anon=401, admin=403, ca=403,
        st=(200, 404), ch=403, fill=LOCAL, body={"reason": "商户歇业"}, sends=SENDS_BODY),
    Row("POST", "/api/v1/projects", anon=401, admin=403, ca=403, st=403, ch=201,
        body=PROJECT_BODY, sends=SENDS_BODY),
    # Allocation plans (联合分配): the office's own; an administrator reads but takes no step.
    Row("GET", "/api/v1/allocation-plans", anon=401, admin=200, ca=200, st=403, ch=403),
    Row("POST", "/api/v1/allocation-plans", anon=401, admin=403, ca=(201, 403), st=403,
        ch=403, fill=PLACE, body=lambda v: {"region_code": v["county"]}, sends=SENDS_BODY,
        label="the county of the place"),
    Row("GET", "/api/v1/allocation-plans/{plan}", anon=401, admin=200, ca=(200, 404), st=403,
        ch=403, fill=PLAN),
    Row("PUT", "/api/v1/allocation-plans/{plan}/weights", anon=401, admin=403, ca=(200, 404),
        st=403, ch=403, fill=PLAN, body={"urgent": 2}, sends=SENDS_BODY),
    Row("PATCH", "/api/v1/allocation-plans/{plan}/lines/{line}", anon=401, admin=403,
        ca=(200, 404), st=403, ch=403, fill=PLAN, body={"project_id": None}, sends=SENDS_BODY),
    Row("POST", "/api/v1/allocation-plans/{plan}/lines", anon=401, admin=403, ca=(422, 404),
        st=403, ch=403, fill=PLAN, body={"need_id": 2**31 - 1, "project_id": 1},
        sends="a need not in the plan: allowed → 422"),
    Row("POST", "/api/v1/allocation-plans/{plan}/approve", anon=401, admin=403,
        ca=(200, 404), st=403, ch=403, fill=PLAN),
    Row("GET", "/api/v1/projects/{project}", anon=401, admin=200, ca=200, st=404,
        ch=(200, 404), fill=DRAFT, label="draft"),
    Row("GET", "/api/v1/projects/{project}", anon=401, admin=200, ca=200, st=200, ch=200,
        fill=VERIFIED, label="verified"),
    Row("GET", "/api/v1/projects/{project}", anon=401, admin=200, ca=200, st=404, ch=404,
        fill=NEAR_DRAFT, label="draft"),
    Row("PUT", "/api/v1/projects/{project}", anon=401, admin=200, ca=404, st=404,
        ch=(200, 404), fill=DRAFT, body=PROJECT_BODY, sends=SENDS_BODY),
    Row("PUT", "/api/v1/projects/{project}", anon=401, admin=200, ca=404, st=404, ch=404,
        fill=NEAR_DRAFT, body=PROJECT_BODY, sends=SENDS_BODY),
    Row("POST", "/api/v1/projects/{project}/submit", anon=401, admin=200, ca=404, st=404,
        ch=(200, 404), fill=DRAFT),
    Row("POST", "/api/v1/projects/{project}/review", anon=401, admin=200, ca=(200, 403),
        st=404, ch=(403, 404), fill=SUBMITTED, body={"approve": True}, sends=SENDS_BODY),
    Row("POST", "/api/v1/projects/{project}/withdraw", anon=401, admin=200, ca=404, st=404,
        ch=(200, 404), fill=VERIFIED, body={"reason": "资金到位延迟，暂停受理"},
        sends=SENDS_BODY),
    Row("POST", "/api/v1/projects/{project}/confirm", anon=401, admin=200, ca=404, st=404,
        ch=(200, 404), fill=VERIFIED),
    # Ledgers are handed down to everyone; only a department publishes its own.
    Row("GET", "/api/v1/ledgers", anon=401, admin=200, ca=200, st=200, ch=200),
    Row("POST", "/api/v1/ledgers", anon=401, admin=201, ca=(201, 403), st=403, ch=403,
        fill=PLACE, label="the place's county", sends=SENDS_BODY,
        body=lambda v: {"region_code": v["county"], "period": PERIOD}),
    Row("GET", "/api/v1/ledgers/current", anon=401, admin=200, ca=200, st=200, ch=200),
    Row("GET", "/api/v1/ledgers/upcoming", anon=401, admin=200, ca=200, st=200, ch=200),
    Row("GET", "/api/v1/ledgers/{edition}", anon=401, admin=200, ca=200, st=200, ch=200,
        fill=EDITION),
    Row("GET", "/api/v1/ledgers/{edition}/diff", anon=401, admin=200, ca=200, st=200, ch=200,
        fill=EDITION),
    Row("GET", "/api/v1/ledgers/{edition}/export.xlsx", anon=401, admin=200, ca=200, st=200,
        ch=200, fill=EDITION),
    Row("GET", "/api/v1/ledgers/{edition}/hsds", anon=401, admin=200, ca=200, st=200, ch=200,
        fill=EDITION),
    # Imports: projects by charities and the departments above them; households into the
    # caller's own station (civil affairs and admins have none, so none is found).
    Row("POST", "/api/v1/imports/projects", anon=401, admin=422, ca=422, st=403, ch=422,
        body=garbage_file, sends=SENDS_FILE),
    Row("GET", "/api/v1/imports/projects/template.xlsx", anon=401, admin=200, ca=200, st=200,
        ch=200),
    Row("POST", "/api/v1/imports/households", anon=401, admin=404, ca=404, st=422, ch=403,
        body=garbage_file, sends=SENDS_FILE),
    Row("GET", "/api/v1/imports/households/template.xlsx", anon=401, admin=200, ca=200,
        st=200, ch=200),
    # Referrals: each step belongs to one party; a referral out of scope is not found; a
    # charity sees a referral only once civil affairs approved it.
    Row("GET", "/api/v1/referrals", anon=401, admin=200, ca=200, st=200, ch=200),
    Row("POST", "/api/v1/referrals", anon=401, admin=403, ca=(201, 404), st=(201, 404),
        ch=403, fill=NEED, sends=SENDS_BODY,
        body=lambda v: {"need_id": v["need"], "project_id": v["project"]}),
    Row("POST", "/api/v1/referrals/batch-approve", anon=401, admin=403,
        ca=(Expect(200, says="approved"), Expect(200, says="not_found")), st=403, ch=403,
        fill=R_SUBMITTED, sends=SENDS_BODY,
        body=lambda v: {"items": [{"id": v["referral"], "version": v["version"]}]}),
    Row("GET", "/api/v1/referrals/{referral}", anon=401, admin=200, ca=(200, 404),
        st=(200, 404), ch=(200, 404), fill=R_SERVICE),
    Row("GET", "/api/v1/referrals/{referral}", anon=401, admin=200, ca=200, st=404, ch=404,
        fill=NEAR_REFERRAL, label="in service"),
    Row("GET", "/api/v1/referrals/{referral}", anon=401, admin=200, ca=(200, 404),
        st=(200, 404), ch=404, fill=R_SUBMITTED, label="before approval"),
    Row("POST", "/api/v1/referrals/{referral}/submit", anon=401, admin=403, ca=(200, 404),
        st=(200, 404), ch=403, fill=R_DRAFT, body=step(), sends=SENDS_BODY),
    Row("POST", "/api/v1/referrals/{referral}/approve", anon=401, admin=403, ca=(200, 404),
        st=403, ch=403, fill=R_SUBMITTED, body=step(), sends=SENDS_BODY),
    Row("POST", "/api/v1/referrals/{referral}/return", anon=401, admin=403, ca=(200, 404),
        st=403, ch=403, fill=R_SUBMITTED, body=step(reason="请补充收入证明"),
        sends=SENDS_BODY),
    Row("POST", "/api/v1/referrals/{referral}/accept", anon=401, admin=403, ca=403, st=403,
        ch=(200, 404), fill=R_APPROVED, body=step(), sends=SENDS_BODY),
    Row("POST", "/api/v1/referrals/{referral}/decline", anon=401, admin=403, ca=403, st=403,
        ch=(200, 404), fill=R_APPROVED, body=step(reason="no_capacity"), sends=SENDS_BODY),
    Row("POST", "/api/v1/referrals/{referral}/start", anon=401, admin=403, ca=403, st=403,
        ch=(200, 404), fill=R_ACCEPTED, body=step(), sends=SENDS_BODY),
    Row("POST", "/api/v1/referrals/{referral}/complete", anon=401, admin=403, ca=403, st=403,
        ch=(200, 404), fill=R_SERVICE, body=step(delivered_amount_fen=200_000),
        sends=SENDS_BODY),
    Row("POST", "/api/v1/referrals/{referral}/cancel", anon=401, admin=403, ca=(200, 404),
        st=(200, 404), ch=403, fill=R_APPROVED, body=step(reason="家庭已另获帮扶"),
        sends=SENDS_BODY),
    Row("GET", "/api/v1/referrals/{referral}/episodes", anon=401, admin=200, ca=(200, 404),
        st=(200, 404), ch=(200, 404), fill=R_SERVICE),
    Row("POST", "/api/v1/referrals/{referral}/episodes", anon=401, admin=403, ca=403, st=403,
        ch=(201, 404), fill=R_SERVICE, sends=SENDS_BODY,
        body={"on": TODAY.isoformat(), "kind": "visiting_care"}),
    Row("GET", "/api/v1/referrals/{referral}/contact", anon=401, admin=403, ca=403, st=403,
        ch=(200, 404), fill=R_SERVICE),
    Row("GET", "/api/v1/referrals/{referral}/contact", anon=401, admin=403, ca=403, st=403,
        ch=404, fill=NEAR_REFERRAL, label="in service"),
    Row("GET", "/api/v1/referrals/{referral}/contact", anon=401, admin=403, ca=403, st=403,
        ch=(403, 404), fill=R_APPROVED, label="approved, not yet accepted"),
    Row("POST", "/api/v1/referrals/{referral}/back-referral", anon=401, admin=403, ca=403,
        st=403, ch=(201, 404), fill=R_SERVICE, sends=SENDS_BODY,
        body={"aid_types": ["dibao_allowance"], "note": "家庭收入明显下降，可能符合低保"}),
    # 回访: the household's own station records it (another station's is not found); the
    # office resolves a flagged one; a charity reads whether it arrived and the satisfaction.
    Row("GET", "/api/v1/referrals/{referral}/follow-up", anon=401, admin=200, ca=(200, 404),
        st=(200, 404), ch=(200, 404), fill=R_FLAGGED),
    Row("POST", "/api/v1/referrals/{referral}/follow-up", anon=401, admin=403, ca=403,
        st=(200, 404), ch=403, fill=R_COMPLETED, body=FOLLOW_UP_BODY, sends=SENDS_BODY),
    Row("POST", "/api/v1/referrals/{referral}/follow-up/resolve", anon=401, admin=403,
        ca=(200, 404), st=403, ch=403, fill=R_FLAGGED,
        body={"resolution": "已联系慈善会核实，款项已补发"}, sends=SENDS_BODY),
    # 结对帮扶: the charity answering the referral sets it up and ends it; the station and the
    # office read it; another station, charity or office finds nothing.
    Row("GET", "/api/v1/referrals/{referral}/pairing", anon=401, admin=200, ca=(200, 404),
        st=(200, 404), ch=(200, 404), fill=R_SERVICE),
    Row("GET", "/api/v1/referrals/{referral}/pairing", anon=401, admin=200, ca=200, st=404,
        ch=404, fill=NEAR_REFERRAL, label="in service"),
    Row("POST", "/api/v1/referrals/{referral}/pairing", anon=401, admin=403, ca=403, st=403,
        ch=(201, 404), fill=R_ACCEPTED, body=pairing, sends=SENDS_BODY),
    Row("POST", "/api/v1/referrals/{referral}/pairing/end", anon=401, admin=403, ca=403,
        st=403, ch=(200, 404), fill=R_SERVICE, body=PAIRING_END, sends=SENDS_BODY),
    # Attachments: the provider attaches a completion's receipt; whoever sees the referral
    # lists and downloads them, except that a charity never sees the follow-up's.
    Row("GET", "/api/v1/referrals/{referral}/attachments", anon=401, admin=200,
        ca=(200, 404), st=(200, 404), ch=(200, 404), fill=R_COMPLETED),
    Row("POST", "/api/v1/referrals/{referral}/attachments", anon=401, admin=403, ca=403,
        st=403, ch=(201, 404), fill=R_COMPLETED, body=receipt, sends=SENDS_BODY),
    Row("GET", "/api/v1/attachments/{attachment}", anon=401, admin=200, ca=(200, 404),
        st=(200, 404), ch=(200, 404), fill=ATTACHMENT),
    Row("GET", "/api/v1/attachments/{attachment}", anon=401, admin=200, ca=(200, 404),
        st=(200, 404), ch=404, fill=FOLLOW_UP_ATTACHMENT, label="a follow-up's"),
    # Each user's own inbox; 双向转介 are handled by the office covering the household.
    Row("GET", "/api/v1/notifications", anon=401, admin=200, ca=200, st=200, ch=200),
    Row("POST", "/api/v1/notifications/read", anon=401, admin=200, ca=200, st=200, ch=200,
        body={}, sends=SENDS_BODY),
    Row("GET", "/api/v1/back-referrals", anon=401, admin=200, ca=200, st=200, ch=200),
    Row("POST", "/api/v1/back-referrals/{back}/handle", anon=401, admin=403, ca=(200, 404),
        st=403, ch=403, fill=BACK, body={"note": "已受理低保申请"}, sends=SENDS_BODY),
    # Jobs: civil affairs and admins watch them; only admins queue a run.
    Row("GET", "/api/v1/jobs", anon=401, admin=200, ca=200, st=403, ch=403),
    Row("POST", "/api/v1/jobs/expire_projects/runs", anon=401, admin=202, ca=403, st=403,
        ch=403, body={}, sends=SENDS_BODY),
    # Statistics: civil affairs for their own region and below (regions are public: 403).
    Row("GET", "/api/v1/stats/overview?region_code={county}", anon=401, admin=200,
        ca=(200, 403), st=403, ch=403, fill=PLACE),
    Row("GET", "/api/v1/stats/figure.xlsx?figure=coverage&region_code={county}", anon=401,
        admin=200, ca=(200, 403), st=403, ch=403, fill=PLACE),
    Row("GET", "/api/v1/stats/report.xlsx?period={period}&region_code={county}", anon=401,
        admin=200, ca=(200, 403), st=403, ch=403, fill=PLACE),
    # 需求缺口: charities for the regions they serve, offices for their own (what charities
    # see); stations have none. An area outside them is refused (regions are public: 403).
    Row("GET", "/api/v1/demand", anon=401, admin=200, ca=200, st=403, ch=200),
    Row("GET", "/api/v1/demand?area={county}", anon=401, admin=200, ca=(200, 403), st=403,
        ch=(200, 403), fill=PLACE),
    # Monitoring feeds: departments' accounts (tests/web/test_monitoring_api.py) and civil
    # affairs deliver; stations and charities may not. The record sent is bad, so a caller
    # allowed to deliver is told what is wrong with it.
    Row("POST", "/api/v1/monitoring/batches", anon=401, admin=422, ca=422, st=403, ch=403,
        body=BAD_BATCH, sends=SENDS_BAD_BATCH),
    Row("GET", "/api/v1/monitoring/templates/medical_insurance", anon=401, admin=200, ca=200,
        st=403, ch=403),
]  # fmt: skip

PAGE_ROWS = [
    # Signing in and out, the account, the language.
    Row("GET", "/", anon=Expect(302, location="/login"), admin=TO_HOME, ca=TO_HOME, st=TO_HOME,
        ch=TO_HOME),
    Row("GET", "/login", anon=200, admin=TO_HOME, ca=TO_HOME, st=TO_HOME, ch=TO_HOME),
    Row("POST", "/login", anon=422, admin=TO_HOME, ca=TO_HOME, st=TO_HOME, ch=TO_HOME,
        sends=SENDS_CSRF),
    Row("POST", "/logout", anon=LOGIN, admin=Expect(302, location="/login", flash="info"),
        ca=Expect(302, location="/login", flash="info"),
        st=Expect(302, location="/login", flash="info"),
        ch=Expect(302, location="/login", flash="info")),
    # Choosing a language needs no sign-in.
    Row("POST", "/language", anon=TO_HOME, admin=TO_HOME, ca=TO_HOME, st=TO_HOME, ch=TO_HOME,
        body={"lang": "en", "next": "/home"}, sends=SENDS_FORM),
    Row("GET", "/account/password", anon=LOGIN, admin=200, ca=200, st=200, ch=200),
    Row("POST", "/account/password", anon=LOGIN, admin=422, ca=422, st=422, ch=422,
        sends=SENDS_CSRF),
    Row("GET", "/home", anon=LOGIN, admin=200, ca=200, st=200, ch=200),
    Row("GET", "/api-docs", anon=LOGIN, admin=200, ca=200, st=200, ch=200),
    # Dashboards: civil affairs for their own region and below.
    Row("GET", "/dashboard?region={county}", anon=LOGIN, admin=200, ca=(200, 403), st=403,
        ch=403, fill=PLACE),
    Row("GET", "/reports/half-year?region={county}", anon=LOGIN, admin=200, ca=(200, 403),
        st=403, ch=403, fill=PLACE),
    Row("GET", "/demand?area={county}", anon=LOGIN, admin=200, ca=(200, 403), st=403,
        ch=(200, 403), fill=PLACE),
    # A county office decides whether one person may create and approve a referral.
    Row("GET", "/settings/county", anon=LOGIN, admin=200, ca=200, st=403, ch=403),
    Row("POST", "/settings/county", anon=LOGIN, admin=refused(COUNTY_ONLY), ca=done(),
        st=refused(COUNTY_ONLY), ch=refused(COUNTY_ONLY), sends=SENDS_FORM,
        body={"allows_self_approval": "y"}),
    # 主动发现: a station's warnings and its office's; a county office sets the rules.
    Row("GET", "/warnings", anon=LOGIN, admin=200, ca=200, st=200, ch=403),
    Row("GET", "/warnings/{warning}", anon=LOGIN, admin=200, ca=(200, 404), st=(200, 404),
        ch=403, fill=WARNING),
    Row("POST", "/warnings/{warning}/confirm", anon=LOGIN, admin=422, ca=(422, 404),
        st=(422, 404), ch=403, fill=WARNING, sends=SENDS_CSRF),
    Row("POST", "/warnings/{warning}/dismiss", anon=LOGIN, admin=422, ca=(422, 404),
        st=(422, 404), ch=403, fill=WARNING, sends=SENDS_CSRF),
    Row("GET", "/settings/warnings", anon=LOGIN, admin=200, ca=200, st=403, ch=403),
    Row("POST", "/settings/warnings", anon=LOGIN, admin=refused(COUNTY_ONLY), ca=done(),
        st=refused(COUNTY_ONLY), ch=refused(COUNTY_ONLY), sends=SENDS_FORM,
        body={"rule_code": "medical_cost", "medical_cost-enabled": "y",
              "medical_cost-threshold_yuan": "25000", "medical_cost-due_days": "10"}),
    # Departments deliver their batches; civil affairs may deliver for any source.
    Row("GET", "/monitoring/upload", anon=LOGIN, admin=200, ca=200, st=403, ch=403),
    Row("POST", "/monitoring/upload", anon=LOGIN, admin=422, ca=422, st=403, ch=403,
        body=garbage_file, sends=SENDS_FILE),
    Row("GET", "/monitoring/templates/medical_insurance.xlsx", anon=LOGIN, admin=200, ca=200,
        st=403, ch=403),
    Row("GET", "/jobs", anon=LOGIN, admin=200, ca=200, st=403, ch=403),
    # Queued; with no scheduler reporting in, the message says it waits for one.
    Row("POST", "/jobs/expire_projects/run", anon=LOGIN,
        admin=Expect(302, flash="warning", says="启动调度进程后才会执行"),
        ca=refused("只有系统管理员"), st=refused("只有系统管理员"), ch=refused("只有系统管理员"),
        sends=SENDS_FORM),
    # The needs ledger.
    Row("GET", "/households", anon=LOGIN, admin=200, ca=200, st=200, ch=403),
    Row("POST", "/households", anon=LOGIN, admin=303, ca=303, st=303, ch=403,
        body={"q": "钟伟明"}, sends=SENDS_FORM),
    # A station's staff always get their own station's form, whatever the query says.
    Row("GET", "/households/new?station_id={station}", anon=LOGIN, admin=200, ca=(200, 404),
        st=200, ch=403, fill=PLACE),
    Row("POST", "/households/new?station_id={station}", anon=LOGIN, admin=422, ca=(422, 404),
        st=422, ch=403, fill=PLACE, sends=SENDS_CSRF),
    Row("GET", "/households/{household}", anon=LOGIN, admin=200, ca=(200, 404),
        st=(200, 404), ch=403, fill=HOUSEHOLD),
    Row("GET", "/households/{household}", anon=LOGIN, admin=200, ca=200, st=404, ch=403,
        fill=NEAR_HOUSEHOLD),
    Row("GET", "/households/{household}/dossier", anon=LOGIN, admin=200, ca=(200, 404),
        st=(200, 404), ch=403, fill=HOUSEHOLD),
    Row("GET", "/households/{household}/dossier", anon=LOGIN, admin=200, ca=200, st=404,
        ch=403, fill=NEAR_HOUSEHOLD),
    Row("GET", "/households/{household}/dossier.xlsx", anon=LOGIN, admin=200, ca=(200, 404),
        st=(200, 404), ch=403, fill=HOUSEHOLD),
    Row("GET", "/households/{household}/edit", anon=LOGIN, admin=200, ca=(200, 404),
        st=(200, 404), ch=403, fill=HOUSEHOLD),
    Row("POST", "/households/{household}/edit", anon=LOGIN, admin=422, ca=(422, 404),
        st=(422, 404), ch=403, fill=HOUSEHOLD, sends=SENDS_CSRF),
    Row("POST", "/households/{household}/aid", anon=LOGIN, admin=422, ca=(422, 404),
        st=(422, 404), ch=403, fill=HOUSEHOLD, sends=SENDS_CSRF),
    Row("POST", "/households/{household}/needs", anon=LOGIN, admin=422, ca=(422, 404),
        st=(422, 404), ch=403, fill=HOUSEHOLD, sends=SENDS_CSRF),
    Row("POST", "/households/{household}/consent", anon=LOGIN, admin=422, ca=(422, 404),
        st=(422, 404), ch=403, fill=HOUSEHOLD, sends=SENDS_CSRF),
    # Without a member, the reveal shows the phone.
    Row("POST", "/households/{household}/reveal", anon=LOGIN, admin=200, ca=(200, 404),
        st=(200, 404), ch=403, fill=HOUSEHOLD, sends="the CSRF token only: allowed → 200"),
    Row("GET", "/worklist?station_id={station}", anon=LOGIN, admin=200, ca=(200, 404),
        st=(200, 404), ch=403, fill=PLACE),
    Row("GET", "/imports/households", anon=LOGIN, admin=200, ca=403, st=200, ch=403),
    Row("POST", "/imports/households", anon=LOGIN, admin=422, ca=403, st=422, ch=403,
        sends=SENDS_CSRF),
    Row("GET", "/needs/{need}/matches", anon=LOGIN, admin=200, ca=(200, 404), st=(200, 404),
        ch=403, fill=NEED),
    Row("POST", "/needs/{need}/referrals", anon=LOGIN, admin=refused(NOT_YOUR_STEP),
        ca=(done(), refused(UNSEEN)), st=(done(), refused(UNSEEN)),
        ch=refused(NOT_YOUR_STEP), fill=NEED, sends=SENDS_FORM,
        body=lambda v: {"project_id": v["project"]}),
    Row("POST", "/needs/{need}/status", anon=LOGIN, admin=done(),
        ca=(done(), refused(UNSEEN)), st=(done(), refused(UNSEEN)), ch=refused(NO_RIGHT),
        fill=NEED, sends=SENDS_FORM, body={"action": "close", "reason": "已由其他渠道解决"}),
    Row("POST", "/needs/{need}/public-summary", anon=LOGIN, admin=done(),
        ca=(done(), refused(UNSEEN)), st=(done(), refused(UNSEEN)),
        ch=refused(NO_RIGHT), fill=NEED, sends=SENDS_FORM,
        body={"public_summary": "户主需长期透析，医保报销后仍有较大缺口。"}),
    # Local resources: a station keeps its township's; no one else edits them.
    # Allocation plans (联合分配): the office's own; an administrator reads but takes no step.
    Row("GET", "/allocation-plans", anon=LOGIN, admin=200, ca=200, st=403, ch=403),
    Row("GET", "/allocation-plans/new", anon=LOGIN, admin=403, ca=200, st=403, ch=403),
    Row("POST", "/allocation-plans/new", anon=LOGIN, admin=403, ca=422, st=403, ch=403,
        sends=SENDS_CSRF),
    Row("GET", "/allocation-plans/{plan}", anon=LOGIN, admin=200, ca=(200, 404), st=403,
        ch=403, fill=PLAN),
    Row("POST", "/allocation-plans/{plan}/weights", anon=LOGIN, admin=403, ca=(422, 404),
        st=403, ch=403, fill=PLAN, sends=SENDS_CSRF),
    Row("POST", "/allocation-plans/{plan}/lines/{line}", anon=LOGIN, admin=403,
        ca=(refused("请选择项目"), 404), st=403, ch=403, fill=PLAN,
        sends="the CSRF token only: allowed → refused"),
    Row("POST", "/allocation-plans/{plan}/lines/{line}/remove", anon=LOGIN, admin=403,
        ca=(done("已从方案中移除"), 404), st=403, ch=403, fill=PLAN, sends=SENDS_FORM),
    Row("POST", "/allocation-plans/{plan}/lines", anon=LOGIN, admin=403,
        ca=(refused("这项需求不在本方案的待分配需求中"), 404), st=403, ch=403, fill=PLAN,
        sends="a need not in the plan: allowed → refused",
        body={"need_id": 2**31 - 1, "project_id": 1}),
    Row("POST", "/allocation-plans/{plan}/approve", anon=LOGIN, admin=403,
        ca=(done("方案已批准"), 404), st=403, ch=403, fill=PLAN, sends=SENDS_FORM,
        body={"checked": "y"}),
    Row("GET", "/local-resources", anon=LOGIN, admin=403, ca=403, st=200, ch=403),
    Row("GET", "/local-resources/new", anon=LOGIN, admin=403, ca=403, st=200, ch=403),
    Row("POST", "/local-resources/new", anon=LOGIN, admin=403, ca=403, st=422, ch=403,
        sends=SENDS_CSRF),
    Row("GET", "/local-resources/{project}/edit", anon=LOGIN, admin=403, ca=403,
        st=(200, 404), ch=403, fill=LOCAL),
    Row("POST", "/local-resources/{project}/edit", anon=LOGIN, admin=403, ca=403,
        st=(422, 404), ch=403, fill=LOCAL, sends=SENDS_CSRF),
    Row("POST", "/local-resources/{project}/withdraw", anon=LOGIN, admin=refused(STATIONS_ONLY),
        ca=refused(STATIONS_ONLY), st=(done(), refused(UNSEEN)), ch=refused(STATIONS_ONLY),
        fill=LOCAL, sends=SENDS_FORM, body={"reason": "商户歇业，暂停提供"}),
    # The supply side.
    Row("GET", "/my/projects", anon=LOGIN, admin=403, ca=403, st=403, ch=200),
    Row("GET", "/projects/new", anon=LOGIN, admin=200, ca=403, st=403, ch=200),
    Row("POST", "/projects/new", anon=LOGIN, admin=422, ca=403, st=403, ch=422,
        sends=SENDS_CSRF),
    Row("GET", "/projects/{project}/edit", anon=LOGIN, admin=200, ca=404, st=404,
        ch=(200, 404), fill=DRAFT),
    Row("POST", "/projects/{project}/edit", anon=LOGIN, admin=422, ca=404, st=404,
        ch=(422, 404), fill=DRAFT, sends=SENDS_CSRF),
    Row("POST", "/projects/{project}/submit", anon=LOGIN, admin=done(), ca=refused(UNSEEN),
        st=refused(UNSEEN), ch=(done(), refused(UNSEEN)), fill=DRAFT, sends=SENDS_FORM),
    Row("POST", "/projects/{project}/confirm", anon=LOGIN, admin=done(), ca=refused(UNSEEN),
        st=refused(UNSEEN), ch=(done(), refused(UNSEEN)), fill=VERIFIED, sends=SENDS_FORM),
    Row("POST", "/projects/{project}/withdraw", anon=LOGIN, admin=done(), ca=refused(UNSEEN),
        st=refused(UNSEEN), ch=(done(), refused(UNSEEN)), fill=VERIFIED, sends=SENDS_FORM,
        body={"reason": "资金到位延迟，暂停受理"}),
    Row("POST", "/projects/{project}/approve", anon=LOGIN, admin=done(),
        ca=(done(), refused("登记民政部门")), st=refused(UNSEEN),
        ch=(refused("登记民政部门"), refused(UNSEEN)), fill=SUBMITTED, sends=SENDS_FORM),
    Row("POST", "/projects/{project}/reject", anon=LOGIN, admin=done(),
        ca=(done(), refused("登记民政部门")), st=refused(UNSEEN),
        ch=(refused("登记民政部门"), refused(UNSEEN)), fill=SUBMITTED, sends=SENDS_FORM,
        body={"reason": "服务区域填写有误"}),
    Row("GET", "/review", anon=LOGIN, admin=200, ca=200, st=403, ch=403),
    Row("GET", "/review/projects/{project}", anon=LOGIN, admin=200, ca=(200, 403), st=403,
        ch=403, fill=SUBMITTED),
    Row("POST", "/organizations/{organization}/approve", anon=LOGIN, admin=done(),
        ca=(done(), refused("登记该组织")), st=(refused("登记该组织"), refused(UNSEEN)),
        ch=(refused("登记该组织"), refused(UNSEEN)), fill=ORGANIZATION, sends=SENDS_FORM),
    Row("POST", "/organizations/{organization}/reject", anon=LOGIN, admin=done(),
        ca=(done(), refused("登记该组织")), st=(refused("登记该组织"), refused(UNSEEN)),
        ch=(refused("登记该组织"), refused(UNSEEN)), fill=ORGANIZATION, sends=SENDS_FORM,
        body={"reason": "登记材料不全"}),
    Row("GET", "/imports/projects", anon=LOGIN, admin=200, ca=200, st=403, ch=200),
    Row("POST", "/imports/projects", anon=LOGIN, admin=422, ca=422, st=403, ch=422,
        sends=SENDS_CSRF),
    # Ledgers: a station is sent to the editions covering it; only a department publishes its
    # own (the form is not processed for other roles: nothing is published).
    Row("GET", "/ledgers", anon=LOGIN, admin=200, ca=200,
        st=Expect(302, location="/ledgers/current"), ch=200),
    Row("POST", "/ledgers", anon=LOGIN, admin=Expect(302, location="/ledgers/", flash="success"),
        ca=(Expect(302, location="/ledgers/", flash="success"), Expect(200, says="只能编制本部门")),
        st=Expect(302, location="/ledgers/current"), ch=200, fill=PLACE, sends=SENDS_FORM,
        label="the place's county",
        body=lambda v: {"region_code": v["county"], "period": PERIOD}),
    # Re-matching now: an office for its own region, from its ledgers page.
    Row("POST", "/ledgers/rematch", anon=LOGIN, admin=done("重新匹配"), ca=done("重新匹配"),
        st=403, ch=403, sends=SENDS_FORM),
    Row("GET", "/ledgers/current", anon=LOGIN, admin=200, ca=200, st=200, ch=200),
    Row("GET", "/ledgers/{edition}", anon=LOGIN, admin=200, ca=200, st=200, ch=200,
        fill=EDITION),
    # Referrals: a step another party takes is refused where the referral is visible (403) and
    # not found where it is not (a charity sees nothing before approval).
    Row("GET", "/referrals", anon=LOGIN, admin=200, ca=200, st=200, ch=200),
    Row("POST", "/referrals/batch-approve", anon=LOGIN, admin=403,
        ca=(done("已批准 1 件"), refused(UNSEEN)), st=403, ch=403, fill=R_SUBMITTED,
        sends=SENDS_FORM, body=lambda v: {"pick": f"{v['referral']}:{v['version']}"}),
    Row("GET", "/referrals/{referral}", anon=LOGIN, admin=200, ca=(200, 404), st=(200, 404),
        ch=(200, 404), fill=R_SERVICE),
    Row("GET", "/referrals/{referral}", anon=LOGIN, admin=200, ca=200, st=404, ch=404,
        fill=NEAR_REFERRAL, label="in service"),
    Row("POST", "/referrals/{referral}/submit", anon=LOGIN, admin=403, ca=(done(), 404),
        st=(done(), 404), ch=404, fill=R_DRAFT, body=page_step, sends=SENDS_FORM),
    Row("POST", "/referrals/{referral}/approve", anon=LOGIN, admin=403, ca=(done(), 404),
        st=(403, 404), ch=404, fill=R_SUBMITTED, body=page_step, sends=SENDS_FORM),
    Row("POST", "/referrals/{referral}/return", anon=LOGIN, admin=403, ca=(done(), 404),
        st=(403, 404), ch=404, fill=R_SUBMITTED, body=page_step, sends=SENDS_FORM),
    Row("POST", "/referrals/{referral}/accept", anon=LOGIN, admin=403, ca=(403, 404),
        st=(403, 404), ch=(done(), 404), fill=R_APPROVED, body=page_step, sends=SENDS_FORM),
    Row("POST", "/referrals/{referral}/decline", anon=LOGIN, admin=403, ca=(403, 404),
        st=(403, 404), ch=(done(), 404), fill=R_APPROVED, body=page_step, sends=SENDS_FORM),
    Row("POST", "/referrals/{referral}/start", anon=LOGIN, admin=403, ca=(403, 404),
        st=(403, 404), ch=(done(), 404), fill=R_ACCEPTED, body=page_step, sends=SENDS_FORM),
    Row("POST", "/referrals/{referral}/complete", anon=LOGIN, admin=403, ca=(403, 404),
        st=(403, 404), ch=(done(), 404), fill=R_SERVICE, body=page_step, sends=SENDS_FORM),
    Row("POST", "/referrals/{referral}/cancel", anon=LOGIN, admin=403, ca=(done(), 404),
        st=(done(), 404), ch=(403, 404), fill=R_APPROVED, body=page_step, sends=SENDS_FORM),
    Row("POST", "/referrals/{referral}/episodes", anon=LOGIN, admin=403, ca=(403, 404),
        st=(403, 404), ch=(done(), 404), fill=R_SERVICE, sends=SENDS_FORM,
        body={"on": TODAY.isoformat(), "kind": "visiting_care", "quantity": "1", "unit": "次"}),
    Row("POST", "/referrals/{referral}/back-referral", anon=LOGIN, admin=403, ca=(403, 404),
        st=(403, 404), ch=(done(), 404), fill=R_SERVICE, sends=SENDS_FORM,
        body={"aid_types": "dibao_allowance", "note": "家庭收入明显下降，可能符合低保"}),
    Row("POST", "/referrals/{referral}/follow-up", anon=LOGIN, admin=403, ca=(403, 404),
        st=(done("已登记回访"), 404), ch=(403, 404), fill=R_COMPLETED, body=FOLLOW_UP_FORM,
        sends=SENDS_FORM),
    Row("POST", "/referrals/{referral}/follow-up/resolve", anon=LOGIN, admin=403,
        ca=(done("已记录核实处理情况"), 404), st=(403, 404), ch=(403, 404), fill=R_FLAGGED,
        body={"resolution": "已联系慈善会核实，款项已补发"}, sends=SENDS_FORM),
    Row("POST", "/referrals/{referral}/pairing", anon=LOGIN, admin=403, ca=(403, 404),
        st=(403, 404), ch=(done("已设立结对帮扶"), 404), fill=R_ACCEPTED, body=page_pairing,
        sends=SENDS_FORM),
    Row("POST", "/referrals/{referral}/pairing/end", anon=LOGIN, admin=403, ca=(403, 404),
        st=(403, 404), ch=(done("提前结束"), 404), fill=R_SERVICE, body=PAGE_PAIRING_END,
        sends=SENDS_FORM),
    Row("POST", "/referrals/{referral}/attachments", anon=LOGIN, admin=403, ca=(403, 404),
        st=(403, 404), ch=(done("已上传附件"), 404), fill=R_COMPLETED, body=receipt,
        sends=SENDS_FORM),
    Row("GET", "/attachments/{attachment}", anon=LOGIN, admin=200, ca=(200, 404),
        st=(200, 404), ch=(200, 404), fill=ATTACHMENT),
    Row("GET", "/attachments/{attachment}", anon=LOGIN, admin=200, ca=(200, 404),
        st=(200, 404), ch=404, fill=FOLLOW_UP_ATTACHMENT, label="a follow-up's"),
    # A dossier's photo opens only through the signed link its page gives (test_dossier.py).
    Row("GET", "/dossier-photos/{attachment}", anon=LOGIN, admin=404, ca=404, st=404, ch=404,
        fill=ATTACHMENT, label="without its signed link"),
    Row("GET", "/back-referrals", anon=LOGIN, admin=200, ca=200, st=200, ch=200),
    Row("POST", "/back-referrals/{back}/handle", anon=LOGIN, admin=refused(NOT_YOUR_STEP),
        ca=(done(), refused(UNSEEN)), st=refused(NOT_YOUR_STEP), ch=refused(NOT_YOUR_STEP),
        fill=BACK, body={"note": "已受理低保申请"}, sends=SENDS_FORM),
    # Notifications: each user opens only its own, administrators included.
    Row("GET", "/notifications", anon=LOGIN, admin=200, ca=200, st=200, ch=200),
    Row("GET", "/notifications/{notification}/open", anon=LOGIN,
        admin=(Expect(302, location="/notifications"), 404),
        ca=(Expect(302, location="/notifications"), 404),
        st=(Expect(302, location="/notifications"), 404),
        ch=(Expect(302, location="/notifications"), 404), fill=NOTIFICATION),
    Row("POST", "/notifications/read", anon=LOGIN, admin=done(), ca=done(), st=done(),
        ch=done(), sends=SENDS_FORM),
    # 系统管理: administrators everywhere, civil-affairs offices within their region.
    Row("GET", "/users", anon=LOGIN, admin=200, ca=200, st=403, ch=403),
    Row("GET", "/users/new", anon=LOGIN, admin=200, ca=200, st=403, ch=403),
    Row("POST", "/users/new", anon=LOGIN, admin=422, ca=422, st=403, ch=403, sends=SENDS_CSRF),
    Row("POST", "/users/{user}/disable", anon=LOGIN, admin=done(),
        ca=(done(), refused(UNSEEN)), st=refused(NO_RIGHT), ch=refused(NO_RIGHT), fill=PLACE,
        sends=SENDS_FORM, label="the place's station staff"),
    Row("POST", "/users/{user}/enable", anon=LOGIN, admin=done(),
        ca=(done(), refused(UNSEEN)), st=refused(NO_RIGHT), ch=refused(NO_RIGHT), fill=PLACE,
        sends=SENDS_FORM, label="the place's station staff"),
    Row("POST", "/users/{user}/password", anon=LOGIN, admin=done(),
        ca=(done(), refused(UNSEEN)), st=refused(NO_RIGHT), ch=refused(NO_RIGHT), fill=PLACE,
        sends=SENDS_FORM, body={"password": "temporary-2026"},
        label="the place's station staff"),
    Row("GET", "/organizations", anon=LOGIN, admin=200, ca=200, st=403, ch=403),
    Row("GET", "/organizations/{organization}/record", anon=LOGIN, admin=200, ca=(200, 404),
        st=403, ch=(200, 404), fill=VERIFIED_ORGANIZATION),
    Row("GET", "/charity-record", anon=LOGIN, admin=403, ca=403, st=403, ch=200),
    Row("GET", "/organizations/{organization}/households-served", anon=LOGIN, admin=200,
        ca=(200, 404), st=404, ch=(200, 404), fill=VERIFIED_ORGANIZATION),
    Row("POST", "/organizations/{organization}/suspend", anon=LOGIN, admin=done(),
        ca=(done(), refused("登记该组织")), st=refused("登记该组织"), ch=refused("登记该组织"),
        fill=VERIFIED_ORGANIZATION, sends=SENDS_FORM, body={"reason": "年检未通过"}),
    Row("GET", "/stations", anon=LOGIN, admin=200, ca=200, st=403, ch=403),
    Row("GET", "/stations/new", anon=LOGIN, admin=200, ca=200, st=403, ch=403),
    Row("POST", "/stations/new", anon=LOGIN, admin=422, ca=422, st=403, ch=403,
        sends=SENDS_CSRF),
    Row("GET", "/stations/{station}/edit", anon=LOGIN, admin=200, ca=(200, 404), st=403,
        ch=403, fill=PLACE),
    Row("POST", "/stations/{station}/edit", anon=LOGIN, admin=422, ca=(422, 404), st=403,
        ch=403, fill=PLACE, sends=SENDS_CSRF),
    Row("POST", "/stations/{station}/close", anon=LOGIN, admin=done(),
        ca=(done(), refused(UNSEEN)), st=refused(NO_RIGHT), ch=refused(NO_RIGHT), fill=PLACE,
        sends=SENDS_FORM),
    Row("GET", "/audit", anon=LOGIN, admin=200, ca=200, st=403, ch=403),
    Row("GET", "/audit/export.xlsx", anon=LOGIN, admin=200, ca=200, st=403, ch=403),
    # The region picker's answers: places are public to every signed-in user.
    Row("GET", "/regions/children?parent={county}", anon=LOGIN, admin=200, ca=200, st=200,
        ch=200, fill=PLACE),
    Row("GET", "/regions/search?q=温泉", anon=LOGIN, admin=200, ca=200, st=200, ch=200),
]  # fmt: skip

ROWS = API_ROWS + PAGE_ROWS


# --- the cells ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One cell: a row, a role, the scope of the record it is shown, and the answer due."""

    row: Row
    role: str
    scope: str | None
    expect: Expect

    def __str__(self) -> str:
        path = re.sub(r"\{(\w+)\}", r"<\1>", self.row.path)
        label = f" [{self.row.label}]" if self.row.label else ""
        scope = f" {self.scope}" if self.scope and self.role != "anonymous" else ""
        return f"{self.row.method} {path}{label} {self.role}{scope} -> {self.expect}"


def as_expect(cell: Cell) -> Expect:
    return cell if isinstance(cell, Expect) else Expect(cell)


def cases(rows: list[Row]) -> list[Case]:
    found: list[Case] = []
    for row in rows:
        for role in ROLES:
            expected = row.expected(role)
            scopes = row.fill.scopes if row.fill is not None else ()
            if isinstance(expected, tuple):
                assert len(expected) == len(scopes), f"{row.method} {row.path}: {role}"
                cells: list[tuple[str | None, Cell]] = list(zip(scopes, expected, strict=True))
            elif scopes and role in SCOPED_ROLES:
                cells = [(scope, expected) for scope in scopes]
            elif scopes:
                # Anonymous and administrators are shown the record out of the others' reach.
                cells = [(scopes[-1], expected)]
            else:
                cells = [(None, expected)]
            found.extend(Case(row, role, scope, as_expect(cell)) for scope, cell in cells)
    return found


# --- the records and the signed-in users ------------------------------------------------


def household_of(db: Session, head_name: str) -> Household:
    household = db.scalar(sa.select(Household).where(Household.head_name == head_name))
    assert household is not None, head_name
    return household


#: Referrals brought to each state, per side: (head of household, need's domain, project).
REFERRALS = {
    "a": {
        "in_service": ("钟伟明", "medical", "从化区慈善医疗救助"),
        "accepted": ("黄桂英", "elderly", "安居工程·困难老人住房修缮与适老化改造"),
        "approved": ("李国强", "children", "暖心年货·困难家庭生活物资包"),
        "submitted": ("何志坚", "education", "从化区急难救助“一事一议”"),
        "draft": ("冯建华", "emergency", "从化区急难救助“一事一议”"),
    },
    "c": {
        "in_service": ("赵金福", "medical", "乳源县重度残疾人康复训练资助"),
        "accepted": ("盘桂清", "elderly", "瑶山暖冬·高寒山区取暖关爱行动"),
        "approved": ("冯志明", "disability", "乳源县重度残疾人康复训练资助"),
        "submitted": ("邓四妹", "children", "瑶乡助学金·困难家庭中小学生资助"),
        "draft": ("赵金福", "rural", "瑶山暖冬·高寒山区取暖关爱行动"),
    },
    "b": {"in_service": ("黄金水", "housing", "颐康到家·失能长者上门照护")},
}
#: Completed referrals: one awaiting its follow-up, one whose follow-up was flagged.
COMPLETED = {
    "a": {"completed": ("钟伟明", "education", "暖心年货·困难家庭生活物资包"),
          "flagged": ("黄桂英", "psychological", "暖心年货·困难家庭生活物资包")},
    "c": {"completed": ("盘桂清", "heating", "瑶山暖冬·高寒山区取暖关爱行动"),
          "flagged": ("邓四妹", "education", "瑶山暖冬·高寒山区取暖关爱行动")},
}  # fmt: skip
STATES = ("draft", "submitted", "approved", "accepted", "in_service")
#: The parties of each side: the station, the office above it, the charity.
PARTIES = {
    "a": ("station_a", "ca_conghua", "charity_f"),
    "c": ("station_c", "ca_ruyuan", "charity_h"),
    "b": ("station_b", "ca_conghua", "charity_g"),
}
PLACE_NAMES = {"f": "从化", "h": "乳源"}
#: A verified project any station may refer a need to.
REFER_TO = "瑶乡助学金·困难家庭中小学生资助"


def build_world(db: Session, storage: LocalDiskStorage) -> dict[str, Values]:
    """The records the matrix points at, by name: the demo's, plus what a working service
    would hold (referrals in every state and so on), made through the services; attachment
    files are kept in ``storage``."""
    now = utcnow()
    world: dict[str, Values] = {}
    referrals: dict[str, Referral] = {}
    for side, plan in REFERRALS.items():
        staff, office, charity = (get_user(db, name) for name in PARTIES[side])
        for state, (head, domain, title) in plan.items():
            need = need_of(db, head, domain)
            referral = start_referral(db, staff, need.id, project_named(db, title).id)
            reached = STATES.index(state)
            if reached >= STATES.index("submitted"):
                submit_referral(db, staff, referral.id)
            if reached >= STATES.index("approved"):
                approve_referral(db, office, referral.id)
            if reached >= STATES.index("accepted"):
                accept_referral(db, charity, referral.id)
            if reached >= STATES.index("in_service"):
                start_service(db, charity, referral.id)
            referrals[f"referral_{state}_{side}"] = referral
        for key, (head, domain, title) in COMPLETED.get(side, {}).items():
            referral = start_referral(db, staff, need_of(db, head, domain).id,
                                      project_named(db, title).id)  # fmt: skip
            submit_referral(db, staff, referral.id)
            approve_referral(db, office, referral.id)
            accept_referral(db, charity, referral.id)
            start_service(db, charity, referral.id)
            complete_referral(db, charity, referral.id, delivered_amount_fen=50_000)
            if key == "flagged":
                record_follow_up(db, staff, referral.id, FollowUpInput(
                    received=False, as_recorded=False, satisfaction=1, need_met=False))  # fmt: skip
            else:
                kept = add_attachment(db, charity, storage, referral.id, RECEIPT, "收据.pdf",
                                      AttachmentKind.COMPLETION)  # fmt: skip
                signed = add_attachment(db, staff, storage, referral.id, RECEIPT, "签字.pdf",
                                        AttachmentKind.FOLLOW_UP)  # fmt: skip
                world[f"attachment_{side}"] = {"attachment": kept.id}
                world[f"follow_up_attachment_{side}"] = {"attachment": signed.id}
            referrals[f"referral_{key}_{side}"] = referral
        back = refer_back(
            db, charity, referrals[f"referral_in_service_{side}"].id,
            [GovAidType.DIBAO_ALLOWANCE], "家庭收入明显下降，可能符合低保",
        )  # fmt: skip
        world[f"back_{side}"] = {"back": back.id}

    for side, username, county, township in (
        ("conghua", "station_a", CONGHUA, "440117107000"),
        ("ruyuan", "station_c", RUYUAN, "440232109000"),
        ("lianma", "station_b", CONGHUA, "440117107000"),
    ):
        station = get_user(db, username).station
        assert station is not None
        world[side] = {"station": station.id, "station_region": station.region_code,
                       "county": county, "township": township,
                       "user": get_user(db, username).id}  # fmt: skip
        world[f"edition_{side}"] = {
            "edition": build_edition(db, None, county, PERIOD, now).edition.id
        }

    for side, head in (("a", "钟伟明"), ("c", "赵金福"), ("b", "黄金水")):
        household = household_of(db, head)
        world[f"household_{side}"] = {
            "household": household.id, "member": household.members[0].id,
            "aid": household.gov_aid[0].id, "region": household.region_code,
            "members": [{"name": m.name, "relation": m.relation.value}
                        for m in household.members],
        }  # fmt: skip
    a, c = world["household_a"], world["household_c"]
    world["household_a_crossed"] = {**a, "member": c["member"], "aid": c["aid"]}
    world["household_c_crossed"] = {**c, "member": a["member"], "aid": a["aid"]}

    refer_to = project_named(db, REFER_TO).id
    world["need_b"] = {"need": referrals["referral_in_service_b"].need_id}
    for side in "ac":
        for key, state in (("need", "in_service"), ("need_awaiting", "approved")):
            world[f"{key}_{side}"] = {
                "need": referrals[f"referral_{state}_{side}"].need_id,
                "project": refer_to,
            }
    for side in ("a", "c", "b"):
        referral = referrals[f"referral_in_service_{side}"]
        set_up_pairing(db, get_user(db, PARTIES[side][2]), referral.id, PairingInput(
            companion_name="陈淑芬", companion_role=CompanionRole.CARING_MOTHER,
            member_id=referral.need.household.members[-1].id, starts_on=TODAY,
            ends_on=TODAY + dt.timedelta(days=365), visits_per_month=2,
        ), today=TODAY)  # fmt: skip
    db.flush()
    for key, referral in referrals.items():
        world[key] = {"referral": referral.id, "version": referral.version,
                      "member": referral.need.household.members[0].id}  # fmt: skip

    charity_f, charity_h = get_user(db, "charity_f"), get_user(db, "charity_h")
    world["organization_f"] = {"organization": charity_f.organization_id}
    world["organization_h"] = {"organization": charity_h.organization_id}
    pending = register_organization(
        db, None, name="从化区阳光助老服务中心", uscc_code="53440117MJ0000901G",
        registered_region_code=CONGHUA,
    )  # fmt: skip
    world["organization_pending_a"] = {"organization": pending.id}
    elsewhere = db.scalar(
        sa.select(Organization.id).where(Organization.name == "五华县助残康复服务中心")
    )
    world["organization_pending_c"] = {"organization": elsewhere}
    for side, charity, area, verified in (
        ("f", charity_f, CONGHUA, "从化区慈善医疗救助"),
        ("h", charity_h, RUYUAN, "瑶乡助学金·困难家庭中小学生资助"),
    ):
        for state in ("draft", "submitted"):
            project = register_project(db, charity, ProjectInput(
                name=f"{PLACE_NAMES[side]}长者助餐（{state}）", starts_on=TODAY,
                ends_on=TODAY + dt.timedelta(days=180), domains=["living"],
                service_area=[area], quota=5,
            ))  # fmt: skip
            if state == "submitted":
                submit_project(db, charity, project.id)
            world[f"{state}_{side}"] = {"project": project.id}
        world[f"verified_{side}"] = {"project": project_named(db, verified).id}
    world["draft_g"] = {"project": project_named(db, "长者心灵陪伴热线与结对探访").id}
    world["local_a"] = {"project": project_named(db, "温泉乡贤助学金").id}
    bibei = register_local_resource(db, get_user(db, "station_c"), LocalResourceInput(
        ProjectInput(name="必背镇瑶绣合作社冬衣包", starts_on=TODAY,
                     ends_on=TODAY + dt.timedelta(days=180), domains=["living"],
                     service_area=["440232113000"], quota=30, contact_name="赵月英",
                     contact_phone="13580127002"),
        "必背镇瑶绣合作社", LocalProviderKind.ENTERPRISE,
    ))  # fmt: skip
    world["local_c"] = {"project": bibei.id}
    for side, county in (("a", CONGHUA), ("c", RUYUAN)):
        made = create_plan(db, None, county, None)
        world[f"plan_{side}"] = {"plan": made.id,
                                 "line": made.lines[0].id if made.lines else 2**31 - 1}  # fmt: skip

    # Warnings of a medical-insurance batch: 钟伟明's (温泉镇站) and 赵金福's (必背镇站).
    provider = create_user(
        db, None, username="matrix_yibao", password="matrix-yibao-2026", display_name="省医保局",
        role=Role.DATA_PROVIDER, region_code="440000000000",
        feed_source=MonitoringSource.MEDICAL_INSURANCE,
    )  # fmt: skip
    occurred = (TODAY - dt.timedelta(days=20)).isoformat()
    deliver_batch(db, provider, MonitoringSource.MEDICAL_INSURANCE, TODAY, [
        {"id_number": id_number, "name": name, "region_code": region, "event": "medical_expense",
         "occurred_on": occurred, "amount_yuan": 52000.0, "detail": "住院自付"}
        for id_number, name, region in (("440122197804121076", "钟伟明", "440117103217"),
                                        ("440232198609142552", "赵金福", "440232113201"))
    ], now)  # fmt: skip
    for side in "ac":
        household = world[f"household_{side}"]["household"]
        world[f"warning_{side}"] = {"warning": db.scalar(
            sa.select(MonitoringWarning.id).where(MonitoringWarning.household_id == household)
        )}  # fmt: skip

    for key, username in (*((f"notification_{r}", u) for r, u in USERS.items()),
                          ("notification_other", "station_c")):  # fmt: skip
        user = get_user(db, username)
        notify(db, [user.id], "notice", "系统维护通知", link="/notifications")
        db.flush()
        world[key] = {"notification": db.scalar(
            sa.select(sa.func.max(Notification.id)).where(Notification.user_id == user.id)
        )}  # fmt: skip
    return world


class Matrix:
    """The app on one connection, the world, and each role's token and signed-in cookie."""

    def __init__(self, app: Flask, connection: Connection, world: dict[str, Values]) -> None:
        self.app = app
        self.connection = connection
        self.world = world
        self.headers: dict[str, dict[str, str]] = {"anonymous": {}}
        self.cookies: dict[str, str] = {}
        self.csrf: dict[str, str] = {}
        for role, username in (("anonymous", None), *USERS.items()):
            client = app.test_client()
            if username is not None:
                self.headers[role] = bearer(client, username)
                assert sign_in(client, username).status_code == 302, username
            self.csrf[role] = csrf_token(client, "/home" if username else "/login")
            cookie = client.get_cookie("session")
            assert cookie is not None
            self.cookies[role] = cookie.value

    def values(self, case: Case) -> Values:
        record = self.world[case.row.fill.record(case.role, case.scope)] if (
            case.row.fill is not None
        ) else {}  # fmt: skip
        username = USERS.get(case.role, "station_a")
        return {**record, "username": username, "period": PERIOD}

    def call(self, case: Case) -> tuple[TestResponse, list[tuple[str, str]]]:
        """Make the cell's request as its role; the response and the messages it flashed."""
        row = case.row
        values = self.values(case)
        path = row.path.format(**values)
        body = row.body(values) if callable(row.body) else row.body
        client = self.app.test_client()
        if path.startswith("/api/"):
            files = body is not None and any(isinstance(v, tuple) for v in body.values())
            sent: dict[str, Any] = {}
            if body is not None:
                sent = {"data": body} if files else {"json": body}
            response = client.open(path, method=row.method, headers=self.headers[case.role], **sent)
            return response, []
        client.set_cookie("session", self.cookies[case.role])
        form = {**(body or {}), "csrf_token": self.csrf[case.role]}
        response = client.open(path, method=row.method, data=form if row.method != "GET" else None)
        with client.session_transaction() as session:
            flashes = list(session.get("_flashes", []))
        return response, flashes


@pytest.fixture(scope="module")
def matrix(
    engine: Engine,
    cipher: PersonalDataCipher,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Matrix]:
    from web import create_app

    attachments = tmp_path_factory.mktemp("matrix") / "attachments"

    with engine.connect() as connection:
        outer = connection.begin()
        factory = make_session_factory(connection, cipher=cipher)
        app = create_app({
            "TESTING": True, "SESSION_FACTORY": factory, "DATABASE_URL": database_url,
            "SECRET_KEY": TEST_SECRET_KEY, "DATA_KEY": TEST_DATA_KEY,
            "ATTACHMENT_DIR": str(attachments),
            "MATCHER_INDEX_DIR": str(attachments.parent / "matcher-index"),
        })  # fmt: skip
        with factory() as db:
            world = build_world(db, LocalDiskStorage(attachments))
            db.commit()
        yield Matrix(app, connection, world)
        outer.rollback()


@pytest.fixture
def cell(matrix: Matrix) -> Iterator[Matrix]:
    """The matrix, with whatever the cell changes rolled back after it."""
    savepoint = matrix.connection.begin_nested()
    yield matrix
    savepoint.rollback()


# --- the tests ---------------------------------------------------------------------------


def describe(response: TestResponse) -> str:
    if response.mimetype in ("application/json", "text/html"):
        return response.get_data(as_text=True)[:400]
    return response.mimetype


@pytest.mark.parametrize("case", cases(ROWS), ids=str)
def test_access(case: Case, cell: Matrix) -> None:
    response, flashes = cell.call(case)
    expect = case.expect
    assert response.status_code == expect.status, f"{case}: got {response.status_code}: " + (
        describe(response)
    )
    if expect.location is not None:
        location = response.headers.get("Location", "")
        assert location.startswith(expect.location), f"{case}: redirected to {location!r}"
    if expect.flash is not None:
        said = [message for category, message in flashes if category == expect.flash]
        assert said, f"{case}: no {expect.flash} message among {flashes!r}"
        if expect.says is not None:
            assert any(expect.says in m for m in said), f"{case}: messages were {said!r}"
    elif expect.says is not None:
        assert expect.says in response.get_data(as_text=True), f"{case}: {describe(response)}"


def sample_path(row: Row) -> str:
    """The row's path with every placeholder filled (ids and names alike), query dropped."""
    return re.sub(r"\{\w+\}", "1", row.path).split("?")[0]


def test_every_endpoint_has_an_access_decision(matrix: Matrix) -> None:
    url_map = matrix.app.url_map
    adapter = url_map.bind("localhost")
    covered = set()
    for row in ROWS:
        rule, _ = adapter.match(sample_path(row), method=row.method, return_rule=True)
        covered.add((rule.rule, row.method))
    routes = {
        (rule.rule, method)
        for rule in url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    missing = sorted(routes - covered)
    assert not missing, f"endpoints without an access decision in ROWS: {missing}"


def test_each_role_is_played_by_a_user_of_that_role(matrix: Matrix) -> None:
    client = matrix.app.test_client()
    for role, headers in matrix.headers.items():
        if role == "anonymous":
            continue
        me = client.get("/api/v1/me", headers=headers)
        assert me.json["role"] == role, role
