"""Governments that bargain: rounds, zones of agreement, compliance, monitoring, trust.

A round is held at each ``talks`` event after negotiation starts, or when either side's
pressure ratio passes a trigger while no agreement is in force.  Pain is public, resolve is
private: each side reads the other's pressure ratio through its own error about the other's
resolve (``belief_sd``), which shrinks with each impasse (``belief_learning``).  The zone of
possible agreement is ``rho_US + rho_CN - 1`` as each side reads it (each side's pressure over
its resolve): positive when together the sides value relief more than the concessions cost them.
A round nearly collapses when the zone is thin, and ends in a walk-out with a probability that
falls with trust and with the width of the zone.  At the table each side offers its own
pressure ratio (the side under more pressure concedes more) and demands of the other the ratio
it reads for it; the terms split the difference, unless the gap is wider than what another
round's delay would cost: an impasse (:func:`bargain`).  A concession is a share of the side's
escalation taken back towards the status quo ante (the dataset's base tariffs, plus anything a
scenario says a side keeps): the US tariff and counter-measures, China's tariff, and China's
licence approval share and review time toward commitments.  A tariff escalation runs to any
increase the side has announced and not yet applied (a ``postponable`` tariff event): a truce in
force on its date postpones it, and reverting (a lapse, a collapse) brings it in, so a deal can
be a freeze (Buenos Aires, 1 December 2018: List 3 kept at 10%, its rise to 25% postponed); both
sides weigh such an increase before it lands, at the mean pain a day it would add over a deal's
term (:func:`threat_pressure`).  So deal terms are the game's result, and ``standoff validate``
tests them against Geneva and Buenos Aires.

Compliance is a choice made at the deal (:func:`chosen_compliance`: a side honours as much of
its concession as the risk of being read in breach, and so losing the truce's relief, makes
worth it; it defects outright where its concession outweighs that relief), carried out
imperfectly (an AR(1) process around the chosen level); each side observes the other's
compliance with noise, and its trust is an exponential average of what it observes.
Strategies: reciprocal (retaliate while the smoothed observation is below the threshold),
generous reciprocal (forgive each episode with a probability), grim trigger (retaliate for ever
at the first breach), and pressure threshold (retaliate only while its own pressure ratio is
below one).  Retaliation reverts the side's concessions; a retaliation that lasts
``collapse_days`` (or any grim trigger) collapses the agreement and both sides revert.

While an agreement is in force each side also takes measures outside the deal (entity listings,
chip controls, port fees, visas: outside the deal) at a daily rate, and the other side reads
each as a breach with a probability of one less its trust: it accuses, and the ladder runs
from there (a repair call, or limited retaliation and collapse).  A scheduled round held during
a truce is talks towards a fuller deal: if it holds it settles standing accusations and sets a
new deadline; if it breaks up the truce runs to its deadline.  At a deadline each side
extends if the pressure a lapse would bring back, as far as it trusts the other to keep its
side, outweighs what honouring its own concession costs it, give or take the day's politics
(:func:`extends`); otherwise the truce lapses.  So a truce ends by lapsing at a deadline, after
a measure outside the deal read as a breach, or after a perceived breach of the deal itself
(``first_end_cause``), and its lifespan is a distribution with a hazard, not two spikes.
"""
from __future__ import annotations

import math

import numpy as np
from typing import Any
from ._jit import kernel_jit

from .rng import kernel_uniform
from .trade import pending_tariff_pain

from ..layout import (CN, CN_SIDE, I_DIV, I_PT, I_SIGMA, I_TRADE_ADJ, PK_CONSUMERS, PK_EXPORTS,
                     MODE_LICENCE, T_APPR, T_DELAY,  # noqa: F401 - re-exported
                     N_AGR_DAYS, N_APPR, N_CM_CN, N_CM_US, N_COLLAPSE, N_CSD_CN,
                     N_CSD_US, N_DELAY, N_FLOOR_CN, N_FLOOR_US, N_FORGIVE, N_MINGAP, N_NEAR, N_NOISE_CN, N_NOISE_US,
                     N_RES_CN, N_RES_US, N_RETAL_Q, N_STATE, N_STRAT_CN, N_STRAT_US, N_T0_CN, N_T0_US, N_THETA,
                     N_TMEM, N_TRIGGER, N_WALK, NEG_OUTPUTS, NEG_PARAMS, O_AGREE, O_AGREEMENTS, O_COLLAPSE,
                     O_COLLAPSES, O_CONC_CN, O_CONC_US, O_EXT, O_FC_CN, O_FC_US, O_NEAR, O_ROUNDS, S_ACTIVE,
                     S_CCN, S_CUS, S_DEAL_APPR, S_DEAL_DELAY, S_DEAL_TCN, S_DEAL_TUS, S_END, S_EPISODE_CN,
                     S_EPISODE_US, S_FORGIVE_CN, S_FORGIVE_US, S_LAST_ROUND, S_OBS_CN, S_OBS_US, S_PRE_APPR,
                     S_PRE_CM, S_PRE_DELAY, S_PRE_TCN, S_PRE_TUS, S_Q_CN, S_Q_US, S_RETAL_CN, S_RETAL_DAYS_CN,
                     S_RETAL_DAYS_US, S_RETAL_US, S_START, S_TRUST_CN, S_TRUST_US, STRATEGIES, STREAM_FORGIVE_CN,
                     STREAM_FORGIVE_US, STREAM_OBS_CN, STREAM_OBS_US, STREAM_Q_CN, STREAM_Q_US, STREAM_ROUND, US,
                     N_EVW, N_REPAIR_DAYS, N_REPAIR_P, O_ACCUSE, O_LADDER, O_LIMRET, O_REPAIR, RUNG_ACCUSE,
                     RUNG_COMPLY, RUNG_RETALIATE, S_ACC_CN, S_ACC_US, S_PATH, S_RUNG_CN, S_RUNG_US,
                     STREAM_REPAIR_CN, STREAM_REPAIR_US, CAUSE_BREACH, CAUSE_LAPSE, CAUSE_MEASURE, N_EXT_NOISE,
                     N_MEAS_CN, N_MEAS_US, O_CAUSE, O_MEASURES, S_MEAS_CN, S_MEAS_US, S_RHO_PRE_CN,
                     S_RHO_PRE_US, STREAM_EXTEND, STREAM_EXTEND_ROUND, STREAM_MEASURE, STREAM_READ, S_RESMULT_CN,
                     S_RESMULT_US, N_BELIEF_LEARN, N_BELIEF_SD, O_DEAL_TCN, O_DEAL_TUS, O_IMPASSE, S_IMPASSES,
                     STREAM_BELIEF, O_DEFECT, O_QSTAR_CN, O_QSTAR_US, S_QSTAR_CN, S_QSTAR_US, N_LOOK, S_PLAST_CN,
                     S_PLAST_US, S_SCHED_CN, S_SCHED_DAY_US, S_SCHED_FROM_CN, S_SCHED_FROM_US, S_SCHED_US)

