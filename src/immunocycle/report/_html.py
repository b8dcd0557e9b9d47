"""Self-contained HTML reports: figures embedded as base64 PNG, tables as HTML."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em;max-width:100%}td{overflow-wrap:break-word}td,th{border:1px solid #ccc;padding:.25em .5em}
th{background:#f3f3f3}.figs{display:flex;flex-wrap:wrap;gap:1em}.figs figure{margin:0}
figcaption{font-size:.85em;color:#555}code{background:#f5f5f5;padding:0 .2em}
"""


def figure_tag(fig: Figure | str | Path, caption: str = "", width: int = 520,
               key: str | None = None) -> str:
    """An ``<img>`` with the figure embedded as base64 PNG (a Figure or a PNG file).

    ``key``, when given, marks the ``<figure>`` as ``class="fig" data-fig="KEY"`` so a page test
    or a stylesheet can find it."""
    if isinstance(fig, Figure):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
        data = buf.getvalue()
    else:
        data = Path(fig).read_bytes()
    img = (f'<img alt="{html.escape(caption)}" width="{width}" '
           f'src="data:image/png;base64,{base64.b64encode(data).decode()}">')
    attrs = f' class="fig" data-fig="{html.escape(key)}"' if key else ""
    return f"<figure{attrs}>{img}<figcaption>{html.escape(caption)}</figcaption></figure>"


def table_tag(frame: pd.DataFrame, float_format: str = "{:.3g}") -> str:
    """A DataFrame as an HTML table with compact numbers."""
    return frame.to_html(index=False, border=0, float_format=float_format.format, escape=True)


def write_html(path: str | Path, title: str, sections: list[tuple[str, str]]) -> Path:
    """Write one self-contained page: ``sections`` are (heading, HTML body) pairs."""
    body = "".join(f"<h2>{html.escape(h)}</h2>\n{content}\n" for h, content in sections)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>\n{body}</body></html>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path
