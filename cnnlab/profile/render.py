"""Render a profile Table as aligned text, Markdown, HTML or JSON."""

import html
import json

FORMATS = ("text", "markdown", "html", "json")
HEADER = ("row", "repeat", "parameters", "operations", "volume")


def _volume(volume):
    return " x ".join(str(d) for d in volume)


def _cells(table):
    body = [
        (row.label, f"{row.repeat}x" if row.repeat > 1 else "", f"{row.params:,}", f"{row.ops:,}", _volume(row.volume))
        for row in table.rows
    ]
    total = ("total", "", f"{table.total_params:,}", f"{table.total_ops:,}", "")
    return body, total


def _title(table):
    names = {
        "deck": "the lecture's counting",
        "macs": "multiply-adds of conv and fc layers",
        "keras": "Keras' parameter count, multiply-adds",
    }
    title = f"{table.network} ({table.convention}: {names[table.convention]})"
    if table.convention == "keras":
        title += f"; {table.non_trainable_params:,} of the parameters are non-trainable"
    return title


def to_text(table):
    body, total = _cells(table)
    widths = [max(len(r[i]) for r in [HEADER, *body, total]) for i in range(len(HEADER))]

    def align(r):
        return "  ".join(
            c.ljust(w) if i in (0, 4) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=False))
        ).rstrip()

    rule = "-" * len(align(HEADER))
    return "\n".join([_title(table), align(HEADER), rule, *map(align, body), rule, align(total)])


def to_markdown(table):
    body, total = _cells(table)

    def line(r):
        return "| " + " | ".join(r) + " |"

    return "\n".join(
        [
            f"**{_title(table)}**",
            "",
            line(HEADER),
            "|---|--:|--:|--:|---|",
            *map(line, body),
            line(tuple(f"**{c}**" if c else "" for c in total)),
        ]
    )


def to_html(table):
    body, total = _cells(table)

    def cell(tag, c, i):
        return f'<{tag} style="text-align:{"left" if i in (0, 4) else "right"}">{html.escape(c)}</{tag}>'

    def row(r, tag="td"):
        return "<tr>" + "".join(cell(tag, c, i) for i, c in enumerate(r)) + "</tr>"

    return (
        f"<table><caption>{html.escape(_title(table))}</caption><thead>{row(HEADER, 'th')}</thead>"
        f"<tbody>{''.join(map(row, body))}</tbody><tfoot>{row(total, 'th')}</tfoot></table>"
    )


def to_json(table):
    return json.dumps(table.as_dict(), indent=1)


def render(table, format="text"):
    """The table as `format`: "text", "markdown", "html" or "json"."""
    renderers = {"text": to_text, "markdown": to_markdown, "html": to_html, "json": to_json}
    if format not in renderers:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}. Received: format={format!r}")
    return renderers[format](table)
