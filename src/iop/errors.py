"""Every exception iop raises on purpose, as one tree rooted at ``IopError``.

The branches live here; a leaf lives next to the code that raises it (its module is named on
its line). The CLI prints any ``IopError`` as one ``error:`` line and exits 1 (2 for a
``BodyRefused``, a usage mistake as argparse's, ``iop.cli.main``); the server's
one table (``iop.server.http.status_for``) gives each class or branch its HTTP status, and
the app's exception handlers answer with it. Anything else escaping is a bug of ours.
Some classes keep a standard exception as a second base, so that code catching it (and
IoP's names: ``ProductionValidationError`` is a ValueError there too) still does.

    IopError
    ├── StoreError (RuntimeError): the store cannot be opened, read or written
    │   ├── StoreUnavailable ......... iop.errors: an outage (connection lost or refused,
    │   │   │                          busy, I/O error, disk full) the caller waits out
    │   │   └── InputsPaused ......... iop.errors: the store's disk is nearly full; new
    │   │                              input is refused instead of waited out
    │   ├── StoreDamaged ............. iop.store.errors: the file is empty, foreign or corrupt
    │   └── RepairRefused ............ iop.store.sqlite.repair: the store is in use
    ├── EngineError (RuntimeError): a request the engine refuses; the user can fix it
    │   ├── UnknownProduction ........ iop.engine.errors
    │   ├── UnknownClass ............. iop.engine.errors
    │   ├── UnknownItem .............. iop.engine.errors
    │   ├── AlreadyRunning ........... iop.engine.errors
    │   ├── NotRunning ............... iop.engine.errors
    │   ├── Busy ..................... iop.engine.errors
    │   ├── MessageTimeout ........... iop.engine.errors
    │   ├── TargetFailed ............. iop.engine.errors (also importable as RemoteError there)
    │   ├── BadReplyCodeActions ...... iop.engine.outcomes.reply_code_actions
    │   ├── NotSuspended ............. iop.engine.suspended
    │   ├── NotWaiting ............... iop.engine.queue_actions
    │   ├── UnknownAlert ............. iop.engine.managed_alerts
    │   ├── AlertRefused ............. iop.engine.managed_alerts
    │   ├── BadAlertInput (ValueError)  iop.engine.managed_alerts
    │   ├── MigrationError ........... iop.migration.classes
    │   ├── InvalidConfiguration ..... iop.client.item_config
    │   │   └── InvalidEdit .......... iop.client.production_edit
    │   ├── InvalidProductionSettings  iop.client.production_settings
    │   ├── MessageNotFound .......... iop.client.operator
    │   ├── BadCredentials (ValueError)  iop.connectors.credentials
    │   ├── UserError ................ iop.server.users
    │   ├── UnknownRole (ValueError) . iop.server.roles
    │   ├── UnknownNamespace ......... iop.server.namespaces
    │   │   ├── InvalidNamespaceName . iop.server.namespaces
    │   │   └── ReservedNamespace .... iop.server.namespaces
    │   ├── IsolatedError ............ iop.server.isolated
    │   ├── NoStoreAccess ............ iop.server.code_snapshot
    │   ├── CodeTooLarge ............. iop.server.code_stage
    │   ├── UploadRejected ........... iop.server.uploads
    │   └── LoadError ................ intersystems_pyprod.loader
    ├── ProductionError (ValueError): a production definition is inconsistent
    │   ├── UnknownComponent (LookupError)  iop.production.errors
    │   ├── PlanError ................ iop.production.plan
    │   ├── RemoteNotSupported ....... iop.production.deploy
    │   ├── ProductionValidationError  iop.production.validation (IoP's name and base)
    │   └── ProductionCommandError ... iop.cli.production_commands
    ├── MessageError (ValueError): a message body or class cannot be encoded or decoded
    │   ├── SerializationError ....... iop.messages.codec (IoP's name)
    │   ├── HL7Error ................. iop.connectors.hl7.hl7_message (not HL7 v2, a bad path)
    │   └── BodyRefused .............. iop.errors: a body that cannot be decoded or that its
    │       │                          message class refuses
    │       ├── ConstructorFailed .... iop.messages.codec (the class's constructor raised)
    │       └── BodyError ............ iop.messages.json_body (not UTF-8/JSON, too big or deep)
    ├── ComponentError (RuntimeError): a business host used outside the engine, or failing
    │   ├── HostNotInProduction ...... iop.components.engine_services
    │   └── StatusError .............. intersystems_pyprod._status (pyprod's name)
    ├── RemoteError (RuntimeError): a remote server refused or failed a client's request
    ├── ConnectorError (RuntimeError): an adapter cannot reach or use its outside system
    │   ├── FramingError ............. iop.connectors.tcp.mllp_framing (bytes outside a frame,
    │   │                              a frame too long)
    │   ├── PeerClosed ............... iop.connectors.tcp.mllp_framing
    │   ├── HL7NackError ............. iop.connectors.hl7.hl7_operations (code: the ACK's MSA-1)
    │   ├── InputNotTaken ............ iop.connectors.inbound (refused to the outside, not run)
    │   ├── HTTPStatusError .......... iop.connectors.http.http_outbound (a status not 2xx)
    │   ├── UnknownCredentials (LookupError)  iop.connectors.credentials
    │   ├── CredentialsKeyError ...... iop.connectors.credentials_key (no key, wrong key)
    │   ├── ConnectionLost ........... iop.connectors.sql.dbapi (a database connection died)
    │   ├── UnreadableMail ........... iop.connectors.email.mailbox (left on the server)
    │   ├── HostKeyRefused ........... iop.connectors.ftp.sftp_client (not the expected key)
    │   └── MissingLibrary ........... iop.connectors.errors (names the pip extra)
    ├── CliError: a command line the CLI cannot act on
    │   ├── BadBodyArgument .......... iop.cli.arguments (a usage mistake: exit code 2)
    │   ├── ModeError ................ iop.client.connection
    │   ├── PasswordError ............ iop.cli.server_commands
    │   └── CredentialsPasswordError . iop.cli.credentials_commands
    └── RequestRefused: the server refuses an HTTP request
        ├── BadRequest ............... iop.server.http
        ├── UnsupportedMediaType ..... iop.server.http
        ├── NoRoute .................. iop.server.http
        ├── MethodNotAllowed ......... iop.server.http
        ├── Unauthorized ............. iop.server.auth
        ├── Forbidden ................ iop.server.auth
        │   └── OutsideRoots ......... iop.server.portal.files
        ├── TooLarge ................. iop.server.limits
        ├── BadLength ................ iop.server.limits
        ├── LoginRefused ............. iop.server.login_limits
        └── HashPoolBusy ............. iop.server.password_pool

Not in the tree: ``ProductionValidationWarning`` (iop.production.validation), a UserWarning
as in IoP, which validation issues and never raises.
"""

