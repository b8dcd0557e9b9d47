"""immunocycle.design"""
