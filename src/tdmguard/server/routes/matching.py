"""What readers (AI developers, platforms) call: decide for a work, identify works in an
uploaded file (each match with its decision), check URLs for opt-out signals."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile

from tdmguard.errors import InputError, TooLargeError
from tdmguard.fingerprint.engines import modality_for_media
from tdmguard.scan.sniff import sniff_path
from tdmguard.server.auth import ActorDep, ServiceDep
from tdmguard.server.errors import ERROR_RESPONSES
from tdmguard.server.fetch_guard import public_only_resolver, refuse_private
from tdmguard.server.schemas import CheckIn, DecideOut, IdentifyOut
from tdmguard.server.uploads import save_upload, upload_folder
from tdmguard.vocab import Purpose, Use

__all__ = ["router"]

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)
Org = Annotated[
    str | None,
    Query(min_length=1, max_length=300, description="Organisation that would use it "
          "(default: the key's name)."),
]


@router.get("/decide", response_model=DecideOut, tags=["decide"])
def decide(
    request: Request,
    actor: ActorDep,
    service: ServiceDep,
    use: Use,
    purpose: Purpose,
    work: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    isrc: Annotated[str | None, Query(min_length=1, max_length=20)] = None,
    iswc: Annotated[str | None, Query(min_length=1, max_length=20)] = None,
    iscc: Annotated[str | None, Query(min_length=1, max_length=120,
                                      description="An ISCC: the equal code, else the nearest "
                                      "Content-Code.")] = None,
    actor_org: Annotated[
        str | None,
        Query(alias="actor", min_length=1, max_length=300,
              description="Organisation that would use it (default: the key's name)."),
    ] = None,
    at: Annotated[date | None, Query(description="Date judged (default today).")] = None,
) -> dict[str, object]:
    """keep / exclude / review for one work (by id, ISRC, ISWC or ISCC), with every reason:
    the JSON of ``tdmguard decide --json``."""
    info = service.find_work(actor, work=work, isrc=isrc, iswc=iswc, iscc=iscc)
    return service.decide(
        actor, info, use=use, purpose=purpose, org=actor_org or actor.name,
        at=at or date.today(), head=request.state.audit_head,
    ).to_json()


@router.post("/identify", response_model=IdentifyOut, tags=["identify"])
def identify(
    request: Request,
    actor: ActorDep,
    service: ServiceDep,
    file: Annotated[UploadFile, File(description="Audio, text, score or image.")],
    use: Annotated[Use, Form()] = Use.AI_TRAIN,
    purpose: Annotated[Purpose, Form()] = Purpose.COMMERCIAL,
    actor_org: Annotated[
        str | None,
        Form(alias="actor", min_length=1, max_length=300,
             description="Organisation decided for (default: the key's name)."),
    ] = None,
    at: Annotated[date | None, Form()] = None,
) -> dict[str, Any]:
    """Registered works in an uploaded file (the media kind is read from the content), each
    match with the decision for ``use``/``purpose`` by ``actor``. The file is not kept."""
    if isinstance(file, str):
        raise InputError("send the file as a multipart file part", where="file")
    with upload_folder() as folder:
        path = save_upload(
            file, folder, field="file", max_bytes=request.app.state.settings.max_upload_bytes,
            name="upload",
        )
        modality = modality_for_media(sniff_path(path).value)
        if modality is None:
            raise InputError("not audio, text, a score or an image", where="file")
        result = service.identify(
            actor, path, modality, use=use, purpose=purpose, org=actor_org or actor.name,
            at=at or date.today(), head=request.state.audit_head,
        )
    return result.to_json()


@router.post("/check", response_model=list[dict[str, Any]], tags=["check"])
def check(body: CheckIn, request: Request, actor: ActorDep) -> list[dict[str, Any]]:
    """Every web opt-out signal for the URLs, for crawler ``agent``: the objects of
    ``tdmguard check --json``, in input order."""
    from tdmguard.signals.check import check_urls

    settings = request.app.state.settings
    if len(body.urls) > settings.max_check_urls:
        raise TooLargeError(f"at most {settings.max_check_urls} URLs per call", where="urls")
    if not settings.check_private_hosts:
        for url in body.urls:
            refuse_private(url)
    results = check_urls(body.urls, agent=body.agent, fetch_pages=body.fetch_pages, geo=body.geo,
                         resolver=None if settings.check_private_hosts else public_only_resolver)
    return [r.to_json() for r in results]
