"""Step 6, reports: verdict records out, as text, JSON, JUnit, GitHub annotations.

Each format is a printer over the same records, and none computes; `printable/` holds the
document printers (Markdown, LaTeX, HTML, PDF), `inert` keeps input from being obeyed by
a terminal or a CI runner.
"""
