"""Vocabulary of the service: codes are stored, Chinese labels are shown.

Every enum here is a ``str`` enum whose value is the stored code; ``label`` is the
Chinese text users see (pages translate it further when English is chosen).
"""

from __future__ import annotations

import enum
from typing import Self, overload


class LabelledEnum(str, enum.Enum):
    """A string enum whose members carry a Chinese label."""

    # Members are defined as ``(code, label)``; once the class is built, Enum replaces this
    # ``__new__`` with its lookup by code, ``Domain("medical")``, which type checkers read here.
    @overload
    def __new__(cls, code: str) -> Self: ...
    @overload
    def __new__(cls, code: str, label: str) -> Self: ...
    def __new__(cls, code: str, label: str | None = None) -> Self:
        if label is None:
            raise TypeError(f"{cls.__name__} member {code!r} needs a label")
        member = str.__new__(cls, code)
        member._value_ = code
        member.label = label
        return member

    label: str

    def __str__(self) -> str:
        return self.value

    @classmethod
    def codes(cls) -> list[str]:
        return [m.value for m in cls]

    @classmethod
    def labels(cls) -> dict[str, str]:
        return {m.value: m.label for m in cls}


class RegionLevel(LabelledEnum):
    PROVINCE = "province", "省"
    CITY = "city", "市"
    COUNTY = "county", "县（区）"
    TOWNSHIP = "township", "乡镇（街道）"
    VILLAGE = "village", "村（社区）"


#: Number of leading code digits that identify a region at each level; the rest are zero.
REGION_PREFIX_DIGITS = {
    RegionLevel.PROVINCE: 2,
    RegionLevel.CITY: 4,
    RegionLevel.COUNTY: 6,
    RegionLevel.TOWNSHIP: 9,
    RegionLevel.VILLAGE: 12,
}

#: Levels whose civil-affairs departments keep a supply ledger.
LEDGER_LEVELS = (RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY)


class Role(LabelledEnum):
    STATION_STAFF = "station_staff", "救助服务站工作人员"
    CHARITY_STAFF = "charity_staff", "慈善组织工作人员"
    CIVIL_AFFAIRS = "civil_affairs", "民政部门工作人员"
    ADMIN = "admin", "系统管理员"
    #: A department's account (医保、残联 …) that only delivers monitoring batches.
    DATA_PROVIDER = "data_provider", "部门数据报送"


class HouseholdCategory(LabelledEnum):
    DIBAO = "dibao", "低保对象"
    TEKUN = "tekun", "特困人员"
    DIBAO_EDGE = "dibao_edge", "低保边缘"
    RIGID_EXPENSE = "rigid_expense", "刚性支出困难"
    RELAPSE_WATCH = "relapse_watch", "防止返贫监测对象"
    TEMP_AID = "temp_aid", "临时救助对象"
    OTHER = "other", "其他困难人员"


class Domain(LabelledEnum):
    EDUCATION = "education", "教育助学"
    MEDICAL = "medical", "医疗/大病"
    DISABILITY = "disability", "助残"
    ELDERLY = "elderly", "养老/失能照护"
    CHILDREN = "children", "儿童关爱"
    HOUSING = "housing", "住房"
    EMPLOYMENT = "employment", "就业/能力提升"
    PSYCHOLOGICAL = "psychological", "心理慰藉"
    EMERGENCY = "emergency", "急难救助"
    LIVING = "living", "生活物资"
    HEATING = "heating", "取暖过冬"
    RURAL = "rural", "乡村振兴"


class ServiceForm(LabelledEnum):
    CASH = "cash", "资金"
    GOODS = "goods", "物资"
    SERVICE = "service", "服务"


class ServiceType(LabelledEnum):
    VISITING_CARE = "visiting_care", "访视照料"
    PSYCHOLOGICAL_COMFORT = "psychological_comfort", "心理慰藉"
    REHABILITATION = "rehabilitation", "康复训练"
    CAPACITY_BUILDING = "capacity_building", "能力提升"
    SCHOOL_AID = "school_aid", "助学"
    MEDICAL_AID = "medical_aid", "医疗费用资助"
    DAY_CARE = "day_care", "托管照护"
    HOUSING_REPAIR = "housing_repair", "住房改造"
    JOB_TRAINING = "job_training", "就业培训"
    GOODS_DELIVERY = "goods_delivery", "物资发放"
    EMERGENCY_RELIEF = "emergency_relief", "应急救助"


