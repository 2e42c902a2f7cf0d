"""Ask PyPI whether every pin of the GPU locks has a wheel for the GPU runners.

    python tools/check_locks.py          # `make check-locks`

The GPU runners install requirements/<framework>-cuda.txt from PyPI alone,
and those wheels are not on this machine's indexes, so only PyPI can answer.
This is the one check that needs the network, which is why it is a command of
its own and not a test: `make test` passes offline. A request that fails
(name resolution, a timeout, a server error) is tried again after a growing
pause; if PyPI stays out of reach the command says so in one line.

Exit status: 0 every pin has a wheel; 1 some pins have none (listed);
3 PyPI could not be reached (nothing was decided).
"""
import concurrent.futures
import json
import pathlib
import sys
import time
import urllib.error
import urllib.request

from packaging.tags import sys_tags
from packaging.utils import (InvalidWheelFilename, canonicalize_name,
                             parse_wheel_filename)

# The tooling environment has the repository on its path.
from bookbuild import FRAMEWORKS
from bookbuild.envfile import lock_pins

ROOT = pathlib.Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / 'requirements'
PYPI_SIMPLE = 'https://pypi.org/simple/{}/'
SIMPLE_JSON = 'application/vnd.pypi.simple.v1+json'
# A few requests at a time: sixteen at once made name resolution fail now
# and then.
WORKERS = 4
TRIES = 5
FIRST_PAUSE = 2.0   # seconds; doubles after each failed try
TIMEOUT = 60
MISSING_WHEELS, UNREACHABLE = 1, 3


class RegistryUnreachable(RuntimeError):
    """PyPI did not answer, after every try."""


def transient(error):
    """Whether trying again may help: the network, the server or a cut-off
    answer, not a refusal such as 403."""
    if isinstance(error, urllib.error.HTTPError):
        return error.code == 429 or error.code >= 500
    return isinstance(error, (OSError, ValueError))


def reason_of(error):
    if isinstance(error, urllib.error.HTTPError):
        return f'HTTP {error.code} {error.reason}'
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error) or type(error).__name__


def fetch_json(url, *, open_url=urllib.request.urlopen, sleep=time.sleep,
               tries=TRIES, first_pause=FIRST_PAUSE):
    """The JSON at `url`; None where PyPI answers 404 (no such project).
    Raises RegistryUnreachable once `tries` tries have failed."""
    request = urllib.request.Request(url, headers={'Accept': SIMPLE_JSON})
    pause = first_pause
    for attempt in range(1, tries + 1):
        try:
            with open_url(request, timeout=TIMEOUT) as response:
                return json.load(response)
        except (OSError, ValueError) as e:  # URLError and HTTPError too
            if isinstance(e, urllib.error.HTTPError) and e.code == 404:
                return None
            if not transient(e) or attempt == tries:
                raise RegistryUnreachable(
                    f'{url}: {reason_of(e)} (tried {attempt} times)') from e
        sleep(pause)
        pause *= 2


def missing_wheel(pin, tags, project):
    """None if the simple-API `project` (None: not on PyPI) has a wheel of
    `pin` for one of `tags`, else why not."""
    name, version = pin.split('==')
    if project is None:
        return f'{pin}: no project {name!r} on PyPI'
    for entry in project.get('files', []):
        filename = entry['filename']
        if not filename.endswith('.whl') or entry.get('yanked'):
            continue
        try:
            _, wheel_version, _, wheel_tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            continue  # pip would not install it either
        if str(wheel_version) == version and wheel_tags & tags:
            return None
    return f'{pin}: no wheel on PyPI for CPython 3.11 on Linux x86_64'


def gpu_pins(requirements=REQUIREMENTS):
    return sorted({p for fw in FRAMEWORKS
                   for p in lock_pins(requirements / f'{fw}-cuda.txt')})


def check(pins, tags, fetch=fetch_json):
    """The problems of `pins`, one line each (empty: all installable)."""
    def problem(pin):
        name = canonicalize_name(pin.split('==')[0])
        return missing_wheel(pin, tags, fetch(PYPI_SIMPLE.format(name)))

    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        return [p for p in pool.map(problem, pins) if p]


def main(argv=None, fetch=fetch_json, out=sys.stdout, err=sys.stderr):
    pins = gpu_pins()
    try:
        problems = check(pins, frozenset(sys_tags()), fetch)
    except RegistryUnreachable as e:
        print(f'error: cannot reach PyPI, so the GPU locks were not checked: '
              f'{e}; check the network and run `make check-locks` again',
              file=err)
        return UNREACHABLE
    if problems:
        print('\n'.join(problems), file=err)
        print(f'error: {len(problems)} of the {len(pins)} pins of the GPU '
              'locks have no wheel a GPU runner can install', file=err)
        return MISSING_WHEELS
    print(f'PyPI has a wheel for each of the {len(pins)} pins of the GPU '
          'locks', file=out)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
