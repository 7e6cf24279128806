from __future__ import annotations

from userops.meta.models import Project
from userops.runtime import Runtime
from userops.store import scalar


def test_migrated_store_is_empty(runtime: Runtime, project: Project) -> None:
    assert scalar(runtime.store, "SELECT count() FROM events") == 0
