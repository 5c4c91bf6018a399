"""The executed report notebook as one self-contained HTML page without code.

nbconvert's ``HTMLExporter`` with ``exclude_input`` (what ``jupyter nbconvert --no-input`` does):
the narrative, the tables and the charts, which are embedded as ``data:image/png;base64`` images.
The template (``templates/gdnb_report``) is JupyterLab's without the scripts it would load from a
CDN, so the page opens offline, from a mail attachment or a file share. The parameters cells,
cells tagged ``remove-cell`` and the records (:func:`gdnb.record`, meant for programs) are left
out; a failing cell's error stays, so a broken run is visible in its report.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "gdnb_report"
REMOVED_TAGS = ("remove-cell", "parameters", "injected-parameters")


def drop_records(nb, resources):
    """An nbconvert preprocessor: remove the :func:`gdnb.record` outputs (they are for programs, not readers)."""
    from gdnb.record import RECORD_MIME

    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if RECORD_MIME not in o.get("data", {})]
    return nb, resources


def html_exporter():
    """The configured ``HTMLExporter`` (no code, no prompts, no CDN scripts, tagged cells and records removed)."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = set(REMOVED_TAGS)
    exporter = HTMLExporter(config=config, template_name=TEMPLATE_NAME, extra_template_basedirs=[str(TEMPLATES_DIR)],
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                            theme="light", embed_images=True)
    exporter.register_preprocessor(TagRemovePreprocessor(config=config), enabled=True)
    exporter.register_preprocessor(drop_records, enabled=True)
    return exporter


def export_html(notebook: str | Path, output: str | Path | None = None, *, title: str | None = None) -> Path:
    """Write the executed ``notebook`` as HTML without code; return the HTML file's path.

    Parameters
    ----------
    notebook
        An executed ``.ipynb`` (complete or stopped by an error).
    output
        The HTML file (default: the notebook's path with ``.html``).
    title
        The page title (default: the notebook's name).
    """
    import nbformat

    source = Path(notebook)
    target = Path(output) if output else source.with_suffix(".html")
    nb = nbformat.read(str(source), as_version=4)
    if title:
        nb.metadata["title"] = title
    body, _resources = html_exporter().from_notebook_node(nb, resources={"metadata": {"name": title or source.stem}})
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")
    log.info("wrote %s (%d bytes)", target, len(body))
    return target
