"""``python -m gdnb.sandbox --port P [--data-dir DIR]``: run the sandbox in the foreground.

It writes its state file (``sandbox.json``: pid and port) into the data directory once it listens, and
removes it when it stops (SIGTERM, SIGHUP, Ctrl-C), so no stale file names a pid that may be reused.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from gdnb.sandbox.control import default_data_dir, remove_state, write_state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gdnb.sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=4566, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--data-dir", type=Path, default=None, help="where the sandbox keeps its files")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    data_dir = (args.data_dir or default_data_dir()).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)

    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    from gdnb.sandbox.server import build_gateway

    gateway = build_gateway(data_dir)
    server = make_server("127.0.0.1", args.port, gateway, threaded=True, request_handler=MotoRequestHandler)
    # SystemExit from the handler unwinds serve_forever, so the finally below runs on every way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(0))
    try:
        write_state(data_dir, server.port)
        logging.getLogger(__name__).info("gdnb sandbox on http://127.0.0.1:%d, data in %s", server.port, data_dir)
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        remove_state(data_dir, os.getpid())
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
