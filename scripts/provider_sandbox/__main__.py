"""``python -m provider_sandbox --host 127.0.0.1 --port 4010``: serve the sandbox until told to stop.

Stops cleanly on SIGTERM/SIGINT, and on its own when the parent process dies, so a crashed test run
or dev script never leaves an orphan listening on the port.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from provider_sandbox.app import serve_in_thread
from provider_sandbox.stripe_api import is_loopback_host


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m provider_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=4010, help="port (0 picks a free one)")
    parser.add_argument("--public-url", help="base URL of the hosted pages (default: http://HOST:PORT)")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    if not is_loopback_host(args.host):
        parser.error("the sandbox has no real security: it only listens on loopback addresses")

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    parent = os.getppid()
    server = serve_in_thread(args.host, args.port, args.public_url, quiet=args.quiet)
    try:
        print(f"Provider sandbox listening on {server.url}", flush=True)
        while not stop.wait(1.0):
            if os.getppid() != parent:  # re-parented: whoever started us is gone
                print("parent process exited; stopping", file=sys.stderr, flush=True)
                break
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
