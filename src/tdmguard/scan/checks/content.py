"""Content-match checks, one per modality: the record's media is fingerprinted by the
modality's engine and looked up in the registry's index (DESIGN.md, fingerprint engines)."""

from __future__ import annotations

from dataclasses import dataclass

from tdmguard.errors import IndexStoreError
from tdmguard.fingerprint.engines import MODALITIES
from tdmguard.registry.matching import Matcher
from tdmguard.scan.checks.base import CheckContext, CheckOutcome
from tdmguard.scan.record import MediaKind, Record
from tdmguard.vocab import Modality

__all__ = ["ContentMatchCheck", "make_audio", "make_image", "make_lyrics", "make_melody"]

MEDIA_OF: dict[Modality, MediaKind] = {
    m: MediaKind(spec.media_kind) for m, spec in MODALITIES.items()
}


@dataclass
class ContentMatchCheck:
    matcher: Matcher
    name: str
    media: frozenset[MediaKind]

    def evaluate(self, record: Record) -> CheckOutcome:
        if record.path is not None:
            matches = self.matcher.identify_path(record.path)
        elif record.text is not None:
            matches = self.matcher.identify_text(record.text, where=record.id)
        else:
            return CheckOutcome()
        return CheckOutcome(matches=tuple(matches))


def _make(modality: Modality, ctx: CheckContext) -> ContentMatchCheck | None:
    matcher = Matcher.open(ctx.index_dir, modality)
    if matcher is None:
        registered = ctx.fingerprinted.get(modality.value, 0)
        if registered:
            raise IndexStoreError(
                f"the registry holds {registered} {modality.value} fingerprint(s) but the index "
                f"has no {modality.value} folder (missing, mistyped or deleted): run "
                "`tdmguard index build`, or check TDMGUARD_INDEX",
                where=str(ctx.index_dir),
            )
        return None
    return ContentMatchCheck(matcher, f"{modality.value}-match", frozenset({MEDIA_OF[modality]}))


def make_audio(ctx: CheckContext) -> ContentMatchCheck | None:
    return _make(Modality.AUDIO, ctx)


def make_lyrics(ctx: CheckContext) -> ContentMatchCheck | None:
    return _make(Modality.LYRICS, ctx)


def make_melody(ctx: CheckContext) -> ContentMatchCheck | None:
    return _make(Modality.MELODY, ctx)


def make_image(ctx: CheckContext) -> ContentMatchCheck | None:
    return _make(Modality.IMAGE, ctx)
