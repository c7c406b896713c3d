"""The one exception tree. Third-party errors are wrapped at the boundary with the path,
line, field or URL they concern; the CLI maps each class to an exit code, the server to an
HTTP status (and nothing else does)."""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ConflictError",
    "FetchError",
    "IndexStoreError",
    "InputError",
    "IntegrityError",
    "MediaError",
    "MissingExtraError",
    "NotFoundError",
    "PermissionDeniedError",
    "RegistryError",
    "TdmguardError",
    "TooLargeError",
]


class TdmguardError(Exception):
    """Base of every error tdmguard raises on purpose.

    ``where`` names the file, line, field or URL concerned, so the message a user sees
    always says where to look.
    """

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(TdmguardError):
    """A setting, flag or environment variable is wrong."""


class InputError(TdmguardError):
    """User input (a file, a row of a catalogue, a field) is malformed."""


class TooLargeError(InputError):
    """Input over a configured size limit (an upload, a list of URLs)."""


class MediaError(InputError):
    """A media file cannot be read or decoded (corrupt, truncated, unsupported, too large)."""


class MissingExtraError(TdmguardError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"this needs the optional dependency {module!r}: pip install 'tdmguard[{extra}]'",
        )
        self.module = module
        self.extra = extra


class RegistryError(TdmguardError):
    """The registry database cannot be opened, migrated or written."""


class NotFoundError(RegistryError):
    """A holder, work, reservation or licence does not exist."""


class PermissionDeniedError(RegistryError):
    """The acting holder or key may not do this (another holder's record, a read-only key)."""


class AuthenticationError(RegistryError):
    """No API key, an unknown one, or a revoked one."""


class ConflictError(RegistryError):
    """The change conflicts with what the registry holds (duplicate id, ...)."""


class IntegrityError(RegistryError):
    """The audit chain or a snapshot digest does not verify."""


class IndexStoreError(TdmguardError):
    """The fingerprint index is missing, corrupt or of another version."""


class FetchError(TdmguardError):
    """A network fetch failed (after the fetcher's own retries and failure rules)."""
