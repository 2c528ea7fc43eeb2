"""The core/shell layering (issue 10), enforced.

- ``numpy_luke/core`` imports nothing outside itself but the standard library, NumPy and
  ``regex``: it stands alone, and a reader of LUKE never has to leave it.
- The core holds no input validation: no ``raise`` statements (two lookups excepted: the
  activation table and the entity vocabulary name what they hold when asked for more).
- The shell never re-implements a core function: no shell module defines a function
  under the name of a core function (it calls the core one instead).
- The layers name which form of a primitive they run (``fast.gelu_``, ``functional.gelu``):
  they import ``fast`` and ``functional`` as modules, never names from them; and every
  function of ``fast.py`` names the reference it equals (tests/core/test_fast_primitives.py
  asserts the equality).
- Stepping through ``fill`` enters the core's BPE, entity-input, embedding, four-block
  attention and head functions (the executed path is the taught path).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from helpers import ROOT, TINY_LUKE

PACKAGE = ROOT / "numpy_luke"
CORE = PACKAGE / "core"
ALLOWED_IMPORTS = {
    "__future__",
    "math",
    "typing",
    "dataclasses",
    "functools",
    "threading",
    "collections",
    "itertools",
    "numpy",
    "regex",
}
# raise statements the core may hold: (file, enclosing function). Both are lookups whose
# own error names what is known (an activation name, an entity id), not input checks.
ALLOWED_RAISES = {("functional.py", "get_activation"), ("entity_vocab.py", "id_to_title")}


def _modules(folder: Path):
    return sorted(folder.rglob("*.py"))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_the_core_imports_nothing_outside_itself():
    leaks = []
    for path in _modules(CORE):
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom):
                if node.level > 1 or (
                    node.level == 0 and node.module.split(".")[0] not in ALLOWED_IMPORTS
                ):
                    leaks.append(f"{path.name}: from {'.' * node.level}{node.module or ''}")
            elif isinstance(node, ast.Import):
                leaks += [
                    f"{path.name}: import {a.name}"
                    for a in node.names
                    if a.name.split(".")[0] not in ALLOWED_IMPORTS
                ]
    assert not leaks, leaks


def test_the_core_does_not_validate():
    found = []
    for path in _modules(CORE):
        tree = _tree(path)
        for function in ast.walk(tree):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(function):
                    if (
                        isinstance(node, ast.Raise)
                        and (path.name, function.name) not in ALLOWED_RAISES
                    ):
                        found.append(f"{path.name}:{node.lineno} in {function.name}")
    assert not found, f"validation belongs in the shell: {found}"


def _function_names(path: Path) -> set[str]:
    return {
        node.name
        for node in ast.walk(_tree(path))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def test_the_shell_never_reimplements_a_core_function():
    core = set().union(*(_function_names(p) for p in _modules(CORE)))
    core = {name for name in core if not name.startswith("_")}
    clashes = []
    for path in _modules(PACKAGE):
        if CORE in path.parents:
            continue
        # methods named like core functions are fine when they call the core one (e.g.
        # ByteLevelBPE-style wrappers); module-level functions are not
        for node in _tree(path).body:
            if isinstance(node, ast.FunctionDef) and node.name in core:
                clashes.append(f"{path.name}: {node.name}")
    assert not clashes, f"call the core function instead of writing it again: {clashes}"


# Issue 19: the core (text -> model input -> prediction, reference primitives) within 1,500
# lines; its speed devices (fast.py, each checked against its reference) are not counted.
CORE_LINES = 1500


def test_the_core_is_small_and_its_functions_short():
    lines = sum(
        len(p.read_text(encoding="utf-8").splitlines())
        for p in _modules(CORE)
        if p.name != "fast.py"
    )
    assert lines <= CORE_LINES, f"the core has {lines} lines"
    long = []
    for path in _modules(CORE):
        for node in ast.walk(_tree(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > 45:
                    long.append(f"{path.name}:{node.name} ({length} lines)")
    assert not long, long


LAYERS = ("embeddings.py", "attention.py", "encoder.py", "heads.py")


def test_the_layers_name_the_form_of_each_primitive_they_run():
    named = []
    for name in LAYERS:
        for node in ast.walk(_tree(CORE / name)):
            if isinstance(node, ast.ImportFrom) and node.module in ("fast", "functional"):
                named += [f"{name}: from .{node.module} import {a.name}" for a in node.names]
    assert not named, f"call fast.x or functional.x, so the reader sees which: {named}"


def test_every_fast_function_names_its_reference():
    import numpy_luke.core.erf as erf
    import numpy_luke.core.functional as functional

    tree = _tree(CORE / "fast.py")
    unnamed = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            doc = ast.get_docstring(node) or ""
            references = [
                r
                for r in ("functional", "erf")
                for word in doc.split("``")
                if word.startswith(r + ".")
                and hasattr(
                    {"functional": functional, "erf": erf}[r], word.split(".")[1].split("(")[0]
                )
            ]
            if not references and "the same bits as" not in doc:
                unnamed.append(node.name)
    assert not unnamed, f"say which reference each fast function equals: {unnamed}"
    tests = (ROOT / "tests" / "core" / "test_fast_primitives.py").read_text(encoding="utf-8")
    untested = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and not node.name.startswith("_")
        and f"fast.{node.name}(" not in tests
    ]
    assert not untested, f"tests/core/test_fast_primitives.py asserts no equality for {untested}"


def test_fill_runs_through_the_core_functions_the_docs_teach():
    """Trace every Python call of a fill on the tiny fixture (sys.setprofile) and list the
    core functions entered."""
    from numpy_luke import pipeline

    fill = pipeline("fill-mask", model=str(TINY_LUKE))
    entered: set[str] = set()

    def profile(frame, event, arg):
        if event == "call":
            filename = frame.f_code.co_filename
            if str(CORE) in filename:
                entered.add(f"{Path(filename).stem}.{frame.f_code.co_name}")

    sys.setprofile(profile)
    try:
        fill("[[Plants]] create <mask> through a process known as photosynthesis.")
    finally:
        sys.setprofile(None)
    expected = {
        "bpe.bpe",  # the merge loop of byte-level BPE
        "embeddings.word_embeddings",
        "embeddings.entity_embeddings",
        "attention.entity_aware_self_attention",  # the four blocks
        "encoder.encoder_layer",
        "encoder.luke_model",
        "fast.gelu_",  # the model's GELU (tests/core/test_fast_primitives.py: = functional.gelu)
        "heads.lm_head",
        "heads.entity_prediction_head",
    }
    assert expected <= entered, sorted(expected - entered)
    assert any(name.startswith("entity_inputs.") for name in entered), sorted(entered)


# ---- the shell's shape (issue 19): short functions, no import cycle, imports at the top

SHELL_FUNCTION_LINES = 60  # signature and docstring included
CLASS_LINES = 400
LATE_IMPORTS = 3  # numpy_luke's own modules imported inside functions (issue 19)


def _shell_modules():
    """Every module outside the core, subpackages included (numpy_luke/training/ and any
    later one): the shell's limits hold there too."""
    return [path for path in _modules(PACKAGE) if CORE not in path.parents]


