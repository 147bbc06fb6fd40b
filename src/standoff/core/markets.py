"""Prices, demand response, substitution, new capacity, expectations and speculation.

A regional price multiple moves toward ``cover ** (-1 / flexibility)``, where cover is the
region's inventory position against its target, bounded below by a floor and above by what
the market's users bid: the bid of the user at the margin, the one priced out last when the
shortage is shared from the lowest bidder up (:func:`market_ceiling`: a sector bids what a
stoppage costs it per tonne, a producer what its own product fetches less its other inputs).
When the bid at the margin is higher than the assumed ``price_cap`` (a market with almost
nothing left, where the last user's bid is thousands of times the price: no spot market quotes
that), the cap bounds it, and results flag peaks at the cap as "at least".  Prices
cut short-run demand a little (an elasticity), and over months drive thrifting and
substitution at a bounded rate that does not reverse; over years, a smoothed price
signal brings new capacity outside China.  Buyers expect scarcity when a control covers
their imports or prices rise, and raise their target inventories; traders hold stock while
prices rise and bring it back when they stop (:func:`expectations`).  Prices are regional, so
a control splits one market into two tiers: inside the controlling country unlicensed supply
piles up and its price falls, outside buyers compete for what is licensed and theirs rises;
the export (FOB) price is what the exporter's shipments fetch at their destinations
(:func:`standoff.core.trade.book_material_trade`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._jit import kernel_jit
from .controls import quota_fill
from ..layout import (CN_SIDE, I_EXPDAYS, I_MOMSCALE, I_SPECDAYS, INVEST_SIGNAL, MODE_LICENCE, MODE_NONE, MODE_QUOTA,
                     SUB_EFFORT_SPAN,
                     T_AHEAD, T_APPR, T_COVER, T_TAX)

# Constants of the power function below (fdlibm's split of ln 2; 2**52 and 1.5 * 2**52).
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00
_SQRT2 = 1.4142135623730951
_MANT = np.int64(0x000FFFFFFFFFFFFF)
_ONE_BITS = np.int64(0x3FF0000000000000)
_TWO52_BITS = np.int64(0x4330000000000000)
_SHIFTER = 6755399441055744.0
_SHIFTER_BITS = np.int64(0x4338000000000000)


@kernel_jit(error_model="numpy", fastmath={"contract"})
def pow_pos(x: np.ndarray, y: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> None:
    """``out = x ** y`` elementwise, for positive normal ``x``, within a few units in the last place.

    Written with float and integer arithmetic only (the exponent is read from the bits of
    ``x``, the power of two built from bits) so that the compiler vectorises it across a
    block of members; the C library's ``pow`` is called one element at a time and took a
    quarter of the kernel's time.  The polynomials are evaluated by Estrin's scheme (short
    dependency chains) with fused multiply-adds: that is why this one function is compiled
    with ``contract``.  Both the kernel and :mod:`standoff.core.reference` call this function,
    so they agree bit for bit.  ``x`` must be contiguous; ``scratch`` holds two values per
    element.
    """
    n = x.shape[0]
    xb = x.view(np.int64)
    ob = out.view(np.int64)
    s0 = scratch[0]
    s1 = scratch[1]
    s0b = s0.view(np.int64)
    s1b = s1.view(np.int64)
    for i in range(n):
        b = xb[i]
        ob[i] = (b & _MANT) | _ONE_BITS      # the mantissa, in [1, 2)
        s0b[i] = _TWO52_BITS | (b >> 52)     # 2**52 + the biased exponent, as a float
    for i in range(n):
        m = out[i]
        ef = (s0[i] - 4503599627370496.0) - 1023.0
        big = m > _SQRT2
        m = m * 0.5 if big else m
        ef = ef + 1.0 if big else ef
        # log(m) = 2 s (1 + z/3 + z^2/5 + ... + z^10/21), s = (m-1)/(m+1), z = s^2 <= 0.0295
        sv = (m - 1.0) / (m + 1.0)
        z = sv * sv
        z2 = z * z
        z4 = z2 * z2
        z8 = z4 * z4
        a0 = 1.0 + z * (1.0 / 3)
        a1 = (1.0 / 5) + z * (1.0 / 7)
        a2 = (1.0 / 9) + z * (1.0 / 11)
        a3 = (1.0 / 13) + z * (1.0 / 15)
        a4 = (1.0 / 17) + z * (1.0 / 19)
        p = ((a0 + z2 * a1) + z4 * (a2 + z2 * a3)) + z8 * (a4 + z2 * (1.0 / 21))
        lg = ef * _LN2_HI + (2.0 * sv * p + ef * _LN2_LO)
        w = min(max(lg * y[i], -708.0), 709.0)
        k = np.floor(w * _INV_LN2 + 0.5)
        r = (w - k * _LN2_HI) - k * _LN2_LO
        # exp(r) = sum r^j / j!, j = 0 .. 13, |r| <= ln(2)/2
        r2 = r * r
        r4 = r2 * r2
        r8 = r4 * r4
        e0 = 1.0 + r
        e1 = (1.0 / 2) + r * (1.0 / 6)
        e2 = (1.0 / 24) + r * (1.0 / 120)
        e3 = (1.0 / 720) + r * (1.0 / 5040)
        e4 = (1.0 / 40320) + r * (1.0 / 362880)
        e5 = (1.0 / 3628800) + r * (1.0 / 39916800)
        e6 = (1.0 / 479001600) + r * (1.0 / 6227020800)
        q = ((e0 + r2 * e1) + r4 * (e2 + r2 * e3)) + r8 * ((e4 + r2 * e5) + r4 * e6)
        out[i] = q
        s1[i] = k + _SHIFTER                 # k sits in the low bits of the mantissa
    for i in range(n):
        s1b[i] = ((s1b[i] - _SHIFTER_BITS) + 1023) << 52   # 2**k
    for i in range(n):
        out[i] = out[i] * s1[i]


def target_price(cover: float, flexibility: float, floor: float, cap: float) -> float:
    """Price multiple a market clears at when its inventory position is ``cover`` of target.

    ``cover ** (-1 / flexibility)`` bounded by ``floor`` and ``cap`` (``cap`` when nothing is
    left).  One value at a time, for :mod:`standoff.core.reference`; the kernel applies the same
    formula to a block of members with :func:`pow_pos`.
    """
    if cover <= 1e-9:
        return cap
    out = np.empty(1)
    pow_pos(np.array([cover]), np.array([-1.0 / flexibility]), out, np.empty((2, 1)))
    return min(max(float(out[0]), floor), cap)


def power(x: float, y: float) -> float:
    """``x ** y`` for positive ``x`` with :func:`pow_pos` (one value, for the reference)."""
    out = np.empty(1)
    pow_pos(np.array([x]), np.array([y]), out, np.empty((2, 1)))
    return float(out[0])


@kernel_jit(error_model="numpy", inline="always")
def substitution_step(sub: float, price: float, sub_max: float, rate_per_day: float) -> float:
    """Substitution share after one day: moves toward a price-driven target, never back."""
    effort = min(max((price - 1.0) / SUB_EFFORT_SPAN, 0.0), 1.0)  # full at a tripled price (defaults/constants.csv)
    target = sub_max * effort
    if target > sub:
        return sub + min(target - sub, rate_per_day)
    return sub


@kernel_jit(error_model="numpy", inline="always")
def market_ceiling(p: int, n: int, bid: np.ndarray, down: np.ndarray, qty: np.ndarray, coef: np.ndarray,
                   price_t: np.ndarray, price: np.ndarray, r: int, m: int, short: float, ms: float,
                   wk: np.ndarray) -> float:
    """The most a market's users pay for product ``p`` today: the bid of the user at the margin.

    Short-run demand for a critical input is nearly fixed until a user would rather stop than
    pay: each user bids up to what a stoppage costs it per tonne (the bid ladder,
    :attr:`standoff.network.Network.bid_ladder`).  A sector bids its output value per tonne of
    input; a producer bids what its product fetches today (``price`` in region ``r``, member
    ``m``) less its other inputs at today's prices, per tonne of ``p``.  When a share ``short``
    of the market's usual use cannot be had, the users with the lowest bids, that much of the
    use, are priced out, and the price is the bid of the last of them: the lowest bid ``w``
    such that the users bidding ``w`` or less use at least ``short`` of the total.  With no
    shortage it is the lowest bid.  Returns ``inf`` (no bound) when ``ms``, the price the
    market's cover asks, is at or below every bid (the usual case: nothing to search).  ``n``
    classes in ``bid``, ``down``, ``qty`` (one region and product's rows); ``wk`` is scratch.
    Both the kernel and :mod:`standoff.core.reference` call this function.
    """
    P = price_t.shape[0]
    tot = 0.0
    wmin = np.inf
    for k in range(n):
        q = down[k]
        if q < 0:
            w = bid[k]
        else:
            v = price[r, q, m] * price_t[q] + bid[k]
            for p2 in range(P):
                if p2 != p and coef[q, p2] > 0.0:
                    v -= coef[q, p2] * price[r, p2, m] * price_t[p2]
            w = v / (coef[q, p] * price_t[p])
        wk[k] = w
        tot += qty[k]
        wmin = w if w < wmin else wmin
    if ms <= wmin:
        return np.inf
    need = short * tot
    best = np.inf
    for k in range(n):
        cum = 0.0
        for j in range(n):
            if wk[j] <= wk[k]:
                cum += qty[j]
        if cum >= need and wk[k] < best:
            best = wk[k]
    return best


@kernel_jit(error_model="numpy", inline="always")
def arbitrage_floors(p: int, net: Any, market: Any, ship: Any, ctrl: Any, fl: np.ndarray, fw: np.ndarray) -> None:
    """Trade arbitrage for product ``p``: ``fl[i, m]`` is the least a market that buys most of the
    product abroad (its own producers supply less than half its usual orders) may ask, what its
    cheapest foreign supplier that legally ships to it today gets at home, plus the export tax on
    the route (``export_tax``, on top of any in force in the baseline): a supplier would not sell
    abroad for less than it fetches at home; ``inf`` where no floor applies.  ``fw[i, m]`` is
    how far the floor pulls the price's target: in full from the market's dominant usual
    supplier (half its usual imports or more: the price its buyers deal at, whenever it ships
    anything legally), and from a minor supplier the share of the market's usual daily use its
    legal shipments make today (at most 1).  A minor supplier's trickle lifts the market a
    little: with every floor applied in full, a trickle from Japan lifted the US magnet price
    to Japan's, and a stricter Chinese control that stopped that trickle lowered the US price
    by 30% (``tests/test_properties.py``).  Read from the prices at the start of the stage.
    The floor bounds the price's *target*, so the price moves to it at the price response like
    any other (applied at once to the price, a trickle from a
    dear supplier lifted a whole market overnight while a market cut off entirely followed its
    own cover slowly: a stricter control could lower the price outside).  No ceiling: a control,
    a quota or a ban keeps the importer's price above the exporter's (the two tiers), and trade
    between markets is what buyers order, not what prices say."""
    mk = net.market
    share0 = net.share0
    price = market.price
    shipped = ship.shipped
    leaked = ship.leaked
    c_tax = ctrl.c_term[T_TAX]
    R, P, M = price.shape
    use0 = net.use0
    for i in range(R):
        for m in range(M):
            fl[i, m] = np.inf
            fw[i, m] = 0.0
        if not mk[i, p] or share0[p, i, i] >= 0.5:
            continue
        u0 = use0[i, p]
        for e in range(R):
            if e == i or share0[p, e, i] <= 0.0:
                continue
            for m in range(M):
                legal = shipped[p, e, i, m] - leaked[p, e, i, m]
                if legal > 0.0:
                    f = price[e, p, m] * (1.0 + c_tax[p, e, i, m])
                    if f < fl[i, m]:
                        fl[i, m] = f
                        fw[i, m] = 1.0 if (share0[p, e, i] >= 0.5 or u0 <= 0.0) else min(legal / u0, 1.0)


@kernel_jit(error_model="numpy", inline="always")
def update_markets(t: int, net: Any, par: Any, stocks: Any, market: Any, sec: Any, ship: Any, ctrl: Any, acc: Any,
                   paths: Any, scr: Any) -> None:
    """Stage: regional prices follow inventory cover up to the bid of the user at the margin
    (:func:`market_ceiling`) and no lower than what an importer's cheapest active foreign
    supplier gets at home (:func:`arbitrage_floors`), demand responds to a sector's own input
    price, substitution moves toward its price-driven target, a lasting price signal brings
    new capacity outside China, and expectations and speculation follow (:func:`expectations`)."""
    prod0 = net.prod0
    side = net.side
    is_crit = net.is_crit
    crit = net.crit
    mk = net.market
    world_prod0 = net.world_prod0
    outside = net.outside
    price = market.price
    signal = market.signal
    pe_mult = market.pe_mult
    pos_tgt = stocks.pos_tgt
    stock_tgt = stocks.stock_tgt
    recv = stocks.recv
    stock = stocks.stock
    sinv_p = stocks.sinv_p
    cap = stocks.cap
    pipe = ship.pipe
    sub = sec.sub
    g_pfloor = par.pfloor
    g_pcap = par.pcap
    g_submax = par.submax
    inv_presp = par.inv_presp
    inv_sig = par.inv_sig
    sub_rate = par.sub_rate
    cap_grow = par.cap_grow
    neg_inv_flex = par.neg_inv_flex
    neg_eps = par.neg_eps
    n_keep = paths.n
    tr_price = paths.price
    R, P, M = price.shape
    S = crit.shape[0]
    cover = scr.x[0]
    m_star = scr.x[1]
    x3 = scr.x[2]
    x4 = scr.x[3]
    pscr = scr.y[:2]
    o_peak = acc.o_peak
    bid_n = net.bid_n
    bid = net.bid
    bid_down = net.bid_down
    bid_qty = net.bid_qty
    coef = net.coef
    price_t = net.price_t
    wk = scr.k
    fl = scr.f
    fw = scr.fw
    # 1. each market's price moves toward what its inventory position says, bounded by its users'
    # bids and by trade arbitrage (products in turn: every floor of a product is read from the
    # prices before any of them moved; a bid reads the region's prices of other products as they
    # stand, as in the reference's region-by-region order)
    for p in range(P):
        arbitrage_floors(p, net, market, ship, ctrl, fl, fw)
        for r in range(R):
            if not mk[r, p]:  # nothing held, used or made here: the price stays at 1
                continue
            for m in range(M):
                denom = pos_tgt[r, p, m] + stock_tgt[r, p, m]
                c = (recv[r, p, m] + pipe[p, r, m] + stock[r, p, m] + sinv_p[r, p, m]) / denom if denom > 0.0 \
                    else 1.0
                x3[m] = c
                cover[m] = c if c > 1e-9 else 1.0  # a harmless stand-in where the price is set otherwise
            pow_pos(cover, neg_inv_flex, m_star, pscr)
            nb = bid_n[r, p]
            for m in range(M):
                c = x3[m]
                if nb > 0:  # users bid: the price is bounded by the bid at the margin, and by price_cap
                    raw = m_star[m] if c > 1e-9 else np.inf
                    hi = market_ceiling(p, nb, bid[r, p], bid_down[r, p], bid_qty[r, p], coef, price_t, price, r,
                                        m, min(max(1.0 - c, 0.0), 1.0), raw, wk)
                    ms = max(min(raw, hi, g_pcap[m]), g_pfloor[m])
                else:  # nobody here uses or makes anything from it (stock only): price_cap bounds it
                    ms = min(max(m_star[m], g_pfloor[m]), g_pcap[m])
                    ms = ms if c > 1e-9 else g_pcap[m]
                f = fl[r, m]
                ms = ms + fw[r, m] * (f - ms) if (f > ms and f < np.inf) else ms
                pr = price[r, p, m]
                ok = pos_tgt[r, p, m] + stock_tgt[r, p, m] > 0.0
                price[r, p, m] = pr + (ms - pr) * inv_presp[m] if ok else pr
    # 2. what follows from the prices
    for r in range(R):
        for p in range(P):
            if not mk[r, p]:
                for m in range(n_keep):
                    tr_price[m, t, r, p] = price[r, p, m]
                continue
            for m in range(M):
                pr = price[r, p, m]
                signal[r, p, m] += (pr - signal[r, p, m]) * inv_sig[m]
                o_peak[r, p, m] = pr if pr > o_peak[r, p, m] else o_peak[r, p, m]
            if is_crit[p]:  # only a sector's own input moves its demand
                pow_pos(price[r, p], neg_eps, x4, pscr)
                for m in range(M):
                    pe_mult[r, p, m] = x4[m] if price[r, p, m] != 1.0 else 1.0
            for m in range(n_keep):
                tr_price[m, t, r, p] = price[r, p, m]
        for s in range(S):
            pc = crit[s]
            for m in range(M):
                sub[r, s, m] = substitution_step(sub[r, s, m], price[r, pc, m], g_submax[m], sub_rate[m])
    for p in range(P):
        if outside[p] <= 0.0:
            continue
        for r in range(R):
            if side[r] != CN_SIDE and prod0[r, p] > 0.0:
                for m in range(M):
                    if signal[r, p, m] > INVEST_SIGNAL:
                        grow = cap_grow[m] * world_prod0[p] * prod0[r, p] / outside[p]
                        cap[r, p, m] += grow * min(signal[r, p, m] - INVEST_SIGNAL, 1.0)
    expectations(t, net, par, stocks, market, ctrl, paths, scr)


@kernel_jit(error_model="numpy", inline="always")
def expectations(t: int, net: Any, par: Any, stocks: Any, market: Any, ctrl: Any, paths: Any, scr: Any) -> None:
    """Buyers' expected scarcity and traders' speculative stock, per region and product.

    The scarcity signal is the larger of (a) the share of the region's imports of the product
    under an export control in force or announced, at the share it is expected to withhold (a
    licence: coverage times the share of the route's applicants without a licence today, so
    fear runs ahead of the goods while applications wait and fades as licences flow; before
    anyone applies, coverage times one minus the announced approval share; a quota: the share of today's orders
    under it that it cannot fill, so a quota that no longer binds, as demand falls, stops
    feeding fear; a ban in full) and (b)
    price momentum: the price's rise over its short moving average, as a share of
    ``momentum_scale`` (capped at 1).  Expectations follow the signal over ``expectation_days``
    (so does the moving average); buyers raise their target inventories by up to
    ``precaution_max`` of normal at full expected scarcity (:func:`standoff.core.trade.import_needs`),
    which lowers cover and raises the price: that is what turns a shortage into a bubble.
    Traders hold up to ``speculation_days`` of the region's use while prices rise (momentum
    only), taking it from the market and bringing it back as momentum fades: the hoard that
    returns when the fear passes.  Without a control and with prices at 1 nothing moves.
    """
    share0 = net.share0
    use0 = net.use0
    c_mode = ctrl.c_mode
    c_cover = ctrl.c_term[T_COVER]
    c_appr = ctrl.c_term[T_APPR]
    c_ahead = ctrl.c_term[T_AHEAD]
    c_quota = ctrl.c_quota
    seen = ctrl.ct_seen
    ctl_pe = ctrl.ctl_pe
    frac_pe = ctrl.frac_pe
    price = market.price
    pma = market.pma
    expect = market.expect
    spec = stocks.spec
    recv = stocks.recv
    gp = par.gp
    inv_adj = par.inv_adj
    edays = gp[I_EXPDAYS]
    specdays = gp[I_SPECDAYS]
    momscale = gp[I_MOMSCALE]
    R, P, M = price.shape
    ctl = scr.x[0]
    inv_ed = scr.x[1]
    for m in range(M):
        inv_ed[m] = 1.0 / edays[m]
    n_keep = paths.n
    for r in range(R):
        for p in range(P):
            for m in range(M):
                ctl[m] = 0.0
            for e in range(R):
                sh = share0[p, e, r]
                if e == r or sh <= 0.0:
                    continue
                for m in range(M):
                    md = c_mode[p, e, r, m]
                    if md == MODE_QUOTA:  # the share of today's orders under the quota it refuses
                        f = 1.0 - quota_fill(c_quota[p, e, m], ctl_pe[p, e, m], frac_pe[p, e, m])
                    elif md == MODE_LICENCE:  # what buyers see of the regime, once anyone has applied
                        sn = seen[p, e, r, m]
                        f = c_cover[p, e, r, m] * (1.0 - (sn if sn >= 0.0 else c_appr[p, e, r, m]))
                    else:
                        f = 0.0 if md == MODE_NONE else 1.0
                    ctl[m] += sh * max(f, c_ahead[p, e, r, m])
            u0 = use0[r, p]
            for m in range(M):
                inv_e = inv_ed[m]
                pr = price[r, p, m]
                pm = pma[r, p, m] + (pr - pma[r, p, m]) * inv_e
                pma[r, p, m] = pm
                mo = min(max(pr / pm - 1.0, 0.0) / momscale[m], 1.0)
                sig = max(ctl[m], mo)
                expect[r, p, m] += (sig - expect[r, p, m]) * inv_e
                sp = spec[r, p, m]
                mv = (specdays[m] * u0 * mo - sp) * inv_adj[m]
                take = min(mv, recv[r, p, m]) if mv > 0.0 else 0.0
                back = min(-mv, sp) if mv < 0.0 else 0.0
                recv[r, p, m] = recv[r, p, m] - take + back
                # Traders buy what is free to resell: licences for civilian end use stay with their
                # holders, so what they take comes from the unrestricted part first.
                stocks.recv_civ[r, p, m] = min(stocks.recv_civ[r, p, m], recv[r, p, m])
                spec[r, p, m] = sp + take - back
            for m in range(n_keep):
                paths.spec[m, t, r, p] = spec[r, p, m]
                paths.expect[m, t, r, p] = expect[r, p, m]
