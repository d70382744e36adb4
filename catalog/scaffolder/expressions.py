"""Template expressions as Backstage writes them: ``${{ parameters.name }}``, ``${{ steps.publish.output.remoteUrl }}``,
``${{ parameters.repoUrl | parseRepoUrl }}``, ``{% if parameters.ci %}...{% endif %}``.

Evaluated in Jinja's immutable sandbox (Backstage uses Nunjucks with the same ``${{ }}`` delimiters): attributes
starting with ``_`` and Python internals are refused (``${{ parameters.__class__ }}`` is an error, not a class), data
cannot be changed, ranges and repetitions are bounded, and a result must be JSON data. A string that is one whole
expression keeps the value's type (a number stays a number, an object an object), as in Backstage; any other string
is rendered to text. Errors say where: ``steps[1].input.values.name: ...``.
"""
from __future__ import annotations

import contextlib
import json
import math
import operator
import re
import signal
import sys
import threading
import time
from urllib.parse import parse_qs

from jinja2 import Environment, TemplateError, Undefined, nodes
from jinja2.compiler import CodeGenerator, optimizeconst
from jinja2.nodes import EvalContext
from jinja2.runtime import str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_TEXT = 1_000_000  # characters an expression may produce (a string or list repeated, joined, rendered)
MAX_STEPS = 1_000_000  # lines of a compiled template one rendering may execute (loops within loops...)
MAX_SECONDS = 5.0  # and the wall-clock time it may take


class ExpressionError(ValueError):
    """An expression that cannot be evaluated, or that reaches for what it may not; the message names the field."""


class Deferred:
    """What a step's output will be, before the step has run: checks made before a run skip what depends on it."""

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key):
        return self

    def __str__(self) -> str:
        return "…"

    def __bool__(self) -> bool:
        return True


DEFERRED = Deferred()


class DeferredSteps(dict):
    """``steps`` before a run: every step's output is Deferred."""

    def __missing__(self, key):
        return DEFERRED


class _Undefined(Undefined):
    """A missing value renders as nothing (as in Backstage); a refused one (a "_" name, an unsafe call) is an error
    wherever it is used, text included."""

    __slots__ = ()

    def _refused(self):
        if self._undefined_exception is SecurityError:
            self._fail_with_undefined_error()

    def __str__(self) -> str:
        self._refused()
        return ""

    def __iter__(self):
        self._refused()
        return iter(())

    def __bool__(self) -> bool:
        self._refused()
        return False


MAX_WIDTH = 10_000  # widths and counts given to padding and grouping (a template has no use for more)
# a width of five digits or more, a width taken from an argument (%*s), or a nested field in a format spec ({:>{}})
_WIDE_FORMAT = re.compile(r"%[-+ #0]*(\d{5,}|\*)|\{[^{}]*:[^{}]*(\d{5,}|\{)")
_PADDING = {"zfill", "ljust", "rjust", "center", "expandtabs"}


def _too_wide(args) -> bool:
    return any(isinstance(a, int) and not isinstance(a, bool) and abs(a) > MAX_WIDTH for a in args)


