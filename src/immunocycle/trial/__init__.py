"""immunocycle.trial"""
