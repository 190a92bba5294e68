"""HTML forms (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs lag 3.3
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)
from wtforms.widgets import CheckboxInput, ListWidget, NumberInput

from matcher.conditions import shipped_catalogue
from models.enums import (
    AttachmentKind,
    ChildStatus,
    CompanionRole,
    DeclineReason,
    DisabilityType,
    DismissReason,
    Domain,
    GovAidType,
    HouseholdCategory,
    HouseholdSituation,
    IllnessKind,
    LabelledEnum,
    LocalProviderKind,
    MonitoringSource,
    Relation,
    Role,
    SchoolStage,
    SelfCare,
    ServiceForm,
    ServiceType,
    Sex,
    StationKind,
    TargetGroup,
    Urgency,
)
from web.services.contracts import GOV_AID, HOUSEHOLD, MAX_FEN, MEMBER, NEED, PROJECT, FieldRule
from web.services.referrals.followups import FOLLOW_UP, RESOLUTION
from web.services.referrals.pairings import PAIRING, PAIRING_END
from web.services.warnings import DUE_DAYS, MAX_THRESHOLD_FEN, SHARE_PERCENT

#: Largest amount a form accepts (yuan), as everywhere (``contracts.MAX_FEN``).
MAX_YUAN = MAX_FEN // 100


def fen_of(value: Decimal | None) -> int | None:
    """An amount typed in yuan, in fen."""
    return None if value is None else int(round(value * 100))


def follows(rule: FieldRule, *, required: bool | None = None) -> list[Any]:
    """A field's validators from its contract rule, with the rule's messages: required or
    optional (``required`` overrides the rule where the form decides, as on member rows that
    may be left blank), its length, and its bounds (amounts typed in yuan)."""
    if rule.required if required is None else required:
        present = DataRequired if rule.kind in ("text", "choices", "codes") else InputRequired
        checks: list[Any] = [present(_l(rule.missing_message))]
    else:
        checks = [Optional()]
    if rule.max_length is not None:
        checks.append(Length(max=rule.max_length, message=_l(rule.length_message)))
    if rule.is_bounded:
        scale = Decimal(100) if rule.kind == "fen" else 1
        low, high = (
            None if v is None else v / scale if scale != 1 else v
            for v in (rule.min_value, rule.max_value)
        )
        checks.append(NumberRange(low, high, message=_l(rule.range_message)))
    return checks


class LoginForm(FlaskForm):
    username = StringField(
        _l("用户名"), validators=[DataRequired(_l("请输入用户名。")), Length(max=64)]
    )
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码。"))])


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("当前密码"), validators=[DataRequired(_l("请输入当前密码。"))]
    )
    new_password = PasswordField(
        _l("新密码"),
        validators=[
            DataRequired(_l("请输入新密码。")),
            Length(min=8, message=_l("新密码至少 8 个字符。")),
        ],
    )
    confirm = PasswordField(
        _l("确认新密码"),
        validators=[EqualTo("new_password", message=_l("两次输入的新密码不一致。"))],
    )


class EmptyForm(FlaskForm):
    """A form with only the CSRF token (sign-out, language switch)."""


def _choices(enum_cls: type[LabelledEnum]) -> list[SelectChoice]:
    # Lazy: the label is looked up in the page's language when the form is drawn.
    return [SelectChoice(m.value, _l(m.label)) for m in enum_cls]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def condition_choices() -> list[SelectChoice]:
    """The condition catalogue as grouped choices: each top-level entry that has entries
    below it is a group (itself first, as choosing it covers the rest), the others share
    one group. Synonyms follow the name, so 尿毒症 also reads 终末期肾病."""
    catalogue = shipped_catalogue()

    def shown(code: str, group: Any) -> SelectChoice:
        entry = catalogue.get(code)
        also = "、".join(entry.synonyms[:2])
        label = f"{entry.name}（{also}）" if also else entry.name
        return SelectChoice(code, label, optgroup=group)

    grouped: list[SelectChoice] = []
    alone: list[SelectChoice] = []
    for entry in catalogue:
        if entry.parent is not None:
            continue
        below = catalogue.descendants(entry.code)
        if below:
            grouped += [shown(code, entry.name) for code in (entry.code, *below)]
        else:
            alone.append(shown(entry.code, _l("其他病种")))
    return grouped + alone


class ConditionsField(SelectMultipleField):
    """Conditions picked from the catalogue (a grouped list; several may be chosen)."""

    def __init__(self, label: Any = None, **kwargs: Any) -> None:
        super().__init__(label, choices=condition_choices(), **kwargs)


class ProjectForm(FlaskForm):
    """A project as a charity fills it in; amounts in yuan."""

    name = StringField(_l("项目名称"), validators=follows(PROJECT["name"]))
    description = TextAreaField(_l("项目简介"), validators=follows(PROJECT["description"]))
    domains = MultiCheckboxField(
        _l("帮扶领域"), choices=_choices(Domain), validators=follows(PROJECT["domains"])
    )
    target_groups = MultiCheckboxField(_l("帮扶对象"), choices=_choices(TargetGroup))
    forms = MultiCheckboxField(_l("帮扶形式"), choices=_choices(ServiceForm))
    service_types = MultiCheckboxField(_l("服务类型"), choices=_choices(ServiceType))
    service_area = StringField(_l("服务区域"), validators=follows(PROJECT["service_area"]))
    min_age = IntegerField(_l("最小年龄"), validators=follows(PROJECT["min_age"]))
    max_age = IntegerField(_l("最大年龄"), validators=follows(PROJECT["max_age"]))
    household_categories = MultiCheckboxField(_l("家庭类别"), choices=_choices(HouseholdCategory))
    max_income_per_head = DecimalField(
        _l("月人均收入上限（元）"), validators=follows(PROJECT["max_income_per_head_fen"])
    )
    max_disability_grade = IntegerField(
        _l("残疾等级上限"), validators=follows(PROJECT["max_disability_grade"])
    )
    illness_kinds = MultiCheckboxField(_l("疾病类型"), choices=_choices(IllnessKind))
    school_stages = MultiCheckboxField(_l("就学阶段"), choices=_choices(SchoolStage))
    sexes = MultiCheckboxField(_l("性别"), choices=_choices(Sex))
    disability_types = MultiCheckboxField(_l("残疾类别"), choices=_choices(DisabilityType))
    conditions = ConditionsField(_l("病种（可多选；选上级病种即涵盖其下各病种）"))
    child_statuses = MultiCheckboxField(_l("儿童身份"), choices=_choices(ChildStatus))
    household_situations = MultiCheckboxField(_l("家庭情形"), choices=_choices(HouseholdSituation))
    amount_per_beneficiary = DecimalField(
        _l("每人帮扶金额（元）"), validators=follows(PROJECT["amount_per_beneficiary_fen"])
    )
    budget = DecimalField(_l("项目预算（元）"), validators=follows(PROJECT["budget_fen"]))
    quota = IntegerField(_l("名额"), validators=follows(PROJECT["quota"]))
    starts_on = DateField(_l("开始日期"), validators=follows(PROJECT["starts_on"]))
    ends_on = DateField(_l("结束日期"), validators=follows(PROJECT["ends_on"]))
    accepts_simplified = BooleanField(_l("接受简化程序转介"))
    response_days = IntegerField(
        _l("响应时限（天）"), default=7, validators=follows(PROJECT["response_days"])
    )
    contact_name = StringField(_l("联系人"), validators=follows(PROJECT["contact_name"]))
    contact_phone = StringField(_l("联系电话"), validators=follows(PROJECT["contact_phone"]))


class ProjectPrefillForm(Form):
    """What a link may fill into a new project (GET, no CSRF): a domain, a service area and a
    target group, as 需求缺口's 据此设立项目 gives them; checked like any input."""

    domain = SelectField(_l("帮扶领域"), choices=_choices(Domain), validators=[Optional()])
    area = StringField(
        _l("服务区域"),
        validators=[Optional(), Regexp(r"^\d{12}$", message=_l("区划代码应为 12 位数字。"))],
    )
    group = SelectField(_l("帮扶对象"), choices=_choices(TargetGroup), validators=[Optional()])


