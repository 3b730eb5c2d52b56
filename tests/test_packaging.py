"""The wheel is complete: installed outside the source tree, the app renders its pages."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHECK = r"""
import sys, surveys, analysis
from pathlib import Path
target = Path(sys.argv[1]).resolve()
assert Path(surveys.__file__).resolve().is_relative_to(target), surveys.__file__
from surveys import create_app
app = create_app({"SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})
assert Path(app.template_folder).resolve().is_relative_to(target), app.template_folder
page = app.test_client().get("/login")
assert page.status_code == 200, page.status_code
html = page.get_data(as_text=True)
assert 'name="email"' in html and 'name="password"' in html
css = app.test_client().get("/static/hamkor.css")
assert css.status_code == 200
from surveys.dashboard import methodology
for lang in ("en", "ru", "uz"):
    document = methodology.rendered(lang)
    assert document.language == lang and "<table>" in document.html, lang
print("ok", app.template_folder)
"""


def test_wheel_installs_and_renders_login_page_outside_the_source_tree(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("hamkor-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "surveys/templates/base.html" in names
    assert "surveys/templates/auth/login.html" in names
    assert any(n.startswith("surveys/migrations/versions/") for n in names)
    assert "analysis/__init__.py" in names
    assert "surveys/docs/methodology.md" in names
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", CHECK, str(target)],
        cwd=elsewhere,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok")
    script = subprocess.run(
        [str(target / "bin" / "hamkor"), "--help"],
        cwd=elsewhere,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert script.returncode == 0, script.stderr
    assert "init-db" in script.stdout and "demo" in script.stdout
