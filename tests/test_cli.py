import json, shutil, subprocess, sys
from pathlib import Path

import pytest

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


def test_bad_arguments_exit_with_a_message(tmp_path):
    with pytest.raises(SystemExit, match='unknown preset'): main(['simulate', '--preset', 'nope', '--out', str(tmp_path)])
    with pytest.raises(SystemExit, match='not found'): main(['stats', str(tmp_path/'x'), str(tmp_path/'y')])
