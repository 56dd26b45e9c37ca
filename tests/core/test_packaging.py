"""A regular (non-editable) install ships the files packyard serves as they are and the web
interface's templates (`pip install .`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "src" / "packyard" / "static"
TEMPLATES = REPO / "src" / "packyard" / "web" / "templates"


def test_the_wheel_carries_every_static_file(tmp_path):
    source = tmp_path / "source"  # a copy, so the build leaves nothing in the checkout
    for name in ("src", "protocols", "migrations"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("packyard-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())

    expected = {f"packyard/static/{path.relative_to(STATIC).as_posix()}" for path in STATIC.rglob("*") if path.is_file()}
    assert {"packyard/static/redoc-2.5.4/redoc.standalone.js", "packyard/static/redoc-2.5.4/LICENSE"} <= expected
    assert expected <= shipped, sorted(expected - shipped)

    templates = {f"packyard/web/templates/{path.name}" for path in TEMPLATES.glob("*.html")}
    assert "packyard/web/templates/package.html" in templates
    assert templates <= shipped, sorted(templates - shipped)
