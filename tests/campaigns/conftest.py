import pytest


@pytest.fixture
def sender():
    from tests.factories import make_sender

    return make_sender()
