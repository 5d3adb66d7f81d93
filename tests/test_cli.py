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


def test_reproduce_shares_the_work_among_processes(tmp_path):
    "`torchrun` (accelerate's multi-CPU mode here; one process per GPU on a GPU box): LoRA is data-parallel, jobs are dealt out."
    import pandas as pd
    bindir = Path(sys.executable).parent
    exe, torchrun = shutil.which('sar-xsensor') or str(bindir/'sar-xsensor'), shutil.which('torchrun') or str(bindir/'torchrun')
    r = subprocess.run([torchrun, '--nproc_per_node', '2', exe, 'reproduce', '--preset', 'tiny', '--out', str(tmp_path/'run'),
                        '--seeds', '1', '--worlds', '0', '--tables', 'table3', '--quiet'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    run = json.loads((tmp_path/'run'/'records'/'run.json').read_text())
    assert run['processes'] == 2 and run['timings']['calls'] == 1
    assert json.loads((tmp_path/'run'/'stage1'/'adapter'/'adapter.json').read_text())['processes'] == 2
    assert {'stage2_source_both', 'stage2_content_both', 'classifiers'} <= set(run['timings'])
    t = pd.read_csv(tmp_path/'run'/'tables'/'table3.csv')
    assert len(t) == 7 and t.accuracy_mean.between(0, 100).all() and (t.n_seeds == 1).all()   # incl. the no-style row and two ceilings
    assert r.stdout.count('done in') == 1                      # only the main process reports
