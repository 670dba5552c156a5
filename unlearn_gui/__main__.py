"""``unlearn-gui`` / ``python -m unlearn_gui``: the desktop app, or a headless subcommand."""
from __future__ import annotations

import argparse
import os
import sys

# OpenMP workers that spin while idle fight the GUI thread and any other process for the cores;
# measured in benchmarks/: a CPU training step 3.2x slower with the spinning default on a busy
# 2-core machine. Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import __version__


def parser() -> argparse.ArgumentParser:
    from .cli import build_report_parser, build_run_parser

    p = argparse.ArgumentParser(prog="unlearn-gui", description="Point-and-click unlearning for local language "
                                "models. Without a subcommand, opens the desktop app.")
    p.add_argument("--version", action="version", version=f"unlearn-gui {__version__}")
    p.add_argument("--model", default="default", help="GUI: model to preselect ('default' = built-in)")
    p.add_argument("--no-demo", action="store_true", help="GUI: start with empty forget/retain tables")
    p.add_argument("--self-test", action="store_true",
                   help="open the main window offscreen, run two steps on a tiny model built in code, exit 0 on success")
    sub = p.add_subparsers(dest="command")
    build_run_parser(sub)
    build_report_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    a = parser().parse_args(argv)
    if a.self_test:
        from .selftest import run_self_test

        return run_self_test()
    if a.command == "run":
        from .cli import cmd_run

        return cmd_run(a)
    if a.command == "report":
        from .cli import cmd_report

        return cmd_report(a)
    from .gui.app import main as gui_main

    return gui_main(a)


if __name__ == "__main__":
    sys.exit(main())