class CompanionRole(LabelledEnum):
    """Who the charity pairs with a household member in a pairing (结对帮扶)."""

    CARING_MOTHER = "caring_mother", "爱心妈妈"
    VOLUNTEER = "volunteer", "志愿者"
    SOCIAL_WORKER = "social_worker", "社工"
    CHARITY_WORKER = "charity_worker", "慈善组织工作人员"


class AttachmentKind(LabelledEnum):
    """What an attachment (a receipt, a photo, a signed confirmation) bears witness to."""

    EPISODE = "episode", "服务记录"
    COMPLETION = "completion", "帮扶完成"
    FOLLOW_UP = "follow_up", "回访"


class TargetGroup(LabelledEnum):
    """Groups a project serves; derived for a household from its members."""

    DISABLED_ELDERLY = "disabled_elderly", "失能老人"
    MINOR = "minor", "未成年人"
    DISABLED = "disabled", "残疾人"
    SERIOUS_ILLNESS = "serious_illness", "重病患者"
    ELDERLY = "elderly", "老年人"
    STUDENT = "student", "在校学生"


#: The guidance's four priority groups.
def member_groups(
    age: int | None,
    self_care: str | None = None,
    disability_type: str | None = None,
    illness_kind: str | None = None,
    school_stage: str | None = None,
) -> set[str]:
    """The target groups (codes) a person belongs to, derived from their circumstances.

    Works on codes or enum members alike, so both the web layer and the matcher use it.
    """
    groups: set[str] = set()
    if age is not None and age >= 60:
        groups.add(TargetGroup.ELDERLY.value)
        if self_care not in (None, "independent"):
            groups.add(TargetGroup.DISABLED_ELDERLY.value)
    if age is not None and age < 18:
        groups.add(TargetGroup.MINOR.value)
    if disability_type:
        groups.add(TargetGroup.DISABLED.value)
    if illness_kind in ("serious", "rare"):
        groups.add(TargetGroup.SERIOUS_ILLNESS.value)
    if school_stage:
        groups.add(TargetGroup.STUDENT.value)
    return groups


PRIORITY_GROUPS = (
    TargetGroup.DISABLED_ELDERLY,
    TargetGroup.MINOR,
    TargetGroup.DISABLED,
    TargetGroup.SERIOUS_ILLNESS,
)


class Relation(LabelledEnum):
    HEAD = "head", "户主"
    SPOUSE = "spouse", "配偶"
    CHILD = "child", "子女"
    PARENT = "parent", "父母"
    GRANDCHILD = "grandchild", "孙子女"
    GRANDPARENT = "grandparent", "祖父母"
    SIBLING = "sibling", "兄弟姐妹"
    OTHER = "other", "其他"


class Sex(LabelledEnum):
    MALE = "male", "男"
    FEMALE = "female", "女"


class DisabilityType(LabelledEnum):
    VISUAL = "visual", "视力残疾"
    HEARING = "hearing", "听力残疾"
    SPEECH = "speech", "言语残疾"
    PHYSICAL = "physical", "肢体残疾"
    INTELLECTUAL = "intellectual", "智力残疾"
    MENTAL = "mental", "精神残疾"
    MULTIPLE = "multiple", "多重残疾"


class ChildStatus(LabelledEnum):
    """The statuses of children that child-welfare policy and charity projects turn on."""

    ORPHAN = "orphan", "孤儿"
    DE_FACTO_ORPHAN = "de_facto_orphan", "事实无人抚养儿童"
    LEFT_BEHIND = "left_behind", "留守儿童"
    IN_DIFFICULTY = "in_difficulty", "困境儿童"


class HouseholdSituation(LabelledEnum):
    """How a household lives, as projects for 独居老人 or 单亲家庭 name it."""

    LIVING_ALONE = "living_alone", "独居"
    SINGLE_PARENT = "single_parent", "单亲家庭"
    SEVERE_DISABILITY = "severe_disability", "重度残疾人家庭"
    ELDERLY_ONLY = "elderly_only", "纯老年人家庭"
    GRANDPARENT_RAISED = "grandparent_raised", "隔代抚养"


