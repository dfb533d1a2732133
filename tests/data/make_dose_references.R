# Pinned metafor references for sleepmeta's one-stage dose-response model.
#
# Usage:  Rscript --vanilla tests/data/make_dose_references.R [OUT.json]
# (default OUT: tests/data/dose_metafor.json)
#
# The data are simulated here (set.seed below): arm-level counts of trials
# with a shared placebo arm and 2-4 fixed doses, and arm-level means/SDs.
# The contrasts and their covariance are computed here from their
# definitions, independently of sleepmeta:
#   log RR vs placebo:  y_j = log(a_j/n_j) - log(a_0/n_0),
#                       V_jj = 1/a_j - 1/n_j + 1/a_0 - 1/n_0,  V_jl = 1/a_0 - 1/n_0
#   MD vs placebo:      y_j = m_j - m_0, V_jj = s_j^2/n_j + s_0^2/n_0, V_jl = s_0^2/n_0
# and the one-stage model is metafor's rma.mv with random slopes
# (struct = "GEN"), the dosresmeta proc = "1stage" model:
#   rma.mv(y, V, mods = ~ 0 + X, random = ~ 0 + X | id, struct = "GEN")
# Restricted cubic splines use rms::rcs when rms is installed, else the
# same formula written out (Harrell 2015, eq. 2.25, norm = 2).
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "tests/data/dose_metafor.json"

rcs3 <- function(x, t) {
  p3 <- function(u) pmax(u, 0)^3
  k <- length(t)
  cols <- sapply(seq_len(k - 2), function(j)
    (p3(x - t[j]) - p3(x - t[k - 1]) * (t[k] - t[j]) / (t[k] - t[k - 1]) +
       p3(x - t[k]) * (t[k - 1] - t[j]) / (t[k] - t[k - 1])) / (t[k] - t[1])^2)
  cbind(x, cols)
}

set.seed(7)
doses_all <- c(75, 150, 300, 450, 600)
arms <- list()
for (i in 1:30) {
  nd <- sample(3:4, 1)
  d <- c(0, sort(sample(doses_all, nd)))
  p0 <- runif(1, 0.04, 0.12)
  slope <- 0.0022 + rnorm(1, 0, 0.0009)
  curve <- slope * d + rnorm(1, -1.2e-6, 2.5e-6) * d^2
  n <- sample(150:400, length(d), replace = TRUE)
  risk <- pmin(p0 * exp(curve), 0.9)
  ev <- rbinom(length(d), n, risk)
  ev[ev == 0] <- 1
  mu <- 20 + rnorm(1, -0.02, 0.008) * d + rnorm(1, 0, 2.5e-5) * d^2 + rnorm(length(d), 0, 0.5)
  s <- runif(length(d), 8, 12)
  arms[[i]] <- data.frame(id = sprintf("S%02d", i), dose = d, events = ev, n = n,
                          mean = round(mu, 3), sd = round(s, 3))
}
arms <- do.call(rbind, arms)

# A small data set whose REML estimate of tau^2 is on the boundary (0):
# three trials with a shared placebo arm (made-up counts, as in tests/dose).
toy <- data.frame(id = rep(c("A", "B", "C"), c(3, 3, 4)),
                  dose = c(0, 150, 300, 0, 150, 300, 0, 75, 300, 600),
                  events = c(5, 10, 20, 4, 9, 15, 6, 8, 19, 30), n = 100, mean = 0, sd = 1)

