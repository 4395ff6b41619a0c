"""The overview (every venue at once) has one name, "overview"; configs already on screens say
"all_venues", and those screens keep showing it."""

import pytest

from pandascreen.testing import festival as demofest
from pandascreen.core import config, operation
from pandascreen.core.controller import Controller
from pandascreen.core.errors import ConfigError
from pandascreen.core.store import MemoryStore

SEED = bytes(range(7, 39))


def _config(**extra):
    return config.validate(dict({"festival_id": demofest.FESTIVAL_ID, "trust_anyone": True,
                                 "display": "inky_what_400x300"}, **extra))


@pytest.mark.parametrize("written", ["overview", "all_venues"])
def test_a_deployed_all_venues_config_shows_the_overview(written):
    cfg = _config(layout=written)
    assert cfg["layout"] == config.OVERVIEW
    store = MemoryStore()
    log = operation.log_id_for_festival(demofest.FESTIVAL_ID)
    for i, body in enumerate(demofest.bodies()):
        store.publish(SEED, body, log, demofest.DAY_START * 1000000 + i)
    ctl = Controller(cfg, store, clock=lambda: demofest.DAY_START + 600)
    ctl.redraw(demofest.DAY_START + 600, force=True)
    view = ctl.view(demofest.DAY_START + 600)
    assert len(view["venues"]) == len(ctl.schedule.venues()) > 1


def test_the_old_name_is_read_never_offered():
    assert "all_venues" not in config.LAYOUTS
    with pytest.raises(ConfigError) as e:
        _config(layout="grid")
    assert str(e.value) == "unknown layout 'grid' (known: now_next, overview)"
    with pytest.raises(ConfigError):
        _config(layout=["overview"])
