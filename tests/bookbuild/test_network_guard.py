"""The guard every suite installs (tests/network_guard.py): a test that
reaches for another host fails, even where the code under test swallows
the error; loopback and Unix sockets still work. The addresses tried are
from TEST-NET-1 (192.0.2.0/24, RFC 5737), which no network routes."""
import pathlib
import socket
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request

import pytest

import network_guard
from network_guard import NetworkAccessRefused
from chapter_fixture import ROOT

TEST_NET = '192.0.2.1'


@pytest.fixture
def refused():
    """The refusals of the test, taken so that the guard's own fixture
    does not fail the test for them; checked by the test."""
    yield network_guard.take_attempts
    network_guard.take_attempts()


def test_a_connection_to_another_host_is_refused(refused):
    with pytest.raises(NetworkAccessRefused, match=rf'connect to '
                       rf'{TEST_NET}:9; tests must pass offline'):
        socket.create_connection((TEST_NET, 9), timeout=0.5)
    with socket.socket() as sock, pytest.raises(NetworkAccessRefused):
        sock.connect_ex((TEST_NET, 9))
    with socket.socket(socket.AF_INET6) as sock, \
            pytest.raises(NetworkAccessRefused, match='2001:db8::1'):
        sock.connect(('2001:db8::1', 9))
    with socket.socket(type=socket.SOCK_DGRAM) as sock, \
            pytest.raises(NetworkAccessRefused, match=f'send to {TEST_NET}'):
        sock.sendto(b'x', (TEST_NET, 53))
    assert len(refused()) == 4


def test_a_name_lookup_is_refused(refused):
    """PyPI's JSON API failed on name resolution: the lookup itself is the
    network access."""
    with pytest.raises(NetworkAccessRefused, match="look up 'pypi.org'"):
        urllib.request.urlopen('https://pypi.org/simple/', timeout=1)
    with socket.socket() as sock, \
            pytest.raises(NetworkAccessRefused, match='pypi.org:443'):
        sock.connect(('pypi.org', 443))
    for lookup in (socket.gethostbyname, socket.gethostbyname_ex):
        with pytest.raises(NetworkAccessRefused):
            lookup('pypi.org')
    assert refused()


def test_loopback_and_unix_sockets_work(tmp_path):
    for host in ('127.0.0.1', 'localhost'):
        with socket.create_server(('127.0.0.1', 0)) as server:
            port = server.getsockname()[1]
            with socket.create_connection((host, port), timeout=5) as client:
                peer, _ = server.accept()
                with peer:
                    client.sendall(b'ping')
                    assert peer.recv(4) == b'ping'
    path = str(tmp_path / 's')
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen()
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(path)
            peer, _ = server.accept()
            peer.close()
    assert network_guard.take_attempts() == []


def test_a_test_that_swallows_the_refusal_still_fails(tmp_path):
    """Code that retries or catches errors must not hide the attempt."""
    (tmp_path / 'conftest.py').write_text(textwrap.dedent(f"""
        import sys
        sys.path.append({str(ROOT / 'tests')!r})
        import network_guard
        from network_guard import refuse_network
        network_guard.install()
        """))
    (tmp_path / 'test_reaches_out.py').write_text(textwrap.dedent(f"""
        import urllib.request

        def test_quietly_offline():
            try:
                urllib.request.urlopen('http://{TEST_NET}/', timeout=1)
            except Exception:
                pass
        """))
    run = subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
         str(tmp_path)], capture_output=True, text=True, timeout=120,
        cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert f'in this test: a test tried to reach the network: connect to ' \
        f'{TEST_NET}:80' in run.stdout


def test_every_suite_installs_the_guard():
    suites = sorted({p.parent for p in (ROOT / 'tests').rglob('test_*.py')})
    assert len(suites) >= 4
    for suite in suites:
        conftest = suite / 'conftest.py'
        assert conftest.is_file(), f'{suite} has no conftest.py'
        text = conftest.read_text()
        assert 'network_guard.install()' in text, conftest
        assert 'import refuse_network' in text, conftest


def test_the_guard_is_on_in_this_process():
    assert socket.socket.connect is not socket._socket.socket.connect
    assert pathlib.Path(network_guard.__file__).parent == ROOT / 'tests'
