# Pin metafor's output for every cross-check of the test suite.
#
# Reads tests/data/metafor_calls.json (call key -> R code; written by
# `SLEEPMETA_RECORD_R_CALLS=1 pytest` on a machine with R), runs each call in
# a fresh environment with metafor and metadat loaded and options(digits=15)
# -- exactly as the tests' live runner does -- and writes
# tests/data/metafor_references.json: for each key, the R call, the CSV table
# it printed, metafor's version and the date. The tests read that file when R
# is absent (see tests/conftest.py), so the same comparisons run everywhere.
#
# Usage, from the repository root:
#   Rscript tests/data/make_references.R [calls.json] [references.json]

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})
options(digits = 15)

args <- commandArgs(trailingOnly = TRUE)
here <- "tests/data"
calls_file <- if (length(args) >= 1) args[1] else file.path(here, "metafor_calls.json")
out_file <- if (length(args) >= 2) args[2] else file.path(here, "metafor_references.json")

calls <- fromJSON(calls_file, simplifyVector = FALSE)
version <- packageDescription("metafor")$Version
today <- format(Sys.Date())
entries <- list()
for (key in sort(names(calls))) {
  code <- calls[[key]]
  env <- new.env(parent = globalenv())
  output <- tryCatch(
    paste(capture.output(eval(parse(text = code), envir = env)), collapse = "\n"),
    error = function(e) stop(sprintf("call %s failed: %s\n%s", key, conditionMessage(e), code))
  )
  entries[[key]] <- list(call = code, metafor = version, date = today,
                         output = paste0(output, "\n"))
}
doc <- list(
  description = paste("metafor output for the cross-checks of the sleepmeta test suite;",
                      "made by tests/data/make_references.R from tests/data/metafor_calls.json"),
  metafor = version, R = paste(R.version$major, R.version$minor, sep = "."),
  date = today, entries = entries
)
tmp <- paste0(out_file, ".tmp")
writeLines(toJSON(doc, auto_unbox = TRUE, pretty = 1, digits = NA), tmp, useBytes = TRUE)
invisible(file.rename(tmp, out_file))
cat(sprintf("pinned %d calls (metafor %s) in %s\n", length(entries), version, out_file))
