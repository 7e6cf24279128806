"""Acquisition channels and how the people they bring in behave."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Channel:
    """One acquisition channel.

    The behaviour knobs are multipliers/probabilities read by the simulation,
    so channel quality differences come out of behaviour, not out of labels.
    """

    key: str
    campaign: dict[str, str] | None  # None: direct/organic traffic without UTM
    share: float  # share of non-referral arrivals
    web_share: float  # probability the first device is a browser, not the app
    signup: float  # probability of signing up during the first session
    buy: float  # multiplier on the cart/checkout/pay funnel steps
    return_base: float  # next-day return probability right after arrival
    return_decay_days: float  # e-folding time of the novelty part of that probability
    loyal: float  # share of arrivals who become regulars instead of drifting away
    invite: float  # per-session probability that an identified person invites
    referrer: str  # page referrer of the landing page on the web


def _campaign(source: str, medium: str, name: str) -> dict[str, str]:
    return {"source": source, "medium": medium, "name": name}


# Paid feeds (douyin/kuaishou) bring volume that churns fast and buys little;
# store search, direct traffic and friend referrals bring fewer, stickier buyers.
CHANNELS: Final = (
    Channel(
        "douyin",
        _campaign("douyin", "cpc", "douyin_feed_double11"),
        0.26,
        0.15,
        signup=0.15,
        buy=0.55,
        return_base=0.18,
        return_decay_days=1.5,
        loyal=0.03,
        invite=0.009,
        referrer="https://www.douyin.com/",
    ),
    Channel(
        "kuaishou",
        _campaign("kuaishou", "cpc", "kuaishou_live_flash_sale"),
        0.12,
        0.10,
        signup=0.12,
        buy=0.50,
        return_base=0.16,
        return_decay_days=1.2,
        loyal=0.025,
        invite=0.008,
        referrer="https://www.kuaishou.com/",
    ),
    Channel(
        "baidu",
        _campaign("baidu", "sem", "baidu_brand_keywords"),
        0.11,
        0.85,
        signup=0.25,
        buy=1.05,
        return_base=0.20,
        return_decay_days=3.0,
        loyal=0.08,
        invite=0.012,
        referrer="https://www.baidu.com/s?wd=%E4%BC%98%E9%80%89",
    ),
    Channel(
        "xiaohongshu",
        _campaign("xiaohongshu", "kol", "xhs_kol_beauty_notes"),
        0.10,
        0.35,
        signup=0.30,
        buy=1.15,
        return_base=0.24,
        return_decay_days=4.0,
        loyal=0.12,
        invite=0.022,
        referrer="https://www.xiaohongshu.com/",
    ),
    Channel(
        "wechat",
        _campaign("wechat", "social", "wechat_share_article"),
        0.10,
        0.80,
        signup=0.30,
        buy=1.00,
        return_base=0.24,
        return_decay_days=4.0,
        loyal=0.14,
        invite=0.030,
        referrer="https://mp.weixin.qq.com/",
    ),
    Channel(
        "app_store",
        _campaign("app_store", "organic", "aso_search"),
        0.13,
        0.0,
        signup=0.45,
        buy=1.25,
        return_base=0.32,
        return_decay_days=5.0,
        loyal=0.22,
        invite=0.022,
        referrer="",
    ),
    Channel(
        "direct",
        None,
        0.18,
        0.45,
        signup=0.35,
        buy=1.30,
        return_base=0.32,
        return_decay_days=6.0,
        loyal=0.25,
        invite=0.022,
        referrer="",
    ),
)
REFERRAL: Final = Channel(
    "referral",
    _campaign("referral", "invite", "invite_friends_coupon"),
    0.0,
    0.55,
    signup=0.50,
    buy=1.35,
    return_base=0.35,
    return_decay_days=6.0,
    loyal=0.22,
    invite=0.035,
    referrer="https://mp.weixin.qq.com/",
)
# Re-engagement pushes are campaigns too, but never a first touch.
WINBACK_CAMPAIGN: Final = _campaign("push", "notification", "winback_coupon")
