"""Publishing a rights holder's reservation: the declaration bundle (web files, server
snippets, manifest) and stamping files. Pure generators over plain values
(:class:`HolderDeclaration`); the CLI builds the declaration from the registry."""

from tdmguard.declare.bundle import BundleFile, DeclarationBundle, bundle_files, write_bundle
from tdmguard.declare.crawlers import AICrawler, ai_crawlers, crawler_in_user_agent, crawler_tokens
from tdmguard.declare.declaration import DeclaredWork, HolderDeclaration, declaration_for
from tdmguard.declare.http_headers import reservation_headers
from tdmguard.declare.stamp import StampFields, StampResult, stamp_file

__all__ = [
    "AICrawler",
    "BundleFile",
    "DeclarationBundle",
    "DeclaredWork",
    "HolderDeclaration",
    "StampFields",
    "StampResult",
    "ai_crawlers",
    "bundle_files",
    "crawler_in_user_agent",
    "crawler_tokens",
    "declaration_for",
    "reservation_headers",
    "stamp_file",
    "write_bundle",
]
