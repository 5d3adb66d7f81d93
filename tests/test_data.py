import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sar_xsensor.data import (scan_chips, load_chips, read_chip, common_classes, split_target, save_split, load_split,
                              ChipReadError)


def make_tree(root, spec):
    for cls, n in spec.items():
        (root/cls).mkdir(parents=True, exist_ok=True)
        for i in range(n): Image.fromarray(np.full((20, 24), 10*i, np.uint8)).save(root/cls/f'{i}.png')
    return root


def test_formats(tmp_path):
    import tifffile
    tifffile.imwrite(tmp_path/'a.tif', np.ones((10, 10), np.uint16)*300)
    Image.fromarray(np.zeros((8, 9, 3), np.uint8)).save(tmp_path/'b.jpg')
    np.save(tmp_path/'c.npy', np.ones((5, 5)))
    assert read_chip(tmp_path/'a.tif').max() == pytest.approx(300*255/65535) and read_chip(tmp_path/'b.jpg').shape == (8, 9)   # 16-bit on the 8-bit scale
    assert read_chip(tmp_path/'c.npy', with_kind=True)[1] == 'intensity' and read_chip(tmp_path/'b.jpg', with_kind=True)[1] == 'display'
    np.save(tmp_path/'d.npy', np.ones((2, 3, 4, 5)))
    with pytest.raises(ChipReadError, match='d.npy'): read_chip(tmp_path/'d.npy')


def test_16_bit_and_float_chips_are_read_by_their_dtype(tmp_path):
    "A 16-bit export and its 8-bit version give the same intensity; a float TIFF of linear intensity is used as it is."
    import tifffile
    from sar_xsensor.data import load_intensity
    from sar_xsensor.sensors import get_sensor, export_display
    I = np.random.default_rng(0).gamma(2.6, 0.05/2.6, (1, 32, 32)).astype(np.float32)      # 2.6-look speckle around -13 dB
    d8 = export_display(I, get_sensor('fc1_like'))[0]
    for name, arr in (('c8', d8), ('c16', d8.astype(np.uint16)*257)):
        (tmp_path/name/'A').mkdir(parents=True); Image.fromarray(arr).save(tmp_path/name/'A'/'0.png')
    (tmp_path/'f'/'A').mkdir(parents=True); tifffile.imwrite(tmp_path/'f'/'A'/'0.tif', I[0])
    i8, i16 = (load_intensity(scan_chips(tmp_path/n), 'fc1_like') for n in ('c8', 'c16'))
    assert np.allclose(i8, i16, rtol=1e-4)
    assert np.allclose(load_intensity(scan_chips(tmp_path/'f')), I)                        # no sensor needed: it is intensity
    x = load_chips(tmp_path/'f', 32).x
    assert 0 <= x.min() and x.max() <= 1 and x.std() > 0.1                                # a dB stretch, not a min-max of linear values


def test_bad_inputs_name_the_path(tmp_path):
    root = make_tree(tmp_path/'r', {'A': 3, 'B': 3})
    (root/'B'/'2.png').write_bytes(b'garbage')
    with pytest.raises(ChipReadError, match='2.png'): load_chips(root, 16)
    cs = load_chips(root, 16, skip_bad=True)
    assert len(cs) == 5 and len(cs.skipped) == 1
    (root/'E').mkdir()
    with pytest.raises(ValueError, match='empty'): scan_chips(root)
    with pytest.raises(FileNotFoundError, match='missing_dir'): scan_chips(tmp_path/'missing_dir')


def test_class_sets_must_match(tmp_path):
    a = make_tree(tmp_path/'a', {'A': 1, 'B': 1}); b = make_tree(tmp_path/'b', {'A': 1, 'C': 1})
    with pytest.raises(ValueError, match='class sets differ'): common_classes(a, b)


def test_split_is_stratified_seeded_and_saveable(tmp_path):
    df = pd.DataFrame(dict(path=[f'/d/{c}/{i}.png' for c in 'ABC' for i in range(50)], cls=[c for c in 'ABC' for _ in range(50)]))
    sp = split_target(df, seed=3)
    assert (pd.crosstab(df.cls, sp)['test'] == 15).all()
    assert not set(sp[sp == 'test'].index) & set(sp[sp != 'test'].index)
    save_split(df, sp, tmp_path/'s.csv')
    pd.testing.assert_series_equal(load_split(df, tmp_path/'s.csv'), sp)
    with pytest.raises(ValueError, match='does not list'): load_split(pd.concat([df, df.assign(path='/other.png')]), tmp_path/'s.csv')


