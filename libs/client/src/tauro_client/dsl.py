"""Pipelines as Python code: ``@task`` and ``@pipeline``.

    from tauro_client import pipeline, task

    @task(retries=2, timeout_seconds=120)
    def extract(params):
        import polars as pl                     # import heavy things inside the task, not at module level
        return pl.read_csv("examples/data/orders.csv")

    @task
    def transform(orders):                      # ``orders`` is extract's output (a polars DataFrame)
        return orders.unique()

    @task(depends_on=["transform"])             # ordering without data
    def notify(log):
        log.info("done")

    @pipeline(name="daily_etl_py", config={"max_parallelism": 2})
    def daily_etl():
        transform(extract())
        notify()

``daily_etl.definition()`` is the same JSON as a pipeline created through the API: one
``python`` node per task, whose ``config.callable`` names the task's ``run`` by import path
(``package.module:extract.run``, or ``/abs/path/file.py:extract.run`` for a module loaded from
a file, as discovery and ``apply(FILE)`` do). Inside the ``@pipeline`` function a task call
records a node and returns a placeholder; passing it to another task makes an edge and
hands the upstream output to that parameter at run time. Outside it, a task is the plain
function (call it in unit tests).

At run time the executor calls ``task.run(inputs, config, params, log)``: the upstream
DataFrames become the parameters they were passed to; parameters named ``params``, ``log``
or ``config`` receive the run's params, the task's log function and the node config; other
arguments given in the pipeline (JSON values) are passed as given (strings may use the
executor's ``{{ placeholders }}``). The function returns a polars DataFrame (its output for
downstream tasks) or ``None``.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, overload

from pydantic import ValidationError
from tauro_contracts.pipeline import NAME_PATTERN, PipelineSpec, dag_errors

FILE_MODULE_PREFIX = "tauro_user_"
"""Modules loaded from a file are named ``tauro_user_<stem>`` (as the executor names them)."""
INJECTED = ("params", "log", "config")
_BUILDING: ContextVar[_Builder | None] = ContextVar("tauro_pipeline_builder", default=None)


class PipelineDefinitionError(ValueError):
    """A ``@pipeline`` that cannot become a pipeline; the message says which and why."""


class TaskOutput:
    """What a task call returns inside a ``@pipeline`` function: a reference to its future output."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id

    def __repr__(self) -> str:
        return f"<output of task {self.node_id!r}>"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise PipelineDefinitionError(
            f"inside a @pipeline function, the output of task {self.node_id!r} is a placeholder: pass it to "
            f"another task (e.g. transform({self.node_id}())) instead of using .{name} on it")


