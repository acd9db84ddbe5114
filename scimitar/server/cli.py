"""`scimitar serve`: run the reference server under uvicorn on loopback."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Mapping

from scimitar.quirks import QUIRKS, parse_quirks
from scimitar.server.config import PROFILES, ServerConfig
from scimitar.shapes import SHAPES, ShapeError, load_shape_file, named_shape

EXAMPLES = """\
examples:
  scimitar serve                                   # strict RFC server, prints a fresh token
  scimitar serve --profile clickhouse              # ClickHouse-style: Basic key + secret
  scimitar serve --token dev-token --seed-users 500
  SCIMITAR_SERVE_TOKEN=dev-token scimitar serve    # the token stays out of `ps`
  SCIMITAR_ADMIN_TOKEN=... scimitar serve          # the admin token too (not printed at start)
  scimitar serve --port 0                          # an ephemeral port, printed once bound
  scimitar serve --quirk create-200 --quirk startindex-ignored   # reproduce a customer's bug
  scimitar serve --shape minimal                   # a narrow User schema (emails.value only, ...)
  scimitar serve --schemas customer-schemas.json   # serve (and enforce) a customer's /Schemas
  scimitar serve --list-quirks
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EXAMPLES
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    parser.add_argument("--port", type=int, default=8880, help="port to bind; 0 picks a free one (printed)")
    parser.add_argument("--base-path", default="/scim/v2", help="path SCIM is served under (default: /scim/v2)")
    parser.add_argument(
        "--profile", choices=PROFILES, default="rfc",
        help="rfc: strict RFC 7643/7644; clickhouse: Basic scim_ key + secret, groups map to roles",
    )
    parser.add_argument(
        "--quirk",
        action="append",
        default=[],
        metavar="NAME",
        help="switch on a named server bug (repeatable); see --list-quirks",
    )
    parser.add_argument("--list-quirks", action="store_true", help="list the quirks and exit")
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument(
        "--shape",
        choices=tuple(SHAPES),
        default=None,
        help="declare and enforce a named server shape (default: rfc, the full RFC 7643 schemas)",
    )
    shape.add_argument(
        "--schemas",
        metavar="FILE",
        help="declare and enforce the schemas of a JSON file: a /Schemas ListResponse or array, or "
        '{"Schemas": ..., "ResourceTypes": ..., "ServiceProviderConfig": {...overrides}}',
    )
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        help=f"accept this Bearer token (or set {' or '.join(TOKEN_ENV)}, which `ps` does not show)",
    )
    parser.add_argument(
        "--basic",
        action="append",
        default=[],
        metavar="KEY:SECRET",
        help="accept this Basic credential (clickhouse: a scim_ key and secret)",
    )
    parser.add_argument("--no-auth", action="store_true", help="serve without authentication")
    parser.add_argument(
        "--allow-duplicate-group-names",
        action="store_true",
        help="let two Groups share a displayName (default: 409 uniqueness, as most IdPs expect)",
    )
    parser.add_argument(
        "--admin-token",
        help=f"credential for the admin API (or set ${ADMIN_TOKEN_ENV}, which `ps` does not show and "
        "start-up does not print; default: generated and printed once)",
    )
    parser.add_argument(
        "--strict-role-mapping", action="store_true", help="clickhouse: refuse groups that map to no role"
    )
    parser.add_argument(
        "--default-role", default="Member", help="clickhouse: role of a member whose groups map to none"
    )
    parser.add_argument("--latency-ms", type=int, default=200, help="delay for the 'slow' quirk")
    parser.add_argument("--seed-users", type=int, default=0, help="create this many users at start")
    parser.add_argument("--seed-groups", type=int, default=0, help="create this many groups at start")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the seeded data (same seed, same data)")
    parser.add_argument(
        "--log-level", default="warning", help="uvicorn log level: debug, info, warning, error (default: warning)"
    )


#: Environment variables read for a Bearer token when no --token is given, first set wins.
TOKEN_ENV = ("SCIMITAR_SERVE_TOKEN", "SCIM_TOKEN")
#: The admin token when no --admin-token is given; the same variable the admin-API observer reads.
ADMIN_TOKEN_ENV = "SCIMITAR_ADMIN_TOKEN"


