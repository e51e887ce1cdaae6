"""``GET /runs/{id}/notifications``: the notifications of a run's outcome and every attempt.

Reads the ``notifications`` read model (one document per delivery, built from the
notifier's events on ``notifications:<run_id>``). A run with nothing to notify answers an
empty list; an unknown run (or one of a project the caller cannot read) 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request
from fastapi.responses import JSONResponse
from tauro_contracts.notifications import NOTIFICATIONS, NotificationView
from tauro_contracts.readmodels import ListEnvelope, collections, ids

from tauro_gateway.context import Ctx
from tauro_gateway.envelopes import page, public
from tauro_gateway.query import check_id
from tauro_gateway.responses import errors, make_router

router = make_router(prefix="/runs", tags=["runs"])
RunId = Annotated[str, Path(pattern=ids.RUN_ID, description="A run id such as run_xyz789")]
SHOWN_OUT = ("due_at",)


@router.get("/{run_id}/notifications", summary="The run's notifications (e-mail, webhook) and their attempts",
            response_model=ListEnvelope[NotificationView], responses=errors(404))
async def list_run_notifications(request: Request, ctx: Ctx, run_id: RunId) -> JSONResponse:
    await ctx.get_live(collections.RUNS, check_id(run_id, "run_", "run_id"), "run")
    docs, total = await ctx.read_store.find(NOTIFICATIONS, {"run_id": run_id}, [("requested_at", 1)], 0, 100)
    items = [{k: v for k, v in public(doc).items() if k not in SHOWN_OUT} for doc in docs]
    return page(request, items, total, max(len(items), 1), 0)
