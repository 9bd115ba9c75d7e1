"""The API documentation: every public object has a docstring and complete, resolvable type hints, and the site
builds offline without a warning."""
import ast
import importlib
import inspect
import os
import pkgutil
import shutil
import subprocess
import sys
import typing

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


def public_callables():
    """(dotted name, function) of every function in a module's ``__all__`` (every module of the package, as
    ``pkgutil.walk_packages`` lists them) and of the public methods and ``__init__`` of every class there, each
    function once. No module needs an optional dependency at import time (dwave-system is imported lazily), so
    none is skipped."""
    names = ["dragonjax"] + [m.name for m in pkgutil.walk_packages(dragonjax.__path__, "dragonjax.")]
    seen = set()
    for name in names:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr, None)
            targets = []
            if inspect.isfunction(obj):
                targets = [(attr, obj)]
            elif inspect.isclass(obj):
                targets = [(f"{attr}.{k}", v) for k, v in vars(obj).items()
                           if inspect.isfunction(v) and (not k.startswith("_") or k == "__init__")]
            for qualname, function in targets:
                if id(function) not in seen:
                    seen.add(id(function))
                    yield f"{function.__module__}.{qualname}", function


def missing_annotations(function) -> list:
    """The parameters (but self, cls, *args and **kwargs) without an annotation, and "->" for a missing return
    annotation (``__init__`` needs none)."""
    sig = inspect.signature(function)
    missing = [p for p, v in sig.parameters.items() if p not in ("self", "cls") and v.annotation is inspect._empty
               and v.kind not in (v.VAR_KEYWORD, v.VAR_POSITIONAL)]
    if sig.return_annotation is inspect._empty and function.__name__ != "__init__":
        missing.append("->")
    return missing


def type_checking_names(module) -> dict:
    """The names ``module`` imports under ``if TYPE_CHECKING:`` (for its annotations only), imported here: the
    namespace in which ``typing.get_type_hints`` resolves the annotations that use them."""
    tree = ast.parse(inspect.getsource(module))
    body = [statement for node in tree.body if isinstance(node, ast.If)
            and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING") for statement in node.body]
    namespace = {"__name__": module.__name__, "__package__": module.__package__}
    exec(compile(ast.Module(body=body, type_ignores=[]), module.__file__, "exec"), namespace)
    return namespace


def test_public_api_is_fully_annotated():
    callables = dict(public_callables())
    assert len(callables) > 200
    missing = {name: m for name, function in callables.items() if (m := missing_annotations(function))}
    assert not missing, (f"{len(missing)} public callables miss {sum(map(len, missing.values()))} annotations "
                         f"(parameter names, '->' for the return): {missing}")
    unresolved = {}
    for name, function in callables.items():
        try:
            typing.get_type_hints(function, localns=type_checking_names(sys.modules[function.__module__]))
        except Exception as err:  # a string annotation naming something that is not importable
            unresolved[name] = f"{type(err).__name__}: {err}"
    assert not unresolved, f"annotations typing.get_type_hints cannot resolve: {unresolved}"
