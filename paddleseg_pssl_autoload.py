"""Import ``paddleseg_pssl`` right after ``paddleseg``, so PaddleSeg's own tools just work.

Installed with the package as ``paddleseg_pssl_autoload.pth``, which runs :func:`install` at
interpreter start-up. That only puts a small finder on ``sys.meta_path`` (no Paddle, no
PaddleSeg is imported); the finder acts once, when a process imports ``paddleseg``: it lets
the normal import finish and then imports ``paddleseg_pssl`` (compat fixes, registered
components, the label-space builder, one log line; config errors end the run in one line).
A process that never imports PaddleSeg pays for nothing else. ``PADDLESEG_PSSL_AUTOLOAD=0``
switches it off. Kept outside the ``paddleseg_pssl`` package because importing that package
imports Paddle. :func:`quiet_paddle_warnings` lives here for the same reason: it must run before
Paddle is imported.
"""
import os
import sys
import warnings

#: Environment variable that switches the hook off when set to one of OFF_WORDS.
ENV_SWITCH = "PADDLESEG_PSSL_AUTOLOAD"
OFF_WORDS = ("0", "false", "no", "off")

#: The import that triggers the plugin, and the plugin.
TRIGGER = "paddleseg"
PLUGIN = "paddleseg_pssl"

#: Paddle's import-time warning that ccache is missing (it concerns compiling C++ extensions,
#: which nothing here does), matched by its message start and the module that warns.
CCACHE_WARNING = "No ccache found"
CCACHE_WARNING_MODULE = r"paddle\.utils\.cpp_extension"


def quiet_paddle_warnings() -> None:
    """Hide Paddle's ccache ``UserWarning`` (only that one); call before Paddle is imported."""
    warnings.filterwarnings("ignore", message=CCACHE_WARNING, category=UserWarning,
                            module=CCACHE_WARNING_MODULE)


def enabled() -> bool:
    """False when ``PADDLESEG_PSSL_AUTOLOAD`` says off."""
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in OFF_WORDS


class AfterPaddleSegFinder:
    """Meta-path finder that imports the plugin once ``paddleseg`` has been executed."""

    def find_spec(self, fullname, path=None, target=None):
        """Find ``paddleseg`` with the other finders and chain the plugin import after it."""
        if fullname != TRIGGER:
            return None
        finders = [finder for finder in sys.meta_path if finder is not self]
        for finder in finders:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find else None
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        stock_exec = loader.exec_module

        def exec_module(module):
            quiet_paddle_warnings()
            stock_exec(module)
            uninstall()
            if PLUGIN not in sys.modules:
                __import__(PLUGIN)
                plugin = sys.modules[PLUGIN + ".plugin"]
                plugin.use_one_line_errors(sys.argv[0] if sys.argv and sys.argv[0] else "python")

        loader.exec_module = exec_module
        return spec


def install() -> bool:
    """Put the finder first on ``sys.meta_path``, unless switched off or already there."""
    if not enabled() or TRIGGER in sys.modules or installed():
        return False
    sys.meta_path.insert(0, AfterPaddleSegFinder())
    return True


def installed() -> bool:
    """True when the finder is on ``sys.meta_path``."""
    return any(isinstance(finder, AfterPaddleSegFinder) for finder in sys.meta_path)


def uninstall() -> None:
    """Take the finder off ``sys.meta_path`` (it is needed once per process)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, AfterPaddleSegFinder)]
