"""`iop.cli.main(argv)` on IoP 4.1.1 and on ours: the paths that need no IRIS (argparse, IoP's
own refusals) exit with the same SystemExit code and print the same standard output."""

from __future__ import annotations

from pathlib import Path

from compat_harness import differential

SCRIPT = '''
    from iop.cli.main import main

    for label, argv in [
        ("unknown option", ["--bogus"]),
        ("stray positional", ["-x", "extra"]),
        ("missing value", ["--plan"]),
        ("bad --format choice", ["-e", "P", "--format", "bogus"]),
        ("two commands", ["-s", "-S"]),
        ("two commands, flags", ["-l", "-x"]),
        ("apply-plan without settings", ["--apply-plan", "plan.json"]),
        ("unused without bindings", ["--unused"]),
        ("log count not a number", ["-L", "many"]),
        ("unbind nothing", ["--unbind", ""]),
        ("namespace alone", ["-n"]),
    ]:
        check(label, lambda argv=argv: main(argv))
'''

INTENDED = {
    "namespace alone": "IoP prints $IRISNAMESPACE or 'not set'; the engine always has a "
                       "namespace (USER by default), which it prints",
}


def test_cli_main_exit_codes_and_refusals(tmp_path: Path) -> None:
    theirs = differential({}, SCRIPT, tmp_path, intended=INTENDED)
    assert theirs["unknown option"]["exit"] == 2
    assert theirs["apply-plan without settings"]["exit"] == 1


MIGRATION_FILES = {
    "comps.py": '''
        from dataclasses import dataclass

        from iop import BusinessOperation, BusinessService, Message


        @dataclass
        class Ping(Message):
            text: str = ""


        class Echo(BusinessOperation):
            def on_message(self, request):
                return request


        class Feed(BusinessService):
            def on_process_input(self, request):
                return None
    ''',
    "settings.py": '''
        from iop import Production
        from comps import Echo, Feed

        prod = Production("Mig.Production")
        prod.service("Feed", Feed)
        prod.operation("Echo", Echo)
        other = Production("Mig.Other")
        CLASSES = {"Python.Echo": Echo}
        PRODUCTIONS = [prod, other]
    ''',
}

EXPLAIN = '''
    import contextlib
    import io
    import os

    from iop.cli.main import main

    os.environ["IRISNAMESPACE"] = "USER"  # IoP's local namespace; the engine's default


    def explained(flag):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                main(["-m", "settings.py", flag])
            except SystemExit as exc:
                code = exc.code
        # The case runs in a different folder for each package.
        return code, out.getvalue().replace(os.getcwd(), "<dir>")


    check("explain", lambda: explained("--explain"))
    check("dry-run", lambda: explained("--dry-run"))
'''


def test_migration_explain_text(tmp_path: Path) -> None:
    theirs = differential(MIGRATION_FILES, EXPLAIN, tmp_path)
    assert theirs["explain"]["value"][1].startswith("Migration plan: <dir>/settings.py\n")
