# Pinned dosresmeta references for sleepmeta's dose-response models.
#
# Usage:  Rscript --vanilla tests/data/make_dosresmeta_references.R [OUT.json]
# (default OUT: tests/data/dosresmeta_references.json)
#
# Needs R with dosresmeta (>= 2.2.0, with mixmeta), rms and jsonlite. The data
# sets are made HERE (set.seed below, R's default generators named
# explicitly), rounded, written into the JSON beside the fits, and fitted by
# dosresmeta exactly as written; the tests (tests/dose/test_dosresmeta_pinned.py)
# fit the same rows with sleepmeta and compare at relative 1e-5.
#
# Data sets (arm rows; the reference arm has logrr = 0, se = 0 as dosresmeta
# expects, and is each study's lowest dose):
#   cc    case-control studies: cases, n = cases + controls, adjusted log OR + SE
#   ci    cumulative-incidence cohorts: cases, n subjects, adjusted log RR + SE
#   ir    incidence-rate cohorts: cases, n = person-years, adjusted log rate ratio + SE
#         (reference doses differ from 0: the reference is each study's lowest dose)
#   crude randomised arms (events/n); log RR and its variance computed from the counts
#         (the Greenland-Longnecker cells are then the observed ones)
#   smd   arm means, SDs and sizes (covariance = "smd", Cohen's d, Gleser-Olkin)
# Models: linear, quadratic and restricted cubic spline (rms::rcs, 3 knots at
# the 10th/50th/90th percentiles of all doses), one-stage (proc = "1stage",
# random slopes) and two-stage (proc = "2stage"), REML, ML and fixed effects.
#
# dosresmeta's one-stage fit maximises its profile likelihood by Nelder-Mead:
# it is restarted from its own estimate (control initPsi, reltol 1e-15) until
# the log-likelihood stops rising, so the pinned numbers are the optimum to
# well within the tests' 1e-5. The two-stage fit is mixmeta's (reltol 1e-15).
suppressPackageStartupMessages({library(dosresmeta); library(rms); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "tests/data/dosresmeta_references.json"

# dosresmeta's Greenland-Longnecker fit (grl) stops its Newton iterations when the
# squared step in the fitted cases is below tol = 1e-5 (absolute), which leaves
# the covariances ~1e-5 from the solution; the references use the same function
# with tol = 1e-14 (its own code path otherwise: covar.logrr -> grl).
grl_tight <- dosresmeta:::grl
formals(grl_tight)$tol <- 1e-14
assignInNamespace("grl", grl_tight, ns = "dosresmeta")

RNGkind("Mersenne-Twister", "Inversion", "Rejection")
set.seed(20261130)

make_ratio <- function(type, m = 14, ref_zero = TRUE) {
  rows <- list()
  for (i in seq_len(m)) {
    nl <- sample(3:5, 1)  # levels, reference included
    d0 <- if (ref_zero) 0 else round(runif(1, 2, 8), 1)
    d <- c(d0, sort(round(d0 + cumsum(runif(nl - 1, 2, 12)), 1)))
    b1 <- 0.035 + rnorm(1, 0, 0.012)
    b2 <- -2.5e-4 + rnorm(1, 0, 1e-4)
    lrr <- b1 * (d - d0) + b2 * (d - d0)^2
    if (type == "ir") {
      pt <- round(runif(nl, 8000, 40000))
      rate0 <- runif(1, 0.002, 0.006)
      cases <- rpois(nl, pt * rate0 * exp(lrr)) + 5
      n <- pt
    } else if (type == "cc") {
      controls <- sample(150:500, nl, replace = TRUE)
      odds0 <- runif(1, 0.3, 0.8)
      cases <- rpois(nl, controls * odds0 * exp(lrr)) + 5
      n <- cases + controls
    } else {
      n <- sample(800:4000, nl, replace = TRUE)
      p0 <- runif(1, 0.03, 0.08)
      cases <- rbinom(nl, n, pmin(p0 * exp(lrr), 0.6)) + 5
    }
    # "adjusted" estimates: the crude ones moved a little, with SEs a little larger
    crude <- if (type == "cc") log(cases / (n - cases)) - log(cases[1] / (n[1] - cases[1]))
             else log(cases / n) - log(cases[1] / n[1])
    vc <- if (type == "cc") 1 / cases + 1 / (n - cases) + 1 / cases[1] + 1 / (n[1] - cases[1])
          else if (type == "ci") 1 / cases - 1 / n + 1 / cases[1] - 1 / n[1]
          else 1 / cases + 1 / cases[1]
    logrr <- round(crude + rnorm(nl, 0, 0.04), 5)
    se <- round(sqrt(vc) * runif(nl, 1.0, 1.25), 5)
    logrr[1] <- 0; se[1] <- 0
    rows[[i]] <- data.frame(id = sprintf("%s%02d", type, i), type = type, dose = d,
                            cases = cases, n = n, logrr = logrr, se = se)
  }
  do.call(rbind, rows)
}

make_crude <- function(m = 12) {
  rows <- list()
  for (i in seq_len(m)) {
    nl <- sample(3:4, 1)
    d <- c(0, sort(sample(c(75, 150, 300, 450, 600), nl - 1)))
    n <- sample(120:400, nl, replace = TRUE)
    p0 <- runif(1, 0.05, 0.12)
    slope <- 0.0018 + rnorm(1, 0, 0.0006)
    ev <- rbinom(nl, n, pmin(p0 * exp(slope * d - 1e-6 * d^2), 0.9))
    ev <- pmax(ev, 2)
    y <- log(ev / n) - log(ev[1] / n[1])
    se <- sqrt(1 / ev - 1 / n + 1 / ev[1] - 1 / n[1])
    y[1] <- 0; se[1] <- 0
    rows[[i]] <- data.frame(id = sprintf("t%02d", i), type = "ci", dose = d / 100,
                            cases = ev, n = n, logrr = y, se = se)
  }
  do.call(rbind, rows)
}

make_smd <- function(m = 10) {
  rows <- list()
  for (i in seq_len(m)) {
    nl <- sample(3:5, 1)
    d <- c(0, sort(sample(c(2, 5, 10, 15, 20, 30), nl - 1)))
    emax <- 12 + rnorm(1, 0, 3)
    mu <- 3 + emax * d / (8 + d) + rnorm(nl, 0, 1.5)
    rows[[i]] <- data.frame(id = sprintf("m%02d", i), dose = d, y = round(mu, 3),
                            sd = round(runif(nl, 18, 27), 3),
                            n = sample(40:110, nl, replace = TRUE))
  }
  do.call(rbind, rows)
}

data_sets <- list(cc = make_ratio("cc"), ci = make_ratio("ci"),
                  ir = make_ratio("ir", ref_zero = FALSE), crude = make_crude(),
                  smd = make_smd())

ctl <- function(initPsi = NULL)
  list(reltol = 1e-15, maxiter = 200000, initPsi = initPsi, igls.inititer = 10)

fit <- function(name, data_name, model, proc = "1stage", method = "reml") {
  d <- data_sets[[data_name]]
  knots <- if (model == "spline") as.numeric(quantile(d$dose, c(0.1, 0.5, 0.9))) else NULL
  rhs <- switch(model, linear = "dose", quadratic = "dose + I(dose^2)",
                spline = "rcs(dose, knots)")
  smd <- data_name == "smd"
  f <- as.formula(paste(if (smd) "y" else "logrr", "~", rhs))
  call1 <- function(control) {
    if (smd) dosresmeta(f, id = id, sd = sd, n = n, covariance = "smd", data = d,
                        proc = proc, method = method, control = control)
    else dosresmeta(f, id = id, type = type, cases = cases, n = n, se = se, data = d,
                    proc = proc, method = method, control = control)
  }
  res <- call1(ctl())
  restarts <- 0
  if (proc == "1stage" && method != "fixed") {
    repeat {  # Nelder-Mead restarted from its own estimate until the likelihood stops rising
      q <- ncol(res$Psi)
      again <- call1(ctl(res$Psi + diag(1e-14, q)))
      restarts <- restarts + 1
      better <- logLik(again) > logLik(res) + 1e-13
      if (logLik(again) >= logLik(res)) res <- again
      if (!better || restarts >= 50) break
    }
  }
  psi <- if (is.null(res$Psi)) matrix(0, length(coef(res)), length(coef(res))) else res$Psi
  qs <- summary(res)$qstat
  list(name = name, data = data_name, model = model, proc = proc, method = method,
       knots = if (is.null(knots)) list() else knots,
       call = paste0("dosresmeta(", deparse(f), if (smd) ", id = id, sd = sd, n = n, covariance = \"smd\""
                     else ", id = id, type = type, cases = cases, n = n, se = se",
                     ", proc = \"", proc, "\", method = \"", method,
                     "\", control = list(reltol = 1e-15, maxiter = 2e5))",
                     if (model == "spline") " with knots <- quantile(dose, c(.1, .5, .9))" else ""),
       nm_restarts = restarts,
       coef = unname(as.numeric(coef(res))), vcov = unname(vcov(res)),
       se = unname(sqrt(diag(vcov(res)))), psi = unname(psi),
       logLik = as.numeric(logLik(res)),
       Q = as.numeric(qs$Q[1]), Q_df = as.numeric(qs$df[1]))
}

fits <- list(
  fit("cc_linear_1stage_reml", "cc", "linear"),
  fit("cc_spline_1stage_reml", "cc", "spline"),
  fit("cc_quadratic_2stage_reml", "cc", "quadratic", "2stage"),
  fit("cc_linear_fixed", "cc", "linear", method = "fixed"),
  fit("ci_quadratic_1stage_reml", "ci", "quadratic"),
  fit("ci_spline_2stage_reml", "ci", "spline", "2stage"),
  fit("ci_linear_1stage_ml", "ci", "linear", method = "ml"),
  fit("ci_spline_fixed", "ci", "spline", method = "fixed"),
  fit("ir_linear_2stage_reml", "ir", "linear", "2stage"),
  fit("ir_spline_1stage_reml", "ir", "spline"),
  fit("ir_quadratic_fixed", "ir", "quadratic", method = "fixed"),
  fit("crude_linear_1stage_reml", "crude", "linear"),
  fit("crude_spline_1stage_reml", "crude", "spline"),
  fit("smd_quadratic_2stage_reml", "smd", "quadratic", "2stage"),
  fit("smd_spline_1stage_reml", "smd", "spline"),
  fit("smd_linear_fixed", "smd", "linear", method = "fixed")
)

payload <- list(
  source = "tests/data/make_dosresmeta_references.R (data made by the script, set.seed(20261130))",
  r_version = R.version.string,
  dosresmeta_version = as.character(packageVersion("dosresmeta")),
  mixmeta_version = as.character(packageVersion("mixmeta")),
  rms_version = as.character(packageVersion("rms")),
  date = format(Sys.Date()),
  grl_tol = 1e-14,
  notes = c("one-stage REML logLik is dosresmeta's restricted likelihood, which omits + 1/2 log|X'X|",
            "reference arms: logrr = 0, se = 0 (dosresmeta's convention)"),
  data = data_sets,
  fits = fits
)
writeLines(toJSON(payload, digits = NA, auto_unbox = TRUE, pretty = TRUE), out)
