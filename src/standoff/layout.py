"""The layout of the model's state and outputs: one owner for every index, code and shape.

The compiled kernel, the object-per-node reference, the ensemble's sampling, the results'
labels and the saved files all agree on which column of the per-member parameter vector is
which parameter, which integer is which timeline action or control mode, which slot of the
negotiation state holds what, and which dimensions each output has.  They are defined here,
in a module that imports neither numba nor the engine, so that reading a saved run (or the
labels of one) never compiles or loads the kernel.
"""
from __future__ import annotations

import csv
import math
from importlib import resources
from typing import NamedTuple

import numpy as np


def _model_constants() -> dict[str, float]:
    """The model's structural constants, each declared with its unit, source and reasoning in the
    package's ``defaults/constants.csv`` (the compiled kernel freezes them; its cache stamp covers
    that file, so an edit recompiles it)."""
    text = (resources.files("standoff") / "defaults" / "constants.csv").read_text(encoding="utf-8")
    return {row["name"]: float(row["value"]) for row in csv.DictReader(text.splitlines())}


_CONST = _model_constants()

# ---------------------------------------------------------------- the two sides and what hurts them

#: The two sides of the standoff, in the order of every ``side`` axis.
SIDES = ("US", "CN")
#: Side index of China in pain and pressure arrays: China's exporters redirect lost US
#: sales at their own, sourced share (``china_export_redirect_share``).
CN_SIDE = SIDES.index("CN")
#: Kinds of pain each side feels, in the order of every ``pain_kind`` axis.
PAIN_KINDS = ("output", "exports", "consumers", "strategic")
#: Index of each pain kind along a ``pain_kind`` axis (the stages book pain under these names).
PK_OUTPUT, PK_EXPORTS, PK_CONSUMERS, PK_STRATEGIC = (PAIN_KINDS.index(k) for k in PAIN_KINDS)
#: A region's price signal (price over its moving average, smoothed over investment_signal_days)
#: above which new capacity outside the controller is built, and the signal at which it is
#: built fastest is this plus one (assumption: a 50% premium sustained for about a year).
INVEST_SIGNAL = _CONST["invest_signal"]
#: Share of its target inventory the lead sector must hold again to count as rebuilt after a deal.
REBUILD_SHARE = _CONST["rebuild_share"]
#: Substitution effort is full at this multiple of the baseline price, and grows linearly from
#: the baseline price over this span (``defaults/constants.csv``).
SUB_EFFORT_SPAN = _CONST["substitution_full_effort_price"] - 1.0
#: Days over which a lever's stockpile release is drawn down (``defaults/constants.csv``).
RELEASE_DAYS = int(_CONST["release_days"])

# ---------------------------------------------------------------- per-member parameters of the kernel

#: Dataset parameters the kernel reads, in the order of the per-member parameter vector.
PARAMS = (
    "import_demand_elasticity", "tariff_pass_through", "trade_diversion_share", "diversion_cost_premium",
    "exporter_redirect_share", "trade_adjust_days", "re_price_elasticity", "price_flexibility", "price_cap",
    "price_floor", "price_response_days", "substitution_max_share", "substitution_rate_per_year",
    "capacity_growth_per_year", "investment_signal_days", "order_adjust_days", "capacity_headroom",
    "transit_days_same_zone", "transit_days_cross_zone", "stockout_threshold", "defense_strategic_weight",
    "max_order_multiple", "china_export_redirect_share", "customs_inspection_days", "licence_patience_days",
    "licence_reapply_days", "licence_validity_days", "buy_ahead_days", "finish_rate", "deferral_cost_share",
    "expectation_days", "precaution_max", "speculation_days", "momentum_scale", "stoppage_voice",
    "chokepoint_value_share",
)
(I_SIGMA, I_PT, I_DIV, I_PREM, I_REDIR, I_TRADE_ADJ, I_EPS, I_FLEX, I_PCAP, I_PFLOOR, I_PRESP, I_SUBMAX, I_SUBRATE,
 I_CAPGROW, I_INVDAYS, I_ORDADJ, I_HEADROOM, I_TRANSIT0, I_TRANSIT1, I_STOCKOUT, I_DEFW, I_MAXORD,
 I_REDIR_CN, I_INSPECT, I_PATIENCE, I_REAPPLY, I_VALIDITY, I_AHEAD, I_FINISH, I_DEFCOST, I_EXPDAYS, I_PRECMAX,
 I_SPECDAYS, I_MOMSCALE, I_VOICE, I_CHOKE) = range(len(PARAMS))

# ---------------------------------------------------------------- the timeline

