"""Reading YAML that a person or a web page sends: bounded before anything is built from it.

A scenario is a small document (the largest built-in one is a few kilobytes), so a file of
megabytes, nesting dozens of levels deep or aliases that expand to millions of items is
refused with a message that names the file, before Python objects are made from it.  Why
each bound exists:

- size: PyYAML's pure-Python parser takes about a minute for 50 MB, and printing it back
  (``standoff check``) far longer;
- depth: the composer and every consumer after it recurse, so very deep documents end in
  ``RecursionError``;
- alias expansion: ``&a [*b, *b, ...]`` chains are cheap to parse but expand to billions of
  items when validated, dumped or printed (the "billion laughs"); the expanded size is counted
  on the node graph, shared nodes once, before construction;
- scalars that Python cannot turn into values (a date ``2025-13-45``, an integer of thousands
  of digits) stay strings, so the schema rejects them with the field named instead of the
  loader failing without one.
"""
from __future__ import annotations

from typing import Any

import yaml

from .errors import StandoffError

#: Largest scenario document accepted, in bytes.
MAX_BYTES = 1_000_000
#: Deepest nesting of mappings and sequences accepted.
MAX_DEPTH = 40
#: Most nodes (mappings, sequences, scalars) a document may expand to, aliases expanded.
MAX_NODES = 200_000
#: Most characters of scalars a document may expand to, aliases expanded.
MAX_CHARS = 4_000_000


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a depth bound and lenient scalars (see the module's text)."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D401 - PyYAML's hook
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _TooDeep(mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _TooDeep(Exception):
    def __init__(self, mark: Any) -> None:
        super().__init__()
        self.mark = mark


def _lenient(constructor: Any) -> Any:
    """Wrap a scalar constructor so a value Python rejects stays the scalar's text."""
    def construct(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
        try:
            return constructor(loader, node)
        except (ValueError, OverflowError):
            return loader.construct_scalar(node)
    return construct


for _tag, _fn in (("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_timestamp),
                  ("tag:yaml.org,2002:int", yaml.SafeLoader.construct_yaml_int),
                  ("tag:yaml.org,2002:float", yaml.SafeLoader.construct_yaml_float)):
    _BoundedLoader.add_constructor(_tag, _lenient(_fn))


def _check_expansion(root: yaml.Node, file: str | None) -> None:
    """Count the nodes, scalar characters and depth of ``root`` with aliases expanded.

    Shared nodes are counted once each in a memo, so the count costs time linear in the
    distinct nodes however large the expansion is.  A node that contains itself (a recursive
    alias) is refused: no scenario needs one.
    """
    memo: dict[int, tuple[int, int, int]] = {}  # id -> (nodes, chars, depth)
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in memo:
            continue
        if isinstance(node, yaml.ScalarNode):
            memo[key] = (1, len(node.value), 1)
            continue
        kids: list[yaml.Node] = ([n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode)
                                 else list(node.value))
        if not children_done:
            if key in on_path:
                raise StandoffError(f"a YAML alias refers to a node that contains it (line {node.start_mark.line + 1}); "
                                    "scenarios cannot be recursive", file=file)
            on_path.add(key)
            stack.append((node, True))
            for k in kids:
                if id(k) in on_path:
                    raise StandoffError("a YAML alias refers to a node that contains it "
                                        f"(line {k.start_mark.line + 1}); scenarios cannot be recursive", file=file)
                if id(k) not in memo:
                    stack.append((k, False))
            continue
        on_path.discard(key)
        nodes = 1 + sum(memo[id(k)][0] for k in kids)
        chars = sum(memo[id(k)][1] for k in kids)
        depth = 1 + max((memo[id(k)][2] for k in kids), default=0)
        if nodes > MAX_NODES or chars > MAX_CHARS or depth > MAX_DEPTH:
            raise StandoffError(
                f"the YAML expands (aliases resolved) to more than a scenario can hold: at most {MAX_NODES:,} items, "
                f"{MAX_CHARS:,} characters and {MAX_DEPTH} levels of nesting (line {node.start_mark.line + 1})",
                file=file)
        memo[key] = (nodes, chars, depth)


def load_yaml(text: str | bytes, file: str | None) -> Any:
    """Parse one YAML document within the bounds above.

    Parameters
    ----------
    text
        The document.
    file
        What to call it in errors (a path, or "uploaded scenario").

    Returns
    -------
    object
        The parsed document (dicts, lists, strings, numbers, dates).

    Raises
    ------
    StandoffError
        If the document is too large, too deep, expands too far, or is not YAML; the
        message names ``file`` and, where the parser knows it, the line.  It never quotes
        an expanded value.

    Examples
    --------
    >>> load_yaml("a: [1, 2]", "x.yaml")
    {'a': [1, 2]}
    >>> load_yaml("d: 2025-13-45", "x.yaml")  # left to the schema, which names the field
    {'d': '2025-13-45'}
    """
    size = len(text.encode("utf-8", "replace") if isinstance(text, str) else text)
    if size > MAX_BYTES:
        raise StandoffError(f"the document is {size / 1e6:.1f} MB; a scenario may be at most {MAX_BYTES / 1e6:g} MB",
                            file=file)
    loader = None
    try:
        # Built inside the try: PyYAML's reader checks the characters when it is made, and a raw
        # NUL, BEL, ESC or U+FFFE must be a named error, not an escape from this function.
        loader = _BoundedLoader(text)
        root = loader.get_single_node()
        if root is None:
            return None
        _check_expansion(root, file)
        return loader.construct_document(root)
    except _TooDeep as exc:
        raise StandoffError(f"the YAML nests more than {MAX_DEPTH} levels deep (line {exc.mark.line + 1})",
                            file=file) from None
    except yaml.reader.ReaderError as exc:
        raise StandoffError(f"malformed YAML at character {exc.position + 1}: the character #x{exc.character:04x} "
                            "(a control or non-character code) is not allowed in YAML; remove it",
                            file=file) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise StandoffError(f"malformed YAML{where}: {problem}", file=file) from None
    except RecursionError:
        raise StandoffError(f"the YAML nests too deeply (more than {MAX_DEPTH} levels)", file=file) from None
    finally:
        if loader is not None:
            loader.dispose()
