"""The Python binding against the command and the library: the same seed
gives the same bytes through hcmc.run as through `hcmc run`; a dict config
equals its file; errors raise HcmcError with the library's message; Ctrl-C
raises KeyboardInterrupt and leaves no shared memory, temporary file or
worker process. HCMC_EXE: the hcmc command; HCMC_LIB: libhcmc.so (ctest
sets both)."""
import glob
import os
import signal
import subprocess
import threading
import time

import numpy as np
import pytest
import xarray as xr
import yaml

import hcmc

EXE = os.environ.get("HCMC_EXE") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "hcmc")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    subprocess.run([EXE, "simulate", "-o", str(d / "s.h5"), "--mode", "static",
                    "--frames", "60", "--angles", "0,45,90", "--config-out",
                    str(d / "s.yaml")], check=True, capture_output=True)
    return d


def same_draws(a, b):
    for group in ("posterior", "shards"):
        x = xr.load_dataset(os.path.join(a, "posterior.nc"), group=group)
        y = xr.load_dataset(os.path.join(b, "posterior.nc"), group=group)
        assert list(x.data_vars) == list(y.data_vars)
        for v in x.data_vars:
            assert np.array_equal(x[v].values, y[v].values, equal_nan=True), (group, v)


SHORT = {"optimization.cmc.per_shard_mcmc.num_warmup": 150,
         "optimization.cmc.per_shard_mcmc.num_samples": 100,
         "optimization.cmc.enable": True}


def test_same_bytes_as_the_command(data, tmp_path):
    cli = tmp_path / "cli"
    st = subprocess.run([EXE, "run", "--config", str(data / "s.yaml"), "-o", str(cli),
                         "--num-shards", "2", "--seed", "11", "--no-plots", "-q"]
                        + [a for k, v in SHORT.items() for a in ("--set", f"{k}={str(v).lower()}")],
                        capture_output=True)
    assert st.returncode in (0, hcmc.EXIT_DIAGNOSTICS), st.stderr
    r = hcmc.run(str(data / "s.yaml"), output_dir=str(tmp_path / "py"), num_shards=2,
                 seed=11, progress=False, plots=False, **SHORT)
    same_draws(cli, r.output_dir)
    assert list(r.summary.index) == ["D0", "alpha", "D_offset", "contrast", "offset",
                                     "sigma"]
    assert list(r.summary.columns) == ["mean", "sd", "q05", "q50", "q95", "r_hat",
                                       "ess_bulk", "ess_tail", "mcse_mean", "mcse_sd"]
    assert r.posterior["D0"].dims == ("chain", "draw")
    assert r.shards["D0"].dims == ("shard", "chain", "draw")
    assert r.verdict["ok"] == (st.returncode == 0)
    # load() reads the same run back
    again = hcmc.load(r.output_dir)
    assert again.summary.equals(r.summary)


def test_dict_config_equals_its_file(data, tmp_path, monkeypatch):
    cfg = yaml.safe_load(open(data / "s.yaml"))
    monkeypatch.chdir(data)  # relative data paths resolve against the cwd
    a = hcmc.run(str(data / "s.yaml"), output_dir=str(tmp_path / "file"), seed=3,
                 progress=False, plots=False, **SHORT)
    b = hcmc.run(cfg, output_dir=str(tmp_path / "dict"), seed=3, progress=False,
                 plots=False, **SHORT)
    same_draws(a.output_dir, b.output_dir)


def test_plots(data, tmp_path):
    r = hcmc.run(str(data / "s.yaml"), output_dir=str(tmp_path / "p"), progress=False,
                 **SHORT)
    names = [os.path.basename(p) for p in r.plot()]
    assert "trace.png" in names and "marginals.png" in names
    assert os.path.exists(os.path.join(r.output_dir, "report.html"))