#: Action kinds compiled from a scenario's events (rows of ``Plan.actions``).
#: ``A_CTRL_COVER_ADD`` adds to a route's covered share (a coverage given by buying sector is a
#: sum of sector shares); ``A_TERM + k`` sets route term ``k`` of :data:`ROUTE_TERMS`; ``A_BUY`` sets
#: a government's daily purchases into its strategic stockpile; ``A_OUTPUT_LIMIT`` a region's output
#: limit (a production quota, as a multiple of its baseline output) and ``A_OUTPUT_HALT`` the share
#: of its capacity halted (an output halt); ``A_RESOLVE`` the multiplier of a side's resolve from
#: its political calendar (``a0``: 0 the US side, 1 the China side).  A tariff increase a truce can
#: postpone (``postponable``) is two actions: ``A_ANNOUNCE_TARIFF`` on its announcement makes it
#: the side's pending increase (``a0``: the side, ``a1``: the increase's day), counted at the table
#: and priced ahead by both sides, and ``A_POSTPONABLE_TARIFF``
#: on its date (``a0``, ``a1``: exporter and importer, ``a2``: the side) applies it, unless a truce
#: is in force, which postpones it: a lapse or collapse then brings it in.
(A_TARIFF, A_CTRL_MODE, A_CTRL_QUOTA, A_CM, A_RELEASE, A_CAPACITY, A_TALKS, A_CTRL_COVER_ADD, A_BUY, A_OUTPUT_LIMIT,
 A_OUTPUT_HALT, A_RESOLVE, A_ANNOUNCE_TARIFF, A_POSTPONABLE_TARIFF) = range(14)
A_TERM = 16


class RouteTerm(NamedTuple):
    """One term of an export control on a route (``Ctrl.c_term[k, product, exporter, importer, member]``).

    ``field`` is the :class:`~standoff.scenario.ExportControlEvent` field that sets it (``None``:
    set by the timeline itself), ``free`` its value on a route no control has touched, and
    ``bounds`` the values a scenario may give it.  A new term is a row here, a field of the
    event, and the stage (and its reference twin) that reads it: compiling, applying and
    checking it follow from this table."""

    name: str
    field: str | None
    free: float
    bounds: tuple[float, float]
    does: str


#: Every per-route term of an export control, in the order the kernel stores them.
ROUTE_TERMS = (
    RouteTerm("appr", "approval_share", 1.0, (0.0, 1.0), "share of decided applications granted"),
    RouteTerm("delay", "delay_days", 0.0, (0.0, 365.0), "longest licence review (the legal limit), days"),
    RouteTerm("rmin", "review_min_days", 0.0, (0.0, 365.0), "shortest licence review, days"),
    RouteTerm("leak", "leakage", 0.0, (0.0, 1.0), "share of what is held back that leaks through third countries"),
    RouteTerm("cover", "coverage", 1.0, (0.0, 1.0), "share of the route's trade the control covers"),
    RouteTerm("ahead", None, 0.0, (0.0, 1.0), "announced, not yet in effect: buyers buy ahead (share covered)"),
    RouteTerm("open", "authority_start_days", 0.0, (0.0, 365.0),
              "days from the regime taking effect to the authority's first decisions"),
    RouteTerm("rate", "decision_rate", math.inf, (0.0, 1e6),
              "applications the authority decides per week, as a share of the route's buyers (pooled over "
              "the exporter's licensed routes; where no control set it, unlimited: decided as reviews end)"),
    RouteTerm("prio", "priority", 0.0, (0.0, 100.0), "order of decision: lower first (then first come)"),
    RouteTerm("trader", "trader_share", 0.0, (0.0, 1.0), "share of the route's buyers that are traders, decided "
              "after its end users"),
    RouteTerm("again", "reapply_share", 1.0, (0.0, 1.0), "chance that a refused buyer applies again; otherwise it "
              "leaves the route for good"),
    RouteTerm("chill", "chill_share", 0.0, (0.0, 1.0), "share of the uncovered trade held back when the regime "
              "starts (exporters proving what they ship)"),
    RouteTerm("chill_days", "chill_days", 0.0, (0.0, 365.0), "days over which that hold-back fades to nothing"),
    RouteTerm("warm", None, 0.0, (0.0, 1.0), "the regime was in force before the scenario starts: licences held, "
              "the authority at work"),
    RouteTerm("leak_wedge", "leakage_wedge", 0.0, (0.0, 100.0), "the price wedge (the importer's price over the "
              "exporter's, less one) at which leakage reaches its full share, growing in proportion below it "
              "(0: the full share at once)"),
    RouteTerm("leak_cap", "leakage_capacity", math.inf, (0.0, 1e6), "most that routes through third countries "
              "carry a day, as a share of the route's normal daily trade (where no control set it: unlimited)"),
    RouteTerm("screen", "military_screen", 0.0, (0.0, 1.0), "share of the route's licensed tonnes whose end-use "
              "certificates bar military end users: only civilian users (the chain's producers and every sector "
              "but the first-claim one) may draw them"),
    RouteTerm("tax", "export_tax", 0.0, (0.0, 10.0), "export tax on the route added since the baseline, as a share "
              "of the exporter's price: what its buyers pay at least, over that price"),
)
(T_APPR, T_DELAY, T_RMIN, T_LEAK, T_COVER, T_AHEAD, T_OPEN, T_RATE, T_PRIO, T_TRADER, T_AGAIN, T_CHILL, T_CHILL_DAYS,
 T_WARM, T_LEAK_WEDGE, T_LEAK_CAP, T_SCREEN, T_TAX) = range(len(ROUTE_TERMS))
