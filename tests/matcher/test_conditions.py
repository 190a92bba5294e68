"""The condition catalogue names the right illness for the words people use, and only that."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from matcher import conditions as conditions_module
from matcher.conditions import (
    SHIPPED_PATH,
    CatalogueError,
    ConditionCatalogue,
    UnknownCondition,
    load_catalogue,
)
from models.enums import IllnessKind


@pytest.fixture(scope="module")
def catalogue() -> ConditionCatalogue:
    return load_catalogue(SHIPPED_PATH)


def codes(catalogue: ConditionCatalogue, text: str) -> list[str]:
    return [entry.code for entry in catalogue.find_in_text(text)]


def test_the_shipped_catalogue_loads_and_is_a_useful_size(catalogue: ConditionCatalogue) -> None:
    assert 120 <= len(catalogue) <= 200
    assert SHIPPED_PATH.parent == Path(__file__).resolve().parents[2] / "seed" / "data"


def test_the_catalogue_kinds_are_the_illness_kinds_of_the_service() -> None:
    assert set(conditions_module.KINDS) == set(IllnessKind.codes())


@pytest.mark.parametrize(
    ("word", "code"),
    [
        ("尿毒症", "uraemia"),
        ("终末期肾病", "uraemia"),
        ("洗血", "uraemia"),
        ("透析", "uraemia"),
        ("老年痴呆", "alzheimers_disease"),
        ("阿尔兹海默症", "alzheimers_disease"),  # the common misspelling
        ("认知症", "dementia"),
        ("自闭症", "autism"),
        ("血癌", "leukaemia"),
        ("羊角风", "epilepsy"),
        ("发羊吊", "epilepsy"),
        ("渐冻症", "amyotrophic_lateral_sclerosis"),
        ("地贫", "thalassaemia"),
        ("食道癌", "oesophageal_cancer"),
        ("瓷娃娃", "osteogenesis_imperfecta"),
        ("兔唇", "cleft_lip_palate"),
        ("慢阻肺", "copd"),
        ("脑梗", "cerebral_infarction"),
        ("乙肝", "chronic_hepatitis_b"),
        ("小儿麻痹", "polio_sequelae"),
        (" 尿 毒 症 ", "uraemia"),  # spaces do not matter
        ("血友病Ａ", "haemophilia_a"),  # nor full-width letters
        ("Ⅱ型糖尿病", "type2_diabetes"),  # nor Roman numerals
    ],
)
def test_names_synonyms_and_everyday_words_find_their_entry(
    catalogue: ConditionCatalogue, word: str, code: str
) -> None:
    entry = catalogue.lookup(word)
    assert entry is not None and entry.code == code


@pytest.mark.parametrize("word", ["孤独", "孤独感", "发烧", "冻伤", "肿", "癌前病变", "", "心情"])
def test_a_word_that_names_no_condition_is_looked_up_as_nothing(
    catalogue: ConditionCatalogue, word: str
) -> None:
    assert catalogue.lookup(word) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("渐冻症患者，四肢无力", ["amyotrophic_lateral_sclerosis"]),  # not frostbite
        ("冬天手脚冻伤", []),
        ("老人有孤独感", []),  # loneliness is not autism
        ("怕自己孤独终老", []),
        ("孩子性格有点自闭", []),  # shy is not autistic
        ("孩子发烧三天了", []),  # fever is not a burn
        ("肝癌晚期", ["liver_cancer"]),
        ("乙型肝炎，肝功能异常", ["chronic_hepatitis_b"]),  # hepatitis is not liver cancer
        ("心情抑郁，睡不着", []),  # low mood is not depression
        ("住在中风险地区", []),  # risk level, not stroke
        ("照顾老伴多年，身心衰竭", []),  # exhaustion, not heart failure
        ("台风过后交通瘫痪", []),
        ("干了一天活累瘫了", []),
        ("体检发现良性肿瘤", []),
        ("胃镜提示胃癌前病变", []),
        ("毒蛇咬伤后急性肾衰竭", []),  # acute kidney injury is not chronic kidney disease
        ("妊娠期高血压（孕29周）", []),
        ("首先心里要有数", []),
        ("他腰突然疼得直不起来", []),
        ("老伴腰突好几年", ["lumbar_disc_herniation"]),
        ("牵线搭桥", []),
        ("archive hivemind", []),  # Latin letters inside longer Latin words do not count
    ],
)
def test_words_that_only_look_alike_name_nothing_wrong(
    catalogue: ConditionCatalogue, text: str, expected: list[str]
) -> None:
    assert codes(catalogue, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("一个礼拜要跑三趟区里洗血", ["uraemia"]),
        ("尿毒症（维持性血液透析）", ["uraemia"]),
        (
            "胸腰段脊髓损伤致截瘫，骶尾部压疮",
            ["spinal_cord_injury", "paraplegia", "pressure_ulcer"],
        ),
        ("脊髓损伤后高位截瘫", ["spinal_cord_injury", "tetraplegia"]),
        ("脑梗死后遗症（右侧偏瘫、构音障碍）", ["cerebral_infarction", "hemiplegia"]),
        ("青光眼（双眼失明）", ["glaucoma", "visual_impairment"]),
        ("重型β地中海贫血", ["beta_thalassaemia"]),
        ("弥漫大B细胞淋巴瘤", ["diffuse_large_b_cell_lymphoma"]),
        ("非霍奇金淋巴瘤", ["non_hodgkin_lymphoma"]),  # not Hodgkin's, which it contains
        ("慢性肾衰竭尿毒症期", ["uraemia"]),
        ("阿尔茨海默病早期、高血压", ["alzheimers_disease", "hypertension"]),
        ("双耳极重度感音神经性耳聋", ["hearing_loss"]),
        ("她查出血癌，又有点血压高", ["leukaemia", "hypertension"]),
        ("确诊 HIV 阳性", ["hiv_aids"]),
    ],
)
def test_free_text_names_the_conditions_it_speaks_of_longest_word_first(
    catalogue: ConditionCatalogue, text: str, expected: list[str]
) -> None:
    assert codes(catalogue, text) == expected


def test_a_mention_points_at_the_words_as_they_were_written(
    catalogue: ConditionCatalogue,
) -> None:
    text = "去年确诊 2 型 糖尿病，每周洗血三次"
    found = [(m.condition.code, m.word, text[m.start : m.end]) for m in catalogue.mentions(text)]
    assert found == [
        ("type2_diabetes", "2 型 糖尿病", "2 型 糖尿病"),
        ("uraemia", "洗血", "洗血"),
    ]


def test_every_word_of_every_entry_names_that_entry_when_written_alone(
    catalogue: ConditionCatalogue,
) -> None:
    for entry in catalogue:
        for word in entry.words:
            assert catalogue.lookup(word) is entry, word
            assert catalogue.find_in_text(word) == (entry,), word


# Conditions of the lists the catalogue was built from, by the names the lists use.
LISTED = [
    # 农村贫困人口大病专项救治, the 25 diseases of 2019.
    ("儿童先心病", "congenital_heart_disease"),
    ("儿童白血病", "leukaemia"),
    ("胃癌", "gastric_cancer"),
    ("食道癌", "oesophageal_cancer"),
    ("结肠癌", "colon_cancer"),
    ("直肠癌", "rectal_cancer"),
    ("终末期肾病", "uraemia"),
    ("肺癌", "lung_cancer"),
    ("肝癌", "liver_cancer"),
    ("乳腺癌", "breast_cancer"),
    ("宫颈癌", "cervical_cancer"),
    ("急性心肌梗死", "myocardial_infarction"),
    ("白内障", "cataract"),
    ("尘肺", "pneumoconiosis"),
    ("神经母细胞瘤", "neuroblastoma"),
    ("儿童淋巴瘤", "lymphoma"),
    ("骨肉瘤", "bone_sarcoma"),
    ("血友病", "haemophilia"),
    ("地中海贫血", "thalassaemia"),
    ("唇腭裂", "cleft_lip_palate"),
    ("尿道下裂", "hypospadias"),
    ("耐多药结核病", "mdr_tuberculosis"),
    ("脑卒中", "stroke"),
    ("慢性阻塞性肺气肿", "emphysema"),
    ("艾滋病机会感染", "hiv_aids"),
    # Guangdong's 门诊特定病种 and medical-assistance conditions.
    ("恶性肿瘤门诊治疗", "malignant_tumour"),
    ("器官移植抗排异治疗", "organ_transplant"),
    ("再生障碍性贫血", "aplastic_anaemia"),
    ("重性精神病", "severe_mental_disorder"),
    ("耐多药肺结核", "mdr_tuberculosis"),
    ("慢性肾功能衰竭", "chronic_kidney_disease"),
    ("系统性红斑狼疮", "systemic_lupus_erythematosus"),
    ("帕金森病", "parkinsons_disease"),
    ("阿尔茨海默病", "alzheimers_disease"),
    ("肝硬化", "liver_cirrhosis"),
    ("慢性病毒性肝炎", "chronic_viral_hepatitis"),
    ("高血压", "hypertension"),
    ("糖尿病", "diabetes"),
    ("冠心病", "coronary_heart_disease"),
    ("慢性心力衰竭", "heart_failure"),
    ("癫痫", "epilepsy"),
    ("类风湿关节炎", "rheumatoid_arthritis"),
    ("强直性脊柱炎", "ankylosing_spondylitis"),
    ("重症肌无力", "myasthenia_gravis"),
    ("免疫性血小板减少症", "immune_thrombocytopenia"),
    ("脑性瘫痪", "cerebral_palsy"),
    ("孤独症", "autism"),
    # Children's major diseases and the 添翼计划 surgeries.
    ("儿童急性淋巴细胞白血病", "acute_lymphoblastic_leukaemia"),
    ("儿童急性早幼粒细胞白血病", "acute_promyelocytic_leukaemia"),
    ("儿童先天性室间隔缺损", "ventricular_septal_defect"),
    ("儿童先天性房间隔缺损", "atrial_septal_defect"),
    ("儿童先天性动脉导管未闭", "patent_ductus_arteriosus"),
    ("儿童先天性肺动脉瓣狭窄", "pulmonary_valve_stenosis"),
    ("苯丙酮尿症", "phenylketonuria"),
    ("先天性心脏病", "congenital_heart_disease"),
    ("脊柱侧弯", "scoliosis"),
    ("马蹄内翻足", "clubfoot"),
    ("发育性髋关节发育不良", "developmental_dysplasia_of_hip"),
    # The first national rare disease list, as first reported.
    ("白化病", "albinism"),
    ("肌萎缩侧索硬化", "amyotrophic_lateral_sclerosis"),
    ("戈谢病", "gaucher_disease"),
    ("卡尔曼综合征", "kallmann_syndrome"),
    ("马凡综合征", "marfan_syndrome"),
    ("法布雷病", "fabry_disease"),
]


@pytest.mark.parametrize(("name", "code"), LISTED, ids=[name for name, _ in LISTED])
def test_a_listed_condition_is_found_by_the_name_its_list_uses(
    catalogue: ConditionCatalogue, name: str, code: str
) -> None:
    assert codes(catalogue, name) == [code]


def test_a_rule_naming_a_parent_covers_its_children_and_not_the_reverse(
    catalogue: ConditionCatalogue,
) -> None:
    assert catalogue.covers(["malignant_tumour"], ["breast_cancer"])
    assert catalogue.covers(["leukaemia"], ["acute_promyelocytic_leukaemia"])  # a grandchild
    assert catalogue.covers(["dementia"], [catalogue.lookup("老年痴呆").code])
    assert catalogue.covers(["breast_cancer", "cervical_cancer"], ["hypertension", "breast_cancer"])
    assert not catalogue.covers(["breast_cancer"], ["malignant_tumour"])
    assert not catalogue.covers(["breast_cancer", "cervical_cancer"], ["ovarian_cancer"])
    assert not catalogue.covers(["congenital_heart_disease"], ["coronary_heart_disease"])
    assert not catalogue.covers([], ["breast_cancer"])


def test_an_unknown_code_is_an_error_not_a_quiet_no(catalogue: ConditionCatalogue) -> None:
    with pytest.raises(UnknownCondition):
        catalogue.covers(["breast_cancer"], ["no_such_condition"])
    with pytest.raises(UnknownCondition):
        catalogue.label("no_such_condition")


def test_ancestors_and_descendants_agree(catalogue: ConditionCatalogue) -> None:
    assert catalogue.ancestors("acute_promyelocytic_leukaemia") == (
        "acute_myeloid_leukaemia",
        "leukaemia",
        "malignant_tumour",
    )
    assert {"breast_cancer", "leukaemia", "acute_lymphoblastic_leukaemia"} <= set(
        catalogue.descendants("malignant_tumour")
    )
    assert catalogue.descendants("breast_cancer") == ()
    for entry in catalogue:
        for below in catalogue.descendants(entry.code):
            assert entry.code in catalogue.ancestors(below)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("breast_cancer", "serious"),  # from 恶性肿瘤
        ("acute_promyelocytic_leukaemia", "serious"),
        ("myocardial_infarction", "serious"),  # its own, though 心脏病 is chronic
        ("rheumatic_heart_disease", "chronic"),
        ("haemophilia_a", "rare"),
        ("schizophrenia", "chronic"),
        ("autism", None),  # a disabling condition, not an illness kind
        ("fracture", None),
    ],
)
def test_an_entry_counts_as_its_own_illness_kind_or_its_parents(
    catalogue: ConditionCatalogue, code: str, kind: str | None
) -> None:
    assert catalogue.kind_of(code) == kind


def test_labels_read_as_a_chinese_list(catalogue: ConditionCatalogue) -> None:
    assert (
        f"限{catalogue.labels(['breast_cancer', 'cervical_cancer'])}患者" == "限乳腺癌、宫颈癌患者"
    )


def test_rules_written_by_name_resolve_to_codes(catalogue: ConditionCatalogue) -> None:
    assert catalogue.resolve(["乳腺癌", "子宫颈癌", "乳癌"]) == ("breast_cancer", "cervical_cancer")
    with pytest.raises(UnknownCondition, match="病种目录中没有“两癌”"):
        catalogue.resolve(["乳腺癌", "两癌"])


def entry(code: str, name: str, **fields: object) -> dict[str, object]:
    row: dict[str, object] = {
        "code": code,
        "name": name,
        "synonyms": [],
        "everyday": [],
        "icd10": None,
        "parent": None,
        "kind": None,
    }
    row.update(fields)
    return row


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([entry("a", "甲"), entry("a", "乙")], "病种代码 a 重复"),
        (
            [
                entry("uraemia", "尿毒症", everyday=["透析"]),
                entry("ckd", "慢性肾病", everyday=["透 析"]),
            ],
            "“透 析”同时指 uraemia（尿毒症）和 ckd（慢性肾病）",
        ),
        ([entry("a", "甲", parent="b")], "上级病种 b 不在目录中"),
        ([entry("a", "甲", parent="b"), entry("b", "乙", parent="a")], "上级病种成环"),
        ([entry("a", "甲", kind="acute")], "疾病类别 'acute'"),
        ([entry("a", "甲", icd10="C50.")], "ICD-10 编码 'C50.' 格式不对"),
        ([entry("A-1", "甲")], "代码须为小写"),
        ([{**entry("a", "甲"), "note": "x"}], "未知 ['note']"),
        ({"conditions": [entry("a", "中风")], "look_alikes": {"中风": ""}}, "本身就是 a 的名称"),
        ({"conditions": [entry("a", "中风")], "look_alikes": {"刮风": ""}}, "不含任何病种名称"),
    ],
)
def test_a_malformed_catalogue_is_refused_with_a_reason(data: Any, message: str) -> None:
    with pytest.raises(CatalogueError, match=re.escape(message)):
        load_catalogue(data)


def test_the_module_imports_only_the_standard_library_and_the_string_matcher() -> None:
    tree = ast.parse(Path(conditions_module.__file__).read_text(encoding="utf-8"))
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module]
        )
        if name
    }
    assert imported <= set(sys.stdlib_module_names) | {"ahocorasick"}
