"""setup-python's Python for the rehearsal: a throwaway virtualenv layered on this one.

On GitHub, setup-python puts a clean Python on ``PATH`` and the workflow's
``pip install .`` installs Banditore and its dependencies from PyPI. Here the
virtualenv gets a ``.pth`` line naming the site-packages of the environment
running the rehearsal, so the dependencies are already there and ``pip install .``
(run as the workflow writes it) only builds and installs Banditore itself,
offline. It installs into the throwaway environment: pip never touches the one
running the rehearsal ("Not uninstalling ... outside environment").
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

# setuptools new enough for the project's build (pyproject.toml's build-system).
SETUPTOOLS = "setuptools>=77"


class ToolCache:
    def __init__(self, folder: Path):
        self.folder = folder
        self.bin = folder / "bin"

    def create(self) -> None:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(self.folder)],
                       check=True)
        python = str(self.bin / "python")
        purelib = subprocess.run([python, "-c", "import sysconfig;"
                                  "print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        # Last on sys.path: what is installed into the throwaway environment wins.
        Path(purelib, "zz-rehearsal-host.pth").write_text(
            sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
        done = subprocess.run([python, "-m", "pip", "install", "--quiet",
                               "--disable-pip-version-check", SETUPTOOLS],
                              capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"could not install {SETUPTOOLS} for the workflows' "
                               f"`pip install .`: {done.stderr.strip()[-500:]}")

    def env(self) -> dict[str, str]:
        """pip as setup-python's would be, but offline and from what is installed; and
        the data files the layered environment installed outside site-packages
        (nbconvert's templates, Jupyter's kernels), which Jupyter finds by sys.prefix."""
        return {"PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0",
                "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_WARN_SCRIPT_LOCATION": "1",
                "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter")}
