"""The HTML report: :func:`write_report` (one self-contained file) and the figures in :mod:`aekit.report.plots`."""

from aekit.report.html import model_section, render_page, write_report

__all__ = ["write_report", "model_section", "render_page"]
