"""Chat templates rendered within limits of steps, characters and time, as llama-cpp-python
renders them (jinja2's immutable sandbox, the same variables, filters and extensions).

A model file's template is code from whoever made the file: a loop of 10^10 turns, or a
string doubled fifty times, must end one render with the reason, not hold a worker. The
environment rewrites each compiled template so that every loop turn, call, filter,
operator and write goes through the render's `Budget` (template_limits.py).

`explore=True` compiles the template to take every branch: each `if`, `elif` and `else`,
both sides of `and`, `or` and `x if c else y`, no loop filter, no `break`. Registration
renders the sample conversations that way too, so that a trap behind a word or a date
that no sample holds is found before a member trips it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from operator import add, floordiv, mod, sub

import jinja2.ext
from jinja2 import ChainableUndefined, nodes
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from inference.engine import template_costs, template_limits
from inference.engine.contract import PromptRefused
from inference.engine.template_limits import RenderOverLimits

# Integer operators whose result is at most a bit longer than their operands.
_SMALL_INT_OPS = {"+": add, "-": sub, "%": mod, "//": floordiv}


class TemplateFailed(PromptRefused):
    """The chat template cannot render this conversation; the text says why, for its reader."""

    def __init__(self, detail: str, *, over_limits: bool = False):
        self.detail = detail
        self.over_limits = over_limits
        if over_limits:
            text = (
                f"The model failed to build this conversation's prompt: its chat template went "
                f"over its render limits ({detail}). An admin can give the model a chat-template "
                "override."
            )
        else:
            text = (
                f"The model failed to build this conversation's prompt: its chat template "
                f"refused it ({detail})."
            )
        super().__init__(text)


class ChatTemplate:
    """A chat template compiled once, rendered with its limits per conversation."""

    def __init__(
        self, source: str, *, bos_token: str = "", eos_token: str = "", explore: bool = False
    ):
        self.bos_token, self.eos_token, self.explore = bos_token, eos_token, explore
        self._compiled = LimitedEnvironment(explore=explore).from_string(source)

    def render(
        self,
        messages: Sequence[dict],
        *,
        now: datetime | None = None,
        tools: Sequence[dict] | None = None,
    ) -> str:
        """The prompt for these messages, ready for the assistant's turn, or TemplateFailed."""
        budget = template_limits.Budget(
            template_limits.limits_for(_measured(messages, tools), scale=4 if self.explore else 1)
        )
        token = template_limits.metered(budget)
        try:
            return self._compiled.render(self._variables(list(messages), now, tools))
        except RenderOverLimits as exc:
            raise TemplateFailed(str(exc), over_limits=True) from None
        except RecursionError:
            raise TemplateFailed("it calls itself too deeply", over_limits=True) from None
        except MemoryError:
            raise TemplateFailed("it ran out of memory", over_limits=True) from None
        except Exception as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise TemplateFailed(f"{type(exc).__name__}: {reason}"[:300]) from exc
        finally:
            template_limits.release(token)

    def _variables(
        self, messages: list[dict], now: datetime | None, tools: Sequence[dict] | None = None
    ) -> dict:
        def strftime_now(fmt: str) -> str:
            return (now or datetime.now()).strftime(fmt)

        def raise_exception(message: str):
            if self.explore:
                return ""  # go on down the branch a real conversation would not take
            raise ValueError(message)

        variables = {
            "messages": messages,
            "bos_token": self.bos_token,
            "eos_token": self.eos_token,
            "add_generation_prompt": True,
            "raise_exception": raise_exception,
            "strftime_now": strftime_now,
        }
        if not self.explore:
            # As llama-cpp-python passes them; left undefined when exploring, so that a
            # branch that loops over the tools loops over nothing instead of failing.
            variables.update(
                functions=None,
                function_call=None,
                tools=list(tools) if tools else None,
                tool_choice=None,
            )
        return variables