#: Persistence of a side's day-to-day compliance around the level it chose (AR(1) coefficient).
PHI = 0.9
#: Days over which a side smooths what it observes of the other's compliance.
SMOOTH_DAYS = 7.0


@kernel_jit(error_model="numpy", inline="always")
def _box_muller(u1: float, u2: float) -> float:
    """A standard normal from two uniforms in (0, 1)."""
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@kernel_jit(error_model="numpy")
def _normal(seed: np.uint64, member: int, day: int, stream: int) -> float:
    return _box_muller(kernel_uniform(seed, member, day, stream), kernel_uniform(seed, member, day, stream + 1000))


@kernel_jit(error_model="numpy")
def init_state(st: np.ndarray, npar: np.ndarray) -> None:
    st[:] = 0.0
    st[S_LAST_ROUND] = -1e9
    # The mean compliance in force: the scenario's, where it imposes one; otherwise (negative) the
    # level each side chooses at a deal, full until then.  Everything reads it from S_QSTAR_*.
    st[S_QSTAR_US] = npar[N_CM_US] if npar[N_CM_US] >= 0.0 else 1.0
    st[S_QSTAR_CN] = npar[N_CM_CN] if npar[N_CM_CN] >= 0.0 else 1.0
    st[S_Q_US] = st[S_QSTAR_US]
    st[S_Q_CN] = st[S_QSTAR_CN]
    st[S_OBS_US] = npar[N_T0_US]
    st[S_OBS_CN] = npar[N_T0_CN]
    st[S_TRUST_US] = npar[N_T0_US]
    st[S_TRUST_CN] = npar[N_T0_CN]
    st[S_RESMULT_US] = 1.0  # no dated period of the political calendar yet
    st[S_RESMULT_CN] = 1.0
    st[S_PLAST_US] = -1.0  # no pressure seen yet: nothing to project from on the first day
    st[S_PLAST_CN] = -1.0
    st[S_SCHED_FROM_US] = -1.0  # no announced increase has come in
    st[S_SCHED_FROM_CN] = -1.0


@kernel_jit(error_model="numpy")
def projected_ratio(total: float, npar: np.ndarray, st: np.ndarray, side: int, threat: float = 0.0) -> float:
    """A side's pressure ratio as it weighs it today: the pressure it expects over the days ahead,
    plus ``threat`` (the pressure of announced increases not yet in force that a deal would keep
    away, :func:`threat_pressure`), over its resolve, times the multiplier its political calendar
    sets today (``side``: ``US`` or ``CN``).  Call once a day per side: it keeps today's total
    (without the threat) for tomorrow.

    Pressure is remembered pain (an exponential average, :mod:`standoff.core.politics`); a side
    holding out weighs what holding out will cost, so it projects its total pressure
    ``look_ahead_days`` on at today's rate of change (the mean pressure over the wait to the next
    round, half the days between rounds by default: a first-order projection; discounting over
    weeks is negligible).  Rising pain (plants running out of magnets) makes it concede sooner,
    relief after a deal makes it expect less.  ``look_ahead_days`` 0: pressure as remembered.
    """
    last = st[S_PLAST_US + side]
    st[S_PLAST_US + side] = total
    fwd = total
    if last >= 0.0:
        fwd = max(total + npar[N_LOOK] * (total - last), 0.0)
    return (fwd + threat) / (npar[N_RES_US + side] * st[S_RESMULT_US + side])