#: The free value of every term, in order (the kernel's ``c_term`` starts from these).
ROUTE_TERM_FREE = np.array([t.free for t in ROUTE_TERMS])

# ---------------------------------------------------------------- export controls

MODE_NONE, MODE_LICENCE, MODE_QUOTA, MODE_BAN = 0, 1, 2, 3
#: A scenario's ``mode`` names and their codes.
MODES = {"none": MODE_NONE, "licence": MODE_LICENCE, "quota": MODE_QUOTA, "ban": MODE_BAN}
#: A licence is for a contract: the covered trade on each route (one product from one exporter
#: to one importing region) is split into this many equal contracts, each a buyer that applies,
#: waits, is granted or refused, and ships under its own licence.  Supply on a route therefore
#: comes back in steps of ``1 / LICENCE_CONTRACTS`` of its covered trade (assumption: no source
#: gives the number of buyers per route; 8 is enough for steps and few enough to be cheap).
LICENCE_CONTRACTS = int(_CONST["licence_contracts"])
#: States of a contract: no application; application pending (``ct_day`` = review ends); licence
#: granted (``ct_day`` = validity ends); refused or cancelled (``ct_day`` = the buyer applies again);
#: refused and gone to other suppliers for good.
CT_NONE, CT_PENDING, CT_GRANTED, CT_OUT, CT_LEFT = 0, 1, 2, 3, 4
#: Licence events counted each day, per product (the ``licence_kind`` axis): applications made,
#: licences granted, refused, applications cancelled by buyers who stopped waiting, the
#: applications pending at the end of the day (a stock), refused buyers who left for good, the
#: days today's decided applications waited (a sum: divide by granted + refused for the mean),
#: and the backlog: applications whose review is over but that the authority has not reached.
LICENCE_KINDS = ("applied", "granted", "refused", "cancelled", "pending", "left", "waited_days", "backlog")
LK_APPLIED, LK_GRANTED, LK_REFUSED, LK_CANCELLED, LK_PENDING, LK_LEFT, LK_WAITED, LK_BACKLOG = range(len(LICENCE_KINDS))
#: Random streams of the licence review: stream ``STREAM_LICENCE + 3 * (route * contracts + c)``
#: draws the review time, the next one the decision, the third whether a refused buyer tries
#: again (and, starting warm, how long a licence held at the start still runs).  The base lies far
#: above every stream of the game (:data:`GAME_STREAMS`, all below 4,000) so that no dataset, however
#: many routes it has, makes a licence draw reuse a draw of the game for the same member and day.
STREAM_LICENCE = 1_000_000
#: Extra days a leaked shipment spends passing through a third country (assumption).
LEAK_EXTRA_DAYS = _CONST["leak_extra_days"]
#: Days the arrival ring looks ahead (a power of two): longer than any transit plus leakage.
RING_DAYS = 128

# ---------------------------------------------------------------- sectors

#: Firms in a sector differ in how much inventory they hold.  A sector's use is split over
#: ``firms`` equal firms (a scenario's ``firms``, else :data:`DEFAULT_FIRMS`) whose days of cover
#: are the quantile midpoints of a lognormal with this log-sd, scaled to the sector's mean
#: (assumption: the best-stocked quarter holds about three times what the thinnest holds).  The
#: thinnest firm runs out first; a sector's output falls firm by firm.
FIRM_SIGMA = _CONST["firm_cover_sigma"]
#: Firms per sector unless a scenario says otherwise: the resolution beyond which london-2025's
#: first stoppages, losses and stopped weeks move less than their Monte Carlo error
#: (``bench/firms_convergence.py``; the README has the table and its cost).
DEFAULT_FIRMS = 16


def firm_cover_multipliers(firms: int) -> np.ndarray:
    """Each of ``firms`` equal firms' days of cover as a multiple of its sector's mean: the quantile
    midpoints ``(k + 1/2) / firms`` of a lognormal with log-sd :data:`FIRM_SIGMA`, normalised to
    mean 1, so the sector holds the same stock at any resolution.

    Examples
    --------
    >>> m = firm_cover_multipliers(4)
    >>> bool(abs(m.mean() - 1.0) < 1e-12 and (m[1:] > m[:-1]).all())
    True
    >>> firm_cover_multipliers(1).tolist()
    [1.0]
    """
    from statistics import NormalDist
    z = np.array([NormalDist().inv_cdf((k + 0.5) / firms) for k in range(firms)])
    x = np.exp(FIRM_SIGMA * z)
    return x / x.mean()