def test_errors(data, tmp_path):
    with pytest.raises(hcmc.HcmcError, match="nowhere.yaml"):
        hcmc.run(str(tmp_path / "nowhere.yaml"), output_dir=str(tmp_path / "x"))
    with pytest.raises(hcmc.HcmcError, match="num_samples"):
        hcmc.run(str(data / "s.yaml"), output_dir=str(tmp_path / "x"),
                 **{"optimization.cmc.per_shard_mcmc.num_samples": -4})
    cfg = yaml.safe_load(open(data / "s.yaml"))
    cfg["experimental_data"]["file_path"] = str(tmp_path / "missing.h5")
    with pytest.raises(hcmc.HcmcError, match="missing.h5"):
        hcmc.run(cfg, output_dir=str(tmp_path / "x"), progress=False)
    with pytest.raises(hcmc.HcmcError, match="summary.json"):
        hcmc.load(str(tmp_path / "no_run"))
    # shards that cannot be combined: the error says where their draws are
    with pytest.raises(hcmc.HcmcError, match="the shards disagree") as e:
        hcmc.run(str(data / "s.yaml"), output_dir=str(tmp_path / "f"), num_shards=2,
                 progress=False, **SHORT,
                 **{"optimization.cmc.validation.max_parameter_cv": 1e-9})
    assert e.value.output_dir == str(tmp_path / "f")
    assert hcmc.load(e.value.output_dir).shards["D0"].dims == ("shard", "chain", "draw")
    assert os.path.exists(tmp_path / "f" / "plots" / "trace.png")