@kernel_jit(error_model="numpy", inline="always")
def threat_pressure(t: int, m: int, net: Any, par: Any, goods: Any, pol: Any) -> tuple[float, float]:
    """The pressure (salience-weighted US$ bn a day) each side puts on an announced tariff increase
    not yet in force, for member ``m`` on day ``t``: ``(US side, China side)``.

    A side whose pain is remembered does not feel an increase before it lands, but a government
    told that a tariff rises on 1 January knows what it will cost (List 3's rise to 25%, announced
    on 24 September 2018; the Buenos Aires truce a month before it postponed it).  Each pending increase
    (``S_SCHED_*``, with its date) is priced as the mean pain a day it would add over a deal's term
    (``agreement_days``: what a deal made today keeps away), by
    :func:`standoff.core.trade.pending_tariff_pain` on every goods link it covers, from that link's
    tariff in force: the levying side's buyers (consumers) and the exporting side (exports), each
    weighted by its interest group's salience.  An increase due beyond the term adds nothing; one a
    truce has postponed is due at once if the truce ends (lead 0).  Once it has come in, the sides
    go on weighing the pain still to come from it (imports still falling, sales not yet placed
    elsewhere) from the tariff it rose from, until the next deal: the pain it already causes is
    felt, so nothing is counted twice and the weight does not vanish on the day it lands.  Nothing
    else is anticipated: no new assumption is needed, and every scenario without an announced
    increase is unchanged.
    """
    st = pol.nst[m]
    thr_us = 0.0
    thr_cn = 0.0
    gp = par.gp
    term = pol.npar[m, N_AGR_DAYS]
    side = net.side
    sal = pol.salience
    for s in range(2):
        v = st[S_SCHED_US + s]
        if v <= 0.0:
            continue
        imp = net.us_idx if s == US else net.cn_idx
        exp_ = net.cn_idx if s == US else net.us_idx
        landed = st[S_SCHED_FROM_US + s] >= 0.0
        # pending: due in this many days (a postponed one at once); in: -(days since it came in)
        lead = st[S_SCHED_DAY_US + s] - t if landed else max(st[S_SCHED_DAY_US + s] - t, 0.0)
        si = side[imp]
        se = side[exp_]
        redir = par.redir_cn[m] if se == CN_SIDE else par.redir[m]
        for j in range(net.gt_e.shape[0]):
            if net.gt_e[j] != exp_ or net.gt_i[j] != imp:
                continue
            gg = net.gt_g[j]
            tau = st[S_SCHED_FROM_US + s] if landed else goods.tariff[exp_, imp, gg, m]
            pi, pe = pending_tariff_pain(net.trade_v0[exp_, imp, gg], tau, v,
                                         net.tau0[exp_, imp, gg], gp[I_PT, m], gp[I_SIGMA, m], gp[I_DIV, m],
                                         par.prem[m], redir, gp[I_TRADE_ADJ, m], lead, term)
            w_i = sal[si, PK_CONSUMERS] * pi * 1e-9
            w_e = sal[se, PK_EXPORTS] * pe * 1e-9
            if si == US:
                thr_us += w_i
            else:
                thr_cn += w_i
            if se == US:
                thr_us += w_e
            else:
                thr_cn += w_e
    return thr_us, thr_cn


@kernel_jit(error_model="numpy")
def read_other(rho_other: float, seed: np.uint64, member: int, npar: np.ndarray, st: np.ndarray, reader: int) -> float:
    """The other side's pressure ratio as ``reader`` reads it.

    Pain is public, resolve is private: ``reader`` misjudges the other's resolve by a factor
    ``exp(e)``, ``e`` normal with sd ``belief_sd`` (one draw per member, on day 0), shrunk by
    ``(1 - belief_learning)`` for each impasse so far (demands made at the table reveal part of
    the gap).  A reader who overrates the other's resolve reads its ratio as lower.  With
    ``belief_sd`` 0 the reading is exact.
    """
    sd = npar[N_BELIEF_SD]
    if sd <= 0.0:
        return rho_other
    s0 = STREAM_BELIEF + reader
    u1 = kernel_uniform(seed, member, 0, s0)
    u2 = kernel_uniform(seed, member, 0, s0 + 2)
    e = sd * (1.0 - npar[N_BELIEF_LEARN]) ** st[S_IMPASSES] * _box_muller(u1, u2)
    return rho_other * np.exp(-e)


@kernel_jit(error_model="numpy")
def bargain(rho_us: float, rho_cn: float, rcn_seen: float, rus_seen: float, delay_share: float) -> tuple[float, float]:
    """The concessions of a deal (shares of each side's escalation taken back), or ``(-1, -1)``
    for an impasse.

    A side offers its own pressure ratio (capped at one: conceding everything), so the side under
    more pressure gives more and a side under none gives nothing; the other demands of it the
    ratio it reads for it (:func:`read_other`).  The terms split the difference between offer
    and demand.  Where a demand exceeds the offer, both sides take the split only if the half-gap
    each gives up is no more than another round's delay would cost the side that waits least
    (its own ratio times ``delay_share``, the days to the next round over the deal's term: the
    war of attrition's cost of waiting); otherwise the round ends in an impasse.  With exact
    readings offer and demand coincide and each side concedes its own ratio.

    Examples
    --------
    >>> bargain(0.4, 1.2, 1.2, 0.4, 0.25)
    (0.4, 1.0)
    >>> bargain(0.4, 0.6, 0.9, 0.4, 0.25)   # the US expects 0.9 of China, which offers 0.6
    (-1.0, -1.0)
    >>> bargain(0.5, 0.5, 0.75, 0.5, 0.25)  # a half-gap of 0.125, what a round's delay costs
    (0.5, 0.625)
    """
    offer_us = min(1.0, rho_us)
    offer_cn = min(1.0, rho_cn)
    want_us = min(1.0, rus_seen)  # what China demands of the US
    want_cn = min(1.0, rcn_seen)  # what the US demands of China
    patience = min(rho_us, rho_cn) * delay_share
    if 0.5 * (want_us - offer_us) > patience or 0.5 * (want_cn - offer_cn) > patience:
        return -1.0, -1.0
    return 0.5 * (offer_us + want_us), 0.5 * (offer_cn + want_cn)


