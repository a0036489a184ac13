"""labkit's architecture, read from its source with ``ast`` (lazy imports inside functions
included): no import cycles, no layer importing a higher one, no private name taken from
another module. Fast: nothing is imported,
except the course tools' old names at the end."""
import ast
import importlib
import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "labkit"

#: Bottom to top. A module may import its own layer and the ones before it, never a later
#: one. Longest prefix wins; every labkit module must fall under one entry.
LAYERS = (
    ("base", ("labkit._checks", "labkit._tf", "labkit._paths", "labkit._version",
              "labkit._work", "labkit._pixels", "labkit._cli")),
    ("data", ("labkit.data",)),
    ("models", ("labkit.models",)),
    # The package root (only the module "labkit" itself) re-exports models and explainers:
    # what imports it sits above both.
    ("explainers", ("labkit.explainers", "labkit")),
    ("metrics and plots", ("labkit.metrics", "labkit.plots")),
    ("widgets", ("labkit.widgets",)),
    # labkit.exercises, .grade and .instructor are the old names of the course modules.
    ("course tools", ("labkit.course", "labkit.exercises", "labkit.grade", "labkit.instructor")),
    ("command lines", ("labkit.evaluate", "labkit.bench", "labkit.doctor", "labkit.__main__")),
)


def _modules(root=ROOT):
    """Dotted name -> path of every module in the package."""
    mods = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return mods


def _is_package(mods, name):
    return mods[name].name == "__init__.py"


def _base(mods, current, node):
    """The absolute module an ``ImportFrom`` node reads from."""
    if node.level == 0:
        return node.module or ""
    parts = current.split(".")
    if not _is_package(mods, current):
        parts = parts[:-1]
    parts = parts[:len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def _private(name):
    return name.startswith("_") and not name.startswith("__")


def read_graph(root=ROOT):
    """(edges: module -> set of labkit modules it imports, private: list of findings)."""
    mods = _modules(root)
    package = root.name
    edges, private = {name: set() for name in mods}, []
    for current, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bound = {}  # local name -> labkit module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in mods:
                        edges[current].add(alias.name)
                        if alias.asname:
                            bound[alias.asname] = alias.name
            elif isinstance(node, ast.ImportFrom):
                base = _base(mods, current, node)
                if base != package and not base.startswith(package + "."):
                    continue
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    if full in mods:  # a module: `from . import saved`
                        edges[current].add(full)
                        bound[alias.asname or alias.name] = full
                    elif base in mods:
                        edges[current].add(base)
                        if _private(alias.name) and base != current:
                            private.append(f"{current} imports {alias.name} from {base}")
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in bound and _private(node.attr)
                    and f"{bound[node.value.id]}.{node.attr}" not in mods):
                private.append(f"{current} uses {node.value.id}.{node.attr} of "
                               f"{bound[node.value.id]}")
        edges[current].discard(current)
    return edges, private


def find_cycles(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return cycles


def _without_own_submodules(edges, mods):
    # A package's __init__ re-exports its submodules; only cycles among modules count.
    return {m: {t for t in targets if not (_is_package(mods, m) and t.startswith(m + "."))}
            for m, targets in edges.items()}


def layer_of(module):
    """Index in :data:`LAYERS` of a dotted module name (longest matching prefix; the root
    "labkit" matches only itself, so that a new top-level module must be given a layer)."""
    best, best_len = None, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            inside = module.startswith(prefix + ".") and prefix != "labkit"
            if (module == prefix or inside) and len(prefix) > best_len:
                best, best_len = i, len(prefix)
    return best


def test_the_reader_sees_a_cycle_a_private_name_and_a_lazy_import(tmp_path):
    pkg = tmp_path / "labkit"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from .a import f\n")
    (pkg / "sub" / "a.py").write_text("from .b import g\ndef f():\n    return g()\n")
    (pkg / "sub" / "b.py").write_text(
        "def g():\n    from .a import _hidden\n    from . import a\n    return a._other\n")
    edges, private = read_graph(pkg)
    assert find_cycles(_without_own_submodules(edges, _modules(pkg))) == [
        ["labkit.sub.a", "labkit.sub.b"]]
    assert private == ["labkit.sub.b imports _hidden from labkit.sub.a",
                       "labkit.sub.b uses a._other of labkit.sub.a"]


def test_every_module_has_a_layer():
    assert [m for m in _modules() if layer_of(m) is None] == []


def test_no_import_cycles():
    edges, _ = read_graph()
    assert find_cycles(_without_own_submodules(edges, _modules())) == []


def test_no_layer_imports_a_higher_one():
    edges, _ = read_graph()
    upward = [f"{m} ({LAYERS[layer_of(m)][0]}) imports {t} ({LAYERS[layer_of(t)][0]})"
              for m, targets in sorted(edges.items()) for t in sorted(targets)
              if layer_of(t) > layer_of(m)]
    assert upward == []


def test_no_private_name_is_taken_from_another_module():
    _, private = read_graph()
    assert private == []


@pytest.mark.parametrize("low, high", [("labkit.models.saved", "labkit.explainers.cam"),
                                       ("labkit.models.backend", "labkit.data.benchmark")])
def test_the_layers_order_the_known_offenders(low, high):
    # The moves these tests guard: models below explainers, the backend not reaching into
    # the benchmark generator (data_home lives in labkit._paths).
    edges, _ = read_graph()
    assert high not in edges[low]


@pytest.mark.parametrize("name", ["exercises", "grade", "instructor"])
def test_the_course_tools_old_names_are_the_same_modules(name):
    assert importlib.import_module(f"labkit.{name}") is importlib.import_module(
        f"labkit.course.{name}")


@pytest.mark.parametrize("name", ["grade", "instructor"])
def test_python_dash_m_runs_the_moved_command_lines(name, monkeypatch, capsys):
    # What `python -m labkit.grade --help` does, in this process (a new one imports TensorFlow).
    monkeypatch.setattr(sys, "argv", [f"labkit/{name}.py", "--help"])
    monkeypatch.delitem(sys.modules, f"labkit.{name}", raising=False)  # as in a new process
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module(f"labkit.{name}", run_name="__main__", alter_sys=True)
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: python -m labkit.{name}")
