import json
import numpy as np
import pandas as pd
import pytest

from sar_xsensor.core import CLASSES, get_preset
from sar_xsensor.sensors import SPECS, get_sensor, load_sensors, export_display, display_to_intensity
from sar_xsensor.simulate import build_benchmark, load_catalog, render, simulate_chips, MANIFEST_COLUMNS


def test_catalog_has_table1_classes_with_published_dimensions():
    cat = load_catalog()
    assert list(cat.index[:len(CLASSES)]) == CLASSES and cat.loc['C-21', 'engine_mount'] == 'rear'
    assert cat.loc['C-17', ['length_m', 'span_m', 'height_m']].tolist() == [53.0, 51.75, 16.8]


def test_rear_fuselage_engines():
    "The C-21A's nacelles sit beside the rear fuselage, behind the wing and above it, and cast their own shadow; its chips render."
    from sar_xsensor.simulate import aircraft_scatterers
    r = load_catalog().loc['C-21']
    sc = aircraft_scatterers(r)
    inlets = sc['pos'][sc['type'] == 'engine_inlet']
    assert len(inlets) == 2 and (inlets[:, 0] < -r.root_chord_m).all() and (abs(inlets[:, 1]) < r.span_m/4).all()
    assert (inlets[:, 2] > r.wing_height_m).all() and len(sc['body']) > len(aircraft_scatterers(r.copy().replace('rear', 'internal'))['body'])
    ch = simulate_chips(['C-21']*2, 'tsx_like', 96., 64, seed=0)
    assert ch['display'].shape == (2, 64, 64) and ch['display'].std() > 0


def test_new_class_is_a_catalog_row(tmp_path):
    cat = pd.read_csv(SPECS/'aircraft.csv')
    row = cat[cat['class'] == 'F-16'].assign(**{'class': 'Mirage-2000', 'length_m': 14.4, 'span_m': 9.1, 'le_sweep_deg': 58})
    pd.concat([cat, row]).to_csv(tmp_path/'aircraft.csv', index=False)
    ch = simulate_chips(['Mirage-2000'], 'fc1_like', 120, 32, seed=0, catalog=load_catalog(tmp_path/'aircraft.csv'))
    assert ch['display'].shape == (1, 32, 32)


def test_user_sensor_file(tmp_path):
    raw = json.loads((SPECS/'sensors.json').read_text())['fc1_like']
    raw.update(frequency_ghz=1.27, res_range_m=6.0, res_azimuth_m=6.0, pixel_spacing_m=3.0, looks=4, polarisation='HH')
    (tmp_path/'lband.json').write_text(json.dumps({'lband_like': raw}))
    sensor = get_sensor(tmp_path/'lband.json')
    assert sensor.name == 'lband_like' and sensor.looks == 4
    assert render(['B-52'], sensor, 48, seed=0)['intensity'].shape == (1, 48, 48)
    bad = dict(raw, looks=0); (tmp_path/'bad.json').write_text(json.dumps({'bad': bad}))
    with pytest.raises(ValueError, match='looks'): load_sensors(tmp_path/'bad.json')


def test_deterministic_by_seed_and_seed_sensitive():
    a = simulate_chips(['F-15', 'B-52'], 'tsx_like', 60, 32, seed=5)['intensity']
    b = simulate_chips(['F-15', 'B-52'], 'tsx_like', 60, 32, seed=5)['intensity']
    c = simulate_chips(['F-15', 'B-52'], 'tsx_like', 60, 32, seed=6)['intensity']
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_export_roundtrip_db_window():
    from sar_xsensor.sensors import Sensor
    fc1 = Sensor(**{**get_sensor('fc1_like').to_dict(), 'export': dict(kind='db_window', lo_db=-25., hi_db=5.)})
    I = 10**(np.linspace(-24, 4, 64*64)/10).reshape(1, 64, 64).astype(np.float32)
    back = display_to_intensity(export_display(I, fc1), fc1)
    assert np.abs(10*np.log10(back) - 10*np.log10(I)).max() <= 30/255/2 + 1e-4


def test_benchmark_layout_manifest_and_resume(tmp_path):
    bench = dict(get_preset('tiny')['benchmark'], source_counts={'F-16': 2, 'C-130': 1}, target_counts={'F-16': 1, 'C-130': 1},
                 target_val_per_class=0, target_test_per_class=0, fresh_per_class=0, twins=False)
    man = build_benchmark(tmp_path, bench, seed=3, progress=False)
    assert list(man.columns) == MANIFEST_COLUMNS and len(man) == 5
    for p, q in zip(man.path, man.intensity_path):
        assert (tmp_path/p).exists() and np.load(tmp_path/q).dtype == np.float32
    assert set(man.sensor) == {'tsx_like', 'fc1_like'} and (tmp_path/'specs'/'aircraft.csv').exists()
    saved = pd.read_csv(tmp_path/'manifest.csv')
    assert saved.pixel_spacing_m.between(0.5, 5).all() and saved.incidence_deg.between(20, 45).all()
    before = {p: (tmp_path/p).read_bytes() for p in man.path}
    man2 = build_benchmark(tmp_path, bench, seed=3, progress=False)   # resume: nothing changes
    assert {p: (tmp_path/p).read_bytes() for p in man2.path} == before