class IllnessKind(LabelledEnum):
    SERIOUS = "serious", "重特大疾病"
    CHRONIC = "chronic", "慢性病"
    RARE = "rare", "罕见病"


class SelfCare(LabelledEnum):
    INDEPENDENT = "independent", "自理"
    PARTIAL = "partial", "半失能"
    DEPENDENT = "dependent", "失能"


class SchoolStage(LabelledEnum):
    PRESCHOOL = "preschool", "学前"
    PRIMARY = "primary", "小学"
    JUNIOR = "junior", "初中"
    SENIOR = "senior", "高中"
    VOCATIONAL = "vocational", "中职"
    COLLEGE = "college", "大学（大专）"


class Urgency(LabelledEnum):
    URGENT = "urgent", "急难"
    NORMAL = "normal", "一般"


class GovAidType(LabelledEnum):
    DIBAO_ALLOWANCE = "dibao_allowance", "低保金"
    TEKUN_SUPPORT = "tekun_support", "特困供养金"
    TEMPORARY_ASSISTANCE = "temporary_assistance", "临时救助"
    MEDICAL_ASSISTANCE = "medical_assistance", "医疗救助"
    EDUCATION_ASSISTANCE = "education_assistance", "教育救助"
    DISABILITY_SUBSIDY = "disability_subsidy", "残疾人两项补贴"
    HEATING_SUBSIDY = "heating_subsidy", "取暖补贴"
    HOUSING_ASSISTANCE = "housing_assistance", "住房救助"
    EMPLOYMENT_ASSISTANCE = "employment_assistance", "就业救助"
    OTHER = "other", "其他"


class StationKind(LabelledEnum):
    TOWNSHIP = "township", "乡镇（街道）综合救助服务站"
    VILLAGE = "village", "村（社区）救助服务点"


class OrganizationKind(LabelledEnum):
    """Who offers help: a registered charity, or a local provider a station registered
    (乡贤、村集体、爱心商户、志愿服务队 …) that need not be a registered organisation."""

    CHARITY = "charity", "慈善组织"
    LOCAL = "local", "本地资源提供方"


class LocalProviderKind(LabelledEnum):
    INDIVIDUAL = "individual", "爱心人士（乡贤）"
    VILLAGE_FUND = "village_fund", "村集体（社区基金）"
    MERCHANT = "merchant", "爱心商户"
    VOLUNTEER_TEAM = "volunteer_team", "志愿服务队"
    ENTERPRISE = "enterprise", "爱心企业"
    OTHER = "other", "其他"


class OrganizationStatus(LabelledEnum):
    PENDING = "pending", "待审核"
    VERIFIED = "verified", "已认证"
    REJECTED = "rejected", "已驳回"
    SUSPENDED = "suspended", "已暂停"


class ProjectStatus(LabelledEnum):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "待审核"
    VERIFIED = "verified", "已审核"
    REJECTED = "rejected", "已驳回"
    EXPIRED = "expired", "已到期"
    WITHDRAWN = "withdrawn", "已撤回"


class LedgerEditionStatus(LabelledEnum):
    PUBLISHED = "published", "已发布"
    SUPERSEDED = "superseded", "已被新版本替代"


class LedgerEditionState(LabelledEnum):
    """Where an edition stands on a given day (``LedgerEdition.state_on``); never stored."""

    UPCOMING = "upcoming", "待生效"
    CURRENT = "current", "当前"
    SUPERSEDED = "superseded", "已被新版本替代"


class HouseholdStatus(LabelledEnum):
    ACTIVE = "active", "在册"
    ARCHIVED = "archived", "已销档"


class NeedStatus(LabelledEnum):
    OPEN = "open", "待对接"
    REFERRED = "referred", "已转介"
    IN_SERVICE = "in_service", "帮扶中"
    PARTIAL = "partial", "部分满足"
    FULFILLED = "fulfilled", "已满足"
    CLOSED = "closed", "已关闭"


