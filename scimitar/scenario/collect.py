"""pytest collection of scenario files: each `scenarios/**/*.yaml` becomes one item.

Files are loaded and validated at *collection*, so `pytest --collect-only` (and `scimitar test`)
reports a broken file at once, as one line naming file, line, step and field; never a traceback.
The item runs the whole scenario and its report lists every step's outcome (see
`scimitar.scenario.engine` for why one item per scenario rather than one per step).

The session's target, run, masker and results come from `scimitar.pytest_plugin` when it is
loaded; a scenario run then shares the suites' run prefix and cleanup ledger, and its entry is
appended to `Results.scenarios`. Without the plugin (a bare `pytest scenarios/`), an embedded
reference server and a fresh run are used.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scimitar.scenario.engine import (
    ERROR,
    FAILED,
    SKIPPED,
    Environment,
    ScenarioResult,
    ScenarioRunner,
    second_authorization_from_env,
)
from scimitar.scenario.format import Scenario
from scimitar.scenario.loader import SCHEMA_FILE, ScenarioLoadError, load_scenario
from scimitar.scenario.observer import factory_from_env

PROFILE_ENV = "SCIMITAR_TARGET_PROFILE"
_RUNNER = pytest.StashKey["ScenarioRunner"]()
_RESULTS = pytest.StashKey["list[dict[str, Any]]"]()
_PLUGIN = "scimitar.pytest_plugin"


def is_scenario_file(path: Path) -> bool:
    """A `.yaml` file inside a directory tree whose root holds `scenario.schema.json`."""
    if path.suffix not in (".yaml", ".yml"):
        return False
    return any((parent / SCHEMA_FILE).is_file() for parent in path.resolve().parents)


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if is_scenario_file(file_path):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        scenario = load_scenario(self.path)
        yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ScenarioLoadError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class ScenarioFailed(Exception):
    """Raised by an item whose scenario failed; rendered as the step list, not a traceback."""

    def __init__(self, result: ScenarioResult) -> None:
        super().__init__(result.render())
        self.result = result


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.result: ScenarioResult | None = None
        self.add_marker(pytest.mark.scenario)
        self.add_marker(getattr(pytest.mark, scenario.idp))

    @property
    def unit_key(self) -> str:
        return f"scenario:{self.scenario.id}"

    def serial_reason(self, remote: bool) -> str | None:
        """Why this scenario must run alone under `--concurrency`, or None: the file says so
        (`serial:`), or it drives a remote product's console (rotation, role mapping), which changes
        what every other request sees. On the embedded server console scenarios get a server of
        their own, so they need not."""
        if self.scenario.serial:
            return self.scenario.serial
        if remote and self.scenario.requires.admin:
            return "drives the product's console (credentials, role mapping)"
        return None

    def scim_unit(self, session: Any) -> Any:
        """This scenario as a unit of the `--concurrency` pool (see `scimitar.schedule`)."""
        from scimitar.schedule import Unit

        runner, _ = _runner(self.config)
        serial = self.serial_reason(remote=not session.target.embedded) is not None
        # About one request a step, plus the DELETE and re-read of what it created.
        weight = 1.5 * len(self.scenario.steps)
        return Unit(self.unit_key, lambda: runner.run(self.scenario), serial=serial, weight=weight)

    def runtest(self) -> None:
        runner, results = _runner(self.config)
        result = self._prefetched() or runner.run(self.scenario)
        self.result = result
        entry = {**result.to_json(), "title": self.scenario.name}
        results.append(entry)
        self.user_properties.append(("scenario", entry))
        plugin = self.config.pluginmanager.has_plugin(_PLUGIN)
        if result.outcome == SKIPPED:
            pytest.skip(result.reason.removeprefix("skipped: "))
        if result.outcome in (FAILED, ERROR):
            if result.outcome == ERROR and plugin:
                self.user_properties.append(("scim_outcome", "error"))
            raise ScenarioFailed(result)
        if result.warnings:
            if plugin:  # the plugin turns this into a passed test marked W with the text as a section
                self.user_properties.append(("scim_outcome", "warning"))
                raise ScenarioFailed(result)
            warnings.warn(result.render(transcripts=False), stacklevel=1)

    def _prefetched(self) -> ScenarioResult | None:
        """The result the `--concurrency` pool already produced for this item, if any."""
        if not self.config.pluginmanager.has_plugin(_PLUGIN):
            return None
        from scimitar import pytest_plugin

        session = pytest_plugin.session_for(self.config)
        pytest_plugin.prefetch_items(session, list(self.session.items))
        result: ScenarioResult | None = session.take(self.unit_key)
        return result

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, 0, f"scenario {self.scenario.id}: {self.scenario.name}"


def _runner(config: pytest.Config) -> tuple[ScenarioRunner, list[dict[str, Any]]]:
    """The session's runner and the list scenario entries go to, made on first use."""
    runner = config.stash.get(_RUNNER, None)
    if runner is not None:
        return runner, config.stash[_RESULTS]
    observer_factory = factory_from_env()
    declared = os.environ.get(PROFILE_ENV) or None
    env: Environment
    results: list[dict[str, Any]]
    if config.pluginmanager.has_plugin(_PLUGIN):
        from scimitar import pytest_plugin

        accessor = getattr(pytest_plugin, "session_for", None) or pytest_plugin._session
        session = accessor(config)
        second = None if session.target.embedded else second_authorization_from_env(os.environ)
        env = Environment(target=session.target, run=session.run, masker=session.masker, sink=session.recorder,
                          observer_factory=observer_factory, declared_profile=declared, second_authorization=second)
        results = session.results.scenarios
    else:
        from scimitar.run import Run
        from scimitar.target import Target, TargetOptions

        target = Target(TargetOptions())
        config.add_cleanup(target.close)
        env = Environment(target=target, run=Run(), observer_factory=observer_factory, declared_profile=declared)
        results = []
    runner = ScenarioRunner(env)
    config.stash[_RUNNER] = runner
    config.stash[_RESULTS] = results
    return runner, results


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "scenario: an IdP scenario replayed from scenarios/")
    for idp in ("okta", "entra", "generic"):
        config.addinivalue_line("markers", f"{idp}: a scenario of this identity provider")
