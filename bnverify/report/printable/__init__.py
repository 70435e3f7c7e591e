"""Printable reports of one derivation file: Markdown, LaTeX, HTML with MathML, and PDF.

`document` is the record every printer reads; `write` writes a report and its figures
whole or not at all.
"""
