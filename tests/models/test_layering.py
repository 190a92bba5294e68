"""models/ and matcher/ stand alone: no Flask, no web layer."""

from __future__ import annotations

import subprocess
import sys


def test_models_import_without_flask_or_web() -> None:
    code = (
        "import sys, models, models.session, models.migrate, matcher; "
        "bad = [m for m in sys.modules if m.split('.')[0] in {'flask', 'web', 'jobs'}]; "
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
