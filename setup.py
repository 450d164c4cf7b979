"""Builds the matcher's compiled loops (knowledge/_kernels.pyx, knowledge/_pair_kernel.pyx,
knowledge/_segment.pyx); everything else is in pyproject.toml. Without a C compiler the build goes
on, and the matcher uses the Python and numpy twins of those loops."""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [
            Extension(f"knowledge.{name}", [f"knowledge/{name}.pyx"], optional=True)
            for name in ("_kernels", "_pair_kernel", "_segment")
        ],
        compiler_directives={"language_level": "3"},
    )
)