def _size(value, limit: int = MAX_TEXT) -> int:
    """About how many characters ``value`` takes as text (strings' lengths, 8 for anything else), counted only up to
    just past ``limit``: a list of one large string repeated is large, though it holds one string."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
            total += 2 * len(item)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
            total += 2 * len(item)
        else:
            total += 8
    return total


def _check_size(size: int, what: str) -> None:
    if size > MAX_TEXT:
        raise SecurityError(f"{what}: result too large")


class _OutOfBudget(SecurityError):
    """A rendering that ran too many steps or too long."""


class _Budget:
    """Lines of compiled template executed, and a deadline, shared by every rendering made while it is current."""

    def __init__(self, seconds: float = MAX_SECONDS, steps: int = MAX_STEPS):
        self.deadline, self.left, self.seconds, self.steps = time.monotonic() + seconds, steps, seconds, steps

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0 or time.monotonic() > self.deadline:
            raise _OutOfBudget(f"the template's expressions take too long (more than {self.steps} steps or "
                               f"{self.seconds:g} s)")


_current = threading.local()


@contextlib.contextmanager
def expression_budget(seconds: float = MAX_SECONDS, steps: int = MAX_STEPS):
    """One budget for every expression rendered inside (a template's whole check, a dry run, one step of a run), so
    a template of many strings gets no more time than one of a single string."""
    outer = getattr(_current, "budget", None)
    if outer is not None:  # already inside one: it stays the bound
        yield outer
        return
    _current.budget = _Budget(seconds, steps)
    try:
        yield _current.budget
    finally:
        _current.budget = None


def budget_start(seconds: float, steps: int) -> None:
    """A fresh budget for what this thread renders next (one step of a run, in the worker), until budget_clear."""
    _current.budget = _Budget(seconds, steps)


def budget_clear() -> None:
    _current.budget = None


def _budgeted(function):
    """``function()`` with the lines of compiled templates it executes counted, and the clock read at every line and
    every call made while rendering (filters included): a loop in a loop in a loop is stopped after MAX_STEPS lines
    or MAX_SECONDS, long before it eats the worker (or the web request of a dry run). Work inside one built-in call
    (a sort) is bounded by the sizes the sandbox allows."""
    budget = getattr(_current, "budget", None) or _Budget()

    def local(frame, event, arg):
        if event == "line":
            budget.spend()
        return local

    def calls(frame, event, arg):
        if frame.f_code.co_filename == "<template>":
            return local
        if time.monotonic() > budget.deadline:
            budget.spend()  # raises: out of time inside a filter's own Python code
        return None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        with _alarm(budget):
            return function()
    finally:
        sys.settrace(previous)


ALARM_SLACK = 1.0  # seconds past the deadline the hard stop waits for the trace function to have stopped it


@contextlib.contextmanager
def _alarm(budget: _Budget):
    """A hard stop one second past the budget's deadline, by SIGALRM, for when the trace function is not called (a
    process whose tracing another library switched off: in the full test run, after the browser tests' greenlets, a
    sort in a loop ran on unstopped). Only in the main thread, where Python delivers signals: Celery's prefork workers
    and gunicorn's sync workers run there. A timer already set is put back afterwards."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def stop(signum, frame):
        raise _OutOfBudget(f"the template's expressions take too long (more than {budget.seconds:g} s)")

    started = time.monotonic()
    handler = signal.signal(signal.SIGALRM, stop)
    earlier, interval = signal.setitimer(signal.ITIMER_REAL, max(budget.deadline - started, 0) + ALARM_SLACK)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, handler)
        if earlier:  # someone else's timer: it goes on with what was left of it
            signal.setitimer(signal.ITIMER_REAL, max(earlier - (time.monotonic() - started), 0.001), interval)


