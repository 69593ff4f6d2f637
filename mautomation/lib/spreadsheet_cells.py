"""CSV cells that a spreadsheet would run as a formula: one rule for every export and for the import reading them back.

A cell starting with = + - @ (or a tab or carriage return, which Excel skips before
one of them) gets a leading quote: the spreadsheet shows it as text and runs nothing.
A value that already starts with quotes before one of those characters ('=SUM(A1),
''+1) gets one too, so that the import, which removes exactly one quote from such a
cell, gives back every value as it was.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """The cell as text, quoted when a spreadsheet would evaluate it or the import would take a quote off it."""
    text = "" if value is None else str(value)
    return "'" + text if _needs_quote(text) else text


def unquote(cell: str) -> str:
    """A cell as it was before neutralise(): the importer reads our own exports back unchanged."""
    return cell[1:] if cell[:1] == "'" and _needs_quote(cell[1:]) else cell


def _needs_quote(text: str) -> bool:
    """Starts with a formula character, after any number of quotes (most cells have none: checked first)."""
    return text.startswith(FORMULA_STARTS) or (text[:1] == "'" and text.lstrip("'").startswith(FORMULA_STARTS))
