"""Passwords are hashed with the production Argon2 parameters that ship.

The rest of the suite hashes with the cheapest parameters (``tests/conftest.py``), so what
ships is checked in a Python process of its own, which imports the app as a server does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from argon2 import PasswordHasher, extract_parameters, profiles

from surveys.auth import passwords

ROOT = Path(__file__).resolve().parents[2]

HASH_IN_A_FRESH_PROCESS = """
from surveys.auth import services
from surveys.auth.passwords import hash_password, verify_password
made = hash_password("correct horse battery")
assert verify_password(made, "correct horse battery")
assert not verify_password(made, "correct horse batterY")
print(made)
print(services._dummy_hash())
"""


def test_new_hashes_use_rfc_9106_low_memory_parameters_outside_the_test_suite():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", HASH_IN_A_FRESH_PROCESS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    made, dummy = done.stdout.split()
    assert passwords.PARAMETERS == profiles.RFC_9106_LOW_MEMORY
    for found in (extract_parameters(made), extract_parameters(dummy)):
        # 64 MiB, 3 passes, 4 lanes: the dummy hash costs what a real one costs
        assert (found.memory_cost, found.time_cost, found.parallelism) == (65536, 3, 4)
        assert found == profiles.RFC_9106_LOW_MEMORY


def test_a_hash_made_with_other_parameters_still_verifies_and_is_marked_for_renewal():
    other = PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1).hash("a passphrase!")
    assert passwords.verify_password(other, "a passphrase!")
    assert not passwords.verify_password(other, "another one!")
    assert passwords.needs_rehash(other)
    assert not passwords.needs_rehash(passwords.hash_password("a passphrase!"))