class _CodeGenerator(CodeGenerator):
    """Jinja's code generator, with ``a ~ b`` bounded like ``a + b`` (Jinja joins those outside the sandbox)."""

    @optimizeconst
    def visit_Concat(self, node, frame):
        self.write("environment.concat_bounded((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, with results bounded: repetitions, powers, format widths and padding."""

    intercepted_binops = frozenset(["*", "**", "%", "+"])
    code_generator_class = _CodeGenerator

    @staticmethod
    def concat_bounded(items):
        _check_size(sum(_size(item) for item in items), "~")
        return str_join(items)

    def call_binop(self, context, operator_name, left, right):
        if operator_name == "+":
            if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
                _check_size(_size(left) + _size(right), "+")
            return operator.add(left, right)
        if operator_name == "**":
            if isinstance(right, (int, float)) and abs(right) > 100:
                raise SecurityError("exponent too large")
            if isinstance(left, int) and isinstance(right, int) and abs(left).bit_length() * max(right, 0) > 256:
                raise SecurityError("result too large")
            return operator.pow(left, right)
        if operator_name == "%":
            if isinstance(left, str) and _WIDE_FORMAT.search(left):
                raise SecurityError("format width too large")
            if isinstance(left, str):
                arguments = right if isinstance(right, (tuple, list, dict)) else (right,)
                _check_size(len(left) + left.count("%") * _size(arguments), "%")
            return operator.mod(left, right)
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and _size(seq) * max(times, 0) > MAX_TEXT:
                raise SecurityError("result too large")
            if isinstance(seq, (list, tuple)) and isinstance(times, int) and times > MAX_WIDTH:
                raise SecurityError("result too large")
        return operator.mul(left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - Jinja's signature
        name = getattr(__obj, "__name__", "")
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            if name in _PADDING and _too_wide([*args, *kwargs.values()]):
                raise SecurityError(f"{name}: width too large")
            if name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
                old, new = args[0], args[1]
                times = len(owner) + 1 if not old else owner.count(old)
                _check_size(len(owner) + times * max(len(new) - len(old), 0), "replace")
            elif name == "join" and args:
                items = args[0] if isinstance(args[0], (str, list, tuple)) else list(args[0])
                _check_size(_size(items) + len(owner) * len(items), "join")
                args = (items, *args[1:])
            elif name in ("format", "format_map"):
                _check_size(len(owner) + owner.count("{") * _size([*args, *kwargs.values()]), name)
            elif name == "expandtabs":
                size = args[0] if args and isinstance(args[0], int) else kwargs.get("tabsize", 8)
                _check_size(len(owner) + owner.count("\t") * max(size if isinstance(size, int) else 8, 0), name)
            elif name in ("translate", "maketrans"):
                raise SecurityError(f"{name} is not allowed in templates")  # one character may become any text
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj, attribute):
        # any name starting with "_" is refused outright, whether or not the object has it
        if isinstance(attribute, str) and attribute.startswith("_"):
            return self.unsafe_undefined(obj, attribute)
        if isinstance(obj, str) and attribute in ("format", "format_map") and _WIDE_FORMAT.search(obj):
            return self.unsafe_undefined(obj, attribute)  # "{:>50000000}".format(...): refused before it is built
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        if isinstance(argument, str) and argument.startswith("_"):
            return self.unsafe_undefined(obj, argument)
        return super().getitem(obj, argument)

    def is_safe_attribute(self, obj, attr, value):
        if isinstance(obj, Deferred):
            return not attr.startswith("_")
        return super().is_safe_attribute(obj, attr, value)


# --- Backstage's built-in filters ------------------------------------------------------------------------------------


def parse_repo_url(value) -> dict:
    """``github.com?owner=acme&repo=shop`` (what the RepoUrlPicker writes) -> ``{host, owner, repo, ...}``."""
    if not isinstance(value, str) or "?" not in value:
        raise ExpressionError(f"parseRepoUrl: {str(value)[:80]!r} is not host?owner=...&repo=...")
    host, _, query = value.partition("?")
    fields = {key: values[-1] for key, values in parse_qs(query, keep_blank_values=False).items()}
    if not host or not fields.get("repo"):
        raise ExpressionError(f"parseRepoUrl: {value[:80]!r} needs a host and a repo")
    return {"host": host, **{k: fields[k] for k in ("owner", "repo", "organization", "workspace", "project") if k in fields}}


def project_slug(value) -> str:
    parts = parse_repo_url(value)
    return f"{parts.get('owner') or parts.get('organization') or parts.get('workspace') or ''}/{parts['repo']}"


def parse_entity_ref(value, context=None) -> dict:
    from catalog.refs import EntityRefError, parse_ref

    context = context if isinstance(context, dict) else {}
    try:
        ref = parse_ref(value, default_kind=context.get("defaultKind"),
                        default_namespace=context.get("defaultNamespace") or "default")
    except EntityRefError as exc:
        raise ExpressionError(f"parseEntityRef: {exc}") from None
    return {"kind": ref.kind, "namespace": ref.namespace, "name": ref.name}


def pick(value, path):
    """``${{ parameters.owner | parseEntityRef | pick('name') }}``: one property, by a dotted path."""
    for part in str(path).split("."):
        if part.startswith("_"):
            raise ExpressionError(f"pick: {path!r}: a name starting with '_' is refused")
        if isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def dump(value) -> str:
    return json.dumps(value, allow_nan=False)


FILTERS = {
    "parseRepoUrl": (parse_repo_url, "Parses a RepoUrlPicker value (host?owner=...&repo=...) into host, owner, repo, "
                                     "organization, workspace and project."),
    "parseEntityRef": (parse_entity_ref, "Parses an entity reference into kind, namespace and name; an optional context "
                                         "gives defaultKind and defaultNamespace."),
    "pick": (pick, "Picks a property of an object by its (dotted) path."),
    "projectSlug": (project_slug, "owner/repo of a RepoUrlPicker value."),
    "dump": (dump, "The value as JSON."),
}


_CONTEXTS = (EvalContext, Environment)  # what Jinja passes a filter first, before its value


def _guarded(check):
    """A guard for built-in filters: ``check(name, values, kwargs)`` sees the filter's own arguments (the value
    first; Jinja's context argument set aside), raises SecurityError before the filter builds too much, and returns
    the values to call it with. The wrapper keeps the filter's ``jinja_pass_arg``, so Jinja still passes the context."""
    def wrap(function, name):
        def guarded(*args, **kwargs):
            context = args[:1] if args and isinstance(args[0], _CONTEXTS) else ()
            values = check(name, list(args[len(context):]), kwargs)
            return function(*context, *values, **kwargs)
        if hasattr(function, "jinja_pass_arg"):
            guarded.jinja_pass_arg = function.jinja_pass_arg
        return guarded
    return wrap


@_guarded
def _bounded(name, values, kwargs):
    """Widths and counts beyond MAX_WIDTH (and wide format strings) are refused."""
    if _too_wide([*values[1:], *kwargs.values()]) or (
            name == "format" and values and isinstance(values[0], str) and _WIDE_FORMAT.search(values[0])):
        raise SecurityError(f"{name}: width or count too large")
    return values


@_guarded
def _bounded_join(name, values, kwargs):
    """``join``: the input and the separator counted for every item (an iterator is read into a list first)."""
    items = values[0] if values else []
    items = items if isinstance(items, (list, tuple, str)) else list(items)
    separator = values[1] if len(values) > 1 else kwargs.get("d", "")
    _check_size(_size(items) + _size(separator) * len(items), name)
    return [items, *values[1:]]


@_guarded
def _bounded_growth(name, values, kwargs):
    """``indent`` and ``replace``, refused before they build more than MAX_TEXT characters."""
    text = str(values[0]) if values else ""
    if name == "indent":
        width = values[1] if len(values) > 1 else kwargs.get("width", 4)
        width = len(width) if isinstance(width, str) else (width if isinstance(width, int) else 4)
        _check_size(len(text) + (text.count("\n") + 1) * max(width, 0), name)
    elif name == "replace" and len(values) >= 3:
        old, new = str(values[1]), str(values[2])
        times = len(text) + 1 if not old else text.count(old)
        _check_size(len(text) + times * max(len(new) - len(old), 0), name)
    return values


@_guarded
def _sized_input(name, values, kwargs):
    """A filter that turns its input into text (``string``, ``tojson``, ``dump``...), refused when that text would be
    larger than MAX_TEXT (nested lists that share one large string are large)."""
    if values:
        _check_size(_size(values[0]), name)
    return values


@_guarded
def _bounded_sum(name, values, kwargs):
    """``sum(iterable, attribute, start)`` adds numbers only: adding lists one by one is quadratic."""
    start = kwargs.get("start", values[2] if len(values) > 2 else 0)
    if not isinstance(start, (int, float)) or isinstance(start, bool):
        raise SecurityError(f"{name}: adds numbers only")
    return values


def _finalize(value):
    """What ``${{ }}`` prints, its size checked before it becomes text."""
    if isinstance(value, (list, tuple, dict)):
        _check_size(_size(value), "output")
    return value


def _environment() -> _Sandbox:
    env = _Sandbox(variable_start_string="${{", variable_end_string="}}", autoescape=False, keep_trailing_newline=True,
                   undefined=_Undefined, finalize=_finalize)
    env.filters.update({name: function for name, (function, _) in FILTERS.items()})
    for name in ("center", "indent", "wordwrap", "batch", "slice", "truncate", "format"):
        env.filters[name] = _bounded(env.filters[name], name)
    for name in ("indent", "replace"):
        env.filters[name] = _bounded_growth(env.filters[name], name)
    env.filters["join"] = _bounded_join(env.filters["join"], "join")
    for name in ("string", "tojson", "pprint", "dump", "urlencode", "xmlattr", "list"):
        env.filters[name] = _sized_input(env.filters[name], name)
    env.filters["sum"] = _bounded_sum(env.filters["sum"], "sum")
    env.globals.clear()  # no range(), lipsum(), cycler(), joiner(), namespace(), dict(): data in, data out
    return env


ENV = _environment()


def _json(value, where: str, deferred: list[str]):
    """``value`` as JSON data (dicts, lists, text, numbers, booleans, null); a Deferred is noted and kept."""
    if isinstance(value, Deferred):
        deferred.append(where)
        return value
    if isinstance(value, Undefined):
        if getattr(value, "_undefined_exception", None) is SecurityError:
            raise ExpressionError(f"{where}: {value._undefined_hint or 'access refused'}")
        return None
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) > 2 ** 53 or isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError(f"{where}: {str(value)[:40]}… is not a JSON number")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise ExpressionError(f"{where}: more than {MAX_TEXT} characters")
        return value
    if isinstance(value, dict):
        return {str(k): _json(v, f"{where}.{k}", deferred) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v, f"{where}[{i}]", deferred) for i, v in enumerate(value)]
    raise ExpressionError(f"{where}: the expression gives a {type(value).__name__}, not data")


