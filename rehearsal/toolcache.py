"""setup-python's Python (and npm's packages) for the rehearsal, offline.

On GitHub, setup-python puts a clean Python on ``PATH`` and the workflow's
``pip install .`` installs Banditore and its dependencies from PyPI. Here the
virtualenv gets a ``.pth`` line naming the site-packages of the environment
running the rehearsal, so the dependencies are already there and ``pip install .``
(run as the workflow writes it) only builds and installs Banditore itself,
offline. It installs into the throwaway environment: pip never touches the one
running the rehearsal ("Not uninstalling ... outside environment").

``npm ci`` (pages.yml installs the staff form's packages) runs offline too, from
npm's cache on this machine (``npm config get cache``), which ``make rehearsal``
fills through the same ``npm ci`` as ``make site``: a package missing there fails
the step, as a registry that is down would on GitHub.
"""

from __future__ import annotations

import shutil
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
        self.npm_cache = ""

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
        npm = shutil.which("npm")
        if npm:  # where this machine's npm keeps what it downloaded
            self.npm_cache = subprocess.run([npm, "config", "get", "cache"],
                                            capture_output=True, text=True).stdout.strip()

    def env(self) -> dict[str, str]:
        """pip as setup-python's would be, but offline and from what is installed; and
        the data files the layered environment installed outside site-packages
        (nbconvert's templates, Jupyter's kernels), which Jupyter finds by sys.prefix."""
        npm = {"npm_config_offline": "true", "npm_config_cache": self.npm_cache} \
            if self.npm_cache else {"npm_config_offline": "true"}
        return {"PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0",
                "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_WARN_SCRIPT_LOCATION": "1",
                "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter"), **npm}
