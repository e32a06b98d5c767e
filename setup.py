"""Install paddleseg-pssl: PSSL generation and pre-training as a PaddleSeg plugin.

The pinned stack lives in requirements.txt / requirements-nodeps.txt (see README);
install_requires only states the loose floor so `pip install -e . --no-deps` after the
pinned install never re-resolves InterpretDL's unsatisfiable scikit-learn pin.
"""
import os
import pathlib

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

#: The start-up hook that imports paddleseg_pssl after paddleseg (docs/paddleseg_scripts.md).
AUTOLOAD_MODULE = "paddleseg_pssl_autoload"
AUTOLOAD_PTH = AUTOLOAD_MODULE + ".pth"

CONSOLE_SCRIPTS = [
    "pssl-train=paddleseg_pssl.cli.train:main",
    "pssl-val=paddleseg_pssl.cli.val:main",
    "pssl-generate=paddleseg_pssl.cli.generate:main",
    "pssl-evaluate=paddleseg_pssl.cli.evaluate_pssl:main",
    "pssl-visualize=paddleseg_pssl.cli.visualize_pssl:main",
    "pssl-predict=paddleseg_pssl.cli.predict:main",
    "pssl-export=paddleseg_pssl.cli.export:main",
    "pssl-classify-eval=paddleseg_pssl.cli.classify_eval:main",
    "pssl-compare-init=paddleseg_pssl.cli.compare_init:main",
    "pssl-schedule=paddleseg_pssl.cli.pssl_schedule:main",
]
# The demo has no console script: it runs the checkout's tools/ and configs/ (tools/demo.py).


class BuildPyWithPth(build_py):
    """build_py that also puts the .pth at the root of what is installed (site-packages).

    A wheel installs ``build_lib``; an editable install (PEP 660) installs the directory
    setuptools' ``editable_wheel`` sets as ``install.install_lib``, so ``pip install -e .``
    installs the hook too.
    """

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            root = self.get_finalized_command("install").install_lib
        else:
            root = self.build_lib
        self.mkpath(root)
        self.copy_file(AUTOLOAD_PTH, os.path.join(root, AUTOLOAD_PTH), preserve_mode=False)


setup(
    name="paddleseg-pssl",
    version="0.1.0",
    description="Pseudo semantic segmentation labels (PSSL, arXiv 2207.03335) for PaddleSeg",
    long_description=pathlib.Path("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.8",
    packages=find_packages(include=["paddleseg_pssl", "paddleseg_pssl.*"]),
    py_modules=[AUTOLOAD_MODULE],
    cmdclass={"build_py": BuildPyWithPth},
    include_package_data=True,
    install_requires=[
        "paddleseg>=2.8.0",
        "numpy",
        "opencv-python",
        "pillow",
        "pyyaml",
        "tqdm",
        "matplotlib",
        "scikit-image",
    ],
    extras_require={"explain": ["interpretdl>=0.8.0"]},
    entry_points={"console_scripts": CONSOLE_SCRIPTS},
    license="Apache-2.0",
)
