"""contentpipe: one master, every channel. ``Project.load(path).build()`` is the API."""

from contentpipe.api import BuildResult, Project
from contentpipe.errors import ContentpipeError, Problem, ProjectError

__all__ = ["BuildResult", "ContentpipeError", "Problem", "Project", "ProjectError"]
__version__ = "0.1.0"