class LocalResourceForm(ProjectForm):
    """A local resource (本地资源) as a station fills it in: a project, the giver, and the
    person responsible for it (the project's contact, required here)."""

    provider_name = StringField(
        _l("提供方名称"), validators=[DataRequired(_l("请填写提供方名称。")), Length(max=128)]
    )
    provider_kind = SelectField(_l("提供方类型"), choices=_choices(LocalProviderKind))
    contact_name = StringField(
        _l("负责人"), validators=[DataRequired(_l("请填写负责人。")), Length(max=64)]
    )
    contact_phone = StringField(
        _l("负责人联系电话"),
        validators=[DataRequired(_l("请填写负责人联系电话。")), Length(max=32)],
    )


class CountySettingsForm(FlaskForm):
    allows_self_approval = BooleanField(_l("允许同一人发起并审批"))


class ReviewForm(FlaskForm):
    reason = StringField(_l("驳回理由"), validators=[Length(max=500)])


class RegionFilterForm(Form):
    """A region chosen to look at (GET, no CSRF): the dashboard's other region."""

    region = StringField(_l("查看区划"), validators=[Optional(), Length(min=12, max=12)])


class BuildForm(FlaskForm):
    region_code = StringField(
        _l("编制部门所在区划"), validators=[DataRequired(), Length(min=12, max=12)]
    )
    #: Picked from this half-year and the next (the view sets the choices, in words).
    period = SelectField(_l("期次"), validators=[DataRequired()])


