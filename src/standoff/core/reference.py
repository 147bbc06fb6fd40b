"""An independent, object-per-node implementation of the model, for checking and benchmarking.

This is how a per-agent simulator would write standoff: one Python object per node of the
network (a region's holding of a product, a region's sector with its firms, a trade
route with its export control and licence contracts, a goods-trade link, a side's politics), a
dictionary of arrivals per holding instead of a ring buffer, and one member stepped at a
time.  It shares no code with the compiled kernel (:mod:`standoff.core.engine`) beyond the
scalar formulas of :mod:`standoff.core.markets` and :mod:`standoff.core.trade` called in plain
Python, and follows the same order of operations, so on the same inputs it gives the same
numbers to the last bit.  That makes it

* the oracle the kernel is tested against (``tests/test_reference.py``), and
* the straightforward baseline the benchmark (``bench/bench_engine.py``) measures the
  kernel's speed against.

The negotiation game is a per-member state machine (:mod:`standoff.core.negotiation`); the
reference plays it by calling the same function, in plain Python, on arrays it assembles
from its route and goods-link objects each day, and writes the resulting policies back.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import engine as E
from ..day import DAY
from .controls import LEAK_EXTRA_DAYS, MODE_BAN, MODE_LICENCE, MODE_NONE, MODE_QUOTA, chill_now, diverts_to, leak_share, quota_fill
from ..layout import (ROUTE_TERMS, CT_GRANTED, CT_LEFT, LK_APPLIED, LK_BACKLOG, LK_CANCELLED, LK_GRANTED,
                     LK_LEFT, LK_PENDING, LK_REFUSED, LK_WAITED, CT_NONE, CT_OUT, CT_PENDING, DEFAULT_FIRMS, I_AHEAD, I_DEFCOST, I_EXPDAYS,
                     I_CHOKE, I_VOICE,
                     I_FINISH, I_INSPECT, I_MOMSCALE, I_PATIENCE, I_PRECMAX, I_REAPPLY, I_SPECDAYS, I_VALIDITY,
                     LICENCE_CONTRACTS, LICENCE_KINDS, S_ACTIVE, S_TRUST_CN, S_TRUST_US, STREAM_LICENCE,
                     CN_SIDE, INVEST_SIGNAL, PK_CONSUMERS, PK_EXPORTS, PK_OUTPUT, PK_STRATEGIC, REBUILD_SHARE,
                     firm_cover_multipliers)
from .rng import kernel_uniform
from ..layout import N_AGR_DAYS, S_PRE_TUS, S_RESMULT_CN, S_RESMULT_US, S_SCHED_DAY_US, S_SCHED_FROM_US, S_SCHED_US
from .markets import market_ceiling, power, substitution_step, target_price
from .negotiation import (N_STATE, NEG_OUTPUTS, O_CAUSE, O_DEAL_TCN, O_DEAL_TUS, O_FC_CN, O_FC_US,
                          O_QSTAR_CN, O_QSTAR_US, init_state, negotiate_day,
                          projected_ratio)
from .trade import buyer_loss, import_target, pending_tariff_pain

_py = {f: getattr(f, "py_func", f) for f in (substitution_step, import_target, buyer_loss, pending_tariff_pain)}
_substitution_step = _py[substitution_step]
_import_target = _py[import_target]
_buyer_loss = _py[buyer_loss]
_pending_tariff_pain = _py[pending_tariff_pain]
_negotiate_day = getattr(negotiate_day, "py_func", negotiate_day)
_diverts_to = getattr(diverts_to, "py_func", diverts_to)
_init_state = getattr(init_state, "py_func", init_state)
_projected_ratio = getattr(projected_ratio, "py_func", projected_ratio)


class Holding:
    """A region's holding of one product: producer stock, receiving stock, stockpile, price."""

    __slots__ = ("r", "p", "stock", "stock_tgt", "recv", "cap", "spile", "release", "price", "signal",
                 "shipped_prev", "prod_today", "input_used", "need", "pos_tgt", "pipe", "pipe0",
                 "arrivals", "pe_mult", "sinv_p", "peak", "spile_empty", "quota", "input_use0",
                 "use0", "prod0", "tot_order", "quota_order", "frac", "unmet", "re_lost",
                 "re_diverted", "pma", "expect", "spec", "recv_civ", "arrivals_civ", "buy", "olim",
                 "ohalt")

    def __init__(self, r: int, p: int) -> None:
        self.r, self.p = r, p
        self.arrivals: dict[int, float] = {}
        # The part of recv (and of arrivals) licensed for civilian end use only.
        self.recv_civ = 0.0
        self.arrivals_civ: dict[int, float] = {}
        self.buy = 0.0  # a government's daily purchases into its stockpile
        self.olim = math.inf  # output limit, a multiple of baseline output (a production quota)
        self.ohalt = 0.0  # share of capacity halted (an output halt)


class Sector:
    """A region's sector: its requirement, its firms' inventories, its losses."""

    __slots__ = ("r", "s", "crit", "demand0", "days", "value_day", "units_per_t", "firms", "cpull", "sub", "req",
                 "pull", "sect_tgt", "stockout", "loss", "units", "defer_days", "owed", "stopped", "delayed",
                 "units_delayed", "stop_days")


class Route:
    """One product's trade from an exporter to an importer, with the control in force on it."""

    # The control's terms are attributes named as in ``layout.ROUTE_TERMS`` (appr, delay, ...).
    __slots__ = ("p", "e", "i", "share", "flow0", "lead", "mode", "shipped", "leaked", "ct_state", "ct_day",
                 "ct_since", "ok", "seen", "j", "au_open", "au_since", *(term.name for term in ROUTE_TERMS))

    def __init__(self, p: int, e: int, i: int) -> None:
        self.p, self.e, self.i = p, e, i
        self.mode = MODE_NONE
        for term in ROUTE_TERMS:
            setattr(self, term.name, term.free)
        # The licensing authority on this route: the day it first decides (-1: no regime), and
        # the day the regime took effect (the chill fades from there).
        self.au_open, self.au_since = -1.0, 0.0
        self.shipped = self.leaked = 0.0
        # Licence contracts: state, the day it next changes, the day the buyer applied.
        self.ct_state = [CT_NONE] * LICENCE_CONTRACTS
        self.ct_day = [0.0] * LICENCE_CONTRACTS
        self.ct_since = [0.0] * LICENCE_CONTRACTS
        self.ok = 0.0
        self.seen = -1.0  # the share of applicants licensed, what buyers see (-1: nobody has applied)
        self.j = -1


class GoodsLink:
    """Trade in one group of goods from an exporter to an importer, under a tariff."""

    __slots__ = ("e", "i", "g", "v0", "tau0", "tau", "tv", "cached_tau", "vstar", "cs", "redirected")


