"The experiment's data step on a tiny simulated world: bad inputs are named."
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sar_xsensor.core import get_preset
from sar_xsensor.data import ChipReadError, scan_chips, write_spacing_matched
from sar_xsensor.simulate import build_benchmark
from sar_xsensor.experiments import prepare_data, training_chips


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp('world')
    b = get_preset('tiny')['benchmark']
    build_benchmark(d/'bench', b, seed=0, progress=False)
    return d, d/'bench'/b['source_sensor'], d/'bench'/b['target_sensor']


def test_a_corrupt_twin_is_named(world, tmp_path):
    d, source, target = world
    data = prepare_data(tmp_path/'run', source, target, seed=0)
    assert len(training_chips(tmp_path/'run', data, 'target+twins', 64).y) > 0
    twin = sorted(Path(data['twins']).glob('*/*.png'))[0]
    original = twin.resolve().read_bytes()
    try:
        twin.resolve().write_bytes(b'not a png')
        with pytest.raises(ChipReadError, match=twin.name): training_chips(tmp_path/'run', data, 'target+twins', 64)
    finally: twin.resolve().write_bytes(original)


def test_the_spacing_pre_step_names_chips_without_spacing(world, tmp_path):
    d, source, target = world
    df = scan_chips(source)
    df.loc[df.index[1], 'pixel_spacing_m'] = np.nan
    with pytest.raises(ValueError, match=Path(df.path.iloc[1]).name): write_spacing_matched(df, tmp_path/'matched', 3.0)
    assert not (tmp_path/'matched').exists()                  # nothing half-written
