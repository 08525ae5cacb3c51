"""Fixtures: one whole Pegasus system per test module.

A module may set PEGASUS_ENV = {"PEGASUS_…": value} to override config keys
for its system (e.g. PEGASUS_PLAN_PRO_REQUESTS_PER_MINUTE=5), and
OPENAPI_VALIDATE = True to have every response of its system checked against
the served OpenAPI description (openapi_validate.py): a test fails on a
status, header or body the description does not allow.
"""

import pytest

import openapi_validate
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


@pytest.fixture(autouse=True)
def _openapi_validation(request):
    if not getattr(request.module, "OPENAPI_VALIDATE", False):
        yield
        return
    validator = openapi_validate.for_system(request.getfixturevalue("system"))
    validator.problems = []
    with validator.watching():
        yield
    problems, validator.problems = validator.problems, []
    assert not problems, "responses the OpenAPI description does not allow:\n" + "\n".join(problems)
