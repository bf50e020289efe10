"""Build the compiled core. Metadata lives in setup.cfg."""

from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension(
        "simdup._core",
        sources=["simdup/_core.pyx"],
        # The character tables (generated, see scripts/gen_unicode_tables.py) are a header.
        depends=["simdup/_unicode_tables.h", "simdup/_dedup.pxi", "simdup/_index.pxi"],
        include_dirs=["simdup"],
        extra_compile_args=["-O3"],
    )
]

setup(ext_modules=cythonize(extensions, language_level=3))
