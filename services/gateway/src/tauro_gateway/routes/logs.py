"""``GET /logs``: log lines of many runs at once (the spec's real-time log stream).

Filters: ``project_id``, ``pipeline_id``, ``run_id``, ``level`` (that level and above),
``node_id``. Without ``Accept: text/event-stream`` (or ``follow=true``) the answer is a JSON
page (``limit`` 50 by default, at most 100; the common list ``meta``); with it, a Server-Sent
Events stream: ``event: log`` per line, ``id`` = the line's ``seq`` (its place in the
platform-wide log), following new lines until the client goes away (with ``run_id``, ``event:
end`` once that run is over). A client reconnecting with ``Last-Event-ID`` resumes after it.

Lines are ordered by ``seq`` (event position, then line), so a resumed stream misses nothing
of any run. A caller scoped to some projects sees their lines only (``run_logs`` is reached
without a parent object here, so the route narrows it by the caller's projects itself).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from tauro_contracts.readmodels import ListEnvelope, LogLevel, LogLine, collections, ids

from tauro_gateway.context import Ctx
from tauro_gateway.query import check_id
from tauro_gateway.responses import errors, make_router
from tauro_gateway.run_logs import level_filter, lines_response
from tauro_gateway.security.scoped import ScopedReadStore

router = make_router(prefix="/logs", tags=["logs"])
SSE: dict[str, Any] = {
    "description": "A page of log lines (JSON), or with `Accept: text/event-stream` (or `follow=true`) a "
                   "Server-Sent Events stream: `event: log` per line (`id` = the line's `seq`, `data` = the "
                   "line), following new lines; with `run_id`, `event: end` once that run is over. Reconnect "
                   "with `Last-Event-ID` to resume after the last line received",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}


@router.get("", summary="Log lines of many runs: a page, or with text/event-stream (or follow=true) a live stream",
            response_model=ListEnvelope[LogLine], responses={200: SSE, **errors(404)})
async def list_logs(
    request: Request,
    ctx: Ctx,
    project_id: Annotated[str | None, Query(pattern=ids.PROJECT_ID)] = None,
    pipeline_id: Annotated[str | None, Query(pattern=ids.PIPELINE_ID)] = None,
    run_id: Annotated[str | None, Query(pattern=ids.RUN_ID)] = None,
    level: Annotated[LogLevel | None, Query(description="This level and above")] = None,
    node_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Lines per page (default 50, max 100)")] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    follow: bool = False,
) -> Response:
    where: dict[str, Any] = {}
    if run_id is not None:  # a run the caller cannot see is a 404, as on GET /runs/{id}/logs
        where["run_id"] = check_id(run_id, "run_", "run_id")
        await ctx.get_live(collections.RUNS, run_id, "run")
    if pipeline_id is not None:
        where["pipeline_id"] = check_id(pipeline_id, "pipe_", "pipeline_id")
    projects: list[str | None] | None = None
    if project_id is not None:
        projects = [check_id(project_id, "proj_", "project_id")]
    if isinstance(ctx.read_store, ScopedReadStore):
        allowed = ctx.read_store.projects
        projects = [p for p in projects if p in allowed] if projects is not None else list(allowed)
    if projects is not None:
        where["project_id"] = {"$in": projects}
    if level is not None:
        where["level"] = level_filter(level)
    if node_id is not None:
        where["node_id"] = node_id
    return await lines_response(request, ctx, where, limit, offset, follow, run_id, key="seq")