class Member:
    """One ensemble member: the network's nodes with this member's drawn inputs."""

    def __init__(self, pl: Any, inputs: dict[str, np.ndarray], k: int) -> None:
        net = pl.net
        self.net, self.k = net, k
        self.g = [float(x) for x in inputs["glob"][k]]
        g = self.g
        self.R, self.P, self.S = len(net.regions), len(net.products), len(net.sectors)
        self.G, self.C = len(net.groups), net.cm_blocked.shape[0]
        R, P, S = self.R, self.P, self.S
        self.inv_adj = 1.0 / g[E.I_ORDADJ]
        self.inv_presp = 1.0 / g[E.I_PRESP]
        self.inv_sig = 1.0 / g[E.I_INVDAYS]
        self.inv_tadj = 1.0 / g[E.I_TRADE_ADJ]
        self.sub_rate = g[E.I_SUBRATE] / 365.0
        self.cap_grow = g[E.I_CAPGROW] / 365.0
        self.defense = net.sectors.index(net.first_claim_sector) if net.first_claim_sector else -1
        self.side = [int(x) for x in net.side]
        crit = [int(x) for x in net.critical]
        self.crit = crit
        self.coef = net.coef
        self.bid_n, self.bid, self.bid_down, self.bid_qty = net.bid_ladder
        self.mk = net.markets
        self.bid_wk = np.zeros(self.bid.shape[2])
        self.inv_coef = [[1.0 / net.coef[p, q] if net.coef[p, q] > 0.0 else 0.0 for q in range(P)] for p in range(P)]
        pool_days = inputs["pool_days"][k]
        input_use0 = net.use.copy()
        for r in range(R):
            for s in range(S):
                input_use0[r, crit[s]] -= net.demand[r, s]
        input_use0 = np.maximum(input_use0, 0.0)
        self.pool_days = [float(x) for x in pool_days]

        self.h = [[Holding(r, p) for p in range(P)] for r in range(R)]
        for r in range(R):
            for p in range(P):
                h = self.h[r][p]
                h.prod0 = float(net.production[r, p])
                h.use0 = float(net.use[r, p])
                h.input_use0 = float(input_use0[r, p])
                h.stock_tgt = pool_days[p] * h.prod0
                h.stock = h.stock_tgt
                h.recv = pool_days[p] * h.input_use0
                h.cap = h.prod0 * (1.0 + g[E.I_HEADROOM])
                h.spile = float(inputs["stockpile"][k, r, p])
                h.release = 0.0
                h.price = h.signal = h.pe_mult = h.peak = h.pma = 1.0
                h.expect = h.spec = 0.0
                h.shipped_prev = h.prod0
                h.prod_today = h.input_used = h.need = h.pos_tgt = h.pipe = h.sinv_p = 0.0
                h.quota = h.re_lost = h.re_diverted = 0.0
                h.unmet = h.tot_order = h.quota_order = h.frac = 0.0  # as the kernel's arrays start
                h.spile_empty = math.nan
        # World production and production outside China, by product (new capacity is shared by these).
        self.world = [_sum([self.h[r][p].prod0 for r in range(R)]) for p in range(P)]
        self.outside = [_sum([self.h[r][p].prod0 for r in range(R) if self.side[r] != 1]) for p in range(P)]
        self.sec = [[Sector() for _ in range(S)] for _ in range(R)]
        mult = firm_cover_multipliers(pl.scenario.firms or DEFAULT_FIRMS)
        K = len(mult)
        self.K, self.inv_kc = K, 1.0 / K
        self.cmk = list(mult / K)
        for r in range(R):
            for s in range(S):
                c = self.sec[r][s]
                c.r, c.s, c.crit = r, s, crit[s]
                c.demand0 = float(net.demand[r, s])
                c.days = float(inputs["sector_days"][k, s])
                c.value_day = float(net.value_per_day[r, s])
                c.units_per_t = 1000.0 / float(net.unit_kg[r, s])
                c.firms = [c.days * c.demand0 * self.cmk[j] for j in range(K)]
                c.cpull = [0.0] * K
                c.defer_days = float(inputs["defer_days"][k, s])
                c.owed = [0.0] * K       # input the firm's parked incomplete units still need
                c.stopped = [0.0] * K    # 1 once the firm has stopped on some day
                c.delayed = c.units_delayed = c.stop_days = 0.0
                c.sub = c.req = c.pull = c.sect_tgt = c.loss = c.units = 0.0
                c.stockout = math.nan
        # Routes for every (product, exporter, importer): controls can be put on any of them.
        self.route = {(p, e, i): Route(p, e, i) for p in range(P) for e in range(R) for i in range(R)}
        zone = net.zone
        for (p, e, i), rt in self.route.items():
            rt.share = float(net.share[p, e, i])
            rt.flow0 = float(net.flows[p, e, i])
            rt.lead = 1.0 if e == i else (g[E.I_TRANSIT0] if zone[e] == zone[i] else g[E.I_TRANSIT1])
        # The routes that carry trade in the baseline, in the kernel's order.
        self.trading = [self.route[(p, e, i)] for p in range(P) for e in range(R) for i in range(R)
                        if net.share[p, e, i] > 0.0]
        for j, rt in enumerate(self.trading):
            rt.j = j  # the kernel's route index (its random streams)
        self.lic_n = [[0.0] * len(LICENCE_KINDS) for _ in range(P)]
        self.au_carry = [0.0] * R  # each exporter's authority: decisions carried to tomorrow
        for p in range(P):
            for e in range(R):
                for i in range(R):
                    rt = self.route[(p, e, i)]
                    if rt.flow0 > 0.0:
                        L = int(round(rt.lead))
                        h = self.h[i][p]
                        for d in range(L):  # arrivals on days 0 .. L-1, as if shipped before the start
                            h.arrivals[d] = h.arrivals.get(d, 0.0) + rt.flow0
                        h.pipe += rt.flow0 * L
        for r in range(R):
            for p in range(P):
                self.h[r][p].pipe0 = self.h[r][p].pipe
        self.links = []
        for e in range(R):
            for i in range(R):
                for gg in range(self.G):
                    if net.trade_value[e, i, gg] > 0.0:
                        lk = GoodsLink()
                        lk.e, lk.i, lk.g = e, i, gg
                        lk.v0 = float(net.trade_value[e, i, gg])
                        lk.tau0 = float(net.base_tariff[e, i, gg])
                        lk.tau, lk.tv, lk.cached_tau, lk.vstar, lk.cs = lk.tau0, lk.v0, -1.0, 0.0, 0.0
                        lk.redirected = 0.0
                        self.links.append(lk)
        self.tariff = {(e, i, gg): float(net.base_tariff[e, i, gg])
                       for e in range(R) for i in range(R) for gg in range(self.G)}
        self.cm_on = [0.0] * self.C
        self.pressure = [[0.0] * 4 for _ in range(2)]
        self.pain_total = [[0.0] * 4 for _ in range(2)]
        #: Daily paths the recorder stages keep: name -> day -> value (as the kernel's kept paths).
        self.recorded: dict[str, dict[int, Any]] = {}
        self.goods = [[0.0, 0.0] for _ in range(2)]
        self.rent = [[0.0, 0.0, 0.0] for _ in range(R)]
        self.readiness = [1.0] * R
        self.ready_buf = [[1.0] * E.READINESS_WINDOW for _ in range(R)]
        self.ready_sum = [float(E.READINESS_WINDOW)] * R
        self.produced, self.consumed = [0.0] * P, [0.0] * P
        self.initial = [self._holdings(p) for p in range(P)]
        self.ev = inputs["ev"][k]
        self.npar = inputs["npar"][k]
        self.neg_out = [0.0] * len(NEG_OUTPUTS)
        for j in (0, 1, O_FC_US, O_FC_CN, O_CAUSE, O_DEAL_TUS, O_DEAL_TCN, O_QSTAR_US, O_QSTAR_CN):
            self.neg_out[j] = math.nan
        self.dep_cn, self.dep_all = [0.0] * R, [0.0] * R

    def _holdings(self, p: int) -> float:
        tot = 0.0
        for r in range(self.R):
            h = self.h[r][p]
            tot += h.stock + h.recv + h.spile + h.spec
            for c in self.sec[r]:
                if c.crit == p:
                    tot += _sum(c.firms)
        for i in range(self.R):
            tot += self.h[i][p].pipe
        return tot

    def _ship(self, t: int, rt: Route, qty: float, lead: float, civ: bool = False) -> None:
        """Ship ``qty`` on route ``rt`` to arrive ``lead`` days on; ``civ``: mark that much of what is
        already shipped as licensed for civilian end use only."""
        if qty <= 0.0:
            return
        d = min(max(int(lead + 0.5), 1), E.RING_DAYS - 1)
        h = self.h[rt.i][rt.p]
        if civ:
            h.arrivals_civ[t + d] = h.arrivals_civ.get(t + d, 0.0) + qty
            return
        h.arrivals[t + d] = h.arrivals.get(t + d, 0.0) + qty
        h.pipe += qty

    @staticmethod
    def _leak(rt: Route, held: float, hi: Holding, he: Holding) -> float:
        """What leaks through third countries of ``held`` (what the control holds back today): the
        share the price wedge pays for, up to the capacity of those routes."""
        leak = held * leak_share(rt.leak, rt.leak_wedge, hi.price, he.price)
        return min(leak, rt.leak_cap * rt.flow0) if rt.leak_cap < math.inf else leak

    # ------------------------------------------------------------------ one day
    def step(self, t: int, actions: list[tuple[int, int, int, int, int]],
             after: Any = None) -> None:
        """One day: the stages of :data:`standoff.day.DAY` in its order, each twin given the
        arguments the table names (``t``, ``talks_today``, ``actions``).

        ``after``, if given, is called with each stage's name once that stage has run (how
        :func:`first_nonfinite` finds the stage that first makes a number NaN or infinite).
        """
        done = after or (lambda name: None)
        given = {"t": t, "actions": actions, "talks_today": False}
        for st in DAY:
            if st.twin_args is None:  # kernel bookkeeping, no twin
                continue
            self.stage = st.name
            got = getattr(self, st.name)(*[given[a] for a in st.twin_args])
            if st.name == "apply_actions":
                given["talks_today"] = got
            done(st.name)

    def record_politics(self, t: int) -> None:
        """Stage: today's trust, pressure ratios and agreement in force (the daily paths)."""
        rho = getattr(self, "rho", [0.0, 0.0])
        self.recorded.setdefault("trust", {})[t] = [float(self.nst[S_TRUST_US]), float(self.nst[S_TRUST_CN])]
        self.recorded.setdefault("pressure_ratio", {})[t] = [float(rho[0]), float(rho[1])]
        self.recorded.setdefault("agreement_in_force", {})[t] = float(self.nst[S_ACTIVE])

    def record_pain(self, t: int) -> None:
        """Stage: today's cumulative pain per side (a daily path)."""
        self.recorded.setdefault("pain_cum_usd_bn", {})[t] = [_sum(self.pain_total[sd]) for sd in range(2)]

    def apply_actions(self, t: int, actions: list[tuple[int, int, int, int, int]]) -> bool:
        """Stage: today's actions change tariffs, controls, counter-measures, releases, capacity; True if talks are held."""
        self.pain_today = [[0.0] * 4 for _ in range(2)]
        for kind, a0, a1, a2, col in actions:
            v = float(self.ev[col])
            if kind == E.A_TARIFF:
                self.tariff[(a0, a1, a2)] = v
            elif kind == E.A_CTRL_MODE:
                self.route[(a0, a1, a2)].mode = int(v)
                if int(v) != MODE_LICENCE:
                    self.route[(a0, a1, a2)].au_open = -1.0  # the regime ends: the next starts afresh
            elif kind == E.A_CTRL_QUOTA:
                self.h[a1][a0].quota = v
            elif kind == E.A_CM:
                self.cm_on[a0] = v
            elif kind == E.A_RELEASE:
                self.h[a0][a1].release = v
            elif kind == E.A_BUY:
                self.h[a0][a1].buy = v
            elif kind == E.A_OUTPUT_LIMIT:
                self.h[a0][a1].olim = v
            elif kind == E.A_OUTPUT_HALT:
                self.h[a0][a1].ohalt = v
            elif kind == E.A_CAPACITY:
                self.h[a0][a1].cap += v
            elif kind == E.A_CTRL_COVER_ADD:
                self.route[(a0, a1, a2)].cover += v
            elif kind == E.A_RESOLVE:  # the side's political calendar: its resolve's multiplier
                self.nst[S_RESMULT_US + a0] = v
            elif kind == E.A_ANNOUNCE_TARIFF:  # the side's pending increase, counted at the table
                self.nst[S_SCHED_US + a0] = v
                self.nst[S_SCHED_DAY_US + a0] = a1
                self.nst[S_SCHED_FROM_US + a0] = -1.0
            elif kind == E.A_POSTPONABLE_TARIFF:
                self.nst[S_SCHED_US + a2] = v
                self.nst[S_SCHED_DAY_US + a2] = t
                if self.nst[S_ACTIVE] > 0.5:  # postponed by the truce in force: reverting brings it in
                    self.nst[S_PRE_TUS + a2] = v
                    self.nst[S_SCHED_FROM_US + a2] = -1.0
                else:  # it comes in; the sides weigh the pain still to come from it
                    self.nst[S_SCHED_FROM_US + a2] = self.tariff[(a0, a1, 0)]
                    for g in range(self.G):
                        self.tariff[(a0, a1, g)] = v
            elif kind >= E.A_TERM:
                setattr(self.route[(a0, a1, a2)], ROUTE_TERMS[kind - E.A_TERM].name, v)
        return any(kind == E.A_TALKS for kind, *_ in actions)

    def play_negotiation(self, t: int, talks_today: bool) -> None:
        """Stage: pressure ratios, the first day each passes one, and the political game."""
        threat = self.threat_pressure(t)
        rho = [_projected_ratio(_sum(self.pressure[side]), self.npar, self.nst, side, threat[side]) for side in (0, 1)]
        self.rho = rho
        if t >= self.neg_start:
            for side, slot in ((0, O_FC_US), (1, O_FC_CN)):
                if rho[side] >= 1.0 and math.isnan(self.neg_out[slot]):
                    self.neg_out[slot] = t
        if self.neg_on and t >= self.neg_start:
            self._play(t, talks_today)


    def threat_pressure(self, t: int) -> list[float]:
        """Each side's pressure on the announced increases not yet in force (see the kernel's
        :func:`standoff.core.negotiation.threat_pressure`), link by link."""
        threat = [0.0, 0.0]
        g = self.g
        for s in (0, 1):
            v = self.nst[S_SCHED_US + s]
            if v <= 0.0:
                continue
            imp, exp_ = (self.us, self.cn) if s == 0 else (self.cn, self.us)
            si, se = self.side[imp], self.side[exp_]
            landed = self.nst[S_SCHED_FROM_US + s] >= 0.0
            lead = self.nst[S_SCHED_DAY_US + s] - t if landed else max(self.nst[S_SCHED_DAY_US + s] - t, 0.0)
            redir = g[E.I_REDIR_CN] if se == CN_SIDE else g[E.I_REDIR]
            for lk in self.links:
                if lk.e != exp_ or lk.i != imp:
                    continue
                tau = self.nst[S_SCHED_FROM_US + s] if landed else self.tariff[(exp_, imp, lk.g)]
                pi, pe = _pending_tariff_pain(lk.v0, tau, v, lk.tau0, g[E.I_PT], g[E.I_SIGMA],
                                              g[E.I_DIV], g[E.I_PREM], redir, g[E.I_TRADE_ADJ], lead, self.npar[N_AGR_DAYS])
                threat[si] += self.net.salience[si, PK_CONSUMERS] * pi * 1e-9
                threat[se] += self.net.salience[se, PK_EXPORTS] * pe * 1e-9
        return threat

    def land_arrivals(self, t: int) -> None:
        """Stage: released stockpiles and today's arrivals."""
        R, P = self.R, self.P
        # stockpile releases and arrivals
        for r in range(R):
            for p in range(P):
                h = self.h[r][p]
                if h.release > 0.0 and h.spile > 0.0:
                    a = min(h.release, h.spile)
                    h.spile -= a
                    h.recv += a
                    if h.spile <= 1e-12 and math.isnan(h.spile_empty):
                        h.spile_empty = t
                if h.buy > 0.0:  # a government buys into its stockpile: producers' stock first
                    a1 = min(h.buy, h.stock)
                    a2 = min(h.buy - a1, h.recv)
                    h.stock -= a1
                    h.recv -= a2
                    h.recv_civ = min(h.recv_civ, h.recv)
                    h.spile += a1 + a2
        for p in range(P):
            for i in range(R):
                h = self.h[i][p]
                a = h.arrivals.pop(t, 0.0)
                if a != 0.0:
                    h.recv += a
                    h.pipe = max(h.pipe - a, 0.0)
                h.recv_civ += h.arrivals_civ.pop(t, 0.0)


    def produce_day(self) -> None:
        """Stage: the chain produces, upstream first; output and inputs are booked."""
        R, P = self.R, self.P
        # production, upstream first
        for r in range(R):
            for p in range(P):
                self.h[r][p].input_used = 0.0
        for p in self.net.stage_order:
            for r in range(R):
                h = self.h[r][p]
                h.prod_today = 0.0
                c = min(h.cap, h.olim * h.prod0) if h.olim < math.inf else h.cap  # a production quota
                c = c * (1.0 - h.ohalt)  # an output halt
                if c <= 0.0:
                    continue
                q = h.shipped_prev + (h.stock_tgt - h.stock) * self.inv_adj
                q = min(max(q, 0.0), c)
                for j in range(P):
                    if self.coef[p, j] > 0.0:
                        q = min(q, self.h[r][j].recv * self.inv_coef[p][j])
                if q <= 0.0:
                    continue
                for j in range(P):
                    if self.coef[p, j] > 0.0:
                        used = q * self.coef[p, j]
                        hj = self.h[r][j]
                        hj.recv = max(hj.recv - used, 0.0)
                        hj.recv_civ = min(max(hj.recv_civ - used, 0.0), hj.recv)  # producers are civilian users
                        hj.input_used += used
                h.stock += q
                h.prod_today = q
        for p in range(P):
            for r in range(R):
                self.produced[p] += self.h[r][p].prod_today
                self.consumed[p] += self.h[r][p].input_used


    def sector_pulls(self) -> None:
        """Stage: each sector's requirement and its firms' pulls."""
        R = self.R
        # sector requirements and pulls
        cmk = self.cmk
        for r in range(R):
            for c in self.sec[r]:
                if c.demand0 <= 0.0:
                    c.req = c.pull = c.sect_tgt = 0.0
                    continue
                base = c.demand0 * (1.0 - c.sub)
                c.req = max(base * self.h[r][c.crit].pe_mult, c.demand0 * (1.0 - self.g[E.I_SUBMAX]))
                c.sect_tgt = c.days * base
                tot = 0.0
                for j in range(self.K):
                    cp = c.req * self.inv_kc + max(c.sect_tgt * cmk[j] - c.firms[j], 0.0) * self.inv_adj
                    c.cpull[j] = cp
                    tot += cp
                c.pull = tot

    def import_needs(self) -> None:
        """Stage: every region orders each product up to a target position (pending licences not
        counted; buyers on an announced route buy ahead)."""
        g, R, P = self.g, self.R, self.P
        for i in range(R):
            for p in range(P):
                h = self.h[i][p]
                use_now = 0.0
                position = h.recv + h.input_used + h.pipe
                inv_tgt = self.pool_days[p] * h.input_use0
                target = inv_tgt + h.pipe0
                # (the kernel skips this where no route is announced: adding 0.0 changes nothing)
                for e in range(R):
                    rt = self.route[(p, e, i)]
                    shu = rt.share * h.use0
                    if e == i or shu <= 0.0:
                        continue
                    target += rt.ahead * g[I_AHEAD] * shu
                for c in self.sec[i]:
                    if c.crit == p:
                        use_now += c.req
                        position += _sum(c.firms)
                        target += c.sect_tgt
                        inv_tgt += c.sect_tgt
                target += g[I_PRECMAX] * h.expect * inv_tgt
                for q in range(P):
                    use_now += self.h[i][q].prod_today * self.coef[q, p]
                h.pos_tgt = target
                cap_o = g[E.I_MAXORD] * max(use_now, h.use0)
                h.need = min(max(use_now + (target - position) * self.inv_adj, 0.0), cap_o)

    def ship_usual(self, t: int) -> None:
        """Stage: round 1 of shipping, from usual suppliers, under controls."""
        # round 1: usual suppliers, under controls
        for row in self.h:
            for h in row:
                h.tot_order = h.quota_order = h.unmet = 0.0
        for rt in self.route.values():
            rt.shipped = rt.leaked = 0.0
        for rt in self.trading:
            o = self.h[rt.i][rt.p].need * rt.share
            he = self.h[rt.e][rt.p]
            he.tot_order += o
            if rt.i != rt.e and rt.mode == MODE_QUOTA:
                he.quota_order += o
        for row in self.h:
            for h in row:
                if h.tot_order > 0.0:
                    h.frac = min(1.0, h.stock / h.tot_order)
        for rt in self.trading:
            hi = self.h[rt.i][rt.p]
            he = self.h[rt.e][rt.p]
            o = hi.need * rt.share
            if o <= 0.0:
                continue
            frac = he.frac
            quota_frac = quota_fill(he.quota, he.quota_order, frac)
            q = o * frac
            if rt.i == rt.e or rt.mode == MODE_NONE:
                self._ship(t, rt, q, rt.lead)
                sent = q
            elif rt.mode == MODE_LICENCE:
                # The uncovered share and the licensed contracts' share, after customs inspection.
                af = (1.0 - rt.cover) * (1.0 - chill_now(t, rt.chill, rt.chill_days, rt.au_since)) + rt.cover * rt.ok
                ok = q * af
                leak = self._leak(rt, q - ok, hi, he)
                if rt.cover > 0.0:  # customs inspect what a control covers any of
                    self._ship(t, rt, leak, rt.lead + LEAK_EXTRA_DAYS)  # the kernel's order of additions
                    self._ship(t, rt, ok, rt.lead + self.g[I_INSPECT])
                    self._ship(t, rt, q * rt.cover * rt.ok * rt.screen, rt.lead + self.g[I_INSPECT], civ=True)
                else:
                    self._ship(t, rt, ok, rt.lead)
                    self._ship(t, rt, leak, rt.lead + LEAK_EXTRA_DAYS)
                sent = ok + leak
                rt.leaked = leak
            else:
                af = quota_frac if rt.mode == MODE_QUOTA else 0.0
                ok = q * af
                leak = self._leak(rt, q - ok, hi, he)
                self._ship(t, rt, ok, rt.lead)
                self._ship(t, rt, leak, rt.lead + LEAK_EXTRA_DAYS)
                sent = ok + leak
                rt.leaked = leak
            he.stock = max(he.stock - sent, 0.0)
            rt.shipped += sent
            hi.unmet += o - sent

    def review_licences(self, t: int) -> None:
        """Stage: the licensing authority on every licensed trading route: applications, decisions
        up to each exporter's capacity in order, buyers who stop waiting
        (:func:`standoff.core.controls.review_contracts`)."""
        g = self.g
        NC = LICENCE_CONTRACTS
        for row in self.lic_n:
            for k in range(len(row)):
                row[k] = 0.0
        for e in range(self.R):
            routes = [rt for rt in self.trading if rt.e == e and rt.i != e and rt.mode == MODE_LICENCE]
            if not routes:
                continue
            cap = self.au_carry[e]
            ready = []
            for rt in routes:
                if rt.au_open < 0.0:
                    self._start_regime(t, rt)
                n = self.lic_n[rt.p]
                wants = self.h[rt.i][rt.p].need * rt.share > 0.0
                lo = min(rt.rmin, rt.delay)
                is_open = t >= rt.au_open
                if is_open:
                    cap += rt.rate * NC / 7.0
                n_end_users = NC - int(rt.trader * NC + 0.5)
                for c in range(NC):
                    if rt.ct_state[c] in (CT_GRANTED, CT_OUT) and t >= rt.ct_day[c]:
                        rt.ct_state[c] = CT_NONE
                    if rt.ct_state[c] == CT_NONE and wants:
                        u = kernel_uniform(self.seed, self.member, t, STREAM_LICENCE + 3 * (rt.j * NC + c))
                        rt.ct_state[c], rt.ct_since[c], rt.ct_day[c] = CT_PENDING, float(t), t + lo + u * (rt.delay - lo)
                        n[LK_APPLIED] += 1.0
                    if rt.ct_state[c] == CT_PENDING and is_open and t >= min(rt.ct_day[c], rt.ct_since[c] + rt.delay):
                        ready.append((rt.prio + (0.5 if c >= n_end_users else 0.0), rt.ct_since[c], rt.j, c, rt))
            if not ready:
                self.au_carry[e] = 0.0
                continue
            if cap >= len(ready):
                chosen, self.au_carry[e] = ready, 0.0
            else:
                k = int(cap)
                self.au_carry[e] = cap - k
                chosen = sorted(ready, key=lambda x: x[:4])[:k]
            for *_, c, rt in chosen:
                self._decide(t, rt, c)
        for rt in self.trading:
            if rt.e == rt.i or rt.mode != MODE_LICENCE:
                continue
            n = self.lic_n[rt.p]
            n_ok = 0
            for c in range(NC):
                if rt.ct_state[c] == CT_PENDING and t - rt.ct_since[c] >= g[I_PATIENCE]:
                    rt.ct_state[c], rt.ct_day[c] = CT_OUT, t + g[I_REAPPLY]
                    n[LK_CANCELLED] += 1.0
                if rt.ct_state[c] == CT_PENDING:
                    n[LK_PENDING] += 1.0
                    if t >= rt.au_open and t >= min(rt.ct_day[c], rt.ct_since[c] + rt.delay):
                        n[LK_BACKLOG] += 1.0
                n_ok += 1 if rt.ct_state[c] == CT_GRANTED else 0
            n_app = sum(1 for c in range(NC) if rt.ct_state[c] != CT_NONE)
            rt.ok = n_ok * (1.0 / NC)
            rt.seen = n_ok / n_app if n_app > 0 else -1.0

    def _start_regime(self, t: int, rt: Route) -> None:
        """A licence regime takes effect on ``rt`` today: cold (the authority starts later, the
        chill starts) or warm (every buyer holds a licence with a remaining life drawn over its
        validity; :func:`standoff.core.controls._start_regime`)."""
        if rt.warm > 0.0:
            rt.au_open, rt.au_since = float(t), -math.inf
            for c in range(LICENCE_CONTRACTS):
                u = kernel_uniform(self.seed, self.member, t, STREAM_LICENCE + 3 * (rt.j * LICENCE_CONTRACTS + c) + 2)
                rt.ct_state[c], rt.ct_day[c], rt.ct_since[c] = CT_GRANTED, t + u * self.g[I_VALIDITY], float(t)
        else:
            rt.au_open, rt.au_since = t + rt.open, float(t)

    def _decide(self, t: int, rt: Route, c: int) -> None:
        """The authority decides contract ``c`` of ``rt`` (:func:`standoff.core.controls._decide`)."""
        n = self.lic_n[rt.p]
        since = rt.ct_since[c]
        stream = STREAM_LICENCE + 3 * (rt.j * LICENCE_CONTRACTS + c)
        n[LK_WAITED] += t - since
        if kernel_uniform(self.seed, self.member, int(since), stream + 1) < rt.appr:
            rt.ct_state[c], rt.ct_day[c] = CT_GRANTED, t + self.g[I_VALIDITY]
            n[LK_GRANTED] += 1.0
        else:
            n[LK_REFUSED] += 1.0
            if kernel_uniform(self.seed, self.member, int(since), stream + 2) < rt.again:
                rt.ct_state[c], rt.ct_day[c] = CT_OUT, t + self.g[I_REAPPLY]
            else:
                rt.ct_state[c], rt.ct_day[c] = CT_LEFT, math.inf
                n[LK_LEFT] += 1.0

    def divert(self, t: int) -> None:
        """Stage: round 2: buyers short buy from any supplier without a control."""
        R, P = self.R, self.P
        # round 2: diversion to any supplier with stock and no control on the route
        for p in range(P):
            if _sum([self.h[i][p].unmet for i in range(R)]) <= 1e-12:
                continue
            for e in range(R):
                he = self.h[e][p]
                if he.stock <= 0.0:
                    continue
                open_ = [self.route[(p, e, i)] for i in range(R)
                         if i != e and self.h[i][p].unmet > 0.0 and _open(self.route[(p, e, i)], t)]
                want = _sum([self.h[rt.i][p].unmet for rt in open_])
                if want <= 0.0:
                    continue
                f = min(1.0, he.stock / want)
                for rt in open_:
                    hi = self.h[rt.i][p]
                    q = hi.unmet * f
                    self._ship(t, rt, q, rt.lead)
                    he.stock = max(he.stock - q, 0.0)
                    rt.shipped += q
                    hi.unmet -= q
                    hi.re_diverted += q
        for r in range(R):
            for p in range(P):
                self.h[r][p].shipped_prev = _sum([self.route[(p, r, i)].shipped for i in range(R)])


    def supply_sectors(self, t: int) -> None:
        """Stage: sectors draw (defense first), consume, and book losses."""
        g, R, P = self.g, self.R, self.P
        # sectors: supply (defense first), consumption, losses, stockouts
        for r in range(R):
            for p in range(P):
                h = self.h[r][p]
                avail = h.recv
                if avail <= 0.0:
                    continue
                d = self.sec[r][self.defense] if self.defense >= 0 else None
                if d is not None and d.crit == p and d.pull > 0.0 and avail - h.recv_civ > 0.0:
                    give = min(d.pull, avail - h.recv_civ)  # not what is licensed for civilian use only
                    _to_firms(d, give)
                    avail -= give
                others = [c for c in self.sec[r] if c.s != self.defense and c.crit == p]
                tot = _sum([c.pull for c in others])
                if tot > 0.0 and avail > 0.0:
                    f = min(1.0, avail / tot)
                    for c in others:
                        give = c.pull * f
                        _to_firms(c, give)
                        avail -= give
                        h.recv_civ = max(h.recv_civ - give, 0.0)
                h.recv = max(avail, 0.0)
                h.recv_civ = min(h.recv_civ, h.recv)
        for r in range(R):
            for p in range(P):
                self.h[r][p].sinv_p = 0.0
        for r in range(R):
            sd = self.side[r]
            for c in self.sec[r]:
                if c.req <= 0.0:
                    continue
                got = gone = dly = fint = stp = 0.0
                d0 = c.demand0
                for j in range(self.K):
                    rq = c.req * self.inv_kc
                    hold = c.firms[j]
                    cj = min(rq, hold)
                    left = hold - cj
                    short = rq - cj
                    owed = c.owed[j]
                    df = min(short, max(c.defer_days * d0 * self.inv_kc - owed, 0.0))
                    fin = min(owed, left, g[I_FINISH] * rq) if short <= 0.0 else 0.0
                    c.firms[j] = left - fin
                    c.owed[j] = owed + df - fin
                    got += cj
                    gone += short - df
                    dly += df
                    fint += fin
                    stopped = cj + df < g[E.I_STOCKOUT] * rq
                    c.stopped[j] = 1.0 if stopped else c.stopped[j]
                    stp += self.inv_kc if stopped else 0.0
                self.consumed[c.crit] += got + fint
                lost = min(gone / c.req, 1.0)
                made = 1.0 - lost
                self.h[r][c.crit].sinv_p += _sum(c.firms)
                short = gone
                loss = lost * c.value_day
                late = dly / c.req * c.value_day
                c.loss += loss * 1e-9
                c.units += short * c.units_per_t
                c.delayed += late * 1e-9
                c.units_delayed += dly * c.units_per_t
                c.stop_days += stp
                if made < g[E.I_STOCKOUT] and math.isnan(c.stockout):
                    c.stockout = t
                pain = loss + late * g[I_DEFCOST]
                if sd >= 0:
                    if c.s == self.defense:
                        self.pain_today[sd][PK_STRATEGIC] += pain * g[E.I_DEFW] * 1e-9
                    else:
                        self.pain_today[sd][PK_OUTPUT] += pain * (1.0 + g[I_VOICE] * stp) * 1e-9
                if c.s == self.defense:
                    w = t % E.READINESS_WINDOW
                    self.ready_sum[r] += made - self.ready_buf[r][w]
                    self.ready_buf[r][w] = made
                    self.readiness[r] = min(self.readiness[r], self.ready_sum[r] / E.READINESS_WINDOW)


    def update_markets(self) -> None:
        """Stage: prices, substitution and new capacity."""
        g, R, P = self.g, self.R, self.P
        # markets: prices, substitution, new capacity
        eps = g[E.I_EPS]
        used = set(self.crit)
        floors = self._arbitrage_floors()  # from the prices before any moves today
        for r in range(R):
            for p in range(P):
                h = self.h[r][p]
                denom = h.pos_tgt + h.stock_tgt
                if denom > 0.0:
                    have = h.recv + h.pipe + h.stock + h.sinv_p
                    nb = int(self.bid_n[r, p])
                    if nb > 0:  # the bid at the margin bounds the price (standoff.core.markets.market_ceiling)
                        c = have / denom
                        raw = power(c, -1.0 / g[E.I_FLEX]) if c > 1e-9 else math.inf
                        prices = np.array([[[self.h[r][q].price] for q in range(P)]])
                        hi = market_ceiling(p, nb, self.bid[r, p], self.bid_down[r, p], self.bid_qty[r, p],
                                            self.net.coef, self.net.price_usd_per_t, prices, 0, 0,
                                            min(max(1.0 - c, 0.0), 1.0), raw, self.bid_wk)
                        m_star = max(min(raw, hi, g[E.I_PCAP]), g[E.I_PFLOOR])
                    else:
                        m_star = target_price(have / denom, g[E.I_FLEX], g[E.I_PFLOOR], g[E.I_PCAP])
                    f, fw = floors[r][p]
                    m_star = m_star + fw * (f - m_star) if (f > m_star and f < math.inf) else m_star
                    h.price += (m_star - h.price) * self.inv_presp
        for r in range(R):
            for p in range(P):
                h = self.h[r][p]
                h.signal += (h.price - h.signal) * self.inv_sig
                h.pe_mult = power(h.price, -eps) if (p in used and h.price != 1.0) else 1.0
                h.peak = max(h.peak, h.price)
            for c in self.sec[r]:
                c.sub = _substitution_step(c.sub, self.h[r][c.crit].price, g[E.I_SUBMAX], self.sub_rate)
        for p in range(P):
            if self.outside[p] <= 0.0:
                continue
            for r in range(R):
                h = self.h[r][p]
                if self.side[r] != CN_SIDE and h.prod0 > 0.0 and h.signal > INVEST_SIGNAL:
                    grow = self.cap_grow * self.world[p] * h.prod0 / self.outside[p]
                    h.cap += grow * min(h.signal - INVEST_SIGNAL, 1.0)
        # expectations and speculation (standoff.core.markets.expectations)
        inv_e = 1.0 / g[I_EXPDAYS]
        for r in range(R):
            for p in range(P):
                h = self.h[r][p]
                ctl = 0.0
                for e in range(R):
                    rt = self.route[(p, e, r)]
                    if e == r or rt.share <= 0.0:
                        continue
                    he = self.h[e][p]
                    if rt.mode == MODE_QUOTA:  # the share of today's orders under the quota it refuses
                        f = 1.0 - quota_fill(he.quota, he.quota_order, he.frac)
                    elif rt.mode == MODE_LICENCE:  # what buyers see, once anyone has applied
                        f = rt.cover * (1.0 - (rt.seen if rt.seen >= 0.0 else rt.appr))
                    else:
                        f = 0.0 if rt.mode == MODE_NONE else 1.0
                    ctl += rt.share * max(f, rt.ahead)
                h.pma = h.pma + (h.price - h.pma) * inv_e
                mo = min(max(h.price / h.pma - 1.0, 0.0) / g[I_MOMSCALE], 1.0)
                sig = max(ctl, mo)
                h.expect += (sig - h.expect) * inv_e
                sp = h.spec
                mv = (g[I_SPECDAYS] * h.use0 * mo - sp) * self.inv_adj
                take = min(mv, h.recv) if mv > 0.0 else 0.0
                back = min(-mv, sp) if mv < 0.0 else 0.0
                h.recv = h.recv - take + back
                h.recv_civ = min(h.recv_civ, h.recv)  # traders take the unrestricted part first
                h.spec = sp + take - back


    def _arbitrage_floors(self) -> list[list[float]]:
        """The least each market that buys most of a product abroad may ask: what its cheapest
        foreign supplier legally shipping to it today gets at home, plus the route's export tax
        (``inf`` where none), with its weight: 1 from the dominant usual supplier, else the share of
        the market's usual use its legal shipments make today (:func:`standoff.core.markets.arbitrage_floors`)."""
        out = [[(math.inf, 0.0)] * self.P for _ in range(self.R)]
        for p in range(self.P):
            for i in range(self.R):
                if not self.mk[i, p] or self.route[(p, i, i)].share >= 0.5:
                    continue
                fl, fw = math.inf, 0.0
                u0 = self.h[i][p].use0
                for e in range(self.R):
                    rt = self.route[(p, e, i)]
                    if e == i or rt.share <= 0.0:
                        continue
                    legal = rt.shipped - rt.leaked
                    if legal > 0.0:
                        f = self.h[e][p].price * (1.0 + rt.tax)
                        if f < fl:  # the cheapest supplier, and how much of the market it supplies today
                            fl, fw = f, (1.0 if (rt.share >= 0.5 or u0 <= 0.0) else min(legal / u0, 1.0))
                out[i][p] = (fl, fw)
        return out

    def book_material_trade(self) -> None:
        """Stage: rare-earth trade lost, the export revenue it costs (net of what the tonnes still
        shipped fetch) and the rent a control creates
        (:func:`standoff.core.trade.book_material_trade`)."""
        price_t = self.net.price_usd_per_t
        for rt in self.trading:
            if rt.e == rt.i:
                continue
            gap = rt.flow0 - rt.shipped
            if gap > 0.0:
                self.h[rt.i][rt.p].re_lost += gap
            lk = rt.leaked
            lg = rt.shipped - lk
            pi = self.h[rt.i][rt.p].price
            pe = self.h[rt.e][rt.p].price
            pt = price_t[rt.p]
            if self.side[rt.e] >= 0:
                self.pain_today[self.side[rt.e]][PK_EXPORTS] += (rt.flow0 - lg * pi - lk * pe) * pt * 1e-9
            if rt.mode != MODE_NONE:
                self.rent[rt.e][0] += lg * max(pi - pe * (1.0 + rt.tax), 0.0) * pt * 1e-9
                self.rent[rt.e][2] += lk * max(pi - pe, 0.0) * pt * 1e-9
            if rt.tax > 0.0:
                self.rent[rt.e][1] += lg * pe * rt.tax * pt * 1e-9
        for sd in range(2):  # only a net loss is pain
            self.pain_today[sd][PK_EXPORTS] = max(self.pain_today[sd][PK_EXPORTS], 0.0)

    def trade_goods(self) -> None:
        """Stage: goods trade under tariffs and counter-measures, and its pain."""
        g = self.g
        # goods trade: tariffs and counter-measures
        net = self.net
        for lk in self.links:
            tau = self.tariff[(lk.e, lk.i, lk.g)]
            if tau != lk.cached_tau:
                lk.cached_tau = tau
                lk.vstar = _import_target(lk.v0, tau, lk.tau0, g[E.I_PT], g[E.I_SIGMA])
                lk.cs = _buyer_loss(lk.v0, tau, lk.tau0, g[E.I_PT], g[E.I_SIGMA], g[E.I_DIV], 0.0, 0.0)
            vstar = lk.vstar
            for c in range(self.C):
                if self.cm_on[c] > 0.0 and net.cm_imposer[c] == lk.e and net.cm_target[c] == lk.i \
                        and net.cm_group[c] == lk.g:
                    vstar = max(vstar - net.cm_blocked[c], 0.0)
            lk.tv += (vstar - lk.tv) * self.inv_tadj
            lost = lk.v0 - lk.tv
            cost = lk.cs + g[E.I_PREM] * g[E.I_DIV] * max(lost, 0.0)
            si, se = self.side[lk.i], self.side[lk.e]
            if si >= 0:
                self.pain_today[si][PK_CONSUMERS] += cost * 1e-9
                self.goods[si][0] += lost * 1e-9
            # the exporter places a share of its lost sales elsewhere, over the trade adjustment time
            redir = g[E.I_REDIR_CN] if se == E.CN_SIDE else g[E.I_REDIR]
            lk.redirected += (max(lost, 0.0) * redir - lk.redirected) * self.inv_tadj
            if se >= 0 and lost > 0.0:
                self.pain_today[se][PK_EXPORTS] += max(lost - lk.redirected, 0.0) * 1e-9
                self.goods[se][1] += lost * 1e-9
        for c in range(self.C):
            st = self.side[net.cm_target[c]]
            if self.cm_on[c] > 0.0 and st >= 0:
                self.pain_today[st][PK_STRATEGIC] += net.cm_blocked[c] * net.cm_multiplier[c] * 1e-9

    def count_leverage_lost(self) -> None:
        """Stage: the controller's strategic pain from the leverage it loses as capacity outside it grows."""
        kp, cn = self.magnet, self.cn
        if kp < 0 or cn < 0:
            return
        if self.world[kp] <= 0.0 or self.h[cn][kp].prod0 <= 0.0:
            return
        held = 0.0
        for r in range(self.R):
            if self.side[r] != self.side[cn]:
                for s in range(self.S):
                    if self.sec[r][s].crit == kp:
                        held += self.sec[r][s].value_day
        if held <= 0.0:
            return
        head = self.g[E.I_HEADROOM]
        tot0 = tot = 0.0
        for r in range(self.R):
            tot0 += self.h[r][kp].prod0 * (1.0 + head)
            tot += self.h[r][kp].cap
        lev0 = self.h[cn][kp].prod0 * (1.0 + head) / tot0
        lev = self.h[cn][kp].cap / tot if tot > 0.0 else 0.0
        lost = max(lev0 - lev, 0.0) / lev0
        self.pain_today[self.side[cn]][PK_STRATEGIC] += held * self.g[I_CHOKE] * lost * 1e-9

    def book_pain(self) -> None:
        """Stage: today's pain joins the totals and the pressure."""
        net = self.net
        # politics: pain becomes pressure
        for sd in range(2):
            for kk in range(4):
                self.pain_total[sd][kk] += self.pain_today[sd][kk]
                a = 1.0 / net.decay_days[sd, kk]
                self.pressure[sd][kk] += a * (net.salience[sd, kk] * self.pain_today[sd][kk] - self.pressure[sd][kk])

    def track_after_deal(self, t: int) -> None:
        """Stage: China's share of magnets over the last 30 days, and autos' rebuild after the first deal."""
        R = self.R
        # dependence on China at the end of the run
        if t >= self.tail_start and self.magnet >= 0:
            for i in range(R):
                self.dep_cn[i] += self.route[(self.magnet, self.cn, i)].shipped
                for e in range(R):
                    self.dep_all[i] += self.route[(self.magnet, e, i)].shipped
        if self.neg_on:
            self._rebuild(t, self.horizon)

    def _play(self, t: int, talks_today: bool) -> None:
        """One day of the negotiation game on this member's policies."""
        R, P, G = self.R, self.P, self.G
        tariff = np.array([[[self.tariff[(e, i, gg)] for gg in range(G)] for i in range(R)] for e in range(R)])
        appr = np.array([[[self.route[(p, e, i)].appr for i in range(R)] for e in range(R)] for p in range(P)])
        delay = np.array([[[self.route[(p, e, i)].delay for i in range(R)] for e in range(R)] for p in range(P)])
        mode = np.array([[[self.route[(p, e, i)].mode for i in range(R)] for e in range(R)] for p in range(P)],
                        dtype=np.int64)
        cm_on = np.array(self.cm_on)
        out = np.array(self.neg_out)
        with np.errstate(over="ignore"):  # the counter-based generator wraps its 64-bit products
            oks = [rt.ok for rt in self.trading if rt.e == self.cn and rt.i == self.us and rt.mode == MODE_LICENCE]
            ev = 0.0
            for x in oks:
                ev += x
            _negotiate_day(t, self.member, self.seed, talks_today, self.npar, self.nst, self.rho[0], self.rho[1],
                           tariff, appr, delay, mode, cm_on, self.net.cm_imposer, self.us, self.cn, out,
                           ev / len(oks) if oks else -1.0)
        for (e, i, gg) in self.tariff:
            self.tariff[(e, i, gg)] = float(tariff[e, i, gg])
        for (p, e, i), rt in self.route.items():
            rt.appr, rt.delay = float(appr[p, e, i]), float(delay[p, e, i])
        self.cm_on = [float(x) for x in cm_on]
        self.neg_out = [float(x) for x in out]

    def _rebuild(self, t: int, horizon: int) -> None:
        """Days from the first agreement until autos hold 90% of their target again."""
        a_day = self.neg_out[0]
        if self.autos < 0 or math.isnan(a_day) or t <= a_day:
            return
        for r in range(self.R):
            c = self.sec[r][self.autos]
            if math.isnan(self.rebuild[r]) and c.demand0 > 0.0:
                if _sum(c.firms) < REBUILD_SHARE * c.sect_tgt:
                    self.dipped[r] = True
                elif self.dipped[r]:
                    self.rebuild[r] = t - a_day
        if t == horizon - 1:
            for r in range(self.R):
                c = self.sec[r][self.autos]
                if math.isnan(self.rebuild[r]) and not self.dipped[r] and c.demand0 > 0.0:
                    self.rebuild[r] = 0.0

    def export_state(self, t: int) -> dict[str, np.ndarray]:
        """This member's state in the kernel's layout (:mod:`standoff.layout`'s containers, member
        axis of length one), as it stands during day ``t``: what ``tests/test_stages.py`` loads
        into the kernel before a stage and compares with after it.  Shares the layout, not the
        arithmetic: every value is read from this object's nodes.
        """
        R, P = self.R, self.P
        D = E.RING_DAYS
        net = self.net
        a = lambda x: np.asarray(x, dtype=np.float64)[..., None]  # noqa: E731 - member axis last
        hold = lambda f: a([[getattr(self.h[r][p], f) for p in range(P)] for r in range(R)])  # noqa: E731
        sect = lambda f: a([[getattr(c, f) for c in row] for row in self.sec])  # noqa: E731
        by_pi = lambda f: a([[getattr(self.h[i][p], f) for i in range(R)] for p in range(P)])  # noqa: E731
        routes = lambda f: a([[[getattr(self.route[(p, e, i)], f) for i in range(R)] for e in range(R)]  # noqa: E731
                              for p in range(P)])
        ring = np.zeros((D, P, R, 1))
        ring_civ = np.zeros((D, P, R, 1))
        for p in range(P):
            for i in range(R):
                for day, q in self.h[i][p].arrivals.items():
                    if t <= day < t + D:
                        ring[day & (D - 1), p, i, 0] = q
                for day, q in self.h[i][p].arrivals_civ.items():
                    if t <= day < t + D:
                        ring_civ[day & (D - 1), p, i, 0] = q
        lead = lambda L: min(max(int(L + 0.5), 1), D - 1)  # noqa: E731 - controls.lead_days
        dl = np.array([[[lead(self.route[(0, e, i)].lead)] for i in range(R)] for e in range(R)], dtype=np.int64)
        dleak = np.array([[[lead(self.route[(0, e, i)].lead + LEAK_EXTRA_DAYS)] for i in range(R)] for e in range(R)],
                         dtype=np.int64)
        dinsp = np.array([[[lead(self.route[(0, e, i)].lead + self.g[I_INSPECT])] for i in range(R)]
                          for e in range(R)], dtype=np.int64)
        mode = np.array([[[[self.route[(p, e, i)].mode] for i in range(R)] for e in range(R)] for p in range(P)],
                        dtype=np.int64)
        lic_route = np.zeros((P, R, R), dtype=np.bool_)
        for p in range(P):
            for e in range(R):
                for i in range(R):
                    lic_route[p, e, i] = e != i and mode[p, e, i, 0] == MODE_LICENCE
        any_quota = any(mode[p, e, i, 0] == MODE_QUOTA for p in range(P) for e in range(R) for i in range(R) if e != i)
        any_ahead = any(self.route[(p, e, i)].ahead > 0.0 for p in range(P) for e in range(R) for i in range(R)
                        if e != i)
        nl, NC = max(len(self.trading), 1), LICENCE_CONTRACTS
        ct_state = np.zeros((nl, NC, 1), dtype=np.int64)
        ct_day, ct_since, ct_ok = np.zeros((nl, NC, 1)), np.zeros((nl, NC, 1)), np.zeros((nl, 1))
        for j, rt in enumerate(self.trading):
            ct_state[j, :, 0] = rt.ct_state
            ct_day[j, :, 0] = rt.ct_day
            ct_since[j, :, 0] = rt.ct_since
            ct_ok[j, 0] = rt.ok
        tv = net.trade_value.copy()
        for lk in self.links:
            tv[lk.e, lk.i, lk.g] = lk.tv
        G = self.G
        links = lambda f: a([getattr(lk, f) for lk in self.links] or [0.0])  # noqa: E731
        return {
            # Stocks
            "stock": hold("stock"), "stock_tgt": hold("stock_tgt"), "recv": hold("recv"), "cap": hold("cap"),
            "recv_civ": hold("recv_civ"), "buy": hold("buy"), "olim": hold("olim"), "ohalt": hold("ohalt"),
            "spile": hold("spile"), "release": hold("release"), "shipped_prev": hold("shipped_prev"),
            "prod_today": hold("prod_today"), "input_used": hold("input_used"), "need": hold("need"),
            "spec": hold("spec"), "pma": hold("pma"), "expect": hold("expect"),
            "pos_tgt": hold("pos_tgt"), "sinv_p": hold("sinv_p"),
            # Market
            "price": hold("price"), "signal": hold("signal"), "pe_mult": hold("pe_mult"),
            # Sectors
            "sinv": a([[c.firms for c in row] for row in self.sec]), "cpull": a([[c.cpull for c in row]
                                                                                  for row in self.sec]),
            "ssum": a([[_sum(c.firms) for c in row] for row in self.sec]), "sub": sect("sub"), "req": sect("req"),
            "pull": sect("pull"), "sect_tgt": sect("sect_tgt"),
            "dfr": a([[c.owed for c in row] for row in self.sec]), "fstop": a([[c.stopped for c in row]
                                                                              for row in self.sec]),
            # Ship
            "ring": ring, "pipe": by_pi("pipe"), "pipe0": by_pi("pipe0"), "unmet": by_pi("unmet"),
            "shipped": routes("shipped"), "leaked": routes("leaked"), "dl": dl, "dleak": dleak, "dinsp": dinsp,
            "ring_civ": ring_civ,
            # Ctrl
            "c_mode": mode, "c_term": np.stack([routes(term.name) for term in ROUTE_TERMS]),
            "c_quota": a([[self.h[e][p].quota for e in range(R)] for p in range(P)]), "ct_state": ct_state,
            "ct_day": ct_day,
            "ct_since": ct_since, "ct_ok": ct_ok, "ct_seen": routes("seen"), "au_open": routes("au_open"), "au_since": routes("au_since"),
            "au_carry": a(self.au_carry),
            "lic_n": a(self.lic_n), "tot_pe": a([[getattr(self.h[e][p], "tot_order", 0.0) for e in range(R)]
                                                    for p in range(P)]),
            "ctl_pe": a([[getattr(self.h[e][p], "quota_order", 0.0) for e in range(R)] for p in range(P)]),
            "frac_pe": a([[getattr(self.h[e][p], "frac", 0.0) for e in range(R)] for p in range(P)]),
            "lic_route": lic_route, "flags": np.array([0, int(any_quota), int(any_ahead)]),
            # Goods
            "tariff": a([[[self.tariff[(e, i, gg)] for gg in range(G)] for i in range(R)] for e in range(R)]),
            "tv": tv[..., None], "cm_on": a(self.cm_on), "gt_tau": links("cached_tau"), "gt_vstar": links("vstar"),
            "gt_cs": links("cs"), "gt_red": links("redirected"),
            # Pol
            "pain_today": a(getattr(self, "pain_today", [[0.0] * 4 for _ in range(2)])),
            "pain_tot": a(self.pain_total), "pressure": a(self.pressure),
            "rho_us": a(getattr(self, "rho", [0.0, 0.0])[0]), "rho_cn": a(getattr(self, "rho", [0.0, 0.0])[1]),
            "nst": np.array(self.nst, dtype=np.float64)[None, :],
            # Acc
            "o_stockout": sect("stockout"), "o_loss": sect("loss"), "o_units": sect("units"), "o_peak": hold("peak"),
            "o_spile_empty": hold("spile_empty"),
            "o_re": a([[[self.h[i][p].re_lost, self.h[i][p].re_diverted] for i in range(R)] for p in range(P)]),
            "o_goods": a(self.goods), "ready_buf": a(self.ready_buf), "ready_sum": a(self.ready_sum),
            "readiness": a(self.readiness), "produced": a(self.produced), "consumed": a(self.consumed),
            "dep_cn": a(self.dep_cn), "dep_all": a(self.dep_all), "dipped": a([float(x) for x in self.dipped]),
            "out_neg": np.array(self.neg_out, dtype=np.float64)[None, :],
            "out_rebuild": np.array(self.rebuild, dtype=np.float64)[None, :],
            "o_delay": sect("delayed"), "o_udelay": sect("units_delayed"), "o_stopd": sect("stop_days"),
            "o_rent": a(self.rent),
        }

    def outputs(self) -> dict[str, np.ndarray]:
        R, P = self.R, self.P
        bal = [self._holdings(p) - self.initial[p] - self.produced[p] + self.consumed[p] for p in range(P)]
        return {
            "first_stockout_day": np.array([[c.stockout for c in row] for row in self.sec]),
            "output_loss_usd_bn": np.array([[c.loss for c in row] for row in self.sec]),
            "units_lost": np.array([[c.units for c in row] for row in self.sec]),
            "peak_price_multiple": np.array([[h.peak for h in row] for row in self.h]),
            "readiness_min": np.array(self.readiness),
            "pain_usd_bn": np.array(self.pain_total),
            "re_trade_t": np.array([[[self.h[i][p].re_lost, self.h[i][p].re_diverted] for i in range(R)]
                                    for p in range(P)]),
            "goods_trade_usd_bn": np.array(self.goods),
            "control_rent_usd_bn": np.array(self.rent),
            "material_balance_t": np.array(bal),
            "negotiation": np.array(self.neg_out),
            "china_share_end": np.array([self.dep_cn[i] / self.dep_all[i] if self.dep_all[i] > 0.0 else math.nan
                                         for i in range(R)]),
            "stockpile_empty_day": np.array([[h.spile_empty for h in row] for row in self.h]),
            "rebuild_days": np.array(self.rebuild),
            "output_delayed_usd_bn": np.array([[c.delayed for c in row] for row in self.sec]),
            "units_delayed": np.array([[c.units_delayed for c in row] for row in self.sec]),
            "unfinished_usd_bn": np.array([[_sum(c.owed) / c.demand0 * c.value_day * 1e-9 if c.demand0 > 0.0 else 0.0
                                            for c in row] for row in self.sec]),
            "stopped_weeks": np.array([[c.stop_days / 7.0 for c in row] for row in self.sec]),
            "share_affected": np.array([[_sum(c.stopped) / self.K for c in row] for row in self.sec]),
        }


