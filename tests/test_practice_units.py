"""Personal practice, pure parts: ratings, patterns over sessions, today's suggestion."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from biofeedback.models import Zone
from biofeedback.practice.outcome import SessionOutcome
from biofeedback.practice.plan import Plan, default_plan, parse_item
from biofeedback.practice.ratings import RatingError, Ratings, change, parse_ratings, worse
from biofeedback.practice.stats import practice_days, rating_pattern, wilson
from biofeedback.practice.today import suggest

# A Tuesday, so weekday rules apply; tests move the hour.
TUESDAY = datetime(2026, 3, 3, 10, 0)


def outcome(
    sid: str,
    when: datetime,
    *,
    protocol: str = "full",
    before: Ratings | None = None,
    after: Ratings | None = None,
    zone: Zone | None = Zone.GREEN,
    length_s: float = 600.0,
    virtual: bool = False,
) -> SessionOutcome:
    return SessionOutcome(
        sid,
        protocol,
        when.timestamp(),
        virtual,
        True,
        length_s,
        baseline_hr_bpm=70.0,
        final_hr_bpm=66.0,
        lowest_zone=zone,
        before=before,
        after=after,
    )


# -- ratings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5,2,3", Ratings(5, 2, 3)),
        ("5,,3", Ratings(5, None, 3)),
        ("4", Ratings(4, None, None)),
        (",,0", Ratings(None, None, 0)),
        (" 10 , 0 ,", Ratings(10, 0, None)),
        ("", Ratings()),
    ],
)
def test_ratings_parse_with_blanks(text: str, expected: Ratings) -> None:
    assert parse_ratings(text) == expected


@pytest.mark.parametrize("text", ["11,,", "a", "5,2,3,4", "-1", "4.5", "5;3"])
def test_bad_ratings_name_the_fix(text: str) -> None:
    with pytest.raises(RatingError, match=r"0-10|at most three"):
        parse_ratings(text, what="--rate-before")


def test_change_and_worse_skip_unrated_scales() -> None:
    before, after = Ratings(6, None, 4), Ratings(3, 2, 5)
    assert change(before, after) == {"tension": -3, "pain": None, "anxiety": 1}
    assert worse(before, after) == ["anxiety"]
    assert change(None, after) == {"tension": None, "pain": None, "anxiety": None}
    with pytest.raises(RatingError):
        Ratings(tension=12)


# -- patterns


def test_wilson_interval_matches_the_textbook_values() -> None:
    # 5 of 10: 0.237-0.763 (Wilson 1927; e.g. Newcombe 1998, table I).
    share = wilson(5, 10)
    assert share.low == pytest.approx(0.2366, abs=1e-3)
    assert share.high == pytest.approx(0.7634, abs=1e-3)
    none = wilson(0, 10)
    assert none.low == 0.0
    assert none.high == pytest.approx(0.2775, abs=1e-3)
    assert wilson(0, 0).share is None


def test_rating_pattern_takes_the_latest_rated_sessions() -> None:
    history = [
        outcome(f"s{i}", TUESDAY - timedelta(days=i), before=Ratings(6, 3, 5), after=after)
        for i, after in enumerate(
            [Ratings(3, 3, 2), Ratings(5, 4, 5), Ratings(2, None, 4), Ratings(7, 3, 5)]
        )
    ]
    history.insert(1, outcome("unrated", TUESDAY))
    pattern = rating_pattern(history, window=3)
    assert pattern.rated_sessions == 3
    assert pattern.median_change == {"tension": -3.0, "pain": 0.5, "anxiety": -1.0}
    assert (pattern.tension_fell.hits, pattern.tension_fell.n) == (3, 3)
    assert pattern.to_dict()["tension_fell"]["interval_95"][1] == 1.0


def test_streak_counts_back_from_today_or_yesterday() -> None:
    days = [0, 1, 2, 4, 10]
    history = [outcome(f"d{d}", TUESDAY - timedelta(days=d)) for d in days]
    history.append(outcome("short", TUESDAY - timedelta(days=3), length_s=20))
    seen = practice_days(history, TUESDAY.date())
    assert (seen.streak_days, seen.days_last_7, seen.days_last_28) == (3, 4, 5)
    # Not practised yet today: yesterday's streak still stands.
    assert practice_days(history[1:], TUESDAY.date()).streak_days == 2
    assert practice_days(history[2:], TUESDAY.date()).streak_days == 0


# -- today, one test per rule, with a fixed clock


def test_today_after_a_session_that_stepped_down_to_red() -> None:
    history = [outcome("red", TUESDAY - timedelta(hours=20), zone=Zone.RED)]
    s = suggest(TUESDAY.replace(hour=22), default_plan(), history, resting_hr_change_bpm=6.0)
    assert (s.routine, s.rule) == ("breath-partial", "stepped_down_to_red")
    assert "passive rest" in s.reason
    # Two days later it no longer decides.
    later = suggest(TUESDAY + timedelta(days=2), default_plan(), history)
    assert later.rule != "stepped_down_to_red"


def test_today_when_resting_heart_rate_trends_up() -> None:
    s = suggest(TUESDAY.replace(hour=22), default_plan(), [], resting_hr_change_bpm=4.2)
    assert (s.routine, s.rule) == ("anxiety-downshift", "resting_hr_up")
    assert "4 bpm" in s.reason
    calm = suggest(TUESDAY.replace(hour=22), default_plan(), [], resting_hr_change_bpm=1.0)
    assert calm.rule == "late_evening"


@pytest.mark.parametrize("hour", [21, 23, 1])
def test_today_late_evening_is_bedtime(hour: int) -> None:
    s = suggest(TUESDAY.replace(hour=hour, minute=40), default_plan(), [])
    assert (s.routine, s.rule) == ("bedtime", "late_evening")
    assert s.reason.count(".") == 1  # one line, one sentence


def test_today_follows_the_plan_near_its_time() -> None:
    plan = Plan(
        (
            parse_item(
                "walk",
                {
                    "days": ["tue"],
                    "time": "17:00",
                    "minutes": 8,
                    "routine": "back-care",
                    "after": "the walk home",
                },
            ),
        )
    )
    s = suggest(TUESDAY.replace(hour=16, minute=15), plan, [])
    assert (s.routine, s.rule, s.plan_item, s.minutes) == ("back-care", "plan", "walk", 8)
    assert "17:00" in s.reason
    # Not on Wednesday, and not hours away from its time.
    assert suggest(TUESDAY.replace(day=4, hour=16), plan, []).rule == "workday"
    assert suggest(TUESDAY.replace(hour=11), plan, []).rule == "workday"


def test_today_on_a_weekday_daytime_is_a_work_reset() -> None:
    s = suggest(TUESDAY, Plan(()), [])
    assert (s.routine, s.rule, s.minutes) == ("work-reset", "workday", 5)


def test_today_on_a_weekend_morning_is_the_full_routine() -> None:
    saturday = TUESDAY + timedelta(days=4)
    s = suggest(saturday, Plan(()), [outcome("today", saturday - timedelta(hours=1))])
    assert (s.routine, s.rule) == ("full", "open_time")
    assert s.sessions_today == 1


def test_today_with_a_sore_back_is_back_care_unless_red_came_first() -> None:
    s = suggest(TUESDAY.replace(hour=22), default_plan(), [], back_pain=True)
    assert (s.routine, s.rule) == ("back-care", "back_pain")
    assert s.reason.count(".") == 1
    history = [outcome("red", TUESDAY - timedelta(hours=20), zone=Zone.RED)]
    assert suggest(TUESDAY, default_plan(), history, back_pain=True).rule == "stepped_down_to_red"