def _whole_expression(text: str) -> str | None:
    """The expression of a string that is exactly one ``${{ ... }}`` (its value keeps its type), else None."""
    stripped = text.strip()
    if not (stripped.startswith("${{") and stripped.endswith("}}")):
        return None
    inner = stripped[3:-2]
    if "${{" in inner or "}}" in inner or "{%" in inner:
        return None
    try:
        ENV.parse("${{" + inner + "}}")
    except TemplateError:
        return None
    return inner


def render_string(text: str, context: dict, *, where: str = "", deferred: list | None = None):
    """One string: a whole expression gives its value (any JSON type), anything else renders to text."""
    deferred = [] if deferred is None else deferred
    if "${{" not in text and "{%" not in text:
        return text
    try:
        expression = _whole_expression(text)
        if expression is not None:
            compiled = ENV.compile_expression(expression, undefined_to_none=False)
            value = _budgeted(lambda: compiled(**context))
            return _json(value, where, deferred)
        tree = ENV.parse(text)
        if any(True for _ in tree.find_all((nodes.Macro, nodes.CallBlock))):
            # a macro may call itself: exponential work from a few characters; templates have no need of them
            raise ExpressionError(f"{where}: macros are not allowed in templates")
        if any(loop.recursive for loop in tree.find_all(nodes.For)):
            raise ExpressionError(f"{where}: recursive loops are not allowed in templates")  # the same, with loop()
        template = ENV.from_string(tree)
        rendered = _budgeted(lambda: _generated(template, context))
    except ExpressionError:
        raise
    except SecurityError as exc:
        raise ExpressionError(f"{where}: not allowed: {exc}") from None
    except TemplateError as exc:
        raise ExpressionError(f"{where}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - whatever a template's expression raises is that template's error
        raise ExpressionError(f"{where}: {type(exc).__name__}: {str(exc)[:300]}") from None
    if isinstance(context.get("steps"), DeferredSteps) and "steps" in variables(text):
        deferred.append(where)
    if len(rendered) > MAX_TEXT:
        raise ExpressionError(f"{where}: more than {MAX_TEXT} characters")
    return rendered


def _generated(template, context: dict) -> str:
    """The template's text, refused as soon as it passes MAX_TEXT characters (not once it has filled the memory)."""
    chunks, total = [], 0
    for chunk in template.generate(**context):
        total += len(chunk)
        if total > MAX_TEXT:
            raise SecurityError(f"more than {MAX_TEXT} characters")
        chunks.append(chunk)
    return "".join(chunks)


def render_value(value, context: dict, *, where: str = "", deferred: list | None = None):
    """Render every string inside ``value`` (objects' values, lists' items); keys are kept as written."""
    deferred = [] if deferred is None else deferred
    if isinstance(value, str):
        return render_string(value, context, where=where, deferred=deferred)
    if isinstance(value, dict):
        return {k: render_value(v, context, where=f"{where}.{k}" if where else str(k), deferred=deferred)
                for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, context, where=f"{where}[{i}]", deferred=deferred) for i, v in enumerate(value)]
    return value


def truthy(value) -> bool:
    """Backstage's ``if:``: false, null, empty text, 0 and the text "false" skip the step."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false")
    return bool(value)


def variables(text: str) -> set[str]:
    """The top-level names an expression string reads (``parameters``, ``steps``, ``user``...), for checks."""
    try:
        tree = ENV.parse(text)
    except TemplateError:
        return set()
    return {node.name for node in tree.find_all(nodes.Name)}
