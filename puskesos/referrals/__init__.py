"""Agencies that receive referrals, the referrals themselves and the agency inbox."""
