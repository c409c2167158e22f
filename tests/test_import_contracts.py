"""The import contracts (pyproject.toml, ``lint-imports``) name every provider and every kit module,
so a new provider package or kit module cannot slip past the layer and independence checks."""

from __future__ import annotations

import tomllib
from pathlib import Path

from connectors.registry import providers

ROOT = Path(__file__).resolve().parent.parent


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {c["id"]: c for c in config["contracts"]}


def _provider_packages() -> set[str]:
    return {f"connectors.{cls.__module__.split('.')[1]}" for cls in providers().values()}


def test_every_provider_package_is_in_the_independence_contract():
    contracts = _contracts()
    assert set(contracts["providers-independent"]["modules"]) == _provider_packages()
    assert set(contracts["kit-below-providers"]["forbidden_modules"]) == _provider_packages()
    assert set(contracts["providers-through-registry"]["forbidden_modules"]) == _provider_packages()


def test_every_kit_module_is_held_below_the_providers():
    kit = {f"connectors.{p.stem}" for p in (ROOT / "connectors").glob("*.py") if p.stem != "__init__"}
    assert set(_contracts()["kit-below-providers"]["source_modules"]) == kit


def test_sandboxes_are_mirrored_by_provider_packages():
    # sandboxes/<package>/ serves the provider whose connector lives in connectors/<package>/.
    sandbox_packages = {p.name for p in (ROOT / "sandboxes").iterdir() if (p / "sandbox.py").is_file()}
    assert sandbox_packages <= {name.split(".")[1] for name in _provider_packages()}