def test_keyboard_interrupt(data, tmp_path):
    out = tmp_path / "stopped"
    before = set(glob.glob("/dev/shm/hcmc-*"))
    timer = threading.Timer(2.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    t0 = time.time()
    with pytest.raises(KeyboardInterrupt, match="finished shards are kept"):
        hcmc.run(str(data / "s.yaml"), output_dir=str(out), num_shards=4,
                 backend="multiprocessing", workers=2, progress=False, plots=False,
                 **{"optimization.cmc.enable": True,
                    "optimization.cmc.per_shard_mcmc.num_warmup": 100000})
    timer.cancel()
    assert time.time() - t0 < 60
    assert set(glob.glob("/dev/shm/hcmc-*")) <= before
    assert not glob.glob(str(out / "**" / "*.tmp.*"), recursive=True)
    # no worker process outlives the run
    me = str(os.getpid())
    children = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = open(stat).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me and fields[0] != "Z":
            children.append(stat)
    assert not children, children
    # Python's own signal handling is back
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_numpy_input_equals_file_input(data, tmp_path):
    cfg = str(data / "s.yaml")
    ds = hcmc.Dataset.from_file(str(data / "s.h5"), cfg)
    assert ds.c2.shape == (3, 60, 60) and list(ds.phi) == [0, 45, 90]
    a = hcmc.run(cfg, output_dir=str(tmp_path / "file"), seed=5, progress=False,
                 plots=False, **SHORT)
    b = hcmc.run(cfg, ds, output_dir=str(tmp_path / "numpy"), seed=5, progress=False,
                 plots=False, **SHORT)
    same_draws(a.output_dir, b.output_dir)
    # any real dtype and memory order holding the same values: the same bytes
    # (the file's maps are float32, so float32 loses nothing)
    for k, arr in enumerate((ds.c2.astype(np.float32), np.asfortranarray(ds.c2),
                             ds.c2[:, ::-1, ::-1][:, ::-1, ::-1],
                             np.asfortranarray(ds.c2.astype(np.float32)))):
        d2 = hcmc.Dataset(arr, list(ds.phi), ds.dt, ds.q)
        c = hcmc.run(cfg, d2, output_dir=str(tmp_path / f"v{k}"), seed=5,
                     progress=False, plots=False, **SHORT)
        same_draws(a.output_dir, c.output_dir)


def test_numpy_nan_and_bad_arrays(data, tmp_path, caplog):
    cfg = str(data / "s.yaml")
    ds = hcmc.Dataset.from_file(str(data / "s.h5"), cfg)
    c2 = ds.c2.copy()
    c2[1, 5, 20] = np.nan
    c2[2, 7, 30] = np.inf
    with caplog.at_level("WARNING", logger="hcmc"):
        r = hcmc.run(cfg, hcmc.Dataset(c2, ds.phi, ds.dt, ds.q), output_dir=str(tmp_path / "n"),
                     progress=False, plots=False, **SHORT)
    assert "2 values of the selected maps are not finite" in caplog.text
    full = hcmc.run(cfg, ds, output_dir=str(tmp_path / "f"), progress=False, plots=False,
                    **SHORT)
    assert r.run_info["points"] == full.run_info["points"] - 2
    with pytest.raises(ValueError, match="c2 must be"):
        hcmc.Dataset(c2[0], [0], 0.1, 0.0054)
    with pytest.raises(ValueError, match="phi has 2 angles"):
        hcmc.Dataset(c2, [0, 45], 0.1, 0.0054)
    with pytest.raises(hcmc.HcmcError, match="numpy arrays: q = 0.0054, dt = -1"):
        hcmc.run(cfg, hcmc.Dataset(c2, ds.phi, -1, 0.0054), output_dir=str(tmp_path / "x"),
                 progress=False)


def test_simulate_and_inspect(data, tmp_path):
    # the same values as `hcmc simulate` (which stores float32 maps)
    ds = hcmc.simulate("static", frames=60, angles=(0, 45, 90), path=str(tmp_path / "p.h5"))
    assert ds.c2.shape == (3, 60, 60)
    cli = hcmc.Dataset.from_file(str(data / "s.h5"), str(data / "s.yaml"))
    iu = np.triu_indices(60, 1)
    assert np.array_equal(ds.c2[:, iu[0], iu[1]].astype(np.float32),
                          cli.c2[:, iu[0], iu[1]].astype(np.float32))
    back = hcmc.Dataset.from_file(str(tmp_path / "p.h5"), str(data / "s.yaml"))
    assert np.array_equal(back.c2[:, iu[0], iu[1]], cli.c2[:, iu[0], iu[1]])
    info = hcmc.inspect(str(tmp_path / "p.h5"))
    assert info["layout"].startswith("current") and info["frames"] == 60
    assert [m["phi"] for m in info["maps"]] == [0, 45, 90]
    assert info["frame_time"] == 0.1 and info["compression"] == "lzf"
    with pytest.raises(ValueError, match="unknown parameter"):
        hcmc.simulate(params={"gamma": 1})
    with pytest.raises(hcmc.HcmcError, match="nothing.h5"):
        hcmc.inspect(str(tmp_path / "nothing.h5"))


def test_modes(data, tmp_path):
    """A posterior with two modes (angles 0 and 90 leave phi0's sign open, the
    bounds [-10, 15] are not symmetric): Result.modes and draw_modes; a run
    with one mode has neither."""
    subprocess.run([EXE, "simulate", "-o", str(tmp_path / "m.h5"), "--mode",
                    "laminar_flow", "--frames", "150", "--angles", "0,90", "--param",
                    "phi0=8", "--config-out", str(tmp_path / "m.yaml")],
                   check=True, capture_output=True)
    cfg = yaml.safe_load(open(tmp_path / "m.yaml"))
    for b in cfg["parameter_space"]["bounds"]:
        if b["name"] == "phi0":
            b.update(min=-10, max=15, type="Uniform")
    yaml.safe_dump(cfg, open(tmp_path / "a.yaml", "w"))
    out = str(tmp_path / "a")
    subprocess.run([EXE, "run", "--config", str(tmp_path / "a.yaml"), "-o", out, "-q",
                    "--no-plots"], check=True, capture_output=True)
    r = hcmc.load(out)
    assert len(r.modes) == 2 and abs(sum(m["weight"] for m in r.modes) - 1) < 1e-12
    dm = r.draw_modes
    assert dm.dims == ("chain", "draw")
    exact = r.run_info["modes_weighed_by"] == "bridge_sampling"  # else coin flips
    for i, m in enumerate(r.modes):
        w = m["weight"]
        tol = 1 / dm.size if exact else 4 * (w * (1 - w) / dm.size) ** 0.5
        assert abs(float((dm.values == i).mean()) - w) <= tol
    phi0 = r.posterior["phi0"].values
    assert (phi0[dm.values == 0] * phi0[dm.values == 1][0] < 0).all()
    one = hcmc.run(str(data / "s.yaml"), output_dir=str(tmp_path / "one"),
                   progress=False, plots=False, **SHORT)
    assert one.modes is None and one.draw_modes is None