#: Defense readiness is the lowest mean share of requirement met over this many days.
READINESS_WINDOW = 30

# ---------------------------------------------------------------- the negotiation game

STRATEGIES = {"reciprocal": 0, "generous_reciprocal": 1, "grim_trigger": 2, "pressure_threshold": 3}
US, CN = 0, 1

#: Per-member negotiation inputs, in this order.
NEG_PARAMS = (
    "resolve_us", "resolve_cn", "trust0_us", "trust0_cn", "noise_us", "noise_cn",
    "compliance_mean_us", "compliance_sd_us", "compliance_mean_cn", "compliance_sd_cn",
    "strategy_us", "strategy_cn", "threshold", "forgiveness", "agreement_days", "trust_memory_days",
    "walkout_scale", "near_margin", "trigger_ratio", "min_days_between_rounds", "collapse_days",
    "tariff_kept_us", "tariff_kept_cn", "approval_commit", "delay_commit", "retaliation_compliance",
    "repair_days", "repair_success", "evidence_weight", "measure_rate_us", "measure_rate_cn",
    "extension_noise", "belief_sd", "belief_learning", "look_ahead_days",
)
#: What a side keeps in any deal (``tariff_kept_*``) is counted from the status quo ante, the
#: dataset's base tariff of that side on the other (``trade_goods.csv``, trade-weighted): the
#: kernel's ``N_FLOOR_*`` slot holds the sum (:func:`standoff.ensemble.plan`), so how far a deal
#: goes back towards it is the game's result, not an input.
TARIFFS_KEPT = ("tariff_kept_us", "tariff_kept_cn")
#: Each side's resolve (US$ bn of weighted pain a day) is built from the table's one ``resolve``
#: (% of GDP per year, the same draw for both sides) times the side's GDP, unless a scenario
#: sets ``resolve_us`` or ``resolve_cn`` itself (:func:`standoff.ensemble.plan`).
SIDE_RESOLVES = ("resolve_us", "resolve_cn")
#: How far each side complies with a deal is its choice at the deal
#: (:func:`standoff.core.negotiation.chosen_compliance`), unless a scenario imposes a mean
#: compliance of its own (these names; the kernel reads a negative value as "chosen").
COMPLIANCE_MEANS = ("compliance_mean_us", "compliance_mean_cn")
#: Negotiation inputs a scenario may set that no dataset table holds.
NEG_OVERRIDES_ONLY = SIDE_RESOLVES + COMPLIANCE_MEANS
#: Negotiation parameters that no longer exist, and what replaced them (said to a user whose
#: older scenario file still sets one).
RENAMED_NEG_PARAMETERS = {
    f"tariff_floor_{side}": (f"tariff_floor_{side} (the lowest tariff a deal could reach, which was the Geneva outcome "
                             f"itself) was replaced in December 2026 by tariff_kept_{side}: what the side keeps in any "
                             "deal on top of the status quo ante (the dataset's base tariff), e.g. 0.3 for a floor of "
                             "0.49 on a base of 0.19")
    for side in ("us", "cn")}
RENAMED_NEG_PARAMETERS["extension_relief_weight"] = (
    "extension_relief_weight (the weight of a truce's relief on the scale of trust) was retired in December 2026: "
    "a side now extends a truce when the pressure a lapse would bring back, as far as it trusts the opposite side, outweighs "
    "its own concession, all in pressure-ratio units, so no weight is needed; extension_noise is now on that scale")
#: The rows a dataset's ``negotiation.csv`` needs (with the model-wide defaults merged in).
NEG_TABLE_ROWS = ("resolve",) + tuple(n for n in NEG_PARAMS
                                      if n not in NEG_OVERRIDES_ONLY and not n.startswith("strategy_"))
(N_RES_US, N_RES_CN, N_T0_US, N_T0_CN, N_NOISE_US, N_NOISE_CN, N_CM_US, N_CSD_US, N_CM_CN, N_CSD_CN, N_STRAT_US,
 N_STRAT_CN, N_THETA, N_FORGIVE, N_AGR_DAYS, N_TMEM, N_WALK, N_NEAR, N_TRIGGER, N_MINGAP, N_COLLAPSE, N_FLOOR_US,
 N_FLOOR_CN, N_APPR, N_DELAY, N_RETAL_Q, N_REPAIR_DAYS, N_REPAIR_P, N_EVW, N_MEAS_US, N_MEAS_CN, N_EXT_NOISE,
 N_BELIEF_SD, N_BELIEF_LEARN, N_LOOK) = range(len(NEG_PARAMS))

