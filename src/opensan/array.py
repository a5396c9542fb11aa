"""The composition root: a running array assembled from its settings.

Only here are a store, a backend and the service put together: the API, the CLI and the test
fixtures ask for an Array and talk to its ArrayService, never to a store or a backend.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opensan.backends.base import backend_spec
from opensan.config import Settings
from opensan.domain.errors import InvalidArgument
from opensan.profile import Profile
from opensan.service.accounts import LoginPolicy
from opensan.service.array import ArrayService
from opensan.store.base import Store
from opensan.store.sqlite import SqliteStore

DEFAULT_MODEL = "XS5226D"


@dataclass
class Array:
    """A running array: its service, and how it was started."""

    service: ArrayService
    settings: Settings

    def close(self) -> None:
        self.service.close()


def open_store(settings: Settings) -> Store:
    """The array's records: in the backend's own storage where it keeps them (Ceph), else in
    the state dir."""
    spec = backend_spec(settings.backend)
    if spec.open_store is not None:
        if settings.backend_config is None:
            raise InvalidArgument(f"The {settings.backend} backend needs --config FILE.")
        return spec.open_store(settings.backend_config)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return SqliteStore(settings.database)


def state_dir_problem(settings: Settings) -> str | None:
    """Why the state dir cannot hold the records, found before anything is created: `opensan
    serve` says it in one line instead of a traceback. None when it can, or when the backend
    keeps its records elsewhere (Ceph)."""
    if backend_spec(settings.backend).open_store is not None:
        return None
    path = settings.state_dir
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return (f"state dir {path} is not a directory" if existing == path
                else f"cannot create state dir {path}: {existing} is not a directory")
    try:  # a nameless file that is gone when closed: os.access() says yes to root on /sys
        tempfile.TemporaryFile(dir=existing).close()
    except OSError as error:
        return (f"state dir {path} is not writable: {error.strerror}" if existing == path
                else f"cannot create state dir {path} in {existing}: {error.strerror}")
    return None


def serves_https(settings: Settings) -> bool:
    """Whether `opensan serve` speaks HTTPS: as set, else when given a certificate, else as
    the backend does by default (a real array does; the virtual array speaks plain HTTP)."""
    if settings.tls is not None:
        return settings.tls
    return settings.tls_cert is not None or backend_spec(settings.backend).https_by_default


def open_array(settings: Settings) -> Array:
    """Open (or create) the array in settings.state_dir (or, on Ceph, in the cluster).

    A new array that fails to open (a wrong model, a profile the array refuses) leaves no state
    dir behind: the next start, with the mistake mended, makes the array afresh."""
    created = _directory_created_for(settings)
    store = open_store(settings)
    try:
        return _open(settings, store)
    except BaseException:
        store.close()
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise


def _directory_created_for(settings: Settings) -> Path | None:
    """The outermost directory that opening the store will create, if it creates one."""
    if backend_spec(settings.backend).open_store is not None:
        return None
    created = None
    path = settings.state_dir.absolute()
    while not path.exists():
        created, path = path, path.parent
    return created


def _open(settings: Settings, store: Store) -> Array:
    spec = backend_spec(settings.backend)
    stored: dict[str, Any] | None = store.get_meta("backend_options")
    if stored is None:
        # A real array starts empty unless a profile is given explicitly: the default profile
        # describes a virtual array's contents.
        use_profile = spec.uses_default_profile or settings.profile is not None
        profile = Profile.load(settings.profile) if use_profile else Profile()
        options: dict[str, Any] = {
            "backend": settings.backend,
            "model": settings.model or DEFAULT_MODEL,
            "seed": settings.seed if settings.seed is not None else secrets.randbelow(2**31),
            "ssd_bays": profile.ssd_bays,
        }
        if profile.host_cards is not None:
            options["host_cards"] = list(profile.host_cards)
    else:
        options, profile = stored, Profile()
        _check_options(settings, options)
    config = {"config": str(settings.backend_config)} if settings.backend_config else {}
    backend = spec.create({**options, **config})
    try:
        service = ArrayService(
            store, backend, event_page_size=settings.event_page_size,
            login_policy=LoginPolicy(
                max_failures=settings.login_max_failures,
                window_seconds=settings.login_window_seconds,
                lockout_seconds=settings.login_lockout_seconds,
                session_idle_seconds=settings.session_idle_seconds),
            server_settings=settings.model_dump(mode="json"))
        service.load()
        defaults = service.accounts.with_default_password()
        if defaults and not backend.traits.allows_default_passwords:
            raise InvalidArgument(
                f"Accounts {', '.join(defaults)} still have QSAN's default password; a real "
                f"array does not start so. Set them first: opensan passwd --state-dir "
                f"{settings.state_dir} <account>.")
        if service.start(int(options["seed"]), settings.system_name, options):
            with service.supervision.batched():  # nobody reads before the profile is in
                profile.apply(service)
        elif stored is None:
            # The other controller made it first (start decides under the records' lock): its
            # options and profile hold, not this start's (the Ceph backend, the one on a shared
            # store, is made from its config alone).
            _check_options(settings, service.state.meta["backend_options"])
    except BaseException:
        backend.close()
        raise
    return Array(service, settings)


def _check_options(settings: Settings, options: dict[str, Any]) -> None:
    """The array in the records is one these settings may serve."""
    if settings.backend != options.get("backend", "simulated"):
        raise InvalidArgument(
            f"{settings.state_dir} holds a {options.get('backend', 'simulated')} array; "
            f"it cannot be served by the {settings.backend} backend.")
    if settings.model and settings.model.upper() != str(options["model"]).upper():
        raise InvalidArgument(
            f"{settings.state_dir} holds a {options['model']} array; start it without "
            "--model or use another --state-dir.")
