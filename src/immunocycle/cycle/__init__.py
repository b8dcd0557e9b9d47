"""immunocycle.cycle"""
