"""The C part of barista-core: ``barista_core.events._wire`` (request bytes to canonical event JSON).

Optional: where no C compiler is at hand the package installs without it and the event path runs in
Python alone (``barista_core.events.wire.AVAILABLE`` says which).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "barista_core.events._wire",
            ["barista_core/events/_wire.c"],
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        )
    ]
)
