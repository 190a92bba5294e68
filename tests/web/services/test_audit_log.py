"""Every action the code records has a name in the audit log's words: a reader never meets
其他操作 for something the service itself wrote."""

from __future__ import annotations

import ast
from pathlib import Path

from web.services.audit_log import ACTION_LABELS, action_label

ROOT = Path(__file__).resolve().parents[3]


def recorded_actions() -> set[str]:
    """The action of every ``write_audit(db, actor, "…", …)`` call written as a literal."""
    found: set[str] = set()
    for source in [*ROOT.joinpath("web").rglob("*.py"), *ROOT.joinpath("jobs").rglob("*.py")]:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name != "write_audit" or len(node.args) < 3:
                continue
            action = node.args[2]
            if isinstance(action, ast.Constant) and isinstance(action.value, str):
                found.add(action.value)
    return found


def test_every_recorded_action_has_a_name() -> None:
    actions = recorded_actions()
    assert len(actions) > 40  # the scan reaches the services
    assert sorted(a for a in actions if a not in ACTION_LABELS) == []
    assert action_label("household.search") == "查找困难家庭"
