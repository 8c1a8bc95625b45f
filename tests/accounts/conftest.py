"""Keep the world cheap to build: its dozen users would otherwise cost about a second of scrypt per test.

Only the hashing work factor changes; `check_password_hash` reads the method from the stored hash,
so signing in behaves exactly as in production.
"""

import functools

import pytest
from werkzeug.security import generate_password_hash

from puskesos.accounts import models as account_models


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    monkeypatch.setattr(account_models, "generate_password_hash",
                        functools.partial(generate_password_hash, method="pbkdf2:sha256:1"))
