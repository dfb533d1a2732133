"""Tests for sleepmeta.review.template_cache: compiled templates kept between runs."""

import os
import shutil

import jinja2
import pytest

from sleepmeta.review.template_cache import TemplateCache, template_cache

SOURCE = {"t.j2": "{% for x in xs %}{{ x }};{% endfor %}"}


def _env(cache, source=SOURCE, **options):
    return jinja2.Environment(loader=jinja2.DictLoader(dict(source)), bytecode_cache=cache,
                              **options)


def _no_compiling(env):
    def refuse(*args, **kwargs):
        raise AssertionError("compiled again")
    env.compile = refuse
    return env


def test_a_second_environment_reads_the_compiled_template(tmp_path):
    first = _env(TemplateCache(str(tmp_path), salt="a"))
    assert first.get_template("t.j2").render(xs=[1, 2]) == "1;2;"
    assert len(os.listdir(tmp_path)) == 1  # one cache file
    second = _no_compiling(_env(TemplateCache(str(tmp_path), salt="a")))
    assert second.get_template("t.j2").render(xs=[3]) == "3;"


def test_other_options_or_an_edited_template_compile_afresh(tmp_path):
    _env(TemplateCache(str(tmp_path), salt="a")).get_template("t.j2")
    with pytest.raises(AssertionError, match="compiled again"):
        _no_compiling(_env(TemplateCache(str(tmp_path), salt="b"))).get_template("t.j2")
    edited = {"t.j2": "{% for x in xs %}[{{ x }}]{% endfor %}"}
    env = _env(TemplateCache(str(tmp_path), salt="a"), edited)
    assert env.get_template("t.j2").render(xs=[1]) == "[1]"


def test_the_key_holds_the_environment_options():
    cache = template_cache({"trim_blocks": True, "autoescape": False})
    assert cache is not None  # a private temporary folder exists on the test machines
    assert cache.salt == "[('autoescape', False), ('trim_blocks', True)]"


def test_a_cache_folder_that_is_gone_only_costs_time(tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir()
    cache = TemplateCache(str(folder), salt="a")
    shutil.rmtree(folder)
    assert _env(cache).get_template("t.j2").render(xs=[1]) == "1;"


def test_no_cache_when_the_default_folder_is_not_safe(tmp_path, monkeypatch):
    # jinja2 refuses a cache "folder" that is not a private folder (here: a file)
    (tmp_path / f"_jinja2-cache-{os.getuid()}").write_text("not a folder")
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    assert template_cache({"autoescape": True}) is None
