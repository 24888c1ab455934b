# The Stan side of `make bench-stan`: the shard that `bench_nuts --export DIR`
# wrote, sampled by Stan with hcmc's settings (500 warmup, 1500 draws, 4
# chains, dense metric, adapt_delta 0.9, max tree depth 10) and hcmc's
# starting points, for each of bench_nuts's seeds, in two programs:
#   natural  laminar.stan, the parameters with their bounds declared (what a
#            Stan user writes first; Stan samples the logit of each bound)
#   laws     laminar_laws.stan, hcmc's sampling coordinates coded in Stan
# Then prints, per seed and program, sampling time (summed over chains, one
# core's worth as bench_nuts reports hcmc's), mean tree depth, divergences,
# the largest R-hat and least bulk ESS over the ten parameters, ESS per
# second, and how far Stan's posterior lies from hcmc's (means in Stan sd,
# sd ratios), and BENCH lines with the medians over the seeds.
#   Rscript bench/stan/run_stan.R DIR
suppressMessages({ library(rstan); library(posterior) })
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args)) args[1] else "build/bench/stan"
here <- normalizePath(dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE))))
data <- c(read_rdump(file.path(dir, "shard.R")), read_rdump(file.path(dir, "laws.R")))
seeds <- as.integer(sub("hcmc_(\\d+)\\.csv", "\\1",
                        list.files(dir, pattern = "^hcmc_\\d+\\.csv$")))
pars <- c("D0", "alpha", "D_offset", "gamma_dot_t0", "beta", "gamma_dot_t_offset",
          "phi0", "contrast", "offset", "sigma")
# the two vCPUs run two chains at once; Stan's per-chain times do not change
# with that (README "Sampler performance and the comparison with Stan")
options(mc.cores = 2)

compile <- function(name) {
  t0 <- Sys.time()
  m <- stan_model(file.path(here, name), isystem = here, boost_lib = "/usr/include")
  cat(sprintf("%s compiled in %.0f s\n", name, as.numeric(Sys.time() - t0, units = "secs")))
  m
}
models <- list(natural = compile("laminar.stan"), laws = compile("laminar_laws.stan"))

# laminar_laws.stan must code hcmc's density: its log density differences
# between the starting points and 40 of hcmc's draws equal hcmc's (both
# drop different constants) to rounding, and so does its gradient; the natural program shares its
# likelihood and prior (laminar_common.stan)
fit0 <- sampling(models$laws, data = data, chains = 0)
read_z <- function(name)
  as.matrix(read.csv(file.path(dir, name), header = FALSE, skip = 1))
read_initz <- function(seed) read_z(sprintf("initz_%d.csv", seed))
dim <- length(pars)
for (seed in seeds) {
  zl <- rbind(read_initz(seed), read_z(sprintf("checkz_%d.csv", seed)))
  z <- zl[, 1:dim, drop = FALSE]
  lp_hcmc <- zl[, dim + 1]
  g_hcmc <- zl[, dim + 1 + 1:dim, drop = FALSE]
  lp_stan <- apply(z, 1, function(u) log_prob(fit0, u))
  g_stan <- t(apply(z, 1, function(u) grad_log_prob(fit0, u)))
  err <- max(abs(diff(lp_stan) - diff(lp_hcmc)))
  gerr <- max(abs(g_stan - g_hcmc) / (1 + abs(g_hcmc)))
  cat(sprintf(paste("seed %d: Stan laws vs hcmc: log density differences agree to %.2e,",
                    "gradients to %.2e (relative)\n"), seed, err, gerr))
  if (!(err < 1e-6 * max(1, max(abs(lp_hcmc - mean(lp_hcmc))))) || !(gerr < 1e-6))
    stop("laminar_laws.stan does not code hcmc's log density")
}

rows <- list()
cat(sprintf("%-8s %5s %9s %9s %6s %5s %8s %8s %8s %8s %9s %9s\n", "program", "seed",
            "warmup_s", "sample_s", "depth", "div", "rhat_max", "ess_bulk", "ess_tail",
            "ess/s", "dmean_sd", "sd_ratio"))
