"""The embedded reference server for `scimitar load`, in a subprocess on 127.0.0.1 and a free port.

`python -m scimitar.load.serve [scimitar serve flags]` builds the server exactly as `scimitar serve`
does (its `add_arguments` and `build_config`), with two differences a parent process needs: the
Bearer token comes from `$SCIMITAR_SERVE_TOKEN` (never argv, where `ps` shows it), and the socket is
bound here on port 0 before uvicorn starts, so the port is free by construction. The first stdout
line is JSON: `{"url": "http://127.0.0.1:<port>/scim/v2", "pid": ...}`.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys

TOKEN_ENV = "SCIMITAR_SERVE_TOKEN"
ADMIN_TOKEN_ENV = "SCIMITAR_SERVE_ADMIN_TOKEN"


def main(argv: list[str] | None = None) -> int:
    from scimitar.server.cli import add_arguments, build_config

    parser = argparse.ArgumentParser(prog="python -m scimitar.load.serve")
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost"):
        print("scimitar.load.serve binds loopback only", file=sys.stderr)
        return 2
    token = os.environ.get(TOKEN_ENV)
    if token:
        args.token = [token]
    config, _notes = build_config(args)  # the notes would print a generated token: not shown
    admin = os.environ.get(ADMIN_TOKEN_ENV)
    if admin:
        config.admin_token = admin

    import uvicorn

    from scimitar.server.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(2048)
    port = sock.getsockname()[1]
    print(json.dumps({"url": f"http://127.0.0.1:{port}{config.base_path}", "pid": os.getpid()}), flush=True)
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), log_level=args.log_level, access_log=False, lifespan="off")
    )
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
