#!/usr/bin/env python3
"""Fuzz the API with schemathesis, from the OpenAPI document the code generates, against a local
stack of its own (free loopback ports, stopped at the end, whatever happens).

Every operation is exercised with schema-valid and schema-invalid requests (schemathesis' examples,
coverage and fuzzing phases), staff operations with a platform staff token, with a fixed seed and a
time budget. The run fails on any answer >= 500, any status the document does not list, any
answer that does not match its documented schema, and any schema-invalid request that was not
refused with a 4xx.

    scripts/fuzz.py --max-time 60           (make test)
    scripts/fuzz.py --max-time 900          (make fuzz)

It prints the figures: cases, answers by status, and failures by check.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from caisse_local.authorizer import issue_token  # noqa: E402
from caisse_local.child import child_stack  # noqa: E402

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
]
START_TIMEOUT = 120
ERRORS_SHOWN = 5


def document() -> dict:
    import openapi

    return openapi.build()


def run(api: str, work: Path, max_time: int, seed: int, workers: int) -> Path:
    """schemathesis' CLI with the document, the staff token for the StaffToken scheme only, the seed."""
    (work / "openapi.json").write_text(json.dumps(document()))
    (work / "schemathesis.toml").write_text('[auth.openapi.StaffToken]\nbearer = "${CAISSE_FUZZ_STAFF_TOKEN}"\n')
    report = work / "events.ndjson"
    env = {**os.environ, "CAISSE_FUZZ_STAFF_TOKEN": issue_token(ttl_seconds=max_time + 3600)}
    command = [
        str(Path(sys.executable).parent / "st"),
        "--config-file",
        str(work / "schemathesis.toml"),
        "run",
        str(work / "openapi.json"),
        "--url",
        api,
        "--checks",
        ",".join(CHECKS),
        "--mode",
        "all",
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        str(seed),
        "--max-time",
        str(max_time),
        "--workers",
        str(workers),
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--continue-on-failure",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--output-truncate",
        "true",
    ]
    subprocess.run(command, env=env, cwd=work, check=False)  # noqa: S603 - its verdict is ours to count
    return report


def figures(report: Path) -> dict:
    """Cases, answers by status and failures by check, from schemathesis' ndjson event stream."""
    statuses: Counter[int] = Counter()
    failures: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    cases = 0
    for line in report.read_text().splitlines():
        event = json.loads(line)
        for name, body in event.items():
            if name != "ScenarioFinished":
                continue
            recorder = body.get("recorder") or {}
            for interactions in (recorder.get("interactions") or {}).values():
                response = (interactions or {}).get("response")
                if response is not None:
                    cases += 1
                    statuses[int(response["status_code"])] += 1
            interactions = recorder.get("interactions") or {}
            for case, checks in (recorder.get("checks") or {}).items():
                for check in checks:
                    if str(check.get("status")).lower() != "failure":
                        continue
                    failures[check["name"]] += 1
                    failure = (check.get("failure_info") or {}).get("failure") or {}
                    detail = " ".join(str(failure.get("message") or "").split())[:160]
                    sample = f"{failure.get('operation') or recorder.get('label')}: {failure.get('title')}: {detail}"
                    sample += sent(interactions.get(case))
                    found = examples.setdefault(check["name"], [])
                    if sample not in found and len(found) < 12:
                        found.append(sample)
    server_errors = sum(count for status, count in statuses.items() if status >= 500)
    return {
        "cases": cases,
        "statuses": dict(sorted(statuses.items())),
        "server_errors": server_errors,
        "failures": dict(failures),
        "examples": examples,
    }


def sent(interaction: dict | None) -> str:
    """The request as it was sent (its path and query, its body's start), so a failure seen once
    under load can be told from schemathesis' summary of it; the staff token is never shown."""
    request = (interaction or {}).get("request") or {}
    if not request:
        return ""
    uri = urlsplit(str(request.get("uri") or ""))
    path = uri.path + (f"?{uri.query}" if uri.query else "")
    body = request.get("body")
    if isinstance(body, dict) and "$base64" in body:
        body = base64.b64decode(body["$base64"]).decode(errors="replace")
    shown = f" (sent: {request.get('method')} {path}"
    return shown + (f", body {str(body)[:120]!r})" if body else ", no body)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-time", type=int, default=120, help="seconds of testing (default 120)")
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--api", help="fuzz a stack that is already running at this URL instead of starting one")
    parser.add_argument("--keep", help="keep schemathesis' files (document, events) in this directory")
    args = parser.parse_args()
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    started = time.monotonic()
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="caisse-fuzz-") as scratch:
        work = Path(args.keep or scratch)
        work.mkdir(parents=True, exist_ok=True)
        if args.api:
            report = run(args.api, work, args.max_time, args.seed, args.workers)
        else:
            with child_stack(start_timeout=START_TIMEOUT) as child:
                report = run(child.api, work, args.max_time, args.seed, args.workers)
                errors = logged_errors(child.output)
        found = figures(report) if report.exists() else {"cases": 0, "failures": {"no report": 1}}
    elapsed = time.monotonic() - started
    print(f"\nfuzzing: {found['cases']} cases in {elapsed:.0f} s (seed {args.seed}, budget {args.max_time} s)")
    print(f"answers by status: {found.get('statuses')}")
    print(f"answers >= 500: {found.get('server_errors')}")
    print(f"failures by check: {found['failures'] or 'none'}")
    for check, samples in (found.get("examples") or {}).items():
        print(f"  {check}:")
        for sample in samples:
            print(f"    {sample}")
    ok = found["cases"] > 0 and not found["failures"] and not found.get("server_errors")
    if not ok and errors:  # what the functions logged: the cause of a 5xx, which the stack's output alone keeps
        print(f"errors the functions logged ({len(errors)}, the last {ERRORS_SHOWN}):")
        for line in errors[-ERRORS_SHOWN:]:
            print(f"    {line.rstrip()[:4000]}")
    return 0 if ok else 1


def logged_errors(output: list[str]) -> list[str]:
    """The functions' log lines at level ERROR (Powertools' JSON: the message, the exception and its
    trace), from the local stack's output."""
    return [line for line in output if '"level":"ERROR"' in line]


if __name__ == "__main__":
    sys.exit(main())
