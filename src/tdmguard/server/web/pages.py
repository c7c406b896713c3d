"""The pages. Each handler reads the session's actor, parses the form, calls one service use
case and renders a template. Errors of the service render an HTML page with the status of
the API's one error table (``server.errors.status_for``); a page that needs a session
redirects to the sign-in form."""

from __future__ import annotations

import io
import json
import re
import secrets
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from tdmguard import __version__
from tdmguard.declare import BundleFile, DeclaredWork, declaration_for, write_bundle
from tdmguard.declare.bundle import MANIFEST_NAME
from tdmguard.declare.head_file import PublishedHead
from tdmguard.errors import InputError, NotFoundError, PermissionDeniedError, TdmguardError
from tdmguard.fingerprint.engines import modality_for_media
from tdmguard.registry.catalogue_import import ImportReport, RowAction
from tdmguard.registry.service import RegistryService
from tdmguard.registry.values import Actor, Scope, WorkInfo
from tdmguard.scan.sniff import sniff_path
from tdmguard.server.errors import status_for
from tdmguard.server.fetch_guard import public_only_resolver, refuse_private
from tdmguard.server.uploads import safe_name, save_upload, upload_folder, upload_folder_errors
from tdmguard.server.web.jobs import JobStore, job_owner
from tdmguard.server.web.session import (
    PRE_COOKIE,
    SESSION_COOKIE,
    SESSION_SECONDS,
    Session,
    SessionCodec,
    same_token,
)
from tdmguard.signals.check import check_urls
from tdmguard.signing import parse_public_key
from tdmguard.vocab import Modality, Purpose, Use

__all__ = ["router"]

PAGE_SIZE = 25
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
USE_HELP: dict[str, str] = {
    Use.TDM.value: "Any text and data mining: covers every use below.",
    Use.AI_TRAIN.value: "Training any AI model: covers generative training.",
    Use.GENAI_TRAIN.value: "Training generative models only.",
    Use.AI_INPUT.value: "Use as AI input: inference, retrieval (RAG), grounding.",
    Use.SEARCH.value: "Search indexing.",
}
PURPOSE_HELP: dict[str, str] = {
    Purpose.COMMERCIAL.value: "Commercial use (EU DSM Art. 4: an opt-out applies).",
    Purpose.RESEARCH.value: "Scientific research by research organisations (EU DSM Art. 3).",
}

templates = Jinja2Templates(directory=str(FilePath(__file__).parent / "templates"))
templates.env.globals.update(
    version=__version__, uses=list(Use), purposes=list(Purpose), use_help=USE_HELP,
    purpose_help=PURPOSE_HELP, modalities=list(Modality),
)


class _SignInRequiredError(Exception):
    """The page needs a session: answered by a redirect to the sign-in form."""


class _WebRoute(APIRoute):
    """Renders the service's errors as HTML pages (the API's routes keep their JSON)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
            except _SignInRequiredError:
                target = request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                response = RedirectResponse(
                    "/signin?" + urlencode({"next": target}), status_code=303
                )
            except TdmguardError as exc:
                status, code = status_for(exc)
                response = _render(
                    request, "error.html", status=status,
                    code=code, message=exc.message, field=exc.where,
                )
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
                response = _render(
                    request, "error.html", status=422, code="invalid",
                    message=str(first.get("msg", "invalid request")), field=".".join(loc) or None,
                )
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        return run


router = APIRouter(route_class=_WebRoute, include_in_schema=False)


# -- plumbing -----------------------------------------------------------------------------
def _service(request: Request) -> RegistryService:
    service: RegistryService = request.app.state.service
    return service


def _codec(request: Request) -> SessionCodec:
    codec: SessionCodec = request.app.state.web_sessions
    return codec


def _session(request: Request) -> tuple[Session, Actor] | None:
    session = _codec(request).open(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None
    try:
        return session, _service(request).authenticate(session.api_key)
    except TdmguardError:  # revoked or unknown key: the session is over
        return None


def _signed_in(request: Request) -> tuple[Session, Actor]:
    found = _session(request)
    if found is None:
        raise _SignInRequiredError
    request.state.web = found
    return found


def _holder_page(request: Request) -> tuple[Session, Actor]:
    """A catalogue manager's page: write and admin keys only."""
    session, actor = _signed_in(request)
    if actor.scope is Scope.READ:
        raise PermissionDeniedError(
            "a read key can look works up and identify files, not manage a catalogue",
            where="scope",
        )
    return session, actor


