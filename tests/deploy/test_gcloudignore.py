""".gcloudignore uploads only what the functions run, as the installed gcloud itself computes the upload."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import ROOT

RUNTIME_FILES = {"main.py", "requirements.txt", "functions/__init__.py", "shared/__init__.py", "shared/config.py"}
LOCAL_ONLY_FILES = {
    ".git/HEAD",
    ".gitignore",
    ".gcloudignore",
    ".ci/run",
    ".venv/lib/site.py",
    ".pytest_cache/README.md",
    ".ruff_cache/CACHEDIR.TAG",
    "README.md",
    "docs/guide.md",
    "deploy.sh",
    "Makefile",
    "pyproject.toml",
    "requirements-dev.txt",
    "devtools/server.py",
    "tools/archive/__main__.py",
    "scripts/bench.sh",
    "tests/conftest.py",
    "tests/deploy/fake_gcloud.py",
    "functions/__pycache__/capture.cpython-313.pyc",
    "shared/NOTES.md",
    "bench-results.json",
}


def files_for_upload(directory: Path, tmp_path: Path) -> set[str]:
    """The files `gcloud functions deploy --source=DIRECTORY` would upload, per gcloud (offline)."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        pytest.skip("the Google Cloud SDK (gcloud) is not installed")
    result = subprocess.run(
        [gcloud, "meta", "list-files-for-upload", str(directory)],
        # A throwaway configuration directory: no account, no project, nothing shared.
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CLOUDSDK_CONFIG": str(tmp_path / "gcloud-config")},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {line for line in result.stdout.splitlines() if (directory / line).is_file()}


def test_upload_is_exactly_the_runtime_files(tmp_path: Path) -> None:
    """In a tree holding every kind of file, only main.py, requirements.txt and the two packages are uploaded."""
    tree = tmp_path / "tree"
    for name in RUNTIME_FILES | LOCAL_ONLY_FILES:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text("")
    shutil.copy(ROOT / ".gcloudignore", tree / ".gcloudignore")
    assert files_for_upload(tree, tmp_path) == RUNTIME_FILES


def test_the_repository_uploads_its_runtime_files_only(tmp_path: Path) -> None:
    """For this repository the upload is main.py, requirements.txt and functions/ and shared/ minus caches and notes."""
    packaged = {
        str(path.relative_to(ROOT))
        for package in ("functions", "shared")
        for path in (ROOT / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".pyc", ".pyo", ".md"}
    }
    assert files_for_upload(ROOT, tmp_path) == {"main.py", "requirements.txt"} | packaged
