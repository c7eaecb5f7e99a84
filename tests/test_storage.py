"""Storage URLs without a server: defaults, SQLite paths, drivers, and passwords masked."""

from __future__ import annotations

import pytest

from lstmbench.errors import UserError
from lstmbench.storage import driver_url, mask, open_storage, sqlite_path, storage_url


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://ada:SECRET@db.example:5432/lstm", "postgresql://ada:***@db.example:5432/lstm"),
    ("postgresql+psycopg://ada:SECRET@db/lstm?sslmode=require",
     "postgresql+psycopg://ada:***@db/lstm?sslmode=require"),
    ("postgresql://ada:SE:CR@ET@db/lstm", "postgresql://ada:***@db/lstm"),  # ":" and "@" inside
    ("mysql://ada:SECRET@127.0.0.1:1/lstm", "mysql://ada:***@127.0.0.1:1/lstm"),
    ("postgresql://ada@db/lstm", "postgresql://ada@db/lstm"),  # no password: nothing to hide
    ("sqlite:///lstmbench.db", "sqlite:///lstmbench.db"),
])
def test_mask_hides_every_password(url, shown):
    assert mask(url) == shown
    assert "SECRET" not in mask(url) and "CR@ET" not in mask(url)


def test_an_unreachable_server_is_named_without_its_password():
    with pytest.raises(UserError) as info:
        open_storage("postgresql://ada:SECRET-pw@127.0.0.1:1/lstm")  # nothing listens on port 1
    assert str(info.value).startswith("postgresql://ada:***@127.0.0.1:1/lstm: cannot connect")
    assert "SECRET" not in str(info.value)


def test_defaults_paths_and_drivers(monkeypatch):
    monkeypatch.delenv("LSTMBENCH_STORAGE", raising=False)
    assert storage_url(None) == "sqlite:///lstmbench.db"
    monkeypatch.setenv("LSTMBENCH_STORAGE", "sqlite:///other.db")
    assert storage_url(None) == "sqlite:///other.db" and storage_url("sqlite:///x.db") == "sqlite:///x.db"
    assert str(sqlite_path("sqlite:////tmp/a.db?timeout=5")) == "/tmp/a.db"
    assert sqlite_path("sqlite:///:memory:") is None and sqlite_path("postgresql://h/d") is None
    assert driver_url("postgresql://h/d") == "postgresql+psycopg://h/d"
    assert driver_url("postgresql+psycopg2://h/d") == "postgresql+psycopg2://h/d"


def test_opening_a_storage_silences_only_the_heartbeat_warnings(tmp_path):
    import warnings

    from optuna.exceptions import ExperimentalWarning

    from lstmbench.storage._open import _quiet_optuna_warnings

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        open_storage(f"sqlite:///{tmp_path / 'w.db'}", heartbeat=30).engine.dispose()
        with _quiet_optuna_warnings():
            warnings.warn("something else", UserWarning, stacklevel=1)
            warnings.warn("Argument ``seed`` is an experimental feature.", ExperimentalWarning,
                          stacklevel=1)
    # A connection another test left open may be collected meanwhile (its ResourceWarning says
    # nothing about these filters).
    said = [str(w.message) for w in seen if not issubclass(w.category, ResourceWarning)]
    assert said == ["something else", "Argument ``seed`` is an experimental feature."]
