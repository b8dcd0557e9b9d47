"""immunocycle.report"""