def build_config(
    args: argparse.Namespace, environ: dict[str, str] | None = None
) -> tuple[ServerConfig, list[str]]:
    """The server config and the lines to print so a newcomer knows how to connect."""
    env = os.environ if environ is None else environ
    tokens = list(args.token)
    notes: list[str] = []
    if not tokens:
        for name in TOKEN_ENV:
            if env.get(name, "").strip():
                tokens.append(env[name].strip())
                notes.append(f"  Bearer token: from ${name}")
                break
    basic = []
    for pair in args.basic:
        key, sep, secret = pair.partition(":")
        if not sep or not key or not secret:
            raise ValueError(f"--basic expects KEY:SECRET, got {pair!r}")
        basic.append((key, secret))
    shape = None
    try:
        if getattr(args, "schemas", None):
            shape = load_shape_file(args.schemas)
        elif getattr(args, "shape", None) and args.shape != "rfc":
            shape = named_shape(args.shape)
    except ShapeError as exc:
        raise ValueError(str(exc)) from None
    if shape is not None and shape.profile and args.profile != "rfc" and args.profile != shape.profile:
        raise ValueError(f"--shape {shape.name} implies --profile {shape.profile}, not {args.profile}")
    config = ServerConfig(
        shape=shape,
        base_path=args.base_path,
        profile=args.profile,
        quirks=parse_quirks(args.quirk),
        tokens=tokens,
        basic=basic,
        no_auth=args.no_auth,
        group_display_name_unique=not getattr(args, "allow_duplicate_group_names", False),
        strict_role_mapping=args.strict_role_mapping,
        default_role=args.default_role,
        latency_ms=args.latency_ms,
        seed_users=args.seed_users,
        seed_groups=args.seed_groups,
        seed=args.seed,
    )
    given = admin_token_source(args, env)
    if given == "--admin-token":
        config.admin_token = args.admin_token
    elif given:
        config.admin_token = env[ADMIN_TOKEN_ENV].strip()
    if not (config.tokens or config.basic or config.no_auth):
        import secrets

        if config.clickhouse:
            key, secret = "scim_" + secrets.token_hex(10), secrets.token_urlsafe(24)
            config.basic.append((key, secret))
            notes.append(f"  Basic auth:  key {key}  secret {secret}  (shown once)")
            notes.append(f"  or header:   Authorization: Bearer {key}:{secret}")
        else:
            token = "scimitar_" + secrets.token_urlsafe(24)
            config.tokens.append(token)
            notes.append(f"  Bearer token: {token}  (shown once)")
    return config, notes


def admin_token_source(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    """Where the admin token comes from: "--admin-token", "$SCIMITAR_ADMIN_TOKEN", or None
    (generated). A given token is never printed; a generated one is, once, as the only way to
    learn it."""
    if args.admin_token:
        return "--admin-token"
    if environ.get(ADMIN_TOKEN_ENV, "").strip():
        return f"${ADMIN_TOKEN_ENV}"
    return None


def run(args: argparse.Namespace) -> int:
    if args.list_quirks:
        width = max(len(q.value) for q in QUIRKS)
        for quirk, info in QUIRKS.items():
            print(f"{quirk.value:<{width}}  {info.section:<20}  {info.description}")
        return 0
    try:
        config, notes = build_config(args)
    except ValueError as exc:
        print(f"scimitar serve: {exc}", file=sys.stderr)
        return 2
    import uvicorn

    from scimitar.server.app import create_app

    app = create_app(config)
    # Bind first, so `--port 0` can print the port the system picked before serving.
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        print(f"scimitar serve: cannot bind {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{port}{config.base_path}"
    print(f"scimitar reference server ({config.profile} profile) at {url}")
    print(*notes, sep="\n") if notes else print("  credentials: as given on the command line")
    if config.shape is not None:
        where = args.schemas if getattr(args, "schemas", None) else f"the {config.shape.name} shape"
        print(f"  schemas: {where} (served at /Schemas, /ResourceTypes and enforced on every write)")
    if config.no_auth:
        print("  authentication: off (--no-auth)")
    if not config.group_display_name_unique:
        print("  group displayName uniqueness: off (--allow-duplicate-group-names)")
    source = admin_token_source(args, os.environ)
    shown = f"<{source}>" if source else f"{config.admin_token}  (shown once)"
    print(f"  admin API: http://{host}:{port}{config.admin_path} (Authorization: Bearer {shown})")
    if config.quirks:
        print(f"  quirks on: {', '.join(sorted(q.value for q in config.quirks))}")
    print(f"  try: curl -H 'Authorization: Bearer <token>' {url}/ServiceProviderConfig")
    sys.stdout.flush()
    server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=port, log_level=args.log_level))
    server.run(sockets=[sock])
    return 0


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock
