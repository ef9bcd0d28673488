"""What a filter, a str method or an operator would write, judged before it runs.

Most of what a template does writes about what it was given, and pays for it afterwards
(template.py). A few calls multiply their input (`'x' * n`, `center(n)`, `indent(n)` on
many lines, `join` with a long separator, a format width): these are sized here first, so
that one call cannot take gigabytes before the meter sees it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from inference.engine.template_limits import Budget

# Filters that return a value they were given, a part of one, a number, or a rearrangement
# of its items: nothing new to pay for but the step. Every other filter pays for what it
# writes.
_REARRANGING_NAMES = (
    "abs attr batch count d default dictsort first float groupby int items last length list map "
    "max min random reject rejectattr round select selectattr slice sort unique wordcount"
)
REARRANGING = frozenset(_REARRANGING_NAMES.split())
_STR_TYPES = (str, bytes)
_WIDTHS = re.compile(r"\d+")
_NESTED_FIELD = re.compile(r"\{[^{}]*\{")


class Counted:
    """A loop's items, a render step each."""

    __slots__ = ("_items", "_budget")

    def __init__(self, items: Iterable, budget: Budget):
        self._items, self._budget = items, budget

    def __iter__(self):
        budget = self._budget
        for item in self._items:
            budget.steps -= 1
            if not budget.steps & 63:
                budget.check()
            yield item

    def __len__(self) -> int:
        return len(self._items)