def _open(rt: Route, t: int) -> bool:
    """A route buyers can divert to today (:func:`standoff.core.controls.diverts_to`)."""
    return _diverts_to(rt.mode, rt.cover, chill_now(t, rt.chill, rt.chill_days, rt.au_since))


def _sum(xs: list[float]) -> float:
    tot = 0.0  # left to right from zero, as the kernel adds
    for x in xs:
        tot += x
    return tot


def _to_firms(c: Sector, give: float) -> None:
    if c.pull <= 0.0:
        return
    f = give / c.pull
    for j in range(len(c.firms)):
        c.firms[j] += c.cpull[j] * f


def run_reference(pl: Any, start: int, n: int) -> dict[str, np.ndarray]:
    """Run members ``start .. start + n - 1`` of plan ``pl`` one at a time with node objects.

    Returns the per-member outputs the kernel also writes (``ensemble.OUTPUT_SHAPES``),
    each with the member as first axis.
    """
    inputs = pl.draw(start, n)
    T = pl.scenario.horizon_days
    by_day = actions_by_day(pl)
    outs: list[dict[str, np.ndarray]] = []
    for k in range(n):
        m = new_member(pl, inputs, k, start)
        for t in range(T):
            m.step(t, by_day.get(t, []))
        outs.append(m.outputs())
    return {key: np.stack([o[key] for o in outs]) for key in outs[0]}


