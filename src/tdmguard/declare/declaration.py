"""What a rights holder declares, as plain values: the input of every generator in
:mod:`tdmguard.declare`.

The CLI builds a :class:`HolderDeclaration` from the registry; the middleware and the tests
build one directly. Nothing here reads a database or the network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from tdmguard.errors import InputError
from tdmguard.vocab import Purpose, Use, covered_uses

__all__ = ["DeclaredWork", "HolderDeclaration", "declaration_for"]

_ISRC = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$")
_ISWC = re.compile(r"^T-?[0-9]{3}\.?[0-9]{3}\.?[0-9]{3}-?[0-9]$")
_SAFE_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(value: str, where: str) -> str:
    # Every string ends up in robots.txt, headers, XML or tags: control characters (and
    # the CR/LF that would split a header or a robots line) are refused, not escaped.
    if _SAFE_TEXT.search(value) or "\n" in value or "\r" in value:
        raise InputError("control characters or line breaks are not allowed", where=where)
    return value.strip()


@dataclass(frozen=True, slots=True)
class DeclaredWork:
    """One work named in the declaration (listed on the page; used by ``stamp --work``)."""

    work_id: str
    title: str = ""
    isrc: str = ""
    iswc: str = ""

    def __post_init__(self) -> None:
        where = f"work {self.work_id!r}"
        if not self.work_id.strip():
            raise InputError("empty work id", where="work")
        for name in ("work_id", "title", "isrc", "iswc"):
            _clean(getattr(self, name), f"{where}.{name}")
        isrc = self.isrc.replace("-", "").upper()
        if isrc and not _ISRC.match(isrc):
            raise InputError(f"not an ISRC: {self.isrc!r}", where=f"{where}.isrc")
        if self.iswc and not _ISWC.match(self.iswc.upper()):
            raise InputError(f"not an ISWC: {self.iswc!r}", where=f"{where}.iswc")
        object.__setattr__(self, "isrc", isrc)

    def to_json(self) -> dict[str, str]:
        out = {"work_id": self.work_id}
        for key in ("title", "isrc", "iswc"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True, slots=True)
class HolderDeclaration:
    """A holder's reservation, with everything needed to publish it.

    ``base_url`` is the origin the bundle is served from (scheme, host, optional port; no
    path). ``reserved_paths`` are URL path prefixes (robots.txt syntax) the reservation
    covers; ``reserved_uses`` the uses reserved (``tdm`` covers all, see ``vocab.COVERS``);
    ``purposes`` whom it binds (``commercial`` only leaves EU DSM Art. 3 research alone).
    """

    holder: str
    contact_email: str
    licensing_url: str
    base_url: str
    reserved_uses: frozenset[Use]
    effective_from: date
    purposes: frozenset[Purpose] = frozenset({Purpose.COMMERCIAL, Purpose.RESEARCH})
    works: tuple[DeclaredWork, ...] = ()
    reserved_paths: tuple[str, ...] = ("/",)
    policy_path: str = "/policies/tdm-policy.json"
    licence_path: str = "/license.xml"
    page_path: str = "/ai-reservation.html"

    def __post_init__(self) -> None:
        for name in ("holder", "contact_email", "licensing_url", "base_url"):
            value = _clean(getattr(self, name), f"declaration.{name}")
            if not value:
                raise InputError("must not be empty", where=f"declaration.{name}")
        if "@" not in self.contact_email:
            raise InputError(
                f"not an e-mail address: {self.contact_email!r}", where="declaration.contact_email"
            )
        parts = urlsplit(self.base_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path not in {"", "/"}:
            raise InputError(
                f"expected an origin like https://label.example, got {self.base_url!r}",
                where="declaration.base_url",
            )
        object.__setattr__(self, "base_url", f"{parts.scheme}://{parts.netloc}")
        lic = urlsplit(self.licensing_url)
        if lic.scheme not in {"http", "https", "mailto"}:
            raise InputError(
                f"expected an http(s) or mailto URL, got {self.licensing_url!r}",
                where="declaration.licensing_url",
            )
        if not self.reserved_uses:
            raise InputError("no use is reserved", where="declaration.reserved_uses")
        if not self.purposes:
            raise InputError("no purpose is given", where="declaration.purposes")
        if not self.reserved_paths:
            raise InputError("no path is reserved", where="declaration.reserved_paths")
        for name in ("policy_path", "licence_path", "page_path"):
            if not getattr(self, name).startswith("/"):
                raise InputError("must start with '/'", where=f"declaration.{name}")
        for path in self.reserved_paths:
            _clean(path, "declaration.reserved_paths")
            if not path.startswith("/") or any(c in path for c in " \t#"):
                raise InputError(
                    f"expected a path like /music/, got {path!r}",
                    where="declaration.reserved_paths",
                )
        ids = [w.work_id for w in self.works]
        if len(ids) != len(set(ids)):
            raise InputError("duplicate work id", where="declaration.works")

    # -- derived values -------------------------------------------------------------------

    @property
    def covered(self) -> frozenset[Use]:
        """Every use the reservation reaches (``tdm`` covers all; ``ai-train`` covers
        ``genai-train``)."""
        return covered_uses(self.reserved_uses)

    @property
    def policy_url(self) -> str:
        return self.base_url + self.policy_path

    @property
    def licence_url(self) -> str:
        return self.base_url + self.licence_path

    @property
    def page_url(self) -> str:
        return self.base_url + self.page_path

    def work(self, work_id: str) -> DeclaredWork:
        for work in self.works:
            if work.work_id == work_id:
                return work
        raise InputError(f"no work {work_id!r} in the declaration of {self.holder!r}")

    def to_json(self) -> dict[str, object]:
        return {
            "holder": self.holder,
            "contact_email": self.contact_email,
            "licensing_url": self.licensing_url,
            "base_url": self.base_url,
            "reserved_uses": sorted(u.value for u in self.reserved_uses),
            "purposes": sorted(p.value for p in self.purposes),
            "effective_from": self.effective_from.isoformat(),
            "reserved_paths": list(self.reserved_paths),
            "policy_url": self.policy_url,
            "licence_url": self.licence_url,
            "page_url": self.page_url,
            "works": [w.to_json() for w in self.works],
        }

    @classmethod
    def from_json(
        cls, data: Mapping[str, object], *, where: str = "declaration"
    ) -> HolderDeclaration:
        """Build from :meth:`to_json`'s shape (derived URLs are ignored); errors name the
        field."""

        def text(key: str, default: str | None = None) -> str:
            value = data.get(key, default)
            if not isinstance(value, str):
                raise InputError("expected a string", where=f"{where}.{key}")
            return value

        def strings(key: str, default: list[str]) -> list[str]:
            value = data.get(key, default)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InputError("expected a list of strings", where=f"{where}.{key}")
            return list(value)

        try:
            uses = frozenset(Use(v) for v in strings("reserved_uses", ["tdm"]))
            purposes = frozenset(
                Purpose(v) for v in strings("purposes", ["commercial", "research"])
            )
            effective = date.fromisoformat(text("effective_from"))
        except ValueError as exc:
            raise InputError(str(exc), where=where) from exc
        raw_works = data.get("works", [])
        if not isinstance(raw_works, list):
            raise InputError("expected a list", where=f"{where}.works")
        works: list[DeclaredWork] = []
        for i, item in enumerate(raw_works):
            if not isinstance(item, dict) or not all(isinstance(v, str) for v in item.values()):
                raise InputError("expected an object of strings", where=f"{where}.works[{i}]")
            works.append(
                DeclaredWork(
                    work_id=item.get("work_id", ""),
                    title=item.get("title", ""),
                    isrc=item.get("isrc", ""),
                    iswc=item.get("iswc", ""),
                )
            )
        return cls(
            holder=text("holder"),
            contact_email=text("contact_email"),
            licensing_url=text("licensing_url"),
            base_url=text("base_url"),
            reserved_uses=uses,
            purposes=purposes,
            effective_from=effective,
            works=tuple(works),
            reserved_paths=tuple(strings("reserved_paths", ["/"])),
        )


def declaration_for(
    holder: str,
    *,
    registered_contact: str | None,
    uses: Iterable[Use],
    purposes: Iterable[Purpose],
    effective_from: date,
    works: Sequence[DeclaredWork],
    contact: str | None = None,
    base_url: str | None = None,
    licensing_url: str | None = None,
    paths: Sequence[str] = ("/",),
) -> HolderDeclaration:
    """A holder's declaration from its registered facts and the publisher's choices:
    ``contact`` (default: the registered e-mail contact), ``base_url`` (default: https://
    + the contact's domain), ``licensing_url`` (default: BASE_URL/ai-licensing), ``paths``
    (the URL path prefixes the reservation covers; default the whole site)."""
    email = contact or registered_contact
    if not email or "@" not in email:
        raise InputError(
            f"holder {holder!r} has no e-mail contact in the registry: pass --contact",
            where="--contact",
        )
    origin = base_url or f"https://{email.rsplit('@', 1)[1]}"
    return HolderDeclaration(
        holder=holder,
        contact_email=email,
        licensing_url=licensing_url or f"{origin.rstrip('/')}/ai-licensing",
        base_url=origin,
        reserved_uses=frozenset(uses),
        purposes=frozenset(purposes),
        effective_from=effective_from,
        works=tuple(works),
        reserved_paths=tuple(paths),
    )