def test_shell_functions_stay_short():
    long = [
        f"{path.name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path in _shell_modules()
        for node in ast.walk(_tree(path))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > SHELL_FUNCTION_LINES
    ]
    assert not long, long


def test_classes_stay_small():
    """Issue 19: a class is one responsibility (LukeTokenizer was 954 lines); in the shell,
    the core and any subpackage alike."""
    large = [
        f"{path.name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path in _modules(PACKAGE)
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > CLASS_LINES
    ]
    assert not large, large


def _package_imports(path: Path) -> set[str]:
    """The numpy_luke modules a shell module imports (relative imports; core as one)."""
    found = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = [node.module] if node.module else [a.name for a in node.names]
            found.update(name.split(".")[0] for name in names)
    return found - {"core"}


def test_the_shell_has_no_import_cycle():
    graph = {path.stem: _package_imports(path) for path in sorted(PACKAGE.glob("*.py"))}
    done: set[str] = set()

    def visit(module, path):
        assert module not in path, f"import cycle: {' -> '.join([*path, module])}"
        if module in done or module not in graph:
            return
        for imported in sorted(graph[module]):
            visit(imported, [*path, module])
        done.add(module)

    for module in graph:
        visit(module, [])


def test_imports_are_at_the_top_but_a_few_that_say_why():
    """Issue 19: a module's imports at its top are its real dependencies. At most
    LATE_IMPORTS of numpy_luke's own modules are imported inside a function; third-party
    imports may be (an optional extra, or a slow import that most runs never need), and
    every import inside a function says why in a comment just above it."""
    late, package = [], []
    for path in _shell_modules():
        lines = path.read_text(encoding="utf-8").splitlines()
        for function in ast.walk(_tree(path)):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(function):
                    if isinstance(node, (ast.Import, ast.ImportFrom)):
                        before = lines[max(node.lineno - 6, 0) : node.lineno]
                        why = any("#" in line for line in before)
                        late.append((f"{path.name}:{node.lineno}", why))
                        if isinstance(node, ast.ImportFrom) and node.level > 0:
                            package.append(f"{path.name}:{node.lineno}")
    assert len(package) <= LATE_IMPORTS, package
    assert all(why for _, why in late), [where for where, why in late if not why]
