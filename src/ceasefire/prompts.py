"""Prompt templates: Jinja2 files, loaded by name, overridable by a directory of the user's.

The packaged templates live in the repository's `prompts/` folder (shipped inside the wheel
as `ceasefire/prompts`). A user directory overrides any template it contains by file name;
the rest come from the packaged set. A tuned model may have its own set over the packaged
one (`prompts/tuned/`: the task texts it was trained with), under the user's. The prompt
version is a hash of every template used, so each summary records exactly which wording
produced it.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from importlib.resources import files
from pathlib import Path

import jinja2

from .sections import SECTIONS

TEMPLATE_NAMES = (
    "system",
    "article",
    "sentences",
    "overview",
    *(s.name for s in SECTIONS),
    "reask_grounding",
)


def packaged_prompts_dir() -> Path:
    """The installed templates; in a source checkout, the repository's `prompts/`."""
    installed = Path(str(files("ceasefire"))) / "prompts"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[2] / "prompts"


class Prompts:
    """The set of templates a summarizer uses.

    >>> Prompts().render("overview")[:5]
    'TASK:'
    """

    def __init__(self, *directories: str | Path | None):
        """Templates are looked for in `directories` in order (None is skipped), then among the
        packaged ones."""
        search = [Path(d) for d in directories if d is not None]
        for directory in search:
            if not directory.is_dir():
                raise FileNotFoundError(f"prompt directory {directory} does not exist")
        search.append(packaged_prompts_dir())
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(p) for p in search]),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
            autoescape=False,  # Prompts are plain text, not HTML.
        )

    def source(self, name: str) -> str:
        return self._env.loader.get_source(self._env, f"{name}.j2")[0]  # type: ignore[union-attr]

    def render(self, name: str, **values: object) -> str:
        return self._env.get_template(f"{name}.j2").render(**values).strip()

    @cached_property
    def version(self) -> str:
        """A short content hash of every template, e.g. `p-3f9a1c2b7d10`."""
        digest = hashlib.sha256()
        for name in TEMPLATE_NAMES:
            digest.update(name.encode() + b"\0" + self.source(name).encode() + b"\0")
        return "p-" + digest.hexdigest()[:12]