@kernel_jit(error_model="numpy")
def chosen_compliance(conc: float, relief: float, sd_q: float, noise_reader: float, theta: float) -> float:
    """The mean compliance a side chooses at a deal (Bagwell-Staiger's self-enforcing agreement
    seen through Green-Porter's imperfect public monitoring).

    Honouring a share ``q`` of its concession ``conc`` (its share of the escalation taken back,
    in pressure-ratio units like everything at the table) costs the side ``conc * q`` a day; the
    truce spares it ``relief`` a day (its pressure ratio when the deal was made, which reverting
    brings back), lost if the other reads a breach: its smoothed reading of ``q``, normal with
    sd ``s`` (the side's own day-to-day variation ``sd_q`` around ``q``, AR(1) with :data:`PHI`,
    and the reader's noise ``noise_reader``, both through the reader's :data:`SMOOTH_DAYS`-day
    smoothing), falls below the threshold ``theta``.  The best ``q`` sets the marginal cost equal to
    the marginal risk, ``conc = relief * pdf((theta - q) / s) / s``; the side defects outright
    (returns 0) where no such ``q`` exists or where defecting, certain to be read as a breach,
    costs it less than complying at the best ``q``.  Nothing conceded: it complies in full (1).

    Examples
    --------
    >>> round(chosen_compliance(0.5, 0.5, 0.12, 0.2, 0.6), 3)   # concession worth its relief
    0.775
    >>> chosen_compliance(0.9, 0.5, 0.12, 0.2, 0.6)              # a concession beyond the relief
    0.0
    """
    if conc <= 0.0:
        return 1.0
    if relief <= 0.0:
        return 0.0
    a = 1.0 / SMOOTH_DAYS
    k = (1.0 - a) * PHI
    s = np.sqrt(a / (2.0 - a) * (sd_q * sd_q * (1.0 + k) / (1.0 - k) + noise_reader * noise_reader))
    r = conc / relief
    if s <= 0.0:  # seen exactly: comply just enough, if that is worth it
        return min(max(theta, 0.0), 1.0) if r * theta <= 1.0 else 0.0
    arg = 1.0 / (r * s * np.sqrt(2.0 * np.pi))
    if arg <= 1.0:
        return 0.0
    q = min(theta + s * np.sqrt(2.0 * np.log(arg)), 1.0)
    breach_q = 0.5 * (1.0 + math.erf((theta - q) / (s * np.sqrt(2.0))))
    breach_0 = 0.5 * (1.0 + math.erf(theta / (s * np.sqrt(2.0))))
    if r * q + breach_q > breach_0:
        return 0.0
    return q


@kernel_jit(error_model="numpy", inline="always")
def _settle_doubts(st: np.ndarray, npar: np.ndarray) -> None:
    """A repair call, a round that holds or a new deal settles the measures outside the deal read
    as breaches, and each side's reading of the other starts again from the benefit of the doubt
    (at the breach threshold, if it was below)."""
    st[S_MEAS_US] = 0.0
    st[S_MEAS_CN] = 0.0
    st[S_OBS_US] = max(st[S_OBS_US], npar[N_THETA])
    st[S_OBS_CN] = max(st[S_OBS_CN], npar[N_THETA])


@kernel_jit(error_model="numpy")
def extends(trust: float, rho_pre: float, rho_now: float, conc: float, q: float, sd: float, u1: float,
            u2: float) -> bool:
    """Whether a side extends a truce at a deadline (or at a round held during it).

    It weighs, in pressure-ratio units like every decision at the table, what a lapse would cost
    it against what the truce costs it.  A lapse brings back at least the pressure it bore when the
    deal was made, or today's if that is higher (the standoff has gone on hurting: the truce
    relieved only part of it), and it keeps the truce's relief only if the other keeps its side,
    which it believes with its ``trust``: a gain of ``trust * max(rho_pre, rho_now)``.  Honouring
    its own concession ``conc`` at its mean compliance ``q`` costs it ``conc * q``, as in
    :func:`chosen_compliance`.  The day's domestic politics add normal noise of sd ``sd``
    (``extension_noise``; ``u1``, ``u2``: two uniforms, Box-Muller).  It extends if the gain less
    the cost plus the noise is not negative.

    Examples
    --------
    >>> extends(0.7, 0.4, 0.9, 0.4, 0.76, 0.0, 0.5, 0.5)   # the standoff hurts more than its concession
    True
    >>> extends(0.5, 0.8, 0.3, 0.8, 0.76, 0.0, 0.5, 0.5)   # a concession worth more than the trusted relief
    False
    """
    eps = _box_muller(u1, u2) if sd > 0.0 else 0.0
    return trust * max(rho_pre, rho_now) - conc * q + sd * eps >= 0.0


@kernel_jit(error_model="numpy", inline="always")
def _extends_side(st: np.ndarray, npar: np.ndarray, side: int, rho_now: float, u1: float, u2: float) -> bool:
    """:func:`extends` for ``side`` with its state: its trust, its ratio at the deal, its
    concession and the mean compliance in force (chosen at the deal or imposed)."""
    q = st[S_QSTAR_US] if side == US else st[S_QSTAR_CN]
    return extends(st[S_TRUST_US] if side == US else st[S_TRUST_CN], st[S_RHO_PRE_US] if side == US else st[S_RHO_PRE_CN],
                   rho_now, st[S_CUS] if side == US else st[S_CCN], q, npar[N_EXT_NOISE], u1, u2)


@kernel_jit(error_model="numpy")
def _apply_terms(st: np.ndarray, us_on: bool, cn_on: bool, tariff: np.ndarray, c_appr: np.ndarray,
                 c_delay: np.ndarray, c_mode: np.ndarray, cm_on: np.ndarray, cm_imposer: np.ndarray,
                 us: int, cn: int, q_cn: float, us_limited: bool = False, cn_limited: bool = False) -> None:
    """Set policies from the deal (a side honouring it) or its pre-deal levels (reverting).

    A side on the limited-retaliation rung (``us_limited``, ``cn_limited``) keeps its tariff at
    the deal but takes targeted measures: the US puts its counter-measures on, China licenses at
    its pre-deal approval share and review time.
    """
    G = tariff.shape[2]
    for gg in range(G):
        tariff[cn, us, gg] = st[S_DEAL_TUS] if (us_on or us_limited) else st[S_PRE_TUS]
        tariff[us, cn, gg] = st[S_DEAL_TCN] if (cn_on or cn_limited) else st[S_PRE_TCN]
    P, R = c_appr.shape[0], c_appr.shape[1]
    for p in range(P):
        for i in range(R):
            if i != cn and c_mode[p, cn, i] == MODE_LICENCE:
                if cn_on:
                    c_appr[p, cn, i] = min(1.0, st[S_DEAL_APPR] * q_cn)
                    c_delay[p, cn, i] = st[S_DEAL_DELAY]
                else:
                    c_appr[p, cn, i] = st[S_PRE_APPR]
                    c_delay[p, cn, i] = st[S_PRE_DELAY]
    for c in range(cm_on.shape[0]):
        if cm_imposer[c] == us:
            if us_limited:
                cm_on[c] = 1.0  # targeted curbs (software, ethane, jet engines in late May 2025)
            elif st[S_CUS] >= 0.5:
                cm_on[c] = 0.0 if us_on else (1.0 if st[S_PRE_CM] > 0.5 else cm_on[c])