def _measured(messages: Sequence[dict], tools: Sequence[dict] | None) -> Sequence[dict]:
    """The messages as the render's limits count them: what a template may write of tool
    calls and tool definitions counts like text (templates write them out with tojson)."""
    if not tools and all(isinstance(v, str) for m in messages for v in m.values()):
        return messages
    measured = [
        {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in m.items()}
        for m in messages
    ]
    if tools:
        measured.append({"tools": json.dumps(list(tools), ensure_ascii=False)})
    return measured


class _IgnoreGenerationTags(jinja2.ext.Extension):
    """Pass-through for Hugging Face's `{% generation %}` tag, as llama-cpp-python does."""

    tags = {"generation"}

    def parse(self, parser):
        parser.stream.skip(1)
        return parser.parse_statements(("name:endgeneration",), drop_needle=True)


class _Lenient(ChainableUndefined):
    """When exploring, an undefined value that no operator refuses, so that a branch built
    for another shape of conversation runs on to its end."""

    def _itself(self, *args, **kwargs):
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __mod__ = __rmod__ = _itself
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __pow__ = __rpow__ = _itself
    __pos__ = __neg__ = __call__ = __lt__ = __le__ = __gt__ = __ge__ = _itself

    def __int__(self) -> int:
        return 0

    def __float__(self) -> float:
        return 0.0


