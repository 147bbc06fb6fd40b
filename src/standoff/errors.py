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
            where.append(f"value {self.value!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message
