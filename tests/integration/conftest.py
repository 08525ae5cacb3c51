"""Fixtures: one whole Pegasus system per test module.

A module may set PEGASUS_ENV = {"PEGASUS_…": value} to override config keys
for its system (e.g. PEGASUS_PLAN_PRO_REQUESTS_PER_MINUTE=5).
"""

import pytest

from pgs import System


@pytest.fixture(scope="module")
def system(request):
    overrides = getattr(request.module, "PEGASUS_ENV", {})
    sysm = System(overrides, name=request.module.__name__)
    try:
        sysm.start()
    except Exception:
        sysm.stop()
        sysm.cleanup()
        raise
    yield sysm
    problems = sysm.stop()
    leaks = sysm.scan_logs()
    if problems or leaks:
        # keep the evidence
        print("PEGASUS_HOME kept at", sysm.home)
    else:
        sysm.cleanup()
    assert not problems, problems
    assert not leaks, "secrets found in logs: %r" % leaks


@pytest.fixture
def pro_user(system):
    return system.user("pro")


@pytest.fixture
def pro(system, pro_user):
    """(user, signed-in app session) for a fresh Pro user."""
    return pro_user, system.login(pro_user)
