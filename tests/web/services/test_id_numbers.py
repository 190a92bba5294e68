"""ID numbers of real people: any well-formed number with a province code, a real date of birth
and its check digit is accepted, whatever its county code's history; a refusal names the part
that failed."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from models.enums import Relation
from tests.helpers import get_user
from web.services.crypto import cipher_of
from web.services.errors import ValidationFailed
from web.services.households import HouseholdInput, MemberInput, create_household
from web.services.id_numbers import id_check_digit, normalize_id_number


def with_check_digit(first17: str) -> str:
    return first17 + id_check_digit(first17)


#: 乳源瑶族自治县's code 440232 dates from 1983; its people born in 1940 carry it.
RUYUAN_1940 = with_check_digit("44023219400315123")


def test_the_check_digit_is_iso_7064_mod_11_2() -> None:
    assert normalize_id_number("11010519491231002x") == "11010519491231002X"
    assert with_check_digit("44012219650312003") == "440122196503120032"


def test_someone_born_in_1940_under_a_county_code_created_in_1983_is_registered(
    db: Session,
) -> None:
    station_user = get_user(db, "station_a")
    assert station_user.station is not None
    household = create_household(
        db,
        station_user,
        HouseholdInput(
            region_code=station_user.station.region_code,
            members=[MemberInput(name="邓伯", relation=Relation.HEAD, id_number=RUYUAN_1940)],
        ),
    )
    head = household.members[0]
    assert cipher_of(db).decrypt(head.id_number_encrypted or b"") == RUYUAN_1940
    assert head.birth_year == 1940
    assert head.id_number_masked == "440232************"


@pytest.mark.parametrize(
    ("number", "part"),
    [
        ("44023219400315123", "长度"),  # 17 digits
        ("4402321940031512345", "长度"),  # 19 digits
        ("44023219400315A23X", "长度"),  # a letter inside
        (with_check_digit("99023219400315123"), "省份代码"),
        (with_check_digit("00023219400315123"), "省份代码"),
        (with_check_digit("44023219400230123"), "出生日期"),  # 30 February
        (with_check_digit("44023218000101123"), "出生日期"),  # before anyone living
        (with_check_digit("44023229990101123"), "出生日期"),  # not born yet
        (RUYUAN_1940[:-1] + ("0" if RUYUAN_1940[-1] != "0" else "1"), "校验位"),
    ],
)
def test_a_refused_id_number_says_which_part_failed(number: str, part: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        normalize_id_number(number)
    (message,) = refused.value.fields["id_number"]
    assert part in message
    others = {"长度", "省份代码", "出生日期", "校验位"} - {part}
    assert not any(other in message for other in others)


def test_todays_date_of_birth_is_accepted() -> None:
    # A newborn registered on the day (the date is Asia/Shanghai's today, the clock's).
    from models import clock

    today: dt.date = clock.today()
    number = with_check_digit("440232" + today.strftime("%Y%m%d") + "123")
    assert normalize_id_number(number) == number
