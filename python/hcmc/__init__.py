"""hcmc from Python: runs of libhcmc and their results as xarray and pandas.

    import hcmc
    result = hcmc.run("laminar_flow.yaml", num_shards=4, seed=7)
    result.summary            # pandas.DataFrame: mean, sd, q05, q50, q95, r_hat, ...
    result.posterior["D0"]    # xarray.DataArray (chain, draw)
    result.verdict            # {"ok": ..., "failures": [...], "warnings": [...]}
    result = hcmc.load("laminar_flow_results")

The binding is ctypes over libhcmc.so: nothing to compile, and every number
comes from the C library (the same code and bytes as the hcmc command). The
GIL is released while the library runs; its log lines go to the logger
"hcmc"; Ctrl-C stops a run as in the command (finished shards are kept and a
later run with the same output directory resumes) and raises
KeyboardInterrupt. Library errors raise HcmcError with the library's message.
"""
import ctypes
import ctypes.util
import json
import logging
import os
import signal
import time

__all__ = ["run", "load", "simulate", "inspect", "Result", "Dataset", "HcmcError",
           "library_path"]

log = logging.getLogger("hcmc")

# exit statuses of the command, for those who mirror it
EXIT_DIAGNOSTICS = 3


class HcmcError(RuntimeError):
    """An error of libhcmc: .code is its HCMC_E* code, str() its message.
    .output_dir: for a run whose shards were sampled but not combined, the
    directory that holds them (hcmc.load(e.output_dir).shards), else None."""

    def __init__(self, message, code=-1, output_dir=None):
        super().__init__(message)
        self.code = code
        self.output_dir = output_dir


class _Error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("msg", ctypes.c_char * 512)]


class _Progress(ctypes.Structure):
    _fields_ = [("shards", ctypes.c_size_t), ("done", ctypes.c_size_t),
                ("failed", ctypes.c_size_t), ("running", ctypes.c_size_t),
                ("reused", ctypes.c_size_t), ("elapsed", ctypes.c_double),
                ("eta", ctypes.c_double)]


_PROGRESS = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(_Progress))
_SINK = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)


class _Dataset(ctypes.Structure):
    _fields_ = [("n_phi", ctypes.c_size_t), ("n_frames", ctypes.c_size_t),
                ("phi", ctypes.POINTER(ctypes.c_double)),
                ("c2", ctypes.POINTER(ctypes.c_double)),
                ("q", ctypes.c_double), ("L", ctypes.c_double), ("dt", ctypes.c_double),
                ("source", ctypes.c_char * 256)]


class _Select(ctypes.Structure):
    _fields_ = [("q", ctypes.c_double), ("n_ranges", ctypes.c_size_t),
                ("ranges", ctypes.c_void_p), ("fallback_all", ctypes.c_bool),
                ("start_frame", ctypes.c_long), ("end_frame", ctypes.c_long),
                ("dt", ctypes.c_double)]


class _Model(ctypes.Structure):
    _fields_ = [("mode", ctypes.c_int), ("convention", ctypes.c_int),
                ("q", ctypes.c_double), ("L", ctypes.c_double), ("dt", ctypes.c_double),
                ("n_t", ctypes.c_size_t)]


_DP = ctypes.POINTER(ctypes.c_double)


class _Synth(ctypes.Structure):
    _fields_ = [("model", _Model), ("n_phi", ctypes.c_size_t), ("phi", _DP),
                ("phys", ctypes.c_double * 7), ("contrast", _DP), ("offset", _DP),
                ("noise", ctypes.c_double), ("seed", ctypes.c_uint64)]


class _Write(ctypes.Structure):
    _fields_ = [("layout", ctypes.c_int), ("ds", ctypes.POINTER(_Dataset)),
                ("frame_time", ctypes.c_double), ("mode", ctypes.c_int), ("phys", _DP),
                ("contrast", _DP), ("offset", _DP), ("noise", ctypes.c_double),
                ("seed", ctypes.c_ulonglong), ("compress", ctypes.c_bool)]


class _Map(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 64), ("number", ctypes.c_long),
                ("q", ctypes.c_double), ("phi", ctypes.c_double)]


