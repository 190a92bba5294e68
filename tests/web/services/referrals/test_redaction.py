"""What a charity reads of free text: ID numbers and phones become ＊＊＊, and the household's
names keep only their surname."""

from __future__ import annotations

from web.services.referrals.redaction import redact


def test_names_keep_only_the_surname_and_single_characters_are_left_alone() -> None:
    text = "钟伟明说女儿钟嘉怡明年上高中"
    assert redact(text, ["钟伟明", "钟嘉怡", "明"]) == "钟某说女儿钟某明年上高中"


def test_a_longer_name_is_blanked_before_a_shorter_one_inside_it() -> None:
    assert redact("王小明和王小是兄弟", ["王小", "王小明"]) == "王某和王某是兄弟"


def test_old_id_numbers_landlines_and_a_trailing_x_are_blanked() -> None:
    text = "旧证440122780412107，新证44012219780412107X，座机020-87654321"
    assert redact(text, []) == "旧证＊＊＊，新证＊＊＊，座机＊＊＊"
