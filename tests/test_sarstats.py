import numpy as np
import pytest

from sar_xsensor.sarstats import enl, enl_raw, realism_report
from sar_xsensor.simulate import impulse_response_width, background_check
from sar_xsensor.sensors import get_sensor


@pytest.mark.parametrize('L', [1, 2, 4, 8])
def test_enl_of_gamma_speckle(L):
    I = np.random.default_rng(L).gamma(L, 1/L, (32, 64, 64))
    assert abs(enl(I) - L) <= 0.05*L


def test_amplitude_pitfall():
    I = np.random.default_rng(0).gamma(1, 1, 400_000)
    assert abs(enl_raw(np.sqrt(I)) - 3.66) < 0.05


@pytest.mark.parametrize('name', ['tsx_like', 'fc1_like'])
def test_impulse_response_width(name):
    s = get_sensor(name)
    w_rg, w_az = impulse_response_width(s)
    assert abs(w_rg - s.res_range_m) <= 0.05*s.res_range_m and abs(w_az - s.res_azimuth_m) <= 0.05*s.res_azimuth_m


@pytest.mark.parametrize('name', ['tsx_like', 'fc1_like'])
def test_background_enl_and_db_spread(name):
    r = background_check(name)
    assert abs(r['enl'] - r['looks']) <= 0.1*r['looks']
    if r['looks'] == 1: assert abs(r['db_std'] - 5.57) <= 0.2


def test_realism_report_identical_and_shifted():
    rng = np.random.default_rng(0)
    a, b = rng.gamma(1, 1, (8, 32, 32)), rng.gamma(2, 1, (8, 32, 32))
    same = realism_report(a, a)
    assert same['w1_db_all'] == 0 and same['raps_distance_db'] == 0
    diff = realism_report(a, b)
    assert diff['w1_db_all'] > 1 and diff['enl_b'] > 1.5*diff['enl_a']


def test_enl_rejects_db_and_nan():
    with pytest.raises(ValueError, match='linear'): enl(np.full((16, 16), -3.0))
    with pytest.raises(ValueError): enl(np.full((16, 16), np.nan))
