# Adds metafor's fit to tests/data/dose_held_variance.json (arm counts of 50
# trials, placebo + 3 doses; see its "source").
# Usage: Rscript --vanilla tests/data/make_dose_held_variance.R [FILE.json]
# Log RR contrasts against placebo with the shared-control covariance
# (V_jj = 1/a_j - 1/n_j + 1/a_0 - 1/n_0, V_jl = 1/a_0 - 1/n_0), the rms::rcs
# basis (knots from the file; its value at dose 0 is 0), and the one-stage
# random-slopes model rma.mv(y, V, mods = ~ 0 + x1 + x2,
# random = ~ 0 + x1 + x2 | id, struct = "GEN"), REML.
suppressPackageStartupMessages({library(metafor); library(jsonlite); library(rms)})
args <- commandArgs(trailingOnly = TRUE)
path <- if (length(args)) args[1] else "tests/data/dose_held_variance.json"
d <- fromJSON(path)
ev <- d$events; n <- d$n; m <- nrow(ev)
y <- c(); blocks <- list()
for (i in 1:m) {
  c0 <- 1 / ev[i, 1] - 1 / n[i, 1]
  y <- c(y, log(ev[i, -1] / n[i, -1]) - log(ev[i, 1] / n[i, 1]))
  B <- matrix(c0, 3, 3); diag(B) <- c0 + 1 / ev[i, -1] - 1 / n[i, -1]; blocks[[i]] <- B
}
V <- matrix(0, 3 * m, 3 * m)
for (i in 1:m) V[(i - 1) * 3 + 1:3, (i - 1) * 3 + 1:3] <- blocks[[i]]
X <- matrix(as.numeric(unclass(rms::rcs(d$doses[-1], d$knots))), 3)
x1 <- rep(X[, 1], m); x2 <- rep(X[, 2], m); id <- rep(1:m, each = 3)
r <- rma.mv(y, V, mods = ~ 0 + x1 + x2, random = ~ 0 + x1 + x2 | id, struct = "GEN")
d$metafor <- list(call = "rma.mv(y, V, mods = ~ 0 + x1 + x2, random = ~ 0 + x1 + x2 | id, struct = \"GEN\")",
                  metafor_version = as.character(packageVersion("metafor")), date = format(Sys.Date()),
                  beta = as.numeric(r$beta), se = as.numeric(r$se), tau2 = as.numeric(r$tau2),
                  rho = as.numeric(r$rho), logLik = as.numeric(logLik(r)))
writeLines(toJSON(d, digits = NA, auto_unbox = TRUE, pretty = TRUE), path)
