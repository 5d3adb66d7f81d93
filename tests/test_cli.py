import json, shutil, subprocess, sys
from pathlib import Path

import pytest

import sar_xsensor
from sar_xsensor.cli import main


def test_simulate_and_stats_from_the_command_line(tmp_path):
    exe = shutil.which('sar-xsensor') or str(Path(sys.executable).parent/'sar-xsensor')
    r = subprocess.run([exe, 'simulate', '--preset', 'tiny', '--out', str(tmp_path/'b'), '--seed', '2', '--quiet'],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (tmp_path/'b'/'manifest.csv').exists() and (tmp_path/'b'/'fc1_like'/'F-16').is_dir()
    r = subprocess.run([exe, 'stats', str(tmp_path/'b'/'tsx_like'), str(tmp_path/'b'/'fc1_like'), '--out', str(tmp_path/'s.json')],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rec = json.loads((tmp_path/'s.json').read_text())
    assert rec['metrics']['enl_b'] > rec['metrics']['enl_a'] > 0


def test_bad_arguments_exit_with_a_message(tmp_path, capsys):
    with pytest.raises(SystemExit) as e: main(['simulate', '--preset', 'nope', '--out', str(tmp_path)])
    assert e.value.code == 2 and "invalid choice: 'nope'" in capsys.readouterr().err
    exe = shutil.which('sar-xsensor') or str(Path(sys.executable).parent/'sar-xsensor')
    r = subprocess.run([exe], capture_output=True, text=True)
    assert r.returncode == 2 and 'COMMAND' in r.stderr                  # no command: usage and a non-zero exit
    r = subprocess.run([exe, '--version'], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f'sar-xsensor {sar_xsensor.__version__}'
    with pytest.raises(SystemExit, match='not found'): main(['stats', str(tmp_path/'x'), str(tmp_path/'y')])
    stage2 = ['migrate', '--content', str(tmp_path/'x'), '--style', str(tmp_path/'y'), '--out', str(tmp_path/'z')]
    with pytest.raises(SystemExit, match=r"unknown loss weight\(s\) \['frq'\]"): main(stage2 + ['--weights', 'frq=1'])
    with pytest.raises(SystemExit, match="--weights item 'freq': write term=value"): main(stage2 + ['--weights', 'freq'])


def test_reproduce_on_your_own_folders(tmp_path):
    "Bring your own data: plain PNG class folders (no manifest), sensors named on the command line, one table."
    import shutil
    from sar_xsensor.simulate import build_benchmark
    from sar_xsensor.core import get_preset
    b = get_preset('tiny')['benchmark']
    build_benchmark(tmp_path/'sim', b, seed=5, progress=False)
    for sensor, dst in ((b['source_sensor'], 'old'), (b['target_sensor'], 'new')):
        for p in (tmp_path/'sim'/sensor).glob('*/*.png'):
            (tmp_path/dst/p.parent.name).mkdir(parents=True, exist_ok=True); shutil.copy(p, tmp_path/dst/p.parent.name/p.name)
    with pytest.raises(SystemExit, match='--target-sensor'):
        main(['reproduce', '--out', str(tmp_path/'run0'), '--source', str(tmp_path/'old'), '--target', str(tmp_path/'new'),
              '--tables', 'table3', '--seeds', '1', '--quiet'])
    main(['reproduce', '--out', str(tmp_path/'run'), '--source', str(tmp_path/'old'), '--target', str(tmp_path/'new'),
          '--source-sensor', b['source_sensor'], '--target-sensor', b['target_sensor'], '--target-train-per-class', '4',
          '--tables', 'table3', '--seeds', '1', '--quiet'])
    import pandas as pd
    t = pd.read_csv(tmp_path/'run'/'tables'/'table3.csv')
    assert t.training_set.tolist() == ['target_only', 'target+source', 'target+migrated_source', 'ours']   # no twins, no spacings: no ceiling
    assert t.accuracy_mean.between(0, 100).all() and (t.n_seeds == 1).all()
    rec = json.loads((tmp_path/'run'/'world0'/'records'/'target_only_seed0.json').read_text())   # your own data: one world
    assert set(rec['config']['train_counts'].values()) == {4}          # the scarce target: 4 training chips per class
    assert rec['git_commit'] is not None and rec['metrics']['confusion']
    assert rec['config']['world_seed'] == 0 and rec['config']['n_test'] > 0
    dup = json.loads((tmp_path/'run'/'world0'/'data'/'duplicates.json').read_text())     # the split checked for copies first
    assert dup['chips'] > 0 and dup['groups'] == 0 and dup['cross_class_groups'] == 0


def test_reproduce_shares_the_work_among_processes(tmp_path):
    "`torchrun` (accelerate's multi-CPU mode here; one process per GPU on a GPU box): LoRA is data-parallel, jobs are dealt out."
    import pandas as pd
    bindir = Path(sys.executable).parent
    exe, torchrun = shutil.which('sar-xsensor') or str(bindir/'sar-xsensor'), shutil.which('torchrun') or str(bindir/'torchrun')
    # --standalone: a free port of its own, so another torchrun job on the machine cannot meet this one
    r = subprocess.run([torchrun, '--standalone', '--nproc_per_node', '2', exe, 'reproduce', '--preset', 'tiny', '--out', str(tmp_path/'run'),
                        '--seeds', '1', '--worlds', '0', '--tables', 'table3', '--quiet'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    run = json.loads((tmp_path/'run'/'records'/'run.json').read_text())
    assert run['processes'] == 2 and run['timings']['calls'] == 1
    assert json.loads((tmp_path/'run'/'stage1'/'adapter'/'adapter.json').read_text())['processes'] == 2
    assert {'stage2_source_both', 'stage2_content_both', 'classifiers'} <= set(run['timings'])
    t = pd.read_csv(tmp_path/'run'/'tables'/'table3.csv')
    assert len(t) == 7 and t.accuracy_mean.between(0, 100).all() and (t.n_seeds == 1).all()   # incl. the no-style row and two ceilings
    assert r.stdout.count('done in') == 1                      # only the main process reports


def test_a_sensor_defined_as_data_works_in_every_command(tmp_path):
    "Sensors of the user's own file: `simulate --sensors` records them in the benchmark, and `stats` and `baseline` find them there"
    " (before, they stopped with `unknown sensor`); folders without that file take `--sensors FILE`."
    import pandas as pd
    from sar_xsensor.sensors import get_sensor
    defs = {'my_old': get_sensor('tsx_like').to_dict(), 'my_new': {**get_sensor('fc1_like').to_dict(), 'looks': 3}}
    (tmp_path/'mine.json').write_text(json.dumps({k: {x: y for x, y in v.items() if x != 'name'} for k, v in defs.items()}))
    bench = tmp_path/'b'
    import sar_xsensor.core as core
    from sar_xsensor.simulate import build_benchmark
    b = dict(core.get_preset('tiny')['benchmark'], source_sensor='my_old', target_sensor='my_new')
    build_benchmark(bench, b, progress=False, sensors_file=tmp_path/'mine.json')
    main(['stats', str(bench/'my_old'), str(bench/'my_new'), '--out', str(tmp_path/'s.json')])
    rep = json.loads((tmp_path/'s.json').read_text())['metrics']
    assert rep['enl_b'] > rep['enl_a'] > 0
    main(['baseline', 'histmatch', '--source', str(bench/'my_old'), '--target', str(bench/'my_new'), '--out', str(tmp_path/'hm'), '--quiet'])
    assert len(pd.read_csv(tmp_path/'hm'/'manifest.csv')) == len(list((bench/'my_old').glob('*/*.png')))
    plain = tmp_path/'plain'                                  # PNGs copied out of the benchmark: the sensor name needs --sensors
    for p in (bench/'my_new').glob('*/*.png'): (plain/p.parent.name).mkdir(parents=True, exist_ok=True); shutil.copy(p, plain/p.parent.name/p.name)
    with pytest.raises(SystemExit, match='my_new'): main(['stats', str(bench/'my_old'), str(plain), '--sensor-b', 'my_new'])
    main(['stats', str(bench/'my_old'), str(plain), '--sensor-b', 'my_new', '--sensors', str(tmp_path/'mine.json'), '--out', str(tmp_path/'p.json')])
    assert json.loads((tmp_path/'p.json').read_text())['metrics']['n_b'] == len(list(plain.glob('*/*.png')))


def test_simulate_new_classes_and_counts_without_code(tmp_path):
    "A class added to the catalog, chosen with --classes and counted with --source/--target-per-class."
    import pandas as pd
    from sar_xsensor.sensors import SPECS
    cat = pd.read_csv(SPECS/'aircraft.csv')
    cat = pd.concat([cat, cat[cat['class'] == 'F-16'].assign(**{'class': 'Test-Jet', 'length_m': 17.0})], ignore_index=True)
    cat.to_csv(tmp_path/'cat.csv', index=False)
    main(['simulate', '--out', str(tmp_path/'b'), '--catalog', str(tmp_path/'cat.csv'), '--classes', 'Test-Jet,C-17',
          '--source-per-class', '2', '--target-per-class', '3', '--quiet'])
    man = pd.read_csv(tmp_path/'b'/'manifest.csv')
    assert set(man.cls) == {'Test-Jet', 'C-17'}
    assert (man[man.domain == 'source'].groupby('cls').size() == 2).all()
    assert (man[(man.domain == 'target') & (man.split == 'train')].groupby('cls').size() == 3).all()
    with pytest.raises(SystemExit, match='--source-per-class'):
        main(['simulate', '--out', str(tmp_path/'c'), '--catalog', str(tmp_path/'cat.csv'), '--classes', 'Test-Jet', '--quiet'])


def test_stats_on_real_world_folders_of_mixed_sizes(tmp_path, capsys):
    "Chips of many sizes: a short error naming the fix, then --size fits them (keeping the aspect ratio by default)."
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    for name in ('a', 'b'):
        for i, (h, w) in enumerate([(30, 45), (64, 64), (120, 80), (50, 100)]*3):
            (tmp_path/name/'X').mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(20, 200, (h, w), dtype=np.uint8)).save(tmp_path/name/'X'/f'{i}.png')
    args = ['stats', str(tmp_path/'a'), str(tmp_path/'b'), '--sensor-a', 'tsx_like', '--sensor-b', 'fc1_like']
    with pytest.raises(SystemExit) as e: main(args)
    assert 'different shapes' in str(e.value) and '--size' in str(e.value) and len(str(e.value)) < 300
    main(args + ['--size', '48', '--out', str(tmp_path/'s.json')])
    assert json.loads((tmp_path/'s.json').read_text())['metrics']['n_a'] == 12


def test_reproduce_refuses_an_unfinished_adapter(tmp_path):
    "--adapter skips Stage 1's training; a folder without adapter.json is named in a one-line error before any training."
    (tmp_path/'ad').mkdir()
    with pytest.raises(SystemExit, match='adapter.json'):
        main(['reproduce', '--out', str(tmp_path/'run'), '--adapter', str(tmp_path/'ad'), '--worlds', '0', '--tables', 'table3',
              '--seeds', '1', '--quiet'])


def test_audit_finds_copies_filed_under_two_classes(tmp_path, capsys):
    "A public set 'after expansion': rotated and re-stretched copies, one of them under another class."
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    chips = [np.clip(rng.gamma(1., 40., (48, 48)) + np.pad(np.full((12, 6), 150.), ((18, 18), (21, 21))), 0, 255) for _ in range(8)]
    for c, i, a in [('A', k, chips[k]) for k in range(4)] + [('B', k, chips[k]) for k in range(4, 8)] + \
                   [('A', 8, np.rot90(chips[0])), ('B', 9, np.sqrt(chips[1]/255)*255)]:      # copies; chip 1's under class B
        (tmp_path/'d'/c).mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.asarray(a, np.uint8)).save(tmp_path/'d'/c/f'{i}.png')
    main(['audit', str(tmp_path/'d'), '--size', '48', '--out', str(tmp_path/'pairs.png')])
    said = capsys.readouterr().out
    assert '10 chips, 2 groups of near-duplicates holding 4 chips; 1 groups span two or more classes' in said, said
    assert (tmp_path/'pairs.png').exists()


def test_reproduce_without_stage1_then_with_a_given_adapter(tmp_path):
    "--sets without generated content skip Stage 1; --adapter then serves the content chips without training one."
    import pandas as pd
    out = tmp_path/'run'
    main(['reproduce', '--out', str(out), '--worlds', '0', '--seeds', '1', '--tables', 'table2,table3',
          '--sets', 'target_only,target+migrated_source,histmatch', '--quiet'])
    assert not (out/'stage1').exists()                                             # no set needed generated content
    assert pd.read_csv(out/'tables'/'table3.csv').training_set.tolist() == ['target_only', 'target+migrated_source']
    assert pd.read_csv(out/'tables'/'table2.csv').training_set.tolist() == ['target_only', 'histmatch']
    main(['train-lora', '--data', str(out/'world0'/'benchmark'/'tsx_like'), '--out', str(tmp_path/'adapter'), '--steps', '4', '--quiet'])
    main(['reproduce', '--out', str(out), '--worlds', '0', '--seeds', '1', '--tables', 'table3', '--sets', 'target_only,ours',
          '--adapter', str(tmp_path/'adapter'), '--quiet'])
    assert not (out/'stage1'/'adapter').exists() and len(pd.read_csv(out/'stage1'/'content'/'manifest.csv')) > 0
    run = json.loads((out/'records'/'run.json').read_text())
    assert run['config']['adapter'] == str(tmp_path/'adapter') and run['config']['sets'] == ['target_only', 'ours']
    assert pd.read_csv(out/'tables'/'table3.csv').training_set.tolist() == ['target_only', 'ours']
    with pytest.raises(SystemExit, match=r"unknown training sets \['ourz'\]"):
        main(['reproduce', '--out', str(tmp_path/'r2'), '--sets', 'ourz', '--quiet'])


def test_bad_values_and_outputs_are_named_before_any_work(tmp_path, capsys):
    "Counts and steps must be positive, rates finite; --out must be writable as what the command writes (folder or file)."
    for argv, opt in ((['train-lora', '--data', 'x', '--out', 'y', '--steps', '0'], '--steps'),
                      (['train-lora', '--data', 'x', '--out', 'y', '--steps', '-1'], '--steps'),
                      (['migrate', '--content', 'a', '--style', 'b', '--out', 'c', '--steps', '0'], '--steps'),
                      (['generate', '--adapter', 'a', '--out', 'b', '--n-per-class', '0'], '--n-per-class'),
                      (['migrate', '--content', 'a', '--style', 'b', '--out', 'c', '--lr', 'nan'], '--lr')):
        with pytest.raises(SystemExit) as e: main(argv)
        err = capsys.readouterr().err
        assert e.value.code == 2 and f'argument {opt}: must be positive' in err, err
    (tmp_path/'file').write_text('x')
    with pytest.raises(SystemExit, match='is an existing file: give a folder'):
        main(['simulate', '--out', str(tmp_path/'file'), '--quiet'])
    with pytest.raises(SystemExit, match='is a folder: give a file name'): main(['stats', str(tmp_path), str(tmp_path), '--out', str(tmp_path)])
    with pytest.raises(SystemExit, match='error: .*file'):                     # a file on the way: an OSError, one line
        main(['simulate', '--out', str(tmp_path/'file'/'sub'), '--quiet'])


def test_stats_on_constant_chips_and_a_style_folder_missing_a_class(tmp_path):
    "Constant chips have no speckle: stats says so in one line. A class without style chips is warned about, not styled silently."
    import numpy as np, warnings
    from PIL import Image
    from sar_xsensor.migrate import style_pairs
    from sar_xsensor.data import scan_chips
    for d in ('a', 'b'):
        (tmp_path/d/'C-17').mkdir(parents=True)
        for i in range(2): Image.fromarray(np.full((32, 32), 90, np.uint8)).save(tmp_path/d/'C-17'/f'{i}.png')
    with pytest.raises(SystemExit, match='constant intensity'):
        main(['stats', str(tmp_path/'a'), str(tmp_path/'b'), '--sensor-a', 'tsx_like', '--sensor-b', 'fc1_like'])
    (tmp_path/'a'/'F-16').mkdir(); Image.fromarray(np.full((32, 32), 9, np.uint8)).save(tmp_path/'a'/'F-16'/'0.png')
    with pytest.warns(UserWarning, match=r"classes \['F-16'\] have no chip in the style folder"):
        style_pairs(scan_chips(tmp_path/'a'), scan_chips(tmp_path/'b'), seed=0)


def test_reproduce_killed_in_every_stage_resumes_to_the_same_tables(tmp_path):
    "SIGKILL during Stage 1, during Stage 2 and during the classifiers, then resume: the tables equal an uninterrupted run's, and no empty or unreadable file is left."
    import time
    import pandas as pd
    from sar_xsensor.data import read_chip
    exe = shutil.which('sar-xsensor') or str(Path(sys.executable).parent/'sar-xsensor')
    args = [exe, 'reproduce', '--preset', 'tiny', '--worlds', '0', '--seeds', '1', '--tables', 'table3', '--quiet']
    r = subprocess.run(args + ['--out', str(tmp_path/'ref')], capture_output=True, text=True); assert r.returncode == 0, r.stderr[-2000:]
    out = tmp_path/'killed'
    markers = {'Stage 1': lambda: (out/'stage1'/'adapter'/'checkpoint').exists(),
               'Stage 2': lambda: any((out/'world0'/'stage2'/'source'/'both').glob('*/*.png')),
               'classifiers': lambda: any((out/'world0'/'records').glob('*_seed0.json'))}
    for stage, reached in markers.items():
        p = subprocess.Popen(args + ['--out', str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while p.poll() is None and not reached(): time.sleep(0.05)
        assert p.poll() is None, f"the run ended before {stage} could be interrupted"
        p.kill(); p.wait()
    r = subprocess.run(args + ['--out', str(out)], capture_output=True, text=True); assert r.returncode == 0, r.stderr[-2000:]
    cols = ['training_set', 'accuracy_mean', 'f1_mean']
    pd.testing.assert_frame_equal(pd.read_csv(out/'tables'/'table3.csv')[cols], pd.read_csv(tmp_path/'ref'/'tables'/'table3.csv')[cols])
    files = [f for f in out.rglob('*') if f.is_file() and not f.is_symlink()]
    assert not [f for f in files if f.stat().st_size == 0 and f.name != '.lock']
    for f in files:
        if f.suffix == '.png': read_chip(f)
        if f.suffix == '.json': json.loads(f.read_text())
    assert json.loads((out/'records'/'run.json').read_text())['timings']['killed_calls'] == 3