class UploadForm(FlaskForm):
    file = FileField(_l("Excel 文件（.xlsx）"), validators=[FileRequired(_l("请选择文件。"))])


def _optional_choices(enum_cls: type) -> list[SelectChoice]:
    return [SelectChoice("", "—"), *_choices(enum_cls)]


class MemberForm(Form):
    """One member row of the household form (CSRF is the enclosing form's)."""

    name = StringField(_l("姓名"), validators=follows(MEMBER["name"], required=False))
    relation = SelectField(_l("关系"), choices=_choices(Relation), default="child")
    id_number = StringField(_l("身份证号"), validators=follows(MEMBER["id_number"]))
    birth_on = DateField(_l("出生日期"), validators=[Optional()])
    sex = SelectField(_l("性别"), choices=_optional_choices(Sex), default="")
    disability_type = SelectField(
        _l("残疾类别"), choices=_optional_choices(DisabilityType), default=""
    )
    disability_grade = IntegerField(_l("残疾等级"), validators=follows(MEMBER["disability_grade"]))
    illness = StringField(_l("疾病"), validators=follows(MEMBER["illness"]))
    illness_kind = SelectField(_l("疾病类型"), choices=_optional_choices(IllnessKind), default="")
    self_care = SelectField(_l("自理能力"), choices=_choices(SelfCare), default="independent")
    school_stage = SelectField(_l("就学阶段"), choices=_optional_choices(SchoolStage), default="")
    conditions = ConditionsField(_l("病种（从病种目录中选择）"))
    child_status = SelectField(_l("儿童身份"), choices=_optional_choices(ChildStatus), default="")


