"""Build the compiled core. Metadata lives in setup.cfg."""

from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension(
        "simdup._core",
        sources=["simdup/_core.pyx"],
        extra_compile_args=["-O3"],
    )
]

setup(ext_modules=cythonize(extensions, language_level=3))