@kernel_jit(error_model="numpy", inline="always")
def _bring_in_postponed(st: np.ndarray, t: int) -> None:
    """A truce has ended and reverting has set the pre-deal tariffs: an increase it postponed (its
    date passed while the truce was in force) comes in today, from the deal's tariff, and the sides
    go on weighing the pain still to come from it (:func:`threat_pressure`)."""
    for side in range(2):
        if st[S_SCHED_US + side] > 0.0 and st[S_SCHED_FROM_US + side] < 0.0 and st[S_SCHED_DAY_US + side] <= t:
            st[S_SCHED_FROM_US + side] = st[S_DEAL_TUS + side]
            st[S_SCHED_DAY_US + side] = t


@kernel_jit(error_model="numpy")
def negotiate_day(t: int, member: int, seed: np.uint64, talks_today: bool, npar: np.ndarray, st: np.ndarray,
                  rho_us: float, rho_cn: float, tariff: np.ndarray, c_appr: np.ndarray, c_delay: np.ndarray,
                  c_mode: np.ndarray, cm_on: np.ndarray, cm_imposer: np.ndarray, us: int, cn: int,
                  out: np.ndarray, lic_evidence: float = -1.0) -> None:
    """One day of the political game for one member: rounds, compliance, monitoring, trust, the ladder.

    ``rho_us``, ``rho_cn``: each side's pressure ratio today (:func:`projected_ratio`).

    ``lic_evidence`` is the share of China-to-US licence contracts licensed yesterday (``-1``
    where none is under licence): what the US can see of China's compliance in the trade itself.
    """

    # ---- compliance (AR(1), imperfect even in good faith) and noisy monitoring ----
    phi = PHI
    for side in range(2):
        qs = S_Q_US if side == US else S_Q_CN
        mean = st[S_QSTAR_US] if side == US else st[S_QSTAR_CN]  # chosen at the deal, or imposed
        sd = npar[N_CSD_US] if side == US else npar[N_CSD_CN]
        eps = _normal(seed, member, t, STREAM_Q_US if side == US else STREAM_Q_CN)
        st[qs] = phi * st[qs] + (1.0 - phi) * mean + sd * np.sqrt(1.0 - phi * phi) * eps
        st[qs] = min(max(st[qs], 0.0), 1.0)

    if st[S_ACTIVE] > 0.5:
        # What each side actually does: its good-faith compliance, or little while retaliating.
        done_us = st[S_Q_US] * (npar[N_RETAL_Q] if st[S_RETAL_US] > 0.5 else 1.0)
        done_cn = st[S_Q_CN] * (npar[N_RETAL_Q] if st[S_RETAL_CN] > 0.5 else 1.0)
        # US observes China, China observes the US, each with its own noise.  Where licences are
        # the issue the US reads them in the trade: the share of its contracts licensed against
        # the approval share China committed to (slow licensing reads as a breach), weighted by
        # evidence_weight against the compliance China means.
        seen_cn = done_cn
        if lic_evidence >= 0.0:
            ev = min(lic_evidence / max(st[S_DEAL_APPR], 0.05), 1.0)
            seen_cn = npar[N_EVW] * ev + (1.0 - npar[N_EVW]) * done_cn
        o_us = seen_cn + npar[N_NOISE_US] * _normal(seed, member, t, STREAM_OBS_US)
        o_cn = done_us + npar[N_NOISE_CN] * _normal(seed, member, t, STREAM_OBS_CN)
        st[S_OBS_US] += (o_us - st[S_OBS_US]) / SMOOTH_DAYS
        st[S_OBS_CN] += (o_cn - st[S_OBS_CN]) / SMOOTH_DAYS
        a = 1.0 / npar[N_TMEM]
        st[S_TRUST_US] = min(max(st[S_TRUST_US] + a * (o_us - st[S_TRUST_US]), 0.0), 1.0)
        st[S_TRUST_CN] = min(max(st[S_TRUST_CN] + a * (o_cn - st[S_TRUST_CN]), 0.0), 1.0)

        # Measures outside the deal: side ``side`` takes one with its daily rate; the other side
        # reads it as a breach with probability one less its trust, and accuses.
        for side in range(2):
            rate = npar[N_MEAS_US] if side == US else npar[N_MEAS_CN]
            if rate > 0.0 and kernel_uniform(seed, member, t, STREAM_MEASURE + side) < rate:
                out[O_MEASURES] += 1.0
                reader = CN if side == US else US
                trust_r = st[S_TRUST_US] if reader == US else st[S_TRUST_CN]
                if kernel_uniform(seed, member, t, STREAM_READ + reader) < 1.0 - trust_r:
                    st[S_MEAS_US if reader == US else S_MEAS_CN] = 1.0

        collapse = False
        for side in range(2):
            obs = st[S_OBS_US] if side == US else st[S_OBS_CN]
            strat = int(npar[N_STRAT_US] if side == US else npar[N_STRAT_CN])
            rho = rho_us if side == US else rho_cn
            rs = S_RETAL_US if side == US else S_RETAL_CN
            rd = S_RETAL_DAYS_US if side == US else S_RETAL_DAYS_CN
            fs = S_FORGIVE_US if side == US else S_FORGIVE_CN
            es = S_EPISODE_US if side == US else S_EPISODE_CN
            rg = S_RUNG_US if side == US else S_RUNG_CN
            ad = S_ACC_US if side == US else S_ACC_CN
            ot = S_MEAS_US if side == US else S_MEAS_CN
            breach = obs < npar[N_THETA] or st[ot] > 0.5  # a measure read as a breach stands until repaired
            if breach and st[es] < 0.5:  # a new episode of perceived breach: a public accusation
                st[es] = 1.0
                u = kernel_uniform(seed, member, t, STREAM_FORGIVE_US if side == US else STREAM_FORGIVE_CN)
                st[fs] = 1.0 if (strat == 1 and u < npar[N_FORGIVE]) else 0.0
                st[rg] = max(st[rg], float(RUNG_ACCUSE))
                st[ad] = 0.0
                out[O_ACCUSE] += 1.0
                if np.isnan(out[O_COLLAPSE]):
                    st[S_PATH] = float(int(st[S_PATH]) | 1)
            if not breach:  # evidence of compliance again: step down
                st[es] = 0.0
                st[fs] = 0.0
                st[rg] = float(RUNG_COMPLY)
                st[ad] = 0.0
            if strat == 2:  # grim trigger: no ladder, a breach ends it
                if breach:
                    collapse = True
                st[rs] = 1.0 if breach else 0.0
                continue
            if breach:
                st[ad] += 1.0
                climb = st[fs] < 0.5 and not (strat == 3 and rho >= 1.0)
                if st[rg] == RUNG_ACCUSE and climb and st[ad] >= npar[N_REPAIR_DAYS]:
                    # a call or round to repair: both step down if it works, otherwise the
                    # accuser takes limited, targeted measures
                    if np.isnan(out[O_COLLAPSE]):
                        st[S_PATH] = float(int(st[S_PATH]) | 2)
                    u = kernel_uniform(seed, member, t, STREAM_REPAIR_US if side == US else STREAM_REPAIR_CN)
                    if u < npar[N_REPAIR_P]:
                        out[O_REPAIR] += 1.0
                        st[rg] = float(RUNG_COMPLY)
                        st[ad] = 0.0
                        st[es] = 0.0
                        _settle_doubts(st, npar)  # the call settles the measures too
                    else:
                        st[rg] = float(RUNG_RETALIATE)
                        out[O_LIMRET] += 1.0
                        if np.isnan(out[O_COLLAPSE]):
                            st[S_PATH] = float(int(st[S_PATH]) | 4)
            retaliate = st[rg] == RUNG_RETALIATE
            st[rs] = 1.0 if retaliate else 0.0
            st[rd] = st[rd] + 1.0 if retaliate else 0.0
            if st[rd] >= npar[N_COLLAPSE]:
                collapse = True
        if collapse:
            st[S_ACTIVE] = 0.0
            out[O_COLLAPSES] += 1.0
            if np.isnan(out[O_COLLAPSE]):
                out[O_COLLAPSE] = t
                out[O_LADDER] = 1.0 if int(st[S_PATH]) == 7 else 0.0
                out[O_CAUSE] = CAUSE_MEASURE if (st[S_MEAS_US] > 0.5 or st[S_MEAS_CN] > 0.5) else CAUSE_BREACH
            st[S_MEAS_US] = 0.0
            st[S_MEAS_CN] = 0.0
            st[S_RUNG_US] = 0.0
            st[S_RUNG_CN] = 0.0
            st[S_RETAL_US] = 1.0
            st[S_RETAL_CN] = 1.0
            _apply_terms(st, False, False, tariff, c_appr, c_delay, c_mode, cm_on, cm_imposer, us, cn, 1.0)
            _bring_in_postponed(st, t)
            st[S_RETAL_US] = 0.0
            st[S_RETAL_CN] = 0.0
            st[S_RETAL_DAYS_US] = 0.0
            st[S_RETAL_DAYS_CN] = 0.0
            return
        if talks_today:
            # A round during a truce: talks towards a fuller deal.  Each side takes the decision it
            # would take at the deadline (:func:`extends`: the pressure a lapse would bring back,
            # trusted, against its concession, and the day's politics), and the round holds if both extend and
            # nobody walks out (as in a round without an agreement, likelier with less trust and
            # a thinner zone; the zone at stake is the pressure each side would face if the truce
            # lapsed, its ratio when the deal was made, not today's relieved one).  A round that
            # holds settles standing accusations, as a repair call does, and sets a new deadline
            # ``agreement_days`` on (Stockholm, July 2025; Washington, February 2019); one that
            # breaks up leaves the truce to its deadline.
            st[S_LAST_ROUND] = t
            out[O_ROUNDS] += 1.0
            zone_ext = st[S_RHO_PRE_US] + st[S_RHO_PRE_CN] - 1.0
            trust_ext = 0.5 * (st[S_TRUST_US] + st[S_TRUST_CN])
            p_walk_ext = (1.0 - trust_ext) * np.exp(-max(zone_ext, 0.0) / npar[N_WALK])
            both = _extends_side(st, npar, US, rho_us, kernel_uniform(seed, member, t, STREAM_EXTEND_ROUND),
                                 kernel_uniform(seed, member, t, STREAM_EXTEND_ROUND + 2)) and \
                _extends_side(st, npar, CN, rho_cn, kernel_uniform(seed, member, t, STREAM_EXTEND_ROUND + 1),
                              kernel_uniform(seed, member, t, STREAM_EXTEND_ROUND + 3))
            if zone_ext > 0.0 and both and kernel_uniform(seed, member, t, STREAM_ROUND) >= p_walk_ext:
                st[S_END] = max(st[S_END], t + npar[N_AGR_DAYS])
                out[O_EXT] += 1.0
                if st[S_RUNG_US] != RUNG_COMPLY or st[S_RUNG_CN] != RUNG_COMPLY or st[S_MEAS_US] > 0.5 \
                        or st[S_MEAS_CN] > 0.5:
                    out[O_REPAIR] += 1.0
                # It settles accusations and ends limited retaliation (London, June 2025: licences
                # for the lifting of the US curbs taken in May).
                for rg, ad, es, rs, rd in ((S_RUNG_US, S_ACC_US, S_EPISODE_US, S_RETAL_US, S_RETAL_DAYS_US),
                                           (S_RUNG_CN, S_ACC_CN, S_EPISODE_CN, S_RETAL_CN, S_RETAL_DAYS_CN)):
                    st[rg] = float(RUNG_COMPLY)
                    st[ad] = 0.0
                    st[es] = 0.0
                    st[rs] = 0.0
                    st[rd] = 0.0
                _settle_doubts(st, npar)
            else:
                out[O_NEAR] += 1.0
        if t >= st[S_END]:
            # A deadline: each side extends if the pressure a lapse would bring back, as far as it
            # trusts the other to keep its side, outweighs its own concession (:func:`extends`).
            if _extends_side(st, npar, US, rho_us, kernel_uniform(seed, member, t, STREAM_EXTEND),
                             kernel_uniform(seed, member, t, STREAM_EXTEND + 1000)) and \
                    _extends_side(st, npar, CN, rho_cn, kernel_uniform(seed, member, t, STREAM_EXTEND + 1),
                                  kernel_uniform(seed, member, t, STREAM_EXTEND + 1001)):
                st[S_END] = t + npar[N_AGR_DAYS]
                out[O_EXT] += 1.0
            else:
                st[S_ACTIVE] = 0.0
                st[S_MEAS_US] = 0.0
                st[S_MEAS_CN] = 0.0
                out[O_COLLAPSES] += 1.0
                if np.isnan(out[O_COLLAPSE]):
                    out[O_COLLAPSE] = t
                    out[O_CAUSE] = CAUSE_LAPSE
                _apply_terms(st, False, False, tariff, c_appr, c_delay, c_mode, cm_on, cm_imposer, us, cn, 1.0)
                _bring_in_postponed(st, t)
                return
        lim_us = st[S_RETAL_US] > 0.5 and int(npar[N_STRAT_US]) != 2
        lim_cn = st[S_RETAL_CN] > 0.5 and int(npar[N_STRAT_CN]) != 2
        _apply_terms(st, st[S_RETAL_US] < 0.5, st[S_RETAL_CN] < 0.5, tariff, c_appr, c_delay, c_mode, cm_on,
                     cm_imposer, us, cn, st[S_Q_CN], lim_us, lim_cn)
        if not np.isnan(out[O_COLLAPSE]) or out[O_LADDER] == 1.0:
            return
        out[O_LADDER] = 1.0 if int(st[S_PATH]) == 7 else 0.0  # the ladder so far, until a collapse
        return

    # ---- no agreement in force: hold a round when scheduled or when pressure forces one ----
    triggered = max(rho_us, rho_cn) >= npar[N_TRIGGER] and t - st[S_LAST_ROUND] >= npar[N_MINGAP]
    if not (talks_today or triggered):
        return
    st[S_LAST_ROUND] = t
    out[O_ROUNDS] += 1.0
    # Each side sees the other's pain (trade and output are public) but not its resolve: it reads
    # the other's pressure ratio through its own error about that resolve, which shrinks with
    # every round that breaks up on demands (:func:`read_other`).
    rcn_seen = read_other(rho_cn, seed, member, npar, st, US)  # China's ratio as the US reads it
    rus_seen = read_other(rho_us, seed, member, npar, st, CN)  # the US's ratio as China reads it
    zone_us = rho_us + rcn_seen - 1.0
    zone_cn = rus_seen + rho_cn - 1.0
    zone = min(zone_us, zone_cn)  # the thinner zone either side sees (the true one when both read right)
    if zone <= 0.0:
        out[O_NEAR] += 1.0  # nothing to agree: the round breaks up
        return
    trust = 0.5 * (st[S_TRUST_US] + st[S_TRUST_CN])
    if zone < npar[N_NEAR]:
        out[O_NEAR] += 1.0
    p_walk = (1.0 - trust) * np.exp(-zone / npar[N_WALK])
    if kernel_uniform(seed, member, t, STREAM_ROUND) < p_walk:
        out[O_NEAR] += 1.0
        return
    # ---- terms: what each side offers and what the other demands of it ----
    terms = bargain(rho_us, rho_cn, rcn_seen, rus_seen, npar[N_MINGAP] / npar[N_AGR_DAYS])
    if terms[0] < 0.0:
        # An impasse: a side would not give what the other demands, and another round's delay
        # costs it less than the gap.  Both learn from the demands made (Fearon's information
        # problem; a war of attrition ends as the errors shrink and the pain grows).
        st[S_IMPASSES] += 1.0
        out[O_IMPASSE] += 1.0
        out[O_NEAR] += 1.0
        return
    c_us = terms[0]
    c_cn = terms[1]
    # Pre-deal policy: the US tariff on China, China's on the US, China's licensing terms.
    st[S_PRE_TUS] = tariff[cn, us, 0]
    st[S_PRE_TCN] = tariff[us, cn, 0]
    pre_appr = 1.0
    pre_delay = 0.0
    P, R = c_appr.shape[0], c_appr.shape[1]
    found = False
    for p in range(P):
        for i in range(R):
            if not found and i != cn and c_mode[p, cn, i] == 1:
                pre_appr = c_appr[p, cn, i]
                pre_delay = c_delay[p, cn, i]
                found = True
    st[S_PRE_APPR] = pre_appr
    st[S_PRE_DELAY] = pre_delay
    st[S_PRE_CM] = 0.0
    for c in range(cm_on.shape[0]):
        if cm_imposer[c] == us and cm_on[c] > 0.0:
            st[S_PRE_CM] = 1.0
    st[S_CUS] = c_us
    st[S_CCN] = c_cn
    # An increase that has come in is part of the tariff in force: a deal takes over from it.
    for side in range(2):
        if st[S_SCHED_FROM_US + side] >= 0.0:
            st[S_SCHED_US + side] = 0.0
            st[S_SCHED_FROM_US + side] = -1.0
    # A side's escalation runs to the increase it has announced and not yet applied, if higher (List
    # 3's rise to 25%, announced for 1 January 2019): taking back part of that escalation can leave
    # the tariff where it is and postpone the rise (Buenos Aires), or let part of it go ahead.
    esc_us = max(st[S_PRE_TUS], st[S_SCHED_US])
    esc_cn = max(st[S_PRE_TCN], st[S_SCHED_CN])
    st[S_DEAL_TUS] = min(esc_us, npar[N_FLOOR_US] + (esc_us - npar[N_FLOOR_US]) * (1.0 - c_us))
    st[S_DEAL_TCN] = min(esc_cn, npar[N_FLOOR_CN] + (esc_cn - npar[N_FLOOR_CN]) * (1.0 - c_cn))
    st[S_DEAL_APPR] = max(pre_appr, pre_appr + (npar[N_APPR] - pre_appr) * c_cn)
    st[S_DEAL_DELAY] = min(pre_delay, pre_delay - (pre_delay - npar[N_DELAY]) * c_cn)
    st[S_ACTIVE] = 1.0
    st[S_START] = t
    st[S_END] = t + npar[N_AGR_DAYS]
    st[S_RHO_PRE_US] = rho_us
    st[S_RHO_PRE_CN] = rho_cn
    st[S_RETAL_US] = 0.0
    st[S_RETAL_CN] = 0.0
    st[S_RETAL_DAYS_US] = 0.0
    st[S_RETAL_DAYS_CN] = 0.0
    _settle_doubts(st, npar)  # a fresh deal starts from the benefit of the doubt
    # Each side chooses how far to comply (unless the scenario imposes a mean): its concession
    # against the relief the truce gives it, seen through the other's noisy monitoring.
    defected = False
    for side in range(2):
        cm = npar[N_CM_US] if side == US else npar[N_CM_CN]
        if cm >= 0.0:
            continue
        q = chosen_compliance(c_us if side == US else c_cn, rho_us if side == US else rho_cn,
                              npar[N_CSD_US] if side == US else npar[N_CSD_CN],
                              npar[N_NOISE_CN] if side == US else npar[N_NOISE_US], npar[N_THETA])
        st[S_QSTAR_US if side == US else S_QSTAR_CN] = q
        st[S_Q_US if side == US else S_Q_CN] = q
        if q <= 0.0:
            defected = True
    if defected:
        out[O_DEFECT] += 1.0
    out[O_AGREEMENTS] += 1.0
    if np.isnan(out[O_AGREE]):
        out[O_AGREE] = t
    if out[O_AGREEMENTS] == 1.0:
        out[O_CONC_US] = c_us
        out[O_CONC_CN] = c_cn
        out[O_DEAL_TUS] = st[S_DEAL_TUS]
        out[O_DEAL_TCN] = st[S_DEAL_TCN]
        # the mean compliance in force: chosen at this deal, or imposed by the scenario
        out[O_QSTAR_US] = st[S_QSTAR_US]
        out[O_QSTAR_CN] = st[S_QSTAR_CN]
    _apply_terms(st, True, True, tariff, c_appr, c_delay, c_mode, cm_on, cm_imposer, us, cn, st[S_Q_CN])


