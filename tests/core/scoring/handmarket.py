"""One hand-scored market per pillar; every fraction is worked out in the comment beside it."""

from __future__ import annotations

import math

NAN = math.nan

#: supply: fractions 1, 0, 0.8, 0.8, 0.8, (missing), 0.2 -> mean 3.6/6 = 0.6 -> 3.0
SUPPLY = {
    "permit_per_1k": 1.0,  # <= best 1.5 -> 1
    "vacancy_rate": 12.0,  # >= worst 12 -> 0
    "tom_days": 34.0,  # (90-34)/70 = 0.8
    "slope_pct": 11.0,  # (35-11)/30 = 0.8
    "buffer_pct": 12.0,  # (40-12)/35 = 0.8
    "parking_idx": NAN,  # missing: skipped, not 0
    "height_idx": 2.0,  # (2-1.5)/2.5 = 0.2
}
SUPPLY_SCORE = 3.0

#: jobs: 19 fractions summing to 8.55 -> mean 0.45 -> 2.25
JOBS = {
    "unemployment_rate": 8.0,  # worst -> 0
    "tech_lq": 2.0,  # 1
    "health_lq": 1.5,  # 0.5
    "education_lq": 1.0,  # 0
    "manufacturing_lq": 0.5,  # below baseline -> 0
    "defense_lq": 3.0,  # above ceiling -> 1
    "biotech_lq": 1.25,  # 0.25
    "tech_cagr_5yr": 3.0,  # 0.5
    "health_cagr_5yr": 5.0,  # 1
    "education_cagr_5yr": 1.0,  # 0.25
    "manufacturing_cagr_5yr": 1.5,  # (1.5+1)/5 = 0.5
    "total_awards_per_100k": 150.0,  # 0.5
    "bfs_applications_per_100k": 75.0,  # 0.5
    "bfs_high_propensity_per_100k": 30.0,  # 0.25
    "startup_density": 80.0,  # 1
    "mig_25_44_per_1k": 5.0,  # 0.2
    "expansions_total_ct": 10.0,  # 0.2
    "expansions_total_jobs": 2500.0,  # 0.5
    "labor_participation_rate": 61.0,  # 6/15 = 0.4
}
JOBS_SCORE = 2.25

#: urban: 11 fractions summing to 4.95 -> mean 0.45 -> 2.25
URBAN = {
    "retail_vac": 11.0,  # (18-11)/14 = 0.5
    "walk_15_ct": 35.0,  # 0.5
    "bike_15_ct": 10.0,  # 0
    "k8_ct": 30.0,  # 1
    "transit_ct": 12.0,  # 7/35 = 0.2
    "urgent_ct": 8.5,  # 6.5/13 = 0.5
    "interx_km2": 75.0,  # 45/90 = 0.5
    "bikeway_conn_idx": 55.0,  # 35/70 = 0.5
    "retail_rent_qoq": -1.0,  # below baseline -> 0
    "daytime_pop_1mi": 100000.0,  # 50000/200000 = 0.25
    "lastmile_flag": True,  # 1
}
URBAN_SCORE = 2.25

#: outdoor: 9 fractions summing to 4.8 -> 5 * 4.8/9 = 8/3
OUTDOOR = {
    "min_trail_min": 36.0,  # (120-36)/105 = 0.8
    "min_ski_bus_min": 180.0,  # 0
    "min_water_min": 70.0,  # 0.5
    "park_min": 30.0,  # 60/80 = 0.75
    "pm25_var": 6.5,  # 3.5/7 = 0.5
    "smoke_days": 5.0,  # 0.75
    "trail_mi_pc": 2.25,  # 1.75/3.5 = 0.5
    "public_land_30min_pct": 55.0,  # 0.5
    "hw_rail_prox_idx": 65.0,  # 0.5
}
OUTDOOR_SCORE = 8.0 / 3.0

BY_PILLAR = {"supply": SUPPLY, "jobs": JOBS, "urban": URBAN, "outdoor": OUTDOOR}
SCORES = {"supply": SUPPLY_SCORE, "jobs": JOBS_SCORE, "urban": URBAN_SCORE, "outdoor": OUTDOOR_SCORE}
