"""Holders and works: list, show, register (media uploaded, only fingerprints kept), import a
catalogue (CSV/TSV/JSONL plus the media files it names: all rows or none)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile

from tdmguard.errors import InputError
from tdmguard.registry.catalogue import default_kind
from tdmguard.registry.store import NewWork
from tdmguard.server.auth import ActorDep, ServiceDep
from tdmguard.server.errors import ERROR_RESPONSES
from tdmguard.server.schemas import (
    AuditEntryOut,
    HolderIn,
    HolderOut,
    ImportOut,
    WorkDetailOut,
    WorkOut,
)
from tdmguard.server.uploads import safe_name, save_upload, upload_folder
from tdmguard.vocab import Modality, WorkKind

__all__ = ["router"]

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)
HolderQuery = Annotated[
    str | None, Query(max_length=300, description="Only this holder's (name or id).")
]


def _max_bytes(request: Request) -> int:
    limit: int = request.app.state.settings.max_upload_bytes
    return limit


@router.get("/holders", response_model=list[HolderOut], tags=["holders"])
def list_holders(actor: ActorDep, service: ServiceDep) -> list[dict[str, object]]:
    return [h.to_json() for h in service.list_holders(actor)]


@router.post("/holders", response_model=HolderOut, status_code=201, tags=["holders"])
def add_holder(body: HolderIn, actor: ActorDep, service: ServiceDep) -> dict[str, object]:
    """Add a rights holder (admin keys only)."""
    return service.add_holder(actor, body.name, contact=body.contact).to_json()


@router.get("/holders/{holder}", response_model=HolderOut, tags=["holders"])
def get_holder(holder: str, actor: ActorDep, service: ServiceDep) -> dict[str, object]:
    return service.get_holder(actor, holder).to_json()


@router.get("/works", response_model=list[WorkOut], tags=["works"])
def list_works(
    response: Response,
    actor: ActorDep,
    service: ServiceDep,
    holder: HolderQuery = None,
    q: Annotated[str, Query(max_length=500, description=(
        "Only works whose id, title, artists, ISRC or ISWC contain every word of this "
        "(case-insensitive)."))] = "",
    limit: Annotated[int | None, Query(ge=0, le=10_000, description="At most this many.")] = None,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1, description="Skip this many.")] = 0,
) -> list[dict[str, object]]:
    """Registered works (not removed), oldest first; the header ``X-Total-Count`` says how
    many matched in all."""
    found = service.search_works(actor, holder, q, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(found.total)
    return [w.to_json() for w in found.works]


@router.get("/works/{work_id}/history", response_model=list[AuditEntryOut], tags=["works"])
def work_history(work_id: str, actor: ActorDep, service: ServiceDep) -> list[dict[str, object]]:
    """The audit entries about one work: registration, updates, fingerprints, the
    reservations and licences naming it or its whole holder, and their revocations (the
    work's holder's keys and admin keys only)."""
    return service.work_history(actor, work_id)


@router.get("/works/{work_id}", response_model=WorkDetailOut, tags=["works"])
def show_work(work_id: str, actor: ActorDep, service: ServiceDep) -> dict[str, object]:
    """A work with the reservations (and, for its holder, the licences) that name it."""
    return service.show_work(actor, work_id).to_json()


@router.post("/works", response_model=WorkOut, status_code=201, tags=["works"])
def register_work(
    request: Request,
    actor: ActorDep,
    service: ServiceDep,
    title: Annotated[str, Form(min_length=1, max_length=500)],
    kind: Annotated[WorkKind | None, Form()] = None,
    artists: Annotated[list[str] | None, Form(description="Artist (repeat).")] = None,
    isrc: Annotated[str | None, Form(max_length=20)] = None,
    iswc: Annotated[str | None, Form(max_length=20)] = None,
    upc: Annotated[str | None, Form(max_length=20)] = None,
    iscc: Annotated[str | None, Form(max_length=100)] = None,
    id: Annotated[str | None, Form(max_length=200, description="Your own id.")] = None,
    holder: Annotated[str | None, Form(max_length=300, description="Admin keys only.")] = None,
    audio: Annotated[UploadFile | None, File(description="Recording to fingerprint.")] = None,
    lyrics: Annotated[UploadFile | None, File(description="Lyrics (txt, LRC, SRT).")] = None,
    melody: Annotated[UploadFile | None, File(description="Score (MIDI, MusicXML...).")] = None,
    image: Annotated[UploadFile | None, File(description="Artwork image.")] = None,
) -> dict[str, object]:
    """Register a work of the key's holder. Media uploaded are fingerprinted; only the
    fingerprints are kept."""
    uploads = [
        (m, f)
        for m, f in (
            (Modality.AUDIO, audio),
            (Modality.LYRICS, lyrics),
            (Modality.MELODY, melody),
            (Modality.IMAGE, image),
        )
        if f is not None and not isinstance(f, str)
    ]
    with upload_folder() as folder:
        media = [
            (m, save_upload(f, folder, field=m.value, max_bytes=_max_bytes(request),
                            name=f"{m.value}-{safe_name(f.filename or m.value, field=m.value)}"))
            for m, f in uploads
        ]
        work = NewWork(
            title=title,
            kind=kind or default_kind([m for m, _ in media]),
            artists=artists or [],
            isrc=isrc,
            iswc=iswc,
            upc=upc,
            iscc=iscc,
            external_id=id,
        )
        return service.register_work(actor, holder, work, media).to_json()


@router.post("/works/import", response_model=ImportOut, status_code=201, tags=["works"])
def import_catalogue(
    request: Request,
    actor: ActorDep,
    service: ServiceDep,
    catalogue: Annotated[UploadFile, File(description="Catalogue: .csv, .tsv, .jsonl or .xlsx.")],
    media: Annotated[
        list[UploadFile] | None,
        File(description="Media files the catalogue names (by file name; repeat)."),
    ] = None,
    holder: Annotated[str | None, Form(max_length=300, description="Admin keys only.")] = None,
) -> dict[str, object]:
    """Import a catalogue: every row validated and every media file fingerprinted before
    anything is written (all rows or none); errors name the line and the field. The media
    columns are matched to the uploaded ``media`` files by file name."""
    with upload_folder() as folder:
        limit = _max_bytes(request)
        cat_name = safe_name(catalogue.filename, field="catalogue")
        if not cat_name.lower().endswith((".csv", ".tsv", ".jsonl", ".ndjson", ".xlsx")):
            raise InputError("a catalogue is .csv, .tsv, .jsonl or .xlsx", where="catalogue")
        media_dir = folder / "media"
        media_dir.mkdir()
        for upload in media or []:
            if not isinstance(upload, str):
                save_upload(upload, media_dir, field="media", max_bytes=limit)
        path = save_upload(catalogue, folder, field="catalogue", max_bytes=limit, name=cat_name)
        infos = service.import_catalogue(actor, holder, path, media_root=media_dir)
        return {"imported": len(infos), "works": [w.to_json() for w in infos]}