#: Scalar state slots of one member's game.  ``S_RHO_PRE_*``: each side's pressure ratio on the
#: day the agreement was made (what reverting would bring back); ``S_OT_*``: the side's current
#: accusation began with a measure outside the deal it read as a breach; ``S_RESMULT_*``: the
#: multiplier of the side's resolve its political calendar sets today (1 outside any dated period);
#: ``S_IMPASSES``: rounds so far that broke up on demands the other would not meet (each one teaches
#: both sides about the other's resolve); ``S_QSTAR_*``: the mean compliance in force (imposed by
#: the scenario, or chosen at the current deal); ``S_PLAST_*``: the side's total pressure yesterday (negative before the first day),
#: from which it projects its pressure ahead (:func:`standoff.core.negotiation.projected_ratio`);
#: ``S_SCHED_*``: the tariff increase the side has announced and not yet applied (0: none), which
#: the table counts as part of its escalation and each side prices ahead of its date
#: (:func:`standoff.core.negotiation.threat_pressure`); a truce in force on its date postpones it,
#: and it stays pending until the truce ends; ``S_SCHED_DAY_*``: that increase's date (day of the run),
#: or the day it came in; ``S_SCHED_FROM_*``: once it has come in, the tariff it rose from (the
#: first goods group's: a postponable increase covers every group), so the sides go on weighing
#: the pain still to come from it until the next deal; -1 while it is pending.
(S_ACTIVE, S_START, S_END, S_LAST_ROUND, S_CUS, S_CCN, S_PRE_TUS, S_PRE_TCN, S_PRE_APPR, S_PRE_DELAY,
 S_DEAL_TUS, S_DEAL_TCN, S_DEAL_APPR, S_DEAL_DELAY, S_RETAL_US, S_RETAL_CN, S_RETAL_DAYS_US, S_RETAL_DAYS_CN,
 S_FORGIVE_US, S_FORGIVE_CN, S_Q_US, S_Q_CN, S_OBS_US, S_OBS_CN, S_TRUST_US, S_TRUST_CN, S_EPISODE_US,
 S_EPISODE_CN, S_PRE_CM, S_RUNG_US, S_RUNG_CN, S_ACC_US, S_ACC_CN, S_PATH, S_RHO_PRE_US, S_RHO_PRE_CN, S_MEAS_US,
 S_MEAS_CN, S_RESMULT_US, S_RESMULT_CN, S_IMPASSES, S_QSTAR_US, S_QSTAR_CN, S_PLAST_US, S_PLAST_CN, S_SCHED_US,
 S_SCHED_CN, S_SCHED_DAY_US, S_SCHED_DAY_CN, S_SCHED_FROM_US, S_SCHED_FROM_CN) = range(51)
N_STATE = 51
#: Rungs of the escalation ladder a side stands on while an agreement is in force: complying,
#: accusing in public (after which a call or round tries to repair), limited and targeted
#: retaliation (counter-measures, slower licensing; tariffs stay at the deal), and above it the
#: collapse of the agreement.  ``S_PATH`` records which rungs a member's game has used before its
#: first collapse (bits: accusation 1, repair 2, limited retaliation 4).
RUNG_COMPLY, RUNG_ACCUSE, RUNG_RETALIATE = 0, 1, 2

#: Per-member outputs of the game, in this order.
NEG_OUTPUTS = ("first_agreement_day", "first_collapse_day", "rounds", "near_collapses", "agreements",
               "collapses", "extensions", "first_concession_day_us", "first_concession_day_cn",
               "concession_us", "concession_cn", "accusations", "repairs", "limited_retaliations",
               "ladder_before_collapse", "first_end_cause", "measures_outside_deal",
               "first_deal_tariff_us", "first_deal_tariff_cn", "impasses", "defections",
               "chosen_compliance_us", "chosen_compliance_cn")
(O_AGREE, O_COLLAPSE, O_ROUNDS, O_NEAR, O_AGREEMENTS, O_COLLAPSES, O_EXT, O_FC_US, O_FC_CN, O_CONC_US,
 O_CONC_CN, O_ACCUSE, O_REPAIR, O_LIMRET, O_LADDER, O_CAUSE, O_MEASURES, O_DEAL_TUS, O_DEAL_TCN,
 O_IMPASSE, O_DEFECT, O_QSTAR_US, O_QSTAR_CN) = range(23)
#: How the first agreement ended (``first_end_cause``; NaN while it holds): it lapsed at a
#: deadline that a side would not extend; it collapsed after a measure outside the deal that
#: the other side read as a breach; it collapsed after a perceived breach of the deal itself.
END_CAUSES = {1: "lapsed at its deadline", 2: "measure outside the deal read as a breach",
              3: "perceived breach of the deal"}
CAUSE_LAPSE, CAUSE_MEASURE, CAUSE_BREACH = 1, 2, 3

