"""A cache of the report's compiled templates, so a run does not compile them again.

jinja2 turns each template into Python code before rendering it; for the report's nine
templates that is 0.06 s of every ``sleepmeta report``, more than rendering them. jinja2's
own :class:`jinja2.FileSystemBytecodeCache` keeps the compiled code in a folder of the
user's temporary directory (``_jinja2-cache-<uid>``, made by jinja2 with mode 0700 and
refused if another user owns it), keyed by each template's source checksum, so an edited
template is compiled afresh; the environment's options (``trim_blocks`` and the like, which
change the compiled code but not the source) are part of the key too. A cache that cannot be read or written only costs time:
rendering then compiles as before, and never fails because of the cache.
"""

from __future__ import annotations

import jinja2

__all__ = ["TemplateCache", "template_cache"]


class TemplateCache(jinja2.FileSystemBytecodeCache):
    """jinja2's file-system bytecode cache, quiet when its folder or files cannot be used.

    Parameters
    ----------
    directory : str, optional
        The folder (default: jinja2's own, in the user's temporary directory).
    salt : str
        Mixed into every key: the options of the environment the cache serves.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     env = jinja2.Environment(loader=jinja2.DictLoader({"t": "{{ 1 + x }}"}),
    ...                              bytecode_cache=TemplateCache(d, salt="plain"))
    ...     env.get_template("t").render(x=1)
    '2'
    """

    def __init__(self, directory: str | None = None, salt: str = "") -> None:
        super().__init__(directory)
        self.salt = salt

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return super().get_cache_key(f"{self.salt}\0{name}", filename)

    def load_bytecode(self, bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:
            bucket.reset()

    def dump_bytecode(self, bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def template_cache(options: dict) -> TemplateCache | None:
    """The cache for an environment made with ``options``, in jinja2's default folder.

    ``None`` when that folder cannot be made safely (no temporary folder, or one another
    user owns): the templates are then compiled on every run.

    Examples
    --------
    >>> cache = template_cache({"trim_blocks": True})
    >>> cache is None or cache.salt == "[('trim_blocks', True)]"
    True
    """
    try:
        return TemplateCache(salt=repr(sorted(options.items())))
    except (OSError, RuntimeError):  # no temporary folder, or one another user owns
        return None