class HouseholdForm(FlaskForm):
    region_code = SelectField(_l("所在村（社区）"), validators=[DataRequired()])
    address = StringField(_l("住址"), validators=follows(HOUSEHOLD["address"]))
    phone = StringField(_l("联系电话"), validators=follows(HOUSEHOLD["phone"]))
    categories = MultiCheckboxField(_l("家庭类别"), choices=_choices(HouseholdCategory))
    situations = MultiCheckboxField(_l("家庭情形"), choices=_choices(HouseholdSituation))
    income_per_head = DecimalField(
        _l("月人均收入（元）"), validators=follows(HOUSEHOLD["income_per_head_fen"])
    )
    medical_expense = DecimalField(
        _l("年医疗自付（元）"), validators=follows(HOUSEHOLD["medical_expense_fen"])
    )
    education_expense = DecimalField(
        _l("年教育支出（元）"), validators=follows(HOUSEHOLD["education_expense_fen"])
    )
    members = FieldList(FormField(MemberForm), min_entries=3)


class NeedForm(FlaskForm):
    domain = SelectField(_l("帮扶领域"), choices=_choices(Domain))
    text = TextAreaField(_l("需求描述"), validators=follows(NEED["text"]))
    member_id = SelectField(_l("涉及成员"), choices=[], validate_choice=False, default="")
    amount_gap = DecimalField(_l("资金缺口（元）"), validators=follows(NEED["amount_gap_fen"]))
    urgency = SelectField(_l("紧急程度"), choices=_choices(Urgency), default="normal")
    public_summary = TextAreaField(
        _l("对外情况说明"),
        description=_l(
            "慈善组织接收转介前只看到这段文字，不要写电话、证件号、姓名、住址、微信或QQ号；"
            "不填则按帮扶领域自动生成。"
        ),
        validators=follows(NEED["public_summary"]),
    )


class NeedSummaryForm(FlaskForm):
    public_summary = TextAreaField(_l("对外情况说明"), validators=[DataRequired(), Length(max=500)])


class AidForm(FlaskForm):
    aid_type = SelectField(_l("救助类型"), choices=_choices(GovAidType))
    amount = DecimalField(_l("金额（元）"), validators=follows(GOV_AID["amount_fen"]))
    period_start_on = DateField(_l("开始日期"), validators=[InputRequired(_l("请填写开始日期。"))])
    period_end_on = DateField(_l("结束日期"), validators=[Optional()])


class ConsentForm(FlaskForm):
    on = DateField(_l("授权日期"), validators=[InputRequired(_l("请填写授权日期。"))])
    scope = StringField(
        _l("授权范围"),
        default="困难情况核实、慈善帮扶转介",
        validators=[DataRequired(), Length(max=255)],
    )


class ReferralStepForm(FlaskForm):
    """One step of a referral; which fields matter depends on the step."""

    version = IntegerField(validators=[InputRequired()])
    reason = StringField(_l("原因"), validators=[Optional(), Length(max=500)])
    decline_reason = SelectField(
        _l("婉拒原因"), choices=[SelectChoice("", "—"), *_choices(DeclineReason)], default=""
    )
    decline_note = StringField(_l("婉拒说明"), validators=[Optional(), Length(max=500)])
    acknowledge_duplicate = BooleanField(_l("已知该需求另有慈善组织在帮扶，仍要提交"))
    delivered_amount = DecimalField(
        _l("实际帮扶金额（元）"), validators=[Optional(), NumberRange(0, MAX_YUAN)]
    )
    delivered_service = TextAreaField(_l("提供的服务"), validators=[Length(max=2000)])


class EpisodeForm(FlaskForm):
    on = DateField(_l("服务日期"), validators=[InputRequired(_l("请填写服务日期。"))])
    kind = SelectField(_l("服务类型"), choices=_choices(ServiceType))
    quantity = IntegerField(
        _l("数量"), default=1, validators=[InputRequired(), NumberRange(1, 10_000)]
    )
    unit = StringField(_l("单位"), default="次", validators=[DataRequired(), Length(max=16)])
    value = DecimalField(_l("折合金额（元）"), validators=[Optional(), NumberRange(0, MAX_YUAN)])
    remark = StringField(_l("备注"), validators=[Length(max=500)])


