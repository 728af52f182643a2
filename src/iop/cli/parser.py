"""The argparse parser: exactly the flags of seed 000, plus the engine's operator commands."""

from __future__ import annotations

import argparse
from typing import NoReturn


class _OneLineParser(argparse.ArgumentParser):
    """Reports a command-line mistake in one line (argparse's exit code 2, as IoP's)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see iop -h)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _OneLineParser(prog="iop", add_help=False,
                                description="Interoperability productions on the iop engine.")
    p.add_argument("-h", "--help", action="store_true", help="display help and default production name")
    p.add_argument("-d", "--default", nargs="?", const="", default=None, metavar="DEFAULT",
                   help="set the default production")
    p.add_argument("-l", "--list", action="store_true", help="list productions")
    p.add_argument("-s", "--start", nargs="?", const="", default=None, metavar="START",
                   help="start a production")
    p.add_argument("-S", "--stop", action="store_true", help="stop a production")
    p.add_argument("-k", "--kill", action="store_true", help="kill a production")
    p.add_argument("-r", "--restart", action="store_true", help="restart a production")
    # With --messages, --status VALUE filters by message status; alone it is the seed's -x.
    p.add_argument("-x", "--status", nargs="?", const=True, default=None, metavar="STATUS",
                   help="status a production (with --messages: only messages of this status)")
    p.add_argument("-u", "--update", action="store_true",
                   help="update a production (restart only changed items)")
    p.add_argument("-m", "-M", "--migrate", metavar="MIGRATE",
                   help="migrate production and classes with settings file")
    p.add_argument("-e", "--export", nargs="?", const="", default=None, metavar="EXPORT",
                   help="export a production")
    p.add_argument("-v", "--version", action="store_true", help="display version")
    p.add_argument("-L", "--log", nargs="?", const="", default=None, metavar="LOG",
                   help="display log (follow until Ctrl+C; with N, the last N entries)")
    p.add_argument("-q", "--queue", nargs="?", const="", default=None, metavar="QUEUE",
                   help="display runtime queue information")
    p.add_argument("-i", "--init", nargs="?", const="", default=None, metavar="INIT",
                   help="init (create or upgrade) the namespace store")
    p.add_argument("--bindings", action="store_true", help="list class bindings")
    p.add_argument("--unbind", metavar="UNBIND", help="remove a class binding")
    p.add_argument("-t", "--test", nargs="?", const="", default=None, metavar="TEST",
                   help="send a test message to an item")
    p.add_argument("-n", "--namespace", nargs="?", const="",
                   help="namespace to operate in (default USER); alone, print it")
    p.add_argument("-R", "--remote-settings", metavar="FILE",
                   help="path to a settings.py containing REMOTE_SETTINGS (overrides the "
                        "IOP_SETTINGS env var)")
    p.add_argument("--force-local", action="store_true",
                   help="ignore IOP_URL, -R, IOP_SETTINGS and REMOTE_SETTINGS: work on the "
                        "local store")
    p.add_argument("--messages", action="store_true", help="list message headers as JSON")
    p.add_argument("--jobs", action="store_true",
                   help="list every host's supervisor and jobs as JSON")

    start = p.add_argument_group("start arguments")
    start.add_argument("-D", "--detach", action="store_true", help="start a production in detach mode")
    test = p.add_argument_group("test arguments")
    test.add_argument("-C", "--classname", help="test classname")
    test.add_argument("-B", "--body", help="test body (JSON, or @file)")
    bindings = p.add_argument_group("bindings arguments")
    bindings.add_argument("--unused", action="store_true",
                          help="with --bindings, show only classes unused by productions")
    migrate = p.add_argument_group("migrate arguments")
    migrate.add_argument("--dry-run", action="store_true", help="show the migration plan, write nothing")
    migrate.add_argument("--explain", action="store_true", help="same as --dry-run")
    migrate.add_argument("--strict-production-validation", action="store_true",
                         help="fail when production validation reports an issue")
    export = p.add_argument_group("export arguments")
    export.add_argument("--format", default="json",
                        choices=["json", "python", "class", "graph", "mermaid"],
                        help="export format: IRIS JSON, a Python or class-style draft, the "
                             "route graph, or Mermaid flowchart text")
    plan = p.add_argument_group("plan, review, apply, verify, rollback")
    plan.add_argument("--plan", metavar="FILE",
                      help="plan the changes a settings file asks of the deployed production")
    plan.add_argument("--production", metavar="NAME", help="with --plan: the production to plan")
    plan.add_argument("--out", metavar="FILE", help="with --plan: write the plan JSON to FILE")
    plan.add_argument("--review-plan", metavar="FILE", help="show a saved plan for review")
    plan.add_argument("--apply-plan", metavar="FILE",
                      help="apply a plan's safe operations (local mode only)")
    plan.add_argument("--settings", metavar="FILE",
                      help="with --apply-plan: the settings file the plan was made from")
    plan.add_argument("--backup-dir", metavar="DIR",
                      help="with --apply-plan: where backups go (default .iop/backups)")
    plan.add_argument("--allow-destructive", action="store_true",
                      help="also apply destructive and blocked operations / allow a rollback")
    plan.add_argument("--verify-plan", metavar="FILE",
                      help="check that a plan's safe operations are deployed")
    plan.add_argument("--rollback-backup", metavar="DIR",
                      help="restore the production saved in an apply backup directory")
    messages = p.add_argument_group("messages arguments")
    messages.add_argument("--session", type=int, help="only this session")
    messages.add_argument("--target", help="only messages to this item")
    messages.add_argument("--source", help="only messages from this item")
    messages.add_argument("--limit", type=int, default=100, help="at most this many (newest first)")
    messages.add_argument("--count", action="store_true", help="print counts by status instead")
    ops = p.add_argument_group("operations arguments")
    ops.add_argument("--suspended", action="store_true", help="list suspended messages")
    ops.add_argument("--resubmit", type=int, nargs="+", metavar="ID",
                     help="queue suspended messages again (with -B BODY|@file: an edited "
                          "copy of one message)")
    ops.add_argument("--discard", type=int, nargs="+", metavar="ID",
                     help="discard suspended messages")
    ops.add_argument("--purge", type=float, nargs="?", const=7.0, metavar="DAYS",
                     help="delete complete sessions and log lines older than DAYS (default 7)")
    ops.add_argument("--bodies", action="store_true", help="with --purge: message bodies too")
    ops.add_argument("--include-incomplete", action="store_true",
                     help="with --purge: also sessions with messages still in progress")
    ops.add_argument("--recover", action="store_true",
                     help="clean up a troubled production (its supervisor died)")
    ops.add_argument("--check-store", action="store_true",
                     help="check this host's store of the namespace (JSON; exit 1 if damaged)")
    ops.add_argument("--repair", action="store_true",
                     help="with --check-store: salvage the readable rows into a new store "
                          "file, keeping the damaged one beside it")
    ops.add_argument("--resend", type=int, nargs="+", metavar="ID",
                     help="send requests again, whatever their status (--new-session: each "
                          "in a session of its own)")
    ops.add_argument("--new-session", action="store_true", help="with --resend: in a new session")
    ops.add_argument("--queue-messages", metavar="ITEM",
                     help="list the messages in ITEM's queue, oldest first, waiting or in "
                          "progress (--limit: how many)")
    ops.add_argument("--abort", type=int, nargs="+", metavar="ID",
                     help="with --target ITEM: take waiting messages out of ITEM's queue for "
                          "good (status aborted)")
    ops.add_argument("--suspend", type=int, nargs="+", metavar="ID",
                     help="with --target ITEM: move waiting messages of ITEM's queue to the "
                          "suspended ones (--resubmit queues them again)")
    creds = p.add_argument_group("credentials (the Credentials setting of adapters)")
    creds.add_argument("--credentials-add", metavar="NAME",
                       help="add or change credentials (with --username; the password is "
                            "prompted for, or read from standard input or "
                            "IOP_CREDENTIALS_PASSWORD)")
    creds.add_argument("--username", metavar="USER",
                       help="with --credentials-add: the user name to log in with")
    creds.add_argument("--credentials-list", action="store_true",
                       help="list the credentials (names and user names, never passwords)")
    creds.add_argument("--credentials-remove", metavar="NAME", help="remove credentials")
    serve = p.add_argument_group("server arguments")
    serve.add_argument("--serve", action="store_true",
                       help="serve the remote API (/api/iop) over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="with --serve: address to listen on")
    serve.add_argument("--port", type=int, default=52773, help="with --serve: port to listen on")
    serve.add_argument("--max-body-mb", type=float, default=32.0, metavar="MB",
                       help="with --serve: largest request body accepted (default 32 MB)")
    serve.add_argument("--portal-root", action="append", metavar="DIR",
                       help="with --serve: a folder the portal's directory and file pickers may "
                            "browse, besides the namespace's own (repeatable; also "
                            "IOP_PORTAL_ROOTS)")
    users = p.add_argument_group("server users")
    users.add_argument("--user-add", metavar="NAME",
                       help="add a user of the server (prompts for the password)")
    users.add_argument("--user-password", metavar="NAME",
                       help="change a user's password (prompts for it)")
    users.add_argument("--user-remove", metavar="NAME", help="remove a user of the server")
    users.add_argument("--user-list", action="store_true",
                       help="list the server's users with their roles and lockouts")
    users.add_argument("--user-set-roles", metavar="NAME",
                       help="replace a user's roles with those of --user-role/--user-namespace")
    users.add_argument("--user-unlock", metavar="NAME",
                       help="clear a user's lockout and failed logins")
    users.add_argument("--user-namespace", action="append", metavar="NS",
                       help="with --user-add/--user-set-roles/--user-password: a namespace the "
                            "user may use (repeat for several; default all)")
    users.add_argument("--user-role", action="append", metavar="ROLE|NS=ROLE",
                       help="viewer, operator, developer or admin: alone, in every "
                            "--user-namespace (or all namespaces); NS=ROLE, in namespace NS "
                            "(repeatable; default viewer)")
    users.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of standard input")
    return p
