"""CSV cells that a spreadsheet would run as a formula: one rule for every export and for the import reading them back.

A cell starting with = + - @ (or a tab or carriage return, which Excel skips before
one of them) gets a leading quote: the spreadsheet shows it as text and runs nothing.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """The cell as text, quoted when a spreadsheet would evaluate it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def unquote(cell: str) -> str:
    """A cell as it was before neutralise(): the importer reads our own exports back unchanged."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in FORMULA_STARTS else cell