#: A need in these states takes no new referral, and its status no longer follows them.
SETTLED_NEED_STATES = (NeedStatus.FULFILLED, NeedStatus.CLOSED)

#: A need in these states waits on the station's worklist for a (further) referral: open, or
#: partly met with part of its gap still uncovered.
AWAITING_NEED_STATES = (NeedStatus.OPEN, NeedStatus.PARTIAL)


class ReferralStatus(LabelledEnum):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "待审批"
    APPROVED = "approved", "已批准"
    RETURNED = "returned", "已退回"
    ACCEPTED = "accepted", "已接收"
    DECLINED = "declined", "已婉拒"
    IN_SERVICE = "in_service", "服务中"
    COMPLETED = "completed", "已完成"
    CANCELLED = "cancelled", "已取消"
    EXPIRED = "expired", "已超时"


# The sets of referral states the rules speak of, each defined here once.

#: A referral still alive: a need has at most one open referral to each project.
OPEN_REFERRAL_STATES = (
    ReferralStatus.DRAFT,
    ReferralStatus.SUBMITTED,
    ReferralStatus.RETURNED,
    ReferralStatus.APPROVED,
    ReferralStatus.ACCEPTED,
    ReferralStatus.IN_SERVICE,
)
#: The charity holds one of the project's places for the household (taken on approval, given
#: back on a decline, a cancellation or an expiry).
PLACE_HOLDING_STATES = (
    ReferralStatus.APPROVED,
    ReferralStatus.ACCEPTED,
    ReferralStatus.IN_SERVICE,
)
#: The station and the office are still deciding: the charity never sees these steps.
BEFORE_CHARITY_STATES = (
    ReferralStatus.DRAFT,
    ReferralStatus.SUBMITTED,
    ReferralStatus.RETURNED,
)
#: Finished one way or another: nothing more happens to the referral but its follow-up (回访),
#: and once closed longer than ``CASE_RETENTION_DAYS`` it is archived, read-only.
CLOSED_REFERRAL_STATES = (
    ReferralStatus.COMPLETED,
    ReferralStatus.DECLINED,
    ReferralStatus.CANCELLED,
    ReferralStatus.EXPIRED,
)
#: Sent on by the station and not finished: the referral is under way.
ACTIVE_REFERRAL_STATES = (
    ReferralStatus.SUBMITTED,
    ReferralStatus.APPROVED,
    ReferralStatus.ACCEPTED,
    ReferralStatus.IN_SERVICE,
)
#: The charity has taken the household on and is serving it: it may see the contact.
ENGAGED_STATES = (ReferralStatus.ACCEPTED, ReferralStatus.IN_SERVICE)
#: The charity may see the household's record (and its need): from its acceptance on, the
#: completed help included.
CHARITY_SEES_HOUSEHOLD_STATES = (*ENGAGED_STATES, ReferralStatus.COMPLETED)
#: The charity said yes: the outcome its acceptance rate and the matcher's training count.
ACCEPTED_BY_CHARITY_STATES = (*ENGAGED_STATES, ReferralStatus.COMPLETED)


class AllocationPlanStatus(LabelledEnum):
    DRAFT = "draft", "待审批"
    APPROVED = "approved", "已批准"
    DISCARDED = "discarded", "已作废"


class AllocationLineStatus(LabelledEnum):
    PROPOSED = "proposed", "拟分配"
    REMOVED = "removed", "已移除"
    APPROVED = "approved", "已批准"
    CONFLICT = "conflict", "冲突未批准"


class DeclineReason(LabelledEnum):
    NO_CAPACITY = "no_capacity", "名额已满"
    NOT_ELIGIBLE = "not_eligible", "不符合条件"
    COULDNT_CONTACT = "couldnt_contact", "无法联系"
    HOUSEHOLD_DECLINED = "household_declined", "家庭拒绝"
    DUPLICATE_AID = "duplicate_aid", "已获同类帮扶"
    OUT_OF_AREA = "out_of_area", "超出服务区域"
    OTHER = "other", "其他"


class BackReferralStatus(LabelledEnum):
    OPEN = "open", "待处理"
    HANDLED = "handled", "已处理"


