"""`scimitar record`: record an IdP's traffic (through a loopback proxy, or from a HAR file) into a
scenario file that `scimitar replay` runs against any SCIM server.

Exit codes: 0 written, 2 bad options or an unreadable HAR, 3 the proxy could not listen, 4 nothing
was recorded (no file written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from scimitar.record.model import DEFAULT_MAX_BODY_BYTES, Capture

EXIT_OK, EXIT_USAGE, EXIT_LISTEN, EXIT_NOTHING = 0, 2, 3, 4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("what to record (one is required)")
    source.add_argument("--upstream", metavar="URL", help="the SCIM base URL the proxy forwards to")
    source.add_argument("--from-har", metavar="FILE", help="a HAR file instead of a live proxy")
    parser.add_argument("--listen", metavar="HOST:PORT", default="127.0.0.1:8089",
                        help="where the proxy listens (default 127.0.0.1:8089; port 0 picks a free one)")
    parser.add_argument("--listen-any", action="store_true",
                        help="allow a non-loopback --listen address (the proxy forwards credentials)")
    parser.add_argument("--out", metavar="FILE", default="recording.yaml",
                        help="the scenario file to write (default recording.yaml)")
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES, metavar="N",
                        help=f"largest request or response body recorded (default {DEFAULT_MAX_BODY_BYTES})")
    parser.add_argument("--base", metavar="URL", help="--from-har: the SCIM base URL inside the capture")
    parser.add_argument("--name", help="the scenario's title (default: who was recorded, where, when)")
    parser.add_argument("--skip-user-agent", action="append", default=[], metavar="PREFIX",
                        help="leave out requests whose User-Agent starts with PREFIX (a monitor, the harness's "
                             "own python-httpx requests), repeatable")
    parser.add_argument("--insecure", action="store_true", help="do not verify the upstream's TLS certificate")


def write(capture: Capture, out: str, name: str | None, stream: TextIO, skip_agents: tuple[str, ...] = ()) -> int:
    from scimitar.record.writer import build_scenario, to_yaml

    if skip_agents:
        capture.exchanges = [ex for ex in capture.exchanges
                             if not (ex.header("User-Agent") or "").startswith(skip_agents)]
    if not capture.exchanges:
        print("scimitar: nothing was recorded; no file written", file=sys.stderr)
        return EXIT_NOTHING
    scenario = build_scenario(capture, name=name)
    text = to_yaml(scenario, capture.masker)
    Path(out).write_text(text, encoding="utf-8")
    print(f"recorded {len(capture.exchanges)} requests (idp: {scenario['idp']}) -> {out}", file=stream)
    print(f"replay: scimitar replay --target-url URL {out}   diagnose: scimitar diagnose {out}", file=stream)
    return EXIT_OK


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    if bool(args.upstream) == bool(args.from_har):
        print("scimitar: give one of --upstream URL or --from-har FILE", file=sys.stderr)
        return EXIT_USAGE
    if args.max_body_bytes <= 0:
        print("scimitar: --max-body-bytes must be positive", file=sys.stderr)
        return EXIT_USAGE
    if args.from_har:
        from scimitar.record.har import HarError, read_har

        try:
            capture = read_har(args.from_har, base=args.base, max_body_bytes=args.max_body_bytes)
        except HarError as exc:
            print(f"scimitar: {exc}", file=sys.stderr)
            return EXIT_USAGE
        return write(capture, args.out, args.name, stream, tuple(args.skip_user_agent))
    return _proxy(args, stream)


def _proxy(args: argparse.Namespace, stream: TextIO) -> int:
    from urllib.parse import urlsplit

    import uvicorn

    from scimitar.record.proxy import ListenError, RecordingProxy, parse_listen

    try:
        host, port = parse_listen(args.listen, allow_any=args.listen_any)
        capture = Capture(upstream_host=urlsplit(args.upstream).netloc)
        capture.masker.add_url(args.upstream)
        app = RecordingProxy(args.upstream, capture, max_body_bytes=args.max_body_bytes,
                             verify=not args.insecure)
    except (ListenError, ValueError) as exc:
        print(f"scimitar: {exc}", file=sys.stderr)
        return EXIT_USAGE

    class _Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started and self.servers:
                bound = self.servers[0].sockets[0].getsockname()
                print(f"recording: http://{bound[0]}:{bound[1]} -> {capture.masker.mask_text(args.upstream)}; "
                      f"point the IdP here, Ctrl-C writes {args.out}", file=stream, flush=True)

    server = _Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    try:
        server.run()
    except KeyboardInterrupt:
        pass  # uvicorn handles the first Ctrl-C itself; a second one lands here: still write
    if not server.started:
        print(f"scimitar: could not listen on {args.listen}", file=sys.stderr)
        return EXIT_LISTEN
    return write(capture, args.out, args.name, stream, tuple(args.skip_user_agent))