class TaskFunction:
    """A function made a task by ``@task``. Calling it inside a ``@pipeline`` function adds a node;
    anywhere else it is the plain function."""

    def __init__(self, func: Callable[..., Any], *, id: str | None = None, retries: int | None = None,
                 retry_backoff_seconds: float | None = None, timeout_seconds: int | None = None,
                 depends_on: Iterable[str | TaskFunction] = ()) -> None:
        functools.update_wrapper(self, func)
        self.func = func
        self.id = id or func.__name__
        self.retries = retries
        self.retry_backoff_seconds = retry_backoff_seconds
        self.timeout_seconds = timeout_seconds
        self.depends_on = tuple(depends_on)
        self.signature = inspect.signature(func)
        for param in self.signature.parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise PipelineDefinitionError(f"task {self.id!r}: *args / **kwargs are not supported; name each input")

    def __repr__(self) -> str:
        return f"<task {self.id!r} ({self.func.__module__}.{self.func.__qualname__})>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        builder = _BUILDING.get()
        if builder is None:
            return self.func(*args, **kwargs)
        return builder.call(self, args, kwargs)

    def callable_ref(self, base_dir: str | Path | None = None) -> str:
        """The import path the executor's ``python`` node resolves to this task's :meth:`run`:
        ``package.module:name.run`` for an importable module; for a module loaded from a file,
        ``/abs/file.py:name.run``, or relative to ``base_dir`` when given (the API accepts only
        relative files, resolved from the executor's working directory)."""
        module_name = self.func.__module__
        module = sys.modules.get(module_name)
        by_path = module_name == "__main__" or module_name.startswith(FILE_MODULE_PREFIX)
        attr = f"{self.func.__qualname__}.run"
        if not by_path:
            return f"{module_name}:{attr}"
        file = getattr(module, "__file__", None)
        if not file:
            raise PipelineDefinitionError(f"task {self.id!r}: its module {module_name!r} has no file")
        path = Path(file).resolve()
        if base_dir is None:
            return f"{path}:{attr}"
        base = Path(base_dir).resolve()
        if not path.is_relative_to(base):
            raise PipelineDefinitionError(
                f"task {self.id!r}: {path} is outside {base}; the executor imports a pipeline's file relative to "
                "its working directory: apply it from the folder the executors run in (or make the module "
                "importable and pass the module)")
        return f"{path.relative_to(base).as_posix()}:{attr}"

    def run(self, inputs: list[Any], config: Mapping[str, Any], params: Mapping[str, Any], log: Any) -> Any:
        """The executor's entry point (``python`` node): map the upstream outputs and the rest to the
        function's parameters and call it."""
        arguments: dict[str, Any] = dict(config.get("kwargs") or {})
        wired: list[list[str]] = list(config.get("inputs") or [])
        upstreams = list(dict.fromkeys(node for _, node in wired))
        if len(inputs) < len(upstreams):
            missing = ", ".join(repr(n) for n in upstreams[len(inputs):])
            raise RuntimeError(f"task {self.id!r} expected the output of {', '.join(map(repr, upstreams))} but got "
                               f"{len(inputs)} table(s): did {missing} return None instead of a DataFrame?")
        for name, node in wired:
            arguments[name] = inputs[upstreams.index(node)]
        injected = {"params": dict(params), "log": log, "config": dict(config)}
        for name in self.signature.parameters:
            if name in injected and name not in arguments:
                arguments[name] = injected[name]
        return self.func(**arguments)


@overload
def task(func: Callable[..., Any], /) -> TaskFunction: ...


@overload
def task(*, id: str | None = None, retries: int | None = None, retry_backoff_seconds: float | None = None,
         timeout_seconds: int | None = None,
         depends_on: Iterable[str | TaskFunction] = ()) -> Callable[[Callable[..., Any]], TaskFunction]: ...


def task(func: Callable[..., Any] | None = None, /, *, id: str | None = None, retries: int | None = None,
         retry_backoff_seconds: float | None = None, timeout_seconds: int | None = None,
         depends_on: Iterable[str | TaskFunction] = ()) -> Any:
    """Make ``func`` a task: a ``python`` node whose id is ``id`` (default: the function's name).
    ``retries``: extra attempts after a failure (node ``retry_policy.max_attempts = retries + 1``);
    ``timeout_seconds``: per attempt; ``depends_on``: tasks (or node ids) that must succeed first."""
    options = {"id": id, "retries": retries, "retry_backoff_seconds": retry_backoff_seconds,
               "timeout_seconds": timeout_seconds, "depends_on": depends_on}
    if func is not None:
        return TaskFunction(func, **options)  # type: ignore[arg-type]
    return lambda f: TaskFunction(f, **options)  # type: ignore[arg-type]


@dataclass
class _Node:
    task: TaskFunction
    inputs: list[list[str]]
    kwargs: dict[str, Any]


