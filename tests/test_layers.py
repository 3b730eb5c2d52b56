"""The one-way flow of ``design.md``: ``auth`` (login, sessions, access checks) knows no feature.

Checked twice: statically, over every ``import`` in ``surveys/auth`` (a lazy import inside a
function counts too), and by importing the package in a fresh interpreter and looking at
what ended up in ``sys.modules``.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Packages ``auth`` must not depend on.
FEATURES = (
    "surveys.registry",
    "surveys.instruments",
    "surveys.campaigns",
    "surveys.responses",
    "surveys.admin",
    "surveys.dashboard",
    "surveys.demo",
    "surveys.indicators",
    "surveys.api",
)


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def test_auth_source_imports_no_feature():
    found = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / "surveys" / "auth").glob("*.py"))
        for name in _imports(path)
        if name.startswith(FEATURES)
    ]
    assert not found, found


def test_importing_auth_loads_no_feature():
    code = (
        "import sys; "
        "import surveys.auth.access, surveys.auth.forms, surveys.auth.models, "
        "surveys.auth.passwords, surveys.auth.services, surveys.auth.views; "
        f"bad = sorted(m for m in sys.modules if m.startswith({FEATURES!r})); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
