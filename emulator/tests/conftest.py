"""Fixtures for the emulator suite (helpers live in emu_support, which tests import by name)."""

from emu_support import *  # noqa: F401,F403  (fixtures must be visible to pytest here)
