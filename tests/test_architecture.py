"""What each part of the code may import: the table of docs/architecture.md, kept true.

Every `import opensan...` of every module under src/opensan (also the ones inside functions and
under TYPE_CHECKING) must be allowed for the part the module belongs to. The most specific part
wins: opensan.service.accounts is in "opensan.service".
"""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).parent.parent / "src" / "opensan"

# part -> the parts it may import (besides itself)
MAY_IMPORT: dict[str, set[str]] = {
    "opensan.domain": set(),
    "opensan.store": {"opensan.domain"},
    "opensan.backends": {"opensan", "opensan.domain", "opensan.store"},
    "opensan.service": {"opensan.domain", "opensan.store", "opensan.backends.base"},
    "opensan.profile": {"opensan.domain", "opensan.service"},
    "opensan.api": {"opensan.domain", "opensan.service", "opensan.metric_names"},
    # The SNMP agent reads the service as the API does (and names the version in sysDescr).
    "opensan.snmp": {"opensan", "opensan.domain", "opensan.service"},
    "opensan.client": set(),
    "opensan.cli": {"opensan.client"},
    # The application: its version and its commands, never the server (the CLI answers at once).
    "opensan.cli.main": {"opensan", "opensan.cli", "opensan.client"},
    # `opensan serve` and `opensan passwd` start and set up an array: they stand next to the
    # composition root, and import it only when they run.
    "opensan.cli.server": {"opensan.cli", "opensan.client", "opensan.malloc", "opensan.api.app",
                           "opensan.api.logs", "opensan.api.protocol", "opensan.array", "opensan.config",
                           "opensan.domain.errors", "opensan.service.accounts", "opensan.snmp.agent",
                           "opensan.tls"},
    # `opensan exporter` runs the exporter, which reads arrays through the SDK only.
    "opensan.cli.exporter": {"opensan.cli", "opensan.client", "opensan.exporter"},
    "opensan.exporter": {"opensan.client", "opensan.metric_names"},
    # The composition root assembles everything.
    "opensan.array": {"*"},
    # The state dir's file name, and the server limits' defaults.
    "opensan.config": {"opensan.store.sqlite", "opensan.api.limits"},
    # The server's TLS certificate: given, or made and kept; it needs nothing of OpenSAN's.
    "opensan.tls": set(),
    "opensan.testing": {"opensan.api.app", "opensan.api.protocol", "opensan.array",
                        "opensan.client", "opensan.config", "opensan.tls"},
    "opensan.pytest_plugin": {"opensan.testing", "opensan.config"},
    "opensan.__main__": {"opensan.cli.main"},
    "opensan.malloc": set(),
    # The metric families /metrics and the exporter both write.
    "opensan.metric_names": set(),
    "opensan": set(),  # the package's __init__: its version
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    candidates = [part for part in MAY_IMPORT if module == part or module.startswith(part + ".")]
    assert candidates, f"{module} belongs to no part of the table"
    return max(candidates, key=len)


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name == "opensan" or name.startswith("opensan.")}


def allowed(imported: str, part: str) -> bool:
    """"opensan" in the table is the root package itself (its __version__), "*" anything."""
    permitted = {part, *MAY_IMPORT[part]}
    return "*" in permitted or imported in permitted or any(
        imported.startswith(prefix + ".") for prefix in permitted - {"opensan"})


def test_every_import_is_one_the_table_allows() -> None:
    breaches = []
    for path in sorted(SOURCE.rglob("*.py")):
        module = module_name(path)
        part = part_of(module)
        breaches += [f"{module} imports {name}" for name in sorted(imports(path))
                     if not allowed(name, part)]
    assert not breaches, "\n".join(breaches)


def test_the_table_catches_a_side_door() -> None:
    assert not allowed("opensan.store.sqlite", "opensan.api")
    assert not allowed("opensan.backends.linux.backend", "opensan.api")
    assert not allowed("opensan.backends.linux.backend", "opensan.service")
    assert not allowed("opensan.service.array", "opensan.domain")
    assert allowed("opensan.backends.base", "opensan.service")
