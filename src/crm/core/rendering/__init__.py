"""Renderers of report documents that are not the terminal: SVG charts and one HTML file.

Importing this package is cheap; the drawing library is imported by `charts` only, and only
`crm report --format html` (or a Python caller) imports that.
"""