@dataclass
class _Builder:
    pipeline: str
    nodes: dict[str, _Node] = field(default_factory=dict)

    def call(self, fn: TaskFunction, args: tuple[Any, ...], kwargs: dict[str, Any]) -> TaskOutput:
        if fn.id in self.nodes:
            other = self.nodes[fn.id].task
            what = "is called twice" if other is fn else f"has the same id as {other!r}"
            raise PipelineDefinitionError(
                f"pipeline {self.pipeline!r}: duplicate node id {fn.id!r}: {fn!r} {what}; "
                "give each call its own task (@task(id=...))")
        try:
            bound = fn.signature.bind_partial(*args, **kwargs)
        except TypeError as exc:
            raise PipelineDefinitionError(f"pipeline {self.pipeline!r}: task {fn.id!r}: {exc}") from exc
        inputs: list[list[str]] = []
        constants: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            if isinstance(value, TaskOutput):
                inputs.append([name, value.node_id])
            elif isinstance(value, TaskFunction):
                raise PipelineDefinitionError(
                    f"pipeline {self.pipeline!r}: task {fn.id!r} got the task {value.id!r} itself for {name!r}: "
                    f"call it ({value.id}()) to pass its output")
            elif name in INJECTED:
                raise PipelineDefinitionError(
                    f"pipeline {self.pipeline!r}: task {fn.id!r}: {name!r} is given at run time; do not pass it")
            else:
                constants[name] = value
        self.nodes[fn.id] = _Node(fn, inputs, constants)
        return TaskOutput(fn.id)


class Pipeline:
    """A pipeline declared with ``@pipeline``: :meth:`definition` is its API definition."""

    __tauro_pipeline__ = True

    def __init__(self, func: Callable[[], Any], *, name: str | None = None, id: str | None = None,
                 description: str | None = None, config: Mapping[str, Any] | None = None,
                 project_id: str | None = None) -> None:
        functools.update_wrapper(self, func)
        self.func = func
        self.name = name or func.__name__
        self.id = id
        self.description = description if description is not None else inspect.cleandoc(func.__doc__ or "")
        self.config = dict(config or {})
        self.project_id = project_id

    def __repr__(self) -> str:
        return f"<pipeline {self.name!r}>"

    def __call__(self) -> dict[str, Any]:
        return self.definition()

    def definition(self, base_dir: str | Path | None = None) -> dict[str, Any]:
        """``{name, description, nodes, edges, config}`` (plus ``id`` / ``project_id`` when given):
        the body of ``POST /pipelines``, checked like the API checks it. ``base_dir``: see
        :meth:`TaskFunction.callable_ref`."""
        builder = _Builder(self.name)
        token = _BUILDING.set(builder)
        try:
            self.func()
        finally:
            _BUILDING.reset(token)
        self._add_dependencies(builder)
        nodes, edges = [], []
        for node_id, node in builder.nodes.items():
            fn = node.task
            config: dict[str, Any] = {"callable": fn.callable_ref(base_dir)}
            if node.inputs:
                config["inputs"] = node.inputs
            if node.kwargs:
                config["kwargs"] = node.kwargs
            entry: dict[str, Any] = {"id": node_id, "type": "python", "config": config}
            if fn.retries is not None or fn.retry_backoff_seconds is not None:
                retry: dict[str, Any] = {"max_attempts": (fn.retries or 0) + 1}
                if fn.retry_backoff_seconds is not None:
                    retry["backoff_seconds"] = fn.retry_backoff_seconds
                entry["retry_policy"] = retry
            if fn.timeout_seconds is not None:
                entry["timeout_seconds"] = fn.timeout_seconds
            nodes.append(entry)
            sources = list(dict.fromkeys([up for _, up in node.inputs] + [_dep_id(d) for d in fn.depends_on]))
            edges += [{"from": up, "to": node_id} for up in sources]
        definition: dict[str, Any] = {"name": self.name, "description": self.description, "nodes": nodes,
                                      "edges": edges, "config": self.config}
        self._check(definition)
        if self.id:
            definition["id"] = self.id
        if self.project_id:
            definition["project_id"] = self.project_id
        return definition

    def _add_dependencies(self, builder: _Builder) -> None:
        """Tasks named in ``depends_on`` by object but not called join the pipeline (without inputs)."""
        pending = [n.task for n in builder.nodes.values()]
        while pending:
            for dep in pending.pop().depends_on:
                if isinstance(dep, TaskFunction) and dep.id not in builder.nodes:
                    builder.nodes[dep.id] = _Node(dep, [], {})
                    pending.append(dep)
                elif isinstance(dep, TaskFunction) and builder.nodes[dep.id].task is not dep:
                    raise PipelineDefinitionError(
                        f"pipeline {self.name!r}: duplicate node id {dep.id!r}: {dep!r} and "
                        f"{builder.nodes[dep.id].task!r}")

    def _check(self, definition: dict[str, Any]) -> None:
        import re

        if not re.match(NAME_PATTERN, self.name):
            raise PipelineDefinitionError(f"pipeline {self.name!r}: invalid name (letters, digits, _ . -)")
        if not definition["nodes"]:
            raise PipelineDefinitionError(f"pipeline {self.name!r}: no task is called in its function")
        known = {n["id"] for n in definition["nodes"]}
        for edge in definition["edges"]:
            if edge["from"] not in known:
                raise PipelineDefinitionError(
                    f"pipeline {self.name!r}: task {edge['to']!r} depends on {edge['from']!r}, which is not a "
                    "task of this pipeline (call it in the pipeline function, or name the task object in depends_on)")
        try:
            spec = PipelineSpec.model_validate({k: definition[k] for k in ("description", "nodes", "edges", "config")})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise PipelineDefinitionError(f"pipeline {self.name!r}: {problems}") from exc
        if errors := dag_errors(spec):
            raise PipelineDefinitionError(
                f"pipeline {self.name!r}: " + "; ".join(f"{e.field}: {e.message}" for e in errors))


