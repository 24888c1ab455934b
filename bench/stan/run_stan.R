# Runs bench/stan/laminar.stan on the shard that `bench_nuts --export DIR`
# wrote, with hcmc's settings (500 warmup, 1500 draws, 4 chains, dense
# metric, adapt_delta 0.9, max tree depth 10) and hcmc's starting points,
# then prints both samplers' ESS/s and posteriors side by side.
#   Rscript bench/stan/run_stan.R DIR
suppressMessages({ library(rstan); library(posterior) })
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args)) args[1] else "build/bench/stan"
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE)))
data <- read_rdump(file.path(dir, "shard.R"))
init <- read.csv(file.path(dir, "init.csv"))
inits <- lapply(seq_len(nrow(init)), function(c) as.list(init[c, ]))
hc <- read.csv(file.path(dir, "hcmc_summary.csv"))

t0 <- Sys.time()
model <- stan_model(file.path(here, "laminar.stan"), boost_lib = "/usr/include")
cat(sprintf("Stan model compiled in %.0f s\n", as.numeric(Sys.time() - t0, units = "secs")))
# chains one at a time, as bench_nuts runs them: per-chain times on an
# otherwise idle core
fit <- sampling(model, data = data, chains = 4, cores = 1,
                warmup = 500, iter = 2000, seed = 42, init = inits, refresh = 0,
                control = list(adapt_delta = 0.9, metric = "dense_e", max_treedepth = 10))
times <- get_elapsed_time(fit)
dr <- as_draws_array(fit)
pars <- hc$param
s <- summarise_draws(subset_draws(dr, variable = pars), mean, sd, ess_bulk, rhat)
sp <- get_sampler_params(fit, inc_warmup = FALSE)
depth <- mean(unlist(lapply(sp, function(x) x[, "treedepth__"])))
div <- sum(unlist(lapply(sp, function(x) x[, "divergent__"])))
stan_ess_s <- min(s$ess_bulk) / sum(times[, "sample"])
hcmc_ess_s <- hc$ess_per_s[1]
cat(sprintf("Stan: warmup %.1f s, sampling %.1f s (summed over chains), mean tree depth %.2f, %d divergences\n",
            sum(times[, "warmup"]), sum(times[, "sample"]), depth, div))
cat(sprintf("%-20s %12s %12s %10s %10s %9s %9s %8s %8s\n", "parameter", "hcmc mean",
            "Stan mean", "hcmc sd", "Stan sd", "dmean/sd", "sd ratio", "hcmc ess", "Stan ess"))
worst_mean <- 0; worst_sd <- 0
for (k in seq_along(pars)) {
  h <- hc[k, ]; t <- s[s$variable == pars[k], ]
  dm <- (h$mean - t$mean) / t$sd; rs <- h$sd / t$sd
  worst_mean <- max(worst_mean, abs(dm)); worst_sd <- max(worst_sd, abs(rs - 1))
  cat(sprintf("%-20s %12.6g %12.6g %10.4g %10.4g %9.3f %9.3f %8.0f %8.0f\n", pars[k],
              h$mean, t$mean, h$sd, t$sd, dm, rs, h$ess_bulk, t$ess_bulk))
}
cat(sprintf("BENCH stan.laminar.ess_per_s %.4g 1/s\n", stan_ess_s))
cat(sprintf("BENCH stan.laminar.hcmc_ess_per_s %.4g 1/s\n", hcmc_ess_s))
cat(sprintf("BENCH stan.laminar.ess_ratio %.1f ratio\n", hcmc_ess_s / stan_ess_s))
cat(sprintf("BENCH stan.laminar.max_mean_diff_sd %.3f sd\n", worst_mean))
cat(sprintf("BENCH stan.laminar.max_sd_rel_diff %.3f 1\n", worst_sd))