def actions_by_day(pl: Any) -> dict[int, list[tuple[int, int, int, int, int]]]:
    """The plan's timeline as each day's list of (kind, a0, a1, a2, column)."""
    a = pl.actions
    by_day: dict[int, list[tuple[int, int, int, int, int]]] = {}
    for j in range(len(a["day"])):
        by_day.setdefault(max(int(a["day"][j]), 0), []).append(
            (int(a["kind"][j]), int(a["a0"][j]), int(a["a1"][j]), int(a["a2"][j]), int(a["col"][j])))
    return by_day


def new_member(pl: Any, inputs: dict[str, np.ndarray], k: int, start: int) -> Member:
    """Member ``start + k`` of plan ``pl`` at the start of its run (``inputs`` drawn from ``start``)."""
    net = pl.net
    T = pl.scenario.horizon_days
    m = Member(pl, inputs, k)
    m.neg_start = pl.neg_start
    m.tail_start = max(T - 30, 0)
    m.horizon = T
    m.magnet = net.products.index(net.key_product)
    m.cn = net.regions.index(net.cn_region)
    m.us = net.regions.index(net.us_region)
    m.autos = net.sectors.index(net.lead_sector)
    m.neg_on, m.member, m.seed = pl.neg_on, start + k, np.uint64(pl.scenario.seed)
    m.nst = np.zeros(N_STATE)
    _init_state(m.nst, inputs["npar"][k])
    m.rebuild, m.dipped = [math.nan] * m.R, [False] * m.R
    return m