#: Random streams of the game (counter-based draws keyed by member, day and stream).
STREAM_ROUND, STREAM_Q_US, STREAM_Q_CN, STREAM_OBS_US, STREAM_OBS_CN, STREAM_FORGIVE_US, STREAM_FORGIVE_CN, \
    STREAM_REPAIR_US, STREAM_REPAIR_CN = range(100, 109)
#: A side's measure outside the deal (US, CN), its reading by the other side, and a side's
#: extension decision at a deadline (US, CN): streams 110-115.
STREAM_MEASURE, STREAM_READ, STREAM_EXTEND = 110, 112, 114
#: A side's extension decision at a round held during a truce (US, CN; and their second uniforms
#: at +2): streams 3000-3003, clear of the licence contracts' streams (from 1000, three per contract).
STREAM_EXTEND_ROUND = 3000
#: Each side's error about the other's resolve (US, CN: two uniforms each, at +0 and +2): streams
#: 3010-3013, drawn on day 0 of the member.
STREAM_BELIEF = 3010
#: Every stream the game draws from: its own, the second uniform of each normal draw (+1000 in
#: ``_normal`` and at a deadline's extension), and the second uniforms at +2 of the rounds held
#: during truces and of the beliefs.  ``tests/test_layout.py`` checks that no two uses coincide
#: and that all lie below :data:`STREAM_LICENCE`.
GAME_STREAMS = {
    "round": (STREAM_ROUND,),
    "compliance": (STREAM_Q_US, STREAM_Q_CN, STREAM_Q_US + 1000, STREAM_Q_CN + 1000),
    "monitoring": (STREAM_OBS_US, STREAM_OBS_CN, STREAM_OBS_US + 1000, STREAM_OBS_CN + 1000),
    "forgiveness": (STREAM_FORGIVE_US, STREAM_FORGIVE_CN),
    "repair": (STREAM_REPAIR_US, STREAM_REPAIR_CN),
    "measure": (STREAM_MEASURE, STREAM_MEASURE + 1),
    "reading": (STREAM_READ, STREAM_READ + 1),
    "extension": (STREAM_EXTEND, STREAM_EXTEND + 1, STREAM_EXTEND + 1000, STREAM_EXTEND + 1001),
    "extension_round": tuple(STREAM_EXTEND_ROUND + k for k in range(4)),
    "belief": tuple(STREAM_BELIEF + k for k in range(4)),
}

# ---------------------------------------------------------------- outputs

#: Per-member outputs: name -> dimensions after ``member``.
OUTPUT_SHAPES = {
    "first_stockout_day": ("region", "sector"),
    "output_loss_usd_bn": ("region", "sector"),
    "units_lost": ("region", "sector"),
    "peak_price_multiple": ("region", "product"),
    "readiness_min": ("region",),
    "pain_usd_bn": ("side", "pain_kind"),
    "re_trade_t": ("product", "region", "flow_kind"),
    "goods_trade_usd_bn": ("side", "goods_kind"),
    "material_balance_t": ("product",),
    "negotiation": ("neg_output",),
    "china_share_end": ("region",),
    "rebuild_days": ("region",),
    "stockpile_empty_day": ("region", "product"),
    "output_delayed_usd_bn": ("region", "sector"),
    "units_delayed": ("region", "sector"),
    "unfinished_usd_bn": ("region", "sector"),
    "stopped_weeks": ("region", "sector"),
    "share_affected": ("region", "sector"),
    "control_rent_usd_bn": ("region", "rent_kind"),
}
#: Daily paths of the first ``trajectories`` members: name -> dimensions after ``traj_member, time``.
TRAJ_SHAPES = {
    "cover_days": ("region", "sector"),
    "output_fraction": ("region", "sector"),
    "price_multiple": ("region", "product"),
    "imports_t": ("product", "region"),
    "exports_t": ("product", "region"),
    "route_exports_t": ("route",),
    "route_transshipped_t": ("route",),
    "licences": ("product", "licence_kind"),
    "pain_cum_usd_bn": ("side",),
    "trust": ("side",),
    "pressure_ratio": ("side",),
    "agreement_in_force": (),
    "requirement_fraction": ("region", "sector"),
    "fob_price": ("product", "region"),
    "speculative_t": ("region", "product"),
    "expectation": ("region", "product"),
}
#: Labels of the fixed dimensions (the network's regions, sectors and products come from the dataset).
#: Who earns what a control adds to the price of the tonnes still shipped, booked to the exporting
#: region: its exporters (the wedge between the importer's price and the home price plus tax, on
#: licensed or quota tonnes of a controlled route), its state (the export tax), and the traders who
#: carry leaked tonnes (the importer's price over the home price).
RENT_KINDS = ("exporters", "state", "traders")
FIXED_LABELS = {"side": list(SIDES), "pain_kind": list(PAIN_KINDS), "flow_kind": ["lost", "diverted"],
                "goods_kind": ["imports_lost", "exports_lost"], "neg_output": list(NEG_OUTPUTS),
                "licence_kind": list(LICENCE_KINDS), "rent_kind": list(RENT_KINDS)}