def _check_csrf(request: Request, session: Session, token: str | None) -> None:
    if not same_token(token, session.csrf):
        raise PermissionDeniedError(
            "the form's CSRF token is missing or wrong: reload the page and try again",
            where="csrf",
        )


def _render(request: Request, name: str, *, status: int = 200, **context: Any) -> Response:
    found = getattr(request.state, "web", None) or _session(request)
    context.setdefault("actor", found[1] if found else None)
    context.setdefault("csrf", found[0].csrf if found else "")
    return templates.TemplateResponse(request, name, context, status_code=status)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _own_work(service: RegistryService, actor: Actor, work_id: str) -> WorkInfo:
    """A work on a holder's private page: a write key sees its own holder's only."""
    work = service.get_work(actor, work_id)
    if actor.scope is Scope.WRITE and work.holder != actor.holder:
        raise PermissionDeniedError(
            f"this work belongs to another holder ({work.holder})", where="work"
        )
    return work


def _date(text: str | None, field: str, default: date | None = None) -> date | None:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"not a date (YYYY-MM-DD): {text!r}", where=field) from exc


def _uses(values: list[str] | None) -> list[Use]:
    try:
        out = [Use(v) for v in values or []]
    except ValueError as exc:
        raise InputError(str(exc), where="uses") from exc
    if not out:
        raise InputError("tick at least one use", where="uses")
    return out


def _purposes(values: list[str] | None) -> list[Purpose]:
    try:
        return [Purpose(v) for v in values or []]
    except ValueError as exc:
        raise InputError(str(exc), where="purposes") from exc


# -- sign in and out ----------------------------------------------------------------------
@router.get("/")
def home(request: Request) -> Response:
    _, actor = _signed_in(request)
    return _see_other("/lookup" if actor.scope is Scope.READ else "/works")


def _safe_next(target: str | None) -> str:
    """A local path to go to after a form (never another site: no ``//host``, no ``/\\``)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return "/" if any(c in target for c in "\\\r\n") else target


@router.get("/signin")
def signin_form(request: Request, next: str | None = None) -> Response:
    token = secrets.token_urlsafe(32)
    response = templates.TemplateResponse(
        request, "signin.html",
        {"actor": None, "csrf": token, "next": _safe_next(next), "error": None},
    )
    response.set_cookie(PRE_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/signin")
    return response


@router.post("/signin")
def signin(
    request: Request,
    api_key: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    if not same_token(csrf, request.cookies.get(PRE_COOKIE)):
        raise PermissionDeniedError(
            "the sign-in form's CSRF token is missing or wrong: reload the page", where="csrf"
        )
    try:
        _service(request).authenticate(api_key.strip())
    except TdmguardError as exc:
        return templates.TemplateResponse(
            request, "signin.html",
            {"actor": None, "csrf": csrf, "next": _safe_next(next), "error": exc.message},
            status_code=status_for(exc)[0],
        )
    codec = _codec(request)
    response = _see_other(_safe_next(next))
    response.set_cookie(
        SESSION_COOKIE, codec.seal(codec.new(api_key.strip())), max_age=SESSION_SECONDS,
        httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/",
    )
    response.delete_cookie(PRE_COOKIE, path="/signin")
    return response


@router.post("/signout")
def signout(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    session, _ = _signed_in(request)
    _check_csrf(request, session, csrf)
    response = _see_other("/signin")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- the catalogue ------------------------------------------------------------------------
@router.get("/works")
def works(
    request: Request,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    _, actor = _holder_page(request)
    service = _service(request)
    holder = actor.holder if actor.scope is Scope.WRITE else None
    found = service.search_works(actor, holder, q.strip(), limit=PAGE_SIZE,
                                 offset=(page - 1) * PAGE_SIZE)
    pages = max(1, -(-found.total // PAGE_SIZE))
    if page > pages:  # past the end (the catalogue shrank): the last page
        page = pages
        found = service.search_works(actor, holder, q.strip(), limit=PAGE_SIZE,
                                     offset=(page - 1) * PAGE_SIZE)
    all_total = found.total if not q.strip() else service.search_works(
        actor, holder, "", limit=0).total
    by_modality = service.catalogue_summary(actor, holder)
    most = max([a + b for a, b in by_modality.values()] + [1])
    return _render(
        request, "works.html",
        works=found.works, q=q, page=page, pages=pages,
        total=found.total, all_total=all_total, by_modality=by_modality, most=most,
        reserved=service.reserved_works(actor, found.works),
        prev_url=f"/works?{urlencode({'q': q, 'page': page - 1})}" if page > 1 else None,
        next_url=f"/works?{urlencode({'q': q, 'page': page + 1})}" if page < pages else None,
    )


def _history(service: RegistryService, actor: Actor, work: WorkInfo) -> list[dict[str, Any]]:
    """The work's audit entries as table rows (who acted, the rest of the payload)."""
    out: list[dict[str, Any]] = []
    for e in service.work_history(actor, work.id):
        p = e["payload"]
        by = p.get("by") or {}
        detail = {k: v for k, v in p.items() if k != "by"}
        out.append({"seq": e["seq"], "at": e["at"], "action": e["action"],
                    "by": by.get("name"), "detail": json.dumps(detail, ensure_ascii=False)})
    return out


