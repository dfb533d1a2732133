# Pinned metafor references for test = "t" and test = "adhoc" (and the
# prediction interval with t on k - 2 df, predict(pi.type = "riley")).
# Run from the repository root:
#   Rscript --vanilla tests/data/make_t_adhoc_references.R
# writes tests/data/metafor_t_adhoc.json, read by tests/pooling/test_engine.py.
suppressPackageStartupMessages({library(metafor); library(metadat); library(jsonlite)})

datasets <- list(
  bcg_RR = 'escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)',
  normand_SMD = 'escalc(measure="SMD", m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat.normand1999)',
  molloy_ZCOR = 'escalc(measure="ZCOR", ri=ri, ni=ni, data=dat.molloy2014)',
  hackshaw = 'dat.hackshaw1998',
  # the first three BCG trials: k = 3, where the ad hoc correction binds (s2w < 1)
  bcg_RR_k3 = 'escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg[1:3,])',
  # dizziness, Ohta 2012 (74/250 vs 15/248) and Arnold 2016 (16/54 vs 7/53): k = 2
  dizziness_k2 = 'escalc(measure="RR", ai=c(74, 16), n1i=c(250, 54), ci=c(15, 7), n2i=c(248, 53))'
)
out <- list()
for (name in names(datasets)) {
  dat <- eval(parse(text = datasets[[name]]))
  rows <- list()
  for (m in c("FE", "DL", "REML")) for (t in c("z", "t", "knha", "adhoc")) {
    if (m == "FE" && t %in% c("knha", "adhoc")) next
    r <- suppressWarnings(rma(yi, vi, data = dat, method = m, test = t))
    pr <- predict(r)
    pr2 <- predict(r, pi.type = "riley")
    rows[[length(rows) + 1]] <- list(method = m, test = t, estimate = r$b[1], se = r$se,
      statistic = r$zval, pvalue = r$pval, ci_low = r$ci.lb, ci_high = r$ci.ub,
      ddf = if (is.na(r$ddf)) NULL else r$ddf, tau2 = r$tau2,
      pi_low = pr$pi.lb, pi_high = pr$pi.ub,
      pi_riley_low = pr2$pi.lb, pi_riley_high = pr2$pi.ub)
  }
  out[[name]] <- list(call = datasets[[name]], yi = as.numeric(dat$yi), vi = as.numeric(dat$vi),
                      fits = rows)
}
meta <- list(
  made_by = "tests/data/make_t_adhoc_references.R",
  r_call = "rma(yi, vi, method = m, test = t); predict(r); predict(r, pi.type = 'riley')",
  metafor = as.character(packageVersion("metafor")), r = R.version.string,
  date = format(Sys.Date()))
write(toJSON(list(meta = meta, datasets = out), digits = NA, auto_unbox = TRUE, pretty = TRUE,
             null = "null"), "tests/data/metafor_t_adhoc.json")
