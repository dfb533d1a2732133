"""The compiled pass behind :func:`~sleepmeta.sleep.night_table`.

One numba function walks each night's stage codes once (nights in
parallel with ``prange``) and writes every endpoint of
:data:`~sleepmeta.sleep.fields.KERNEL_FIELDS`; the NREM/REM cycles take a
second walk over the night's REM runs only. Definitions are documented in
:mod:`sleepmeta.sleep.fields`; this module only computes them. Importing
it compiles nothing: numba is imported here, and this module is imported
on the first call of ``night_table`` (the command line never pays for it
unless it computes nights). Compiled code is cached on disk
(``cache=True``).
"""

from __future__ import annotations

import numba as nb
import numpy as np

# column indices, in the order of fields.KERNEL_FIELDS
(TIB, SPT, WASO, TST, N1, N2, N3, REM, NREM, SOL, LAT_N1, LAT_N2, LAT_N3, LAT_REM,
 P_N1, P_N2, P_N3, P_REM, P_NREM, SE, SME, SOL5, WAKE, ART, UNS, SFI,
 LPS, LAT_REM_ONSET, N_AWAK, N_SHIFTS, WASO_AASM, WASO_LPS, TWT, N_WAKE_BOUTS,
 WAKE_BOUT_MEAN, SLEEP_BOUT_MEAN, SLEEP_BOUT_MAX, WASO_T1, WASO_T2, WASO_T3,
 TST_T1, TST_T2, TST_T3, N_CYCLES, CYCLE_MEAN, UNSTAGED) = range(46)
N_OUT = 46  # the last column (epochs of unstaged sleep) is internal

_SW = 5  # code of unstaged sleep (sleep/wake series)


@nb.njit(cache=True, nogil=True)
def _cycles_into(rs, re, m, first, per_min, pr):
    """Cycles from the night's REM runs ``[rs[q], re[q])``, ``q < m`` (rules in fields.py).

    Works in place without allocating: on return ``rs[:c]`` and ``re[:c]``
    hold the cycles' starts and (exclusive) ends, and ``c`` is returned;
    ``pr`` (at least ``m``) is scratch for the REM minutes of each period.
    """
    gap_max = 15.0 * per_min  # REM runs closer than 15 min form one REM period
    nrem_min = 15.0 * per_min  # a NREM period lasts >= 15 min
    rem_min = 5.0 * per_min  # a REM period (except the first) holds >= 5 min of REM
    p = 0  # REM periods, merged into rs[:p], re[:p] (p <= q: nothing unread is overwritten)
    for q in range(m):
        if p > 0 and rs[q] - re[p - 1] < gap_max - 1e-9:
            pr[p - 1] += re[q] - rs[q]
            re[p - 1] = re[q]
        else:
            start, end = rs[q], re[q]
            rs[p] = start
            re[p] = end
            pr[p] = end - start
            p += 1
    c = 0  # cycles, written into rs[:c], re[:c] (c <= q)
    cycle_start = first
    for q in range(p):
        if c > 0 and pr[q] < rem_min - 1e-9:
            continue  # a short REM period after the first cycle is part of the NREM period
        if rs[q] - cycle_start < nrem_min - 1e-9:
            continue  # NREM period too short: this REM is not a cycle end
        end = re[q]
        rs[c] = cycle_start
        re[c] = end
        cycle_start = end
        c += 1
    return c