def test_manifest_is_joined(tmp_path):
    from sar_xsensor.simulate import build_benchmark
    from sar_xsensor.core import get_preset
    bench = dict(get_preset('tiny')['benchmark'], source_counts={'F-16': 2}, target_counts={'F-16': 3}, target_val_per_class=1,
                 target_test_per_class=2, fresh_per_class=0)
    build_benchmark(tmp_path, bench, progress=False)
    df = scan_chips(tmp_path/'fc1_like')
    assert len(df) == 6 and df.incidence_deg.notna().all() and (df.sensor == 'fc1_like').all()
    assert df.split.tolist() == ['train']*3 + ['val'] + ['test']*2
    tw = scan_chips(tmp_path/'twins'/'fc1_like')                   # the manifest two levels up is found
    assert len(tw) == 2 and (tw.twin_of == tw.id).all() and (tw.domain == 'twin').all()


def test_a_sensor_defined_as_data_is_found_from_the_folder(tmp_path):
    "A benchmark simulated with the user's own sensors resolves them from its specs/sensors.json, also through linked folders."
    import json
    from sar_xsensor.simulate import build_benchmark
    from sar_xsensor.core import get_preset
    from sar_xsensor.data import manifest_sensor
    from sar_xsensor.sensors import get_sensor
    fc1 = {k: v for k, v in get_sensor('fc1_like').to_dict().items() if k != 'name'}
    tsx = {k: v for k, v in get_sensor('tsx_like').to_dict().items() if k != 'name'}
    (tmp_path/'mine.json').write_text(json.dumps({'my_old': tsx, 'my_new': {**fc1, 'looks': 3}}))
    bench = dict(get_preset('tiny')['benchmark'], source_sensor='my_old', target_sensor='my_new', source_counts={'F-16': 2},
                 target_counts={'F-16': 3}, target_val_per_class=1, target_test_per_class=2, fresh_per_class=0)
    build_benchmark(tmp_path/'b', bench, progress=False, sensors_file=tmp_path/'mine.json')
    df = scan_chips(tmp_path/'b'/'my_new')
    s = manifest_sensor(df, what='target', folder=tmp_path/'b'/'my_new')
    assert s.name == 'my_new' and s.looks == 3
    (tmp_path/'linked').mkdir(); (tmp_path/'linked'/'F-16').symlink_to(tmp_path/'b'/'my_new'/'F-16')
    (tmp_path/'linked'/'manifest.csv').symlink_to(tmp_path/'b'/'manifest.csv')     # as a run's data/target_train
    assert manifest_sensor(scan_chips(tmp_path/'linked'), what='target').looks == 3
    with pytest.raises(ValueError, match='not in'): get_sensor('my_new')             # not shipped: the error says where it looked


def test_a_split_file_survives_moving_its_folder(tmp_path):
    "split.csv stores paths relative to its folder: a copied or moved run folder reads its own chips' split."
    import shutil
    make_tree(tmp_path/'run'/'chips', {'A': 3, 'B': 3})
    df = scan_chips(tmp_path/'run'/'chips')
    split = pd.Series(['train', 'test']*3, index=df.index)
    save_split(df, split, tmp_path/'run'/'split.csv')
    assert not pd.read_csv(tmp_path/'run'/'split.csv').path.str.startswith('/').any()
    shutil.move(tmp_path/'run', tmp_path/'moved')
    assert load_split(scan_chips(tmp_path/'moved'/'chips'), tmp_path/'moved'/'split.csv').tolist() == split.tolist()


@pytest.mark.parametrize('bad', ['truncated', 'zero_byte', 'not_an_image', 'nan_npy'])
def test_every_unreadable_chip_is_named(tmp_path, bad):
    "Truncated, zero-byte, non-image and NaN chips: a one-line error naming the file (or skipped with skip_bad)."
    root = make_tree(tmp_path/'r', {'A': 2, 'B': 2})
    good = (root/'A'/'0.png').read_bytes()
    path = root/'B'/('x.npy' if bad == 'nan_npy' else 'x.png')
    if bad == 'truncated': path.write_bytes(good[:len(good)//2])
    elif bad == 'zero_byte': path.write_bytes(b'')
    elif bad == 'not_an_image': path.write_text('hello')
    else: np.save(path, np.full((20, 24), np.nan, np.float32))
    with pytest.raises(ChipReadError, match=path.name): load_chips(root, 16)
    assert load_chips(root, 16, skip_bad=True).skipped == [str(path)]


def test_odd_but_valid_folders_load(tmp_path):
    "RGB chips, mixed sizes, constant chips and paths with spaces and non-ASCII characters all load; an unknown class is named."
    root = tmp_path/'mes données SAR'/'r'
    make_tree(root, {'Boeing 747': 2, 'F-16': 2})
    Image.fromarray(np.full((40, 20, 3), 120, np.uint8)).save(root/'F-16'/'rgb é.png')     # RGB, another size, a constant chip
    cs = load_chips(root, 16)
    assert len(cs) == 5 and cs.x.shape == (5, 16, 16) and cs.classes == ['Boeing 747', 'F-16']
    with pytest.raises(FileNotFoundError, match=r"no folder for classes \['Z-9'\]"): scan_chips(root, classes=['F-16', 'Z-9'])
