"""``unlearn-gui --self-test`` is how a built bundle is checked: it must pass on a fresh process."""
import os
import subprocess
import sys


def test_self_test_passes_in_a_fresh_process():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "unlearn_gui", "--self-test"], capture_output=True, text=True,
                       timeout=600, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "self-test passed" in r.stdout and "FAIL" not in r.stdout
