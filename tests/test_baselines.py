"The comparison baselines from the command line on the tiny benchmark: every method trains (where needed) and translates."
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sar_xsensor.cli import main
from sar_xsensor.core import get_preset
from sar_xsensor.data import scan_chips, split_target
from sar_xsensor.simulate import build_benchmark
from sar_xsensor.baselines import BASELINES, GAN_METHODS, GANConfig


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    "The tiny benchmark and a folder of its target *training* chips (symlinks, with the manifest)."
    d = tmp_path_factory.mktemp('baselines')
    b = get_preset('tiny')['benchmark']
    build_benchmark(d/'bench', b, seed=0, progress=False)
    tdf = scan_chips(d/'bench'/b['target_sensor'])
    tdf = tdf[split_target(tdf, 0) == 'train']
    for p, c in zip(tdf.path, tdf.cls):
        (d/'train'/c).mkdir(parents=True, exist_ok=True); (d/'train'/c/Path(p).name).symlink_to(p)
    (d/'train'/'manifest.csv').symlink_to(d/'bench'/'manifest.csv')
    return d, d/'bench'/b['source_sensor'], d/'train'


@pytest.mark.parametrize('method', BASELINES)
def test_every_baseline_from_the_cli(tiny, method, capsys):
    d, source, train = tiny
    out = d/method
    torch.set_num_threads(1)
    main(['baseline', method, '--source', str(source), '--target', str(train), '--out', str(out), '--epochs', '1', '--quiet'])
    assert 'chips translated' in capsys.readouterr().out
    man = scan_chips(out)
    assert len(man) == len(scan_chips(source))
    chip = np.asarray(Image.open(man.path.iloc[0]))
    assert chip.shape == (64, 64) and chip.dtype == np.uint8 and chip.std() > 0
    if method in GAN_METHODS:
        curves = json.loads((out/'_train'/'curves.json').read_text())
        assert curves['config']['epochs'] == 1 and len(curves['history']) == 1
        assert (out/'_train'/'curves.png').exists() and (out/'_train'/'checkpoint'/'nets.safetensors').exists()


def test_a_finished_run_resumes_without_retraining(tiny, capsys):
    d, source, train = tiny
    out = d/'cyclegan'
    if not (out/'manifest.csv').exists(): pytest.skip('needs the cyclegan run above')
    before = (out/'_train'/'checkpoint'/'nets.safetensors').stat().st_mtime_ns
    some = sorted(out.glob('*/*.png'))[:3]
    for p in some: p.unlink()                                # a crash lost three chips
    main(['baseline', 'cyclegan', '--source', str(source), '--target', str(train), '--out', str(out), '--epochs', '1', '--quiet'])
    assert all(p.exists() for p in some)
    assert (out/'_train'/'checkpoint'/'nets.safetensors').stat().st_mtime_ns == before   # not retrained


def test_bad_input_is_named(tiny, tmp_path, capsys):
    d, source, train = tiny
    with pytest.raises(SystemExit):                              # the parser names the culprit and exits with status 2
        main(['baseline', 'dcgan', '--source', str(source), '--target', str(train), '--out', str(tmp_path/'x')])
    assert "invalid choice: 'dcgan'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(['baseline', 'cut', '--source', str(source), '--out', str(tmp_path/'x')])
    assert 'the following arguments are required: --target' in capsys.readouterr().err
    (tmp_path/'t'/'B-52').mkdir(parents=True)
    with pytest.raises(SystemExit, match='class sets differ'):
        main(['baseline', 'cut', '--source', str(source), '--target', str(tmp_path/'t'), '--out', str(tmp_path/'x')])


def test_nan_losses_stop_with_the_culprit(tiny):
    from sar_xsensor.baselines import train_translator
    from sar_xsensor.data import load_chips
    d, source, train = tiny
    s, t = load_chips(source, 64), load_chips(train, 64)
    cfg = GANConfig.from_preset('tiny', epochs=1, lambda_cycle=float('nan'))
    with pytest.raises(RuntimeError, match='cyclegan: loss .* at epoch 1'):
        train_translator('cyclegan', s, t, cfg, progress=False)


def test_training_is_deterministic_by_seed(tiny):
    from sar_xsensor.baselines import train_translator
    from sar_xsensor.data import load_chips
    d, source, train = tiny
    s, t = load_chips(source, 64), load_chips(train, 64)
    cfg = GANConfig.from_preset('tiny', epochs=1)
    a, _ = train_translator('stargan', s, t, cfg, seed=3, progress=False)
    b, _ = train_translator('stargan', s, t, cfg, seed=3, progress=False)
    c, _ = train_translator('stargan', s, t, cfg, seed=4, progress=False)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), c.state_dict().values()))


def test_a_renamed_class_folder_leaves_no_stale_chips(tiny, tmp_path):
    "degrade on a folder whose class was renamed since the last run: the old class's chips leave the output and its manifest, with a warning."
    # (the batches are cut anew from the new folder order, so chips that share a batch with the renamed class are redone)
    import shutil
    import pandas as pd
    from sar_xsensor.baselines import translate_dir
    d, source, train = tiny
    src = tmp_path/'src'; shutil.copytree(source, src, symlinks=True)
    sensors = dict(source_sensor='tsx_like', target_sensor='fc1_like')
    first = translate_dir('degrade', src, train, tmp_path/'out', 'tiny', progress=False, **sensors)
    (src/'B-52').rename(src/'Bomber')
    tr = tmp_path/'train'; shutil.copytree(train, tr, symlinks=True); (tr/'B-52').rename(tr/'Bomber')
    with pytest.warns(UserWarning, match='no longer in the input'):
        translate_dir('degrade', src, tr, tmp_path/'out', 'tiny', progress=False, **sensors)
    out = scan_chips(tmp_path/'out')
    assert 'B-52' not in set(out.cls) and not (tmp_path/'out'/'B-52').exists() and len(out) == len(first)
    assert set(pd.read_csv(tmp_path/'out'/'manifest.csv').cls) == set(out.cls)