class AttachmentForm(FlaskForm):
    """A receipt, photo or signed confirmation; the page offers only the kinds (and the
    episodes) the user may attach to now."""

    file = FileField(
        _l("文件（PDF、JPEG 或 PNG）"), validators=[FileRequired(_l("请选择要上传的文件。"))],
        render_kw={"accept": ".pdf,.jpg,.jpeg,.png"},
    )  # fmt: skip
    kind = SelectField(_l("附于"), choices=_choices(AttachmentKind))
    episode_id = SelectField(_l("服务记录"), choices=[], validate_choice=False)
    caption = StringField(_l("说明"), validators=[Length(max=200)])


class BackReferralForm(FlaskForm):
    aid_types = MultiCheckboxField(_l("可能符合的政府救助"), choices=_choices(GovAidType))
    note = TextAreaField(
        _l("情况说明"), validators=[DataRequired(_l("请说明情况。")), Length(max=2000)]
    )


class HandleForm(FlaskForm):
    note = StringField(
        _l("处理情况"), validators=[DataRequired(_l("请填写处理情况。")), Length(max=500)]
    )


_YES_NO = [SelectChoice("yes", _l("是")), SelectChoice("no", _l("否"))]
#: 1–5 as the household would say it.
_SATISFACTION = [
    SelectChoice("1", _l("1 很不满意")), SelectChoice("2", _l("2 不满意")),
    SelectChoice("3", _l("3 一般")), SelectChoice("4", _l("4 满意")),
    SelectChoice("5", _l("5 很满意")),
]  # fmt: skip


def _answer(name: str, label: Any, choices: list[SelectChoice]) -> RadioField:
    rule = FOLLOW_UP[name]
    return RadioField(label, choices=choices, validators=[InputRequired(_l(rule.missing_message))])


class FollowUpForm(FlaskForm):
    """回访, as the household's station records it (``followups.FOLLOW_UP``)."""

    received = _answer("received", _l("家庭是否收到帮扶"), _YES_NO)
    as_recorded = _answer("as_recorded", _l("金额或服务是否与完成时记录的一致"), _YES_NO)
    satisfaction = _answer("satisfaction", _l("家庭满意度"), _SATISFACTION)
    need_met = _answer("need_met", _l("需求是否已满足"), _YES_NO)
    note = TextAreaField(_l("回访说明（选填）"), validators=follows(FOLLOW_UP["note"]))

    def answers(self) -> dict[str, Any]:
        """The answers as the service takes them (``None`` where none was chosen)."""

        def yes(value: str | None) -> bool | None:
            return None if value not in ("yes", "no") else value == "yes"

        raw = self.satisfaction.data
        return {
            "received": yes(self.received.data), "as_recorded": yes(self.as_recorded.data),
            "satisfaction": int(raw) if raw and str(raw).isdigit() else None,
            "need_met": yes(self.need_met.data), "note": self.note.data,
        }  # fmt: skip


class FollowUpResolveForm(FlaskForm):
    resolution = TextAreaField(_l("核实处理情况"), validators=follows(RESOLUTION))


class PairingForm(FlaskForm):
    """结对帮扶, as the charity sets it up (``pairings.PAIRING``); the page offers the members
    of the need's household as the choices of ``member_id``."""

    companion_name = StringField(_l("结对人姓名"), validators=follows(PAIRING["companion_name"]))
    companion_role = SelectField(
        _l("结对人身份"), choices=[SelectChoice("", "—"), *_choices(CompanionRole)], default="",
        validators=[DataRequired(_l(PAIRING["companion_role"].missing_message))],
    )  # fmt: skip
    member_id = SelectField(
        _l("结对对象"), choices=[], validate_choice=False,
        validators=[DataRequired(_l(PAIRING["member_id"].missing_message))],
    )  # fmt: skip
    starts_on = DateField(_l("开始日期"), validators=follows(PAIRING["starts_on"]))
    ends_on = DateField(_l("结束日期"), validators=follows(PAIRING["ends_on"]))
    visits_per_month = IntegerField(
        _l("每月探访次数"), default=2, validators=follows(PAIRING["visits_per_month"])
    )
    # Named apart from the 双向转介 form's ``note`` on the same page.
    pairing_note = StringField(_l("结对说明（选填）"), validators=follows(PAIRING["note"]))