def dim_sizes(regions: int, sectors: int, products: int, routes: int = 0) -> dict[str, int]:
    """Size of every output dimension for a network of the given size (``routes``: trade routes
    between two regions, the ``route`` axis of exports by destination)."""
    return {"region": regions, "sector": sectors, "product": products, "route": max(routes, 1),
            **{k: len(v) for k, v in FIXED_LABELS.items()}}


# ---------------------------------------------------------------- the kernel's state, grouped by mechanism
# Each daily stage of the kernel takes the few of these containers it reads and writes.  They
# are named tuples of arrays (numba passes them to compiled functions as they are); every
# per-member array has the member on its last axis.  The reference (standoff.core.reference) holds
# the same quantities in its objects; ``tests/test_stages.py`` maps one onto the other.
from collections import namedtuple  # noqa: E402

#: The network's constants as the kernel reads them (arrays and indices; no member axis).
Net = namedtuple("Net", [
    "demand0", "crit", "coef", "inv_coef", "share0", "flow0", "prod0", "use0", "input_use0", "stage_order", "zone",
    "side", "value_day", "units_per_t", "price_t", "trade_v0", "tau0", "cm_group", "cm_imposer", "cm_target",
    "cm_blocked", "cm_mult", "market", "is_crit", "world_prod0", "outside", "rt_p", "rt_e", "rt_i",
    "gt_e", "gt_i", "gt_g", "cmult_k", "inv_kc", "first_claim", "key_product", "lead_sector", "cn_idx", "us_idx",
    "bid_n", "bid", "bid_down", "bid_qty"])
#: Per-member parameters: 1-d rows over members, and the member-first day tables.
Par = namedtuple("Par", [
    "gp", "inv_adj", "inv_presp", "inv_sig", "inv_tadj", "sub_rate", "cap_grow", "pfloor", "pcap", "maxord",
    "stockout", "defw", "submax", "prem", "div", "redir", "redir_cn", "neg_eps", "neg_inv_flex", "sector_days",
    "pool_days", "defer_days"])
#: Regional holdings of each product (region, product, member).
#: ``spec``: traders' speculative stock, withheld from the market (it neither supplies nor counts in cover).
#: ``recv_civ``: the part of ``recv`` licensed for civilian end use only (the first-claim sector may
#: not draw it; civilian users draw it first).  ``buy``: a government's daily purchases into its
#: strategic stockpile (``spile``), from its producers' stock first, then from its receiving stock.
#: ``olim``: the most a region may produce, as a multiple of its baseline output (inf: no limit);
#: ``ohalt``: the share of its capacity halted (0 but during an output halt).
Stocks = namedtuple("Stocks", [
    "stock", "stock_tgt", "recv", "cap", "spile", "release", "shipped_prev", "prod_today", "input_used", "need",
    "pos_tgt", "sinv_p", "spec", "recv_civ", "buy", "olim", "ohalt"])
#: Regional markets (region, product, member): the price multiple, its slow signal (capacity), the
#: demand response, the price's short moving average (``pma``) and buyers' expected scarcity
#: (``expect``, 0-1).  Traders' speculative stock is a holding (``Stocks.spec``).
Market = namedtuple("Market", ["price", "signal", "pe_mult", "pma", "expect"])
#: Sectors and their firms (``sinv``, ``cpull``, ``dfr``, ``fstop``: region, sector, firm, member):
#: each firm's stock and pull, the input its incomplete builds still need (output delayed), and
#: whether it has stopped on any day.
Sectors = namedtuple("Sectors", ["sinv", "cpull", "ssum", "sub", "req", "pull", "sect_tgt", "dfr", "fstop"])
#: Material in transit: the arrival ring, pipelines, today's shipments and lead times.
#: ``leaked`` (product, exporter, importer, member): the part of today's shipments that goes
#: through a third country (declared there, not to the importer).
#: ``dl``: lead days of a usual shipment; ``dleak``: through a third country; ``dinsp``: on a licensed
#: route, where every shipment is inspected by customs.  ``ring_civ``: the part of each arrival in
#: ``ring`` licensed for civilian end use only (it joins ``Stocks.recv_civ`` when it lands).
Ship = namedtuple("Ship", ["ring", "pipe", "pipe0", "unmet", "arrivals", "shipped", "leaked", "dl", "dleak",
                           "dinsp", "ring_civ"])
