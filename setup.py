"""Build the compiled core. Metadata lives in setup.cfg."""

import glob

from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension(
        "simdup._core",
        sources=["simdup/_core.pyx"],
        # The character tables (generated, see scripts/gen_unicode_tables.py) are a header;
        # the kernels are .pxi files included into the one module: a change to any of
        # them must rebuild it.
        depends=sorted(glob.glob("simdup/*.pxi")) + ["simdup/_unicode_tables.h"],
        include_dirs=["simdup"],
        extra_compile_args=["-O3"],
    )
]

setup(ext_modules=cythonize(extensions, language_level=3))