#: State arrays in which NaN is a value, not a fault: "has not happened yet" (first stockout,
#: agreement, collapse, rebuild, stockpile empty days) and the game's unset slots.
NAN_MEANS_NEVER = frozenset({"o_stockout", "o_spile_empty", "out_rebuild", "out_neg"})


def nonfinite_arrays(state: dict[str, np.ndarray]) -> list[str]:
    """Names of the arrays of ``state`` (:meth:`Member.export_state`) holding NaN or infinity
    where a number is required (NaN where it means "never" is allowed; infinity never is)."""
    bad = []
    for name, arr in state.items():
        a = np.asarray(arr)
        if a.dtype.kind != "f":
            continue
        if np.isinf(a).any() or (name not in NAN_MEANS_NEVER and np.isnan(a).any()):
            bad.append(name)
    return bad


def first_nonfinite(pl: Any, member: int) -> tuple[int, str, list[str]] | None:
    """Where member ``member`` of ``pl`` first computes a NaN or infinity: (day, stage, arrays).

    Runs the member in this reference (slow, but one member) and checks the state after each
    day, then steps the first bad day again stage by stage.  ``None`` if no state goes bad
    (the fault is then in how outputs are summarised, not in a stage).
    """
    inputs = pl.draw(member, 1)
    T = pl.scenario.horizon_days
    by_day = actions_by_day(pl)
    try:
        m = new_member(pl, inputs, 0, member)
    except ArithmeticError as exc:
        return 0, f"set-up ({type(exc).__name__}: {exc})", []
    bad_day = None
    for t in range(T):
        try:
            m.step(t, by_day.get(t, []))
        except (ArithmeticError, ValueError) as exc:
            return t, f"{m.stage} ({type(exc).__name__}: {exc})", []
        if nonfinite_arrays(m.export_state(t)):
            bad_day = t
            break
    if bad_day is None:
        return None
    m = new_member(pl, inputs, 0, member)
    for t in range(bad_day):
        m.step(t, by_day.get(t, []))
    found: list[tuple[str, list[str]]] = []

    def check(stage: str) -> None:
        if not found:
            bad = nonfinite_arrays(m.export_state(bad_day))
            if bad:
                found.append((stage, bad))
    m.step(bad_day, by_day.get(bad_day, []), after=check)
    stage, arrays = found[0] if found else ("(between days)", [])
    return bad_day, stage, arrays
