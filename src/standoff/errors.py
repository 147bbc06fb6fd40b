"""Errors that standoff reports to a user instead of a traceback."""
from __future__ import annotations


class StandoffError(Exception):
    """A problem with the user's input, named by file, field and value.

    Parameters
    ----------
    message
        What is wrong, in words a user can act on.
    file
        The file at fault, if any.
    field
        The dotted path of the field at fault, if any (``events[3].rate``).
    value
        The offending value, if any.
    """

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None,
                 value: object = None) -> None:
        self.message = message
        self.file = file
        self.field = field
        self.value = value
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(f"file {self.file}")
        if self.field:
            where.append(f"field '{self.field}'")
        if self.value is not None:
            where.append(f"value {_shown(self.value)}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


#: Longest value quoted in an error: a user's value may be megabytes (or an expanded alias).
MAX_SHOWN = 120


def _shown(value: object) -> str:
    """``repr(value)``, cut to :data:`MAX_SHOWN` characters with the full length said."""
    if isinstance(value, (str, bytes)) and len(value) > 4 * MAX_SHOWN:
        value = value[: 2 * MAX_SHOWN]  # never build the repr of a huge string only to cut it
    elif isinstance(value, (list, tuple, dict, set)) and len(value) > MAX_SHOWN:
        return f"<{type(value).__name__} of {len(value):,} items>"
    text = repr(value)
    if len(text) > MAX_SHOWN:
        return f"{text[:MAX_SHOWN]}... (cut)"
    return text


def install_hint(extra: str) -> str:
    """The exact ``pip`` command that adds the optional dependencies ``extra`` to this installation.

    An installation from a folder (a clone) gets that folder's path, since ``standoff`` may
    not be on the package index; otherwise the package name.  The extra's name stands in
    square brackets, so print the result as plain text (rich would take ``[web]`` for markup).

    Examples
    --------
    >>> install_hint("web").startswith("pip install ")
    True
    """
    import json
    from importlib.metadata import PackageNotFoundError, distribution
    from urllib.parse import unquote, urlparse

    target = "standoff"
    editable = False
    try:
        raw = distribution("standoff").read_text("direct_url.json")
        info = json.loads(raw) if raw else {}
        url = urlparse(info.get("url", ""))
        if url.scheme == "file":
            target = unquote(url.path)
            editable = bool(info.get("dir_info", {}).get("editable"))
    except (PackageNotFoundError, ValueError, AttributeError):
        pass
    return f"pip install {'-e ' if editable else ''}'{target}[{extra}]'"
