# Pinned metafor references for the multilevel engine (sleepmeta.meta_analysis_mv).
#
# Run from the repository root:
#   Rscript tests/data/make_references_mv.R [out.json]
# (default out: tests/data/metafor_mv_references.json). Needs R with metafor,
# metadat, clubSandwich and jsonlite. Each case records the R call that made
# its numbers, the data it was fitted to, and the package versions and date,
# so tests/pooling/multilevel/test_metafor_mv.py can compare without R.

suppressPackageStartupMessages({
  library(metafor); library(metadat); library(clubSandwich); library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "tests/data/metafor_mv_references.json"

berkey <- dat.berkey1998
berkey$year0 <- berkey$year - 1983
berkey_V <- bldiag(lapply(split(berkey[, c("v1i", "v2i")], berkey$trial), as.matrix))
konst <- dat.konstantopoulos2011
konst$yc <- (konst$year - 1990) / 10
assink <- dat.assink2016
kalaian <- dat.kalaian1996
kalaian_V <- vcalc(vi, cluster = study, type = outcome, rho = 0.66, data = kalaian)
ishak <- reshape(dat.ishak2007, direction = "long", idvar = "study", v.names = c("yi", "vi"),
                 varying = list(c(2, 4, 6, 8), c(3, 5, 7, 9)))
ishak <- ishak[order(ishak$study, ishak$time), ]
ishak <- ishak[!is.na(ishak$yi), ]

fitstats <- function(r) {
  fs <- r$fit.stats
  list(ML = as.list(setNames(fs$ML, rownames(fs))), REML = as.list(setNames(fs$REML, rownames(fs))))
}

# every case: data name, the rma.mv call (evaluated as written), extras
cases <- list(
  list(name = "konstantopoulos_reml", data = "konst",
       call = "rma.mv(yi, vi, random = ~ 1 | district/school, data = konst)",
       cluster = "district", confint = TRUE, predict = "predict(r)"),
  list(name = "konstantopoulos_ml", data = "konst",
       call = "rma.mv(yi, vi, random = ~ 1 | district/school, data = konst, method = 'ML')",
       confint = TRUE),
  list(name = "konstantopoulos_year_t", data = "konst",
       call = "rma.mv(yi, vi, mods = ~ yc, random = ~ 1 | district/school, data = konst, test = 't')",
       cluster = "district", predict = "predict(r, newmods = c(-1, 0, 0.5))"),
  list(name = "konstantopoulos_gen_slopes", data = "konst",
       call = "rma.mv(yi, vi, mods = ~ yc, random = ~ yc | district, struct = 'GEN', data = konst)"),
  list(name = "konstantopoulos_gen_noint", data = "konst",
       call = "rma.mv(yi, vi, mods = ~ yc, random = list(~ yc - 1 | district, ~ 1 | school), struct = 'GEN', data = konst)"),
  list(name = "assink_three_level", data = "assink",
       call = "rma.mv(yi, vi, random = ~ 1 | study/esid, data = assink)",
       cluster = "study", confint = TRUE, predict = "predict(r)"),
  list(name = "assink_deltype", data = "assink",
       call = "rma.mv(yi, vi, mods = ~ deltype, random = ~ 1 | study/esid, data = assink)",
       cluster = "study"),
  list(name = "berkey_UN", data = "berkey", V = TRUE,
       call = "rma.mv(yi, berkey_V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = 'UN', data = berkey)",
       cluster = "trial", confint = TRUE,
       predict = "predict(r, newmods = rbind(c(1, 0), c(0, 1)), tau2.levels = c('AL', 'PD'))"),
  list(name = "berkey_UN_year", data = "berkey", V = TRUE,
       call = "rma.mv(yi, berkey_V, mods = ~ outcome + outcome:year0 - 1, random = ~ outcome | trial, struct = 'UN', data = berkey)",
       cluster = "trial"),
  list(name = "berkey_UN_ml", data = "berkey", V = TRUE,
       call = "rma.mv(yi, berkey_V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = 'UN', data = berkey, method = 'ML')"),
  list(name = "berkey_CS", data = "berkey", V = TRUE,
       call = "rma.mv(yi, berkey_V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = 'CS', data = berkey)",
       confint = TRUE, predict = "predict(r, newmods = c(1, 0))"),
  list(name = "berkey_HCS", data = "berkey", V = TRUE,
       call = "rma.mv(yi, berkey_V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = 'HCS', data = berkey)"),
  list(name = "berkey_DIAG", data = "berkey", V = TRUE,
       call = "rma.mv(yi, berkey_V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = 'DIAG', data = berkey)"),
  list(name = "berkey_ID", data = "berkey", V = TRUE,
       call = "rma.mv(yi, berkey_V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = 'ID', data = berkey)"),
  list(name = "berkey_AR", data = "berkey", V = TRUE,
       call = "rma.mv(yi, berkey_V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = 'AR', data = berkey)"),
  list(name = "kalaian_HCS_ml", data = "kalaian", V = TRUE,
       call = "rma.mv(yi, kalaian_V, mods = ~ outcome - 1, random = ~ outcome | study, struct = 'HCS', data = kalaian, method = 'ML')"),
  list(name = "ishak_AR", data = "ishak",
       call = "rma.mv(yi, vi, mods = ~ factor(time) - 1, random = ~ time | study, struct = 'AR', data = ishak)"),
  list(name = "berkey_CS_t", data = "berkey", V = TRUE,
       call = "rma.mv(yi, berkey_V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = 'CS', data = berkey, test = 't')"),
  # two 'inner | outer' terms: tau2/rho of the first, gamma2/phi of the second
  list(name = "assink_cs_diag", data = "assink",
       call = "rma.mv(yi, vi, random = list(~ deltype | study, ~ deltype | id), struct = c('CS', 'DIAG'), data = assink)",
       cluster = "study", confint = TRUE,
       predict = "predict(r, tau2.levels = c('covert', 'overt'), gamma2.levels = c('covert', 'overt'))"),
  list(name = "assink_cs_diag_ml", data = "assink",
       call = "rma.mv(yi, vi, random = list(~ deltype | study, ~ deltype | id), struct = c('CS', 'DIAG'), data = assink, method = 'ML')"),
  list(name = "assink_cs_diag_deltype", data = "assink",
       call = "rma.mv(yi, vi, mods = ~ deltype, random = list(~ deltype | study, ~ deltype | id), struct = c('CS', 'DIAG'), data = assink)",
       cluster = "study",
       predict = "predict(r, newmods = rbind(c(0, 0), c(1, 0)), tau2.levels = c('covert', 'general'), gamma2.levels = c('covert', 'general'))"),
  list(name = "assink_diag_recycled", data = "assink",
       call = "rma.mv(yi, vi, random = list(~ deltype | study, ~ deltype | id), struct = 'DIAG', data = assink)")
)

run <- function(cs) {
  r <- eval(parse(text = cs$call))
  res <- list(name = cs$name, call = cs$call, data_name = cs$data,
              beta = as.vector(r$beta), se = r$se, zval = r$zval, pval = r$pval,
              ci_lb = r$ci.lb, ci_ub = r$ci.ub, sigma2 = if (r$withS) r$sigma2 else numeric(0),
              tau2 = if (r$withG) r$tau2 else numeric(0),
              rho = if (r$withG && !all(r$vc.fix$rho)) r$rho else numeric(0),
              gamma2 = if (r$withH) r$gamma2 else numeric(0),
              phi = if (r$withH && !all(r$vc.fix$phi)) r$phi else numeric(0),
              QE = r$QE, QEp = r$QEp, QM = r$QM, QMp = r$QMp, QMdf = r$QMdf, parms = r$parms,
              fit_stats = fitstats(r))
  if (!is.null(cs$predict)) {
    p <- eval(parse(text = cs$predict))
    res$predict <- list(call = cs$predict, pred = as.vector(p$pred), se = as.vector(p$se),
                        ci_lb = as.vector(p$ci.lb), ci_ub = as.vector(p$ci.ub),
                        pi_lb = as.vector(p$pi.lb), pi_ub = as.vector(p$pi.ub))
  }
  if (isTRUE(cs$confint)) {
    ci <- suppressWarnings(confint(r))
    if (!is.null(ci$random)) ci <- list(ci)
    ci <- ci[sapply(ci, function(x) is.list(x) && !is.null(x$random))]
    res$confint <- lapply(ci, function(x) list(name = rownames(x$random)[1],
                                               estimate = x$random[1, 1], lb = x$random[1, 2],
                                               ub = x$random[1, 3]))
  }
  if (!is.null(cs$cluster)) {
    d <- get(cs$data)
    cl <- d[[cs$cluster]]
    a <- robust(r, cluster = cl, clubSandwich = TRUE)
    res$robust_CR2 <- list(cluster = cs$cluster, se = a$se, df = a$ddf, pval = a$pval,
                           ci_lb = a$ci.lb, ci_ub = a$ci.ub, QM = a$QM, QMdf = a$QMdf, QMp = a$QMp)
    a <- robust(r, cluster = cl)
    res$robust_CR1 <- list(cluster = cs$cluster, se = a$se, df = a$ddf, pval = a$pval,
                           ci_lb = a$ci.lb, ci_ub = a$ci.ub, QM = a$QM, QMdf = a$QMdf, QMp = a$QMp)
  }
  res
}

datasets <- list(
  konst = konst[, c("district", "school", "study", "year", "yc", "yi", "vi")],
  assink = assink[, c("study", "esid", "id", "yi", "vi", "deltype")],  # id: one per row
  berkey = berkey[, c("trial", "outcome", "year", "year0", "yi", "vi")],
  kalaian = kalaian[, c("study", "outcome", "yi", "vi")],
  ishak = ishak[, c("study", "time", "yi", "vi")]
)

ref <- list(
  generated_by = "tests/data/make_references_mv.R",
  date = format(Sys.Date()),
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  clubSandwich_version = as.character(packageVersion("clubSandwich")),
  data = datasets,
  berkey_V = unname(as.matrix(berkey_V)),
  kalaian_V = unname(as.matrix(kalaian_V)),
  vcalc = list(call = "vcalc(vi, cluster = trial, obs = outcome, rho = 0.6, data = berkey)",
               V = unname(as.matrix(vcalc(vi, cluster = trial, obs = outcome, rho = 0.6,
                                          data = berkey)))),
  cases = lapply(cases, run)
)
writeLines(toJSON(ref, digits = I(17), auto_unbox = TRUE, pretty = FALSE, null = "null",
                  na = "null"), out)
