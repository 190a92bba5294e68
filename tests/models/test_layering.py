"""Imports point one way (DESIGN.md section 2, STYLE.md "Our layers"), and no module imports
itself back through others.

The rules are checked on the source (``tests/imports.py``), imports inside functions
included, so a breach is named by file and line; one test runs the checker on a small made-up
project to show that it does report a breach.
"""

from __future__ import annotations

import functools
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.imports import Import, circles, describe, import_graph, imports_of, modules_of, within

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("models", "matcher", "jobs", "web", "seed")
FLASK = "flask*"  # Flask and its extensions: flask_login, flask_babel, flask_wtf, flask_smorest


@dataclass(frozen=True)
class Rule:
    """Modules within ``importers`` import nothing within ``forbidden`` except ``allowed``."""

    importers: str
    forbidden: tuple[str, ...]
    why: str
    allowed: tuple[str, ...] = ()

    def broken_by(self, imports: list[Import]) -> list[str]:
        return [
            f"{imp} — {self.why}"
            for imp in imports
            if within(imp.module, self.importers)
            and any(within(imp.target, f) for f in self.forbidden)
            and not any(within(imp.target, a) for a in self.allowed)
        ]


RULES = [
    Rule("models", ("web", "jobs", "matcher", "seed", FLASK),
         "models import nothing of web, jobs, matcher or seed, and no Flask"),
    # The matcher scores plain data. Of models it uses the vocabulary and the arithmetic of
    # region codes only; never a mapped class, a query or the session.
    Rule("matcher", ("web", "jobs", "seed", "models", FLASK),
         "the matcher imports no Flask, nothing of web, jobs or seed, and of models only "
         "models.enums and models.regions",
         allowed=("models.enums", "models.regions")),
    Rule("web.services", (FLASK, "web.api", "web.pages", "jobs", "seed"),
         "services never read the request (no Flask); the API, pages, jobs and seeds call "
         "them, never the reverse"),
    Rule("web.pages", ("web.api",), "pages never import the API"),
    Rule("web.api", ("web.pages",), "the API never imports pages"),
    Rule("jobs", ("web.api", "web.pages"), "jobs use services and models, never the API or pages"),
    Rule("seed", ("web.api", "web.pages"), "seeds use services and models, never the API or pages"),
]  # fmt: skip


@functools.cache
def read_imports(root: Path) -> list[Import]:
    return imports_of(root, PACKAGES)


def broken(root: Path, rules: list[Rule]) -> list[str]:
    imports = read_imports(root)
    return sorted(message for rule in rules for message in rule.broken_by(imports))


def project_circles(root: Path) -> list[str]:
    graph = import_graph(read_imports(root), modules_of(root, PACKAGES))
    return [describe(circle) for circle in circles(graph)]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.importers)
def test_the_code_keeps_each_layering_rule(rule: Rule) -> None:
    found = broken(ROOT, [rule])
    assert found == [], "\n".join(found)


def test_the_layering_check_names_a_page_importing_the_api_and_a_service_importing_flask(
    tmp_path: Path,
) -> None:
    write(tmp_path, {
        "web/__init__.py": "",
        "web/api/__init__.py": "",
        "web/api/ledgers.py": "LIMIT = 10\n",
        "web/pages/__init__.py": "",
        "web/pages/supply.py": """
            from __future__ import annotations

            from ..api.ledgers import LIMIT
            """,
        "web/services/__init__.py": "",
        "web/services/ledgers.py": """
            def publish() -> None:
                from flask import g

                g.published = True
            """,
        "matcher/__init__.py": "from models.enums import Domain\n",
        "models/__init__.py": "",
        "models/enums.py": "Domain = str\n",
    })  # fmt: skip
    assert broken(tmp_path, RULES) == [
        "web/pages/supply.py:3: web.pages.supply imports web.api.ledgers — pages never import "
        "the API",
        "web/services/ledgers.py:2: web.services.ledgers imports flask — services never read "
        "the request (no Flask); the API, pages, jobs and seeds call them, never the reverse",
    ]


def test_no_module_imports_itself_back_through_others() -> None:
    found = project_circles(ROOT)
    assert found == [], "\n".join(found)


def test_the_circle_check_names_the_imports_that_close_a_circle(tmp_path: Path) -> None:
    write(tmp_path, {
        "models/__init__.py": "",
        "models/a.py": "from models import b\n",
        "models/b.py": "def later() -> None:\n    from .a import thing\n",
        "models/c.py": "from models.a import x\n",
    })  # fmt: skip
    assert project_circles(tmp_path) == [
        "models.a → models.b → models.a\n"
        "  models/a.py:1: models.a imports models.b\n"
        "  models/b.py:2: models.b imports models.a"
    ]


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


#: STYLE.md: split a module by concept before it grows past this many lines.
MAX_MODULE_LINES = 700


def test_no_service_page_or_job_module_grows_past_the_split_size() -> None:
    folders = ("web/services", "web/pages", "web/api", "jobs")
    too_long = {
        str(path.relative_to(ROOT)): length
        for folder in folders
        for path in sorted((ROOT / folder).rglob("*.py"))
        if (length := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}, f"split these by concept: {too_long}"