@router.get("/works/{work_id}")
def work_page(request: Request, work_id: str) -> Response:
    _, actor = _holder_page(request)
    service = _service(request)
    work = _own_work(service, actor, work_id)
    detail = service.show_work(actor, work.id)
    return _render(
        request, "work.html", work=work, detail=detail, today=date.today().isoformat(),
        history=_history(service, actor, work),
    )


@router.post("/works/{work_id}/reservations")
def add_reservation(
    request: Request,
    work_id: str,
    csrf: Annotated[str, Form(max_length=200)] = "",
    uses: Annotated[list[str] | None, Form()] = None,
    purposes: Annotated[list[str] | None, Form()] = None,
    scope: Annotated[str, Form(max_length=10)] = "work",
    effective_from: Annotated[str, Form(max_length=20)] = "",
    effective_until: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    session, actor = _holder_page(request)
    _check_csrf(request, session, csrf)
    service = _service(request)
    work = _own_work(service, actor, work_id)
    service.reserve(
        actor, work.holder, uses=_uses(uses), purposes=_purposes(purposes),
        effective_from=_date(effective_from, "effective_from", date.today()) or date.today(),
        effective_until=_date(effective_until, "effective_until"),
        work_ids=[] if scope == "all" else [work.id],
    )
    return _see_other(f"/works/{quote(work.id, safe='')}")


@router.post("/works/{work_id}/licences")
def add_licence(
    request: Request,
    work_id: str,
    csrf: Annotated[str, Form(max_length=200)] = "",
    licensee: Annotated[str, Form(max_length=300)] = "",
    uses: Annotated[list[str] | None, Form()] = None,
    purposes: Annotated[list[str] | None, Form()] = None,
    scope: Annotated[str, Form(max_length=10)] = "work",
    valid_from: Annotated[str, Form(max_length=20)] = "",
    valid_until: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    session, actor = _holder_page(request)
    _check_csrf(request, session, csrf)
    service = _service(request)
    work = _own_work(service, actor, work_id)
    if not licensee.strip():
        raise InputError("name the licensee (the organisation licensed)", where="licensee")
    service.grant_licence(
        actor, work.holder, licensee=licensee.strip(), uses=_uses(uses),
        purposes=_purposes(purposes),
        valid_from=_date(valid_from, "valid_from", date.today()) or date.today(),
        valid_until=_date(valid_until, "valid_until"),
        work_ids=[] if scope == "all" else [work.id],
    )
    return _see_other(f"/works/{quote(work.id, safe='')}")


def _revoke(request: Request, kind: str, entry_id: int, csrf: str, back: str) -> Response:
    session, actor = _holder_page(request)
    _check_csrf(request, session, csrf)
    service = _service(request)
    if kind == "reservation":
        service.revoke_reservation(actor, entry_id, on=date.today())
    else:
        service.revoke_licence(actor, entry_id, on=date.today())
    return _see_other(_safe_next(back))


EntryId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Csrf = Annotated[str, Form(max_length=200)]
Back = Annotated[str, Form(max_length=2000)]


@router.post("/reservations/{entry_id}/revoke")
def revoke_reservation(
    request: Request, entry_id: EntryId, csrf: Csrf = "", back: Back = "/works"
) -> Response:
    return _revoke(request, "reservation", entry_id, csrf, back)


@router.post("/licences/{entry_id}/revoke")
def revoke_licence(
    request: Request, entry_id: EntryId, csrf: Csrf = "", back: Back = "/works"
) -> Response:
    return _revoke(request, "licence", entry_id, csrf, back)


# -- catalogue upload ---------------------------------------------------------------------
CATALOGUE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".xlsx")


def _jobs(request: Request) -> JobStore:
    jobs: JobStore = request.app.state.web_jobs
    return jobs


def _holder_choices(request: Request, actor: Actor) -> list[str]:
    """The holders an admin key may act for (a picker on its pages); none for a write key,
    which acts for its own holder."""
    if actor.scope is not Scope.ADMIN:
        return []
    return [h.name for h in _service(request).list_holders(actor)]


@router.get("/upload")
def upload_form(request: Request) -> Response:
    _, actor = _holder_page(request)
    return _render(request, "upload.html", error=None, refused=None,
                   holders=_holder_choices(request, actor), chosen="")


def _media_files(folder: FilePath) -> list[tuple[Modality, FilePath]]:
    """The uploaded media with their modality (from their content), for a media-only
    upload."""
    out = []
    for path in sorted(folder.iterdir()):
        modality = modality_for_media(sniff_path(path).value)
        if modality is None:
            raise InputError(f"{path.name}: not audio, text, a score or an image", where="media")
        out.append((modality, path))
    return out


@router.post("/upload")
def upload(
    request: Request,
    catalogue: Annotated[UploadFile | None, File()] = None,
    media: Annotated[list[UploadFile] | None, File()] = None,
    csrf: Annotated[str, Form(max_length=200)] = "",
    holder_name: Annotated[str, Form(alias="holder", max_length=200)] = "",
) -> Response:
    """Save the files, validate every row (a dry run: nothing stored) and show the refused
    rows; a valid upload is imported by a background job whose page shows its progress.
    An admin key names the holder the works are for (a write key acts for its own)."""
    session, actor = _holder_page(request)
    _check_csrf(request, session, csrf)
    limit: int = request.app.state.settings.max_upload_bytes
    service = _service(request)
    holder = actor.holder if actor.scope is Scope.WRITE else (holder_name.strip() or None)
    holders = _holder_choices(request, actor)
    has_catalogue = catalogue is not None and not isinstance(catalogue, str) \
        and bool(catalogue.filename)
    uploads = [f for f in media or [] if not isinstance(f, str) and f.filename]
    folder = FilePath(tempfile.mkdtemp(prefix="tdmguard-upload-"))
    try:
        with upload_folder_errors(folder):
            if not has_catalogue and not uploads:
                raise InputError("choose a catalogue file, media files, or both",
                                 where="catalogue")
            if actor.scope is Scope.ADMIN and holder is None:
                raise InputError("choose the holder the works are for", where="holder")
            if actor.scope is Scope.ADMIN and holder not in holders:
                raise InputError(f"there is no holder named {holder!r}", where="holder")
            media_dir = folder / "media"
            media_dir.mkdir()
            for f in uploads:
                save_upload(f, media_dir, field="media", max_bytes=limit)
            if has_catalogue:
                assert catalogue is not None
                name = safe_name(catalogue.filename, field="catalogue")
                if not name.lower().endswith(CATALOGUE_SUFFIXES):
                    raise InputError("a catalogue is .csv, .tsv, .jsonl or .xlsx",
                                     where="catalogue")
                path = save_upload(catalogue, folder, field="catalogue", max_bytes=limit,
                                   name=name)
                report = service.import_catalogue_report(actor, holder, path,
                                                         media_root=media_dir, dry_run=True)
                shown = name
            else:
                files = _media_files(media_dir)
                path = folder / "media-only.jsonl"
                report = service.import_media_report(actor, holder, files, catalogue=path,
                                                     dry_run=True)
                shown = f"{len(files)} media file{'s' if len(files) != 1 else ''}"
    except InputError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return _render(request, "upload.html", status=status_for(exc)[0],
                       error=exc.message, field=exc.where, refused=None, holders=holders,
                       chosen=holder or "")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    prefix = f"{folder}/"
    refused = [{"line": o.line, "id": o.id, "field": o.field,
                "reason": (o.reason or "").replace(prefix, "").replace(f"{media_dir}/", "")}
               for o in report.outcomes if o.action is RowAction.REFUSE]
    conflict = any(o.conflict for o in report.outcomes if o.action is RowAction.REFUSE)
    if refused:
        shutil.rmtree(folder, ignore_errors=True)
        return _render(request, "upload.html", status=409 if conflict else 422, error=None,
                       refused=refused, shown=shown, warnings=report.warnings,
                       holders=holders, chosen=holder or "")
    jobs = _jobs(request)
    job = jobs.create(job_owner(actor), shown)

    def work(on_progress: Callable[[int, int], None]) -> ImportReport:
        if has_catalogue:
            return service.import_catalogue_report(actor, holder, path, media_root=media_dir,
                                                   on_progress=on_progress)
        return service.import_media_report(actor, holder, _media_files(media_dir),
                                           catalogue=path, on_progress=on_progress)

    jobs.run(job, work, folder)
    return _see_other(f"/upload/jobs/{job.id}")


JobId = Annotated[str, Path(max_length=64)]


@router.get("/upload/jobs/{job_id}")
def upload_job(request: Request, job_id: JobId) -> Response:
    _, actor = _holder_page(request)
    job = _jobs(request).load(job_id, job_owner(actor))
    if job is None:
        raise NotFoundError("no such upload (or not yours)", where="job")
    status = 201 if job.state == "done" else 422 if job.state == "failed" else 200
    return _render(request, "job.html", status=status, job=job)


@router.get("/upload/jobs/{job_id}/progress")
def upload_job_progress(request: Request, job_id: JobId) -> Response:
    """The job's state for the page's script: ``{state, done, total, error, works, ...}``."""
    _, actor = _holder_page(request)
    job = _jobs(request).load(job_id, job_owner(actor))
    if job is None:
        return JSONResponse({"error": "no such upload"}, status_code=404)
    return JSONResponse(job.public())


# -- what readers use ---------------------------------------------------------------------
def _enum(cls: Any, value: str, field: str) -> Any:
    try:
        return cls(value)
    except ValueError as exc:
        raise InputError(f"unknown {field} {value!r}", where=field) from exc


@router.get("/lookup")
def lookup(
    request: Request,
    ref: Annotated[str, Query(max_length=200)] = "",
    by: Annotated[str, Query(max_length=10)] = "id",
    use: Annotated[str, Query(max_length=20)] = Use.AI_TRAIN.value,
    purpose: Annotated[str, Query(max_length=20)] = Purpose.COMMERCIAL.value,
    org: Annotated[str, Query(max_length=300)] = "",
    at: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    _, actor = _signed_in(request)
    form = {"ref": ref, "by": by, "use": use, "purpose": purpose, "org": org, "at": at}
    if not ref.strip():
        return _render(request, "lookup.html", form=form, result=None, error=None)
    service = _service(request)
    try:
        if by not in ("id", "isrc", "iswc"):
            raise InputError("look up by id, isrc or iswc", where="by")
        work = service.find_work(actor, **{"work" if by == "id" else by: ref.strip()})
        result = service.decide(
            actor, work, use=_enum(Use, use, "use"), purpose=_enum(Purpose, purpose, "purpose"),
            org=org.strip() or actor.name, at=_date(at, "at", date.today()) or date.today(),
        )
    except TdmguardError as exc:
        return _render(request, "lookup.html", status=status_for(exc)[0], form=form,
                       result=None, error=exc.message)
    return _render(request, "lookup.html", form=form, result=result, error=None)


@router.get("/identify")
def identify_form(request: Request) -> Response:
    _signed_in(request)
    return _render(request, "identify.html", result=None, error=None, form={})


@router.post("/identify")
def identify(
    request: Request,
    file: Annotated[UploadFile | None, File()] = None,
    csrf: Annotated[str, Form(max_length=200)] = "",
    use: Annotated[str, Form(max_length=20)] = Use.AI_TRAIN.value,
    purpose: Annotated[str, Form(max_length=20)] = Purpose.COMMERCIAL.value,
    org: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    session, actor = _signed_in(request)
    _check_csrf(request, session, csrf)
    form = {"use": use, "purpose": purpose, "org": org}
    limit: int = request.app.state.settings.max_upload_bytes
    try:
        if file is None or isinstance(file, str) or not file.filename:
            raise InputError("choose a file to identify", where="file")
        with upload_folder() as folder:
            path = save_upload(file, folder, field="file", max_bytes=limit, name="upload")
            modality = modality_for_media(sniff_path(path).value)
            if modality is None:
                raise InputError("not audio, text, a score or an image", where="file")
            result = _service(request).identify(
                actor, path, modality, use=_enum(Use, use, "use"),
                purpose=_enum(Purpose, purpose, "purpose"), org=org.strip() or actor.name,
                at=date.today(),
            )
    except InputError as exc:
        return _render(request, "identify.html", status=status_for(exc)[0], result=None,
                       error=exc.message, form=form)
    return _render(request, "identify.html", result=result, error=None, form=form,
                   filename=file.filename, rows=[_match_row(m) for m in result.matches])


def _match_row(m: dict[str, object]) -> dict[str, object]:
    """A match with its spans and factors as text, and a bar (0..100) on the query."""
    spans = {k: v for k, v in m.items() if k.startswith(("query_", "ref_"))
             and k.endswith(("_s", "_char", "_line", "_note"))}
    factors = {k: v for k, v in m.items() if k.endswith("_factor")}
    decision = m.get("decision")
    return {**m, "spans": spans, "factors": factors,
            "verdict": decision.get("decision") if isinstance(decision, dict) else None,
            "reasons": decision.get("reasons") if isinstance(decision, dict) else []}


# -- the declaration bundle ----------------------------------------------------------------
def _declaration_form(request: Request) -> dict[str, str]:
    q = request.query_params
    return {k: (q.get(k) or "").strip()[:2000]
            for k in ("holder", "base_url", "contact", "licensing_url", "at", "public_key")}


def _bundle(request: Request, actor: Actor, form: dict[str, str]) -> tuple[str, list[BundleFile]]:
    """The holder's bundle exactly as ``tdmguard declare`` writes it (the files and its
    manifest.json), from the service's declaration facts."""
    holder = actor.holder if actor.scope is Scope.WRITE else (form["holder"] or None)
    facts = _service(request).declaration_facts(actor, holder,
                                               at=_date(form["at"], "at", date.today()))
    decl = declaration_for(
        facts.holder, registered_contact=facts.contact, uses=facts.uses,
        purposes=facts.purposes, effective_from=facts.effective_from,
        works=[DeclaredWork(w.id, w.title, w.isrc or "", w.iswc or "") for w in facts.works],
        contact=form["contact"] or None, base_url=form["base_url"] or None,
        licensing_url=form["licensing_url"] or None,
    )
    keys = []
    if form["public_key"]:
        keys.append(parse_public_key(form["public_key"], where="public_key"))  # never a path
    head = PublishedHead(facts.head_seq, facts.head_hash,
                         datetime.now(UTC).isoformat(timespec="seconds"), facts.content_digest)
    with tempfile.TemporaryDirectory(prefix="tdmguard-bundle-") as tmp:
        bundle = write_bundle(decl, FilePath(tmp), keys=keys, head=head)
        manifest = (FilePath(tmp) / MANIFEST_NAME).read_bytes()
    return facts.holder, [*bundle.files, BundleFile(MANIFEST_NAME, "application/json", manifest)]


@router.get("/declaration")
def declaration_page(request: Request) -> Response:
    _, actor = _holder_page(request)
    form = _declaration_form(request)
    holders = _holder_choices(request, actor)
    if actor.scope is Scope.ADMIN and not form["holder"]:
        return _render(request, "declaration.html", form=form, files=None, error=None,
                       holders=holders, query="")
    try:
        holder, files = _bundle(request, actor, form)
    except (InputError, NotFoundError) as exc:
        return _render(request, "declaration.html", status=status_for(exc)[0], form=form,
                       files=None, error=exc.message, field=exc.where, holders=holders,
                       query="")
    shown = [{"path": f.path, "url": f.url, "media_type": f.media_type, "size": len(f.content),
              "sha256": f.sha256, "text": f.content.decode("utf-8", "replace")} for f in files]
    return _render(request, "declaration.html", form=form, files=shown, error=None,
                   holder=holder, holders=holders,
                   query=urlencode({k: v for k, v in form.items() if v}))


@router.get("/declaration/bundle.zip")
def declaration_zip(request: Request) -> Response:
    _, actor = _holder_page(request)
    holder, files = _bundle(request, actor, _declaration_form(request))
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for f in files:
            archive.writestr(f.path, f.content)
    name = "declaration-" + re.sub(r"[^A-Za-z0-9._-]+", "-", holder).strip("-") + ".zip"
    return Response(data.getvalue(), media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# -- the URL check -------------------------------------------------------------------------
@router.get("/check")
def check_form(request: Request) -> Response:
    _signed_in(request)
    return _render(request, "check.html", form={"url": "", "agent": "*"}, result=None,
                   error=None)


@router.post("/check")
def check_url(
    request: Request,
    csrf: Annotated[str, Form(max_length=200)] = "",
    url: Annotated[str, Form(max_length=4096)] = "",
    agent: Annotated[str, Form(max_length=200)] = "*",
) -> Response:
    """The same check as ``tdmguard check URL``: every opt-out signal with its evidence.
    Non-public addresses are refused (unless the server allows private hosts)."""
    session, _ = _signed_in(request)
    _check_csrf(request, session, csrf)
    form = {"url": url.strip(), "agent": agent.strip() or "*"}
    private_ok: bool = request.app.state.settings.check_private_hosts
    try:
        if not form["url"]:
            raise InputError("enter a URL to check", where="url")
        if not private_ok:
            refuse_private(form["url"], where="url")
        (result,) = check_urls([form["url"]], agent=form["agent"],
                               resolver=None if private_ok else public_only_resolver)
    except InputError as exc:
        return _render(request, "check.html", status=status_for(exc)[0], form=form,
                       result=None, error=exc.message)
    return _render(request, "check.html", form=form, result=result.to_json(), error=None)


# -- audit --------------------------------------------------------------------------------
@router.get("/audit")
def audit_page(
    request: Request, after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0
) -> Response:
    _, actor = _holder_page(request)
    service = _service(request)
    entries = service.audit_entries(actor, after_seq=after, limit=100)
    rows = [{"seq": e["seq"], "at": e["at"], "action": e["action"],
             "by": (e["payload"].get("by") or {}).get("name"),
             "detail": json.dumps({k: v for k, v in e["payload"].items() if k != "by"},
                                  ensure_ascii=False)} for e in entries]
    return _render(request, "audit.html", verify=service.verify(actor), rows=rows,
                   head=service.state_digest(),
                   next_after=rows[-1]["seq"] if len(rows) == 100 else None)