class _Info(ctypes.Structure):
    _fields_ = [("layout", ctypes.c_int), ("group", ctypes.c_char * 64),
                ("n_maps", ctypes.c_size_t), ("maps", ctypes.POINTER(_Map)),
                ("n_frames", ctypes.c_size_t), ("frame_time", ctypes.c_double),
                ("compression", ctypes.c_char * 32), ("n_q_bins", ctypes.c_size_t),
                ("q_bins", _DP)]


class _Options(ctypes.Structure):
    _fields_ = [("fresh", ctypes.c_bool), ("progress", _PROGRESS),
                ("user", ctypes.c_void_p), ("pool", ctypes.c_void_p),
                ("submit_only", ctypes.c_bool)]


def library_path():
    """Where libhcmc.so is taken from: $HCMC_LIB, the build folder of the
    source tree this package sits in, or the system's library path."""
    env = os.environ.get("HCMC_LIB")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    for build in (os.environ.get("HCMC_BUILD", ""), "build", "build-release"):
        cand = os.path.join(here, "..", "..", build, "libhcmc.so") if build else ""
        if cand and os.path.exists(cand):
            return os.path.normpath(cand)
    found = ctypes.util.find_library("hcmc")
    if not found:
        raise ImportError("hcmc: libhcmc.so not found: build it (make build) or set "
                          "HCMC_LIB to its path")
    return found


_lib = None


def _load_lib():
    global _lib
    if _lib is not None:
        return _lib
    lib = ctypes.CDLL(library_path())
    P, E = ctypes.c_void_p, ctypes.POINTER(_Error)
    sig = {
        "hcmc_config_new": (P, []),
        "hcmc_config_free": (None, [P]),
        "hcmc_config_load": (ctypes.c_int, [ctypes.c_char_p, P, E]),
        "hcmc_config_parse": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_size_t,
                                             ctypes.c_char_p, P, E]),
        "hcmc_config_set": (ctypes.c_int, [P, ctypes.c_char_p, ctypes.c_char_p, E]),
        "hcmc_config_output_dir": (ctypes.c_char_p, [P]),
        "hcmc_run": (ctypes.c_int, [P, ctypes.POINTER(_Options), ctypes.POINTER(P), E]),
        "hcmc_run_result_free": (None, [P]),
        "hcmc_run_dataset": (ctypes.c_int, [P, ctypes.POINTER(_Dataset),
                                            ctypes.POINTER(_Options), ctypes.POINTER(P), E]),
        "hcmc_config_selection": (None, [P, ctypes.POINTER(_Select)]),
        "hcmc_aps_read": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(_Select),
                                         ctypes.POINTER(_Dataset), P, E]),
        "hcmc_dataset_release": (None, [ctypes.POINTER(_Dataset)]),
        "hcmc_synth_dataset": (ctypes.c_int, [ctypes.POINTER(_Synth),
                                              ctypes.POINTER(_Dataset), E]),
        "hcmc_aps_write": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(_Write), E]),
        "hcmc_aps_inspect": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(_Info), E]),
        "hcmc_aps_info_release": (None, [ctypes.POINTER(_Info)]),
        "hcmc_aps_layout_name": (ctypes.c_char_p, [ctypes.c_int]),
        "hcmc_plot_dir": (ctypes.c_int, [ctypes.c_char_p, P,
                                         ctypes.POINTER(ctypes.c_size_t), E]),
        "hcmc_report_write": (ctypes.c_int, [ctypes.c_char_p, E]),
        "hcmc_log_set_sink": (None, [_SINK, P]),
        "hcmc_log_set_level": (None, [ctypes.c_int]),
        "hcmc_stop_install_handlers": (ctypes.c_int, []),
        "hcmc_stop_clear": (None, []),
        "hcmc_stop_requested": (ctypes.c_bool, []),
    }
    for name, (res, args) in sig.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    _lib = lib
    return lib


def _check(rc, err):
    if rc:
        raise HcmcError(err.msg.decode(errors="replace"), err.code)


_LEVELS = {0: logging.ERROR, 1: logging.WARNING, 2: logging.INFO, 3: logging.DEBUG}


@_SINK
def _sink(level, line, user):
    log.log(_LEVELS.get(level, logging.INFO), "%s", line.decode(errors="replace"))