def _arg(args: tuple, kwargs: dict, index: int, name: str, default=None):
    """An argument given by position (after the value) or by name."""
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _number(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _text_size(budget: Budget, value) -> tuple[str, int]:
    text = value if isinstance(value, str) else ""
    return text, (len(text) if text else budget.size(value))


def _listed(budget: Budget, args: tuple) -> tuple:
    """The value's items as a list, to be sized before they are joined or summed."""
    if not args or isinstance(args[0], (list, tuple, *_STR_TYPES)):
        return args
    return (list(Counted(args[0], budget)), *args[1:])


def _afford_join(budget: Budget, args: tuple, kwargs: dict) -> tuple:
    args = _listed(budget, args)
    if args:
        separator = _arg(args, kwargs, 1, "d", "")
        items = args[0]
        gaps = len(items) * (budget.size(separator) if separator else 0)
        budget.afford(budget.size(items) + gaps)
    return args


def _afford_sum(budget: Budget, args: tuple, kwargs: dict) -> tuple:
    args = _listed(budget, args)
    if args:
        budget.afford(budget.size(args[0]) + budget.size(_arg(args, kwargs, 2, "start", 0)))
    return args


def _afford_replace(budget: Budget, args: tuple, kwargs: dict) -> tuple:
    if args:
        text, size = _text_size(budget, args[0])
        old, new = _arg(args, kwargs, 1, "old", ""), _arg(args, kwargs, 2, "new", "")
        count = _number(_arg(args, kwargs, 3, "count", None)) or -1
        budget.afford(_replace_size(budget, size, old, new, count))
    return args


def _replace_size(budget: Budget, size: int, old, new, count: int) -> int:
    matches = size // len(old) if isinstance(old, _STR_TYPES) and old else size + 1
    if count >= 0:
        matches = min(matches, count)
    return size + matches * budget.size(new)


def _afford_indent(budget: Budget, args: tuple, kwargs: dict) -> tuple:
    if args:
        text, size = _text_size(budget, args[0])
        width = _arg(args, kwargs, 1, "width", 4)
        each = len(width) if isinstance(width, str) else _number(width)
        budget.afford(size + (text.count("\n") + 1) * each)
    return args


def _afford_wordwrap(budget: Budget, args: tuple, kwargs: dict) -> tuple:
    if args:
        text, size = _text_size(budget, args[0])
        width = max(_number(_arg(args, kwargs, 1, "width", 79)), 1)
        wrap = _arg(args, kwargs, 3, "wrapstring", None) or "\n"
        budget.afford(size + (size // width + text.count("\n") + 1) * budget.size(wrap))
    return args


def _afford_center(budget: Budget, args: tuple, kwargs: dict) -> tuple:
    if args:
        budget.afford(max(budget.size(args[0]), _number(_arg(args, kwargs, 1, "width", 80))))
    return args


def _afford_format(budget: Budget, args: tuple, kwargs: dict) -> tuple:
    if args:
        text, _ = _text_size(budget, args[0])
        budget.afford(printf_size(budget, text, kwargs or tuple(args[1:])))
    return args


def _afford_fill(budget: Budget, args: tuple, kwargs: dict) -> tuple:
    # batch(n, fill) pads with n fills; slice(n) makes n lists, one turn each.
    budget.afford(_number(_arg(args, kwargs, 1, "linecount", _arg(args, kwargs, 1, "slices"))))
    return args


def _afford_tojson(budget: Budget, args: tuple, kwargs: dict) -> tuple:
    if args:
        indent = _arg(args, kwargs, 2, "indent", None)
        each = len(indent) if isinstance(indent, str) else _number(indent)
        budget.afford(budget.size(args[0]) * (3 + 2 * each))
    return args


def _afford_times(factor: int):
    def afford(budget: Budget, args: tuple, kwargs: dict) -> tuple:
        budget.afford(factor * (budget.size(args) + budget.size(kwargs)))
        return args

    return afford


FILTER_SIZES = {
    "join": _afford_join,
    "sum": _afford_sum,
    "replace": _afford_replace,
    "indent": _afford_indent,
    "wordwrap": _afford_wordwrap,
    "center": _afford_center,
    "format": _afford_format,
    "batch": _afford_fill,
    "slice": _afford_fill,
    "tojson": _afford_tojson,
    "pprint": _afford_times(8),
    "escape": _afford_times(6),
    "e": _afford_times(6),
    "forceescape": _afford_times(6),
    "xmlattr": _afford_times(6),
    "urlencode": _afford_times(3),
    "urlize": _afford_times(8),
}


def binop_size(budget: Budget, operator: str, left, right) -> int:
    """At most the characters `left <operator> right` writes."""
    if operator == "*":
        if isinstance(right, int) and not isinstance(left, (int, float)):
            return budget.size(left) * max(_number(right), 0)
        if isinstance(left, int) and not isinstance(right, (int, float)):
            return budget.size(right) * max(_number(left), 0)
        return budget.size(left) + budget.size(right)
    if operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
        return (max(abs(left).bit_length(), 1) * right) // 3 + 1
    if operator == "%" and isinstance(left, str):
        return printf_size(budget, left, right)
    return budget.size(left) + budget.size(right)


def afford_call(budget: Budget, func, args: tuple, kwargs: dict) -> tuple:
    """Refuse a str method call that would write beyond the budget; the arguments to call
    it with (a generator to join is listed first, to be sized)."""
    wrapped = getattr(func, "__wrapped__", None)  # the sandbox's str.format wrapper
    if wrapped is not None and getattr(wrapped, "__name__", "") in ("format", "format_map"):
        template = getattr(wrapped, "__self__", "")
        if wrapped.__name__ == "format_map":
            mapping = args[0] if args else {}
            budget.afford(format_size(budget, template, (), mapping))
        else:
            budget.afford(format_size(budget, template, args, kwargs))
        return args
    owner, name = getattr(func, "__self__", None), getattr(func, "__name__", "")
    if isinstance(owner, int) and name == "to_bytes":
        budget.afford(_number(_arg((None, *args), kwargs, 1, "length", 1)))
    if not isinstance(owner, _STR_TYPES):
        return args
    size = len(owner)
    if name in ("center", "ljust", "rjust", "zfill"):
        budget.afford(max(size, _number(args[0] if args else kwargs.get("width"))))
    elif name == "expandtabs":
        tab = _number(args[0] if args else kwargs.get("tabsize", 8))
        budget.afford(size + owner.count("\t" if isinstance(owner, str) else b"\t") * tab)
    elif name == "replace" and len(args) >= 2:
        count = _number(args[2]) if len(args) > 2 else -1
        budget.afford(_replace_size(budget, size, args[0], args[1], count))
    elif name == "join" and args:
        items = args[0] if isinstance(args[0], (list, tuple)) else list(Counted(args[0], budget))
        budget.afford(budget.size(items) + len(items) * size)
        return (items, *args[1:])
    elif name == "translate" and args and isinstance(args[0], dict):
        longest = max((budget.size(v) for v in args[0].values()), default=1)
        budget.afford(size * max(longest, 1))
    return args


def printf_size(budget: Budget, template: str, args: object) -> int:
    """At most the characters `template % args` writes."""
    fields = template.count("%")
    widths = max((int(n) for n in _WIDTHS.findall(template)), default=0)
    if "*" in template:
        widths += max(_ints(args if isinstance(args, tuple) else (args,)), default=0)
    return len(template) + fields * (widths + budget.size(args))


def format_size(budget: Budget, template: str, args: tuple, kwargs: dict) -> int:
    """At most the characters `template.format(*args, **kwargs)` writes."""
    fields = template.count("{")
    widths = max((int(n) for n in _WIDTHS.findall(template)), default=0)
    if _NESTED_FIELD.search(template):
        widths += max(_ints((*args, *kwargs.values())), default=0)
    return len(template) + fields * (widths + budget.size(args) + budget.size(kwargs))


def _ints(values) -> list[int]:
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
