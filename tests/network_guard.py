"""The suites' guard against the network: a test that opens a connection to
another host, or asks a name server, fails and says what it tried.

`make test` must pass on a machine cut off from the network once the
environments are built; a test that reaches out passes on a laptop and fails
now and then on a runner whose name resolution hiccups. Every suite's
conftest installs the guard when pytest loads it (so collection is covered
too) and imports the `refuse_network` fixture, which fails a test that tried
even if the code under test caught the error.

Loopback and Unix sockets stay allowed: the browser tests reach JupyterLab on
127.0.0.1, and Jupyter kernels talk over local ZeroMQ sockets (from libzmq,
which this guard does not see). Only the test process is guarded; kernels and
browsers are subprocesses.
"""
import ipaddress
import socket

import pytest

# Names that resolve to this machine without asking a name server.
LOCAL_NAMES = {'localhost', 'localhost.localdomain', 'ip6-localhost',
               'ip6-loopback'}
INTERNET = (socket.AF_INET, socket.AF_INET6)


class NetworkAccessRefused(RuntimeError):
    """Not an OSError: code that retries or shrugs off connection errors
    must not turn a forbidden connection into a silently skipped one."""


_attempts = []      # what the running test tried, for refuse_network
_originals = {}     # what install() replaced, for uninstall()


def as_address(host):
    """The IP address `host` spells, or None for a name."""
    if isinstance(host, bytes):
        host = host.decode('ascii', 'replace')
    try:
        address = ipaddress.ip_address(str(host).strip('[]').split('%')[0])
    except ValueError:
        return None
    return getattr(address, 'ipv4_mapped', None) or address


def is_local_host(host):
    """True for a loopback or unspecified address, or a name that means
    this machine; a name that would go to a name server is not local."""
    if host in (None, '', b''):
        return True
    address = as_address(host)
    if address is None:
        if isinstance(host, bytes):
            host = host.decode('ascii', 'replace')
        name = str(host).lower().rstrip('.')
        return name in LOCAL_NAMES or name.endswith('.localhost')
    return address.is_loopback or address.is_unspecified


def refuse(what):
    message = (f'a test tried to reach the network: {what}; tests must pass '
               'offline, only loopback and Unix sockets are allowed '
               '(tests/network_guard.py)')
    _attempts.append(message)
    raise NetworkAccessRefused(message)


def _check_address(sock, address, action):
    if sock.family in INTERNET and isinstance(address, tuple) and \
            not is_local_host(address[0]):
        refuse(f'{action} {address[0]}:{address[1]}')


def _guarded_methods(original):
    def connect(self, address):
        _check_address(self, address, 'connect to')
        return original['connect'](self, address)

    def connect_ex(self, address):
        _check_address(self, address, 'connect to')
        return original['connect_ex'](self, address)

    def sendto(self, data, *args):
        _check_address(self, args[-1] if args else None, 'send to')
        return original['sendto'](self, data, *args)

    return {'connect': connect, 'connect_ex': connect_ex, 'sendto': sendto}


def _guarded_lookups(original):
    def getaddrinfo(host, *args, **kwargs):
        # An address needs no name server: connect() judges it.
        if not is_local_host(host) and as_address(host) is None:
            refuse(f'look up {host!r}')
        return original['getaddrinfo'](host, *args, **kwargs)

    def gethostbyname(host):
        if not is_local_host(host):
            refuse(f'look up {host!r}')
        return original['gethostbyname'](host)

    def gethostbyname_ex(host):
        if not is_local_host(host):
            refuse(f'look up {host!r}')
        return original['gethostbyname_ex'](host)

    def gethostbyaddr(host):
        if not is_local_host(host):
            refuse(f'look up the name of {host!r}')
        return original['gethostbyaddr'](host)

    return {'getaddrinfo': getaddrinfo, 'gethostbyname': gethostbyname,
            'gethostbyname_ex': gethostbyname_ex,
            'gethostbyaddr': gethostbyaddr}


def install():
    """Guard this process (once, however many conftests call it)."""
    if _originals:
        return
    methods = {name: getattr(socket.socket, name)
               for name in ('connect', 'connect_ex', 'sendto')}
    lookups = {name: getattr(socket, name)
               for name in ('getaddrinfo', 'gethostbyname',
                            'gethostbyname_ex', 'gethostbyaddr')}
    _originals.update(methods=methods, lookups=lookups)
    for name, guarded in _guarded_methods(methods).items():
        setattr(socket.socket, name, guarded)
    for name, guarded in _guarded_lookups(lookups).items():
        setattr(socket, name, guarded)


def uninstall():
    if not _originals:
        return
    for name, original in _originals['methods'].items():
        setattr(socket.socket, name, original)
    for name, original in _originals['lookups'].items():
        setattr(socket, name, original)
    _originals.clear()


def take_attempts():
    """What was refused since the last call (and forget it)."""
    taken = list(_attempts)
    _attempts.clear()
    return taken


@pytest.fixture(autouse=True)
def refuse_network():
    """Fail a test that tried to reach the network, also where the code
    under test caught NetworkAccessRefused and carried on."""
    _fail_on(take_attempts(), 'before this test (collection, a fixture)')
    yield
    _fail_on(take_attempts(), 'in this test')


def _fail_on(attempts, when):
    if attempts:
        pytest.fail(f'{when}: ' + '\n'.join(attempts), pytrace=False)