@kernel_jit(error_model="numpy", inline="always")
def play_negotiation(t: int, first: int, seed: np.uint64, neg_on: bool, neg_start: int, talks_today: bool,
                     net: Any, par: Any, pol: Any, goods: Any, ctrl: Any, acc: Any) -> None:
    """Stage: the political game, one day, for a block of members.

    Each side's pressure ratio is the pressure it projects from yesterday's (:func:`projected_ratio`),
    plus what it puts on announced increases (:func:`threat_pressure`), over its resolve (times the
    multiplier its political calendar sets today, :data:`standoff.layout.A_RESOLVE`); the first day it
    reaches one is when that side would concede.  When negotiation is simulated, each member's
    game plays today's round (if any), compliance, monitoring and retaliation, and writes the
    resulting tariffs, licence terms and counter-measures back into the policy in force.
    """
    pressure = pol.pressure
    npar = pol.npar
    rho_us = pol.rho_us
    rho_cn = pol.rho_cn
    nst = pol.nst
    out_neg = acc.out_neg
    M = rho_us.shape[0]
    NK = pressure.shape[1]
    for m in range(M):
        su = 0.0
        sc = 0.0
        for kk in range(NK):
            su += pressure[0, kk, m]
            sc += pressure[1, kk, m]
        thr_us = 0.0
        thr_cn = 0.0
        if nst[m, S_SCHED_US] > 0.0 or nst[m, S_SCHED_CN] > 0.0:
            thr_us, thr_cn = threat_pressure(t, m, net, par, goods, pol)
        rho_us[m] = projected_ratio(su, npar[m], nst[m], US, thr_us)
        rho_cn[m] = projected_ratio(sc, npar[m], nst[m], CN, thr_cn)
    if t >= neg_start:
        for m in range(M):
            if rho_us[m] >= 1.0 and np.isnan(out_neg[m, O_FC_US]):
                out_neg[m, O_FC_US] = t
            if rho_cn[m] >= 1.0 and np.isnan(out_neg[m, O_FC_CN]):
                out_neg[m, O_FC_CN] = t
    if neg_on and t >= neg_start:
        cn = net.cn_idx
        us = net.us_idx
        for m in range(M):
            # What the US sees of China's licensing: the share of its licence contracts licensed
            # (yesterday's review), over the China-to-US routes under licence.
            ev = 0.0
            n_ev = 0
            for j in range(net.rt_p.shape[0]):
                if net.rt_e[j] == cn and net.rt_i[j] == us and ctrl.c_mode[net.rt_p[j], cn, us, m] == 1:
                    ev += ctrl.ct_ok[j, m]
                    n_ev += 1
            negotiate_day(t, first + m, seed, talks_today, npar[m], nst[m], rho_us[m], rho_cn[m],
                          goods.tariff[:, :, :, m], ctrl.c_term[T_APPR, :, :, :, m], ctrl.c_term[T_DELAY, :, :, :, m],
                          ctrl.c_mode[:, :, :, m], goods.cm_on[:, m], net.cm_imposer, us, cn,
                          out_neg[m], ev / n_ev if n_ev > 0 else -1.0)
