"""template.yaml writes every function's log group and alarms once, in a Fn::ForEach loop. Every
reader of the template must see the same resources CloudFormation will create: the local stack's
reader (caisse_local.template, which the tests, `make scan` and the local stack use) is held to
cfn-lint's model of AWS::LanguageExtensions, the one `sam validate --lint` runs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from caisse_local import template

ROOT = Path(__file__).resolve().parents[2]
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"

CFN_LINT_EXPANSION = """
import json, sys
from cfnlint.decode import decode
from cfnlint.template import Template
from cfnlint.template.transforms._language_extensions import language_extension

decoded, errors = decode(sys.argv[1])
assert not errors, errors
_, expanded = language_extension(Template(sys.argv[1], decoded, ["us-east-1"]))
json.dump(expanded["Resources"], sys.stdout, default=str)
"""


def test_the_local_reader_expands_the_template_exactly_as_cfn_lint_does():
    if not SAM_PYTHON.is_file():
        pytest.fail("cfn-lint comes with the SAM CLI, installed by `make test` (or `make functional`) into .venv-sam")
    done = subprocess.run(  # noqa: S603 - our own cfn-lint on our own template
        [str(SAM_PYTHON), "-c", CFN_LINT_EXPANSION, str(ROOT / "template.yaml")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    by_cfn_lint = json.loads(done.stdout)
    ours = json.loads(json.dumps(template.load(ROOT / "template.yaml").resources, default=str))
    assert sorted(ours) == sorted(by_cfn_lint)
    assert [lid for lid in ours if ours[lid] != by_cfn_lint[lid]] == []