def _value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _flatten(settings):
    """Keyword settings as dotted keys: a__b__c or "a.b.c" both work."""
    for k, v in settings.items():
        yield k.replace("__", "."), _value(v)


class _Bar:
    """Progress as a tqdm bar when tqdm is there, else as log lines."""

    def __init__(self, show):
        self.show, self.bar, self.last = show, None, -1
        try:
            import tqdm  # noqa: F401
            self.tqdm = tqdm.tqdm if show else None
        except ImportError:
            self.tqdm = None

    def __call__(self, user, p):
        if not self.show:
            return
        p = p.contents
        if self.tqdm is not None:
            if self.bar is None:
                self.bar = self.tqdm(total=p.shards, unit="shard", desc="hcmc")
            self.bar.n = p.done
            self.bar.refresh()
        elif p.done != self.last:
            self.last = p.done
            log.info("%d of %d shards done (%.0f s)", p.done, p.shards, p.elapsed)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def run(config, data=None, *, output_dir=None, num_shards=None, seed=None,
        backend=None, workers=None, fresh=False, progress=True, plots=True,
        **settings):
    """Runs the analysis a configuration describes and returns its Result.

    config: a path to a YAML file (homodyne's layout), or a dict of the same
    keys (relative data paths then resolve against the current directory).
    data: an hcmc.Dataset (numpy arrays) instead of the configuration's data
    file; the configuration's selection (phi_filtering, frames) applies to
    it and its q, L and dt are the run's.
    output_dir, num_shards, seed, backend, workers: the command's overrides.
    settings: any other setting by its dotted key, as --set does:
    run(cfg, **{"optimization.cmc.per_shard_mcmc.num_samples": 500}), or
    with "__" for the dots: optimization__cmc__seed=7. fresh samples every
    shard again; plots draws the plots and report.html as the command does.
    A run that finishes but fails its diagnostics returns normally: look at
    result.verdict["ok"]."""
    lib = _load_lib()
    err = _Error()
    if data is not None and not isinstance(data, Dataset):
        raise TypeError("hcmc.run: data must be an hcmc.Dataset")
    c = _config(lib, config, err)
    r = ctypes.c_void_p()
    bar = _Bar(progress)
    cb = _PROGRESS(bar)
    try:
        over = [("output.directory", output_dir),
                ("optimization.cmc.sharding.num_shards", num_shards),
                ("optimization.cmc.seed", seed),
                ("optimization.cmc.backend_config.name", backend),
                ("optimization.cmc.backend_config.num_workers", workers)]
        over = [(k, _value(v)) for k, v in over if v is not None]
        for k, v in over + list(_flatten(settings)):
            _check(lib.hcmc_config_set(c, k.encode(), v.encode(), ctypes.byref(err)), err)
        out = _output_dir(lib, c)
        opts = _Options(fresh=fresh, progress=cb, user=None, pool=None,
                        submit_only=False)
        lib.hcmc_log_set_sink(_sink, None)
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        lib.hcmc_stop_clear()
        lib.hcmc_stop_install_handlers()
        started = time.time()
        try:
            if data is None:
                rc = lib.hcmc_run(c, ctypes.byref(opts), ctypes.byref(r),
                                  ctypes.byref(err))
            else:
                ds = data._struct()
                rc = lib.hcmc_run_dataset(c, ctypes.byref(ds), ctypes.byref(opts),
                                          ctypes.byref(r), ctypes.byref(err))
        finally:
            for sig, handler in previous.items():  # Python's handlers back
                if handler is not None:
                    signal.signal(sig, handler)
            stopped = lib.hcmc_stop_requested()
            lib.hcmc_stop_clear()
            bar.close()
        if rc and stopped:
            raise KeyboardInterrupt(err.msg.decode(errors="replace") +
                                    f" (finished shards are kept in {out}/shards)")
        if rc:  # shards that could not be combined leave their draws
            nc = os.path.join(out, "posterior.nc")
            kept = os.path.exists(nc) and os.path.getmtime(nc) >= int(started)
            if kept and plots:
                try:
                    Result(out).plot(show=False)
                except HcmcError:
                    pass
            raise HcmcError(err.msg.decode(errors="replace") +
                            (f" (the shards' draws are in {out}: hcmc.load(...).shards)"
                             if kept else ""), err.code, out if kept else None)
        lib.hcmc_run_result_free(r)
        r = ctypes.c_void_p()
        result = load(out)
        if plots:
            result.plot()
        return result
    finally:
        lib.hcmc_log_set_sink(_SINK(), None)
        if r:
            lib.hcmc_run_result_free(r)
        lib.hcmc_config_free(c)


