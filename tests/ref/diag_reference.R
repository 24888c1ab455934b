# Reference diagnostics for tests/test_diagnostics.c, from R's `posterior`
# (Debian r-cran-posterior 1.4.0):  Rscript tests/ref/diag_reference.R
suppressMessages(library(posterior))
d <- read.csv("tests/ref/diag_draws.csv")
for (v in c("ar1", "skewed", "discrete")) {
  x <- matrix(d[[v]], ncol = 4)  # draws x chains, chain-major file order
  cat(sprintf("%s rhat %.17g ess_bulk %.17g ess_tail %.17g ess_mean %.17g mcse_mean %.17g rhat_basic %.17g mcse_sd %.17g\n",
              v, rhat(x), ess_bulk(x), ess_tail(x), ess_mean(x), mcse_mean(x), rhat_basic(x), mcse_sd(x)))
}