class JobRunStatus(LabelledEnum):
    QUEUED = "queued", "等待执行"
    RUNNING = "running", "运行中"
    SUCCEEDED = "succeeded", "成功"
    FAILED = "failed", "失败"
    SKIPPED = "skipped", "未补跑（首次启动前的时刻）"


class MonitoringSource(LabelledEnum):
    """A department that delivers monitoring records (政务数据共享)."""

    MEDICAL_INSURANCE = "medical_insurance", "医保部门"
    DISABLED_PERSONS = "disabled_persons", "残联"
    EDUCATION = "education", "教育部门"
    CIVIL_AFFAIRS = "civil_affairs", "民政部门"
    HUMAN_RESOURCES = "human_resources", "人社部门"
    EMERGENCY = "emergency", "应急管理部门"


class MonitoringEvent(LabelledEnum):
    """What a monitoring record reports; each source may report only its own events."""

    MEDICAL_EXPENSE = "medical_expense", "医疗费用个人自付"
    DISABILITY_ISSUED = "disability_issued", "残疾证新办"
    DISABILITY_CHANGED = "disability_changed", "残疾类别或等级变更"
    SCHOOL_ENROLLED = "school_enrolled", "入学"
    SCHOOL_DROPOUT = "school_dropout", "辍学"
    SCHOOL_STAGE_CHANGED = "school_stage_changed", "学段变化"
    AID_STARTED = "aid_started", "救助开始"
    AID_STOPPED = "aid_stopped", "救助停止"
    AID_CHANGED = "aid_changed", "救助变更"
    UNEMPLOYMENT_REGISTERED = "unemployment_registered", "失业登记"
    DISASTER_LOSS = "disaster_loss", "灾害损失"


#: The events each source may report.
SOURCE_EVENTS: dict[MonitoringSource, tuple[MonitoringEvent, ...]] = {
    MonitoringSource.MEDICAL_INSURANCE: (MonitoringEvent.MEDICAL_EXPENSE,),
    MonitoringSource.DISABLED_PERSONS: (
        MonitoringEvent.DISABILITY_ISSUED,
        MonitoringEvent.DISABILITY_CHANGED,
    ),
    MonitoringSource.EDUCATION: (
        MonitoringEvent.SCHOOL_ENROLLED,
        MonitoringEvent.SCHOOL_DROPOUT,
        MonitoringEvent.SCHOOL_STAGE_CHANGED,
    ),
    MonitoringSource.CIVIL_AFFAIRS: (
        MonitoringEvent.AID_STARTED,
        MonitoringEvent.AID_STOPPED,
        MonitoringEvent.AID_CHANGED,
    ),
    MonitoringSource.HUMAN_RESOURCES: (MonitoringEvent.UNEMPLOYMENT_REGISTERED,),
    MonitoringSource.EMERGENCY: (MonitoringEvent.DISASTER_LOSS,),
}


class WarningRule(LabelledEnum):
    """A warning rule (预警规则) run on monitoring records."""

    MEDICAL_COST = "medical_cost", "大额医疗支出"
    SEVERE_DISABILITY = "severe_disability", "新增一、二级残疾"
    AID_STOPPED = "aid_stopped", "救助停止而情况未变"
    SCHOOL_DROPOUT = "school_dropout", "义务教育阶段辍学"
    HEAD_UNEMPLOYED = "head_unemployed", "户主失业登记"
    DISASTER_LOSS = "disaster_loss", "受灾损失"


class WarningStatus(LabelledEnum):
    OPEN = "open", "待核实"
    CONFIRMED = "confirmed", "已确认"
    DISMISSED = "dismissed", "已排除"


class DismissReason(LabelledEnum):
    """Why a station dismissed a warning."""

    ALREADY_HELPED = "already_helped", "已在帮扶或已有救助"
    SITUATION_IMPROVED = "situation_improved", "情况已好转"
    NOT_IN_NEED = "not_in_need", "经核实不困难"
    NOT_FOUND = "not_found", "查无此人"
    MOVED_AWAY = "moved_away", "已迁出本辖区"
    RECORD_WRONG = "record_wrong", "部门数据有误"
    OTHER = "other", "其他"
