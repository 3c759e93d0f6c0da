"""The cycle-collector pause around large listings and propagations always switches collection back on."""

from __future__ import annotations

import gc

import pytest

from backend.services.gc_pause import no_cycle_collection


def test_collection_is_paused_inside_and_back_on_after_even_on_error() -> None:
    assert gc.isenabled()
    with no_cycle_collection():
        assert not gc.isenabled()
        with no_cycle_collection():  # nested: the inner block leaves it off
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(KeyError), no_cycle_collection():
        raise KeyError("boom")
    assert gc.isenabled()

    @no_cycle_collection()
    def inside() -> bool:
        return gc.isenabled()

    assert inside() is False and inside() is False and gc.isenabled()


def test_a_pause_never_turns_on_a_collector_that_was_off() -> None:
    gc.disable()
    try:
        with no_cycle_collection():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