#: Export controls in force, licence contracts, and the shipping round's pro-rata state.
#: ``c_term`` (term, product, exporter, importer, member): the route terms of :data:`ROUTE_TERMS`.
#: ``ct_state``, ``ct_day``, ``ct_since`` (route, contract, member): each contract's state, the day
#: it next changes and the day it applied; ``ct_ok`` (route, member): share of contracts licensed;
#: ``au_open`` (product, exporter, importer, member): the day the authority first decides the
#: route's applications (-1: no licence regime on it; a timeline action that ends the regime
#: resets it); ``au_since``: the day the regime took effect on it (the chill fades from there);
#: ``au_carry`` (exporter, member): decisions the authority carries to tomorrow (less than one);
#: ``lic_n`` (product, kind, member): today's licence counts (``LICENCE_KINDS``).
#: ``flags``: [controls changed since the flags were refreshed, some route is under a quota].
Ctrl = namedtuple("Ctrl", [
    "c_mode", "c_term", "c_quota", "ct_state", "ct_day",
    "ct_since", "ct_ok", "ct_seen", "au_open", "au_since", "au_carry", "lic_n", "tot_pe", "ctl_pe", "frac_pe", "lic_route", "flags"])
#: Goods trade: tariffs, trade values, counter-measures and each link's cached responses.
Goods = namedtuple("Goods", ["tariff", "tv", "cm_on", "gt_tau", "gt_vstar", "gt_cs", "gt_red"])
#: Politics: today's and cumulative pain, pressure, pressure ratios, the game's state and inputs.
Pol = namedtuple("Pol", ["pain_today", "pain_tot", "pressure", "rho_us", "rho_cn", "nst", "npar", "salience",
                         "decay_days"])
#: What is accumulated for the outputs over the horizon.
Acc = namedtuple("Acc", [
    "o_stockout", "o_loss", "o_units", "o_peak", "o_spile_empty", "o_re", "o_goods", "ready_buf", "ready_sum",
    "readiness", "produced", "consumed", "dep_cn", "dep_all", "dipped", "out_neg", "out_rebuild", "o_delay",
    "o_udelay", "o_stopd", "o_rent"])
#: Daily paths of the kept members (member first): ``n`` is how many of the block's members are kept.
Paths = namedtuple("Paths", ["n", "cover", "output", "price", "imports", "pain", "trust", "pressure", "agreement",
                             "requirement", "exports", "route_exports", "route_leaked", "licences", "fob", "spec",
                             "expect"])
#: The daily path (``TRAJ_SHAPES`` name) each field of ``Paths`` after ``n`` records, in order.
PATH_FIELDS = ("cover_days", "output_fraction", "price_multiple", "imports_t", "pain_cum_usd_bn", "trust",
               "pressure_ratio", "agreement_in_force", "requirement_fraction", "exports_t", "route_exports_t",
               "route_transshipped_t", "licences", "fob_price", "speculative_t", "expectation")


def paths_of(n: int, arrays: dict) -> "Paths":
    """The kernel's ``Paths`` of ``n`` kept members over the daily-path ``arrays`` (by ``TRAJ_SHAPES`` name)."""
    return Paths(n, *[arrays[name] for name in PATH_FIELDS])
#: Scratch of one value per member (``x``: six rows; ``y``: four rows for the callees), one per
#: bidding class of a market (``k``: :func:`standoff.core.markets.market_ceiling`) and one per
#: region and member (``f``, and ``fw`` the floor's weight: :func:`standoff.core.markets.arbitrage_floors`).
Scratch = namedtuple("Scratch", ["x", "y", "k", "f", "fw"])
#: What ``engine.run_block`` is given: the members' sampled inputs (member first) ...
Inputs = namedtuple("Inputs", ["glob", "sector_days", "pool_days", "stockpile", "ev", "npar", "defer_days"])
#: ... the scenario's timeline as rows of actions (see the ``A_*`` codes) ...
Timeline = namedtuple("Timeline", ["day", "kind", "a0", "a1", "a2", "col"])
#: ... the network's tables as arrays, and the indices of the sectors, product and regions it names ...
NetIn = namedtuple("NetIn", [
    "demand", "critical", "coef", "share", "flows", "production", "use", "stage_order", "zone", "side",
    "value_per_day", "unit_kg", "price_usd_per_t", "trade_value", "base_tariff", "cm_group", "cm_imposer",
    "cm_target", "cm_blocked", "cm_multiplier", "salience", "decay_days", "first_claim", "key_product", "lead_sector",
    "cn_idx",
    "us_idx", "firm_mult", "market", "bid_n", "bid", "bid_down", "bid_qty"])
#: ... and the arrays it writes: the per-member outputs (member first, in ``OUTPUT_SHAPES`` order) ...
Outputs = namedtuple("Outputs", list(OUTPUT_SHAPES))
#: ... and the daily paths of the kept members (in ``TRAJ_SHAPES`` order).
PathsOut = namedtuple("PathsOut", list(TRAJ_SHAPES))
