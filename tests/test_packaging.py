"The package as users get it: sdist → wheel → installed outside the repository, with its specs, model and licence."
import os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def run(*args, **kw):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    assert r.returncode == 0, (args, r.stdout[-2000:], r.stderr[-2000:])
    return r.stdout

def test_sdist_builds_a_wheel_that_runs_outside_the_repository(tmp_path):
    run(sys.executable, 'setup.py', '-q', 'sdist', '-d', tmp_path/'dist', cwd=ROOT)
    sdist, = (tmp_path/'dist').glob('sar_xsensor-*.tar.gz')
    run(sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation', '-w', tmp_path/'wheels', sdist)
    wheel, = (tmp_path/'wheels').glob('sar_xsensor-*.whl')
    run(sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--target', tmp_path/'site', wheel)
    assert (tmp_path/'site'/'sar_xsensor'/'specs'/'sensors.json').exists()
    assert list((tmp_path/'site').glob('sar_xsensor-*.dist-info/licenses/LICENSE'))
    env = {**os.environ, 'PYTHONPATH': str(tmp_path/'site'), 'OMP_NUM_THREADS': '1'}
    where = run(sys.executable, '-c', 'import sar_xsensor; print(sar_xsensor.__file__)', cwd=tmp_path, env=env)
    assert where.strip().startswith(str(tmp_path/'site')), where          # the wheel, not the repository
    out = run(tmp_path/'site'/'bin'/'sar-xsensor', 'simulate', '--preset', 'tiny', '--out', tmp_path/'sim', '--quiet', cwd=tmp_path, env=env)
    assert 'chips written' in out and (tmp_path/'sim'/'twins').is_dir()