from __future__ import annotations

__all__ = ["BodyRefused", "CliError", "ComponentError", "ConnectorError", "EngineError",
           "IopError", "MessageError", "ProductionError", "RemoteError", "RequestRefused",
           "StoreError", "StoreUnavailable", "InputsPaused"]


class IopError(Exception):
    """Root of every error iop raises on purpose; anything else escaping is a bug of ours."""


class StoreError(IopError, RuntimeError):
    """The store cannot be opened, read or written; the message names the store and the cause."""


class StoreUnavailable(StoreError):
    """The store is there but cannot be reached or written for now: its server restarted or
    is unreachable, its disk is full, its file is busy or failed an I/O. An engine process
    waits it out (backing off, reconnecting) instead of failing the message in hand."""


class InputsPaused(StoreUnavailable):
    """The store's file system has less free space than its threshold (or none): new input
    (a service's input, a Director or test call) is refused, with this one line, rather than
    waited out; what is stored goes on being delivered."""


class EngineError(IopError, RuntimeError):
    """A request the engine refuses; the user can fix what the message names."""


class ProductionError(IopError, ValueError):
    """A production definition is inconsistent; the message names the item or port at fault."""


class MessageError(IopError, ValueError):
    """A message body cannot be encoded, decoded, or its class cannot be found."""


class BodyRefused(MessageError):
    """A message body that cannot be decoded, or that its class refuses (a field it lacks, a
    value of the wrong type, a validation error, a constructor that raised); the message names
    the class and the problem. The server marks its answer (HTTP 400, ``"refused": "body"``)
    so that a remote client raises this class too."""


class ComponentError(IopError, RuntimeError):
    """A business host was used outside the engine, or reported a failure through its status."""


class RemoteError(IopError, RuntimeError):
    """A remote server refused or failed a RemoteClient's request; the message is the server's."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail  # the server's own error text, when it answered with one


class ConnectorError(IopError, RuntimeError):
    """An adapter cannot reach or use its outside system (a server down, a refused login, a
    protocol error); the message names the system and the cause. Raised in a business
    operation's handler it is the message's error, which ReplyCodeActions, RetryInterval and
    FailureTimeout act on."""


class CliError(IopError):
    """A command line the CLI cannot act on: a missing value, file or combination of flags."""


class RequestRefused(IopError):
    """The server refuses an HTTP request: its form, credentials, rights, size or rate."""