class Dataset:
    """Two-time correlation maps in memory: c2[n_phi, n_t, n_t] (any real
    dtype, any memory order; the upper triangle i < j is used, NaN and inf
    are left out and counted in the log), phi[n_phi] in degrees, the frame
    step dt (s), the wavevector q (1/A) and the stator-rotor gap L (A; None:
    the configuration's)."""

    def __init__(self, c2, phi, dt, q, L=None, source="numpy arrays"):
        import numpy as np
        c2 = np.asarray(c2)
        phi = np.atleast_1d(np.asarray(phi, dtype=np.float64))
        if c2.ndim != 3 or c2.shape[1] != c2.shape[2]:
            raise ValueError(f"hcmc.Dataset: c2 must be [n_phi, n_t, n_t], not {c2.shape}")
        if phi.shape != (c2.shape[0],):
            raise ValueError(f"hcmc.Dataset: phi has {phi.size} angles, c2 {c2.shape[0]}")
        if not np.issubdtype(c2.dtype, np.number) or np.iscomplexobj(c2):
            raise ValueError(f"hcmc.Dataset: c2 of dtype {c2.dtype} is not real")
        self.c2 = np.ascontiguousarray(c2, dtype=np.float64)
        self.phi = np.ascontiguousarray(phi)
        self.dt, self.q = float(dt), float(q)
        self.L = float(L) if L is not None else 0.0
        self.source = str(source)

    @classmethod
    def from_file(cls, path, config):
        """The maps of an APS HDF5 file as config (a path or a dict) selects
        them (q bin, phi_filtering, frames), read by the library."""
        lib = _load_lib()
        err = _Error()
        c = _config(lib, config, err)
        try:
            sel = _Select()
            lib.hcmc_config_selection(c, ctypes.byref(sel))
            ds = _Dataset()
            _check(lib.hcmc_aps_read(os.fsencode(path), ctypes.byref(sel),
                                     ctypes.byref(ds), None, ctypes.byref(err)), err)
        finally:
            lib.hcmc_config_free(c)
        try:
            return _dataset_from(ds, os.fsdecode(path))
        finally:
            lib.hcmc_dataset_release(ctypes.byref(ds))

    def _struct(self):
        ds = _Dataset(n_phi=self.c2.shape[0], n_frames=self.c2.shape[1],
                      phi=self.phi.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                      c2=self.c2.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                      q=self.q, L=self.L, dt=self.dt)
        ds.source = self.source.encode()[:255]
        return ds

    def __repr__(self):
        n, m = self.c2.shape[:2]
        return f"<hcmc.Dataset {n} angles x {m} frames, dt {self.dt:g} s, q {self.q:g}>"


_PHYS = ("D0", "alpha", "D_offset", "gamma_dot_t0", "beta", "gamma_dot_t_offset", "phi0")
_TRUTH = {"D0": 2e4, "alpha": -0.5, "D_offset": 100, "gamma_dot_t0": 2e-4, "beta": -0.3,
          "gamma_dot_t_offset": 1e-5, "phi0": 4}
_LAYOUTS = {"current": 0, "legacy": 1}


def _dataset_from(ds, source):
    import numpy as np
    n, m = ds.n_phi, ds.n_frames
    c2 = np.ctypeslib.as_array(ds.c2, shape=(n * m * m,)).reshape(n, m, m).copy()
    phi = np.ctypeslib.as_array(ds.phi, shape=(n,)).copy()
    return Dataset(c2, phi, ds.dt, ds.q, ds.L or None, source=source)


