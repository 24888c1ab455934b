/* hcmc simulate (synthetic APS files) and hcmc inspect (what a file holds). */
#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../base/files.h"
#include "hcmc/aps.h"
#include "hcmc/hcmc.h"

#define MAX_ANGLES 360

static const double default_truth[HCMC_NPHYS_MAX] = {2e4,  -0.5, 100.0, 2e-4,
                                                     -0.3, 1e-5, 4.0};

static void simulate_usage(FILE *f)
{
    cli_help_print(f, "simulate");
}

static int num(const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) {
        fprintf(stderr, "hcmc: error: %s expects a number, got '%s'\n", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Bounds around the truth that leave the logit nearly linear over the
 * posterior (see README, "Geometry matters"). */
static void bounds_for(int k, double v, double lo_hi[2], const double *truth)
{
    switch (k) {
    case HCMC_P_D0:
    case HCMC_P_GAMMA_DOT_T0:
        lo_hi[0] = v / 20;
        lo_hi[1] = v * 5;
        return;
    case HCMC_P_ALPHA:
    case HCMC_P_BETA:
        lo_hi[0] = fmin(-2.0, v - 1);
        lo_hi[1] = fmax(2.0, v + 1);
        return;
    case HCMC_P_D_OFFSET: {
        double w = fmax(10 * fabs(v), 0.5 * truth[HCMC_P_D0]);
        lo_hi[0] = -w;
        lo_hi[1] = w;
        return;
    }
    case HCMC_P_GAMMA_DOT_T_OFFSET: {
        double w = fmax(10 * fabs(v), truth[HCMC_P_GAMMA_DOT_T0]);
        lo_hi[0] = -w;
        lo_hi[1] = w;
        return;
    }
    default:
        lo_hi[0] = v - 10;
        lo_hi[1] = v + 10;
    }
}

static int write_config(const char *path, const char *data, hcmc_mode mode,
                        const hcmc_model *m, size_t n_t, const double *truth)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return -1;
    fprintf(
        f,
        "# Written by `hcmc simulate` for %s; true values in the file's attributes.\n"
        "analysis_mode: %s\n"
        "experimental_data:\n  file_path: %s\n"
        "analyzer_parameters:\n  dt: %.17g\n  start_frame: 1\n  end_frame: -1\n"
        "  scattering:\n    wavevector_q: %.17g\n"
        "  geometry:\n    stator_rotor_gap: %.17g\n"
        "parameter_space:\n  bounds:\n",
        data, hcmc_mode_name(mode), data, m->dt, m->q, m->L);
    for (size_t k = 0; k < hcmc_mode_nphys(mode); k++) {
        double b[2];
        bounds_for((int)k, truth[k], b, truth);
        fprintf(f,
                "    - name: %s\n      min: %.10g\n      max: %.10g\n      type: "
                "TruncatedNormal\n",
                hcmc_phys_name((int)k), b[0], b[1]);
    }
    (void)n_t;
    hcmc_error e;
    int rc = fclose(f) || hcmc__write_text(path, text, 0, &e) ? -1 : 0;
    free(text);
    return rc;
}

/* --angles A,B,...: at most MAX_ANGLES. Non-zero (said why) when bad. */
static int parse_angles(const char *v, double *phi, size_t *n_phi)
{
    int bad = 0;
    *n_phi = 0;
    char *copy = strdup(v), *save = NULL;
    if (!copy)
        return 1;
    for (char *t = strtok_r(copy, ",", &save); t && !bad;
         t = strtok_r(NULL, ",", &save)) {
        if (*n_phi == MAX_ANGLES) {
            fprintf(stderr, "hcmc: error: --angles: at most %d\n", MAX_ANGLES);
            bad = 1;
        } else
            bad = num("--angles", t, &phi[(*n_phi)++]);
    }
    free(copy);
    if (!bad && *n_phi == 0) {
        fprintf(stderr, "hcmc: error: --angles: no angle given\n");
        bad = 1;
    }
    return bad;
}

/* --param NAME=VALUE into truth. Non-zero (said why) when bad. */
static int parse_param(const char *v, double *truth)
{
    const char *eq = strchr(v, '=');
    char name[64];
    if (!eq || (size_t)(eq - v) >= sizeof name) {
        fprintf(stderr, "hcmc: error: --param expects NAME=VALUE, got '%s'\n", v);
        return 1;
    }
    memcpy(name, v, (size_t)(eq - v));
    name[eq - v] = 0;
    int k = hcmc_phys_index(name);
    if (k < 0) {
        fprintf(stderr, "hcmc: error: --param: unknown parameter '%s'\n", name);
        return 1;
    }
    return num("--param", eq + 1, &truth[k]);
}

int cmd_simulate(int argc, char **argv)
{
    hcmc_mode mode = HCMC_MODE_LAMINAR;
    hcmc_aps_layout layout = HCMC_APS_CURRENT;
    const char *out = NULL, *config_out = NULL;
    double frames = 200, q = 0.0054, dt = 0.1, gap = 2e6, contrast = 0.3, offset = 1.0,
           noise = 0.02, seed = 42;
    double truth[HCMC_NPHYS_MAX];
    memcpy(truth, default_truth, sizeof truth);
    double phi[MAX_ANGLES] = {-45, 0, 45, 90};
    size_t n_phi = 4;
    bool compress = true;
    hcmc_error err;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            simulate_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--no-compress")) {
            compress = false;
            continue;
        } else if (!v) {
            fprintf(stderr, "hcmc: error: simulate: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "-o"))
            out = v;
        else if (!strcmp(a, "--config-out"))
            config_out = v;
        else if (!strcmp(a, "--mode")) {
            if (hcmc_mode_parse(v, &mode, &err)) {
                fprintf(stderr, "hcmc: error: --mode: %s\n", err.msg);
                return 2;
            }
        } else if (!strcmp(a, "--layout")) {
            if (!strcmp(v, "current"))
                layout = HCMC_APS_CURRENT;
            else if (!strcmp(v, "legacy"))
                layout = HCMC_APS_LEGACY;
            else {
                fprintf(stderr, "hcmc: error: --layout expects current or legacy\n");
                return 2;
            }
        } else if (!strcmp(a, "--angles")) {
            bad = parse_angles(v, phi, &n_phi);
        } else if (!strcmp(a, "--param")) {
            bad = parse_param(v, truth);
        } else if (!strcmp(a, "--frames"))
            bad = num(a, v, &frames);
        else if (!strcmp(a, "--q"))
            bad = num(a, v, &q);
        else if (!strcmp(a, "--dt"))
            bad = num(a, v, &dt);
        else if (!strcmp(a, "--gap"))
            bad = num(a, v, &gap);
        else if (!strcmp(a, "--contrast"))
            bad = num(a, v, &contrast);
        else if (!strcmp(a, "--offset"))
            bad = num(a, v, &offset);
        else if (!strcmp(a, "--noise"))
            bad = num(a, v, &noise);
        else if (!strcmp(a, "--seed"))
            bad = num(a, v, &seed);
        else {
            fprintf(stderr, "hcmc: error: simulate: unknown option '%s'\n", a);
            simulate_usage(stderr);
            return 2;
        }
        if (bad)
            return 2;
    }
    if (!out) {
        fprintf(stderr, "hcmc: error: simulate needs -o FILE.h5\n");
        simulate_usage(stderr);
        return 2;
    }
    if (frames != floor(frames) || frames < 3 || frames > HCMC_MAX_FRAMES ||
        noise < 0 || seed < 0 || seed != floor(seed)) {
        fprintf(stderr,
                "hcmc: error: simulate: --frames must be an integer from 3 to %d, "
                "--noise >= 0, --seed an integer >= 0\n",
                HCMC_MAX_FRAMES);
        return 2;
    }
    double con[MAX_ANGLES], off[MAX_ANGLES];
    for (size_t a = 0; a < n_phi; a++) {
        con[a] = contrast;
        off[a] = offset;
    }
    hcmc_model m = {.mode = mode,
                    .convention = HCMC_CONVENTION_PHYSICAL,
                    .q = q,
                    .L = gap,
                    .dt = dt,
                    .n_t = (size_t)frames};
    hcmc_synth_spec ss = {.model = m,
                          .n_phi = n_phi,
                          .phi = phi,
                          .contrast = con,
                          .offset = off,
                          .noise = noise,
                          .seed = (uint64_t)seed};
    memcpy(ss.phys, truth, sizeof truth);
    hcmc_dataset ds;
    if (hcmc_synth_dataset(&ss, &ds, &err)) {
        fprintf(stderr, "hcmc: error: simulate: %s\n", err.msg);
        return 1;
    }
    hcmc_aps_write_spec w = {.layout = layout,
                             .ds = &ds,
                             .frame_time = dt,
                             .mode = mode,
                             .phys = truth,
                             .contrast = con,
                             .offset = off,
                             .noise = noise,
                             .seed = (unsigned long long)seed,
                             .compress = compress};
    int status = 0;
    if (hcmc_aps_write(out, &w, &err)) {
        fprintf(stderr, "hcmc: error: %s\n", err.msg);
        status = 1;
    } else {
        fprintf(stderr, "hcmc: wrote %s (%s layout, %zu angles x %zu frames%s)\n", out,
                hcmc_aps_layout_name(layout), n_phi, (size_t)frames,
                compress ? ", LZF" : "");
        if (config_out) {
            /* an absolute data path: the config may live elsewhere */
            char abs_out[4096];
            const char *data = realpath(out, abs_out) ? abs_out : out;
            if (write_config(config_out, data, mode, &m, (size_t)frames, truth)) {
                fprintf(stderr, "hcmc: error: %s: cannot write the config\n",
                        config_out);
                status = 1;
            } else {
                fprintf(stderr, "hcmc: wrote %s\n", config_out);
            }
        }
    }
    hcmc_dataset_release(&ds);
    return status;
}

int cmd_inspect(int argc, char **argv)
{
    if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        cli_help_print(argc == 2 ? stdout : stderr, "inspect");
        return argc == 2 ? 0 : 2;
    }
    hcmc_aps_info info;
    hcmc_error err;
    if (hcmc_aps_inspect(argv[1], &info, &err)) {
        fprintf(stderr, "hcmc: error: %s\n", err.msg);
        return 1;
    }
    printf("file         %s\n", argv[1]);
    printf("layout       %s (maps in %s)\n", hcmc_aps_layout_name(info.layout),
           info.group);
    printf("maps         %zu, %zu x %zu frames, compression %s\n", info.n_maps,
           info.n_frames, info.n_frames, info.compression);
    if (isnan(info.frame_time))
        printf("frame time   (not in the file)\n");
    else
        printf("frame time   %g s\n", info.frame_time);
    printf("q bins       %zu\n", info.n_q_bins);
    for (size_t b = 0; b < info.n_q_bins; b++) {
        size_t count = 0;
        for (size_t k = 0; k < info.n_maps; k++)
            count += info.maps[k].q == info.q_bins[b];
        printf("  q = %-12g %zu maps%s", info.q_bins[b], count, count ? ", phi:" : "");
        for (size_t k = 0; k < info.n_maps; k++)
            if (info.maps[k].q == info.q_bins[b])
                printf(" %g", info.maps[k].phi);
        printf("\n");
    }
    hcmc_aps_info_release(&info);
    return 0;
}