class PairingEndForm(FlaskForm):
    """Ending a pairing early: its last day and why."""

    ended_on = DateField(_l("结对结束日期"), validators=follows(PAIRING_END["ended_on"]))
    end_reason = StringField(_l("提前结束原因"), validators=follows(PAIRING_END["reason"]))


# --- administration -------------------------------------------------------------------------


class AccountForm(FlaskForm):
    """A new account; the password is handed over and changed at the first sign-in."""

    username = StringField(
        _l("用户名"), validators=[DataRequired(_l("请填写用户名。")), Length(max=64)]
    )
    display_name = StringField(
        _l("姓名"), validators=[DataRequired(_l("请填写姓名。")), Length(max=64)]
    )
    role = SelectField(_l("角色"), choices=_choices(Role))
    region_code = StringField(_l("所属区划"), validators=[Optional(), Length(min=12, max=12)])
    station_id = SelectField(_l("所属服务站"), choices=[], validate_choice=False, default="")
    organization_id = SelectField(_l("所属慈善组织"), choices=[], validate_choice=False, default="")
    feed_source = SelectField(
        _l("数据来源"), choices=[SelectChoice("", "—"), *_choices(MonitoringSource)], default=""
    )
    password = PasswordField(
        _l("初始密码"),
        validators=[
            DataRequired(_l("请填写初始密码。")),
            Length(min=8, message=_l("密码至少 8 个字符。")),
        ],
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("新的临时密码"),
        validators=[
            DataRequired(_l("请填写新的临时密码。")),
            Length(min=8, message=_l("密码至少 8 个字符。")),
        ],
    )


class StationForm(FlaskForm):
    name = StringField(
        _l("服务站名称"), validators=[DataRequired(_l("请填写服务站名称。")), Length(max=128)]
    )
    kind = SelectField(_l("类型"), choices=_choices(StationKind))
    region_code = StringField(
        _l("所在乡镇或村"), validators=[DataRequired(_l("请选择所在乡镇或村。")), Length(max=12)]
    )
    contact_name = StringField(_l("联系人"), validators=[Optional(), Length(max=64)])
    phone = StringField(_l("联系电话"), validators=[Optional(), Length(max=32)])
    address = StringField(_l("地址"), validators=[Optional(), Length(max=255)])


class SuspendForm(FlaskForm):
    reason = StringField(
        _l("暂停理由"), validators=[DataRequired(_l("请说明暂停理由。")), Length(max=500)]
    )


class WarningConfirmForm(FlaskForm):
    """确认并登记需求: the need a warning becomes, pre-filled from its evidence."""

    domain = SelectField(_l("帮扶领域"), choices=_choices(Domain))
    text = TextAreaField(_l("需求描述"), validators=follows(NEED["text"]))
    amount_gap_yuan = DecimalField(_l("资金缺口（元）"), validators=follows(NEED["amount_gap_fen"]))
    urgency = SelectField(_l("紧急程度"), choices=_choices(Urgency), default="normal")


class WarningDismissForm(FlaskForm):
    """排除: a reason from the list, and a note (required for 其他)."""

    reason = SelectField(
        _l("排除原因"),
        choices=[SelectChoice("", "—"), *_choices(DismissReason)],
        validators=[DataRequired(_l("请选择排除原因。"))],
        default="",
    )
    note = TextAreaField(_l("说明"), validators=[Optional(), Length(max=500)])