def simulate(mode="laminar_flow", *, frames=200, angles=(-45, 0, 45, 90), q=0.0054,
             dt=0.1, L=2e6, params=None, contrast=0.3, offset=1.0, noise=0.02, seed=42,
             path=None, layout="current", compress=True):
    """Synthetic c2 of the model, as `hcmc simulate` makes it (the same seed
    gives the same values): a Dataset, also written to path (an APS HDF5
    file in layout "current" or "legacy", float32 maps) when given. params:
    true physical parameters by name (the rest: hcmc simulate's defaults)."""
    import numpy as np
    lib = _load_lib()
    err = _Error()
    modes = {"static": 0, "laminar_flow": 1}
    if mode not in modes:
        raise ValueError(f"hcmc.simulate: mode {mode!r}: static or laminar_flow")
    if layout not in _LAYOUTS:
        raise ValueError(f"hcmc.simulate: layout {layout!r}: current or legacy")
    truth = dict(_TRUTH)
    for k, v in (params or {}).items():
        if k not in truth:
            raise ValueError(f"hcmc.simulate: unknown parameter {k!r}")
        truth[k] = float(v)
    phi = np.ascontiguousarray(angles, dtype=np.float64)
    con = np.full(phi.size, float(contrast))
    off = np.full(phi.size, float(offset))
    spec = _Synth(model=_Model(mode=modes[mode], convention=0, q=q, L=L, dt=dt,
                               n_t=int(frames)),
                  n_phi=phi.size, phi=phi.ctypes.data_as(_DP),
                  contrast=con.ctypes.data_as(_DP), offset=off.ctypes.data_as(_DP),
                  noise=noise, seed=int(seed))
    for k, name in enumerate(_PHYS):
        spec.phys[k] = truth[name]
    ds = _Dataset()
    _check(lib.hcmc_synth_dataset(ctypes.byref(spec), ctypes.byref(ds), ctypes.byref(err)),
           err)
    try:
        if path is not None:
            w = _Write(layout=_LAYOUTS[layout], ds=ctypes.pointer(ds), frame_time=dt,
                       mode=modes[mode], phys=spec.phys, contrast=con.ctypes.data_as(_DP),
                       offset=off.ctypes.data_as(_DP), noise=noise, seed=int(seed),
                       compress=compress)
            _check(lib.hcmc_aps_write(os.fsencode(path), ctypes.byref(w),
                                      ctypes.byref(err)), err)
        return _dataset_from(ds, "synthetic" if path is None else os.fsdecode(path))
    finally:
        lib.hcmc_dataset_release(ctypes.byref(ds))


def inspect(path):
    """What `hcmc inspect` says of an APS HDF5 file, as a dict: layout,
    group, frames, frame_time (None when absent), compression, q_bins and
    maps (name, number, q, phi)."""
    lib = _load_lib()
    err = _Error()
    info = _Info()
    _check(lib.hcmc_aps_inspect(os.fsencode(path), ctypes.byref(info), ctypes.byref(err)),
           err)
    try:
        ft = info.frame_time
        return {
            "layout": lib.hcmc_aps_layout_name(info.layout).decode(),
            "group": info.group.decode(),
            "frames": info.n_frames,
            "frame_time": None if ft != ft else ft,
            "compression": info.compression.decode(),
            "q_bins": [info.q_bins[k] for k in range(info.n_q_bins)],
            "maps": [{"name": info.maps[k].name.decode(), "number": info.maps[k].number,
                      "q": info.maps[k].q, "phi": info.maps[k].phi}
                     for k in range(info.n_maps)],
        }
    finally:
        lib.hcmc_aps_info_release(ctypes.byref(info))


def _config(lib, config, err):
    c = lib.hcmc_config_new()
    if not c:
        raise MemoryError("hcmc: out of memory")
    if isinstance(config, dict):
        text = json.dumps(config).encode()  # JSON is YAML
        rc = lib.hcmc_config_parse(text, len(text), b"<dict>", c, ctypes.byref(err))
    else:
        rc = lib.hcmc_config_load(os.fsencode(config), c, ctypes.byref(err))
    if rc:
        lib.hcmc_config_free(c)
        _check(rc, err)
    return c


def _output_dir(lib, c):
    return os.path.abspath(os.fsdecode(lib.hcmc_config_output_dir(c)))


