"""The API documentation: every public object has a docstring, and the site builds offline without a warning."""
import importlib
import inspect
import os
import pkgutil
import shutil
import subprocess
import sys

import pytest

import dragonjax

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def public_objects():
    """(dotted name, object) of every function and class in a module's ``__all__``, and of their public methods
    and properties."""
    names = ["dragonjax"] + [m.name for m in pkgutil.walk_packages(dragonjax.__path__, "dragonjax.")
                             if not m.name.endswith("__main__")]
    for name in names:
        module = importlib.import_module(name)
        for symbol in getattr(module, "__all__", []):
            obj = getattr(module, symbol)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield f"{name}.{symbol}", obj
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if not attr.startswith("_") and (inspect.isfunction(member) or isinstance(member, property)):
                        yield f"{name}.{symbol}.{attr}", member


def test_every_public_object_has_a_docstring():
    missing = sorted({name for name, obj in public_objects() if not inspect.getdoc(obj)})
    assert not missing, f"public objects without a docstring: {missing}"


def test_help_of_a_sampler_lists_its_parameters():
    from dragonjax.samplers import PopulationAnnealingSampler

    doc = inspect.getdoc(PopulationAnnealingSampler().sample)
    for name in ("num_reads", "num_sweeps", "beta_range", "resampling", "adaptive", "seed"):
        assert f"{name}:" in doc


def test_the_documentation_site_builds_strictly(tmp_path):
    mkdocs = shutil.which("mkdocs") or shutil.which("mkdocs", path=os.path.dirname(sys.executable))
    if mkdocs is None:
        pytest.skip("mkdocs is not installed (pip install -e '.[dev]')")
    done = subprocess.run([mkdocs, "build", "--strict", "-q", "-d", str(tmp_path / "site")], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (tmp_path / "site" / "samplers" / "index.html").read_text().count("num_sweeps_per_beta") > 0
