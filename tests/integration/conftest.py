"""Fixtures: one whole Pegasus system per test module.

A module may set PEGASUS_ENV = {"PEGASUS_…": value} to override config keys
for its system (e.g. PEGASUS_PLAN_PRO_REQUESTS_PER_MINUTE=5).
"""

import pytest

from pgs import running_system


@pytest.fixture(scope="module")
def system(request):
    with running_system(getattr(request.module, "PEGASUS_ENV", {}), request.module.__name__) as sysm:
        yield sysm


@pytest.fixture
def pro_user(system):
    return system.user("pro")


@pytest.fixture
def pro(system, pro_user):
    """(user, signed-in app session) for a fresh Pro user."""
    return pro_user, system.login(pro_user)
