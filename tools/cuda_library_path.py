"""Print the LD_LIBRARY_PATH under which this interpreter finds the CUDA
libraries that NVIDIA's nvidia-* wheels installed into its environment.

MXNet 1.9's libmxnet.so asks the dynamic loader for libcudart.so.11.0,
libcudnn.so.8 and the rest by name, and ships none of them; the loader only
looks where LD_LIBRARY_PATH says, which must be set before the process starts
(the Makefile puts it into the d2l-mxnet kernel and the test runs). PyTorch,
JAX and TensorFlow locate their nvidia-* libraries themselves.

    LD_LIBRARY_PATH="$(.venv/mxnet-cuda/bin/python tools/cuda_library_path.py)"

Without nvidia-* wheels it prints the current LD_LIBRARY_PATH unchanged.
"""
import os
import pathlib
import sysconfig


def cuda_library_dirs(site_packages=None):
    root = pathlib.Path(site_packages or sysconfig.get_paths()['purelib'])
    return sorted(str(d) for d in root.glob('nvidia/*/lib') if d.is_dir())


def library_path(site_packages=None, current=None):
    current = os.environ.get('LD_LIBRARY_PATH', '') if current is None \
        else current
    parts = cuda_library_dirs(site_packages) + [p for p in current.split(':')
                                                if p]
    return ':'.join(parts)


if __name__ == '__main__':
    print(library_path())
