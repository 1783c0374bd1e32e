"""`sam build` with samconfig.toml's `cached = true` rebuilds a layer when what it is built from
changes: the domain package for DomainLayer, the pinned requirements for the dependency layers.
(Before, the layers' ContentUri held only a Makefile, so a cached build shipped a stale domain.)

Each test builds a copy of the project whose template holds one layer as template.yaml declares
it (SAM keeps no cache for `sam build <one resource>`, and the functions would only add time),
changes one file, and builds again."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from caisse_local import template

ROOT = Path(__file__).resolve().parents[2]
SAM = ROOT / ".venv-sam" / "bin" / "sam"
COPIED = ("samconfig.toml", "layers", "shared", "requirements")


def project_with(layer: str, where: Path) -> Path:
    if not SAM.is_file():
        pytest.fail("the SAM CLI is installed by `make test` (or `make functional`) into .venv-sam")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, where / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, where / name)
    resources = template.load(ROOT / "template.yaml").resources
    only = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {layer: resources[layer]},
    }
    (where / "template.yaml").write_text(yaml.safe_dump(only))
    return where


def build(project: Path) -> str:
    """`sam build` as samconfig.toml configures it (cached); its output."""
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PYTHON313": sys.executable, "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run(  # noqa: S603 - our own SAM CLI on our own template copy
        [str(SAM), "build"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_a_change_to_the_domain_package_is_in_the_next_cached_build(tmp_path: Path) -> None:
    project = project_with("DomainLayer", tmp_path)
    built = project / ".aws-sam" / "build" / "DomainLayer" / "python" / "caisse"
    first = build(project)
    assert "Valid cache found" not in first
    assert (built / "money.py").read_text() == (ROOT / "shared" / "caisse" / "money.py").read_text()
    assert list(built.rglob("__pycache__/money.cpython-313.pyc"))  # compiled for the runtime

    assert "Valid cache found" in build(project)  # nothing changed: from the cache

    with (project / "shared" / "caisse" / "money.py").open("a") as source:
        source.write("\nBUILD_MARKER = 'changed between two builds'\n")
    assert "Valid cache found" not in build(project)
    assert "BUILD_MARKER" in (built / "money.py").read_text()


def test_a_change_to_a_requirements_file_is_in_the_next_cached_build(tmp_path: Path) -> None:
    project = project_with("ImagingLayer", tmp_path)
    site = project / ".aws-sam" / "build" / "ImagingLayer" / "python"
    build(project)
    assert (site / "PIL").is_dir() and not (site / "six.py").exists()

    with (project / "requirements" / "imaging.txt").open("a") as pins:
        pins.write("six==1.17.0\n")
    assert "Valid cache found" not in build(project)
    assert (site / "six.py").is_file()