class Result:
    """A finished run read from its directory: posterior, sample_stats and
    shards (xarray.Dataset), summary (pandas.DataFrame), verdict (dict)."""

    def __init__(self, output_dir):
        self.output_dir = os.path.abspath(output_dir)
        path = os.path.join(self.output_dir, "summary.json")
        try:
            with open(path) as f:
                self._summary_json = json.load(f)
        except OSError as e:
            raise HcmcError(f"{path}: {e.strerror}") from None
        except ValueError as e:
            raise HcmcError(f"{path}: not valid JSON ({e})") from None
        self._groups = {}

    def _group(self, name):
        if name not in self._groups:
            import xarray as xr
            path = os.path.join(self.output_dir, "posterior.nc")
            try:
                self._groups[name] = xr.load_dataset(path, group=name)
            except (OSError, ValueError) as e:
                raise HcmcError(f"{path}: group {name}: {e}") from None
        return self._groups[name]

    @property
    def posterior(self):
        """Combined draws, dims (chain, draw), constrained units."""
        return self._group("posterior")

    @property
    def sample_stats(self):
        """NUTS statistics, dims (shard, chain, draw)."""
        return self._group("sample_stats")

    @property
    def shards(self):
        """Every shard's own draws, dims (shard, chain, draw)."""
        return self._group("shards")

    @property
    def summary(self):
        import pandas as pd
        p = self._summary_json["parameters"]
        cols = ["mean", "sd", "q05", "q50", "q95", "r_hat", "ess_bulk", "ess_tail",
                "mcse_mean", "mcse_sd"]
        df = pd.DataFrame.from_dict(p, orient="index")
        return df.reindex(columns=cols).astype(float)

    @property
    def verdict(self):
        """run.verdict of summary.json: ok, failures, warnings, thresholds."""
        return self._summary_json["run"].get("verdict")

    @property
    def run_info(self):
        return self._summary_json["run"]

    @property
    def modes(self):
        """run.modes of summary.json where the posterior has several modes (each
        one's weight and, where sampled one by one, weight_se and its own
        parameter table); None where it has one."""
        return self._summary_json["run"].get("modes")

    @property
    def draw_modes(self):
        """Each draw's mode, dims (chain, draw), numbered as in modes, where the
        modes were sampled one by one; None otherwise."""
        if "modes_weighed_by" not in self._summary_json["run"]:
            return None
        return self._group("modes")["draw_mode"]

    def to_inference_data(self):
        try:
            import arviz as az
        except ImportError:
            raise ImportError("hcmc: to_inference_data needs arviz (pip install "
                              "arviz); posterior.nc already follows its layout") from None
        return az.from_netcdf(os.path.join(self.output_dir, "posterior.nc"))

    def plot(self, show=None):
        """Draws the run's plots and report.html; returns the plots' paths.
        show (None: when running in a Jupyter kernel) also displays them."""
        lib = _load_lib()
        err = _Error()
        n = ctypes.c_size_t()
        d = os.fsencode(self.output_dir)
        lib.hcmc_log_set_sink(_sink, None)
        try:
            _check(lib.hcmc_plot_dir(d, None, ctypes.byref(n), ctypes.byref(err)), err)
            _check(lib.hcmc_report_write(d, ctypes.byref(err)), err)
        finally:
            lib.hcmc_log_set_sink(_SINK(), None)
        pdir = os.path.join(self.output_dir, "plots")
        paths = sorted(os.path.join(pdir, f) for f in os.listdir(pdir) if f.endswith(".png"))
        if show is None:
            try:
                from IPython import get_ipython
                show = get_ipython() is not None and hasattr(get_ipython(), "kernel")
            except ImportError:
                show = False
        if show:
            from IPython.display import Image, display
            for p in paths:
                display(Image(filename=p))
        return paths

    def __repr__(self):
        v = self.verdict or {}
        return (f"<hcmc.Result {self.output_dir}: {len(self._summary_json['parameters'])} "
                f"parameters, verdict {'ok' if v.get('ok') else 'FAILED'}>")


def load(run_dir):
    """The Result of the run in run_dir (hcmc run's output directory)."""
    return Result(run_dir)
