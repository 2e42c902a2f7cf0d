"""The d2l_local suites run in each framework's environment; like every
suite, offline."""
import pathlib
import sys

# Tests must pass offline: the guard shared by every suite fails a test
# that opens a network connection (tests/network_guard.py).
sys.path.append(str(pathlib.Path(__file__).resolve().parents[1]))
import network_guard  # noqa: E402
from network_guard import refuse_network  # noqa: E402,F401 (autouse)

network_guard.install()