def _dep_id(dep: str | TaskFunction) -> str:
    return dep.id if isinstance(dep, TaskFunction) else dep


@overload
def pipeline(func: Callable[[], Any], /) -> Pipeline: ...


@overload
def pipeline(*, name: str | None = None, id: str | None = None, description: str | None = None,
             config: Mapping[str, Any] | None = None,
             project_id: str | None = None) -> Callable[[Callable[[], Any]], Pipeline]: ...


def pipeline(func: Callable[[], Any] | None = None, /, *, name: str | None = None, id: str | None = None,
             description: str | None = None, config: Mapping[str, Any] | None = None,
             project_id: str | None = None) -> Any:
    """Declare a pipeline: the decorated function calls the tasks (wiring outputs to inputs).
    ``name`` defaults to the function's name, ``description`` to its docstring; ``config`` is the
    pipeline config (max_parallelism, retry_policy, timeout_seconds, max_concurrent_runs, notifications)."""
    options = {"name": name, "id": id, "description": description, "config": config, "project_id": project_id}
    if func is not None:
        return Pipeline(func, **options)  # type: ignore[arg-type]
    return lambda f: Pipeline(f, **options)  # type: ignore[arg-type]


def load_file(path: str | Path) -> ModuleType:
    """Import a ``.py`` file as module ``tauro_user_<stem>`` (runs its top-level code: keep it light).
    An error raised while importing it is a ``PipelineDefinitionError`` naming the file and line."""
    path = Path(path).expanduser().resolve()
    name = FILE_MODULE_PREFIX + "".join(c if c.isalnum() else "_" for c in path.stem)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PipelineDefinitionError(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        if previous is not None:
            sys.modules[name] = previous
        else:
            sys.modules.pop(name, None)
        line = next((f.lineno for f in reversed(traceback.extract_tb(exc.__traceback__))
                     if Path(f.filename).resolve() == path), None)
        where = f" (line {line})" if line else ""
        raise PipelineDefinitionError(f"importing it failed{where}: {type(exc).__name__}: {exc}") from exc
    return module


def pipelines_in(module: ModuleType) -> list[Pipeline]:
    """The ``@pipeline``s a module declares (not those it imports from elsewhere)."""
    return [value for value in vars(module).values()
            if isinstance(value, Pipeline) and value.func.__module__ == module.__name__]
