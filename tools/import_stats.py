"""Count the shape of the import graph between the project's top-level packages.

    .venv/bin/python tools/import_stats.py [--json]

Prints: the ordered package pairs that import each other (and how many import statements each),
the unordered pairs out of all possible ones, the cycles between packages (module-level imports only,
and counting imports inside functions too), the in-project imports made inside functions, the imports
from a provider package into an orchestration app, and the lines of provider code against sandbox
code. Run before and after a restructuring to compare the two with the same ruler.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [
    "config", "console", "integrations", "integrations_api", "records", "connectors", "sandboxes", "syncjobs",
    "webhooks", "payments", "notifications", "events", "files", "health",
]
ORCHESTRATION = {"syncjobs", "webhooks", "payments", "notifications", "events", "files"}
# Modules of connectors/ that are kit, not a provider (everything else under connectors/<x>/ is one).
SANDBOX_NAMES = {"sandbox.py", "dataset.py", "sandbox_kit.py", "sandbox_control.py", "sandbox_server.py",
                 "sandbox_state.py", "sandboxes.py"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def resolve(node: ast.ImportFrom, mod: str, is_pkg: bool) -> str:
    if not node.level:
        return node.module or ""
    base = mod.split(".")
    if not is_pkg:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join(base + ([node.module] if node.module else []))


class Visitor(ast.NodeVisitor):
    """Collects (target module, in_function, under TYPE_CHECKING) for every import."""

    def __init__(self, mod: str, is_pkg: bool) -> None:
        self.mod, self.is_pkg = mod, is_pkg
        self.depth = 0
        self.type_checking = 0
        self.found: list[tuple[str, bool, bool, int]] = []

    def visit_FunctionDef(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        test = ast.unparse(node.test)
        if "TYPE_CHECKING" in test:
            self.type_checking += 1
            for child in node.body:
                self.visit(child)
            self.type_checking -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append((alias.name, self.depth > 0, self.type_checking > 0, node.lineno))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        target = resolve(node, self.mod, self.is_pkg)
        self.found.append((target, self.depth > 0, self.type_checking > 0, node.lineno))


def files() -> list[Path]:
    out = []
    for pkg in PACKAGES:
        if (ROOT / pkg).is_dir():
            out += sorted((ROOT / pkg).rglob("*.py"))
    return out


def sccs(nodes: list[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = itertools.count()

    def visit(v: str) -> None:
        index[v] = low[v] = next(counter)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for n in nodes:
        if n not in index:
            visit(n)
    return out


def is_sandbox(path: Path) -> bool:
    rel = path.relative_to(ROOT)
    return rel.parts[0] == "sandboxes" or path.name in SANDBOX_NAMES


def is_provider(path: Path) -> bool:
    rel = path.relative_to(ROOT).parts
    return rel[0] == "connectors" and len(rel) > 2 and rel[1] not in {"management", "migrations", "kit"}


def measure() -> dict:
    present = [p for p in PACKAGES if (ROOT / p).is_dir()]
    stmt_counts: Counter[tuple[str, str]] = Counter()
    module_level: dict[str, set[str]] = defaultdict(set)
    all_level: dict[str, set[str]] = defaultdict(set)
    function_level: list[str] = []
    type_checking: list[str] = []
    provider_up: list[str] = []
    provider_cross: list[str] = []
    lines = Counter()
    for path in files():
        src = path.read_text()
        mod = module_name(path)
        src_pkg = mod.split(".")[0]
        visitor = Visitor(mod, path.name == "__init__.py")
        visitor.visit(ast.parse(src))
        n_lines = len(src.splitlines())
        if src_pkg in ("connectors", "sandboxes"):
            lines["sandbox" if is_sandbox(path) else "provider" if is_provider(path) else "kit"] += n_lines
        rel = str(path.relative_to(ROOT))
        for target, in_function, under_tc, lineno in visitor.found:
            dst_pkg = target.split(".")[0]
            if dst_pkg not in present:
                continue
            where = f"{rel}:{lineno} -> {target}"
            if in_function:
                function_level.append(where)
            if under_tc:
                type_checking.append(where)
            if is_provider(path) and not is_sandbox(path):
                if dst_pkg in ORCHESTRATION:
                    provider_up.append(where)
                own = path.relative_to(ROOT).parts[1]
                tparts = target.split(".")
                if (dst_pkg == "connectors" and len(tparts) > 1 and tparts[1] != own
                        and (ROOT / "connectors" / tparts[1]).is_dir()
                        and tparts[1] not in {"kit", "management"}):
                    provider_cross.append(where)
            if dst_pkg == src_pkg:
                continue
            stmt_counts[(src_pkg, dst_pkg)] += 1
            all_level[src_pkg].add(dst_pkg)
            if not in_function and not under_tc:
                module_level[src_pkg].add(dst_pkg)
    pairs = {frozenset(k) for k in stmt_counts}
    n = len(present)
    return {
        "packages": present,
        "ordered_edges": len(stmt_counts),
        "unordered_pairs": len(pairs),
        "possible_pairs": n * (n - 1) // 2,
        "cross_package_import_statements": sum(stmt_counts.values()),
        "edges": {f"{a} -> {b}": c for (a, b), c in sorted(stmt_counts.items())},
        "cycles_module_level": sccs(present, module_level),
        "cycles_all_imports": sccs(present, all_level),
        "function_level_imports": len(function_level),
        "function_level_files": len({w.split(":")[0] for w in function_level}),
        "function_level_list": function_level,
        "type_checking_imports": len(type_checking),
        "provider_to_orchestration_imports": len(provider_up),
        "provider_to_orchestration_files": len({w.split(":")[0] for w in provider_up}),
        "provider_to_orchestration_list": provider_up,
        "provider_to_other_provider_imports": len(provider_cross),
        "provider_to_other_provider_list": provider_cross,
        "lines": dict(lines),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="everything, as JSON")
    ap.add_argument("--list", action="store_true", help="also list function-level and upward imports")
    args = ap.parse_args()
    m = measure()
    if args.json:
        json.dump(m, sys.stdout, indent=2)
        print()
        return 0
    print(f"packages ({len(m['packages'])}): {' '.join(m['packages'])}")
    print(f"package pairs importing each other: {m['unordered_pairs']} of {m['possible_pairs']} "
          f"({m['ordered_edges']} directed edges, {m['cross_package_import_statements']} import statements)")
    print(f"cycles, module-level imports: {len(m['cycles_module_level'])} {m['cycles_module_level']}")
    print(f"cycles, all imports:          {len(m['cycles_all_imports'])} {m['cycles_all_imports']}")
    print(f"function-level in-project imports: {m['function_level_imports']} in {m['function_level_files']} files")
    print(f"TYPE_CHECKING in-project imports: {m['type_checking_imports']}")
    print(f"provider -> orchestration imports: {m['provider_to_orchestration_imports']} "
          f"in {m['provider_to_orchestration_files']} files")
    print(f"provider -> other provider imports: {m['provider_to_other_provider_imports']}")
    lines = m["lines"]
    print(f"lines under connectors/ + sandboxes/: provider {lines.get('provider', 0)}, "
          f"kit {lines.get('kit', 0)}, sandbox {lines.get('sandbox', 0)}")
    print("edges:")
    for edge, count in m["edges"].items():
        print(f"  {edge}: {count}")
    if args.list:
        print("function-level:")
        print("\n".join(f"  {w}" for w in m["function_level_list"]))
        print("provider -> orchestration:")
        print("\n".join(f"  {w}" for w in m["provider_to_orchestration_list"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
