"""Rendering: Markdown bodies, Jinja2 templates and image renditions. Pure: no writes to dist/."""