class LimitedEnvironment(ImmutableSandboxedEnvironment):
    """jinja2's immutable sandbox, with every loop turn, call, filter, operator and write
    counted against the render's budget."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def __init__(self, *, explore: bool = False):
        super().__init__(
            loader=jinja2.BaseLoader(),
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=[_IgnoreGenerationTags, jinja2.ext.loopcontrols],
            undefined=_Lenient if explore else jinja2.Undefined,
        )
        self.explore = explore
        # lipsum writes up to any length in one call; no chat template needs it.
        del self.globals["lipsum"]
        self.filters["tojson"] = _tojson
        self.filters = {name: _guarded_filter(name, f) for name, f in self.filters.items()}
        self.tests = {name: _guarded_test(test) for name, test in self.tests.items()}
        self.filters.update(
            homefire_loop=_counted_loop,
            homefire_concat=_concat,
            homefire_new=_new,
        )

    def _generate(self, source, name, filename, defer_init=False):
        # jinja2's documented hook between parsing and code generation.
        source = _Metering(self.explore).visit(source)
        source.set_environment(self)
        return super()._generate(source, name, filename, defer_init=defer_init)

    def call_binop(self, context, operator: str, left, right):
        budget = template_limits.current()
        budget.step()
        # What templates mostly do, kept quick: join two strings, count turns.
        if operator == "+" and left.__class__ is str and right.__class__ is str:
            budget.charge(len(left) + len(right))
            return left + right
        if operator in _SMALL_INT_OPS and left.__class__ is int and right.__class__ is int:
            return _SMALL_INT_OPS[operator](left, right)
        budget.afford(template_costs.binop_size(budget, operator, left, right))
        result = super().call_binop(context, operator, left, right)
        budget.charge_value(result)
        return result

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805  (jinja2's own names)
        budget = template_limits.current()
        budget.step()
        if isinstance(__obj, LoopContext) and args:
            # `loop(children)` in a recursive loop: its turns count like any loop's.
            args = (template_costs.Counted(args[0], budget), *args[1:])
        args = template_costs.afford_call(budget, __obj, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        budget.charge_value(result)
        return result


class _Metering(NodeTransformer):
    """Route a template's loops, writes, joins (`~`) and literals through the meter; when
    exploring, also unfold every branch."""

    def __init__(self, explore: bool):
        self.explore = explore

    def visit_For(self, node: nodes.For):
        node = self.generic_visit(node)
        node.iter = _metered(node.iter, "homefire_loop")
        if self.explore:
            node.test = None
        return node

    def visit_Output(self, node: nodes.Output):
        # One write of all its pieces, literal text included: a loop of short literals
        # writes as much as one of values.
        node = self.generic_visit(node)
        pieces = [
            nodes.Const(c.data) if isinstance(c, nodes.TemplateData) else c for c in node.nodes
        ]
        node.nodes = [_metered(nodes.Tuple(pieces, "load"), "homefire_concat")]
        return node

    def visit_Concat(self, node: nodes.Concat):
        node = self.generic_visit(node)
        return _metered(nodes.Tuple(node.nodes, "load"), "homefire_concat")

    def visit_List(self, node):
        return _metered(self.generic_visit(node), "homefire_new")

    visit_Dict = visit_List

    def visit_Tuple(self, node: nodes.Tuple):
        node = self.generic_visit(node)
        return _metered(node, "homefire_new") if node.ctx == "load" else node

    def visit_If(self, node: nodes.If):
        if not self.explore:
            return self.generic_visit(node)
        body = [*node.body, *(s for branch in node.elif_ for s in branch.body), *node.else_]
        return [new for statement in body for new in _as_list(self.visit(statement))]

    def visit_CondExpr(self, node: nodes.CondExpr):
        node = self.generic_visit(node)
        if not self.explore:
            return node
        other = node.expr2 if node.expr2 is not None else nodes.Const(None)
        return _both(node.expr1, other, keep=0, like=node)

    def visit_And(self, node: nodes.And):
        node = self.generic_visit(node)
        return _both(node.left, node.right, keep=1, like=node) if self.explore else node

    def visit_Or(self, node: nodes.Or):
        node = self.generic_visit(node)
        return _both(node.left, node.right, keep=0, like=node) if self.explore else node

    def visit_Break(self, node):
        return None if self.explore else node

    visit_Continue = visit_Break


def _as_list(result) -> list:
    if result is None:
        return []
    return result if isinstance(result, list) else [result]


def _metered(node: nodes.Expr, filter_name: str) -> nodes.Filter:
    wrapped = nodes.Filter(node, filter_name, [], [], None, None)
    return wrapped.set_lineno(node.lineno or 1)


def _both(first: nodes.Expr, second: nodes.Expr, *, keep: int, like: nodes.Expr) -> nodes.Expr:
    """Evaluate both expressions, keep one: how exploring runs both sides of a choice."""
    pair = nodes.Tuple([first, second], "load")
    return nodes.Getitem(pair, nodes.Const(keep), "load").set_lineno(like.lineno or 1)


@jinja2.pass_context
def _counted_loop(context, items):
    return template_costs.Counted(items, template_limits.current())


@jinja2.pass_context
def _concat(context, parts: tuple) -> str:
    """The pieces of a write, or of `a ~ b`, joined as text once they are paid for."""
    budget = template_limits.current()
    budget.step()
    size = 0
    for part in parts:
        size += len(part) if part.__class__ is str else budget.size(part)
    budget.charge(size)
    return "".join(map(str, parts))


@jinja2.pass_context
def _new(context, value):
    budget = template_limits.current()
    budget.charge_value(value)
    return value


def _tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False) -> str:
    """As llama-cpp-python's (and Transformers'): no ASCII escaping of text."""
    return json.dumps(
        value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


def _guarded_filter(name: str, func: Callable) -> Callable:
    """The filter, paying a step, refusing beforehand what it would write beyond the budget
    (for the few that multiply their input), and paying for what it wrote."""
    takes_first = getattr(func, "jinja_pass_arg", None) is not None
    afford = template_costs.FILTER_SIZES.get(name)
    rearranging = name in template_costs.REARRANGING

    @functools.wraps(func)
    def guarded(*args, **kwargs):
        budget = template_limits.current()
        budget.step()
        head, args = (args[:1], args[1:]) if takes_first else ((), args)
        if afford is not None:
            args = afford(budget, args, kwargs)
        result = func(*head, *args, **kwargs)
        if not rearranging:
            budget.charge_value(result)
        return result

    return guarded


def _guarded_test(test: Callable) -> Callable:
    @functools.wraps(test)
    def guarded(*args, **kwargs):
        template_limits.current().step()
        return test(*args, **kwargs)

    return guarded