for (seed in sort(seeds)) {
  hc <- read.csv(file.path(dir, sprintf("hcmc_%d.csv", seed)))
  init <- read.csv(file.path(dir, sprintf("init_%d.csv", seed)))
  initz <- read_initz(seed)[, 1:dim, drop = FALSE]
  hc_row <- data.frame(program = "hcmc", seed = seed, warmup_s = NA, sample_s = NA,
                       depth = NA, div = NA, rhat_max = max(hc$rhat),
                       ess_bulk = min(hc$ess_bulk), ess_tail = min(hc$ess_tail),
                       ess_s = hc$ess_per_s[1], dmean_sd = 0, sd_lo = 1, sd_hi = 1)
  rows[[length(rows) + 1]] <- hc_row
  for (prog in names(models)) {
    inits <- if (prog == "natural") {
      lapply(seq_len(nrow(init)), function(c) as.list(init[c, ]))
    } else {
      lapply(seq_len(nrow(initz)), function(c) list(z = as.vector(initz[c, ])))
    }
    fit <- sampling(models[[prog]], data = data, chains = 4, warmup = 500, iter = 2000,
                    seed = seed, init = inits, refresh = 0,
                    control = list(adapt_delta = 0.9, metric = "dense_e",
                                   max_treedepth = 10))
    times <- get_elapsed_time(fit)
    dr <- subset_draws(as_draws_array(fit), variable = pars)
    s <- summarise_draws(dr, mean, sd, ess_bulk, ess_tail, rhat)
    s <- s[match(pars, s$variable), ]
    sp <- get_sampler_params(fit, inc_warmup = FALSE)
    h <- hc[match(pars, hc$param), ]
    dm <- abs(h$mean - s$mean) / s$sd
    rs <- h$sd / s$sd
    r <- data.frame(program = prog, seed = seed, warmup_s = sum(times[, "warmup"]),
                    sample_s = sum(times[, "sample"]),
                    depth = mean(unlist(lapply(sp, function(x) x[, "treedepth__"]))),
                    div = sum(unlist(lapply(sp, function(x) x[, "divergent__"]))),
                    rhat_max = max(s$rhat), ess_bulk = min(s$ess_bulk),
                    ess_tail = min(s$ess_tail), ess_s = min(s$ess_bulk) / sum(times[, "sample"]),
                    dmean_sd = max(dm), sd_lo = min(rs), sd_hi = max(rs))
    rows[[length(rows) + 1]] <- r
    cat(sprintf("%-8s %5d %9.1f %9.1f %6.2f %5d %8.3f %8.0f %8.0f %8.3g %9.3f %4.2f-%4.2f\n",
                prog, seed, r$warmup_s, r$sample_s, r$depth, r$div, r$rhat_max, r$ess_bulk,
                r$ess_tail, r$ess_s, r$dmean_sd, r$sd_lo, r$sd_hi))
    if (seed == min(seeds)) {
      cat(sprintf("  %-20s %12s %12s %10s %10s\n", "parameter", "hcmc mean", "Stan mean",
                  "hcmc sd", "Stan sd"))
      for (k in seq_along(pars))
        cat(sprintf("  %-20s %12.6g %12.6g %10.4g %10.4g\n", pars[k], h$mean[k], s$mean[k],
                    h$sd[k], s$sd[k]))
    }
  }
  cat(sprintf("%-8s %5d %9s %9s %6s %5s %8.3f %8.0f %8.0f %8.3g\n", "hcmc", seed, "", "",
              "", "", hc_row$rhat_max, hc_row$ess_bulk, hc_row$ess_tail, hc_row$ess_s))
}
tab <- do.call(rbind, rows)
med <- function(prog, col) median(tab[tab$program == prog, col])
worst <- function(prog, col) max(tab[tab$program == prog, col])
for (prog in c("hcmc", names(models))) {
  cat(sprintf("BENCH stan.laminar.%s.ess_per_s %.4g 1/s\n", prog, med(prog, "ess_s")))
  cat(sprintf("BENCH stan.laminar.%s.rhat_max %.4f 1\n", prog, worst(prog, "rhat_max")))
}
for (prog in names(models)) {
  cat(sprintf("BENCH stan.laminar.%s.sample_s %.1f s\n", prog, med(prog, "sample_s")))
  cat(sprintf("BENCH stan.laminar.hcmc_over_%s.ess_ratio %.1f ratio\n", prog,
              med("hcmc", "ess_s") / med(prog, "ess_s")))
  cat(sprintf("BENCH stan.laminar.%s.max_mean_diff_sd %.3f sd\n", prog,
              worst(prog, "dmean_sd")))
}