class WarningRuleForm(FlaskForm):
    """One warning rule as a county runs it; amounts typed in yuan."""

    enabled = BooleanField(_l("启用"))
    # The service's bounds, checked here first so the form is kept with what was typed.
    threshold_yuan = DecimalField(
        _l("金额标准（元）"),
        validators=[
            Optional(),
            NumberRange(
                0, MAX_THRESHOLD_FEN // 100, message=_l("金额门槛须在 0 至 10,000,000 元之间。")
            ),
        ],
    )
    income_share_percent = IntegerField(
        _l("占家庭年收入比例（％）"),
        validators=[
            Optional(),
            NumberRange(
                SHARE_PERCENT[0],
                SHARE_PERCENT[-1],
                message=_l("占家庭年收入的比例须在 1% 至 100% 之间。"),
            ),
        ],
    )
    due_days = IntegerField(
        _l("处理期限（天）"),
        validators=[
            InputRequired(_l("请填写处理期限。")),
            NumberRange(DUE_DAYS[0], DUE_DAYS[-1], message=_l("核实期限须在 1 至 90 天之间。")),
        ],
    )


class MonitoringUploadForm(FlaskForm):
    """A department's batch as a file made from its source's template."""

    source = SelectField(_l("数据来源"), choices=_choices(MonitoringSource))
    delivered_on = DateField(_l("报送日期"), validators=[InputRequired(_l("请填写报送日期。"))])
    file = FileField(_l("数据文件（.xlsx 或 .csv）"), validators=[FileRequired(_l("请选择文件。"))])


#: Each priority weight of an allocation plan is a number from 0 to 10, as
#: ``matcher.allocation.Weights`` checks it; the input says so to the browser too.
_WEIGHT_INPUT = NumberInput(step="any", min=0, max=10)


class AllocationWeightsForm(FlaskForm):
    """The priority weights of an allocation plan (联合分配方案), kept as typed: the service
    checks them, and a refused value comes back beside its field as it was typed."""

    urgent = StringField(_l("急难加权"), widget=_WEIGHT_INPUT)
    priority_group = StringField(_l("重点群体加权"), widget=_WEIGHT_INPUT)
    waiting = StringField(_l("等待天数加权"), widget=_WEIGHT_INPUT)
    gap_share = StringField(_l("缺口覆盖加权"), widget=_WEIGHT_INPUT)
    township_floor = BooleanField(_l("乡镇保底"))

    NUMBERS = ("urgent", "priority_group", "waiting", "gap_share")

    def weights(self) -> dict[str, Any]:
        """The weights as the service takes them: numbers where a number was typed (what
        was not one goes as typed, for the service to name), the floor as yes or no."""
        chosen: dict[str, Any] = {"township_floor": bool(self.township_floor.data)}
        for name in self.NUMBERS:
            text = (self[name].data or "").strip()
            try:
                chosen[name] = float(text)
            except ValueError:
                chosen[name] = text
        return chosen

    def show(self, weights: dict[str, Any]) -> None:
        """Fill the form with a plan's weights (1.0 shown as 1)."""
        for name in self.NUMBERS:
            self[name].data = f"{weights.get(name, 0):g}"
        self.township_floor.data = bool(weights.get("township_floor"))


class AllocationPlanForm(AllocationWeightsForm):
    #: The county or one of its townships, chosen with the region picker.
    region_code = StringField(
        _l("分配范围"),
        validators=[DataRequired(_l("请选择县（区）或乡镇（街道）。")), Length(max=12)],
    )


class AllocationLineForm(FlaskForm):
    """A project for a line of a plan, or for a need the plan left out (``need_id``)."""

    project_id = IntegerField(validators=[InputRequired(_l("请选择项目。"))])
    need_id = IntegerField(validators=[Optional()])


class AllocationApprovalForm(FlaskForm):
    checked = BooleanField(
        _l("我已核对方案中的每一行"),
        validators=[DataRequired(_l("请先核对方案中的每一行，并勾选“我已核对”。"))],
    )
