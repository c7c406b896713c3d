"""Exit codes, defined in one place (and documented in the README)."""

from __future__ import annotations

import enum

from tdmguard import errors

__all__ = ["ExitCode", "exit_code_for"]


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1  # unexpected failure (a bug: please report it)
    USAGE = 2  # bad flags or arguments (also Typer's own usage errors)
    INPUT = 3  # malformed input file, row, field or media
    NOT_FOUND = 4  # holder, work, reservation, licence or file not found
    CONFLICT = 5  # duplicate id or a change that conflicts with the registry
    INTEGRITY = 6  # the audit chain or a snapshot does not verify
    REGISTRY = 7  # the registry database cannot be opened or written
    INDEX = 8  # fingerprint index missing or corrupt
    NETWORK = 9  # a fetch failed
    EXTRA_MISSING = 10  # an optional dependency is not installed
    CONFIG = 11  # a setting or environment variable is wrong
    FILESYSTEM = 12  # a file or folder cannot be read or written (permissions, disk full)
    PARTIAL = 13  # the run finished, but some items failed (listed in errors.jsonl / the output)
    ALL_FAILED = 14  # the run finished, but every item failed: nothing was checked
    INTERRUPTED = 130  # Ctrl-C


# Most specific first: the first class the error is an instance of decides.
_TABLE: tuple[tuple[type[errors.TdmguardError], ExitCode], ...] = (
    (errors.NotFoundError, ExitCode.NOT_FOUND),
    # another holder's record named with --holder: the field given is wrong for this holder
    (errors.PermissionDeniedError, ExitCode.INPUT),
    (errors.AuthenticationError, ExitCode.CONFIG),
    (errors.ConflictError, ExitCode.CONFLICT),
    (errors.IntegrityError, ExitCode.INTEGRITY),
    (errors.RegistryError, ExitCode.REGISTRY),
    (errors.InputError, ExitCode.INPUT),
    (errors.IndexStoreError, ExitCode.INDEX),
    (errors.FetchError, ExitCode.NETWORK),
    (errors.MissingExtraError, ExitCode.EXTRA_MISSING),
    (errors.ConfigError, ExitCode.CONFIG),
)


def exit_code_for(exc: errors.TdmguardError) -> ExitCode:
    for cls, code in _TABLE:
        if isinstance(exc, cls):
            return code
    return ExitCode.FAILURE
