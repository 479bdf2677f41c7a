"""Only what pyproject.toml cannot say: the wheel carries a native library (passauth/lib/libpassauth.so.0,
loaded with ctypes), so it is not pure. It installs into platlib and is tagged py3-none-<platform>: any
Python 3, no CPython ABI (there is no extension module), one platform. `make wheel` then runs auditwheel,
which turns the linux_<arch> tag into a manylinux one and vendors libcurl, jansson and their
dependencies."""

from setuptools import setup
from setuptools.dist import Distribution

try:
    from setuptools.command.bdist_wheel import bdist_wheel  # setuptools >= 70.1
except ImportError:  # older setuptools: the wheel package's command
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]


class NativeDistribution(Distribution):
    """A distribution with native code: platlib, and a platform-tagged wheel."""

    def has_ext_modules(self) -> bool:
        return True


class PlatformWheel(bdist_wheel):  # type: ignore[misc]
    def get_tag(self) -> "tuple[str, str, str]":
        _, _, platform = super().get_tag()
        return "py3", "none", platform


setup(distclass=NativeDistribution, cmdclass={"bdist_wheel": PlatformWheel})
