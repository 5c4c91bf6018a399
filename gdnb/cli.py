"""The ``gdnb`` command."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from gdnb.errors import GdnbError


def _sandbox_commands(sub: argparse._SubParsersAction) -> None:
    sandbox = sub.add_parser("sandbox", help="the offline AWS-compatible endpoint")
    ssub = sandbox.add_subparsers(dest="action", required=True)

    up = ssub.add_parser("up", help="start the sandbox in the background and print its environment")
    up.add_argument("--port", type=int, default=4566, help="port on 127.0.0.1 (default 4566; 0 picks a free one)")
    up.add_argument("--data-dir", type=Path, default=None, help="where it keeps its files (default ~/.gdnb/sandbox)")
    up.set_defaults(func=_sandbox_up)

    for name, func, text in (("down", _sandbox_down, "stop the sandbox"),
                             ("status", _sandbox_status, "say whether the sandbox runs, and where"),
                             ("env", _sandbox_env, "print the environment to export: eval \"$(gdnb sandbox env)\"")):
        p = ssub.add_parser(name, help=text)
        p.add_argument("--data-dir", type=Path, default=None)
        p.set_defaults(func=func)

    seed = ssub.add_parser("seed", help="export a deterministic history of findings with planted incidents")
    seed.add_argument("--days", type=int, default=30, help="days of history ending yesterday (UTC)")
    seed.add_argument("--regions", default=None,
                      help="comma-separated regions; each needs a detector with a publishing destination "
                           "(default: every region that has one)")
    seed.add_argument("--findings-per-day", type=int, default=100, help="new findings per day and region")
    seed.add_argument("--seed", type=int, default=7, help="random seed (same seed, same history)")
    seed.add_argument("--accounts", default=None, help="comma-separated member account ids for some findings")
    seed.add_argument("--end", default=None, help="last day of history, YYYY-MM-DD (default yesterday, UTC)")
    seed.add_argument("--data-dir", type=Path, default=None)
    seed.set_defaults(func=_sandbox_seed)


def _partitions_commands(sub: argparse._SubParsersAction) -> None:
    from gdnb.partitions import add_sync_arguments, run_sync_command

    parts = sub.add_parser("partitions", help="manual partitions of gd_findings")
    psub = parts.add_subparsers(dest="action", required=True)
    sync = psub.add_parser("sync", help="register the export's missing partitions (batched ALTER TABLE ADD PARTITION)")
    add_sync_arguments(sync)
    sync.set_defaults(func=run_sync_command)


def _report_command(sub: argparse._SubParsersAction) -> None:
    from gdnb.report.runner import add_arguments, run_from_args

    report = sub.add_parser("report", help="run the findings report (notebook 05) and write it as a notebook and HTML")
    add_arguments(report)
    report.set_defaults(func=run_from_args)


def _local_command(sub: argparse._SubParsersAction) -> None:
    local = sub.add_parser("local", add_help=False,
                           help="run Athena SQL on a local copy of an export bucket (no AWS): gdnb local --help")
    local.add_argument("rest", nargs=argparse.REMAINDER)


def _data_dir_flag(data_dir: Path | None) -> str:
    """`` --data-dir DIR`` (shell-quoted) when ``data_dir`` is not the default one, else ""."""
    from gdnb.sandbox import control

    if data_dir is None or Path(data_dir).resolve() == control.default_data_dir().resolve():
        return ""
    return f" --data-dir {shlex.quote(str(Path(data_dir).resolve()))}"


def _running(data_dir: Path | None):
    from gdnb.sandbox import control

    state = control.read_state(data_dir)
    if state is None or (control.health(state) or {}).get("pid") != state.pid:
        raise GdnbError(f"No sandbox is running with data in {data_dir or control.default_data_dir()}.",
                        f"start one with `gdnb sandbox up{_data_dir_flag(data_dir)}`.")
    return state


def _sandbox_up(args: argparse.Namespace) -> int:
    from gdnb.sandbox import control

    state = control.start(port=args.port, data_dir=args.data_dir)
    print(control.shell_exports(state.env()))
    print(f"# sandbox running: pid {state.pid}, {state.endpoint}, data in {state.data_dir}", file=sys.stderr)
    print(f'# use it in this shell with: eval "$(gdnb sandbox env{_data_dir_flag(args.data_dir)})"', file=sys.stderr)
    return 0


def _sandbox_down(args: argparse.Namespace) -> int:
    from gdnb.sandbox import control

    print(control.stop(args.data_dir).value)
    return 0


def _sandbox_status(args: argparse.Namespace) -> int:
    from gdnb.sandbox import control

    state = control.read_state(args.data_dir)
    if state is None or (control.health(state) or {}).get("pid") != state.pid:
        print("sandbox: not running")
        return 1
    print(f"sandbox: running, pid {state.pid}, {state.endpoint}, data in {state.data_dir}")
    return 0


def _sandbox_env(args: argparse.Namespace) -> int:
    from gdnb.sandbox import control

    print(control.shell_exports(_running(args.data_dir).env()))
    return 0


def _sandbox_seed(args: argparse.Namespace) -> int:
    from gdnb.sandbox import control

    state = _running(args.data_dir)
    body = {"days": args.days, "findings_per_day": args.findings_per_day, "seed": args.seed,
            "regions": args.regions.split(",") if args.regions else None,
            "accounts": args.accounts.split(",") if args.accounts else None, "end": args.end}
    result = control.control_call(state, "/_gdnb/seed", body)
    summary = {k: result.get(k) for k in ("regions", "start", "end", "findings", "rows", "objects_written",
                                          "seconds", "rows_per_second", "incidents")}
    print(json.dumps(summary, indent=2))
    print(f"manifest: {result.get('manifest_path')}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gdnb", description="GuardDuty findings in S3, queried with Athena.")
    sub = parser.add_subparsers(dest="command", required=True)
    _sandbox_commands(sub)
    _partitions_commands(sub)
    _report_command(sub)
    _local_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["local"]:  # its own parser, so `gdnb local --help` shows the local options
        from gdnb.sandbox.athena.local import main as local_main

        return local_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GdnbError as exc:
        print(f"gdnb: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
