"""HTML forms (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


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