contrasts <- function(measure, arms) {
  blocks <- lapply(split(arms, factor(arms$id, levels = unique(arms$id))), function(s) {
    if (measure == "RR") {
      c0 <- 1 / s$events[1] - 1 / s$n[1]
      y <- log(s$events[-1] / s$n[-1]) - log(s$events[1] / s$n[1])
      v <- 1 / s$events[-1] - 1 / s$n[-1]
    } else {
      c0 <- s$sd[1]^2 / s$n[1]
      y <- s$mean[-1] - s$mean[1]
      v <- s$sd[-1]^2 / s$n[-1]
    }
    V <- matrix(c0, length(y), length(y)); diag(V) <- c0 + v
    # doses in units of 100 mg/day keep the columns of X on similar scales
    list(d = data.frame(id = s$id[-1], dose = s$dose[-1] / 100, y = y), V = V)
  })
  list(d = do.call(rbind, lapply(blocks, `[[`, "d")),
       V = as.matrix(bdiag(lapply(blocks, `[[`, "V"))))
}
bdiag <- function(l) {
  n <- sum(sapply(l, nrow)); M <- matrix(0, n, n); o <- 0
  for (b in l) { k <- nrow(b); M[o + 1:k, o + 1:k] <- b; o <- o + k }
  M
}

fit_one <- function(name, measure, model, method = "REML", knots = NULL, data = arms) {
  cc <- contrasts(measure, data)
  d <- cc$d
  if (model == "linear") X <- cbind(dose = d$dose)
  if (model == "quadratic") X <- cbind(dose = d$dose, dose2 = d$dose^2)
  if (model == "spline") {
    X <- if (requireNamespace("rms", quietly = TRUE))
      unclass(rms::rcs(d$dose, knots))[, , drop = FALSE] else rcs3(d$dose, knots)
    X <- matrix(as.numeric(X), nrow(d))  # reference dose 0 < first knot: b(0) = 0
  }
  colnames(X) <- paste0("x", seq_len(ncol(X)))
  d <- cbind(d, X)
  fx <- as.formula(paste("~ 0 +", paste(colnames(X), collapse = " + ")))
  rx <- as.formula(paste("~ 0 +", paste(colnames(X), collapse = " + "), "| id"))
  res <- if (ncol(X) == 1) {
    rma.mv(y, cc$V, mods = fx, random = rx, struct = "GEN", data = d, method = method)
  } else {
    rma.mv(y, cc$V, mods = fx, random = rx, struct = "GEN", data = d, method = method)
  }
  rho <- if (is.null(res$rho)) numeric(0) else res$rho
  list(name = name, measure = measure, model = model, method = method,
       knots = if (is.null(knots)) list() else knots,
       call = paste0("rma.mv(y, V, mods = ", deparse(fx), ", random = ", deparse(rx),
                     ", struct = \"GEN\", method = \"", method, "\")"),
       beta = as.numeric(res$beta), se = as.numeric(res$se), vb = unname(res$vb),
       tau2 = as.numeric(res$tau2), rho = as.numeric(rho),
       logLik = as.numeric(logLik(res)), QE = res$QE, QEdf = res$k - res$p)
}

fits <- list(
  fit_one("rr_linear_reml", "RR", "linear"),
  fit_one("rr_linear_ml", "RR", "linear", "ML"),
  fit_one("rr_quadratic_reml", "RR", "quadratic"),
  fit_one("rr_spline_reml", "RR", "spline", knots = c(0.75, 3, 6)),
  fit_one("md_linear_reml", "MD", "linear"),
  fit_one("md_spline_reml", "MD", "spline", knots = c(0.75, 3, 6))
)
toy_fits <- list(fit_one("toy_rr_linear_reml", "RR", "linear", data = toy),
                 fit_one("toy_rr_linear_ml", "RR", "linear", "ML", data = toy))
payload <- list(
  source = "tests/data/make_dose_references.R (simulated arms, set.seed(7))",
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  rms = requireNamespace("rms", quietly = TRUE),
  date = format(Sys.Date()),
  dose_unit = "the fits use dose / 100 (arms list mg/day)",
  arms = arms,
  fits = fits,
  toy_arms = toy,
  toy_fits = toy_fits
)
if (!requireNamespace("jsonlite", quietly = TRUE)) stop("needs jsonlite")
writeLines(jsonlite::toJSON(payload, digits = NA, auto_unbox = TRUE, pretty = TRUE), out)