@nb.njit(cache=True, nogil=True)
def cycle_bounds(codes, per_min):
    """NREM/REM cycles of one night: ``(starts, ends)`` in epochs, ends exclusive."""
    n = codes.size
    rs = np.empty(n // 2 + 1, dtype=np.int64)
    re = np.empty(n // 2 + 1, dtype=np.int64)
    m = 0
    first = -1
    j = 0
    while j < n:
        c = codes[j]
        k = j + 1
        while k < n and codes[k] == c:
            k += 1
        if c >= 1 and first < 0:
            first = j
        if c == 4:
            rs[m] = j
            re[m] = k
            m += 1
        j = k
    if first < 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    c = _cycles_into(rs, re, m, first, per_min, np.empty(m, dtype=np.int64))
    return rs[:c].copy(), re[:c].copy()


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _night(codes, per_min, need5, need_p, need_a, bounds, rs, re, pr, cnt, lat, out):
    """Every endpoint of one night into ``out``, walking its runs of equal stages once.

    ``bounds`` (at least ``n + 1``), ``rs``/``re``/``pr`` (at least
    ``n // 2 + 1``) and ``cnt``/``lat`` (8 each) are scratch space for the
    run boundaries, the REM runs (and cycles), and the epochs and first
    epoch of each code.
    """
    n = codes.size
    cnt[:] = 0  # epochs of each code -2..5, at code + 2
    lat[:] = -1  # first epoch of each code
    n_rem_runs = 0
    first = -1
    last = -1
    run_start = -1  # start of the current run of uninterrupted sleep
    sol5 = -1
    lps = -1
    n_sleep_bouts = 0
    sleep_bout_sum = 0
    sleep_bout_max = 0
    wake_since_onset = 0
    waso_yasa = 0
    pending_awak = 0
    n_awak = 0
    n_wbouts = 0
    wbout_sum = 0
    n_to_wake = 0
    prev_sleep = False
    last_scored = -9
    shifts = 0
    b1 = (n + 2) // 3  # epoch j is in third t when floor(3 j / n) == t
    b2 = (2 * n + 2) // 3
    st0 = 0
    st1 = 0
    st2 = 0
    ns0 = 0
    ns1 = 0
    ns2 = 0
    sleep_after_lps = 0
    # run boundaries without a branch per epoch (store, then advance on a change)
    bounds[0] = 0
    m = 1
    for e in range(1, n):
        bounds[m] = e
        m += codes[e] != codes[e - 1]
    bounds[m] = n
    for r in range(m + 1):
        if r < m:
            j = bounds[r]
            k = bounds[r + 1]
            c = codes[j]
        else:  # one step past the end closes the last run of sleep
            j = n
            k = n
            c = -9
        is_sleep = c >= 1
        if run_start >= 0 and not is_sleep:  # a run of sleep ends at j
            length = j - run_start
            n_sleep_bouts += 1
            sleep_bout_sum += length
            if length > sleep_bout_max:
                sleep_bout_max = length
            if sol5 < 0 and length >= need5:
                sol5 = run_start
            if lps < 0 and length >= need_p:
                lps = run_start
                sleep_after_lps = length
            run_start = -1
        if j == n:
            break
        span = k - j
        if k <= b1:  # the run lies in one third (the usual case) or crosses a boundary
            o0, o1, o2 = span, 0, 0
        elif j >= b2:
            o0, o1, o2 = 0, 0, span
        elif j >= b1 and k <= b2:
            o0, o1, o2 = 0, span, 0
        else:
            o0 = max(0, b1 - j)
            o2 = max(0, k - b2)
            o1 = span - o0 - o2
        cnt[c + 2] += span
        if lat[c + 2] < 0:
            lat[c + 2] = j
        if is_sleep:
            if c == 4:
                rs[n_rem_runs] = j
                re[n_rem_runs] = k
                n_rem_runs += 1
            if first < 0:
                first = j
            last = k - 1
            if run_start < 0:
                run_start = j
            waso_yasa = wake_since_onset
            n_awak = pending_awak
            st0 += o0
            st1 += o1
            st2 += o2
            if lps >= 0:
                sleep_after_lps += span
        else:
            if c == 0 and prev_sleep:
                n_to_wake += 1
            if first >= 0:
                ns0 += o0
                ns1 += o1
                ns2 += o2
                if c == 0:
                    wake_since_onset += span
                    if span >= need_a:
                        pending_awak += 1
                        n_wbouts += 1
                        wbout_sum += span
        prev_sleep = is_sleep
        if c >= 0:
            if last_scored >= 0 and c != last_scored:
                shifts += 1
            last_scored = c

    nan = np.nan
    out[:] = nan
    c_uns, c_art, c_w, c_n1, c_n2, c_n3, c_rem, c_s = cnt[0], cnt[1], cnt[2], cnt[3], cnt[4], cnt[5], cnt[6], cnt[7]
    lat1, lat2, lat3, lat4 = lat[3], lat[4], lat[5], lat[6]
    tst = c_n1 + c_n2 + c_n3 + c_rem + c_s
    has = tst > 0
    out[UNSTAGED] = c_s
    out[TIB] = n / per_min
    out[TST] = tst / per_min
    out[SPT] = (last - first + 1) / per_min if has else 0.0
    out[SE] = 100.0 * out[TST] / out[TIB]
    out[WAKE] = c_w / per_min
    out[ART] = c_art / per_min
    out[UNS] = c_uns / per_min
    out[TWT] = out[TIB] - out[TST]
    out[N_AWAK] = n_awak
    out[N_WAKE_BOUTS] = n_wbouts
    if n_wbouts > 0:
        out[WAKE_BOUT_MEAN] = wbout_sum / n_wbouts / per_min
    if n_sleep_bouts > 0:
        out[SLEEP_BOUT_MEAN] = sleep_bout_sum / n_sleep_bouts / per_min
        out[SLEEP_BOUT_MAX] = sleep_bout_max / per_min
    if sol5 >= 0:
        out[SOL5] = sol5 / per_min
    if lps >= 0:
        out[LPS] = lps / per_min
        out[WASO_LPS] = ((n - lps) - sleep_after_lps) / per_min
    out[TST_T1] = st0 / per_min
    out[TST_T2] = st1 / per_min
    out[TST_T3] = st2 / per_min
    if has:
        out[WASO_T1] = ns0 / per_min
        out[WASO_T2] = ns1 / per_min
        out[WASO_T3] = ns2 / per_min
        out[WASO] = waso_yasa / per_min
        out[SOL] = first / per_min
        out[SME] = 100.0 * out[TST] / out[SPT]
        out[SFI] = n_to_wake / (out[TST] / 60.0)
        out[WASO_AASM] = (n - first - tst) / per_min
    if c_s == 0:
        out[N1] = c_n1 / per_min
        out[N2] = c_n2 / per_min
        out[N3] = c_n3 / per_min
        out[REM] = c_rem / per_min
        out[NREM] = out[N1] + out[N2] + out[N3]
        out[N_SHIFTS] = shifts
        if lat1 >= 0:
            out[LAT_N1] = lat1 / per_min
        if lat2 >= 0:
            out[LAT_N2] = lat2 / per_min
        if lat3 >= 0:
            out[LAT_N3] = lat3 / per_min
        if lat4 >= 0:
            out[LAT_REM] = lat4 / per_min
        if has:
            for t in range(5):
                out[P_N1 + t] = 100.0 * out[N1 + t] / out[TST]
            out[LAT_REM_ONSET] = out[LAT_REM] - out[SOL]
            out[N_CYCLES] = 0.0
            if n_rem_runs > 0:
                nc = _cycles_into(rs, re, n_rem_runs, first, per_min, pr)
                out[N_CYCLES] = nc
                if nc > 0:
                    total = 0
                    for q in range(nc):
                        total += re[q] - rs[q]
                    out[CYCLE_MEAN] = total / nc / per_min


@nb.njit(cache=True, parallel=True, error_model="numpy")
def nights_kernel(flat, offsets, lo, hi, per_min, persistent_minutes, min_awakening_minutes):
    """All endpoints of all nights: ``(n_nights, N_OUT)`` float64.

    Nights are split into chunks run in parallel; each chunk reuses one
    scratch buffer for the REM runs of its nights.
    """
    n = offsets.size
    out = np.empty((n, N_OUT))
    longest = 1
    for i in range(n):
        longest = max(longest, hi[i] - lo[i])
    n_chunks = min(n, 64)
    for chunk in nb.prange(n_chunks):
        rs = np.empty(longest // 2 + 1, dtype=np.int64)
        re = np.empty(longest // 2 + 1, dtype=np.int64)
        pr = np.empty(longest // 2 + 1, dtype=np.int64)
        cnt = np.empty(8, dtype=np.int64)
        bounds = np.empty(longest + 1, dtype=np.int64)
        lat = np.empty(8, dtype=np.int64)
        for i in range(chunk * n // n_chunks, (chunk + 1) * n // n_chunks):
            pm = per_min[i]
            need5 = max(np.ceil(5.0 * pm - 1e-9), 1.0)
            need_p = max(np.ceil(persistent_minutes * pm - 1e-9), 1.0)
            need_a = max(np.ceil(min_awakening_minutes * pm - 1e-9), 1.0)
            a = offsets[i] + lo[i]
            _night(flat[a: offsets[i] + hi[i]], pm, need5, need_p, need_a, bounds, rs, re, pr, cnt, lat, out[i])
    return out


@nb.njit(cache=True)
def transitions(codes):
    """8 x 8 counts of transitions between consecutive epochs (codes -2..5)."""
    counts = np.zeros((8, 8), dtype=np.int64)
    for j in range(codes.size - 1):
        counts[codes[j] + 2, codes[j + 1] + 2] += 1
    return counts
