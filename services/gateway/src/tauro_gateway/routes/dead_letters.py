"""``/dead-letters``: commands set aside after a failure no retry could help (global admins).

Each record says which command (id, type, the command itself), which service gave up on it,
why (error type, message, traceback tail) and where it came from (topic, partition, offset).
The same commands are on the ``tauro.commands.dead-letters`` topic for replay tools.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from tauro_contracts.readmodels import DeadLetter, Envelope, ListEnvelope, collections

from tauro_gateway.context import Ctx
from tauro_gateway.envelopes import ok, page, public
from tauro_gateway.query import ListParams, list_params
from tauro_gateway.responses import errors, make_router

router = make_router(prefix="/dead-letters", tags=["monitoring"])
DEAD_LETTERS = collections.DEAD_LETTERS


@router.get("", summary="List dead-lettered commands, newest first", response_model=ListEnvelope[DeadLetter])
async def list_dead_letters(
    request: Request, ctx: Ctx,
    params: Annotated[ListParams, Depends(list_params(("dead_lettered_at", "type", "service"), "-dead_lettered_at"))],
    service: Annotated[str | None, Query(max_length=64, description="Only those a service gave up on")] = None,
    type: Annotated[str | None, Query(max_length=128, description="Only commands of this type")] = None,
) -> JSONResponse:
    where: dict[str, Any] = {}
    if service is not None:
        where["service"] = service
    if type is not None:
        where["type"] = type
    docs, total = await ctx.read_store.find(DEAD_LETTERS, where, params.sort, params.offset, params.limit)
    return page(request, [public(d, params.fields) for d in docs], total, params.limit, params.offset)


@router.get("/{command_id}", summary="Get one dead-lettered command", response_model=Envelope[DeadLetter],
            responses=errors(404))
async def get_dead_letter(
    request: Request, ctx: Ctx, command_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:\-]{1,128}$")],
) -> JSONResponse:
    return ok(request, public(await ctx.get_live(DEAD_LETTERS, command_id, "dead letter")))
