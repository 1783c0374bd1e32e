"""`python -m caisse_local` (what `make local` runs): start the local stack, serve until Ctrl-C or
SIGTERM, then stop every process it started."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from caisse_local.stack import LocalStack, Ports


def main(argv: list[str] | None = None) -> int:
    defaults = Ports.from_env()
    parser = argparse.ArgumentParser(description="Run Caisse offline: API, emulated AWS and provider sandbox.")
    parser.add_argument("--api-port", type=int, default=defaults.api, help="default: $CAISSE_API_PORT or 3000")
    parser.add_argument("--aws-port", type=int, default=defaults.aws, help="default: $CAISSE_AWS_PORT or 4566")
    parser.add_argument(
        "--sandbox-port", type=int, default=defaults.sandbox, help="default: $CAISSE_SANDBOX_PORT or 4010"
    )
    parser.add_argument("--no-seed", action="store_true", help="start with an empty catalog")
    args = parser.parse_args(argv)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    stack = LocalStack(Ports(args.api_port, args.aws_port, args.sandbox_port))
    if args.no_seed:
        stack.catalog = None
    try:
        stack.start(progress=lambda line: print(line, flush=True))
    except Exception as error:  # noqa: BLE001 - a readable line beats a traceback for a newcomer
        print(f"caisse: the local stack did not start: {error}", file=sys.stderr, flush=True)
        return 1
    print(stack.banner(), flush=True)
    try:
        stop.wait()
    finally:
        print("caisse: stopping", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
