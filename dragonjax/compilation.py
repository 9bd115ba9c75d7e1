"""A persistent JAX compilation cache, so that a second run of the same shapes does not compile again.

The command line turns it on by default (under ``$XDG_CACHE_HOME/dragonjax/jax``, else
``~/.cache/dragonjax/jax``); ``DRAGONJAX_COMPILATION_CACHE=off`` or ``dragonjax --no-compile-cache`` turn it
off, ``DRAGONJAX_COMPILATION_CACHE=/some/dir`` moves it. Library users call
:func:`enable_compilation_cache` themselves (importing dragonjax changes no JAX setting).
"""
from __future__ import annotations

import os

__all__ = ["default_cache_dir", "enable_compilation_cache"]


def default_cache_dir() -> str | None:
    """The cache folder from ``DRAGONJAX_COMPILATION_CACHE`` (None when it says off) or the user's cache dir."""
    env = os.environ.get("DRAGONJAX_COMPILATION_CACHE")
    if env is not None and env.strip().lower() in ("off", "0", "no", "false", ""):
        return None
    if env:
        return os.path.expanduser(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "dragonjax", "jax")


def enable_compilation_cache(path: str | None = None, min_compile_seconds: float = 0.5) -> str | None:
    """Store compiled programs that took longer than ``min_compile_seconds`` under ``path`` (default
    :func:`default_cache_dir`) and reuse them. Returns the folder, or None when turned off or unwritable."""
    import jax

    path = default_cache_dir() if path is None else path
    if path is None:
        return None
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(min_compile_seconds))
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path
