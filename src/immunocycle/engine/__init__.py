"""immunocycle.engine"""
