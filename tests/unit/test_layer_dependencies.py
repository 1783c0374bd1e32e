"""Every third-party package the Lambda code imports is pinned in the layer it runs with: the dev
virtualenv has everything, so a missing pin would only show in AWS (it did once: Jinja2)."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_top_level(paths: list[Path]) -> set[str]:
    names: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def pinned(requirements: str) -> set[str]:
    text = (ROOT / "requirements" / requirements).read_text()
    return {re.split(r"[=<>\[ ]", line)[0].lower().replace("_", "-") for line in text.splitlines() if "==" in line}


def missing(paths: list[Path], allowed: set[str]) -> set[str]:
    distributions = packages_distributions()
    first_party = {"caisse"}
    wanted = set()
    for name in imported_top_level(paths) - first_party - set(sys.stdlib_module_names):
        for distribution in distributions.get(name, [name]):
            wanted.add(distribution.lower().replace("_", "-"))
    return wanted - allowed


def test_the_domain_and_the_functions_import_only_what_the_layers_ship():
    media = [
        *(ROOT / "shared" / "caisse" / "media").rglob("*.py"),
        *(ROOT / "functions" / "process_image").rglob("*.py"),
    ]
    encryption = [ROOT / "shared" / "caisse" / "encryption.py", ROOT / "shared" / "caisse" / "phones.py"]
    tickets = [ROOT / "shared" / "caisse" / "orders" / "ticket_documents.py"]
    rest = [
        p
        for p in [*(ROOT / "shared" / "caisse").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
        if p not in media and p not in encryption and p not in tickets
    ]
    runtime = pinned("runtime.txt")
    assert missing(rest, runtime) == set()
    assert missing(media, runtime | pinned("imaging.txt")) == set()
    assert missing(encryption, runtime | pinned("encryption.txt")) == set()
    assert missing(tickets, runtime | pinned("tickets.txt")) == set()


def test_only_the_image_code_imports_pillow():
    others = [p for p in (ROOT / "functions").rglob("*.py") if "process_image" not in str(p)]
    others += [p for p in (ROOT / "shared" / "caisse").rglob("*.py") if "media" not in p.parts]
    assert "PIL" not in imported_top_level(others)


def test_only_the_encryption_module_imports_the_encryption_sdk_and_only_where_its_layer_is():
    """cryptography costs cold start and 16 MB: the SDK is imported by caisse.encryption alone, and
    only the functions that carry the EncryptionLayer are given the key to use it with."""
    from caisse_local import template

    importers = [
        p.relative_to(ROOT).as_posix()
        for p in [*(ROOT / "shared").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
        if {"aws_encryption_sdk", "cryptography"} & imported_top_level([p])
    ]
    importers.sort()
    assert importers == ["shared/caisse/encryption.py", "shared/caisse/orders/ticket_documents.py"]
    resources = template.load(ROOT / "template.yaml").resources
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        layers = [layer.get("Ref") for layer in properties.get("Layers", [])]
        uses_key = "PERSONAL_DATA_KEY_ARN" in (properties.get("Environment") or {}).get("Variables", {})
        assert uses_key == ("EncryptionLayer" in layers), logical_id


def test_only_the_ticket_documents_import_the_qr_and_pdf_libraries_and_only_where_their_layer_is():
    """segno, fpdf2 and cryptography ship in the TicketsLayer alone: the one module that imports
    them is imported (lazily) by the code of the functions that carry that layer only."""
    from caisse_local import template

    heavy = {"segno", "fpdf", "cryptography"}
    importers = sorted(
        p.relative_to(ROOT).as_posix()
        for p in [*(ROOT / "shared").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
        if heavy & imported_top_level([p]) and p.name != "encryption.py"
    )
    assert importers == ["shared/caisse/orders/ticket_documents.py"]
    users = {
        p.parent.name
        for p in (ROOT / "functions").rglob("*.py")
        if "ticket_documents" in p.read_text() or "notifications.dispatch" in p.read_text()
    }
    resources = template.load(ROOT / "template.yaml").resources
    carriers = {
        Path(resource["Properties"]["CodeUri"]).name
        for resource in resources.values()
        if resource["Type"] == "AWS::Serverless::Function"
        and "TicketsLayer" in [layer.get("Ref") for layer in resource["Properties"].get("Layers", [])]
    }
    assert users and users == carriers
